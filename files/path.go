package files

// cleanPath decodes the raw request path exactly once and normalizes it into
// dst[:0], which it returns with a status of 0; otherwise it returns the
// status to answer (400 or 404).
//
// The result starts with a single '/', contains no empty, "." or ".."
// segment and no "//", and ends with '/' only when it names a directory form
// (the raw path ended with '/', "/." or "/.."). Invariant: no byte of the
// result is NUL, '\\' or a control character, and no '/' in it came from a
// percent escape, so the kernel sees exactly the segments checked here.
//
// Rejected with 400: a path not starting with '/', a malformed escape, NUL
// (raw or %00), an encoded slash (%2f), a backslash (raw or %5c), control
// bytes, and any ".." (in any spelling) that would climb above the root.
// Rejected with 404: a segment starting with '.', unless dot is dotServe or
// (with dotWellKnown) the segment is the first one and is ".well-known".
// Overlong UTF-8 such as %c0%ae decodes to the bytes C0 AE, never to '.',
// and a double encoding such as %252e decodes to the three bytes "%2e".
func cleanPath(dst, raw []byte, dot dotPolicy) ([]byte, int) {
	if len(raw) == 0 || raw[0] != '/' {
		return dst[:0], 400
	}
	dst = append(dst[:0], '/')
	trailing := false
	i := 1
	for {
		// One raw segment: raw[i:j].
		segStart := len(dst)
		j := i
		for ; j < len(raw) && raw[j] != '/'; j++ {
			// A run of bytes that need nothing goes in at once.
			k := j
			for k < len(raw) && plainPathByte[raw[k]] {
				k++
			}
			if k > j {
				dst = append(dst, raw[j:k]...)
				if j = k; j == len(raw) || raw[j] == '/' {
					break
				}
			}
			c := raw[j]
			if c == '%' {
				if j+2 >= len(raw) {
					return dst, 400
				}
				hi, lo := unhex(raw[j+1]), unhex(raw[j+2])
				if hi > 15 || lo > 15 {
					return dst, 400
				}
				c = hi<<4 | lo
				if c == '/' {
					return dst, 400
				}
				j += 2
			}
			if badByte[c] {
				return dst, 400
			}
			dst = append(dst, c)
		}
		seg := dst[segStart:]
		last := j >= len(raw)
		switch {
		case len(seg) == 0 || (len(seg) == 1 && seg[0] == '.'):
			dst = dst[:segStart]
			trailing = last
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			dst = dst[:segStart]
			if segStart == 1 {
				return dst, 400 // would climb above the root
			}
			k := segStart - 2
			for dst[k] != '/' {
				k--
			}
			dst = dst[:k+1]
			trailing = last
		default:
			dst = append(dst, '/')
			trailing = false
		}
		if last {
			break
		}
		i = j + 1
	}
	if !trailing && len(dst) > 1 {
		dst = dst[:len(dst)-1]
	}
	if dot != dotServe {
		k := 0
		if dot == dotWellKnown && isWellKnown(dst) {
			k = len(wellKnown)
		}
		for ; k+1 < len(dst); k++ {
			if dst[k] == '/' && dst[k+1] == '.' {
				return dst, 404
			}
		}
	}
	return dst, 0
}

// dotPolicy says which names starting with '.' cleanPath lets through.
type dotPolicy uint8

const (
	dotHide      dotPolicy = iota // none
	dotWellKnown                  // only the root's /.well-known (RFC 8615) and what is beneath it
	dotServe                      // all
)

// wellKnown is the path prefix of RFC 8615's well-known URIs (ACME
// challenges, security.txt, ...).
const wellKnown = "/.well-known"

// isWellKnown reports whether the clean path p is /.well-known or beneath it.
func isWellKnown(p []byte) bool {
	return len(p) >= len(wellKnown) && string(p[:len(wellKnown)]) == wellKnown &&
		(len(p) == len(wellKnown) || p[len(wellKnown)] == '/')
}

// dotPolicy returns the policy cfg asks for.
func (cfg *Config) dotPolicy() dotPolicy {
	switch {
	case cfg.Dotfiles:
		return dotServe
	case cfg.HideWellKnown:
		return dotHide
	}
	return dotWellKnown
}

// plainPathByte marks the raw bytes cleanPath copies as they are: not
// '/', not '%', not a bad byte.
var plainPathByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c != '/' && c != '%' && !badByte[c]
	}
	return t
}()

// badByte marks the decoded bytes no path may contain.
var badByte = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t[0x7f] = true
	t['\\'] = true
	return t
}()

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// appendEscapedPath appends p percent-encoded so that it is a safe absolute
// path for a Location field: every byte outside the unreserved set and the
// path punctuation "/-._~!$&'()*+,;=:@" is escaped. p starts with a single
// '/' and has no "//" (cleanPath's invariant), so the result can never be read
// as a network-path reference ("//host").
func appendEscapedPath(dst []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		if c := p[i]; pathSafe[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// appendEscapedQuery appends a raw query, escaping bytes that may not appear
// in a field value or a URI (controls, space, non-ASCII, '"', '<', '>', '\\',
// '^', '`', '{', '|', '}').
func appendEscapedQuery(dst []byte, q []byte) []byte {
	for _, c := range q {
		if querySafe[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

const hexDigits = "0123456789ABCDEF"

var pathSafe, querySafe, segmentSafe = func() (p, q, s [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		p[c], q[c], s[c] = true, true, true
	}
	for c := 'A'; c <= 'Z'; c++ {
		p[c], q[c], s[c] = true, true, true
	}
	for c := '0'; c <= '9'; c++ {
		p[c], q[c], s[c] = true, true, true
	}
	for _, c := range "-._~" {
		p[c], q[c], s[c] = true, true, true
	}
	for _, c := range "/!$&'()*+,;=:@" {
		p[c], q[c] = true, true
	}
	for _, c := range "?%[]" {
		q[c] = true
	}
	return
}()

// CleanPath decodes the raw request path once and normalizes it into
// dst[:0], as the Handler does before every lookup, for layers above it that
// decide by path (the site package's rules): it returns the clean path and
// 0, or 400 for a path the Handler rejects. Names starting with '.' are let
// through (the Handler still hides them).
func CleanPath(dst, raw []byte) ([]byte, int) { return cleanPath(dst, raw, dotServe) }

// AppendEscapedPath appends the clean path p percent-encoded for a Location
// field (see appendEscapedPath).
func AppendEscapedPath(dst []byte, p string) []byte { return appendEscapedPath(dst, p) }

// AppendEscapedQuery appends a raw query escaped for a Location field.
func AppendEscapedQuery(dst, q []byte) []byte { return appendEscapedQuery(dst, q) }
