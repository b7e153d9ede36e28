package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/bench/internal/h1"
)

func server(t *testing.T) (addr string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(20 * time.Millisecond)
		}
		w.Write([]byte("hello"))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestOpenLoopSendsOnSchedule(t *testing.T) {
	addr := server(t)
	res := openLoop(addr, h1.Request(addr, "/"), 400, 4, 500*time.Millisecond)
	// 400 req/s for 0.5 s over 4 connections: 50 per connection.
	if res.Scheduled != 200 || res.Requests != 200 || res.Errors != 0 {
		t.Fatalf("scheduled %d, answered %d, errors %d; want 200, 200, 0", res.Scheduled, res.Requests, res.Errors)
	}
	if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Fatalf("latency percentiles out of order: %+v", res.Latency)
	}
}

// TestOpenLoopChargesStalls: a server slower than the schedule makes later
// requests wait, and the wait counts (latency from the scheduled time).
func TestOpenLoopChargesStalls(t *testing.T) {
	addr := server(t)
	// One connection, a request every 5 ms, each answered after 20 ms: the
	// queue grows, so the last requests wait far longer than 20 ms.
	res := openLoop(addr, h1.Request(addr, "/slow"), 200, 1, 200*time.Millisecond)
	if res.Requests != 40 {
		t.Fatalf("answered %d, want 40", res.Requests)
	}
	if res.Latency.Max < 300e3 {
		t.Fatalf("max latency %.0f us: queueing behind the slow answers was not charged", res.Latency.Max)
	}
}

func TestClosedLoopIntervals(t *testing.T) {
	addr := server(t)
	res := closedLoop(addr, h1.Request(addr, "/"), 4, 400*time.Millisecond, 100*time.Millisecond)
	if len(res.Intervals) != 4 {
		t.Fatalf("%d intervals, want 4", len(res.Intervals))
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("requests %d errors %d", res.Requests, res.Errors)
	}
	var sum float64
	for _, iv := range res.Intervals {
		sum += iv.RPS * 0.1
	}
	if d := sum - float64(res.Requests); d > 1 || d < -1 {
		t.Fatalf("intervals add up to %.0f requests, run has %d", sum, res.Requests)
	}
}
