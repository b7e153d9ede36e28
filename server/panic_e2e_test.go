//go:build linux

package server

import (
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// panicHandler panics in Serve for /panic/serve, in Then for /panic/then,
// in an OpFunc for /panic/func; it returns without an answer (an empty
// Response, no Op) for /empty/serve and from Then for /empty/then; anything
// else goes to testHandler.
type panicHandler struct{ *testHandler }

func (h panicHandler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	switch p := string(req.Path); {
	case p == "/panic/serve":
		panic("boom in Serve")
	case p == "/panic/then":
		return &httpcore.Op{Kind: httpcore.OpFunc, Func: func() {},
			Then: func(*httpcore.Op, *httpcore.Response) *httpcore.Op { panic("boom in Then") }}
	case p == "/panic/func":
		return &httpcore.Op{Kind: httpcore.OpFunc, Func: func() { panic("boom in Func") },
			Then: func(*httpcore.Op, *httpcore.Response) *httpcore.Op { panic("Then after a panicked Func") }}
	case p == "/empty/then":
		return &httpcore.Op{Kind: httpcore.OpFunc, Func: func() {},
			Then: func(*httpcore.Op, *httpcore.Response) *httpcore.Op { return nil }}
	case strings.HasPrefix(p, "/panic/"), strings.HasPrefix(p, "/empty/"):
		return nil
	}
	return h.testHandler.Serve(req, resp)
}

func TestE2EHandlerPanics(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startServer(t, backend, panicHandler{newTestHandler(t)}, func(c *Config) { c.Workers = 1 })
		c := dialRaw(t, s)
		for _, p := range []string{"/panic/serve", "/panic/then", "/panic/func"} {
			// The panicking request is answered 500; the connection and
			// the worker go on serving.
			c.send(t, get(p)+get("/mem/3"))
			if resp, _ := c.response(t, "GET"); resp.StatusCode != 500 {
				t.Fatalf("%s: %d, want 500", p, resp.StatusCode)
			}
			if resp, b := c.response(t, "GET"); resp.StatusCode != 200 || len(b) != 3 {
				t.Fatalf("after %s: %d %q", p, resp.StatusCode, b)
			}
		}
		if n := s.testMetrics(t).Panics(); n != 3 {
			t.Fatalf("%d panics counted, want 3", n)
		}
		c2 := dialRaw(t, s)
		c2.send(t, get("/mem/4"))
		if resp, _ := c2.response(t, "GET"); resp.StatusCode != 200 {
			t.Fatalf("a new connection after the panics: %d", resp.StatusCode)
		}
	})
}

// TestE2EHandlerNoAnswer: a handler that returns no Op and leaves the
// Response empty gets its request answered 500 (there is nothing to send),
// is not counted as a panic, and the connection goes on.
func TestE2EHandlerNoAnswer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startServer(t, backend, panicHandler{newTestHandler(t)}, func(c *Config) { c.Workers = 1 })
		c := dialRaw(t, s)
		for _, p := range []string{"/empty/serve", "/empty/then"} {
			c.send(t, get(p)+get("/mem/3"))
			if resp, _ := c.response(t, "GET"); resp.StatusCode != 500 {
				t.Fatalf("%s: %d, want 500", p, resp.StatusCode)
			}
			if resp, b := c.response(t, "GET"); resp.StatusCode != 200 || len(b) != 3 {
				t.Fatalf("after %s: %d %q", p, resp.StatusCode, b)
			}
		}
		if n := s.testMetrics(t).Panics(); n != 0 {
			t.Fatalf("%d panics counted, want 0", n)
		}
	})
}
