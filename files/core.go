package files

import (
	"strconv"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// This file is the only place files depends on httpcore's formatting
// helpers. Until httpcore's helpers land it carries small local versions.

func appendStatusLine(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	return append(dst, "\r\n"...)
}

func statusText(status int) string {
	switch status {
	case 200:
		return "OK"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 412:
		return "Precondition Failed"
	case 416:
		return "Range Not Satisfiable"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	}
	return "Status"
}

func appendHTTPDate(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "Mon, 02 Jan 2006 15:04:05 GMT")
}

func parseHTTPDate(b []byte) (time.Time, bool) {
	t, err := time.Parse("Mon, 02 Jan 2006 15:04:05 GMT", string(b))
	return t, err == nil
}

func appendUint(dst []byte, v uint64) []byte { return strconv.AppendUint(dst, v, 10) }

func writeError(resp *httpcore.Response, status int) {
	resp.Status = status
	resp.Head = appendStatusLine(resp.Head, status)
	msg := statusText(status)
	resp.Head = append(resp.Head, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	resp.Head = appendUint(resp.Head, uint64(len(msg)+1))
	resp.Head = append(resp.Head, "\r\n"...)
	if status == 405 {
		resp.Head = append(resp.Head, "Allow: GET, HEAD, OPTIONS\r\n"...)
	}
	resp.Body = []byte(msg + "\n")
}
