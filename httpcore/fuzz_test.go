package httpcore

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// outcome is a parse result reduced to comparable values.
type outcome struct {
	status int // 0: success; -1: need more
	sum    summary
}

func parseOutcome(p *Parser, raw []byte, req *Request, feed func(*Parser, []byte, *Request) (int, error)) outcome {
	n, err := feed(p, raw, req)
	switch {
	case err == nil:
		return outcome{sum: summarize(req, n)}
	case errors.Is(err, ErrNeedMore):
		return outcome{status: -1}
	}
	var e *Error
	if !errors.As(err, &e) {
		panic("Parse returned a foreign error: " + err.Error())
	}
	switch e.Status {
	case 400, 413, 414, 431, 501, 505:
	default:
		panic("Parse returned status " + strconv.Itoa(e.Status))
	}
	return outcome{status: e.Status}
}

// within reports whether s is empty or lies inside buf.
func within(s, buf []byte) bool {
	if len(s) == 0 {
		return true
	}
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= b && p+uintptr(len(s)) <= b+uintptr(len(buf))
}

// checkRequest asserts the invariants of a parsed request.
func checkRequest(t *testing.T, req *Request, buf []byte, n int) {
	t.Helper()
	if n <= 0 || n > len(buf) {
		t.Fatalf("consumed %d of %d", n, len(buf))
	}
	head := buf[:n]
	for _, s := range [][]byte{req.MethodName, req.Target, req.Query, req.IfModifiedSince(),
		req.IfUnmodifiedSince(), req.IfRange(), req.Range()} {
		if !within(s, head) {
			t.Fatalf("slice %q is not inside the consumed bytes", s)
		}
	}
	checkAccessors(t, req)
	if !within(req.Host, head) || (!within(req.Path, head) && string(req.Path) != "/") {
		t.Fatalf("Host %q or Path %q outside the buffer", req.Host, req.Path)
	}
	if lookupMethod(req.MethodName) != req.Method {
		t.Fatalf("Method %v for %q", req.Method, req.MethodName)
	}
	if req.Method != MethodConnect && !(len(req.Path) > 0 && req.Path[0] == '/') && string(req.Path) != "*" {
		t.Fatalf("Path %q", req.Path)
	}
	if req.Host != nil && !validHost(req.Host) {
		t.Fatalf("Host %q", req.Host)
	}
	if req.Major != 1 || req.Minor > 1 {
		t.Fatalf("version %d.%d", req.Major, req.Minor)
	}
	for _, h := range req.Headers {
		if !within(h.Name, head) || !within(h.Value, head) || len(h.Name) == 0 {
			t.Fatalf("field %q: %q", h.Name, h.Value)
		}
		for _, c := range h.Name {
			if !tchar[c] {
				t.Fatalf("field name %q", h.Name)
			}
		}
		for _, c := range h.Value {
			if !valueChar[c] {
				t.Fatalf("field value %q", h.Value)
			}
		}
		if v := h.Value; len(v) > 0 && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			t.Fatalf("untrimmed value %q", v)
		}
	}
	if int64(n) > (Limits{}).MaxRequestBytes() {
		t.Fatalf("request of %d bytes, over MaxRequestBytes", n)
	}
	if len(req.Headers) > DefaultMaxHeaders {
		t.Fatalf("%d fields", len(req.Headers))
	}
	if req.Body != nil && int64(len(req.Body)) != req.ContentLength {
		t.Fatalf("body of %d bytes, ContentLength %d", len(req.Body), req.ContentLength)
	}
	if !req.Chunked && !within(req.Body, head) {
		t.Fatal("Content-Length body outside the consumed bytes")
	}
	if req.ContentLength > DefaultMaxBody {
		t.Fatalf("ContentLength %d over the limit", req.ContentLength)
	}
}

// canonical rebuilds a parsed request in plain form: request line, fields
// "name: value", and the body re-encoded as it came.
func canonical(req *Request) []byte {
	b := append([]byte(nil), req.MethodName...)
	b = append(b, ' ')
	b = append(b, req.Target...)
	b = append(b, " HTTP/1."...)
	b = append(b, '0'+req.Minor)
	b = append(b, "\r\n"...)
	for _, h := range req.Headers {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if req.Chunked {
		b = appendChunk(b, req.Body)
		b = appendLastChunk(b)
	} else {
		b = append(b, req.Body...)
	}
	return b
}

// addSeeds seeds f with every raw request of the table, and split points.
func addSeeds(f *testing.F, raw []string) {
	for _, r := range raw {
		f.Add([]byte(r), uint16(len(r)/2))
		f.Add([]byte(r), uint16(1))
	}
}

// FuzzParse feeds arbitrary bytes to the parser whole and split in two, and
// checks that both agree, that a parsed request satisfies the package's
// invariants, and that the request rebuilt from what was parsed parses to
// the same request.
func FuzzParse(f *testing.F) {
	var raws []string
	for _, c := range parseCases {
		if c.limits == (Limits{}) {
			raws = append(raws, c.raw)
		}
	}
	raws = append(raws, browserGET, multiLineGET)
	for _, c := range listFieldCases() {
		raws = append(raws, c.raw())
	}
	for _, c := range semanticCases {
		raws = append(raws, c.raw)
	}
	addSeeds(f, raws)
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		var p Parser
		var req Request
		whole := parseOutcome(&p, data, &req, feedWhole)
		if whole.status == 0 {
			checkRequest(t, &req, data, whole.sum.N)
			if !req.Expect100 || req.Body != nil {
				again := canonical(&req)
				var p2 Parser
				var req2 Request
				re := parseOutcome(&p2, again, &req2, feedWhole)
				want := whole.sum
				want.N = len(again)
				if re.status != 0 || re.sum != want {
					t.Fatalf("rebuilt request %q parses to %+v, want %+v", again, re, want)
				}
			}
			// The next request starts at data[n:] with a fresh state.
			var req3 Request
			p.Parse(data[whole.sum.N:], &req3)
		}

		k := int(split) % (len(data) + 1)
		var ps Parser
		var reqs Request
		parts := parseOutcome(&ps, data, &reqs, feedSplit(k))
		if parts != whole {
			if whole.sum.Expect || parts.sum.Expect {
				return // Expect: 100-continue returns early when the body is not there yet
			}
			t.Fatalf("split at %d: %+v, whole: %+v", k, parts, whole)
		}
	})
}

// chunkedHead is the head FuzzChunked puts before its input.
const chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

// refDechunk is a reference decoder for a chunked body (RFC 9112 §7.1)
// written independently of the parser: whole-input, line by line, with the
// parser's limits. It returns the body and the bytes consumed, or status -1
// (need more) or an error status.
func refDechunk(b []byte, maxBody int) (body []byte, n int, status int) {
	rest := b
	// line cuts the next line off rest. Before it looks at the line end it
	// applies the length limit: too long when more than max bytes without
	// LF are there, or when the line has more than maxBeforeLF bytes before
	// its LF.
	line := func(max, maxBeforeLF int, tooLong int) ([]byte, int) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if len(rest) > max {
				return nil, tooLong
			}
			return nil, -1
		}
		if i > maxBeforeLF {
			return nil, tooLong
		}
		if i == 0 || rest[i-1] != '\r' {
			return nil, 400
		}
		l := rest[:i-1]
		rest = rest[i+1:]
		return l, 0
	}
	maxFraming := maxBody/8 + 16<<10
	for {
		lineStart := len(b) - len(rest)
		framed := lineStart - len(body) // framing before this line
		i := bytes.IndexByte(rest, '\n')
		switch {
		case i < 0 && len(rest) > maxChunkLine, i > maxChunkLine:
			return nil, 0, 400
		case i < 0 && framed+len(rest) > maxFraming, i >= 0 && framed+i+1 > maxFraming:
			return nil, 0, 413
		}
		l, st := line(maxChunkLine, maxChunkLine, 400)
		if st != 0 {
			return nil, 0, st
		}
		sizeText := l
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			sizeText = bytes.TrimRight(l[:i], " \t")
			for _, c := range l[i:] {
				if c < 0x20 && c != '\t' || c == 0x7f {
					return nil, 0, 400
				}
			}
		}
		if len(sizeText) == 0 || bytes.ContainsAny(sizeText, "+-xX _") {
			return nil, 0, 400
		}
		size, err := strconv.ParseUint(string(sizeText), 16, 64)
		if err != nil || size >= 1<<63 {
			return nil, 0, 400
		}
		if size > uint64(maxBody-len(body)) {
			return nil, 0, 413
		}
		if size == 0 {
			break
		}
		if uint64(len(rest)) < size+2 {
			if uint64(len(rest)) == size+1 && rest[size] != '\r' {
				return nil, 0, 400
			}
			return nil, 0, -1
		}
		if rest[size] != '\r' || rest[size+1] != '\n' {
			return nil, 0, 400
		}
		body = append(body, rest[:size]...)
		rest = rest[size+2:]
	}
	trailer := len(b) - len(rest)
	fields := 0
	for {
		used := len(b) - len(rest) - trailer // trailer bytes before this line
		l, st := line(DefaultMaxHeaderBytes-used, DefaultMaxHeaderBytes-used-1, 431)
		if st != 0 {
			return nil, 0, st
		}
		if len(l) == 0 {
			return body, len(b) - len(rest), 0
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 {
			return nil, 0, 400
		}
		for _, c := range l[:colon] {
			if !tchar[c] {
				return nil, 0, 400
			}
		}
		for _, c := range l[colon+1:] {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return nil, 0, 400
			}
		}
		if fields++; fields > DefaultMaxHeaders {
			return nil, 0, 431
		}
	}
}

// FuzzChunked feeds arbitrary chunked bodies to the parser, whole and split
// in two, and compares the result with refDechunk.
func FuzzChunked(f *testing.F) {
	var bodies []string
	for _, c := range parseCases {
		if i := bytes.Index([]byte(c.raw), []byte(chunked+"\r\n")); i >= 0 && c.limits == (Limits{}) {
			bodies = append(bodies, c.raw[i+len(chunked)+2:])
		}
	}
	bodies = append(bodies, "3\r\nabc\r\n0\r\n\r\n", "1;a=b;c=\"d\"\r\nx\r\n0\r\nA: b\r\nC: d\r\n\r\n", "fffff\r\n", "0\r\n\r\nGET / HTTP/1.1\r\n")
	addSeeds(f, bodies)
	f.Fuzz(func(t *testing.T, body []byte, split uint16) {
		raw := append([]byte(chunkedHead), body...)
		var p Parser
		var req Request
		got := parseOutcome(&p, raw, &req, feedWhole)
		want, n, status := refDechunk(body, DefaultMaxBody)
		if got.status != status {
			t.Fatalf("parser status %d, reference %d", got.status, status)
		}
		if status == 0 {
			checkRequest(t, &req, raw, got.sum.N)
			if got.sum.N != len(chunkedHead)+n || !bytes.Equal(req.Body, want) || !req.Chunked {
				t.Fatalf("parser consumed %d, body %q; reference %d, %q", got.sum.N, req.Body, len(chunkedHead)+n, want)
			}
		}
		k := len(chunkedHead) + int(split)%(len(body)+1)
		var ps Parser
		if parts := parseOutcome(&ps, raw, &req, feedSplit(k)); parts != got {
			t.Fatalf("split at %d: %+v, whole: %+v", k, parts, got)
		}
	})
}

// refField is a reference for the accessors, written from the field table
// and RFC 9110 §5.3 alone: the lines of name (any case) in order, and their
// non-empty values joined with ", ".
func refField(req *Request, name string) (joined []byte, lines int) {
	for _, h := range req.Headers {
		if !strings.EqualFold(string(h.Name), name) {
			continue
		}
		lines++
		if len(h.Value) == 0 {
			continue
		}
		if len(joined) > 0 {
			joined = append(joined, ", "...)
		}
		joined = append(joined, h.Value...)
	}
	if lines > 0 && joined == nil {
		joined = []byte{}
	}
	return joined, lines
}

// checkAccessors compares every accessor of req with refField: list fields
// are the join of their lines, singletons are their one line's value or nil
// when repeated (Range also when If-Range repeats), and List yields the
// same elements as ListOf over the joined value.
func checkAccessors(t *testing.T, req *Request) {
	t.Helper()
	lists := []struct {
		name string
		get  func() []byte
	}{{"if-match", req.IfMatch}, {"if-none-match", req.IfNoneMatch}, {"accept-encoding", req.AcceptEncoding}}
	for _, l := range lists {
		want, _ := refField(req, l.name)
		if got := l.get(); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("%s() = %q, want %q", l.name, got, want)
		}
	}
	_, irLines := refField(req, "if-range")
	singles := []struct {
		name string
		get  func() []byte
	}{{"if-modified-since", req.IfModifiedSince}, {"if-unmodified-since", req.IfUnmodifiedSince},
		{"if-range", req.IfRange}, {"range", req.Range}}
	for _, f := range singles {
		want, lines := refField(req, f.name)
		if lines != 1 || (f.name == "range" && irLines > 1) {
			want = nil
		}
		if got := f.get(); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("%s() = %q, want %q", f.name, got, want)
		}
	}
	for _, name := range []string{"if-match", "accept-encoding", "connection", "te", "cache-control", "x-other"} {
		joined, _ := refField(req, name)
		var a, b [][]byte
		for l := req.List(name); ; {
			e, ok := l.Next()
			if !ok {
				break
			}
			a = append(a, e)
		}
		for l := ListOf(joined); ; {
			e, ok := l.Next()
			if !ok {
				break
			}
			b = append(b, e)
		}
		// An unclosed quote ends at its line's end in List but runs on
		// in the joined value: compare only when each line's quotes are
		// balanced.
		balanced := true
		for l := req.List(name); l.nextLine(); {
			balanced = balanced && bytes.Count(l.cur, []byte{'"'})%2 == 0
		}
		if balanced && fmt.Sprintf("%q", a) != fmt.Sprintf("%q", b) {
			t.Fatalf("List(%q) = %q, ListOf(joined) = %q", name, a, b)
		}
	}
}
