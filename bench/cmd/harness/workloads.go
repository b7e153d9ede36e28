package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ringhttpd/ringhttpd/bench/internal/cpulimit"
	"github.com/ringhttpd/ringhttpd/bench/internal/proc"
	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

// workload is one load pattern and how to drive it.
type workload struct {
	result.Workload
	path     string        // request path on every server
	conns    int           // connections (clients)
	duration time.Duration // sending time
	consts   bool          // the constant-response floor servers take part
	close    bool          // wrk: Connection: close
	lua      string        // wrk: script
	rate     float64       // open: requests per second
	interval time.Duration // closed: reporting interval
	rounds   int           // 0: the run's rounds; otherwise this many
	fresh    bool          // restart the server just before the measurement
	headers  []string      // wrk: extra request fields ("Name: value")
	only     []string      // the servers that take part (nil: all)
	dynamic  bool          // a route of internal/dyn: servers of class "dynamic" take part
	proto    string        // "" plaintext HTTP/1.1; "tls" HTTPS HTTP/1.1; "h2" (ALPN), "h2c" (prior knowledge)
	h2load   bool          // driven by h2load (--h1 for "tls"), with a warm-up outside the measurement
	streams  int           // h2load: concurrent streams per connection (-m)
}

// capQuota is the share of one CPU the capped workloads hold each server to:
// low enough that h2load, which a 1 MiB download saturates before either
// server, keeps headroom against every server.
const capQuota = 25

// capped returns w as a workload of its own, "NAME-cap", that holds each
// server to capQuota% of one CPU.
func capped(w *workload) *workload {
	c := *w
	c.Name += "-cap"
	c.Title += fmt.Sprintf(", server held to %d%% of a CPU", capQuota)
	c.CPUQuota = capQuota
	return &c
}

// Document root files (bench.sh creates them).
const (
	file13   = "/13.txt"
	file3k5  = "/3574.html"
	file64k  = "/64k.bin"
	file1m   = "/1m.bin"
	file100m = "/100m.bin"
	fileJS   = "/app.js" // 100 KiB of JavaScript-like text (bench/cmd/mkjs)
)

// The dynamic handler's routes (internal/dyn), served by the Go servers
// only: ringhttpd as a library (ringlibd), fasthttp and net/http.
const (
	dynText = "/hello" // dyn.TextPath: 13 bytes of text/plain
	dynJSON = "/json"  // dyn.JSONPath: {"message":"Hello, World!"}, encoded per request
)

// dynServers are the servers that serve internal/dyn's routes; dyn-ka50
// adds floor-uring-13, the io_uring floor server answering 13 constant bytes
// (no parsing): with one request per read, the least CPU per request on
// this kernel. (Pipelined, it sends each answer on its own, which a real
// server coalesces, so it is no floor there.)
var (
	dynServers      = []string{"ringhttpd-lib", "ringhttpd-lib-epoll", "fasthttp", "net-http"}
	dynFloorServers = append(dynServers[:len(dynServers):len(dynServers)], "floor-uring-13")
)

// workloads returns the suite for a mode. d is the wrk duration per run.
func workloads(quick bool, d time.Duration, pipeLua string, sustainRounds int) []*workload {
	openD, sustD, sustEvery, idleN, openRate, k1000 := 10*time.Second, 50*time.Second, 5*time.Second, 10000, 5000.0, 1000
	if quick {
		openD, sustD, sustEvery, idleN, openRate = time.Second, 2*time.Second, 500*time.Millisecond, 1000, 5000
	}
	sec := func(x time.Duration) string { return strconv.FormatFloat(x.Seconds(), 'f', -1, 64) + " s" }
	h2f1m := &workload{Workload: result.Workload{Name: "h2-f1m", Title: "h2 (TLS) 1 MiB file, 20 conns x 1 stream"}, path: file1m, conns: 20, streams: 1, duration: d, proto: "h2", h2load: true}
	h2cf1m := &workload{Workload: result.Workload{Name: "h2c-f1m", Title: "h2c 1 MiB file, 20 conns x 1 stream"}, path: file1m, conns: 20, streams: 1, duration: d, proto: "h2c", h2load: true}
	ws := []*workload{
		{Workload: result.Workload{Name: "ka50", Title: "keep-alive, 50 conns, 3.5 KB"}, path: file3k5, conns: 50, duration: d, consts: true},
		{Workload: result.Workload{Name: "ka1000", Title: "keep-alive, 1,000 conns, 3.5 KB"}, path: file3k5, conns: k1000, duration: d, consts: true},
		{Workload: result.Workload{Name: "pipe16", Title: "pipelined x16, 50 conns, 3.5 KB"}, path: file3k5, conns: 50, duration: d, consts: true, lua: pipeLua},
		{Workload: result.Workload{Name: "close", Title: "Connection: close, 50 conns, 3.5 KB"}, path: file3k5, conns: 50, duration: d, consts: true, close: true},
		{Workload: result.Workload{Name: "ka50-13b", Title: "keep-alive, 50 conns, 13 B"}, path: file13, conns: 50, duration: d},
		{Workload: result.Workload{Name: "f64k", Title: "64 KiB file, 50 conns"}, path: file64k, conns: 50, duration: d},
		{Workload: result.Workload{Name: "f1m", Title: "1 MiB file, 20 conns"}, path: file1m, conns: 20, duration: d},
		// wrk reads 8 KiB at a time and becomes the bottleneck on 100 MiB
		// bodies; loadgen reads 64 KiB at a time.
		{Workload: result.Workload{Name: "f100m", Title: "100 MiB file, 4 conns"}, path: file100m, conns: 4, duration: 2 * d, interval: 2 * d},
		// Compression: ringhttpd compresses once per file version, in
		// memory; nginx (gzip on, level 6) on every request.
		{Workload: result.Workload{Name: "js100k", Title: "100 KiB JavaScript, Accept-Encoding: gzip, br, keep-alive 50 conns"}, path: fileJS, conns: 50, duration: d,
			headers: []string{"Accept-Encoding: gzip, br"}, only: []string{"ringhttpd-uring", "ringhttpd-epoll", "nginx"}},
		// A handler of the application's own (internal/dyn), the same in
		// every Go server: ringhttpd as a library against fasthttp and
		// net/http.
		{Workload: result.Workload{Name: "dyn-ka50", Title: "dynamic handler, 13 B text, keep-alive 50 conns"}, path: dynText, conns: 50, duration: d, dynamic: true, only: dynFloorServers},
		{Workload: result.Workload{Name: "dyn-pipe16", Title: "dynamic handler, 13 B text, pipelined x16, 50 conns"}, path: dynText, conns: 50, duration: d, lua: pipeLua, dynamic: true, only: dynServers},
		{Workload: result.Workload{Name: "json-ka50", Title: "dynamic handler, JSON encoded per request, keep-alive 50 conns"}, path: dynJSON, conns: 50, duration: d, dynamic: true, only: dynServers},
		{Workload: result.Workload{Name: "json-pipe16", Title: "dynamic handler, JSON encoded per request, pipelined x16, 50 conns"}, path: dynJSON, conns: 50, duration: d, lua: pipeLua, dynamic: true, only: dynServers},
		// HTTPS and HTTP/2 (issues 13 and 14): the same ECDSA P-256
		// certificate on every server; the clients offer one TLS 1.3 suite
		// and group (bench.sh's client OpenSSL configuration), so every
		// server negotiates the same. Keep-alive runs use h2load (--h1 for
		// HTTP/1.1) with a warm-up that opens the connections before the
		// measured window, so no handshake is counted in them; tls-hs is
		// nothing but handshakes (wrk, a new connection per request).
		{Workload: result.Workload{Name: "tls-ka50", Title: "HTTPS keep-alive, 50 conns, 3.5 KB"}, path: file3k5, conns: 50, streams: 1, duration: d, proto: "tls", h2load: true},
		{Workload: result.Workload{Name: "tls-f1m", Title: "HTTPS 1 MiB file, 20 conns"}, path: file1m, conns: 20, streams: 1, duration: d, proto: "tls", h2load: true},
		{Workload: result.Workload{Name: "tls-hs", Title: "HTTPS handshakes: one request per connection, 50 conns, 3.5 KB"}, path: file3k5, conns: 50, duration: d, proto: "tls", close: true},
		{Workload: result.Workload{Name: "h2-ka", Title: "h2 (TLS), 50 conns x 10 streams, 3.5 KB"}, path: file3k5, conns: 50, streams: 10, duration: d, proto: "h2", h2load: true},
		{Workload: result.Workload{Name: "h2c-ka", Title: "h2c, 50 conns x 10 streams, 3.5 KB"}, path: file3k5, conns: 50, streams: 10, duration: d, proto: "h2c", h2load: true},
		h2f1m, h2cf1m,
		// The same with the server held to a quarter of a CPU: h2load's 8 KiB
		// reads make it the bottleneck of the two above, so req/s there is
		// its ceiling; here the server sets the pace.
		capped(h2f1m), capped(h2cf1m),
		{Workload: result.Workload{Name: "idle10k", Title: fmt.Sprintf("%d idle keep-alive conns", idleN)}, path: file13, conns: idleN, fresh: true},
		{Workload: result.Workload{Name: "openloop", Title: fmt.Sprintf("open loop %.0f req/s, 50 conns, 3.5 KB", openRate)}, path: file3k5, conns: 50, duration: openD, rate: openRate},
		{Workload: result.Workload{Name: "sustained", Title: fmt.Sprintf("sustained, 200 clients, %s, 3.5 KB", sec(sustD))}, path: file3k5, conns: 200, duration: sustD, interval: sustEvery, rounds: sustainRounds},
	}
	for _, w := range ws {
		switch {
		case w.Name == "idle10k":
			w.Tool = "loadgen idle"
			w.Detail = fmt.Sprintf("loadgen idle: %d connections each make one GET %s and stay open; (RSS after - RSS before) / connections, on a freshly restarted server", w.conns, w.path)
		case w.rate > 0:
			w.Tool = "loadgen open"
			w.Detail = fmt.Sprintf("loadgen open -rate %.0f -conns %d -duration %s: latency from the scheduled send time (no coordinated omission)", w.rate, w.conns, sec(w.duration))
		case w.Name == "f100m":
			w.Tool = "loadgen closed"
			w.Detail = fmt.Sprintf("loadgen closed -conns %d -duration %s GET %s (64 KiB reads; wrk's 8 KiB reads would be the bottleneck)", w.conns, sec(w.duration), w.path)
		case w.h2load:
			w.Tool = "h2load"
			h1 := ""
			if w.proto == "tls" {
				h1 = " --h1"
			}
			w.Detail = fmt.Sprintf("h2load%s -c %d -m %d --warm-up-time %d -D %d %s://.../%s (%s; server CPU over the measured %d s only, without the warm-up's handshakes; latency from --log-file)",
				h1, w.conns, w.streams, int(h2WarmUp.Seconds()), int(w.duration.Seconds()), map[string]string{"tls": "https", "h2": "https", "h2c": "http"}[w.proto], w.path[1:],
				map[string]string{"tls": "HTTP/1.1 over TLS", "h2": "ALPN h2", "h2c": "prior knowledge"}[w.proto], int(w.duration.Seconds()))
			if w.CPUQuota > 0 {
				w.Detail += fmt.Sprintf("; the server's processes held to %d%% of one CPU (cgroup cpu quota, %d ms period) for the run, warm-up included", w.CPUQuota, cpulimit.Period/1000)
			}
		case w.interval > 0:
			w.Tool = "loadgen closed"
			w.Detail = fmt.Sprintf("loadgen closed -conns %d -duration %s -interval %s: whole-run req/s against the first interval's, p99 per interval", w.conns, sec(w.duration), sec(w.interval))
		default:
			w.Tool = "wrk"
			w.Detail = fmt.Sprintf("wrk -c %d -d %s --latency GET %s", w.conns, sec(w.duration), w.path)
			if w.proto == "tls" {
				w.Detail = fmt.Sprintf("wrk -c %d -d %s --latency GET https://...%s (HTTP/1.1 over TLS)", w.conns, sec(w.duration), w.path)
			}
			if w.Name == "tls-hs" {
				w.Detail += " -H 'Connection: close': every request a new connection and a full handshake (wrk resumes no sessions)"
			}
			if w.close && w.Name != "tls-hs" {
				w.Detail += " -H 'Connection: close'"
			}
			if w.lua != "" {
				w.Detail += " -s " + filepath.Base(w.lua) + " (16 requests per write)"
			}
			for _, h := range w.headers {
				w.Detail += " -H '" + h + "'"
			}
			if w.dynamic {
				w.Detail += "; the handler of bench/internal/dyn in each Go server (ringhttpd through server.New, fasthttp, net/http), files behind it"
			}
			if w.Name == "js100k" {
				w.Detail += "; ringhttpd --config with [compress] (br, zstd, gzip made once per file version on a helper; serves br here), nginx gzip on, gzip_comp_level 6 (gzip per request; nginx-light has no brotli)"
			}
		}
	}
	return ws
}

// env is what a runner needs besides the workload and server.
type env struct {
	wrk, loadgen, h2load, clientCPUs, rawDir string
	wrkThreads                               int
	clientEnv                                []string // extra environment of every load generator (OPENSSL_CONF)
	wantTLS                                  string   // "TLSv1.3 TLS_AES_128_GCM_SHA256": what h2load must report, "" for no check
}

// measure runs w against s once and returns the round's figures.
func (e *env) measure(w *workload, s *server, round int) result.Round {
	r := result.Round{Round: round, Metrics: map[string]float64{}}
	if !s.alive() {
		r.Error = "server not running: " + tail(s.log)
		return r
	}
	pid := s.cmd.Process.Pid
	tree := proc.Tree(pid)
	if w.CPUQuota > 0 {
		g, err := cpulimit.Hold(tree, w.CPUQuota)
		if err != nil {
			r.Error = fmt.Sprintf("holding the server to %d%% of a CPU: %v", w.CPUQuota, err)
			return r
		}
		defer func() {
			if err := g.Release(); err != nil {
				logf("%s: releasing %s's CPU hold: %v", w.Name, s.Name, err)
			}
		}()
	}
	proc.ResetPeak(tree)
	rssBefore := proc.StatusKB(tree, "VmRSS")
	cpu0 := proc.CPUTicks(tree)
	t0 := time.Now()
	raw := filepath.Join(e.rawDir, fmt.Sprintf("%s-%s-r%d.txt", w.Name, s.Name, round))
	var err error
	switch {
	case w.Name == "idle10k":
		err = e.idle(w, s, r.Metrics, rssBefore, raw)
	case w.rate > 0:
		err = e.open(w, s, &r, raw)
	case w.interval > 0:
		err = e.closed(w, s, &r, raw)
	case w.h2load:
		err = e.h2loadRun(w, s, r.Metrics, raw)
	default:
		err = e.wrkRun(w, s, r.Metrics, raw)
	}
	tree = proc.Tree(pid) // nginx-style servers may have forked
	cpu1 := proc.CPUTicks(tree)
	r.Metrics[result.PeakRSS] = float64(proc.StatusKB(tree, "VmHWM"))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if !s.alive() {
		r.Error = "server died during the run: " + tail(s.log)
		return r
	}
	// A runner that measured the server's CPU over its own window (h2load:
	// the measured phase only) has set both already.
	if _, ok := r.Metrics["cpu_util"]; !ok {
		if n := r.Metrics[result.Requests]; n > 0 {
			r.Metrics[result.CPUPerReq] = float64(cpu1-cpu0) * 1e6 / proc.ClockTicks / n
		}
		r.Metrics["cpu_util"] = float64(cpu1-cpu0) / proc.ClockTicks / time.Since(t0).Seconds()
	}
	return r
}

// clientN is the number of CPUs the load generators run on (bench.sh
// passes one wrk thread per client CPU).
func (e *env) clientN() int { return max(1, e.wrkThreads) }

func (e *env) client(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", e.clientCPUs}, argv...)...)
	if len(e.clientEnv) > 0 {
		cmd.Env = append(os.Environ(), e.clientEnv...)
	}
	return cmd
}

var (
	reReqs    = regexp.MustCompile(`(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read`)
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reSock    = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	rePercent = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

func (e *env) wrkRun(w *workload, s *server, m map[string]float64, raw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.duration+60*time.Second)
	defer cancel()
	threads := e.wrkThreads
	if threads > w.conns {
		threads = w.conns
	}
	args := []string{e.wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(w.conns),
		"-d", fmt.Sprintf("%ds", int(w.duration.Seconds())), "--timeout", "5s", "--latency"}
	if w.close {
		args = append(args, "-H", "Connection: close")
	}
	if w.lua != "" {
		args = append(args, "-s", w.lua)
	}
	for _, h := range w.headers {
		args = append(args, "-H", h)
	}
	args = append(args, s.url(w.proto)+w.path)
	cmd := e.client(ctx, args...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	os.WriteFile(raw, out, 0o644)
	if err != nil {
		return fmt.Errorf("wrk: %v: %s", err, firstLine(out))
	}
	if ps := cmd.ProcessState; ps != nil {
		m[result.ClientUtil] = (ps.UserTime() + ps.SystemTime()).Seconds() / time.Since(t0).Seconds() / float64(e.clientN())
	}
	return parseWrk(string(out), m)
}

// parseWrk reads wrk's --latency report into m.
func parseWrk(out string, m map[string]float64) error {
	mm := reReqs.FindStringSubmatch(out)
	if mm == nil {
		return fmt.Errorf("wrk: no summary in output: %s", firstLine([]byte(out)))
	}
	m[result.Requests], _ = strconv.ParseFloat(mm[1], 64)
	secs, _ := strconv.ParseFloat(mm[2], 64)
	switch mm[3] {
	case "ms":
		secs /= 1e3
	case "m":
		secs *= 60
	}
	m[result.MBps] = bytesOf(mm[4], mm[5]) / 1e6 / secs
	if x := reRPS.FindStringSubmatch(out); x != nil {
		m[result.RPS], _ = strconv.ParseFloat(x[1], 64)
	}
	errs := 0.0
	if x := reSock.FindStringSubmatch(out); x != nil {
		for _, v := range x[1:] {
			n, _ := strconv.ParseFloat(v, 64)
			errs += n
		}
	}
	m[result.Errors] = errs
	m[result.Non2xx] = 0
	if x := reNon2xx.FindStringSubmatch(out); x != nil {
		m[result.Non2xx], _ = strconv.ParseFloat(x[1], 64)
	}
	for _, x := range rePercent.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(x[2], 64)
		switch x[3] {
		case "ms":
			v *= 1e3
		case "s":
			v *= 1e6
		}
		switch x[1] {
		case "50":
			m[result.P50] = v
		case "90":
			m[result.P90] = v
		case "99":
			m[result.P99] = v
		}
	}
	return nil
}

func bytesOf(v, unit string) float64 {
	x, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "KB":
		x *= 1 << 10
	case "MB":
		x *= 1 << 20
	case "GB":
		x *= 1 << 30
	case "TB":
		x *= 1 << 40
	}
	return x
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

type pct struct {
	P50, P90, P99, P999, Max float64
}

func (p *pct) UnmarshalJSON(b []byte) error {
	var v struct {
		P50  float64 `json:"p50_us"`
		P90  float64 `json:"p90_us"`
		P99  float64 `json:"p99_us"`
		P999 float64 `json:"p999_us"`
		Max  float64 `json:"max_us"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = pct{v.P50, v.P90, v.P99, v.P999, v.Max}
	return nil
}

func (e *env) open(w *workload, s *server, r *result.Round, raw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.duration+60*time.Second)
	defer cancel()
	out, err := e.client(ctx, e.loadgen, "open", "-addr", s.addr(), "-path", w.path,
		"-rate", strconv.FormatFloat(w.rate, 'f', -1, 64), "-conns", strconv.Itoa(w.conns),
		"-duration", w.duration.String()).Output()
	os.WriteFile(raw, out, 0o644)
	if err != nil {
		return fmt.Errorf("loadgen open: %v", err)
	}
	var v struct {
		Requests float64 `json:"requests"`
		Errors   float64 `json:"errors"`
		Non2xx   float64 `json:"non2xx"`
		Late     float64 `json:"late_sends"`
		RPS      float64 `json:"rps"`
		Target   float64 `json:"target_rate"`
		Latency  pct     `json:"latency"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("loadgen open: %v", err)
	}
	m := r.Metrics
	m[result.Requests], m[result.Errors], m[result.Non2xx], m[result.RPS] = v.Requests, v.Errors, v.Non2xx, v.RPS
	m[result.Late], m[result.TargetRate] = v.Late, v.Target
	m[result.P50], m[result.P90], m[result.P99], m[result.P999] = v.Latency.P50, v.Latency.P90, v.Latency.P99, v.Latency.P999
	return nil
}

func (e *env) closed(w *workload, s *server, r *result.Round, raw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.duration+60*time.Second)
	defer cancel()
	out, err := e.client(ctx, e.loadgen, "closed", "-addr", s.addr(), "-path", w.path,
		"-conns", strconv.Itoa(w.conns), "-duration", w.duration.String(), "-interval", w.interval.String()).Output()
	os.WriteFile(raw, out, 0o644)
	if err != nil {
		return fmt.Errorf("loadgen closed: %v", err)
	}
	var v struct {
		Requests  float64        `json:"requests"`
		Errors    float64        `json:"errors"`
		Non2xx    float64        `json:"non2xx"`
		Bytes     float64        `json:"body_bytes"`
		Seconds   float64        `json:"seconds"`
		RPS       float64        `json:"rps"`
		Latency   pct            `json:"latency"`
		Intervals []result.Point `json:"intervals"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("loadgen closed: %v", err)
	}
	m := r.Metrics
	m[result.Requests], m[result.Errors], m[result.Non2xx], m[result.RPS] = v.Requests, v.Errors, v.Non2xx, v.RPS
	m[result.P50], m[result.P90], m[result.P99], m[result.P999] = v.Latency.P50, v.Latency.P90, v.Latency.P99, v.Latency.P999
	if v.Seconds > 0 {
		m[result.MBps] = v.Bytes / 1e6 / v.Seconds
	}
	if w.Name != "sustained" {
		return nil
	}
	r.Series = v.Intervals
	if n := len(v.Intervals); n > 0 {
		m[result.RPSFirst] = v.Intervals[0].RPS
		m[result.RPSLast] = v.Intervals[n-1].RPS
		m[result.P99First] = v.Intervals[0].P99
		worst := 0.0
		for _, iv := range v.Intervals {
			worst = max(worst, iv.P99)
		}
		m[result.P99Worst] = worst
		if v.Intervals[0].RPS > 0 {
			m[result.Sustain] = v.RPS / v.Intervals[0].RPS
		}
	}
	return nil
}

func (e *env) idle(w *workload, s *server, m map[string]float64, rssBeforeKB int64, raw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := e.client(ctx, e.loadgen, "idle", "-addr", s.addr(), "-path", w.path,
		"-conns", strconv.Itoa(w.conns), "-hold", "60s")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	os.WriteFile(raw, []byte(line), 0o644)
	if err != nil {
		return fmt.Errorf("loadgen idle: %v", err)
	}
	var ready float64
	if _, err := fmt.Sscanf(line, "ready %g", &ready); err != nil {
		return fmt.Errorf("loadgen idle: %q", line)
	}
	time.Sleep(500 * time.Millisecond) // let the server settle its per-connection state
	tree := proc.Tree(s.cmd.Process.Pid)
	after := proc.StatusKB(tree, "VmRSS")
	m[result.Ready] = ready
	m[result.Errors] = float64(w.conns) - ready
	m[result.Non2xx] = 0
	m["rss_after_kb"] = float64(after)
	if ready > 0 {
		m[result.RSSPerConn] = float64(after-rssBeforeKB) * 1024 / ready
	}
	// requests stays unset: 10k requests say nothing about CPU per request.
	return nil
}

var (
	reH2Finished = regexp.MustCompile(`finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s`)
	reH2Requests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	reH2Status   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
	reH2Traffic  = regexp.MustCompile(`traffic: \S+ \((\d+)\) total`)
	reH2TLS      = regexp.MustCompile(`(?m)^TLS Protocol: (\S+)\s*$\s*^Cipher: (\S+)`)
	reH2Proto    = regexp.MustCompile(`(?m)^Application protocol: (\S+)`)
)

// h2WarmUp is h2load's --warm-up-time: the connections (and their
// handshakes) are made before the measured window. On a loaded 2-core
// machine 50 handshakes have taken up to 1.5 s.
const h2WarmUp = 2 * time.Second

// h2loadRun drives w with h2load (HTTP/2 over TLS or h2c, or --h1 over TLS)
// and reads its summary and per-request log into m. The server's CPU is
// sampled when h2load says its measured phase starts and ends (it flushes
// those lines as they happen); CPU/req is the utilization over that window
// divided by h2load's req/s, so a late line shifts the window without
// biasing the figure.
func (e *env) h2loadRun(w *workload, s *server, m map[string]float64, raw string) error {
	if e.h2load == "" {
		return fmt.Errorf("no h2load (-h2load)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h2WarmUp+w.duration+60*time.Second)
	defer cancel()
	threads := min(e.wrkThreads, w.conns)
	logFile := raw + ".log"
	defer os.Remove(logFile) // per-request lines: large, read below
	args := []string{e.h2load, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(w.conns), "-m", strconv.Itoa(w.streams),
		"--warm-up-time", strconv.Itoa(int(h2WarmUp.Seconds())), "-D", strconv.Itoa(int(w.duration.Seconds())), "--log-file", logFile}
	if w.proto == "tls" {
		args = append(args, "--h1")
	}
	args = append(args, s.url(w.proto)+w.path)
	cmd := e.client(ctx, args...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := s.cmd.Process.Pid
	client := []int{cmd.Process.Pid} // taskset execs h2load: the same process
	var (
		buf          strings.Builder
		started      bool
		cpu0, cpu1   int64 // the server's ticks at the measured phase's start and end
		cl0, cl1     int64 // h2load's
		tStart, tEnd time.Time
	)
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		buf.WriteString(line)
		buf.WriteByte('\n')
		switch {
		case strings.HasPrefix(line, "Main benchmark duration is started") && !started:
			started, tStart, cpu0, cl0 = true, time.Now(), proc.CPUTicks(proc.Tree(pid)), proc.CPUTicks(client)
		case strings.HasPrefix(line, "Main benchmark duration is over"):
			tEnd, cpu1, cl1 = time.Now(), proc.CPUTicks(proc.Tree(pid)), proc.CPUTicks(client)
		}
	}
	err = cmd.Wait()
	out := buf.String()
	os.WriteFile(raw, []byte(out), 0o644)
	if err != nil {
		return fmt.Errorf("h2load: %v: %s", err, lastLine([]byte(out)))
	}
	if err := parseH2load(out, m); err != nil {
		return err
	}
	if !started || tEnd.IsZero() || !tEnd.After(tStart) {
		return fmt.Errorf("h2load: no measured phase in its output")
	}
	util := float64(cpu1-cpu0) / proc.ClockTicks / tEnd.Sub(tStart).Seconds()
	m["cpu_util"] = util
	m[result.ClientUtil] = float64(cl1-cl0) / proc.ClockTicks / tEnd.Sub(tStart).Seconds() / float64(e.clientN())
	if m[result.RPS] > 0 {
		m[result.CPUPerReq] = util * 1e6 / m[result.RPS]
	}
	want := map[string]string{"tls": "http/1.1", "h2": "h2", "h2c": "h2c"}[w.proto]
	if p := reH2Proto.FindStringSubmatch(out); p == nil || p[1] != want {
		return fmt.Errorf("h2load: application protocol %v, want %s", p, want)
	}
	if w.proto != "h2c" && e.wantTLS != "" {
		if t := reH2TLS.FindStringSubmatch(out); t == nil || t[1]+" "+t[2] != e.wantTLS {
			return fmt.Errorf("h2load: negotiated %v, want %s", t, e.wantTLS)
		}
	}
	if lat, err := readH2loadLog(logFile); err == nil && len(lat) > 0 {
		m[result.P50], m[result.P90], m[result.P99] = percentile(lat, 0.5), percentile(lat, 0.9), percentile(lat, 0.99)
	}
	return nil
}

// parseH2load reads h2load's summary into m.
func parseH2load(out string, m map[string]float64) error {
	f := reH2Finished.FindStringSubmatch(out)
	r := reH2Requests.FindStringSubmatch(out)
	if f == nil || r == nil {
		return fmt.Errorf("h2load: no summary in output: %s", lastLine([]byte(out)))
	}
	num := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	secs := num(f[1])
	switch f[2] {
	case "ms":
		secs /= 1e3
	case "us":
		secs /= 1e6
	}
	m[result.RPS] = num(f[3])
	m[result.Requests] = num(r[4])
	m[result.Errors] = num(r[5])
	m[result.Non2xx] = 0
	if st := reH2Status.FindStringSubmatch(out); st != nil {
		m[result.Non2xx] = num(st[3]) + num(st[4])
	}
	if t := reH2Traffic.FindStringSubmatch(out); t != nil && secs > 0 {
		m[result.MBps] = num(t[1]) / 1e6 / secs
	}
	return nil
}

// readH2loadLog returns the response times (µs, third tab-separated column)
// of h2load's --log-file, sorted.
func readH2loadLog(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var v []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
			continue
		}
		if x, err := strconv.ParseFloat(cols[2], 64); err == nil {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	return v, sc.Err()
}

// percentile returns the q-quantile (0..1) of sorted v (nearest rank).
func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(q*float64(len(v))+0.5) - 1
	return v[max(0, min(i, len(v)-1))]
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
