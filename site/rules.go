package site

import (
	"fmt"
	"strings"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// rule is a compiled Rule.
type rule struct {
	g         *glob
	headers   []Header // canonical order; nil when the rule adds none
	redirect  *target
	redirSt   int
	status    int
	auth      *authRule
	terminal  bool // redirect or status
	needsCaps bool // redirect with captures
}

// compileRule compiles r (already validated by Parse).
func compileRule(r *Rule, authID int) (rule, error) {
	g, err := compileGlob(r.Match)
	if err != nil {
		return rule{}, err
	}
	c := rule{g: g, headers: r.Headers, status: r.Status}
	if rd := r.Redirect; rd != nil {
		t, err := compileTarget(rd.To, g.ncap)
		if err != nil {
			return rule{}, err
		}
		c.redirect, c.redirSt = t, rd.Status
		c.needsCaps = t.caps
	}
	c.terminal = c.redirect != nil || c.status != 0
	if r.BasicAuth != nil {
		c.auth = newAuthRule(r.BasicAuth, authID)
	}
	return c, nil
}

// target is a compiled redirect Location: literals and capture references.
type target struct {
	parts []tpart
	query bool // the template has a '?': the request's query is not appended
	caps  bool // some part is a capture
}

type tpart struct {
	lit string
	cap int // 1..9 for $1..$9; 0 for a literal
}

// compileTarget parses a redirect's "to": $1..$9 name the glob's captures
// (ncap of them), $$ is a dollar sign.
func compileTarget(to string, ncap int) (*target, error) {
	t := &target{query: strings.IndexByte(to, '?') >= 0}
	var lit strings.Builder
	for i := 0; i < len(to); i++ {
		c := to[i]
		if c != '$' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(to) {
			return nil, fmt.Errorf("%q ends in a lone $ (write $$ for a dollar sign)", to)
		}
		n := to[i+1]
		i++
		switch {
		case n == '$':
			lit.WriteByte('$')
		case n >= '1' && n <= '9':
			k := int(n - '0')
			if k > ncap {
				if ncap == 0 {
					return nil, fmt.Errorf("$%d: the match has no capture", k)
				}
				return nil, fmt.Errorf("$%d: the match has only %d capture(s)", k, ncap)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, tpart{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, tpart{cap: k})
			t.caps = true
		default:
			return nil, fmt.Errorf("$%c: want $1 to $9 or $$", n)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tpart{lit: lit.String()})
	}
	return t, nil
}

// appendLocation appends the Location value for a request with clean path p
// (whose captures are caps) and raw query q (nil when absent). Captured text
// is percent-encoded like any path; the query is kept unless the template
// has its own.
func (t *target) appendLocation(dst []byte, p string, caps *captures, q []byte) []byte {
	for _, part := range t.parts {
		if part.cap == 0 {
			dst = append(dst, part.lit...)
			continue
		}
		c := caps[part.cap-1]
		dst = files.AppendEscapedPath(dst, p[c[0]:c[1]])
	}
	if q != nil && !t.query {
		dst = append(dst, '?')
		dst = files.AppendEscapedQuery(dst, q)
	}
	return dst
}

// headerBlock is the merged field lines of one set of matching header rules.
type headerBlock struct {
	text  []byte   // "Name: value\r\n" lines
	strip []string // lower-case names of fields the file answer may carry that text replaces
}

// ownFields are the fields a files answer can carry that a rule replaces
// rather than adds to. Vary is not among them: a rule's Vary adds to the
// answer's (several Vary lines make one list).
var ownFields = []string{"content-type", "etag", "last-modified", "x-content-type-options",
	"accept-ranges", "cache-control", "allow"}

// newHeaderBlock merges the headers of rules idx (in rule order): a later
// rule's field replaces an earlier one's of the same name.
func newHeaderBlock(rules []rule, idx []uint16) *headerBlock {
	var merged []Header
	for _, i := range idx {
		for _, h := range rules[i].headers {
			merged = removeField(merged, h.Name)
			merged = append(merged, h)
		}
	}
	b := &headerBlock{}
	for _, h := range merged {
		b.text = append(b.text, h.Name...)
		b.text = append(b.text, ": "...)
		b.text = append(b.text, h.Value...)
		b.text = append(b.text, "\r\n"...)
		if l := strings.ToLower(h.Name); containsString(ownFields, l) {
			b.strip = append(b.strip, l)
		}
	}
	return b
}

func removeField(hs []Header, name string) []Header {
	out := hs[:0]
	for _, h := range hs {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// headerStatus reports whether rule headers go on an answer with status:
// the successful and redirect answers, as nginx's add_header (an error page
// gets no long-lived Cache-Control by accident).
func headerStatus(status int) bool {
	switch status {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}

// apply adds b's fields to a finished answer, replacing same-named fields
// the answer has. It allocates nothing when resp.Head has room.
func (b *headerBlock) apply(resp *httpcore.Response) {
	if b == nil || !headerStatus(resp.Status) {
		return
	}
	if len(b.strip) > 0 {
		resp.Head = stripFields(resp.Head, b.strip)
	}
	resp.Head = append(resp.Head, b.text...)
}

// stripFields removes from head (a status line and field lines) every field
// named in names (lower case), in place.
func stripFields(head []byte, names []string) []byte {
	i := indexCRLF(head, 0)
	if i < 0 {
		return head
	}
	w := i + 2 // write position
	r := w     // read position
	for r < len(head) {
		e := indexCRLF(head, r)
		if e < 0 {
			e = len(head) - 2
		}
		line := head[r : e+2]
		colon := indexByte(line, ':')
		drop := false
		if colon > 0 {
			for _, n := range names {
				if equalFoldLower(line[:colon], n) {
					drop = true
					break
				}
			}
		}
		if !drop {
			w += copy(head[w:], line)
		}
		r = e + 2
	}
	return head[:w]
}

func indexCRLF(b []byte, from int) int {
	for i := from; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// equalFoldLower reports whether b equals the lower-case ASCII s, ignoring
// the case of b.
func equalFoldLower(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
