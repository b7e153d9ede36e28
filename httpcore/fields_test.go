package httpcore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// listElems collects what l yields.
func listElems(l List) []string {
	out := []string{}
	for {
		e, ok := l.Next()
		if !ok {
			return out
		}
		out = append(out, string(e))
	}
}

// fieldCase is a request head's field lines (after "Host: a") and what a
// handler must see of one field.
type fieldCase struct {
	name   string
	method string // "GET" when empty
	fields string // field lines, each ending in CRLF
	body   string
	field  string   // the field whose elements are checked
	elems  []string // req.List(field)
	value  string   // the accessor's combined value, for the stored fields
	check  func(t *testing.T, r *Request)
}

func (c *fieldCase) raw() string {
	m := c.method
	if m == "" {
		m = "GET"
	}
	return m + " /f HTTP/1.1\r\nHost: a\r\n" + c.fields + "\r\n" + c.body
}

// accessor returns the stored field's accessor for name, or nil.
func accessor(r *Request, name string) func() []byte {
	switch name {
	case "if-match":
		return r.IfMatch
	case "if-none-match":
		return r.IfNoneMatch
	case "accept-encoding":
		return r.AcceptEncoding
	}
	return nil
}

// listFieldCases: every list-based field of issue 18 on one line, on several
// lines, with empty elements, and with other fields between its lines.
func listFieldCases() []fieldCase {
	type spec struct {
		field, canon string
		a, b, c      string // three elements; a and b may contain commas in quotes
	}
	specs := []spec{
		{"accept-encoding", "Accept-Encoding", "gzip", "br;q=0.9", "*;q=0"},
		{"connection", "Connection", "keep-alive", "Upgrade", "x-token"},
		{"if-match", "If-Match", `"a,b"`, `W/"c"`, "*"},
		{"if-none-match", "If-None-Match", `"x"`, `W/"y, z"`, `"w"`},
		{"te", "TE", "trailers", "deflate;q=0.5", "gzip"},
		{"cache-control", "Cache-Control", "no-cache", `private="a, b"`, "max-age=0"},
		{"expect", "Expect", "foo", "bar=baz", "100-continue"},
		{"upgrade", "Upgrade", "h2c", "websocket", "foo/2"},
	}
	var cs []fieldCase
	for _, s := range specs {
		all := []string{s.a, s.b, s.c}
		joined := s.a + ", " + s.b + ", " + s.c
		cs = append(cs,
			fieldCase{name: s.field + " one line", fields: s.canon + ": " + joined + "\r\n",
				field: s.field, elems: all, value: joined},
			fieldCase{name: s.field + " several lines", fields: s.canon + ": " + s.a + "\r\n" + strings.ToUpper(s.canon) + ": " + s.b + ",  " + s.c + "\r\n",
				field: s.field, elems: all, value: s.a + ", " + s.b + ",  " + s.c},
			fieldCase{name: s.field + " empty elements", fields: s.canon + ": , " + s.a + " ,,\t,\r\n" + s.canon + ":\r\n" + s.canon + ": ,\r\n" + s.canon + ": " + s.b + ",," + s.c + ",\r\n",
				field: s.field, elems: all, value: ", " + s.a + " ,,\t,, ,, " + s.b + ",," + s.c + ","},
			fieldCase{name: s.field + " with fields between", fields: s.canon + ": " + s.a + "\r\nX-Other: 1, 2\r\nAccept: */*\r\n" + s.canon + ": " + s.b + "\r\nX-Other: 3\r\n" + s.canon + ": " + s.c + "\r\n",
				field: s.field, elems: all, value: joined},
		)
	}
	return cs
}

// semanticCases: what the server does with the combined lists it interprets
// itself (Connection, Expect, Transfer-Encoding), and the singleton rules.
var semanticCases = []struct {
	name   string
	raw    string
	status int                            // parse error status, 0 for success
	check  func(t *testing.T, r *Request) // on success
}{
	{name: "Connection close on a later line", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nX: y\r\nConnection: ,, close ,\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantBool(t, "KeepAlive", r.KeepAlive, false) }},
	{name: "HTTP/1.0 keep-alive on a later line", raw: "GET / HTTP/1.0\r\nConnection: foo\r\nX: y\r\nConnection: , Keep-Alive\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantBool(t, "KeepAlive", r.KeepAlive, true) }},
	{name: "Expect 100-continue on a later line", raw: "POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 3\r\nExpect: ,100-continue,\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantBool(t, "Expect100", r.Expect100, true) }},
	{name: "Expect other expectations only", raw: "POST / HTTP/1.1\r\nHost: a\r\nExpect: foo, 100-continuex\r\nContent-Length: 3\r\n\r\nabc",
		check: func(t *testing.T, r *Request) { wantBool(t, "Expect100", r.Expect100, false) }},
	{name: "TE chunked with empty elements", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,,\r\n\r\n0\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantBool(t, "Chunked", r.Chunked, true) }},
	{name: "TE chunked not last across lines", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX: y\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", status: 400},
	{name: "TE unknown coding before chunked across lines", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nX: y\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 501},
	{name: "TE line without a coding", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: ,\r\n\r\n0\r\n\r\n", status: 400},

	// Singletons (the table in doc.go).
	{name: "Host twice", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nHost: a\r\n\r\n", status: 400},
	{name: "Host list", raw: "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", status: 400},
	{name: "Content-Length same twice", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX: y\r\nContent-Length: 003\r\n\r\nabc",
		check: func(t *testing.T, r *Request) {
			if n, ok := r.DeclaredLength(); n != 3 || !ok || string(r.Body) != "abc" {
				t.Fatalf("DeclaredLength (%d, %v), body %q", n, ok, r.Body)
			}
		}},
	{name: "Content-Length differing", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", status: 400},
	{name: "Authorization twice", raw: "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YTpi\r\nX: y\r\nauthorization: Basic Yzpk\r\n\r\n", status: 400},
	{name: "Authorization once", raw: "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YTpi\r\n\r\n",
		check: func(t *testing.T, r *Request) {
			if v, n := r.Field("AUTHORIZATION"); string(v) != "Basic YTpi" || n != 1 {
				t.Fatalf("Field = (%q, %d)", v, n)
			}
		}},
	{name: "If-Modified-Since twice ignored", raw: "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantNil(t, "IfModifiedSince", r.IfModifiedSince()) }},
	{name: "If-Unmodified-Since twice ignored", raw: "GET / HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y\r\nIf-Unmodified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantNil(t, "IfUnmodifiedSince", r.IfUnmodifiedSince()) }},
	{name: "Range twice ignored", raw: "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=0-1\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantNil(t, "Range", r.Range()) }},
	{name: "If-Range twice ignores the Range", raw: "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: \"a\"\r\nIf-Range: \"a\"\r\n\r\n",
		check: func(t *testing.T, r *Request) { wantNil(t, "IfRange", r.IfRange()); wantNil(t, "Range", r.Range()) }},
	{name: "singletons once", raw: "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: \"a\"\r\nIf-Modified-Since: x\r\nIf-Unmodified-Since: y\r\n\r\n",
		check: func(t *testing.T, r *Request) {
			got := fmt.Sprintf("%s|%s|%s|%s", r.Range(), r.IfRange(), r.IfModifiedSince(), r.IfUnmodifiedSince())
			if got != `bytes=0-1|"a"|x|y` {
				t.Fatalf("got %s", got)
			}
		}},
}

func wantBool(t *testing.T, what string, got, want bool) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantNil(t *testing.T, what string, got []byte) {
	t.Helper()
	if got != nil {
		t.Fatalf("%s = %q, want nil", what, got)
	}
}

// feeds are the ways the table tests offer a request: whole, byte by byte,
// split at every point.
func feeds(raw []byte) map[string]func(*Parser, []byte, *Request) (int, error) {
	m := map[string]func(*Parser, []byte, *Request) (int, error){"whole": feedWhole, "byte by byte": feedBytes}
	for k := 1; k < len(raw); k++ {
		m[fmt.Sprintf("split at %d", k)] = feedSplit(k)
	}
	return m
}

// viaAddField rebuilds r's fields with Reset and AddField, as an HTTP/2
// connection would from its HPACK entries, and returns the first error.
func viaAddField(r *Request, into *Request) error {
	into.Reset()
	into.Method, into.Path, into.Major = r.Method, r.Path, 2
	var first error
	for _, h := range r.Headers {
		if err := into.AddField(h.Name, h.Value); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func TestListFields(t *testing.T) {
	for _, c := range listFieldCases() {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.raw())
			for how, feed := range feeds(raw) {
				var p Parser
				var r Request
				n, err := feed(&p, raw, &r)
				if err != nil || n != len(raw) {
					t.Fatalf("%s: (%d, %v)", how, n, err)
				}
				checkListCase(t, how, &c, &r)
				var h2 Request
				if err := viaAddField(&r, &h2); err != nil {
					t.Fatalf("%s: AddField: %v", how, err)
				}
				checkListCase(t, how+" via AddField", &c, &h2)
				checkAccessors(t, &r)
				checkAccessors(t, &h2)
			}
		})
	}
}

func checkListCase(t *testing.T, how string, c *fieldCase, r *Request) {
	t.Helper()
	if got := listElems(r.List(c.field)); fmt.Sprint(got) != fmt.Sprint(c.elems) || len(got) != len(c.elems) {
		t.Fatalf("%s: List(%q) = %q, want %q", how, c.field, got, c.elems)
	}
	if get := accessor(r, c.field); get != nil {
		v := get()
		if string(v) != c.value {
			t.Fatalf("%s: %s() = %q, want %q", how, c.field, v, c.value)
		}
		if got := listElems(ListOf(v)); fmt.Sprint(got) != fmt.Sprint(c.elems) {
			t.Fatalf("%s: ListOf(%s()) = %q, want %q", how, c.field, got, c.elems)
		}
		if string(get()) != c.value {
			t.Fatalf("%s: second call of %s() = %q", how, c.field, get())
		}
	}
	if c.field == "expect" && !r.Expect100 && r.Major == 2 {
		t.Fatalf("%s: Expect100 not set by AddField", how)
	}
}

func TestFieldSemantics(t *testing.T) {
	for _, c := range semanticCases {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.raw)
			for how, feed := range feeds(raw) {
				var p Parser
				var r Request
				_, err := feed(&p, raw, &r)
				if c.status != 0 {
					var e *Error
					if !errors.As(err, &e) || e.Status != c.status {
						t.Fatalf("%s: %v, want status %d", how, err, c.status)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				c.check(t, &r)
				checkAccessors(t, &r)
			}
		})
	}
}

// TestAddFieldSameMeaning builds each semantic case's fields with AddField
// (an HTTP/2 request's path) and checks the same singleton rules: the 400s
// that are field rules (not HTTP/1.1 framing) are AddField errors, and the
// accessors give what Parse gives.
func TestAddFieldSameMeaning(t *testing.T) {
	type entry struct{ name, value string }
	cases := []struct {
		name    string
		entries []entry
		status  int
		check   func(t *testing.T, r *Request)
	}{
		{name: "Host twice", entries: []entry{{"host", "a"}, {"host", "a"}}, status: 400},
		{name: "Host invalid", entries: []entry{{"host", "a b"}}, status: 400},
		{name: "Authorization twice", entries: []entry{{"authorization", "x"}, {"x", "y"}, {"authorization", "x"}}, status: 400},
		{name: "Content-Length differing", entries: []entry{{"content-length", "1"}, {"content-length", "2"}}, status: 400},
		{name: "Content-Length list", entries: []entry{{"content-length", "1, 1"}}, status: 400},
		{name: "upper-case name", entries: []entry{{"If-Match", `"a"`}, {"IF-MATCH", `"b"`}},
			check: func(t *testing.T, r *Request) {
				if string(r.IfMatch()) != `"a", "b"` {
					t.Fatalf("IfMatch %q", r.IfMatch())
				}
			}},
		{name: "bad name", entries: []entry{{"a b", "x"}}, status: 400},
		{name: "empty name", entries: []entry{{"", "x"}}, status: 400},
		{name: "NUL in value", entries: []entry{{"x", "a\x00b"}}, status: 400},
		{name: "LF in value", entries: []entry{{"x", "a\nb"}}, status: 400},
		{name: "leading space", entries: []entry{{"x", " a"}}, status: 400},
		{name: "trailing tab", entries: []entry{{"x", "a\t"}}, status: 400},
		{name: "Host sets Host unless set", entries: []entry{{"host", "h:1"}},
			check: func(t *testing.T, r *Request) {
				if string(r.Host) != "h:1" {
					t.Fatalf("Host %q", r.Host)
				}
			}},
		{name: "Expect", entries: []entry{{"expect", "a"}, {"expect", "100-Continue"}},
			check: func(t *testing.T, r *Request) { wantBool(t, "Expect100", r.Expect100, true) }},
		{name: "declared length", entries: []entry{{"content-length", "12"}, {"content-length", "12"}},
			check: func(t *testing.T, r *Request) {
				if n, ok := r.DeclaredLength(); n != 12 || !ok {
					t.Fatalf("DeclaredLength (%d, %v)", n, ok)
				}
			}},
		{name: "If-Range twice", entries: []entry{{"range", "bytes=0-1"}, {"if-range", `"a"`}, {"if-range", `"b"`}},
			check: func(t *testing.T, r *Request) { wantNil(t, "Range", r.Range()) }},
		{name: "empty values", entries: []entry{{"accept-encoding", ""}, {"if-match", ""}},
			check: func(t *testing.T, r *Request) {
				if v := r.AcceptEncoding(); v == nil || len(v) != 0 || len(listElems(r.List("if-match"))) != 0 {
					t.Fatalf("AcceptEncoding %q, If-Match elements %q", v, listElems(r.List("if-match")))
				}
			}},
	}
	var r Request
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.Reset()
			var err error
			for _, e := range c.entries {
				if e2 := r.AddField([]byte(e.name), []byte(e.value)); e2 != nil && err == nil {
					err = e2
				}
			}
			if c.status != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Status != c.status {
					t.Fatalf("AddField: %v, want status %d", err, c.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Headers) != len(c.entries) {
				t.Fatalf("%d headers", len(r.Headers))
			}
			c.check(t, &r)
			checkAccessors(t, &r)
		})
	}
	// Host does not override an authority already set (:authority).
	r.Reset()
	r.Host = []byte("auth")
	if err := r.AddField([]byte("host"), []byte("other")); err != nil || string(r.Host) != "auth" {
		t.Fatalf("Host %q, %v", r.Host, err)
	}
}

func TestListOf(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,\t,", nil},
		{"a", []string{"a"}},
		{" a ,b\t,  c  ", []string{"a", "b", "c"}},
		{`"a,b", W/"c,d" , *`, []string{`"a,b"`, `W/"c,d"`, "*"}},
		{`a;q="x,y",b`, []string{`a;q="x,y"`, "b"}},
		{`"a\", "b"`, []string{`"a\"`, `"b"`}}, // entity-tags have no escapes
		{`"unclosed, x`, []string{`"unclosed, x`}},
		{"a b, c", []string{"a b", "c"}},
	}
	for _, c := range cases {
		got := listElems(ListOf([]byte(c.in)))
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", append([]string{}, c.want...)) {
			t.Errorf("ListOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// An unclosed quote does not continue on the next line.
	r := mustParse(t, "GET / HTTP/1.1\r\nHost: a\r\nX: \"a, b\r\nx: c\r\n\r\n")
	if got := listElems(r.List("x")); fmt.Sprint(got) != `["a, b c]` {
		t.Fatalf("List = %q", got)
	}
	if got := listElems(r.List("absent")); len(got) != 0 {
		t.Fatalf("absent: %q", got)
	}
	var zero List
	if _, ok := zero.Next(); ok {
		t.Fatal("zero List yields")
	}
}

// multiLineGET is browserGET with its list fields split over several lines,
// as some proxies and clients send them.
const multiLineGET = "GET /static/js/app.min.js?v=3f2a9c HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n" +
	"Accept: */*\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Referer: https://www.example.com/\r\n" +
	"Accept-Encoding: br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"If-None-Match: \"5f1a-62c3b1e0a4f00\"\r\n" +
	"If-None-Match: \"5f1a-62c3b1e0a4f01\"\r\n" +
	"If-Match: *\r\n" +
	"If-Match: \"x\"\r\n" +
	"If-Modified-Since: Mon, 23 Nov 2026 10:00:00 GMT\r\n" +
	"\r\n"

// readFields reads every field a file handler reads.
func readFields(r *Request) int {
	return len(r.IfMatch()) + len(r.IfNoneMatch()) + len(r.AcceptEncoding()) + len(r.IfModifiedSince()) +
		len(r.IfUnmodifiedSince()) + len(r.IfRange()) + len(r.Range())
}

// TestFieldsZeroAllocs: reading the fields allocates nothing for one-line
// fields, and nothing in the steady state (the Request keeps its scratch)
// for fields on several lines, through Parse and through AddField.
func TestFieldsZeroAllocs(t *testing.T) {
	for _, raw := range []string{browserGET, multiLineGET} {
		buf := []byte(raw)
		var p Parser
		var r, h2 Request
		if n := testing.AllocsPerRun(1000, func() {
			if _, err := p.Parse(buf, &r); err != nil {
				panic(err)
			}
			readFields(&r)
			for l := r.List("accept-encoding"); ; {
				if _, ok := l.Next(); !ok {
					break
				}
			}
		}); n != 0 {
			t.Errorf("parse and read %d-byte request: %v allocations", len(raw), n)
		}
		if n := testing.AllocsPerRun(1000, func() {
			if err := viaAddField(&r, &h2); err != nil {
				panic(err)
			}
			readFields(&h2)
		}); n != 0 {
			t.Errorf("AddField and read: %v allocations", n)
		}
	}
}

func BenchmarkFields(b *testing.B) {
	for _, c := range []struct{ name, raw string }{{"one line", browserGET}, {"several lines", multiLineGET}} {
		b.Run(c.name, func(b *testing.B) {
			buf := []byte(c.raw)
			var p Parser
			var r Request
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Parse(buf, &r); err != nil {
					b.Fatal(err)
				}
				readFields(&r)
			}
		})
		b.Run(c.name+" AddField", func(b *testing.B) {
			var p Parser
			var r, h2 Request
			if _, err := p.Parse([]byte(c.raw), &r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := viaAddField(&r, &h2); err != nil {
					b.Fatal(err)
				}
				readFields(&h2)
			}
		})
	}
}
