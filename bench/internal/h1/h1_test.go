package h1

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

type resp struct {
	status int
	body   int64
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		resp    []resp // one per response expected before the error/EOF
		wantErr error  // nil: io.EOF after the responses
	}{
		{"one", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", []resp{{200, 5}}, nil},
		{"lower-case name", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi", []resp{{200, 2}}, nil},
		{"mixed case, spaces", "HTTP/1.1 404 Not Found\r\nCoNtEnT-LeNgTh:   3  \r\n\r\nnot", []resp{{404, 3}}, nil},
		{"pipelined", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", []resp{{200, 1}, {200, 1}}, nil},
		{"304 without length", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", []resp{{304, 0}}, nil},
		{"no length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", nil, ErrNoLength},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", nil, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			for i, want := range tc.resp {
				got, n, err := ReadResponse(r)
				if err != nil || got != want.status || n != want.body {
					t.Fatalf("response %d: got %d, %d bytes, %v; want %+v", i, got, n, err, want)
				}
			}
			_, _, err := ReadResponse(r)
			want := tc.wantErr
			if want == nil {
				want = io.EOF
			}
			if !errors.Is(err, want) {
				t.Fatalf("after the responses: err %v, want %v", err, want)
			}
		})
	}
}

func TestRequest(t *testing.T) {
	got := string(Request("127.0.0.1:80", "/a"))
	if !strings.HasPrefix(got, "GET /a HTTP/1.1\r\nHost: 127.0.0.1:80\r\n") || !strings.HasSuffix(got, "\r\n\r\n") {
		t.Fatalf("Request = %q", got)
	}
}
