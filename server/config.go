package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// Defaults of Config. The command reads its flag defaults from these.
const (
	DefaultListen            = ":8080"
	DefaultBackend           = "auto"
	DefaultHeaderTimeout     = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultSendTimeout       = 60 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultMaxConnsPerWorker = 10000
)

// Backend names accepted by Config.Backend.
const (
	BackendAuto  = "auto"
	BackendUring = "uring"
	BackendEpoll = "epoll"
)

// Config configures a Server. The zero value of every field means its
// default (see the Default constants and httpcore.DefaultLimits).
type Config struct {
	// Listen holds the addresses to listen on ("host:port", "[::1]:8080",
	// ":8080"); default DefaultListen. Every worker binds its own
	// SO_REUSEPORT socket for each address.
	Listen []string
	// Inherit holds listening sockets passed by systemd or by the previous
	// process of an upgrade (see Inherited); when set, Listen is not bound
	// and these are served instead, spread over the workers.
	Inherit []InheritedSocket
	// AfterBind, when set, runs in Start once every listening socket is
	// bound and before any worker (or ring) starts: the place to drop
	// privileges. An error fails Start.
	AfterBind func() error
	// TLSListen holds the addresses of HTTPS listeners (same forms as
	// Listen). With TLSListen set and Listen empty, no plaintext listener
	// is opened.
	TLSListen []string
	// TLS configures HTTPS; required when TLSListen is set.
	TLS *TLSConfig
	// RedirectHTTPS makes plaintext listeners answer every request with a
	// 308 to the same host (with the first TLS listener's port), path and
	// query over https.
	RedirectHTTPS bool
	// HSTS, when positive, adds "Strict-Transport-Security: max-age=N"
	// (N in seconds) to every answer over TLS.
	HSTS time.Duration

	// H2C lets plaintext connections speak HTTP/2 by prior knowledge (a
	// connection that starts with the HTTP/2 preface). DisableH2 keeps
	// TLS connections on HTTP/1.1 (ALPN offers only http/1.1). H2 tunes
	// HTTP/2 (streams, windows, attack budgets); its Limits come from
	// Limits.
	H2C       bool
	DisableH2 bool
	H2        h2.Config

	// Backend is "auto" (uring when available, else epoll), "uring" or "epoll".
	Backend string
	// Workers is the number of event loops, each on a locked OS thread;
	// 0 means runtime.NumCPU().
	Workers int
	// Pin pins worker i to CPU i modulo the CPUs the process may use.
	Pin bool

	// HeaderTimeout bounds the time from the first byte of a request until
	// the request is complete; IdleTimeout the keep-alive wait for the next
	// request; SendTimeout a send that makes no progress; ShutdownTimeout
	// the graceful part of Shutdown.
	HeaderTimeout   time.Duration
	IdleTimeout     time.Duration
	SendTimeout     time.Duration
	ShutdownTimeout time.Duration

	// OpHelpers is the number of goroutines that run handlers' blocking
	// steps: every httpcore.OpFunc (and, on the epoll engine, every Op).
	// Each OpFunc occupies one while its Func runs; more wait in a queue
	// (the loops never wait for them). Default 2 x Workers, at least 4 and
	// at most 16: enough for file system work. Raise it when handlers wait
	// for slow services (a database, another HTTP service) through OpFunc:
	// about the number of such waits you want in flight at once.
	OpHelpers int

	// MaxConnsPerWorker is the number of open connections at which a worker
	// stops accepting; it resumes below 90 % of it.
	MaxConnsPerWorker int
	// Limits bounds request heads and bodies (httpcore.DefaultLimits for
	// zero fields).
	Limits httpcore.Limits

	// AccessLog receives access log lines when non-nil. Workers
	// buffer lines and never block on it: lines are dropped (and counted)
	// when the writer falls behind.
	AccessLog io.Writer
	// AccessLogFormat is AccessLogCLF (the default), AccessLogCombined or
	// AccessLogJSON.
	AccessLogFormat string
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
}

// TLSConfig configures HTTPS.
type TLSConfig struct {
	// Certs is the live certificate store (SNI picks from it; Swap
	// replaces it in a running server).
	Certs *tlsrec.Certs
	// HandshakeTimeout bounds a handshake (default
	// tlsrec.DefaultHandshakeTimeout); MaxHandshakes caps the handshakes
	// running on helper goroutines at once (default
	// tlsrec.DefaultMaxInProgress); while handshakes wait for a helper, one
	// whose client has been silent for tlsrec.DefaultStallEvict gives its
	// helper up.
	HandshakeTimeout time.Duration
	MaxHandshakes    int
	// Kernel selects the record layer: "auto" (kernel TLS where the kernel
	// has it, else userspace; the default), "off" (always userspace).
	Kernel string
	// ALPN lists the application protocols offered, best first; default
	// "http/1.1" (the server adds "h2" when it serves HTTP/2).
	ALPN []string
}

// ErrBadConfig is wrapped by New's validation errors.
var ErrBadConfig = errors.New("server: bad configuration")

// withDefaults returns cfg with every zero field set to its default, or an
// error wrapping ErrBadConfig for values that can never work.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Listen) == 0 && len(cfg.TLSListen) == 0 {
		cfg.Listen = []string{DefaultListen}
	}
	if len(cfg.TLSListen) > 0 && (cfg.TLS == nil || cfg.TLS.Certs == nil || cfg.TLS.Certs.Current() == nil) {
		return cfg, fmt.Errorf("%w: TLS listeners need certificates", ErrBadConfig)
	}
	if cfg.RedirectHTTPS && len(cfg.TLSListen) == 0 && !inheritsHTTPS(cfg.Inherit) {
		return cfg, fmt.Errorf("%w: redirecting to https needs a TLS listener", ErrBadConfig)
	}
	for _, in := range cfg.Inherit {
		if in.Name == ListenerHTTPS && (cfg.TLS == nil || cfg.TLS.Certs == nil || cfg.TLS.Certs.Current() == nil) {
			return cfg, fmt.Errorf("%w: inherited socket %s is named %q: TLS listeners need certificates", ErrBadConfig, in.Addr, in.Name)
		}
	}
	if cfg.Backend == "" {
		cfg.Backend = DefaultBackend
	}
	switch cfg.Backend {
	case BackendAuto, BackendUring, BackendEpoll:
	default:
		return cfg, fmt.Errorf("%w: backend %q is not auto, uring or epoll", ErrBadConfig, cfg.Backend)
	}
	if cfg.Workers < 0 {
		return cfg, fmt.Errorf("%w: workers %d < 0", ErrBadConfig, cfg.Workers)
	}
	if cfg.Workers == 0 {
		cfg.Workers = numCPU()
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"header timeout", &cfg.HeaderTimeout, DefaultHeaderTimeout},
		{"idle timeout", &cfg.IdleTimeout, DefaultIdleTimeout},
		{"send timeout", &cfg.SendTimeout, DefaultSendTimeout},
		{"shutdown timeout", &cfg.ShutdownTimeout, DefaultShutdownTimeout},
	} {
		if *d.v < 0 {
			return cfg, fmt.Errorf("%w: %s %v < 0", ErrBadConfig, d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.OpHelpers < 0 {
		return cfg, fmt.Errorf("%w: op helpers %d < 0", ErrBadConfig, cfg.OpHelpers)
	}
	if cfg.OpHelpers == 0 {
		cfg.OpHelpers = max(minHelpers, min(2*cfg.Workers, maxHelpers))
	}
	if cfg.MaxConnsPerWorker < 0 {
		return cfg, fmt.Errorf("%w: max conns %d < 0", ErrBadConfig, cfg.MaxConnsPerWorker)
	}
	if cfg.MaxConnsPerWorker == 0 {
		cfg.MaxConnsPerWorker = DefaultMaxConnsPerWorker
	}
	def := httpcore.DefaultLimits()
	if cfg.Limits.MaxRequestLine <= 0 {
		cfg.Limits.MaxRequestLine = def.MaxRequestLine
	}
	if cfg.Limits.MaxHeaderBytes <= 0 {
		cfg.Limits.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if cfg.Limits.MaxHeaders <= 0 {
		cfg.Limits.MaxHeaders = def.MaxHeaders
	}
	if cfg.Limits.MaxBody <= 0 {
		cfg.Limits.MaxBody = def.MaxBody
	}
	switch cfg.AccessLogFormat {
	case "":
		cfg.AccessLogFormat = AccessLogCLF
	case AccessLogCLF, AccessLogCombined, AccessLogJSON:
	default:
		return cfg, fmt.Errorf("%w: access log format %q is not clf, combined or json", ErrBadConfig, cfg.AccessLogFormat)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// inheritsHTTPS reports whether an inherited socket is named "https".
func inheritsHTTPS(in []InheritedSocket) bool {
	for _, s := range in {
		if s.Name == ListenerHTTPS {
			return true
		}
	}
	return false
}
