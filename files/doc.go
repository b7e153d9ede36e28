// Package files is ringhttpd's static-file Handler: root-confined lookup, an
// open-file/metadata/content cache, MIME types, ETag and Last-Modified,
// conditional requests, Range (single and multipart/byteranges), HEAD, index
// files, optional listings, precompressed .br/.zst/.gz siblings, compressed
// forms made once in memory, and a single-page-app fallback file.
//
// # Use
//
//	fh, err := files.New(files.Config{Root: "/srv/www"})
//	...
//	s, err := server.New(server.Config{Listen: []string{":8080"}}, fh)
//	... // s.Start(), serve, s.Shutdown(ctx)
//	fh.Close() // once the server has stopped
//
// The Handler answers GET, HEAD and OPTIONS (others 405, request bodies
// unread: it is an httpcore.BodyIgnorer) and never blocks a loop: cache
// hits are answered in Serve, misses through ring Ops. It implements
// httpcore.PerWorker, so server gives every worker its own lock-free cache.
// To put routes of your own beside it, wrap it in a Handler that answers
// those paths and calls the files Handler for the rest, and forward
// ForWorker (see the routes example); a wrapper that does not gets the
// shared cache under a mutex. Linux only: elsewhere New fails.
//
// What lives where: handler_linux.go (New, Serve, the hit path), miss_linux.go
// (the Op chain of a miss or revalidation), cache.go (entries and the LRU),
// path.go (cleanPath and escaping), rules.go (ETag lists, Range,
// Accept-Encoding), mime.go, listing_linux.go, compress.go (encoders and
// compressible types), pack.go and pack_linux.go (compressed forms shared by
// workers and the helpers that make them), map_linux.go (large files lent
// mapped, httpcore.MappedFile), config.go.
//
// # Confinement
//
// The root is opened once (O_PATH|O_DIRECTORY). A request path is
// percent-decoded exactly once and normalized (cleanPath): NUL, encoded
// slashes, backslashes and control bytes are rejected with 400, dot segments
// are resolved textually and a ".." that would climb above the root is a 400,
// and names starting with '.' are 404 unless Config.Dotfiles (the root's
// .well-known directory is served unless Config.HideWellKnown). Every lookup is
// then an openat2 from the root descriptor with
// RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS, so the kernel itself refuses any
// symlink (absolute or relative) or magic link that leads out of the root;
// symlinks that stay inside work. Files are opened O_NONBLOCK (so a FIFO
// cannot hang the open) and only regular files are read: anything else is
// 403.
//
// # Non-blocking contract
//
// Serve never makes a system call on a cache hit: the answer is the entry's
// prebuilt head appended to resp.Head plus its bytes (files up to
// Config.MaxCachedFile) or its refcounted descriptor (larger files, as a
// httpcore.FileRef). Such a FileRef is also an httpcore.MappedFile (files
// up to Config.MaxMappedFile): an engine that asks gets the file mapped,
// once a helper goroutine has mapped it and faulted its pages in.
//
// A miss returns an httpcore.Op chain the engine runs off its loop:
// OpOpenat2 of the file (O_NONBLOCK, so a FIFO cannot hang it; the flag is
// cleared on the regular file), OpStatx of the descriptor, OpStatx of its
// directory and three OpOpenat2 O_PATH probes for the ".br", ".zst" and ".gz"
// siblings, then OpRead of a small file (continued if short); a directory
// listing is an OpFunc (getdents has no ring op). A miss copies what it needs
// of the request, whose memory is gone when Serve returns. Abandon closes
// whatever descriptor the chain holds.
//
// Cold misses for the same path at the same moment are coalesced per worker
// (coalesce_linux.go): the first request runs the chain, later ones wait for
// it in an OpFunc woken at each of the leader's steps (so that waiters never
// hold the epoll engine's helpers while the leader's next Op is queued) and
// answer from the entry it cached. At most 64 requests wait for one lookup,
// each at most 100 ms; then they look the file up themselves.
//
// An entry older than Config.Revalidate is revalidated by the request that
// finds it stale (other requests keep using it meanwhile): a file entry by an
// OpStatx of its path from the root and, when it may have siblings, of its
// directory (whose times change when a sibling appears or goes). That statx
// follows symlinks without RESOLVE_BENEATH, which is safe because it decides
// nothing about what is served: when the device, inode, size, mtime and ctime
// (and the directory's) all match, the cached bytes are those of the very
// inode openat2 found beneath the root; any difference, or an error, runs the
// full chain above, whose openat2 decides. A replaced, truncated or deleted
// file therefore shows up after at most one interval (a deleted one becomes a
// cached 404); other entries (redirects, listings, 404s) rerun the full chain.
//
// # Codings and compression
//
// A request's Accept-Encoding picks among the codings available for a file
// (the highest q-value wins, Config.Compress.Encodings' order breaks ties):
// first the precompressed siblings on disk, which always win for their
// coding, then the in-memory forms. When Config.Compress lists encodings, a
// file whose media type matches Compress.Types and whose size is within
// MinSize..MaxSize gets, when its identity entry is built, a pack: its
// forms in br (andybalholm/brotli), zstd and gzip (klauspost/compress),
// made once per file version on a helper goroutine (at most half the CPUs
// for all Handlers together), never on a loop. Until the helper finishes,
// the identity is served. The pack is shared by every worker's entry for
// that version (a registry keyed by device, inode, size and times, holding
// packs weakly), so a file is compressed once whatever the number of
// workers; a changed file is a new version and is compressed again. A form
// not smaller than the file is dropped. A form has its own strong ETag (the
// file's with "-br", "-zstd" or "-gzip" appended), Content-Encoding and
// Vary: Accept-Encoding; every answer of a file that has a pack or siblings
// carries Vary. A request with Range is answered from the identity bytes,
// never from an in-memory form (a sibling on disk serves ranges of its own
// bytes). Serving a form is a cache hit like any other: no allocation, no
// system call.
//
// # Fallback
//
// With Config.Fallback set, a GET or HEAD whose path names no file (ENOENT,
// ENOTDIR, a directory with no index and no listing) is answered with the
// fallback file as if it had been asked for. Everything else keeps its
// answer: a rejected path (400), a forbidden or special file (403), a
// hidden dot file (404), other methods (405), and a 404 when the fallback
// file itself is missing.
//
// # Sharing between workers
//
// Caches are per worker: Handler implements httpcore.PerWorker, and
// ForWorker returns a handler with its own cache sharing the root descriptor,
// MIME table and configuration. A worker's cache is touched only on its
// engine thread (Serve and every Then run there), so the hit path takes no
// lock and shares no cache line with other workers; the cost is one copy of
// a hot file per worker, which for the small files that are kept in memory is
// cheap, and one open per worker on a cold miss. A read-mostly shared
// structure would need atomics or RCU on every hit plus a lock for LRU
// updates. Handler.Serve itself (for engines that do not use ForWorker)
// serves from one shared cache under a mutex.
//
// A FileRef's reference count is atomic, so Release is correct from any
// thread, although the engines call it on the worker's thread; the cache
// holds one reference and the descriptor closes when the entry is evicted or
// replaced and the last response using it is released.
//
// A Handler dropped without Close (a configuration reload replaced it while
// workers or Ops still used it) is closed by a cleanup once unreachable:
// its resources (root descriptor, caches) are held apart from it, so
// nothing keeps it alive but its users, and every Op references it.
package files
