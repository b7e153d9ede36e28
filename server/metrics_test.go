//go:build linux

package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// testMetrics scrapes s, failing the test if a worker does not answer.
func (s *Server) testMetrics(t testing.TB) *Metrics {
	t.Helper()
	m, ok := s.Metrics(5 * time.Second)
	if !ok {
		t.Fatalf("metrics: %d of %d workers answered", m.Answered, m.Workers)
	}
	return &m
}

// promSample returns the value of the sample line that starts with prefix
// (name plus labels as rendered), or -1.
func promSample(text, prefix string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// filesHandler returns the files handler on filesRoot's tree.
func filesHandler(t *testing.T) *files.Handler {
	dir, _ := filesRoot(t)
	h, err := files.New(files.Config{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() }) // cleanups run last-in first-out: after the shutdown
	return h
}

func TestMetricsCounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		h := filesHandler(t)
		s := startServer(t, backend, h, func(c *Config) { c.Workers = 1 })
		before := s.testMetrics(t)
		if before.Requests() != 0 || before.Accepts() != 0 {
			t.Fatalf("fresh server: %d requests, %d accepts", before.Requests(), before.Accepts())
		}

		c := dialRaw(t, s)
		var sent int
		for range 3 {
			c.send(t, get("/a.txt"))
			resp, body := c.response(t, "GET")
			if resp.StatusCode != 200 {
				t.Fatalf("GET /a.txt: %d", resp.StatusCode)
			}
			sent += len(body)
		}
		c.send(t, "HEAD /nothere HTTP/1.1\r\nHost: t\r\n\r\n")
		if resp, _ := c.response(t, "HEAD"); resp.StatusCode != 404 {
			t.Fatalf("HEAD /nothere: %d", resp.StatusCode)
		}
		bad := dialRaw(t, s)
		bad.send(t, "garbage\r\n\r\n")
		bad.response(t, "GET")
		bad.expectEOF(t, 5*time.Second)
		// A connection in the middle of a request, and one that is idle.
		partial := dialRaw(t, s)
		partial.send(t, "GET /a.txt HTTP/1.1\r\n")
		dialRaw(t, s)

		var m *Metrics
		waitFor(t, 5*time.Second, "connection states", func() bool {
			m = s.testMetrics(t)
			return m.Accepts() == 4 && m.g.reading == 1 && m.g.active == 3
		})
		var text bytes.Buffer
		if err := m.WritePrometheus(&text); err != nil {
			t.Fatal(err)
		}
		out := text.String()
		for _, tc := range []struct {
			sample string
			want   float64
		}{
			{`ringhttpd_requests_total{method="GET",code="2xx"}`, 3},
			{`ringhttpd_requests_total{method="HEAD",code="4xx"}`, 1},
			{`ringhttpd_requests_total{method="other",code="4xx"}`, 1},
			{`ringhttpd_request_duration_seconds_count`, 5},
			{`ringhttpd_request_duration_seconds_bucket{le="+Inf"}`, 5},
			{`ringhttpd_accepts_total`, 4},
			{`ringhttpd_connections_active`, 3},
			{`ringhttpd_connections{state="reading"}`, 1},
			{`ringhttpd_connections{state="writing"}`, 0},
			{`ringhttpd_connections{state="idle"}`, 2},
			{`ringhttpd_handler_ops_in_flight`, 0},
			{`ringhttpd_file_cache_hits_total`, 2},   // /a.txt twice after its miss
			{`ringhttpd_file_cache_misses_total`, 2}, // /a.txt and /nothere once each
			{`ringhttpd_file_cache_entries`, 2},      // a.txt and the negative entry
			{`ringhttpd_workers{state="answered"}`, 1},
		} {
			if got := promSample(out, tc.sample); got != tc.want {
				t.Errorf("%s = %v, want %v", tc.sample, got, tc.want)
			}
		}
		if got := promSample(out, "ringhttpd_sent_bytes_total"); got < float64(sent) {
			t.Errorf("sent bytes %v < body bytes read %d", got, sent)
		}
		if backend == BackendUring {
			enters := promSample(out, "ringhttpd_ring_enters_total")
			cqes := promSample(out, "ringhttpd_ring_completions_total")
			if enters <= 0 || cqes <= 0 {
				t.Errorf("ring enters %v, completions %v", enters, cqes)
			}
			// The idle and partial connections' receives, the accept and
			// the wake-up read at least.
			if got := promSample(out, "ringhttpd_ring_ops_in_flight"); got < 4 {
				t.Errorf("ring ops in flight %v, want >= 4", got)
			}
		} else if promSample(out, "ringhttpd_epoll_waits_total") <= 0 {
			t.Errorf("no epoll waits counted:\n%s", out)
		}
	})
}

func TestMetricsTimeoutsAndResets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startServer(t, backend, newTestHandler(t), func(c *Config) {
			c.Workers = 1
			c.HeaderTimeout = 100 * time.Millisecond
		})
		c := dialRaw(t, s)
		c.send(t, "GET / HTTP/1.1\r\n")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.ReadAll(c.r) // a 408 (epoll) or a reset (uring), then the close
		waitFor(t, 5*time.Second, "header timeout counted", func() bool {
			return s.testMetrics(t).c.timeouts[timerHeader] == 1
		})
		// A client that aborts with a reset mid-request.
		r := dialRaw(t, s)
		r.send(t, "GET / HTTP/1.1\r\n")
		time.Sleep(20 * time.Millisecond) // let the server read it first
		r.Conn.(*net.TCPConn).SetLinger(0)
		r.Close()
		waitFor(t, 5*time.Second, "peer reset counted", func() bool {
			return s.testMetrics(t).c.resetsPeer == 1
		})
	})
}

// TestMetricsPromtool validates the exposition with Prometheus' own linter.
func TestMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	forEachEngine(t, func(t *testing.T, backend string) {
		h := filesHandler(t)
		s := startServer(t, backend, h, nil)
		c := dialRaw(t, s)
		c.send(t, get("/a.txt")+get("/index.html")+"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n")
		c.response(t, "GET")
		c.response(t, "GET")
		c.response(t, "DELETE")
		var text bytes.Buffer
		m := s.testMetrics(t)
		if err := m.WritePrometheus(&text); err != nil {
			t.Fatal(err)
		}
		WriteExtra(&text, []ExtraMetric{{Name: "ringhttpd_reloads_total", Type: "counter", Help: "Reloads.",
			Samples: []ExtraSample{{Labels: []string{"result", "ok"}, Value: 1}}}})
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(text.Bytes())
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Fatalf("promtool check metrics: %v\n%s\n--- input:\n%s", err, out, text.String())
		}
		// Every family has HELP and TYPE, and every sample line parses.
		sample := regexp.MustCompile(`^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$`)
		for _, l := range strings.Split(strings.TrimSpace(text.String()), "\n") {
			if !strings.HasPrefix(l, "# ") && !sample.MatchString(l) {
				t.Errorf("bad sample line %q", l)
			}
		}
	})
}

// TestMetricsHotPathAllocs: counting an answer, a byte count, a socket
// error and the per-turn publish check allocate nothing.
func TestMetricsHotPathAllocs(t *testing.T) {
	s, err := New(Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, newTestHandler(t))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(s, 0)
	req := &httpcore.Request{Method: httpcore.MethodGet}
	n := testing.AllocsPerRun(1000, func() {
		w.answered(req, 200, w.turnNs())
		w.answered(req, 304, w.turnNs()-1e6)
		w.answered(nil, 400, w.turnNs())
		w.m.c.bytesSent += 100
		w.sockErr(104)
		w.maybePublish()
	})
	if n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
	if got := w.m.c.requests[httpcore.MethodGet][2]; got < 1000 {
		t.Fatalf("GET 2xx counted %d times", got)
	}
	if w.m.c.resetsPeer < 1000 {
		t.Fatalf("ECONNRESET counted %d times", w.m.c.resetsPeer)
	}
}

// TestMetricsScrapeAfterShutdown: exited workers' final counts remain, and
// a stopped server is not healthy.
func TestMetricsScrapeAfterShutdown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startServer(t, backend, newTestHandler(t), nil)
		c := dialRaw(t, s)
		c.send(t, get("/mem/3"))
		c.response(t, "GET")
		if err := s.Healthy(2 * time.Second); err != nil {
			t.Fatalf("healthy server: %v", err)
		}
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		m, ok := s.Metrics(time.Second)
		if !ok || m.Requests() != 1 {
			t.Fatalf("after shutdown: ok %v, %d requests, want the final counts", ok, m.Requests())
		}
		if err := s.Healthy(time.Second); err == nil {
			t.Fatal("stopped server reported healthy")
		}
	})
}
