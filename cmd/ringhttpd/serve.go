package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ringhttpd/ringhttpd/server"
)

// fail is the one-line exit for an operator error.
func fail(format string, a ...any) error {
	return cli.Exit("ringhttpd: "+fmt.Sprintf(format, a...), exitUsage)
}

// validate rejects flag values that parse but can never work.
func (o *options) validate() error {
	switch o.backend {
	case server.BackendAuto, server.BackendUring, server.BackendEpoll:
	default:
		return fail("--%s %q: want auto, uring or epoll", fBackend, o.backend)
	}
	if o.workers < 0 {
		return fail("--%s %d: must be 0 (one per CPU) or more", fWorkers, o.workers)
	}
	if len(o.listen) == 0 {
		return fail("--%s: no address", fListen)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{fHeaderTimeout, o.headerTimeout}, {fIdleTimeout, o.idleTimeout},
		{fSendTimeout, o.sendTimeout}, {fShutdownTimeout, o.shutdownTimeout},
	} {
		if d.v <= 0 {
			return fail("--%s %v: must be positive", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{fMaxConns, int64(o.maxConns)}, {fMaxRequestLine, int64(o.limits.MaxRequestLine)},
		{fMaxHeaderBytes, int64(o.limits.MaxHeaderBytes)}, {fMaxHeaders, int64(o.limits.MaxHeaders)},
		{fMaxBody, o.limits.MaxBody},
	} {
		if n.v <= 0 {
			return fail("--%s %d: must be positive", n.name, n.v)
		}
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return fail("--%s %q: want text or json", fLogFormat, o.logFormat)
	}
	switch o.accessLogFormat {
	case server.AccessLogCLF, server.AccessLogCombined, server.AccessLogJSON:
	default:
		return fail("--%s %q: want clf, combined or json", fAccessLogFormat, o.accessLogFormat)
	}
	if o.group != "" && o.user == "" {
		return fail("--%s needs --%s", fGroup, fUser)
	}
	if o.upgradeTimeout <= 0 {
		return fail("--%s %v: must be positive", fUpgradeTimeout, o.upgradeTimeout)
	}
	return o.validateTLS()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fail("--%s %q: want debug, info, warn or error", fLogLevel, s)
	}
	return l, nil
}

// newLogger returns the operational logger (--log-format, --log-level).
func newLogger(o *options, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(o.logLevel)
	if err != nil {
		return nil, err
	}
	hopts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

// daemon is one serving process: the server and everything around it that
// signals act on.
type daemon struct {
	o       options
	log     *slog.Logger
	s       *server.Server
	exe     string // this binary, for upgrades
	reload  reloader
	alog    *logFile
	metrics *metricsServer
	pidFile *os.File
}

func serveAction(c *cli.Context) error {
	// First of all, so that a signal during startup is queued instead of
	// taking Go's default action (SIGHUP, SIGUSR1 and SIGUSR2 would kill
	// the process).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, handledSignals...)
	defer signal.Stop(sigs)

	if c.Args().Present() {
		return fail("unexpected argument %q (flags start with --; commands: serve, probe, version)", c.Args().First())
	}
	fc, err := loadConfigFile(c)
	if err != nil {
		return err
	}
	d := &daemon{o: readOptions(c)}
	o := &d.o
	if err := o.validate(); err != nil {
		return err
	}
	log, err := newLogger(o, c.App.ErrWriter)
	if err != nil {
		return err
	}
	d.log = log
	if d.exe, err = os.Executable(); err != nil {
		log.Warn("cannot find this binary's path: SIGUSR2 upgrades will fail", "err", err)
	}
	var creds *server.Credentials
	if o.user != "" {
		cr, err := server.LookupCredentials(o.user, o.group)
		if err != nil {
			return fail("--%s: %v", fUser, err)
		}
		creds = &cr
	}

	inherited, err := server.Inherited()
	if err != nil {
		return fail("%v", err)
	}
	var serveSocks []server.InheritedSocket
	var metricsSock *server.InheritedSocket
	for i := range inherited {
		if inherited[i].Name == server.ListenerMetrics {
			metricsSock = &inherited[i]
			continue
		}
		serveSocks = append(serveSocks, inherited[i])
	}
	if len(serveSocks) > 0 {
		log.Info("serving inherited sockets; --listen is not bound", "sockets", len(serveSocks))
	}

	h, err := d.newSite(fc)
	if err != nil {
		return err
	}
	defer h.Close()

	var alog io.Writer
	switch o.accessLog {
	case "", "off":
	case "-":
		alog = c.App.Writer
	default:
		if d.alog, err = openLogFile(o.accessLog); err != nil {
			return fail("--%s: %v", fAccessLog, err)
		}
		defer d.alog.Close()
		alog = d.alog
	}
	if o.pidFile != "" {
		if d.pidFile, err = openPidFile(o.pidFile, creds); err != nil {
			return fail("--%s: %v", fPidFile, err)
		}
		defer d.pidFile.Close()
	}
	var metricsLn net.Listener
	switch {
	case metricsSock != nil:
		f := os.NewFile(uintptr(metricsSock.Fd), "metrics")
		metricsLn, err = net.FileListener(f)
		f.Close()
		if err != nil {
			return fail("inherited metrics socket: %v", err)
		}
	case o.metrics != "":
		if metricsLn, err = net.Listen("tcp", o.metrics); err != nil {
			return fail("--%s: %v", fMetrics, err)
		}
	}
	if metricsLn != nil {
		defer metricsLn.Close()
	}

	cfg := server.Config{
		Listen:            o.listen,
		Inherit:           serveSocks,
		Backend:           o.backend,
		Workers:           o.workers,
		Pin:               o.pin,
		HeaderTimeout:     o.headerTimeout,
		IdleTimeout:       o.idleTimeout,
		SendTimeout:       o.sendTimeout,
		ShutdownTimeout:   o.shutdownTimeout,
		MaxConnsPerWorker: o.maxConns,
		Limits:            o.limits,
		AccessLog:         alog,
		AccessLogFormat:   o.accessLogFormat,
		Logger:            log,
	}
	if err := d.setupTLS(&cfg); err != nil {
		return err
	}
	d.setupH2(&cfg)
	if creds != nil {
		// Everything privileged is open: listeners (bound by Start just
		// before this runs), root, access log, pid file, metrics socket.
		cfg.AfterBind = func() error { return server.DropPrivileges(*creds) }
	}
	s, err := server.New(cfg, h)
	if err != nil {
		return fail("%v", err)
	}
	d.s = s
	// One spare P beyond the workers: a worker that blocks in
	// io_uring_enter/epoll_wait has its P taken by sysmon, and with no idle
	// P the runtime wakes a thread to spin for work that is not there (a
	// futex wake and two context switches per blocking wait). Measured on
	// keep-alive with the server on one CPU: 5-8% less CPU per request.
	if w := s.Config().Workers; runtime.GOMAXPROCS(0) <= w && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(w + 1)
	}
	if err := s.Start(); err != nil {
		return fail("%v", err)
	}
	if metricsLn != nil {
		d.metrics = newMetricsServer(metricsLn, s, &d.reload, log)
		d.metrics.serve(log)
	}
	addrs := make([]string, 0, len(s.Addrs()))
	for _, a := range s.Addrs() {
		addrs = append(addrs, a.String())
	}
	attrs := []any{"root", o.root, "listen", addrs, "backend", s.Backend(), "workers", s.Config().Workers}
	if metricsLn != nil {
		attrs = append(attrs, "metrics", metricsLn.Addr().String())
	}
	if creds != nil {
		attrs = append(attrs, "user", creds.Name, "uid", os.Getuid(), "gid", os.Getgid())
	}
	log.Info("ringhttpd serving", attrs...)
	d.ready()
	return d.loop(c.Context, sigs)
}

// ready tells whoever waits that the process serves: the pid file, the
// service manager, the parent of an upgrade.
func (d *daemon) ready() {
	if d.pidFile != nil {
		if err := writePid(d.pidFile); err != nil {
			d.log.Warn("cannot write the pid file", "path", d.o.pidFile, "err", err)
		}
	}
	if err := server.Notify("READY=1\nSTATUS=serving\nMAINPID=" + strconv.Itoa(os.Getpid())); err != nil {
		d.log.Warn("sd_notify", "err", err)
	}
	if err := server.UpgradeReady(); err != nil {
		d.log.Warn("cannot tell the upgrading parent we are ready", "err", err)
	}
}

// openPidFile opens (creating) the pid file while the process may still
// have the rights to, and gives it to the user privileges drop to, so that
// the process started by an upgrade can rewrite it.
func openPidFile(path string, creds *server.Credentials) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if creds != nil && os.Geteuid() == 0 {
		f.Chown(creds.UID, creds.GID)
	}
	return f, nil
}

func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// removePid removes the pid file if it still names this process (after an
// upgrade it names the new one).
func (d *daemon) removePid() {
	if d.pidFile == nil {
		return
	}
	b := make([]byte, 32)
	n, _ := d.pidFile.ReadAt(b, 0)
	if strings.TrimSpace(string(b[:n])) == strconv.Itoa(os.Getpid()) {
		os.Remove(d.o.pidFile) // may fail once privileges are dropped: a stale pid file is harmless
	}
}

// logFile is an access log file that SIGUSR1 reopens (after logrotate has
// moved it). Writes come from the access log's writer goroutine, never
// from an event loop.
type logFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &logFile{path: path, f: f}, nil
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Reopen opens the path again and swaps it in; on failure the old file
// stays in use.
func (l *logFile) Reopen() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
