package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/server"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// Every flag of the command is declared here, once, with its default (from
// server.Default*, httpcore.Default* and files.Default*) and its
// RINGHTTPD_* environment variable.

const (
	fRoot            = "root"
	fListen          = "listen"
	fBackend         = "backend"
	fWorkers         = "workers"
	fPin             = "pin"
	fIndex           = "index"
	fListing         = "listing"
	fDotfiles        = "dotfiles"
	fHideWellKnown   = "hide-well-known"
	fHeaderTimeout   = "header-timeout"
	fIdleTimeout     = "idle-timeout"
	fSendTimeout     = "send-timeout"
	fShutdownTimeout = "shutdown-timeout"
	fMaxConns        = "max-conns"
	fMaxRequestLine  = "max-request-line"
	fMaxHeaderBytes  = "max-header-bytes"
	fMaxHeaders      = "max-headers"
	fMaxBody         = "max-body"
	fAccessLog       = "access-log"
	fAccessLogFormat = "access-log-format"
	fLogLevel        = "log-level"
	fLogFormat       = "log-format"
	fMetrics         = "metrics"
	fUser            = "user"
	fGroup           = "group"
	fPidFile         = "pid-file"
	fUpgradeTimeout  = "upgrade-timeout"
	fTLSListen       = "tls-listen"
	fTLSCert         = "tls-cert"
	fTLSKey          = "tls-key"
	fRedirectHTTPS   = "redirect-https"
	fHSTS            = "hsts"
	fTLSHandshake    = "tls-handshake-timeout"
	fTLSMaxHS        = "tls-max-handshakes"
	fKernelTLS       = "kernel-tls"
	fH2C             = "h2c"
	fNoH2            = "no-h2"
	fH2MaxStreams    = "h2-max-streams"
	fH2Window        = "h2-window"
)

func env(name string) []string { return []string{name} }

// serveFlags returns fresh flag values for the serve command (and the root
// command, which serves when given no command).
func serveFlags() []cli.Flag {
	return []cli.Flag{
		configFlag(),
		&cli.StringFlag{Name: fRoot, Value: ".", EnvVars: env("RINGHTTPD_ROOT"),
			Usage: "directory to serve; nothing outside it is ever served"},
		&cli.StringSliceFlag{Name: fListen, Value: cli.NewStringSlice(server.DefaultListen), EnvVars: env("RINGHTTPD_LISTEN"),
			Usage: "address to listen on, host:port, [v6]:port or :port (repeatable; comma-separated in the variable)"},
		&cli.StringFlag{Name: fBackend, Value: server.DefaultBackend, EnvVars: env("RINGHTTPD_BACKEND"),
			Usage: "I/O engine: auto (io_uring when the kernel allows, else epoll), uring or epoll"},
		&cli.IntFlag{Name: fWorkers, Value: 0, EnvVars: env("RINGHTTPD_WORKERS"),
			Usage: "event loops, each on its own thread and listener (0: one per CPU)"},
		&cli.BoolFlag{Name: fPin, EnvVars: env("RINGHTTPD_PIN"),
			Usage: "pin worker i to CPU i"},
		&cli.StringFlag{Name: fIndex, Value: files.DefaultIndex, EnvVars: env("RINGHTTPD_INDEX"),
			Usage: `file served for a directory ("" disables)`},
		&cli.BoolFlag{Name: fListing, EnvVars: env("RINGHTTPD_LISTING"),
			Usage: "HTML listing for directories without an index file"},
		&cli.BoolFlag{Name: fDotfiles, EnvVars: env("RINGHTTPD_DOTFILES"),
			Usage: "serve names starting with '.' (hidden by default, except /.well-known)"},
		&cli.BoolFlag{Name: fHideWellKnown, EnvVars: env("RINGHTTPD_HIDE_WELL_KNOWN"),
			Usage: "hide /.well-known too when dot files are hidden"},
		&cli.DurationFlag{Name: fHeaderTimeout, Value: server.DefaultHeaderTimeout, EnvVars: env("RINGHTTPD_HEADER_TIMEOUT"),
			Usage: "time to receive a whole request after its first byte"},
		&cli.DurationFlag{Name: fIdleTimeout, Value: server.DefaultIdleTimeout, EnvVars: env("RINGHTTPD_IDLE_TIMEOUT"),
			Usage: "keep-alive wait for the next request"},
		&cli.DurationFlag{Name: fSendTimeout, Value: server.DefaultSendTimeout, EnvVars: env("RINGHTTPD_SEND_TIMEOUT"),
			Usage: "time a send may make no progress"},
		&cli.DurationFlag{Name: fShutdownTimeout, Value: server.DefaultShutdownTimeout, EnvVars: env("RINGHTTPD_SHUTDOWN_TIMEOUT"),
			Usage: "on SIGINT/SIGTERM, time to finish in-flight requests before closing everything"},
		&cli.IntFlag{Name: fMaxConns, Value: server.DefaultMaxConnsPerWorker, EnvVars: env("RINGHTTPD_MAX_CONNS"),
			Usage: "open connections per worker at which it stops accepting (resumes at 90%)"},
		&cli.IntFlag{Name: fMaxRequestLine, Value: httpcore.DefaultMaxRequestLine, EnvVars: env("RINGHTTPD_MAX_REQUEST_LINE"),
			Usage: "longest request line in bytes (over it: 414)"},
		&cli.IntFlag{Name: fMaxHeaderBytes, Value: httpcore.DefaultMaxHeaderBytes, EnvVars: env("RINGHTTPD_MAX_HEADER_BYTES"),
			Usage: "largest header section in bytes (over it: 431)"},
		&cli.IntFlag{Name: fMaxHeaders, Value: httpcore.DefaultMaxHeaders, EnvVars: env("RINGHTTPD_MAX_HEADERS"),
			Usage: "most header fields (over it: 431)"},
		&cli.Int64Flag{Name: fMaxBody, Value: httpcore.DefaultMaxBody, EnvVars: env("RINGHTTPD_MAX_BODY"),
			Usage: "largest request body in bytes (over it: 413)"},
		&cli.StringFlag{Name: fAccessLog, Value: "off", EnvVars: env("RINGHTTPD_ACCESS_LOG"),
			Usage: "Common Log Format access log: off, - (stdout) or a file path (appended)"},
		&cli.StringFlag{Name: fAccessLogFormat, Value: "clf", EnvVars: env("RINGHTTPD_ACCESS_LOG_FORMAT"),
			Usage: "access log lines: clf (Common Log Format), combined (plus referer and user agent) or json; each with the body bytes actually sent and the request time in microseconds"},
		&cli.StringFlag{Name: fLogLevel, Value: "info", EnvVars: env("RINGHTTPD_LOG_LEVEL"),
			Usage: "operational log level on stderr: debug, info, warn or error"},
		&cli.StringFlag{Name: fLogFormat, Value: "text", EnvVars: env("RINGHTTPD_LOG_FORMAT"),
			Usage: "operational log lines: text (key=value) or json"},
		&cli.StringFlag{Name: fMetrics, EnvVars: env("RINGHTTPD_METRICS"),
			Usage: "address of a separate listener for Prometheus /metrics and /healthz (off when empty)"},
		&cli.StringFlag{Name: fUser, EnvVars: env("RINGHTTPD_USER"),
			Usage: "after binding and opening the root and logs, switch every thread to this user (name or id)"},
		&cli.StringFlag{Name: fGroup, EnvVars: env("RINGHTTPD_GROUP"),
			Usage: "with --user: the group (default: the user's primary group)"},
		&cli.StringFlag{Name: fPidFile, EnvVars: env("RINGHTTPD_PID_FILE"),
			Usage: "write the process id here once serving (rewritten by the new process after an upgrade)"},
		&cli.DurationFlag{Name: fUpgradeTimeout, Value: 30 * time.Second, EnvVars: env("RINGHTTPD_UPGRADE_TIMEOUT"),
			Usage: "on SIGUSR2, how long the new process may take to be ready before the upgrade is abandoned"},
		&cli.StringSliceFlag{Name: fTLSListen, EnvVars: env("RINGHTTPD_TLS_LISTEN"),
			Usage: "HTTPS address to listen on (repeatable; like --listen); needs --tls-cert and --tls-key"},
		&cli.StringSliceFlag{Name: fTLSCert, EnvVars: env("RINGHTTPD_TLS_CERT"),
			Usage: "PEM certificate chain, leaf first (repeatable, paired in order with --tls-key; SNI picks by name, the first pair is the default)"},
		&cli.StringSliceFlag{Name: fTLSKey, EnvVars: env("RINGHTTPD_TLS_KEY"),
			Usage: "PEM private key (RSA or ECDSA) of the --tls-cert at the same position"},
		&cli.BoolFlag{Name: fRedirectHTTPS, EnvVars: env("RINGHTTPD_REDIRECT_HTTPS"),
			Usage: "answer every plaintext request with 308 to https:// (same host, the first TLS port, same path and query)"},
		&cli.IntFlag{Name: fHSTS, EnvVars: env("RINGHTTPD_HSTS"),
			Usage: "add Strict-Transport-Security: max-age=`SECONDS` to HTTPS answers (0: off)"},
		&cli.DurationFlag{Name: fTLSHandshake, Value: tlsrec.DefaultHandshakeTimeout, EnvVars: env("RINGHTTPD_TLS_HANDSHAKE_TIMEOUT"),
			Usage: "a TLS handshake that takes longer is closed"},
		&cli.IntFlag{Name: fTLSMaxHS, Value: tlsrec.DefaultMaxInProgress, EnvVars: env("RINGHTTPD_TLS_MAX_HANDSHAKES"),
			Usage: "TLS handshakes computed at once on helper goroutines (more wait in a bounded queue; while some wait, a handshake whose client has been silent for 1 s gives its helper up)"},
		&cli.StringFlag{Name: fKernelTLS, Value: "auto", EnvVars: env("RINGHTTPD_KERNEL_TLS"),
			Usage: "record layer after the handshake: auto (kernel TLS where the kernel has it, else userspace) or off (always userspace)"},
		&cli.BoolFlag{Name: fH2C, EnvVars: env("RINGHTTPD_H2C"),
			Usage: "plaintext listeners also speak HTTP/2 to clients that start with its preface (prior knowledge; no Upgrade: h2c)"},
		&cli.BoolFlag{Name: fNoH2, EnvVars: env("RINGHTTPD_NO_H2"),
			Usage: "HTTPS offers only http/1.1 by ALPN (HTTP/2 is offered by default)"},
		&cli.IntFlag{Name: fH2MaxStreams, Value: h2.DefaultMaxConcurrentStreams, EnvVars: env("RINGHTTPD_H2_MAX_STREAMS"),
			Usage: "HTTP/2 streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)"},
		&cli.IntFlag{Name: fH2Window, Value: h2.DefaultInitialWindowSize, EnvVars: env("RINGHTTPD_H2_WINDOW"),
			Usage: "HTTP/2 receive window per stream in bytes (SETTINGS_INITIAL_WINDOW_SIZE; request bodies)"},
	}
}

// options is what the serve flags say.
type options struct {
	root            string
	listen          []string
	backend         string
	workers         int
	pin             bool
	index           string
	listing         bool
	dotfiles        bool
	hideWellKnown   bool
	headerTimeout   time.Duration
	idleTimeout     time.Duration
	sendTimeout     time.Duration
	shutdownTimeout time.Duration
	maxConns        int
	limits          httpcore.Limits
	accessLog       string
	accessLogFormat string
	logLevel        string
	logFormat       string
	metrics         string
	user            string
	group           string
	pidFile         string
	upgradeTimeout  time.Duration
	tlsListen       []string
	tlsCerts        []string
	tlsKeys         []string
	redirectHTTPS   bool
	hsts            int
	tlsHandshake    time.Duration
	tlsMaxHS        int
	kernelTLS       string
	h2c             bool
	noH2            bool
	h2MaxStreams    int
	h2Window        int
}

func readOptions(c *cli.Context) options {
	return options{
		root:            c.String(fRoot),
		listen:          c.StringSlice(fListen),
		backend:         c.String(fBackend),
		workers:         c.Int(fWorkers),
		pin:             c.Bool(fPin),
		index:           c.String(fIndex),
		listing:         c.Bool(fListing),
		dotfiles:        c.Bool(fDotfiles),
		hideWellKnown:   c.Bool(fHideWellKnown),
		headerTimeout:   c.Duration(fHeaderTimeout),
		idleTimeout:     c.Duration(fIdleTimeout),
		sendTimeout:     c.Duration(fSendTimeout),
		shutdownTimeout: c.Duration(fShutdownTimeout),
		maxConns:        c.Int(fMaxConns),
		limits: httpcore.Limits{
			MaxRequestLine: c.Int(fMaxRequestLine),
			MaxHeaderBytes: c.Int(fMaxHeaderBytes),
			MaxHeaders:     c.Int(fMaxHeaders),
			MaxBody:        c.Int64(fMaxBody),
		},
		accessLog:       c.String(fAccessLog),
		accessLogFormat: c.String(fAccessLogFormat),
		logLevel:        c.String(fLogLevel),
		logFormat:       c.String(fLogFormat),
		metrics:         c.String(fMetrics),
		user:            c.String(fUser),
		group:           c.String(fGroup),
		pidFile:         c.String(fPidFile),
		upgradeTimeout:  c.Duration(fUpgradeTimeout),
		tlsListen:       c.StringSlice(fTLSListen),
		tlsCerts:        c.StringSlice(fTLSCert),
		tlsKeys:         c.StringSlice(fTLSKey),
		redirectHTTPS:   c.Bool(fRedirectHTTPS),
		hsts:            c.Int(fHSTS),
		tlsHandshake:    c.Duration(fTLSHandshake),
		tlsMaxHS:        c.Int(fTLSMaxHS),
		kernelTLS:       c.String(fKernelTLS),
		h2c:             c.Bool(fH2C),
		noH2:            c.Bool(fNoH2),
		h2MaxStreams:    c.Int(fH2MaxStreams),
		h2Window:        c.Int(fH2Window),
	}
}
