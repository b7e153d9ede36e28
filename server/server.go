// Package server runs an httpcore.Handler on ringhttpd's event loops: one
// worker per CPU, each on a locked OS thread with its own SO_REUSEPORT
// listeners, driven by an I/O engine (io_uring or epoll) around an
// engine-agnostic connection core. It serves HTTP/1.1 and HTTP/2, over TCP
// and TLS, with the same Handler.
//
// # Serving a handler
//
//	s, err := server.New(server.Config{Listen: []string{":8080"}}, handler)
//	if err != nil { ... }          // a bad configuration: nothing is bound yet
//	if err := s.Start(); err != nil { ... } // a busy port, no permission: nothing runs
//	...                            // serving; s.Addrs() are the bound addresses
//	err = s.Shutdown(ctx)          // graceful: answers in flight finish
//
// Start returns once every worker is ready; the workers serve until
// Shutdown. The examples show a JSON API, slow code called through an
// OpFunc, and serving until SIGTERM; package files has a static-file
// handler and a router that puts routes beside it.
//
// What a handler may do, and what the engine does with its Response, is in
// package httpcore's documentation. In short: Serve runs on a worker's loop
// thread, so it must not block; slow work goes into an httpcore.Op, whose
// OpFunc steps run on Config.OpHelpers helper goroutines. Every worker calls
// the same Handler concurrently, unless it implements httpcore.PerWorker
// (one instance per worker, no locks needed). The engine answers malformed
// and oversized requests itself, buffers request bodies up to
// Config.Limits.MaxBody (none for an httpcore.BodyIgnorer), and recovers
// handler panics (500).
//
// # Engines
//
// Config.Backend "auto" uses the io_uring engine when the kernel (and any
// seccomp filter or container) allows what it needs, and the epoll engine
// otherwise; Server.Backend says which one runs, UringAvailable and
// ProbeUring say why. Both serve the same requests with the same answers.
//
// # HTTP/2 and TLS
//
// Config.TLSListen with Config.TLS (certificates from package tlsrec,
// replaceable while serving) serves HTTPS: HTTP/2 when the client offers
// it through ALPN (unless DisableH2), HTTP/1.1 otherwise, with kernel TLS
// where the kernel has it. Config.H2C also accepts HTTP/2 with prior
// knowledge on plaintext listeners.
//
// # Running as a service
//
// Shutdown is graceful: listeners close at once, idle connections close,
// answers in flight finish (with "Connection: close") until
// Config.ShutdownTimeout or the context's deadline. For daemons, the package
// also has what the ringhttpd command uses: sockets passed by systemd
// (Inherited, Config.Inherit), sd_notify (Notify, WatchdogInterval), a
// zero-downtime upgrade that hands the listeners to a new process
// (Upgrade, UpgradeReady, SetHandover), privilege drop after binding
// (Config.AfterBind, DropPrivileges) and metrics (Server.Metrics,
// Metrics.WritePrometheus).
//
// # Inside
//
// Files: config.go (Config, Default*), server.go (New, Start, Shutdown),
// engine.go (the engine registry and the engine/core contract), worker.go
// (per-worker state, clock, timers, shutdown steps, op completions).
//
// A connection in layers, bottom up (data flows socket -> engine ->
// transport -> protocol -> Handler and back):
//
//   - engines: epoll_linux.go, and the io_uring engine in uring_linux.go
//     (ring, loop, CQE dispatch) with one file per behaviour:
//     uring_accept, uring_recv, uring_send, uring_file (splice and
//     read+send of file ranges), uring_close, uring_ops (handler ops and
//     readFile on the ring), uring_probe; connio_*.go holds their
//     per-connection state, listen_linux.go the listeners.
//   - conn.go: the connection (what survives between requests), input
//     dispatch, output accounting, timers' choice; outq.go its output
//     queue (coalesced chunks, references, file ranges, release markers).
//   - transport: tls.go (handshake on helper goroutines, userspace records
//     sealed into the output queue, file ranges read and sealed in place;
//     kernel TLS via ktls_*.go); stage.go (output transformed on its way
//     to the queue: sealed by TLS, and HTTP/2 file ranges read into memory
//     on the uring engine, a batch of whole records per engine read).
//   - protocol: h1.go (HTTP/1.1 with httpcore.Parser; input held between
//     reads in pooled h1holds), h2.go (HTTP/2 with package h2's state
//     machine).
//   - exchange.go: a request whose answer waits for a handler op, shared
//     by both protocols; panic.go: handlers run under recover; ops.go the
//     helper pool for blocking ops.
//
// timer.go (timeout lists), accesslog.go (access log lines written once
// their bytes are sent: clf, combined, json; buffered per worker).
//
// Operations: metrics.go (per-worker counters, published on demand and
// summed at scrape; Prometheus text), activation_linux.go (sockets from
// systemd or an upgrading parent, spread over the workers),
// notify_linux.go (sd_notify), upgrade_linux.go (SIGUSR2: hand every
// listener to a new process), handover.go (the drain of an upgraded
// process), privdrop_linux.go (setgroups/setgid/setuid after binding);
// process.go holds their platform-neutral types.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// Errors returned by Server methods.
var (
	ErrStarted    = errors.New("server: already started")
	ErrNotStarted = errors.New("server: not started")
)

// Server serves a Handler on a set of listening addresses.
type Server struct {
	cfg     Config
	handler httpcore.Handler
	log     *slog.Logger

	mu       sync.Mutex
	started  bool
	backend  string
	eng      engine
	workers  []*worker
	addrs    []net.Addr
	wg       sync.WaitGroup
	done     chan struct{} // closed when every worker has returned
	logw     *logWriter
	pool     *opPool
	poolOnce sync.Once

	// lnMu guards lnFds, the workers' listening sockets (lnFds[w], as
	// bound; workers close them once stopping is set, which is only ever
	// set under lnMu).
	lnMu  sync.Mutex
	lnFds [][]int
	lnTLS [][]bool // lnTLS[w][i]: lnFds[w][i] speaks TLS
	// handover: the shutdown in progress hands the listeners to a new
	// process (upgrade): idle keep-alive connections are not cut at once.
	handover  atomic.Bool
	upgrading atomic.Bool // an Upgrade is running or has succeeded

	stopping  atomic.Bool
	forced    atomic.Bool
	drainNs   atomic.Int64 // graceful part of the shutdown in progress
	closeOnce sync.Once

	// mgen is the scrape generation workers publish their metrics for
	// (metrics.go).
	mgen atomic.Uint64
	pubState

	hs      *tlsrec.Handshaker // TLS handshakes (nil without TLS listeners)
	ktls    bool               // records go to kernel TLS after the handshake
	tlsAddr net.Addr           // the first TLS listener's address
}

// New validates cfg and returns a Server for h. Nothing is bound until
// Start.
func New(cfg Config, h httpcore.Handler) (*Server, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, a := range append(append([]string(nil), cfg.Listen...), cfg.TLSListen...) {
		if _, err := parseListen(a); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, handler: h, log: cfg.Logger, done: make(chan struct{})}
	s.pubCond = sync.NewCond(&s.pubMu)
	return s, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Start picks the engine, binds every listener (errors such as EADDRINUSE
// come back here, naming the address) and starts the workers. It returns
// once every worker is ready to serve.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	name, factory, why, err := pickEngine(s.cfg.Backend)
	if err != nil {
		return err
	}
	if why != "" {
		s.log.Info("server: using epoll: io_uring unavailable", "reason", why)
	}
	lns, lnTLS, addrs, isTLS, err := s.bind()
	if err != nil {
		return err
	}
	s.tlsAddr = nil
	for i, t := range isTLS {
		if t {
			if s.tlsAddr == nil {
				s.tlsAddr = addrs[i]
			}
			if s.hs == nil {
				s.startTLS()
			}
		}
	}
	closeAll := func() {
		for _, l := range lns {
			closeListeners(l)
		}
	}
	if s.cfg.AfterBind != nil {
		if err := s.cfg.AfterBind(); err != nil {
			closeAll()
			return err
		}
	}
	s.lnMu.Lock()
	s.lnFds, s.lnTLS = lns, lnTLS
	s.lnMu.Unlock()
	eng, err := factory(s)
	if err != nil && s.cfg.Backend == BackendAuto && name == BackendUring {
		// The workers' rings cannot be made (RLIMIT_MEMLOCK of an
		// unprivileged user, say): auto means epoll then.
		s.log.Info("server: using epoll: io_uring rings cannot be set up", "reason", err)
		enginesMu.Lock()
		name, factory = BackendEpoll, engines[BackendEpoll]
		enginesMu.Unlock()
		eng, err = factory(s)
	}
	if err != nil {
		closeAll()
		return fmt.Errorf("server: engine %s: %w", name, err)
	}
	if s.cfg.AccessLog != nil {
		s.logw = newLogWriter(s.cfg.AccessLog, s.cfg.AccessLogFormat, s.cfg.Workers)
	}
	s.backend, s.eng, s.addrs = name, eng, addrs
	ready := make(chan error, s.cfg.Workers)
	s.workers = make([]*worker, s.cfg.Workers)
	for i := range s.workers {
		w := newWorker(s, i)
		w.listeners = lns[i]
		w.listenTLS = lnTLS[i]
		w.h2cfg = s.cfg.H2
		w.h2cfg.Limits = s.cfg.Limits
		if w.h2cfg.DataFrameSize == 0 {
			// A DATA frame with its head fills one TLS record (and one
			// staged chunk read) exactly.
			w.h2cfg.DataFrameSize = tlsrec.MaxPlaintext - 9
		}
		w.h2c = s.cfg.H2C
		if s.cfg.RedirectHTTPS && s.tlsAddr != nil {
			_, w.httpsPort, _ = net.SplitHostPort(s.tlsAddr.String())
		}
		if s.cfg.HSTS > 0 {
			w.hsts = fmt.Appendf(nil, "Strict-Transport-Security: max-age=%d\r\n", int64(s.cfg.HSTS/time.Second))
		}
		s.workers[i] = w
	}
	for _, w := range s.workers {
		s.wg.Add(1)
		go s.runWorker(w, ready)
	}
	var first error
	for range s.workers {
		if err := <-ready; err != nil && first == nil {
			first = err
		}
	}
	s.started = true
	go func() {
		s.wg.Wait()
		s.eng.close()
		if s.pool != nil && !s.pool.close() {
			s.log.Warn("server: blocking ops still running after shutdown; they will be abandoned when they finish")
		}
		if s.logw != nil {
			s.logw.close()
		}
		close(s.done)
	}()
	if first != nil {
		s.forced.Store(true)
		s.beginStop(0)
		<-s.done
		return fmt.Errorf("server: engine %s: %w", name, first)
	}
	s.log.Debug("server: started", "backend", name, "workers", s.cfg.Workers, "listen", s.cfg.Listen)
	return nil
}

// runWorker is a worker's goroutine: locked to its OS thread (never
// unlocked: with --pin the thread's affinity must not leak into the Go
// scheduler's pool, so the thread exits with the goroutine).
func (s *Server) runWorker(w *worker, ready chan<- error) {
	defer s.wg.Done()
	runtime.LockOSThread()
	if s.cfg.Pin {
		if err := pinThread(w.id); err != nil {
			s.log.Warn("server: cannot pin worker", "worker", w.id, "err", err)
		}
	}
	loop, err := s.eng.newLoop(w)
	if err != nil {
		for _, fd := range w.listeners {
			closeFd(fd)
		}
		ready <- err
		return
	}
	w.io = loop
	if f, ok := loop.(inlineFiles); !ok || !f.sendsFilesInline() {
		w.stageH2Files = true
	}
	ready <- nil
	loop.run()
}

// helpers returns the server's blocking-op helper pool, starting it on
// first use. Engines call it from newLoop.
func (s *Server) helpers() *opPool {
	s.poolOnce.Do(func() { s.pool = newOpPool(s.cfg.OpHelpers) })
	return s.pool
}

// Addrs returns the bound addresses, one per Config.Listen entry (with the
// port chosen by the kernel for ":0").
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

// Backend returns the engine in use ("uring" or "epoll"), or "" before
// Start.
func (s *Server) Backend() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backend
}

// drainFor returns the graceful period of the shutdown in progress.
func (s *Server) drainFor() time.Duration { return time.Duration(s.drainNs.Load()) }

// beginStop asks every worker to drain within d.
func (s *Server) beginStop(d time.Duration) {
	s.closeOnce.Do(func() {
		s.drainNs.Store(int64(d))
		// Under lnMu: once stopping is set workers close their listeners,
		// and an upgrade must not be duplicating them then.
		s.lnMu.Lock()
		s.stopping.Store(true)
		s.lnMu.Unlock()
		s.wakeAll()
	})
}

func (s *Server) wakeAll() {
	for _, w := range s.workers {
		if w.io != nil {
			w.postWake()
		}
	}
}

// Shutdown stops the server gracefully: listeners close at once, idle
// keep-alive connections close, in-flight requests are answered (with
// Connection: close) until Config.ShutdownTimeout or ctx's deadline,
// whichever comes first; then every connection closes. It returns when
// every worker has stopped: nil, or ctx.Err() when ctx ended first (the
// workers were then told to close everything, and have).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return ErrNotStarted
	}
	d := s.cfg.ShutdownTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		d = max(time.Until(dl), 0)
	}
	s.beginStop(d)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.forced.Store(true)
		s.wakeAll()
		<-s.done
		return ctx.Err()
	}
}

// Done returns a channel closed once every worker has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// DroppedLogLines returns how many access log lines were dropped because
// the writer fell behind.
func (s *Server) DroppedLogLines() int64 {
	if s.logw == nil {
		return 0
	}
	return s.logw.dropped.Load()
}
