//go:build linux

package server

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	release chan struct{}
	lines   int
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	b.lines += strings.Count(string(p), "\n")
	return len(p), nil
}

// TestAccessLogNeverBlocks fills the log while its writer is stuck: the
// worker goes on, and what does not fit is dropped and counted.
func TestAccessLogNeverBlocks(t *testing.T) {
	bw := &blockingWriter{release: make(chan struct{})}
	lw := newLogWriter(bw, 1)
	wl := newWorkerLog(lw)
	w := &worker{wall: time.Now()}
	c := &conn{w: w, peer: netip.MustParseAddrPort("192.0.2.7:5555")}
	req := &httpcore.Request{MethodName: []byte("GET"), Target: []byte("/some/path?q=1"), Major: 1, Minor: 1}
	const lines = 200000 // many buffers' worth
	done := make(chan struct{})
	go func() {
		for range lines {
			wl.logAnswer(c, nil, req, 200, 1234)
		}
		wl.flush(false)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a stuck writer")
	}
	dropped := lw.dropped.Load()
	if dropped == 0 {
		t.Fatal("nothing dropped although the writer never wrote")
	}
	close(bw.release)
	lw.close()
	if got := int64(bw.lines) + dropped; got != lines {
		t.Fatalf("written %d + dropped %d = %d, want %d", bw.lines, dropped, got, lines)
	}
}

func TestAccessLogLine(t *testing.T) {
	var buf syncBuffer
	lw := newLogWriter(&buf, 1)
	wl := newWorkerLog(lw)
	w := &worker{wall: time.Date(2026, 11, 24, 5, 6, 7, 0, time.UTC)}
	cases := []struct {
		peer   string
		req    *httpcore.Request
		status int
		n      int64
		want   string
	}{
		{"192.0.2.7:5555", &httpcore.Request{MethodName: []byte("GET"), Target: []byte("/a b\"\n"), Major: 1, Minor: 0}, 200, 10,
			`192.0.2.7 - - [24/Nov/2026:05:06:07 +0000] "GET /a b\x22\x0a HTTP/1.0" 200 10`},
		{"[::ffff:10.0.0.1]:80", &httpcore.Request{MethodName: []byte("HEAD"), Target: []byte("/"), Major: 1, Minor: 1}, 304, 0,
			`10.0.0.1 - - [24/Nov/2026:05:06:07 +0000] "HEAD / HTTP/1.1" 304 -`},
		{"[2001:db8::1]:80", nil, 400, 16,
			`2001:db8::1 - - [24/Nov/2026:05:06:07 +0000] "-" 400 16`},
	}
	for _, tc := range cases {
		c := &conn{w: w, peer: netip.MustParseAddrPort(tc.peer)}
		wl.logAnswer(c, nil, tc.req, tc.status, tc.n)
	}
	wl.flush(true)
	lw.close()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != len(cases) {
		t.Fatalf("lines %q", got)
	}
	for i, tc := range cases {
		if got[i] != tc.want {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], tc.want)
		}
	}
}
