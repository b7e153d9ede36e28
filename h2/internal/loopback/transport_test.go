package loopback

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
)

// TestTransportRoundTrips drives the state machine with x/net's HTTP/2
// client (prior-knowledge h2c): concurrent GETs of memory and file bodies
// larger than the default windows, HEAD, a POST with a body, on one
// connection.
func TestTransportRoundTrips(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	content := bytes.Repeat([]byte("0123456789abcdef"), 200000/16)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	inner := Handler(&path)
	handler := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		if req.Method == httpcore.MethodPost {
			resp.Status = 200
			resp.Head = httpcore.AppendStatusLine(resp.Head[:0], 200)
			resp.Body = []byte(fmt.Sprintf("got %d bytes, ae=%q", len(req.Body), req.AcceptEncoding()))
			resp.Head = httpcore.AppendContentLength(resp.Head, int64(len(resp.Body)))
			return nil
		}
		return inner.Serve(req, resp)
	})
	go Serve(ln, &h2.Config{}, handler)

	var dials atomic.Int32
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			dials.Add(1)
			return net.Dial(network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	base := "http://" + ln.Addr().String()
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	want := map[string][]byte{"/": []byte("hello from h2\n"), "/big": big, "/file": content}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 30; i++ {
		p := []string{"/", "/big", "/file"}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(base + p)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !bytes.Equal(b, want[p]) {
				errs <- fmt.Errorf("%s: %d %s, %d bytes", p, resp.StatusCode, resp.Proto, len(b))
			}
			if resp.ContentLength != int64(len(want[p])) || resp.Header.Get("Server") != "ringhttpd" {
				errs <- fmt.Errorf("%s: headers %v", p, resp.Header)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	resp, err := client.Head(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 1<<20 {
		t.Errorf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}

	req, _ := http.NewRequest("POST", base+"/up", bytes.NewReader(big[:300000]))
	req.Header.Add("Accept-Encoding", "gzip")
	req.Header.Add("Accept-Encoding", "br")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `got 300000 bytes, ae="gzip, br"` {
		t.Errorf("POST: %d %q", resp.StatusCode, b)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if !strings.HasPrefix(resp.Proto, "HTTP/2") {
		t.Errorf("proto %s", resp.Proto)
	}
}
