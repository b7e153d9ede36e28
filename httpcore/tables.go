package httpcore

// Byte-class tables: one load per byte on the hot path, no branches on ranges.
var (
	// tchar: token characters (RFC 9110 §5.6.2), for methods and field names.
	tchar [256]bool
	// targetChar: bytes allowed in a request-target: visible ASCII except
	// '#' (a fragment is never sent), and obs-text (some clients send raw
	// UTF-8). No SP, HTAB, CTL or DEL.
	targetChar [256]bool
	// valueChar: field-vchar, SP and HTAB (RFC 9110 §5.5): everything but
	// CTLs (NUL, CR, LF included) and DEL.
	valueChar [256]bool
	// regNameChar: unreserved, pct-encoded ('%' and hex) and sub-delims of a
	// reg-name or IPv4 address (RFC 3986 §3.2.2).
	regNameChar [256]bool
	// ipLiteralChar: what may appear between '[' and ']' (IPv6, IPvFuture).
	ipLiteralChar [256]bool
	// unhex: the value of a hex digit, -1 for other bytes.
	unhex [256]int8
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		tchar[c] = alnum || contains("!#$%&'*+-.^_`|~", b)
		targetChar[c] = (0x21 <= b && b <= 0x7e && b != '#') || b >= 0x80
		valueChar[c] = (0x20 <= b && b <= 0x7e) || b == '\t' || b >= 0x80
		regNameChar[c] = alnum || contains("-._~%!$&'()*+,;=", b)
		ipLiteralChar[c] = alnum || contains("-._~!$&'()*+,;=:%", b)
		switch {
		case '0' <= b && b <= '9':
			unhex[c] = int8(b - '0')
		case 'a' <= b && b <= 'f':
			unhex[c] = int8(b - 'a' + 10)
		case 'A' <= b && b <= 'F':
			unhex[c] = int8(b - 'A' + 10)
		default:
			unhex[c] = -1
		}
	}
}

func contains(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
