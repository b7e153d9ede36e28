package server

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Access log buffering.
const (
	logBufSize  = 64 << 10
	logFlushAt  = logBufSize - 2<<10 // hand the buffer over past this
	logQueueCap = 64
)

// logWriter is the goroutine that writes workers' access log buffers to the
// configured writer. Workers never block on it: a buffer that does not fit
// in the queue is dropped and its lines counted.
type logWriter struct {
	out     io.Writer
	format  string // AccessLog* constant
	ch      chan []byte
	free    chan []byte
	done    chan struct{}
	dropped atomic.Int64 // lines dropped
	once    sync.Once
}

func newLogWriter(out io.Writer, format string, workers int) *logWriter {
	l := &logWriter{
		out:    out,
		format: format,
		ch:     make(chan []byte, logQueueCap),
		free:   make(chan []byte, logQueueCap+workers+1),
		done:   make(chan struct{}),
	}
	for range workers { // one spare per worker: steady state allocates nothing
		l.free <- make([]byte, 0, logBufSize)
	}
	go l.run()
	return l
}

func (l *logWriter) run() {
	defer close(l.done)
	for b := range l.ch {
		l.out.Write(b) // errors have nowhere better to go
		select {
		case l.free <- b[:0]:
		default:
		}
	}
}

// close waits for everything queued to be written. Call after every worker
// has flushed for the last time.
func (l *logWriter) close() {
	l.once.Do(func() { close(l.ch) })
	<-l.done
}

// Access log formats (Config.AccessLogFormat).
const (
	// AccessLogCLF is the Common Log Format: host ident user [time]
	// "request" status bytes, bytes being the body bytes actually sent.
	AccessLogCLF = "clf"
	// AccessLogCombined is the Combined Log Format (CLF plus "referer"
	// "user-agent") followed by the request time in microseconds (Apache's
	// %D).
	AccessLogCombined = "combined"
	// AccessLogJSON is one JSON object per line: time, remote, method,
	// target, proto, referer, user_agent, status, bytes (body bytes
	// actually sent), bytes_total (head included) and request_time_us.
	AccessLogJSON = "json"
)

// A line is logged once its answer's last byte is sent, or its connection
// closed: bytes are what the kernel took, and the request time runs from
// the loop turn that completed the request (or the op's start) to then.
// Until then the worker keeps a pending record per answer, in a FIFO per
// connection slot. Fragments made while the request's memory is valid
// (appendStart) hold the line's start and its tail (referer, user agent)
// separated by '\n', which escaping never lets through otherwise.

// pendLine is one answer waiting for its bytes to be sent.
type pendLine struct {
	frag     []byte // start '\n' tail
	status   int
	from     int64 // the connection's queued-bytes count where the answer starts
	bodyFrom int64 // ... where its body starts
	end      int64 // ... where it ends
	start    int64 // request start, ns since the worker's epoch
	next     int32 // next record of the same connection, -1 at the end
}

// connLog is the access log's state of one connection slot.
type connLog struct {
	gen        uint32
	queued     int64 // bytes of answers queued on the connection
	sent       int64 // bytes of them sent
	head, tail int32 // pending records, -1 when none
}

// workerLog is one worker's access log buffer and pending lines. Worker
// thread only.
type workerLog struct {
	l      *logWriter
	format string
	buf    []byte
	lines  int64
	sec    int64  // unix second stamp was made for
	stamp  []byte // "[24/Nov/2026:05:00:00 +0000]" or "2026-11-24T05:00:00Z"
	recs   []pendLine
	now    pendLine // logNow's
	free   []int32
	conns  []connLog // by connection slot
}

func newWorkerLog(l *logWriter) *workerLog {
	return &workerLog{l: l, format: l.format, buf: make([]byte, 0, logBufSize), sec: -1}
}

// flush hands the buffer to the writer. final blocks until queued (the
// writer is still running at shutdown); otherwise a full queue drops it.
func (wl *workerLog) flush(final bool) {
	if len(wl.buf) == 0 {
		return
	}
	if final {
		wl.l.ch <- wl.buf
		wl.buf = nil
		return
	}
	select {
	case wl.l.ch <- wl.buf:
		select {
		case b := <-wl.l.free:
			wl.buf = b
		default:
			wl.buf = make([]byte, 0, logBufSize)
		}
	default:
		wl.l.dropped.Add(wl.lines)
		wl.buf = wl.buf[:0]
	}
	wl.lines = 0
}

// appendStart appends the fragment of c's line for req (nil: unparsable)
// that needs the request's memory: the start (client, time, request line)
// and, after a '\n', the tail (referer and user agent where the format has
// them).
func (wl *workerLog) appendStart(dst []byte, c *conn, req *httpcore.Request) []byte {
	w := c.w
	json := wl.format == AccessLogJSON
	if s := w.wall.Unix(); s != wl.sec {
		wl.sec = s
		if json {
			wl.stamp = w.wall.UTC().AppendFormat(wl.stamp[:0], "2006-01-02T15:04:05Z")
		} else {
			wl.stamp = append(wl.stamp[:0], '[')
			wl.stamp = w.wall.UTC().AppendFormat(wl.stamp, "02/Jan/2006:15:04:05 -0700")
			wl.stamp = append(wl.stamp, ']')
		}
	}
	if json {
		return wl.appendJSONStart(dst, c, req)
	}
	if c.peer.IsValid() {
		dst = c.peer.Addr().Unmap().AppendTo(dst)
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, " - - "...)
	dst = append(dst, wl.stamp...)
	dst = append(dst, " \""...)
	if req == nil {
		dst = append(dst, '-')
	} else {
		dst = appendLogEscaped(dst, req.MethodName)
		dst = append(dst, ' ')
		dst = appendLogEscaped(dst, req.Target)
		dst = append(dst, " HTTP/"...)
		dst = append(dst, '0'+req.Major%10, '.', '0'+req.Minor%10)
	}
	dst = append(dst, "\" \n"...)
	if wl.format == AccessLogCombined {
		ref, ua := refererAgent(req)
		dst = append(dst, " \""...)
		dst = appendLogField(dst, ref)
		dst = append(dst, "\" \""...)
		dst = appendLogField(dst, ua)
		dst = append(dst, '"')
	}
	return dst
}

func (wl *workerLog) appendJSONStart(dst []byte, c *conn, req *httpcore.Request) []byte {
	dst = append(dst, `{"time":"`...)
	dst = append(dst, wl.stamp...)
	dst = append(dst, `","remote":"`...)
	if c.peer.IsValid() {
		dst = c.peer.Addr().Unmap().AppendTo(dst)
	}
	dst = append(dst, '"')
	if req != nil {
		ref, ua := refererAgent(req)
		for _, f := range [...]struct {
			k string
			v []byte
		}{{"method", req.MethodName}, {"target", req.Target}, {"referer", ref}, {"user_agent", ua}} {
			if f.v == nil && (f.k == "referer" || f.k == "user_agent") {
				continue
			}
			dst = append(dst, `,"`...)
			dst = append(dst, f.k...)
			dst = append(dst, `":"`...)
			dst = appendJSONEscaped(dst, f.v)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"proto":"HTTP/`...)
		dst = append(dst, '0'+req.Major%10, '.', '0'+req.Minor%10, '"')
	}
	return append(dst, '\n')
}

// refererAgent returns the request's Referer and User-Agent (nil when
// absent).
func refererAgent(req *httpcore.Request) (ref, ua []byte) {
	if req == nil {
		return nil, nil
	}
	ref, _ = req.Field("Referer")
	ua, _ = req.Field("User-Agent")
	return ref, ua
}

// appendLogField appends a quoted field's content, "-" when absent.
func appendLogField(dst, b []byte) []byte {
	if b == nil {
		return append(dst, '-')
	}
	return appendLogEscaped(dst, b)
}

// connLogOf returns c's slot state, reset if the slot now holds another
// connection.
func (wl *workerLog) connLogOf(c *conn) *connLog {
	for int(c.slot) >= len(wl.conns) {
		wl.conns = append(wl.conns, connLog{head: -1, tail: -1})
	}
	cl := &wl.conns[c.slot]
	if cl.gen != c.gen {
		*cl = connLog{gen: c.gen, head: -1, tail: -1}
	}
	return cl
}

// logAnswer records c's answer to req (nil: unparsable), started at start
// (ns since the worker's epoch): headLen bytes of head and bodyLen of body
// queued. ex, when the request was parked for an op, holds the fragment made
// then (the request's memory is gone by now). The line is written once the
// answer is sent (sent) or the connection closes (closed).
func (wl *workerLog) logAnswer(c *conn, ex *exchange, req *httpcore.Request, status int, start, headLen, bodyLen int64) {
	cl := wl.connLogOf(c)
	var idx int32
	if k := len(wl.free); k > 0 {
		idx = wl.free[k-1]
		wl.free = wl.free[:k-1]
	} else {
		idx = int32(len(wl.recs))
		wl.recs = append(wl.recs, pendLine{})
	}
	r := &wl.recs[idx]
	if ex != nil {
		r.frag = append(r.frag[:0], ex.logLine...)
	} else {
		r.frag = wl.appendStart(r.frag[:0], c, req)
	}
	r.start = start
	r.status = status
	r.from = cl.queued
	r.bodyFrom = cl.queued + headLen
	cl.queued += headLen + bodyLen
	r.end = cl.queued
	r.next = -1
	if cl.tail >= 0 {
		wl.recs[cl.tail].next = idx
	} else {
		cl.head = idx
	}
	cl.tail = idx
}

// logNow writes the line of c's answer to req at once, with bodyLen as the
// bytes sent: HTTP/2 interleaves its streams' answers on the connection, so
// their bytes cannot be told apart as they are sent.
func (wl *workerLog) logNow(c *conn, ex *exchange, req *httpcore.Request, status int, start, bodyLen int64) {
	r := &wl.now
	if ex != nil {
		r.frag = append(r.frag[:0], ex.logLine...)
	} else {
		r.frag = wl.appendStart(r.frag[:0], c, req)
	}
	r.start, r.status = start, status
	wl.write(c.w, r, bodyLen, bodyLen)
}

// sent reports n more bytes of c's answers sent: lines whose answers are
// complete are written.
func (wl *workerLog) sent(c *conn, n int64) {
	if int(c.slot) >= len(wl.conns) {
		return
	}
	cl := &wl.conns[c.slot]
	if cl.gen != c.gen {
		return
	}
	cl.sent += n
	for cl.head >= 0 && wl.recs[cl.head].end <= cl.sent {
		wl.pop(c, cl)
	}
}

// closed writes the lines of c's answers still pending (their bytes count
// what was sent) and clears the slot's state.
func (wl *workerLog) closed(c *conn) {
	if int(c.slot) >= len(wl.conns) {
		return
	}
	cl := &wl.conns[c.slot]
	if cl.gen != c.gen {
		return
	}
	for cl.head >= 0 {
		wl.pop(c, cl)
	}
	*cl = connLog{gen: c.gen, head: -1, tail: -1}
}

// pop writes the line of cl's first pending answer and frees its record.
func (wl *workerLog) pop(c *conn, cl *connLog) {
	idx := cl.head
	r := &wl.recs[idx]
	cl.head = r.next
	if cl.head < 0 {
		cl.tail = -1
	}
	upTo := min(cl.sent, r.end)
	wl.write(c.w, r, max(upTo-r.bodyFrom, 0), max(upTo-r.from, 0))
	wl.free = append(wl.free, idx)
}

// write appends r's line: body and total bytes sent, request time now.
func (wl *workerLog) write(w *worker, r *pendLine, body, total int64) {
	us := (int64(time.Since(w.epoch)) - r.start) / 1000
	if us < 0 {
		us = 0
	}
	start, tail, _ := bytes.Cut(r.frag, []byte{'\n'})
	wl.buf = append(wl.buf, start...)
	if wl.format == AccessLogJSON {
		wl.buf = append(wl.buf, `,"status":`...)
		wl.buf = httpcore.AppendUint(wl.buf, uint64(r.status))
		wl.buf = append(wl.buf, `,"bytes":`...)
		wl.buf = httpcore.AppendUint(wl.buf, uint64(body))
		wl.buf = append(wl.buf, `,"bytes_total":`...)
		wl.buf = httpcore.AppendUint(wl.buf, uint64(total))
		wl.buf = append(wl.buf, `,"request_time_us":`...)
		wl.buf = httpcore.AppendUint(wl.buf, uint64(us))
		wl.buf = append(wl.buf, "}\n"...)
	} else {
		wl.buf = httpcore.AppendUint(wl.buf, uint64(r.status))
		wl.buf = append(wl.buf, ' ')
		if body > 0 {
			wl.buf = httpcore.AppendUint(wl.buf, uint64(body))
		} else {
			wl.buf = append(wl.buf, '-')
		}
		wl.buf = append(wl.buf, tail...)
		if wl.format == AccessLogCombined {
			wl.buf = append(wl.buf, ' ')
			wl.buf = httpcore.AppendUint(wl.buf, uint64(us))
		}
		wl.buf = append(wl.buf, '\n')
	}
	wl.lines++
	if len(wl.buf) >= logFlushAt {
		wl.flush(false)
	}
}

const hexDigits = "0123456789abcdef"

// appendLogEscaped appends b with '"', '\\', control and non-ASCII bytes
// written as \xHH, so a line can never be split or forged.
func appendLogEscaped(dst, b []byte) []byte {
	for _, ch := range b {
		if ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' {
			dst = append(dst, '\\', 'x', hexDigits[ch>>4], hexDigits[ch&15])
			continue
		}
		dst = append(dst, ch)
	}
	return dst
}

// appendJSONEscaped appends b as the inside of a JSON string: '"', '\\',
// control and non-ASCII bytes as \u00XX (each byte on its own: lossy for
// UTF-8, but always valid JSON, and a line can never be split or forged).
func appendJSONEscaped(dst, b []byte) []byte {
	for _, ch := range b {
		if ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' {
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&15])
			continue
		}
		dst = append(dst, ch)
	}
	return dst
}
