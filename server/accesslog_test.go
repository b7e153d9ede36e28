//go:build linux

package server

import (
	"encoding/json"
	"io"
	"net/netip"
	"regexp"
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

// logWorker returns a worker fit for access log unit tests.
func logWorker(wall time.Time) *worker {
	return &worker{wall: wall, epoch: wall, m: newWorkerMetrics()}
}

// TestAccessLogNeverBlocks fills the log while its writer is stuck: the
// worker goes on, and what does not fit is dropped and counted.
func TestAccessLogNeverBlocks(t *testing.T) {
	bw := &blockingWriter{release: make(chan struct{})}
	lw := newLogWriter(bw, AccessLogCLF, 1)
	wl := newWorkerLog(lw)
	w := logWorker(time.Now())
	c := &conn{w: w, peer: netip.MustParseAddrPort("192.0.2.7:5555")}
	req := &httpcore.Request{MethodName: []byte("GET"), Target: []byte("/some/path?q=1"), Major: 1, Minor: 1}
	const lines = 200000 // many buffers' worth
	done := make(chan struct{})
	go func() {
		for range lines {
			wl.logAnswer(c, nil, req, 200, 0, 100, 1234)
			wl.sent(c, 1334)
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

// TestAccessLogLine checks each format, with the bytes actually sent: an
// answer is logged once its last byte is sent, or when its connection
// closes with what was sent by then.
func TestAccessLogLine(t *testing.T) {
	wall := time.Date(2026, 11, 24, 5, 6, 7, 0, time.UTC)
	full := &httpcore.Request{MethodName: []byte("GET"), Target: []byte("/a b\"\n"), Major: 1, Minor: 0,
		Headers: []httpcore.Header{
			{Name: []byte("user-AGENT"), Value: []byte("curl/8 \"x\"")},
			{Name: []byte("Referer"), Value: []byte("http://r/é")},
		}}
	head := &httpcore.Request{MethodName: []byte("HEAD"), Target: []byte("/"), Major: 1, Minor: 1}
	type answer struct {
		peer       string
		req        *httpcore.Request
		status     int
		head, body int64
	}
	answers := []answer{
		{"192.0.2.7:5555", full, 200, 50, 10},
		{"[::ffff:10.0.0.1]:80", head, 304, 40, 0},
		{"[2001:db8::1]:80", nil, 400, 30, 16},
	}
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{AccessLogCLF, []string{
			`192.0.2.7 - - [24/Nov/2026:05:06:07 +0000] "GET /a b\x22\x0a HTTP/1.0" 200 10`,
			`10.0.0.1 - - [24/Nov/2026:05:06:07 +0000] "HEAD / HTTP/1.1" 304 -`,
			`2001:db8::1 - - [24/Nov/2026:05:06:07 +0000] "-" 400 6`,
		}},
		{AccessLogCombined, []string{
			`192.0.2.7 - - [24/Nov/2026:05:06:07 +0000] "GET /a b\x22\x0a HTTP/1.0" 200 10 "http://r/\xc3\xa9" "curl/8 \x22x\x22" US`,
			`10.0.0.1 - - [24/Nov/2026:05:06:07 +0000] "HEAD / HTTP/1.1" 304 - "-" "-" US`,
			`2001:db8::1 - - [24/Nov/2026:05:06:07 +0000] "-" 400 6 "-" "-" US`,
		}},
		{AccessLogJSON, []string{
			`{"time":"2026-11-24T05:06:07Z","remote":"192.0.2.7","method":"GET","target":"/a b\u0022\u000a","referer":"http://r/\u00c3\u00a9","user_agent":"curl/8 \u0022x\u0022","proto":"HTTP/1.0","status":200,"bytes":10,"bytes_total":60,"request_time_us":US}`,
			`{"time":"2026-11-24T05:06:07Z","remote":"10.0.0.1","method":"HEAD","target":"/","proto":"HTTP/1.1","status":304,"bytes":0,"bytes_total":40,"request_time_us":US}`,
			`{"time":"2026-11-24T05:06:07Z","remote":"2001:db8::1","status":400,"bytes":6,"bytes_total":36,"request_time_us":US}`,
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf syncBuffer
			lw := newLogWriter(&buf, tc.format, 1)
			wl := newWorkerLog(lw)
			w := logWorker(wall)
			// Two answers on one connection, sent in odd pieces; the
			// third's connection closes after 36 of its 46 bytes.
			c := &conn{w: w, slot: 0, gen: 1, peer: netip.MustParseAddrPort(answers[0].peer)}
			wl.logAnswer(c, nil, answers[0].req, answers[0].status, 0, answers[0].head, answers[0].body)
			c2 := &conn{w: w, slot: 1, gen: 1, peer: netip.MustParseAddrPort(answers[1].peer)}
			wl.logAnswer(c2, nil, answers[1].req, answers[1].status, 0, answers[1].head, answers[1].body)
			c3 := &conn{w: w, slot: 2, gen: 1, peer: netip.MustParseAddrPort(answers[2].peer)}
			wl.logAnswer(c3, nil, answers[2].req, answers[2].status, 0, answers[2].head, answers[2].body)
			wl.sent(c, 59)
			if len(buf.String())+len(wl.buf) != 0 {
				t.Fatalf("logged before the last byte was sent: %q", wl.buf)
			}
			wl.sent(c, 1)
			wl.sent(c2, 40)
			wl.sent(c3, 36)
			wl.closed(c3)
			wl.flush(true)
			lw.close()
			got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("lines %q", got)
			}
			us := regexp.MustCompile(`(request_time_us":|" )\d+(}|$)`)
			for i, want := range tc.want {
				line := us.ReplaceAllString(got[i], "${1}US$2")
				if line != want {
					t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want)
				}
				if tc.format == AccessLogJSON && !json.Valid([]byte(got[i])) {
					t.Errorf("line %d is not valid JSON: %s", i, got[i])
				}
			}
		})
	}
}

// TestAccessLogPendingAllocs: queuing and writing lines reuses records and
// buffers.
func TestAccessLogPendingAllocs(t *testing.T) {
	lw := newLogWriter(io.Discard, AccessLogCombined, 1)
	defer lw.close()
	wl := newWorkerLog(lw)
	w := logWorker(time.Now())
	c := &conn{w: w, peer: netip.MustParseAddrPort("192.0.2.7:5555")}
	req := &httpcore.Request{MethodName: []byte("GET"), Target: []byte("/x"), Major: 1, Minor: 1}
	n := testing.AllocsPerRun(1000, func() {
		wl.logAnswer(c, nil, req, 200, 0, 100, 10)
		wl.logAnswer(c, nil, req, 200, 0, 100, 10)
		wl.sent(c, 220)
		wl.buf = wl.buf[:0]
	})
	if n != 0 {
		t.Fatalf("%v allocations per two lines", n)
	}
}
