//go:build linux

package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2EFileBodies checks the bytes of large file answers (sent from the
// file, not from memory) on every engine: whole files several times the
// size of a splice pipe and of a splice chain, unaligned ranges whose
// first chunk is cut to fit the pipe's pages, multipart ranges whose file
// parts sit between in-memory parts, and all of these pipelined on one
// connection and at once on several.
func TestE2EFileBodies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s, big := startFiles(t, backend)
		type req struct {
			rng  string
			want []byte
			ctyp string // multipart: the parts' bytes in want, joined
		}
		reqs := []req{
			{want: big},
			{rng: "bytes=4097-3000000", want: big[4097:3000001]},
			{rng: "bytes=1-", want: big[1:]},
			{rng: "bytes=1-70000,5000000-5100000", want: append(append([]byte{}, big[1:70001]...), big[5000000:5100001]...), ctyp: "multipart"},
			{rng: "bytes=-1048577", want: big[len(big)-1048577:]},
			{want: big},
		}
		// check is called from several goroutines: it reports, the
		// caller stops.
		check := func(t *testing.T, r req, resp *http.Response, body []byte) bool {
			t.Helper()
			if r.rng == "" && resp.StatusCode != 200 || r.rng != "" && resp.StatusCode != 206 {
				t.Errorf("range %q: status %d", r.rng, resp.StatusCode)
				return false
			}
			if r.ctyp != "" {
				_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
				if err != nil {
					t.Error(err)
					return false
				}
				mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
				var got []byte
				for {
					p, err := mr.NextPart()
					if err != nil {
						break
					}
					var b bytes.Buffer
					b.ReadFrom(p)
					got = append(got, b.Bytes()...)
				}
				body = got
			}
			if !bytes.Equal(body, r.want) {
				t.Errorf("range %q: %d bytes differ from the %d wanted", r.rng, len(body), len(r.want))
				return false
			}
			return true
		}
		pipeline := func(reqs []req) string {
			var all strings.Builder
			for _, r := range reqs {
				all.WriteString("GET /big.bin HTTP/1.1\r\nHost: t\r\n")
				if r.rng != "" {
					fmt.Fprintf(&all, "Range: %s\r\n", r.rng)
				}
				all.WriteString("\r\n")
			}
			return all.String()
		}
		t.Run("pipelined", func(t *testing.T) {
			c := dialRaw(t, s)
			c.SetDeadline(time.Now().Add(60 * time.Second))
			c.send(t, pipeline(reqs))
			for _, r := range reqs {
				resp, body := c.response(t, "GET")
				if !check(t, r, resp, body) {
					return
				}
			}
		})
		t.Run("parallel", func(t *testing.T) {
			reqs := reqs[1:5] // less data: four connections at once, under -race too
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.DialTimeout("tcp", addrOf(s), 5*time.Second)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(60 * time.Second))
					if _, err := io.WriteString(c, pipeline(reqs)); err != nil {
						t.Error(err)
						return
					}
					br := bufio.NewReaderSize(c, 64<<10)
					for _, r := range reqs {
						resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
						if err != nil {
							t.Error(err)
							return
						}
						body, err := io.ReadAll(resp.Body)
						if err != nil {
							t.Error(err)
							return
						}
						if !check(t, r, resp, body) {
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	})
}
