package parse

import (
	"strconv"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// httpcoreCases parses browserGET with httpcore.Parser for TestParsersAgree.
func httpcoreCases(t *testing.T) []struct{ name, got, want string } {
	var p httpcore.Parser
	var req httpcore.Request
	n, err := p.Parse(browserGET, &req)
	if err != nil {
		t.Fatal(err)
	}
	return []struct{ name, got, want string }{
		{"httpcore consumed", strconv.Itoa(n), strconv.Itoa(len(browserGET))},
		{"httpcore method", string(req.MethodName), "GET"},
		{"httpcore path", string(req.Path), "/static/css/site.css"},
		{"httpcore host", string(req.Host), "www.example.com"},
		{"httpcore fields", strconv.Itoa(len(req.Headers)), "13"},
	}
}

// benchHTTPCore parses browserGET as a connection's successive requests: one
// Parser and one Request reused, as an engine does.
func benchHTTPCore(b *testing.B) {
	var p httpcore.Parser
	var req httpcore.Request
	b.SetBytes(int64(len(browserGET)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := p.Parse(browserGET, &req)
		if err != nil || n != len(browserGET) {
			b.Fatal(n, err)
		}
	}
}
