package h2

import (
	"bytes"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// This file turns a stream's decoded fields into an httpcore.Request:
// pseudo-header rules (RFC 9113 §8.3.1), the same Path/Query split and
// known fields as httpcore's parser, cookie crumbs joined (§8.2.3).

// Byte classes.
var (
	// nameChar: lower-case tchar (RFC 9110 §5.6.2; RFC 9113 §8.2.1 forbids
	// upper case in names).
	nameChar [256]bool
	// tokenChar: tchar, for methods (case-sensitive).
	tokenChar [256]bool
	// valueChar: field-vchar, SP and HTAB: no CTL (NUL, CR, LF included)
	// and no DEL, as httpcore accepts on HTTP/1.1.
	valueChar [256]bool
	// pathChar: visible ASCII but '#', and obs-text (httpcore's targetChar).
	pathChar [256]bool
	// schemeChar: ALPHA / DIGIT / "+" / "-" / "." (RFC 3986 §3.1).
	schemeChar [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		lower := 'a' <= b && b <= 'z'
		digit := '0' <= b && b <= '9'
		alpha := lower || 'A' <= b && b <= 'Z'
		special := bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		nameChar[c] = lower || digit || special
		tokenChar[c] = alpha || digit || special
		valueChar[c] = (0x20 <= b && b <= 0x7e) || b == '\t' || b >= 0x80
		pathChar[c] = (0x21 <= b && b <= 0x7e && b != '#') || b >= 0x80
		schemeChar[c] = alpha || digit || b == '+' || b == '-' || b == '.'
	}
}

// validName reports whether a field name is a non-empty lower-case token.
func validName(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameChar[s[i]] {
			return false
		}
	}
	return true
}

// validValue reports whether a field value holds only field-vchar, SP and
// HTAB and neither starts nor ends with whitespace (RFC 9113 §8.2.1).
func validValue(s string) bool {
	if n := len(s); n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n-1] == ' ' || s[n-1] == '\t') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !valueChar[s[i]] {
			return false
		}
	}
	return true
}

// parseContentLength parses 1*DIGIT without overflow.
func parseContentLength(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// bytesOf returns the arena bytes of sp, nil when absent.
func (s *stream) bytesOf(sp span) []byte {
	if sp.s < 0 {
		return nil
	}
	return s.arena[sp.s:sp.e:sp.e]
}

// checkRequest applies the rules that need the whole field section
// (RFC 9113 §8.3.1, §8.3.2). false means malformed.
func (c *Conn) checkRequest(s *stream) bool {
	method := s.bytesOf(s.method)
	if len(method) == 0 {
		return false
	}
	for _, b := range method {
		if !tokenChar[b] {
			return false
		}
	}
	auth := s.bytesOf(s.auth)
	if string(method) == "CONNECT" {
		// RFC 9113 §8.5: only :method and :authority.
		if s.scheme.s >= 0 || s.path.s >= 0 || len(auth) == 0 {
			return false
		}
	} else {
		scheme, path := s.bytesOf(s.scheme), s.bytesOf(s.path)
		if len(scheme) == 0 || len(path) == 0 {
			return false
		}
		for _, b := range scheme {
			if !schemeChar[b] {
				return false
			}
		}
		if path[0] != '/' && !(string(path) == "*" && string(method) == "OPTIONS") {
			return false
		}
		for _, b := range path {
			if !pathChar[b] {
				return false
			}
		}
	}
	if auth != nil && !httpcore.ValidHost(auth) {
		return false
	}
	if s.hosts > 0 {
		if s.hosts > 1 {
			return false
		}
		host := s.fieldValue("host")
		if !httpcore.ValidHost(host) || (auth != nil && !bytes.Equal(host, auth)) {
			return false
		}
	}
	return true
}

// fieldValue returns the value of the first regular field named name.
func (s *stream) fieldValue(name string) []byte {
	for _, f := range s.fields {
		if string(s.arena[f.ns:f.ne]) == name {
			return s.arena[f.vs:f.ve:f.ve]
		}
	}
	return nil
}

// emptyPath is the Path of a request without one (CONNECT).
var emptyPath = []byte{}

// buildRequest fills c.req from s's fields: pseudo-header fields into the
// Request's fields (Path and Query split as httpcore splits a target), the
// regular ones through httpcore's Request.AddField, so that every field
// means what it means on HTTP/1.1 (lists combined, singletons checked).
// false means AddField rejected one: the request is malformed. checked says
// these exact fields passed before (a replayed request block): they go in
// through AddCheckedField.
func (c *Conn) buildRequest(s *stream, checked bool) bool {
	if s.cookies > 1 && s.cookieVal.s < 0 {
		c.joinCookies(s)
	}
	r := &c.req
	r.Reset()
	method := s.bytesOf(s.method)
	target := s.bytesOf(s.path)
	r.Method = httpcore.LookupMethod(method)
	r.MethodName = method
	r.Target = target
	r.Host = s.bytesOf(s.auth)
	r.Major = 2
	r.KeepAlive = true
	if target == nil { // CONNECT: authority-form, as httpcore keeps it
		r.Target = r.Host
		r.Path = emptyPath
	} else if q := bytes.IndexByte(target, '?'); q >= 0 {
		r.Path, r.Query = target[:q:q], target[q+1:]
	} else {
		r.Path = target
	}
	cookie := false
	for _, f := range s.fields {
		name := s.arena[f.ns:f.ne:f.ne]
		if s.cookies > 1 && string(name) == "cookie" {
			if cookie {
				continue
			}
			cookie = true
			f.vs, f.ve = s.cookieVal.s, s.cookieVal.e
		}
		value := s.arena[f.vs:f.ve:f.ve]
		var err error
		if checked {
			err = r.AddCheckedField(name, value)
		} else {
			err = r.AddField(name, value)
		}
		if err != nil {
			return false
		}
	}
	return true
}

// dispatch hands s's request to the host; built says c.req already holds
// it (buildRequest ran for this stream since the last one).
func (c *Conn) dispatch(s *stream, built bool) {
	r := &c.req
	if !built {
		c.buildRequest(s, false) // it passed at the end of the field block
	}
	if len(s.body) > 0 {
		r.Body = s.body[:len(s.body):len(s.body)]
	}
	r.ContentLength = int64(len(s.body))
	s.dispatched = true
	c.host.Request(s.id, r)
	c.dropBody(s)
	s.discard = false
}

// joinCookies appends the cookie fields' values joined with "; " to the
// arena (RFC 9113 §8.2.3) and records the result in s.cookieVal.
func (c *Conn) joinCookies(s *stream) {
	start := int32(len(s.arena))
	first := true
	for _, f := range s.fields {
		if string(s.arena[f.ns:f.ne]) != "cookie" {
			continue
		}
		if !first {
			s.arena = append(s.arena, "; "...)
		}
		first = false
		s.arena = append(s.arena, s.arena[f.vs:f.ve]...)
	}
	s.cookieVal = span{start, int32(len(s.arena))}
}
