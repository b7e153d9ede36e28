package httpcore

import "strconv"

// PerWorker is implemented by handlers that keep per-worker state (caches,
// scratch buffers). The engine calls ForWorker once per worker, before that
// worker serves anything, and uses the result only on that worker's thread,
// so that state needs no locks. A handler that wraps a PerWorker handler (a
// router in front of a files.Handler) implements PerWorker too and calls the
// wrapped handler's ForWorker from its own.
type PerWorker interface {
	ForWorker(id int) Handler
}

// AllowedMethods is the Allow value of ringhttpd's answers to OPTIONS and 405.
const AllowedMethods = "GET, HEAD, OPTIONS"

// Preflight answers what httpcore answers by itself before any Handler:
// OPTIONS * (200 with Allow), an unknown method (501) and CONNECT (405: this
// is no proxy). It returns true when it filled resp; the engine then
// finishes and sends resp without calling the Handler.
func Preflight(req *Request, resp *Response) bool {
	switch req.Method {
	case MethodUnknown:
		WriteError(resp, 501)
		return true
	case MethodConnect:
		WriteError(resp, 405)
		return true
	case MethodOptions:
		if len(req.Path) == 1 && req.Path[0] == '*' {
			resp.Status = 200
			resp.Head = AppendStatusLine(resp.Head[:0], 200)
			resp.Head = append(resp.Head, "Allow: "+AllowedMethods+"\r\nContent-Length: 0\r\n"...)
			return true
		}
	}
	return false
}

// closes reports whether an answer with status ends the connection: the
// request could not be framed, or its unread remains make the stream unsafe.
func closes(status int) bool {
	switch status {
	case 400, 408, 413, 414, 431, 501, 505:
		return true
	}
	return false
}

// WriteError fills resp with a small text/plain answer for status: the status
// line, any field lines the caller already appended to Head (a 416's
// Content-Range, say; a previous status line in Head is discarded with what
// follows it), Content-Type, Content-Length, X-Content-Type-Options: nosniff,
// Allow for 405, and the body "STATUS Reason\n" from static memory. It
// releases resp.File if one was set and drops Parts. It sets resp.Close for
// the statuses after which the connection must close (400, 408, 413, 414,
// 431, 501, 505). It does not allocate.
func WriteError(resp *Response, status int) {
	if status < 100 || status > 599 {
		status = 500
	}
	if resp.File != nil {
		resp.File.Release()
		resp.File = nil
	}
	resp.Parts = resp.Parts[:0]
	resp.Off, resp.Len = 0, 0
	resp.Status = status

	h := resp.Head
	if len(h) >= 5 && string(h[:5]) == "HTTP/" {
		h = h[:0]
	}
	sl := statusLines[status-100]
	old := len(h)
	h = append(h, sl...)
	copy(h[len(sl):], h[:old]) // memmove: the caller's fields go after the status line
	copy(h, sl)

	resp.Body = nil
	if AllowsContentLength(status) {
		body := errorBodies[status-100]
		resp.Body = body
		h = append(h, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
		h = strconv.AppendUint(h, uint64(len(body)), 10)
		h = append(h, "\r\nX-Content-Type-Options: nosniff\r\n"...)
	}
	if status == 405 {
		h = append(h, "Allow: "+AllowedMethods+"\r\n"...)
	}
	resp.Head = h
	if closes(status) {
		resp.Close = true
	}
}

// Reply fills resp with a complete answer from memory: Status, the status
// line, a Content-Type field (when contentType is not empty), Content-Length
// and Body. It replaces whatever resp held (releasing resp.File, dropping
// Parts); field lines appended to Head afterwards are sent too. For 1xx, 204
// and 304 it sends neither Content-Length nor body. body is sent by
// reference: it must not change until the answer is sent (see Response).
// Reply does not allocate once Head has grown.
func (resp *Response) Reply(status int, contentType string, body []byte) {
	if resp.File != nil {
		resp.File.Release()
		resp.File = nil
	}
	resp.Parts = resp.Parts[:0]
	resp.Off, resp.Len = 0, 0
	if status < 100 || status > 999 {
		status = 500
	}
	resp.Status = status
	h := AppendStatusLine(resp.Head[:0], status)
	if contentType != "" {
		h = AppendField(h, "Content-Type", contentType)
	}
	resp.Body = nil
	if AllowsContentLength(status) {
		h = AppendContentLength(h, int64(len(body)))
		resp.Body = body
	}
	resp.Head = h
}

// Finish completes resp.Head: it appends dateLine (a DateCache.Line),
// "Connection: close" when resp.Close is set, req is nil or req.KeepAlive is
// false (and then sets resp.Close), "Connection: keep-alive" for an HTTP/1.0
// request that keeps the connection, and the blank line that ends the head.
// It does not touch the body plan: the engine consults NoBody.
func (resp *Response) Finish(req *Request, dateLine []byte) {
	h := append(resp.Head, dateLine...)
	switch {
	case resp.Close || req == nil || !req.KeepAlive:
		resp.Close = true
		h = append(h, "Connection: close\r\n\r\n"...)
	case req.Major == 1 && req.Minor == 0:
		h = append(h, "Connection: keep-alive\r\n\r\n"...)
	default:
		h = append(h, "\r\n"...)
	}
	resp.Head = h
}

// NoBody reports whether no body may be sent for an answer with status to
// req: a HEAD request, or a 1xx, 204 or 304 answer (RFC 9110 §6.4.1).
func NoBody(req *Request, status int) bool {
	return (req != nil && req.Method == MethodHead) || status < 200 || status == 204 || status == 304
}

// AllowsContentLength reports whether an answer with status may carry
// Content-Length: not 1xx or 204 (RFC 9110 §8.6), and not 304, which
// ringhttpd sends without one (HTTP.md).
func AllowsContentLength(status int) bool {
	return status >= 200 && status != 204 && status != 304
}

// ServerField is the Server field line ringhttpd's answers may carry.
const ServerField = "Server: ringhttpd\r\n"

// AppendField appends "name: value\r\n" to dst. The caller guarantees that
// name is a token and value holds no CR, LF or NUL.
func AppendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendFieldBytes is AppendField with a []byte value.
func AppendFieldBytes(dst []byte, name string, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendContentLength appends "Content-Length: n\r\n" to dst. RFC 9110 §8.6
// forbids it on 1xx and 204 answers; the caller leaves it out there.
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, "\r\n"...)
}
