package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ringhttpd/ringhttpd/files"
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
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fail("--%s %q: want debug, info, warn or error", fLogLevel, s)
	}
	return l, nil
}

// openAccessLog opens the --access-log destination; close is never nil.
func openAccessLog(spec string, stdout io.Writer) (w io.Writer, close func() error, err error) {
	switch spec {
	case "", "off":
		return nil, func() error { return nil }, nil
	case "-":
		return stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(spec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fail("--%s: %v", fAccessLog, err)
	}
	return f, f.Close, nil
}

func serveAction(c *cli.Context) error {
	if c.Args().Present() {
		return fail("unexpected argument %q (flags start with --; commands: serve, probe, version)", c.Args().First())
	}
	o := readOptions(c)
	if err := o.validate(); err != nil {
		return err
	}
	level, err := parseLevel(o.logLevel)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))

	st, err := os.Stat(o.root)
	if err != nil {
		return fail("--%s: %v", fRoot, err)
	}
	if !st.IsDir() {
		return fail("--%s %s: not a directory", fRoot, o.root)
	}
	h, err := files.New(files.Config{
		Root:          o.root,
		Index:         o.index,
		NoIndex:       o.index == "",
		Listing:       o.listing,
		Dotfiles:      o.dotfiles,
		HideWellKnown: o.hideWellKnown,
	})
	if err != nil {
		return fail("%v", err)
	}
	defer h.Close()

	alog, closeLog, err := openAccessLog(o.accessLog, c.App.Writer)
	if err != nil {
		return err
	}
	defer closeLog()

	s, err := server.New(server.Config{
		Listen:            o.listen,
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
		Logger:            log,
	}, h)
	if err != nil {
		return fail("%v", err)
	}
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
	addrs := make([]string, 0, len(s.Addrs()))
	for _, a := range s.Addrs() {
		addrs = append(addrs, a.String())
	}
	log.Info("ringhttpd serving", "root", o.root, "listen", addrs, "backend", s.Backend(),
		"workers", s.Config().Workers)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	select {
	case sig := <-sigs:
		log.Info("ringhttpd shutting down", "signal", sig.String(), "timeout", o.shutdownTimeout)
	case <-c.Context.Done():
		log.Info("ringhttpd shutting down", "reason", context.Cause(c.Context))
	case <-s.Done():
		return cli.Exit("ringhttpd: workers stopped unexpectedly", 1)
	}
	// A second signal closes everything at once.
	ctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout+time.Second)
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("ringhttpd: shutdown cut short", "err", err)
	}
	if n := s.DroppedLogLines(); n > 0 {
		log.Warn("ringhttpd: access log lines dropped (writer too slow)", "lines", n)
	}
	return nil
}
