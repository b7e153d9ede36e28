package site

import (
	"bytes"
	"net/textproto"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// A tiny synchronous engine for tests: it runs a handler's Ops with real
// system calls and renders the answer.

func runOp(t testing.TB, op *httpcore.Op) {
	errRes := func(err error) int32 { return -int32(err.(unix.Errno)) }
	path := func() string {
		i := bytes.IndexByte(op.Path, 0)
		if i < 0 {
			t.Fatalf("op path %q not NUL-terminated", op.Path)
		}
		return string(op.Path[:i])
	}
	switch op.Kind {
	case httpcore.OpOpenat2:
		how := unix.OpenHow{Flags: op.Flags, Mode: op.Mode, Resolve: op.Resolve}
		fd, err := unix.Openat2(int(op.Fd), path(), &how)
		if err != nil {
			op.Res = errRes(err)
		} else {
			op.Res = int32(fd)
		}
	case httpcore.OpStatx:
		p := path()
		flags := int(op.Mode)
		if p == "" {
			flags |= unix.AT_EMPTY_PATH
		}
		if err := unix.Statx(int(op.Fd), p, flags, int(op.Flags), (*unix.Statx_t)(unsafe.Pointer(&op.Buf[0]))); err != nil {
			op.Res = errRes(err)
		} else {
			op.Res = 0
		}
	case httpcore.OpRead:
		n, err := unix.Pread(int(op.Fd), op.Buf, op.Off)
		if err != nil {
			op.Res = errRes(err)
		} else {
			op.Res = int32(n)
		}
	case httpcore.OpFunc:
		op.Func()
	default:
		t.Fatalf("op kind %d", op.Kind)
	}
}

type result struct {
	status int
	head   string
	hdr    textproto.MIMEHeader
	body   []byte
	ops    []httpcore.OpKind
}

// request builds a request; "Host: x" among hdrs sets the authority. Its
// memory is scribbled over after Serve returns.
type request struct {
	req httpcore.Request
	buf []byte
}

func newRequest(method httpcore.Method, target string, hdrs ...string) *request {
	r := &request{buf: make([]byte, 0, 4096)}
	add := func(s string) []byte {
		st := len(r.buf)
		r.buf = append(r.buf, s...)
		return r.buf[st:len(r.buf):len(r.buf)]
	}
	q := &r.req
	q.Method = method
	q.MethodName = add(methodName(method))
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
		if err := q.AddField(add(name), add(strings.TrimSpace(value))); err != nil {
			panic("test header " + h + ": " + err.Error())
		}
	}
	return r
}

func methodName(m httpcore.Method) string {
	switch m {
	case httpcore.MethodGet:
		return "GET"
	case httpcore.MethodHead:
		return "HEAD"
	case httpcore.MethodPost:
		return "POST"
	case httpcore.MethodOptions:
		return "OPTIONS"
	case httpcore.MethodDelete:
		return "DELETE"
	}
	return "X"
}

// serve runs r through h to its final answer.
func serve(t testing.TB, h httpcore.Handler, r *request) result {
	t.Helper()
	resp := httpcore.Response{Head: make([]byte, 0, 512)}
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
		runOp(t, op)
		op = op.Then(op, &resp)
	}
	res.status = resp.Status
	res.head = string(resp.Head)
	_, rest, _ := strings.Cut(res.head, "\r\n")
	res.hdr = textproto.MIMEHeader{}
	for _, l := range strings.Split(strings.TrimSuffix(rest, "\r\n"), "\r\n") {
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("bad header line %q in %q", l, res.head)
		}
		res.hdr.Add(k, v)
	}
	if r.req.Method != httpcore.MethodHead && resp.Status != 304 {
		switch {
		case resp.File != nil:
			b := make([]byte, resp.Len)
			n, _ := unix.Pread(resp.File.Fd(), b, resp.Off)
			res.body = b[:n]
		default:
			res.body = append([]byte(nil), resp.Body...)
		}
	}
	if resp.File != nil {
		resp.File.Release()
	}
	return res
}
