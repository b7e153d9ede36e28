package server

import (
	"io"
	"sync"
	"sync/atomic"

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
	ch      chan []byte
	free    chan []byte
	done    chan struct{}
	dropped atomic.Int64 // lines dropped
	once    sync.Once
}

func newLogWriter(out io.Writer, workers int) *logWriter {
	l := &logWriter{
		out:  out,
		ch:   make(chan []byte, logQueueCap),
		free: make(chan []byte, logQueueCap+workers+1),
		done: make(chan struct{}),
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

// workerLog is one worker's access log buffer. Worker thread only.
type workerLog struct {
	l     *logWriter
	buf   []byte
	lines int64
	sec   int64  // unix second stamp was made for
	stamp []byte // "[24/Nov/2026:05:00:00 +0000]"
}

func newWorkerLog(l *logWriter) *workerLog {
	return &workerLog{l: l, buf: make([]byte, 0, logBufSize), sec: -1}
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

// appendStart appends the start of c's line for req: client, identity,
// user, time and request line.
func (wl *workerLog) appendStart(dst []byte, c *conn, req *httpcore.Request) []byte {
	w := c.w
	if s := w.wall.Unix(); s != wl.sec {
		wl.sec = s
		wl.stamp = append(wl.stamp[:0], '[')
		wl.stamp = w.wall.UTC().AppendFormat(wl.stamp, "02/Jan/2006:15:04:05 -0700")
		wl.stamp = append(wl.stamp, ']')
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
	return append(dst, "\" "...)
}

// logAnswer appends c's line for the answer to req (nil: unparsable).
// start is the start of the line made when the request was parked for an
// op (its slices were gone by the time of the answer), or nil.
func (wl *workerLog) logAnswer(c *conn, start []byte, req *httpcore.Request, status int, bodyLen int64) {
	if start != nil {
		wl.buf = append(wl.buf, start...)
	} else {
		wl.buf = wl.appendStart(wl.buf, c, req)
	}
	wl.buf = httpcore.AppendUint(wl.buf, uint64(status))
	wl.buf = append(wl.buf, ' ')
	if bodyLen > 0 {
		wl.buf = httpcore.AppendUint(wl.buf, uint64(bodyLen))
	} else {
		wl.buf = append(wl.buf, '-')
	}
	wl.buf = append(wl.buf, '\n')
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
