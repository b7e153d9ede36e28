// Package dyn is the dynamic handler of the benchmark, the same for every
// Go server in it (cmd/ringlibd, cmd/fasthttpd, cmd/nethttpd): a constant
// 13-byte text answer at TextPath and a small JSON object at JSONPath,
// encoded on every request by AppendJSON (no reflection, as a
// speed-minded handler would). Each server adapts it to its own API.
package dyn

// The routes and their answers.
const (
	TextPath = "/hello"
	JSONPath = "/json"

	Text     = "Hello, World!"
	TextType = "text/plain; charset=utf-8"
	JSONType = "application/json"

	// Message is the value JSON answers carry.
	Message = "Hello, World!"
)

// AppendJSON appends the JSON answer, {"message":"Hello, World!"}, encoding
// Message as a JSON string on every call.
func AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"message":`...)
	dst = appendString(dst, Message)
	return append(dst, '}')
}

// appendString appends s as a JSON string (RFC 8259 §7): quotes,
// backslashes and control characters escaped.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
