// Package h1 is the minimal HTTP/1.1 client the benchmark's Go load tools
// share: one prebuilt GET written as is, responses read in order and framed by
// Content-Length (every static-file server under test sends one). It keeps no
// per-request allocations on its hot path so that the load tool, not the
// server, stays cheap.
package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrNoLength is returned for a response without Content-Length (chunked or
// close-delimited bodies are not expected from the servers under test).
var ErrNoLength = errors.New("h1: response has no Content-Length")

// Request returns the bytes of a GET for path with the usual browser-less
// headers. Invariant: the result is a complete request head ending in CRLFCRLF.
func Request(host, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUser-Agent: ringhttpd-bench\r\nAccept: */*\r\n\r\n")
}

var clName = []byte("content-length:")

// ReadResponse reads one response (head and body) from r and returns its
// status code and body length. The body is discarded.
func ReadResponse(r *bufio.Reader) (status int, body int64, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, fmt.Errorf("h1: bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, fmt.Errorf("h1: bad status line %q", line)
	}
	length := int64(-1)
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > len(clName) && asciiPrefixFold(line, clName) {
			v := bytes.TrimSpace(line[len(clName):])
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("h1: bad Content-Length %q", v)
			}
			length = n
		}
	}
	if status == 204 || status == 304 {
		return status, 0, nil
	}
	if length < 0 {
		return status, 0, ErrNoLength
	}
	if _, err := r.Discard(int(length)); err != nil {
		return 0, 0, err
	}
	return status, length, nil
}

func asciiPrefixFold(s, lowerPrefix []byte) bool {
	for i, c := range lowerPrefix {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != c {
			return false
		}
	}
	return true
}
