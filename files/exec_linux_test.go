package files

import (
	"bytes"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// This file is a tiny engine for tests: it runs a handler's Ops with real
// system calls, the way the epoll engine's helper would, and renders the
// response the way an engine sends it.

// cstr returns a NUL-terminated path without its NUL.
func cstr(t testing.TB, p []byte) string {
	i := bytes.IndexByte(p, 0)
	if i < 0 {
		t.Fatalf("op path %q is not NUL-terminated", p)
	}
	return string(p[:i])
}

// Test knobs of the executor: maxRead caps the bytes one OpRead returns (a
// short read), beforeOp runs before each op (to change files mid-chain).
// Tests that set them must not run in parallel.
var (
	maxRead  int
	beforeOp func(op *httpcore.Op)
)

// execOp is how serve performs ops: runOp (system calls, like the epoll
// engine's helpers) or a ring (see TestRingExecutor).
var execOp = runOp

// runOp performs op and stores its result in op.Res.
func runOp(t testing.TB, op *httpcore.Op) {
	if beforeOp != nil {
		beforeOp(op)
	}
	errRes := func(err error) int32 { return -int32(err.(unix.Errno)) }
	switch op.Kind {
	case httpcore.OpOpenat2:
		how := unix.OpenHow{Flags: op.Flags, Mode: op.Mode, Resolve: op.Resolve}
		fd, err := unix.Openat2(int(op.Fd), cstr(t, op.Path), &how)
		if err != nil {
			op.Res = errRes(err)
		} else {
			op.Res = int32(fd)
		}
	case httpcore.OpStatx:
		if len(op.Buf) < 256 {
			t.Fatalf("statx buffer of %d bytes", len(op.Buf))
		}
		path := cstr(t, op.Path)
		flags := int(op.Mode)
		if path == "" {
			flags |= unix.AT_EMPTY_PATH
		}
		err := unix.Statx(int(op.Fd), path, flags, int(op.Flags), (*unix.Statx_t)(unsafe.Pointer(&op.Buf[0])))
		if err != nil {
			op.Res = errRes(err)
		} else {
			op.Res = 0
		}
	case httpcore.OpRead:
		buf := op.Buf
		if maxRead > 0 && len(buf) > maxRead {
			buf = buf[:maxRead]
		}
		n, err := unix.Pread(int(op.Fd), buf, op.Off)
		if err != nil {
			op.Res = errRes(err)
		} else {
			op.Res = int32(n)
		}
	case httpcore.OpFunc:
		op.Func()
	default:
		t.Fatalf("unknown op kind %d", op.Kind)
	}
}

// result is a rendered response.
type result struct {
	status int
	head   string
	hdr    textproto.MIMEHeader
	body   []byte
	ops    []httpcore.OpKind
}

func (r result) String() string { return r.head + "\r\n" + string(r.body) }

// request builds a request for method and target with header lines
// "Name: value". All its slices alias one buffer, which do scribbles over
// after Serve returns, so a handler that keeps them past Serve is caught.
type request struct {
	req httpcore.Request
	buf []byte
}

func newRequest(method httpcore.Method, target string, hdrs ...string) *request {
	r := &request{}
	total := len(target)
	for _, h := range hdrs {
		total += len(h)
	}
	r.buf = make([]byte, 0, total)
	add := func(s string) []byte {
		st := len(r.buf)
		r.buf = append(r.buf, s...)
		return r.buf[st:len(r.buf):len(r.buf)]
	}
	q := &r.req
	q.Method = method
	q.Major, q.Minor = 1, 1
	q.KeepAlive = true
	q.Target = add(target)
	if i := bytes.IndexByte(q.Target, '?'); i >= 0 {
		q.Path, q.Query = q.Target[:i], q.Target[i+1:]
	} else {
		q.Path = q.Target
	}
	for _, h := range hdrs {
		name, value, _ := strings.Cut(h, ":")
		n := add(name)
		v := add(strings.TrimSpace(value))
		if err := q.AddField(n, v); err != nil {
			panic("test header " + h + ": " + err.Error())
		}
	}
	return r
}

// serve runs one request through h to its final response and renders it,
// releasing any FileRef exactly once.
func serve(t testing.TB, h httpcore.Handler, r *request) result {
	t.Helper()
	var resp httpcore.Response
	resp.Head = make([]byte, 0, 512)
	resp.Reset()
	op := h.Serve(&r.req, &resp)
	for i := range r.buf {
		r.buf[i] = 'X'
	}
	var res result
	for op != nil {
		res.ops = append(res.ops, op.Kind)
		if len(res.ops) > 20 {
			t.Fatalf("op chain too long: %v", res.ops)
		}
		execOp(t, op)
		op = op.Then(op, &resp)
	}
	return render(t, &r.req, &resp, res)
}

func render(t testing.TB, req *httpcore.Request, resp *httpcore.Response, res result) result {
	t.Helper()
	res.status = resp.Status
	res.head = string(resp.Head)
	line, rest, _ := strings.Cut(res.head, "\r\n")
	if !strings.HasPrefix(line, "HTTP/1.1 "+strconv.Itoa(resp.Status)+" ") {
		t.Fatalf("status line %q for status %d", line, resp.Status)
	}
	if !strings.HasSuffix(res.head, "\r\n") {
		t.Fatalf("head does not end in CRLF: %q", res.head)
	}
	res.hdr = textproto.MIMEHeader{}
	for _, l := range strings.Split(strings.TrimSuffix(rest, "\r\n"), "\r\n") {
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		res.hdr.Add(k, v)
	}
	noBody := req.Method == httpcore.MethodHead || resp.Status == 304 || resp.Status == 204 || resp.Status < 200
	readFile := func(off, n int64) []byte {
		b := make([]byte, n)
		got, err := unix.Pread(resp.File.Fd(), b, off)
		if err != nil {
			t.Fatalf("pread of FileRef: %v", err)
		}
		return b[:got]
	}
	if !noBody {
		switch {
		case len(resp.Parts) > 0:
			for _, p := range resp.Parts {
				if p.Bytes != nil {
					res.body = append(res.body, p.Bytes...)
				} else {
					res.body = append(res.body, readFile(p.Off, p.Len)...)
				}
			}
		case resp.File != nil:
			res.body = readFile(resp.Off, resp.Len)
		default:
			res.body = append([]byte(nil), resp.Body...)
		}
	}
	if resp.File != nil {
		resp.File.Release()
	}
	return res
}
