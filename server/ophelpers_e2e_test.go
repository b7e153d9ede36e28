//go:build linux

package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// barrierHandler's OpFunc waits until n Funcs run at once (or 5 s pass):
// only a pool of at least n helpers lets every request meet the others.
type barrierHandler struct {
	n       int32
	running atomic.Int32
	met     chan struct{}
}

func (h *barrierHandler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	var ok bool
	return &httpcore.Op{Kind: httpcore.OpFunc,
		Func: func() {
			if h.running.Add(1) == h.n {
				close(h.met)
			}
			select {
			case <-h.met:
				ok = true
			case <-time.After(5 * time.Second):
			}
		},
		Then: func(_ *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
			if ok {
				resp.Reply(200, "text/plain", []byte("met"))
			} else {
				resp.Reply(503, "text/plain", []byte("alone"))
			}
			return nil
		}}
}

// TestE2EOpHelpers: Config.OpHelpers sizes the pool that runs OpFuncs, so
// that many blocking waits are in flight at once (the default on one worker
// is 4).
func TestE2EOpHelpers(t *testing.T) {
	const n = 12
	forEachEngine(t, func(t *testing.T, backend string) {
		h := &barrierHandler{n: n, met: make(chan struct{})}
		s := startServer(t, backend, h, func(c *Config) { c.Workers = 1; c.OpHelpers = n })
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			c := dialRaw(t, s)
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.send(t, get("/wait"))
				resp, _ := c.response(t, "GET")
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for i, code := range codes {
			if code != 200 {
				t.Fatalf("request %d: %d: the %d OpFuncs did not run at once", i, code, n)
			}
		}
	})
}

func TestConfigOpHelpers(t *testing.T) {
	for _, c := range []struct{ workers, set, want int }{{1, 0, 4}, {4, 0, 8}, {16, 0, 16}, {1, 100, 100}} {
		cfg, err := Config{Workers: c.workers, OpHelpers: c.set}.withDefaults()
		if err != nil || cfg.OpHelpers != c.want {
			t.Fatalf("workers %d OpHelpers %d: got %d, %v; want %d", c.workers, c.set, cfg.OpHelpers, err, c.want)
		}
	}
	if _, err := (Config{OpHelpers: -1}).withDefaults(); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("OpHelpers -1: %v", err)
	}
}
