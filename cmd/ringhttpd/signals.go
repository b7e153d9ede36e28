package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ringhttpd/ringhttpd/server"
)

// Signals, as operators of nginx and its kind expect:
//
//	TERM, INT  graceful stop: stop accepting, finish in-flight answers
//	           (--shutdown-timeout), then close; a second one stops at once
//	QUIT       fast stop: close every connection now
//	HUP        reload: run every reload hook (site configuration, TLS
//	           certificates); a part that refuses its new input keeps its
//	           old state and the failure is logged
//	USR1       reopen the access log file (after logrotate moved it)
//	USR2       upgrade: start this binary's path again with every listening
//	           socket inherited; once it is ready, stop accepting, drain
//	           and exit. If it fails, keep serving and log why.
var handledSignals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
	syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2,
}

// stopKind says how the daemon stops.
type stopKind int

const (
	stopGraceful stopKind = iota
	stopFast
	stopHandover // an upgrade's new process serves the listeners now
)

// loop handles signals, the context and the watchdog until the daemon
// stops.
func (d *daemon) loop(ctx context.Context, sigs <-chan os.Signal) error {
	var watchdog <-chan time.Time
	if iv, ok := server.WatchdogInterval(); ok {
		t := time.NewTicker(iv / 2)
		defer t.Stop()
		watchdog = t.C
		d.log.Info("systemd watchdog on", "interval", iv)
	}
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				d.reloadAll()
			case syscall.SIGUSR1:
				d.reopenLogs()
			case syscall.SIGUSR2:
				if d.upgrade() {
					return d.stop(sigs, stopHandover, "upgrade")
				}
			case syscall.SIGQUIT:
				return d.stop(sigs, stopFast, sig.String())
			default:
				return d.stop(sigs, stopGraceful, sig.String())
			}
		case <-ctx.Done():
			return d.stop(sigs, stopGraceful, context.Cause(ctx).Error())
		case <-d.s.Done():
			return cli.Exit("ringhttpd: workers stopped unexpectedly", 1)
		case <-watchdog:
			if err := d.s.Healthy(scrapeTimeout); err != nil {
				d.log.Warn("watchdog: not healthy; not pinging systemd", "err", err)
				continue
			}
			server.Notify("WATCHDOG=1")
		}
	}
}

// reloadAll runs the reload hooks (SIGHUP), telling systemd
// (Type=notify-reload) when the reload starts and ends.
func (d *daemon) reloadAll() {
	server.NotifyReloading()
	failed := d.reload.Run(d.log)
	status := "serving"
	if len(failed) > 0 {
		status = "serving; last reload refused by: " + strings.Join(failed, ", ")
	}
	server.Notify("READY=1\nSTATUS=" + status)
}

// reopenLogs reopens the access log file (SIGUSR1).
func (d *daemon) reopenLogs() {
	if d.alog == nil {
		d.log.Info("SIGUSR1: no access log file to reopen")
		return
	}
	if err := d.alog.Reopen(); err != nil {
		d.log.Error("cannot reopen the access log; still writing to the old file", "path", d.alog.path, "err", err)
		return
	}
	d.log.Info("access log reopened", "path", d.alog.path)
}

// upgrade starts the new process (SIGUSR2) and reports whether it is ready
// and serving, in which case this process must drain and exit.
func (d *daemon) upgrade() bool {
	if d.exe == "" {
		d.log.Error("upgrade impossible: this binary's path is unknown; still serving")
		return false
	}
	var extra []server.NamedFile
	if d.metrics != nil {
		f, err := d.metrics.file()
		if err != nil {
			d.log.Error("upgrade failed: metrics listener: still serving", "err", err)
			return false
		}
		defer f.Close()
		extra = append(extra, server.NamedFile{Name: server.ListenerMetrics, File: f})
	}
	d.log.Info("upgrade: starting the new process", "path", d.exe)
	pid, err := d.s.Upgrade(server.UpgradeConfig{
		Path:    d.exe,
		Args:    os.Args,
		Env:     os.Environ(),
		Extra:   extra,
		Timeout: d.o.upgradeTimeout,
	})
	if err != nil {
		d.log.Error("upgrade failed; this process keeps serving", "err", err)
		return false
	}
	d.log.Info("upgrade: the new process serves; draining this one", "pid", pid)
	// The new process is the service's main process from now on.
	server.Notify("MAINPID=" + strconv.Itoa(pid))
	return true
}

// stop shuts the server down. A second TERM, INT or QUIT during a graceful
// stop closes everything at once.
func (d *daemon) stop(sigs <-chan os.Signal, kind stopKind, why string) error {
	if kind != stopHandover {
		// After a handover the service goes on, in the new process.
		server.Notify("STOPPING=1")
	}
	timeout := d.o.shutdownTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	switch kind {
	case stopFast:
		cancel()
		d.log.Info("ringhttpd stopping now", "reason", why)
	case stopHandover:
		d.s.SetHandover()
		d.log.Info("ringhttpd draining for the new process", "timeout", timeout)
	default:
		d.log.Info("ringhttpd shutting down", "reason", why, "timeout", timeout)
	}
	go func() {
		for {
			select {
			case sig := <-sigs:
				switch sig {
				case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := d.s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		d.log.Warn("ringhttpd: shutdown cut short", "err", err)
	}
	if d.metrics != nil {
		d.metrics.close()
	}
	if n := d.s.DroppedLogLines(); n > 0 {
		d.log.Warn("ringhttpd: access log lines dropped (writer too slow)", "lines", n)
	}
	d.removePid()
	return nil
}
