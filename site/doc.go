// Package site is ringhttpd's configuration layer: the configuration file,
// virtual hosts, compiled path rules and the compression policy, as an
// immutable snapshot that a reload swaps. It is sans-I/O like httpcore and
// files: it answers through httpcore.Handler and Op, and opens nothing but
// the sites' roots (through files.New) when a configuration is built.
//
// What lives where: config.go (the file's schema, Load/Parse, validation and
// Error), positions.go (the line of each key, for errors found after
// decoding), glob.go (path globs), rules.go (compiled rules, redirect
// targets, merged header blocks), auth.go (Basic authentication), handler.go
// (Reloadable, snapshots, the per-worker handler), fileid_*.go (a root's
// device and inode, to tell a replaced root on reload), metrics.go (the
// worker's file cache counters, summed for the engine's metrics).
//
// # The file
//
// TOML, decoded with github.com/pelletier/go-toml/v2: its strict mode
// reports every unknown key with its line and column, its decode errors
// carry the line and key, and its parser exposes the byte range of every
// expression, which gives the line of a key whose value is wrong for a
// reason only this package knows (a bad glob, a missing root). (BurntSushi's
// decoder lists undecoded keys but keeps their positions private.) Every
// error is one *Error naming the file, the line and the key, e.g.
//
//	site.toml:12: site[0].rule[1].redirect.to: $2: the match has only 1 capture(s)
//
// Top-level keys this package does not own are Settings: the command line
// maps them to its flags (a flag or RINGHTTPD_* variable wins over the
// file) and rejects unknown ones.
//
// # Sites and rules
//
// A request's site is chosen by Host (httpcore puts an absolute-form
// target's authority there): the port, ASCII case and a trailing dot are
// ignored; an unknown or absent Host gets the default site (the top-level
// root). Rules match the clean path (percent-decoded once, dot segments
// resolved: files.CleanPath), so an encoded spelling cannot slip past a
// rule; a path files would reject is answered by files (400).
//
// Rules are compiled at load: each glob records its literal prefix, suffix
// and minimum length, common shapes ("/a/**", "/*.html", exact paths) match
// directly, and a site indexes its rules by the path's first byte after
// '/', so a request tries only the rules that can match it; matching
// allocates nothing and runs in time linear in the path (see glob.go).
// BenchmarkMatch20 measures 20 rules against four paths. Every matching rule's headers apply, a later rule replacing a
// field an earlier one set; the merged block for each set of matching rules
// is built once per worker and cached. Headers go on 2xx, 301-308 and 304
// answers (nginx's add_header rule: an error page gets no year-long
// Cache-Control), and replace a field of the same name the file answer has
// (Content-Type, Cache-Control, ...); a rule's Vary adds to the answer's.
// The first matching redirect or status answers; the first matching
// basic_auth guards everything its glob matches, before any redirect.
//
// # Reload
//
// New builds a snapshot: each site's files.Handler (opened root, caches),
// its compiled rules and the host table. Reloadable.Swap builds the next
// one on the caller's goroutine (the signal handler's, never a loop) and
// publishes it with an atomic store; a worker compares the pointer at each
// request (an atomic load, no write) and, when it changed, takes the new
// snapshot before answering: a request is answered wholly by one snapshot.
// A files handler whose root (same device and inode) and options did not
// change is kept, with its caches and compressed forms; the others close
// when no worker or in-flight Op uses them any more (files closes a
// Handler that became unreachable). A configuration that fails to build
// leaves the running one in place.
package site
