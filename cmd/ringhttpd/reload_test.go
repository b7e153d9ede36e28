package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestReloaderRunsEveryHook: hooks run in the order added; a failing hook
// is logged and counted, and the hooks after it still run.
func TestReloaderRunsEveryHook(t *testing.T) {
	var r reloader
	var order []string
	r.Add("site", func() error { order = append(order, "site"); return errors.New("site.toml:3: bad key") })
	r.Add("tls certificates", func() error { order = append(order, "tls"); return nil })
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))

	failed := r.Run(log)
	if strings.Join(order, ",") != "site,tls" {
		t.Fatalf("hooks ran as %v", order)
	}
	if len(failed) != 1 || failed[0] != "site" {
		t.Fatalf("failed %v, want [site]", failed)
	}
	if !strings.Contains(logBuf.String(), `part=site err="site.toml:3: bad key"`) ||
		!strings.Contains(logBuf.String(), `msg=reloaded part="tls certificates"`) {
		t.Fatalf("log:\n%s", logBuf.String())
	}
	if r.ok.Load() != 0 || r.failed.Load() != 1 || r.lastOK.Load() != 0 {
		t.Fatalf("counters ok %d failed %d lastOK %d", r.ok.Load(), r.failed.Load(), r.lastOK.Load())
	}

	var empty reloader
	if failed := empty.Run(log); failed != nil || empty.ok.Load() != 1 || empty.lastOK.Load() == 0 {
		t.Fatalf("a registry without hooks: failed %v, ok %d", failed, empty.ok.Load())
	}
}
