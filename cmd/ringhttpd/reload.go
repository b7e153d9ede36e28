package main

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// reloadHook re-reads one piece of configuration (the site configuration,
// the TLS certificates) on SIGHUP. It must build and validate the new state
// off the event loops, swap it in atomically only when it is good, and
// otherwise return an error and keep the old state: a bad file never
// replaces a good one.
type reloadHook struct {
	name string
	fn   func() error
}

// reloader is the registry of reload hooks. Features add theirs while the
// command starts (before the signal loop runs); SIGHUP runs them all, in
// the order they were added, each independently of the others' failures.
type reloader struct {
	mu    sync.Mutex
	hooks []reloadHook

	ok, failed atomic.Int64 // reload rounds, for the metrics
	lastOK     atomic.Int64 // unix time of the last round without failure
}

// Add registers fn under name (used in logs and metrics).
func (r *reloader) Add(name string, fn func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, reloadHook{name, fn})
}

// Run calls every hook in order and logs each failure; it returns the
// names of the hooks that failed (their old state stays in force).
func (r *reloader) Run(log *slog.Logger) (failed []string) {
	r.mu.Lock()
	hooks := append([]reloadHook(nil), r.hooks...)
	r.mu.Unlock()
	for _, h := range hooks {
		start := time.Now()
		if err := h.fn(); err != nil {
			log.Error("reload refused; the previous configuration stays in force", "part", h.name, "err", err)
			failed = append(failed, h.name)
			continue
		}
		log.Info("reloaded", "part", h.name, "took", time.Since(start).Round(time.Microsecond))
	}
	if len(failed) > 0 {
		r.failed.Add(1)
	} else {
		r.ok.Add(1)
		r.lastOK.Store(time.Now().Unix())
	}
	return failed
}
