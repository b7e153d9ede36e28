// Command ringhttpd is a static-file and HTTP/1.1 server for Linux driven by
// io_uring, with an epoll fallback.
//
// Usage:
//
//	ringhttpd [serve] [flags]   serve a directory (the default command)
//	ringhttpd probe [--json]    report what this kernel allows and what --backend auto picks
//	ringhttpd version           print the version
//
// With no arguments ringhttpd serves the current directory on :8080. The
// serve flags (see `ringhttpd serve --help`; each is also a RINGHTTPD_*
// environment variable, e.g. RINGHTTPD_LISTEN=":8080,[::1]:8080"):
//
//	--root DIR             directory served (default ".")
//	--listen ADDR          host:port, [v6]:port or :port; repeatable
//	--backend NAME         auto (uring when the kernel allows, else epoll, saying why), uring, epoll
//	--workers N            event loops, one thread and SO_REUSEPORT listener each (0: one per CPU)
//	--pin                  pin worker i to CPU i
//	--index NAME           index file ("" disables); --listing, --dotfiles, --hide-well-known
//	--header-timeout D     10s: first byte of a request until it is complete
//	--idle-timeout D       60s: keep-alive wait
//	--send-timeout D       60s: a send without progress
//	--shutdown-timeout D   10s: SIGINT/SIGTERM stop accepting, finish in-flight answers, then close
//	--max-conns N          per worker; accepting pauses at N, resumes at 90%
//	--max-request-line, --max-header-bytes, --max-headers, --max-body   request limits
//	--access-log off|-|PATH   buffered per worker, never blocking; SIGUSR1 reopens the file
//	--access-log-format F  clf, combined (+ request time in us) or json
//	--log-level LEVEL      debug, info, warn, error; --log-format text|json
//	--metrics ADDR         Prometheus /metrics and /healthz on a separate listener
//	--user U, --group G    drop privileges after binding and opening files
//	--pid-file PATH        written once serving; rewritten by an upgrade's new process
//	--upgrade-timeout D    30s: SIGUSR2's new process must be ready within D
//
// A bad flag value, a bad root or a busy port prints one line on stderr and
// exits with status 2.
//
// Signals (signals.go): TERM and INT stop gracefully (a second one at once),
// QUIT stops at once, HUP runs the reload hooks (reload.go: site
// configuration, TLS certificates), USR1 reopens the access log, USR2
// starts the binary at the same path with every listening socket inherited
// and drains once it serves. Listening sockets can also come from systemd
// (LISTEN_FDS, names http, https, metrics), which is told READY, RELOADING,
// STOPPING and WATCHDOG (packaging/ringhttpd.service).
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
}
