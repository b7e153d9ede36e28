package server

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Metrics live per worker: plain integers in a block padded to its own cache
// lines, written only by the worker's thread (an increment is an ADD to a
// line no other CPU touches: no atomic, no sharing). A scrape does not read
// them from another thread: it bumps s.mgen and wakes every worker; each
// worker, at the start of its next loop turn (tick), copies its counters and
// a few gauges it computes then (connection states, ops in flight, its file
// cache) into its published block under s.pubMu and signals. The scrape
// waits for every worker (bounded), then sums. The hot path pays one plain
// load of s.mgen per loop turn.

// Request duration histogram bounds, in nanoseconds (rendered in seconds).
var durBounds = [...]int64{
	25e3, 50e3, 100e3, 250e3, 500e3,
	1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6,
	1e9, 2.5e9, 5e9, 10e9,
}

const (
	numMethods = int(httpcore.MethodConnect) + 1
	numClasses = 6 // index 1..5 for 1xx..5xx, 0 for anything else
)

// counters are one worker's monotonic counters. Worker thread only (a copy
// is published; see publish).
type counters struct {
	requests       [numMethods][numClasses]uint64
	bytesSent      uint64
	accepts        uint64
	acceptBackoffs uint64
	timeouts       [numTimers]uint64
	resetsPeer     uint64 // ECONNRESET/EPIPE seen on a connection
	resetsServer   uint64 // connections we aborted with a reset
	tlsHandshakes  uint64 // TLS handshakes that succeeded
	tlsFailures    uint64 // TLS handshakes that failed (refused, timed out, broken)
	ktls           uint64 // TLS connections whose records the kernel seals
	panics         uint64 // handler panics recovered
	waits          uint64 // io_uring_enter or epoll_wait calls
	events         uint64 // CQEs reaped or epoll events returned
	durCount       [len(durBounds) + 1]uint64
	durSum         int64 // ns
}

// gauges are one worker's instantaneous values, computed when it publishes.
type gauges struct {
	active, reading, writing, idle int64
	handlerOps                     int64 // handler ops (open, stat, read) in flight
	kernelOps                      int64 // ring operations awaiting their CQE (uring)
	cacheHits, cacheMisses         int64 // file cache lookups (counters kept by the handler)
	cacheEntries, cacheBytes       int64
	hasCache                       bool
}

// workerMetrics is a worker's metrics block. Everything but pub is owned by
// the worker's thread; pub is guarded by Server.pubMu.
type workerMetrics struct {
	_ cpu.CacheLinePad
	c counters
	// seen is the last scrape generation published.
	seen uint64
	_    cpu.CacheLinePad

	pub published
}

// published is a worker's last published copy.
type published struct {
	gen    uint64
	exited bool
	c      counters
	g      gauges
}

func newWorkerMetrics() *workerMetrics { return &workerMetrics{} }

// cacheStatser is implemented by handlers that keep a cache (files'
// per-worker handler). Called on the worker's thread.
type cacheStatser interface {
	CacheStats() (hits, misses, entries, bytes int64)
}

// kernelOpser is implemented by engine loops that can count their kernel
// operations in flight. Worker thread.
type kernelOpser interface {
	kernelOps() int
}

// turnNs returns the worker's loop-turn clock in ns since its epoch.
func (w *worker) turnNs() int64 { return int64(w.wall.Sub(w.epoch)) }

// answerNs returns the time of an answer for the duration histogram, ns
// since the worker's epoch: the clock is read again every answerClockEvery
// answers of a loop turn (tick restarts it), not for each one: a pipelined
// turn answers a request in well under a microsecond, and the histogram's
// first bound is 25 µs.
func (w *worker) answerNs() int64 {
	if w.answerClockUses++; w.answerClockUses >= answerClockEvery {
		w.answerClockUses = 0
		w.answerClock = int64(time.Since(w.epoch))
	}
	return w.answerClock
}

// answerClockEvery bounds the answers timed with one clock reading.
const answerClockEvery = 16

// answered counts an answer queued for req (nil: unparsable) with status.
// Its duration runs from start (the loop turn that completed the request,
// ns since the worker's epoch) to now.
func (w *worker) answered(req *httpcore.Request, status int, start int64) {
	m := w.m
	meth := 0
	if req != nil && int(req.Method) < numMethods {
		meth = int(req.Method)
	}
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	m.c.requests[meth][class]++
	d := w.answerNs() - start
	if d < 0 {
		d = 0
	}
	i := 0
	for i < len(durBounds) && d > durBounds[i] {
		i++
	}
	m.c.durCount[i]++
	m.c.durSum += d
}

// sockErr counts a connection's failed receive or send.
func (w *worker) sockErr(errno syscall.Errno) {
	if errno == syscall.ECONNRESET || errno == syscall.EPIPE {
		w.m.c.resetsPeer++
	}
}

// maybePublish publishes w's metrics if a scrape asked since the last time.
// Worker thread, once per loop turn (from tick).
func (w *worker) maybePublish() {
	if g := w.s.mgen.Load(); g != w.m.seen {
		w.publish(g, false)
	}
}

// publish copies w's counters and current gauges to w.m.pub. Worker thread.
func (w *worker) publish(gen uint64, exited bool) {
	m := w.m
	m.seen = gen
	var g gauges
	if !exited {
		for _, c := range w.conns {
			if c.fd < 0 {
				continue
			}
			g.active++
			switch connState(c) {
			case stateReading:
				g.reading++
			case stateWriting:
				g.writing++
			default:
				g.idle++
			}
		}
		g.handlerOps = int64(w.pendingOps)
		if k, ok := w.io.(kernelOpser); ok {
			g.kernelOps = int64(k.kernelOps())
		}
	}
	if cs, ok := w.h.(cacheStatser); ok {
		g.hasCache = true
		g.cacheHits, g.cacheMisses, g.cacheEntries, g.cacheBytes = cs.CacheStats()
	}
	s := w.s
	s.pubMu.Lock()
	if gen > m.pub.gen {
		m.pub.gen = gen
	}
	m.pub.exited = m.pub.exited || exited
	m.pub.c = m.c
	m.pub.g = g
	s.pubCond.Broadcast()
	s.pubMu.Unlock()
}

// Connection states for the connections gauge.
const (
	stateIdle = iota
	stateReading
	stateWriting
)

// connState says what an open connection is doing: reading a request that
// is not complete yet (or a TLS handshake), writing (an answer queued or
// being prepared by an op), or idle between requests.
func connState(c *conn) int {
	switch {
	case !c.outEmpty() || c.ex != nil || c.ops > 0:
		return stateWriting
	case c.held() > 0 || (c.tls != nil && (c.tls.hs != nil || len(c.tls.in) > 0)):
		return stateReading
	}
	return stateIdle
}

// Metrics is a sum of every worker's metrics at one scrape.
type Metrics struct {
	// Backend is the engine in use.
	Backend string
	// TLS says the server has TLS listeners.
	TLS bool
	// Workers is the number of workers; Answered how many of them published
	// for this scrape (a worker that did not answer within the timeout is
	// summed with its previous copy).
	Workers, Answered int

	c counters
	g gauges
}

// Accepts returns the connections accepted.
func (m *Metrics) Accepts() int64 { return int64(m.c.accepts) }

// Requests returns the answers queued, all methods and statuses.
func (m *Metrics) Requests() int64 {
	var n uint64
	for i := range m.c.requests {
		for _, v := range m.c.requests[i] {
			n += v
		}
	}
	return int64(n)
}

// Timeouts returns the connection timeouts that fired, all kinds.
func (m *Metrics) Timeouts() int64 {
	var n uint64
	for _, v := range m.c.timeouts {
		n += v
	}
	return int64(n)
}

// AcceptBackoffs returns how often accepting paused after EMFILE/ENFILE.
func (m *Metrics) AcceptBackoffs() int64 { return int64(m.c.acceptBackoffs) }

// BytesSent returns the bytes the kernel took from the output queues.
func (m *Metrics) BytesSent() int64 { return int64(m.c.bytesSent) }

// TLSHandshakes returns the TLS handshakes that succeeded and failed.
func (m *Metrics) TLSHandshakes() (ok, failed int64) {
	return int64(m.c.tlsHandshakes), int64(m.c.tlsFailures)
}

// KernelTLS returns the TLS connections whose records the kernel sealed.
func (m *Metrics) KernelTLS() int64 { return int64(m.c.ktls) }

// Panics returns the handler panics recovered.
func (m *Metrics) Panics() int64 { return int64(m.c.panics) }

// ActiveConns returns the open connections.
func (m *Metrics) ActiveConns() int64 { return m.g.active }

// Metrics asks every worker to publish its metrics and returns their sum.
// It waits up to timeout for the workers; ok reports that every running
// worker answered (a worker whose loop is stuck does not).
func (s *Server) Metrics(timeout time.Duration) (m Metrics, ok bool) {
	s.mu.Lock()
	workers := s.workers
	m.Backend = s.backend
	m.TLS = s.hs != nil
	s.mu.Unlock()
	m.Workers = len(workers)
	if len(workers) == 0 {
		return m, false
	}
	gen := s.mgen.Add(1)
	s.wakeAll()
	t := time.AfterFunc(timeout, func() {
		s.pubMu.Lock()
		s.pubCond.Broadcast()
		s.pubMu.Unlock()
	})
	defer t.Stop()
	deadline := time.Now().Add(timeout)
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	for {
		m.Answered = 0
		for _, w := range workers {
			if w.m.pub.gen >= gen || w.m.pub.exited {
				m.Answered++
			}
		}
		if m.Answered == len(workers) || !time.Now().Before(deadline) {
			break
		}
		s.pubCond.Wait()
	}
	for _, w := range workers {
		p := &w.m.pub
		m.c.add(&p.c)
		m.g.add(&p.g)
	}
	return m, m.Answered == len(workers)
}

func (c *counters) add(o *counters) {
	for i := range c.requests {
		for j := range c.requests[i] {
			c.requests[i][j] += o.requests[i][j]
		}
	}
	c.bytesSent += o.bytesSent
	c.accepts += o.accepts
	c.acceptBackoffs += o.acceptBackoffs
	for i := range c.timeouts {
		c.timeouts[i] += o.timeouts[i]
	}
	c.resetsPeer += o.resetsPeer
	c.resetsServer += o.resetsServer
	c.tlsHandshakes += o.tlsHandshakes
	c.tlsFailures += o.tlsFailures
	c.ktls += o.ktls
	c.panics += o.panics
	c.waits += o.waits
	c.events += o.events
	for i := range c.durCount {
		c.durCount[i] += o.durCount[i]
	}
	c.durSum += o.durSum
}

func (g *gauges) add(o *gauges) {
	g.active += o.active
	g.reading += o.reading
	g.writing += o.writing
	g.idle += o.idle
	g.handlerOps += o.handlerOps
	g.kernelOps += o.kernelOps
	g.cacheHits += o.cacheHits
	g.cacheMisses += o.cacheMisses
	g.cacheEntries += o.cacheEntries
	g.cacheBytes += o.cacheBytes
	g.hasCache = g.hasCache || o.hasCache
}

// methodNames are the method label values, by httpcore.Method.
var methodNames = [numMethods]string{
	httpcore.MethodUnknown: "other",
	httpcore.MethodGet:     "GET",
	httpcore.MethodHead:    "HEAD",
	httpcore.MethodPost:    "POST",
	httpcore.MethodPut:     "PUT",
	httpcore.MethodDelete:  "DELETE",
	httpcore.MethodOptions: "OPTIONS",
	httpcore.MethodPatch:   "PATCH",
	httpcore.MethodTrace:   "TRACE",
	httpcore.MethodConnect: "CONNECT",
}

var classNames = [numClasses]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

var timerNames = [numTimers]string{
	timerHeader: "header",
	timerIdle:   "idle",
	timerSend:   "send",
	timerLinger: "linger",
}

// promWriter writes the Prometheus text exposition format (version 0.0.4).
type promWriter struct {
	w   io.Writer
	err error
	b   []byte
}

func (p *promWriter) family(name, typ, help string) {
	p.b = append(p.b[:0], "# HELP "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, help...)
	p.b = append(p.b, "\n# TYPE "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, typ...)
	p.b = append(p.b, '\n')
	p.flush()
}

// single writes a family of one sample without labels.
func (p *promWriter) single(name, typ, help string, v float64) {
	p.family(name, typ, help)
	p.sample(name, v)
}

// sample writes one sample; labels are name, value pairs.
func (p *promWriter) sample(name string, v float64, labels ...string) {
	p.b = append(p.b[:0], name...)
	if len(labels) > 0 {
		p.b = append(p.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b = append(p.b, ',')
			}
			p.b = append(p.b, labels[i]...)
			p.b = append(p.b, '=')
			p.b = strconv.AppendQuote(p.b, labels[i+1])
		}
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ' ')
	p.b = strconv.AppendFloat(p.b, v, 'g', -1, 64)
	p.b = append(p.b, '\n')
	p.flush()
}

func (p *promWriter) flush() {
	if p.err == nil {
		_, p.err = p.w.Write(p.b)
	}
}

// WritePrometheus writes m in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	p := &promWriter{w: w}
	c, g := &m.c, &m.g

	p.family("ringhttpd_requests_total", "counter", "Answers queued, by request method and status class.")
	for i := range c.requests {
		for j, v := range c.requests[i] {
			if v > 0 || (i == int(httpcore.MethodGet) && j == 2) {
				p.sample("ringhttpd_requests_total", float64(v), "method", methodNames[i], "code", classNames[j])
			}
		}
	}
	p.family("ringhttpd_request_duration_seconds", "histogram",
		"Time from the loop turn that completed a request to its answer being queued (handler ops included).")
	var cum uint64
	for i, b := range durBounds {
		cum += c.durCount[i]
		p.sample("ringhttpd_request_duration_seconds_bucket", float64(cum), "le", strconv.FormatFloat(float64(b)/1e9, 'g', -1, 64))
	}
	cum += c.durCount[len(durBounds)]
	p.sample("ringhttpd_request_duration_seconds_bucket", float64(cum), "le", "+Inf")
	p.sample("ringhttpd_request_duration_seconds_sum", float64(c.durSum)/1e9)
	p.sample("ringhttpd_request_duration_seconds_count", float64(cum))

	p.single("ringhttpd_sent_bytes_total", "counter", "Bytes the kernel took from the connections' output queues: heads and bodies; on TLS connections the records, handshakes included.", float64(c.bytesSent))
	p.single("ringhttpd_accepts_total", "counter", "Connections accepted.", float64(c.accepts))
	p.single("ringhttpd_accept_backoffs_total", "counter", "Times accepting paused after EMFILE/ENFILE.", float64(c.acceptBackoffs))
	p.family("ringhttpd_connections", "gauge", "Open connections by state (reading a request, writing an answer, idle between requests).")
	p.sample("ringhttpd_connections", float64(g.reading), "state", "reading")
	p.sample("ringhttpd_connections", float64(g.writing), "state", "writing")
	p.sample("ringhttpd_connections", float64(g.idle), "state", "idle")
	p.single("ringhttpd_connections_active", "gauge", "Open connections.", float64(g.active))
	p.family("ringhttpd_timeouts_total", "counter", "Connection timeouts that fired, by kind.")
	for k := timerHeader; k < numTimers; k++ {
		p.sample("ringhttpd_timeouts_total", float64(c.timeouts[k]), "kind", timerNames[k])
	}
	p.family("ringhttpd_resets_total", "counter", "Connection resets: by the peer (ECONNRESET or EPIPE), or by the server (aborted with unsent output).")
	p.sample("ringhttpd_resets_total", float64(c.resetsPeer), "by", "peer")
	p.sample("ringhttpd_resets_total", float64(c.resetsServer), "by", "server")
	p.single("ringhttpd_handler_panics_total", "counter", "Handler panics recovered (each answered 500).", float64(c.panics))
	if m.TLS {
		p.family("ringhttpd_tls_handshakes_total", "counter", "TLS handshakes, by result.")
		p.sample("ringhttpd_tls_handshakes_total", float64(c.tlsHandshakes), "result", "ok")
		p.sample("ringhttpd_tls_handshakes_total", float64(c.tlsFailures), "result", "failed")
		p.single("ringhttpd_tls_kernel_total", "counter", "TLS connections whose records the kernel seals (kernel TLS).", float64(c.ktls))
	}
	if m.Backend == BackendUring {
		p.single("ringhttpd_ring_enters_total", "counter", "io_uring_enter calls (one per loop turn); completions per enter is the ratio of the two rates.", float64(c.waits))
		p.single("ringhttpd_ring_completions_total", "counter", "Completions (CQEs) reaped.", float64(c.events))
		p.single("ringhttpd_ring_ops_in_flight", "gauge", "Ring operations submitted and awaiting their completion.", float64(g.kernelOps))
	} else {
		p.single("ringhttpd_epoll_waits_total", "counter", "epoll_wait calls (one per loop turn).", float64(c.waits))
		p.single("ringhttpd_epoll_events_total", "counter", "Events epoll_wait returned.", float64(c.events))
	}
	p.single("ringhttpd_handler_ops_in_flight", "gauge", "Handler operations (open, stat, read of a cold file) in flight.", float64(g.handlerOps))
	if g.hasCache {
		p.single("ringhttpd_file_cache_hits_total", "counter", "File cache lookups answered from a fresh entry.", float64(g.cacheHits))
		p.single("ringhttpd_file_cache_misses_total", "counter", "File cache lookups that found no entry.", float64(g.cacheMisses))
		p.single("ringhttpd_file_cache_entries", "gauge", "Entries in the workers' file caches.", float64(g.cacheEntries))
		p.single("ringhttpd_file_cache_bytes", "gauge", "Bytes the workers' file caches account for.", float64(g.cacheBytes))
	}
	p.family("ringhttpd_workers", "gauge", "Workers, and how many answered this scrape.")
	p.sample("ringhttpd_workers", float64(m.Workers), "state", "running")
	p.sample("ringhttpd_workers", float64(m.Answered), "state", "answered")
	return p.err
}

// ExtraMetric is a metric the command adds to the server's (reloads,
// upgrades, build information).
type ExtraMetric struct {
	Name, Type, Help string
	Samples          []ExtraSample
}

// ExtraSample is one sample of an ExtraMetric.
type ExtraSample struct {
	Labels []string // name, value pairs
	Value  float64
}

// WriteExtra writes metrics in the Prometheus text format, families sorted
// by name.
func WriteExtra(w io.Writer, ms []ExtraMetric) error {
	ms = append([]ExtraMetric(nil), ms...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	p := &promWriter{w: w}
	for _, m := range ms {
		p.family(m.Name, m.Type, m.Help)
		for _, s := range m.Samples {
			p.sample(m.Name, s.Value, s.Labels...)
		}
	}
	return p.err
}

// Healthy reports whether every worker's loop turns: each publishes within
// timeout when asked. It returns an error naming the problem otherwise.
func (s *Server) Healthy(timeout time.Duration) error {
	if s.stopping.Load() {
		return fmt.Errorf("server: shutting down")
	}
	select {
	case <-s.done:
		return fmt.Errorf("server: workers stopped")
	default:
	}
	m, ok := s.Metrics(timeout)
	if m.Workers == 0 {
		return ErrNotStarted
	}
	if !ok {
		return fmt.Errorf("server: %d of %d workers did not answer within %v", m.Workers-m.Answered, m.Workers, timeout)
	}
	return nil
}

// pubState is the Server's side of publishing: embedded in Server.
type pubState struct {
	pubMu   sync.Mutex
	pubCond *sync.Cond
}
