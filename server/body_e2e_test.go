//go:build linux

package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// ignoringHandler is testHandler that declares it never reads bodies, and
// answers anything but GET and HEAD with 405 (as files does).
type ignoringHandler struct{ *testHandler }

func (h ignoringHandler) IgnoresBodies() bool { return true }

func (h ignoringHandler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	if req.Method != httpcore.MethodGet && req.Method != httpcore.MethodHead {
		if req.Body != nil {
			panic("a body reached a handler that ignores bodies")
		}
		httpcore.WriteError(resp, 405)
		return nil
	}
	return h.testHandler.Serve(req, resp)
}

func TestE2EIgnoredBodies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startServer(t, backend, ignoringHandler{newTestHandler(t)}, nil)
		post := func(n int) string {
			return fmt.Sprintf("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", n)
		}
		t.Run("short body kept", func(t *testing.T) {
			body := strings.Repeat("GET /evil HTTP/1.1\r\nHost: t\r\n\r\n", 8) // must never parse as requests
			for _, split := range []int{0, 1, 7, len(body) - 1} {
				c := dialRaw(t, s)
				c.send(t, post(len(body))+body[:split])
				resp, _ := c.response(t, "POST")
				if resp.StatusCode != 405 || resp.Close {
					t.Fatalf("split %d: %d close=%v, want 405 keep-alive", split, resp.StatusCode, resp.Close)
				}
				// The rest of the body, byte by byte, then a request.
				for i := split; i < len(body); i++ {
					c.send(t, body[i:i+1])
				}
				c.send(t, get("/mem/5"))
				resp, b := c.response(t, "GET")
				if resp.StatusCode != 200 || !bytes.Equal(b, pattern(5)) {
					t.Fatalf("split %d: after the body: %d %q", split, resp.StatusCode, b)
				}
			}
		})
		t.Run("answered before the body", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, post(10<<20)) // 10 MiB announced, none sent
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			resp, _ := c.response(t, "POST")
			if resp.StatusCode != 405 || !resp.Close {
				t.Fatalf("%d close=%v, want 405 and close", resp.StatusCode, resp.Close)
			}
		})
		t.Run("chunked closes", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			resp, _ := c.response(t, "POST")
			if resp.StatusCode != 405 || !resp.Close {
				t.Fatalf("%d close=%v, want 405 and close", resp.StatusCode, resp.Close)
			}
			c.send(t, "0\r\n\r\n")
			c.expectEOF(t, 3*time.Second)
		})
		t.Run("expect 100-continue closes", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
			resp, _ := c.response(t, "POST")
			if resp.StatusCode != 405 || !resp.Close {
				t.Fatalf("%d close=%v, want 405 and close", resp.StatusCode, resp.Close)
			}
		})
	})
}
