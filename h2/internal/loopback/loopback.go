// Package loopback serves h2.Conn over real TCP sockets with one goroutine
// per connection and blocking reads and writes. It is a test driver, not a
// server: it exists so that h2spec, h2load and curl can talk to the state
// machine before (and independently of) the engines in server/.
package loopback

import (
	"net"
	"os"
	"time"

	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Serve accepts h2c (prior knowledge) connections on ln until it fails,
// answering every request with handler, which must answer without an Op.
func Serve(ln net.Listener, cfg *h2.Config, handler httpcore.Handler) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveConn(nc, cfg, handler)
	}
}

// sink gathers one Flush's output; file segments are read with pread.
type sink struct {
	buf []byte
}

func (s *sink) Write(p []byte)    { s.buf = append(s.buf, p...) }
func (s *sink) WriteRef(p []byte) { s.buf = append(s.buf, p...) }
func (s *sink) WriteFile(f httpcore.FileRef, off, n int64, release bool) {
	if n > 0 {
		start := len(s.buf)
		s.buf = append(s.buf, make([]byte, n)...)
		if f, ok := f.(*File); ok {
			f.F.ReadAt(s.buf[start:], off)
		}
	}
	if release {
		f.Release()
	}
}
func (s *sink) Buffered() int64 { return int64(len(s.buf)) }

// File is a FileRef over an *os.File that the handler opened for one
// response; Release closes it.
type File struct{ F *os.File }

// Fd returns the descriptor.
func (f *File) Fd() int { return int(f.F.Fd()) }

// Release closes the file.
func (f *File) Release() { f.F.Close() }

// host runs the handler synchronously inside Feed.
type host struct {
	c     *h2.Conn
	h     httpcore.Handler
	dates httpcore.DateCache
	resp  httpcore.Response
}

func (h *host) Request(id uint32, req *httpcore.Request) {
	resp := &h.resp
	resp.Reset()
	if !httpcore.Preflight(req, resp) {
		if op := h.h.Serve(req, resp); op != nil {
			httpcore.WriteError(resp, 500)
		}
	}
	h.dates.Update(time.Now())
	h.c.Respond(id, resp, httpcore.NoBody(req, resp.Status), h.dates.Line())
	resp.Reset()
}

func (h *host) Cancel(uint32) {}

func serveConn(nc net.Conn, cfg *h2.Config, handler httpcore.Handler) {
	defer lingerClose(nc)
	var c h2.Conn
	hs := &host{c: &c, h: handler}
	c.Init(cfg, hs)
	defer c.Release()
	var out sink
	flush := func() error {
		for {
			more := c.Flush(&out, 256<<10)
			if len(out.buf) > 0 {
				if _, err := nc.Write(out.buf); err != nil {
					return err
				}
				out.buf = out.buf[:0]
			}
			if !more {
				return nil
			}
		}
	}
	if flush() != nil {
		return
	}
	buf := make([]byte, 0, h2.FrameBytes(cfg)+64<<10)
	for {
		nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := nc.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			buf = buf[:len(buf)+n]
			k, ferr := c.Feed(buf)
			buf = buf[:copy(buf, buf[k:])]
			if flush() != nil || ferr != nil {
				return
			}
			if c.Closing() && c.Idle() {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// lingerClose closes nc after its peer has finished sending (or 1 s):
// close() with input unread makes the kernel send a reset, which can
// destroy our last frames (a GOAWAY) before the peer reads them, as when a
// PING follows the peer's own GOAWAY (h2spec 3.8/1).
func lingerClose(nc net.Conn) {
	defer nc.Close()
	tc, ok := nc.(*net.TCPConn)
	if !ok || tc.CloseWrite() != nil {
		return
	}
	tc.SetReadDeadline(time.Now().Add(time.Second))
	var b [4096]byte
	for {
		if _, err := tc.Read(b[:]); err != nil {
			return
		}
	}
}

// Handler returns the driver's trivial handler: "/" and any other path
// answer a small text body; "/big" answers 1 MiB from memory; "/file"
// answers the file at filePath through a FileRef (when filePath is set).
func Handler(filePath *string) httpcore.Handler {
	small := []byte("hello from h2\n")
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	return httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		resp.Status = 200
		resp.Head = httpcore.AppendStatusLine(resp.Head[:0], 200)
		resp.Head = append(resp.Head, "Content-Type: text/plain\r\n"+httpcore.ServerField...)
		switch {
		case string(req.Path) == "/big":
			resp.Body = big
		case string(req.Path) == "/file" && filePath != nil:
			f, err := os.Open(*filePath)
			if err != nil {
				httpcore.WriteError(resp, 404)
				return nil
			}
			st, _ := f.Stat()
			resp.File, resp.Off, resp.Len = &File{F: f}, 0, st.Size()
			resp.Head = httpcore.AppendContentLength(resp.Head, st.Size())
			return nil
		default:
			resp.Body = small
		}
		resp.Head = httpcore.AppendContentLength(resp.Head, int64(len(resp.Body)))
		return nil
	})
}
