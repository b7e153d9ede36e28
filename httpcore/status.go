package httpcore

import "strconv"

// StatusText returns the reason phrase of status ("Not Found"), or "" when
// the status is not one ringhttpd knows.
func StatusText(status int) string {
	switch status {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// statusLines[s-100] is "HTTP/1.1 s Reason\r\n"; errorBodies[s-100] is
// "s Reason\n". Both are built once so that encoding never allocates.
var statusLines, errorBodies [500][]byte

func init() {
	for s := 100; s < 600; s++ {
		text := StatusText(s)
		statusLines[s-100] = []byte("HTTP/1.1 " + strconv.Itoa(s) + " " + text + "\r\n")
		if text == "" {
			text = "Status"
		}
		errorBodies[s-100] = []byte(strconv.Itoa(s) + " " + text + "\n")
	}
}

// AppendStatusLine appends "HTTP/1.1 STATUS REASON\r\n" to dst. A status
// outside 100..999 is written as 500.
func AppendStatusLine(dst []byte, status int) []byte {
	if status >= 100 && status < 600 {
		return append(dst, statusLines[status-100]...)
	}
	if status < 100 || status > 999 {
		return append(dst, statusLines[500-100]...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendUint(dst, uint64(status), 10)
	return append(dst, " \r\n"...)
}

// AppendUint appends the decimal form of v to dst.
func AppendUint(dst []byte, v uint64) []byte {
	return strconv.AppendUint(dst, v, 10)
}
