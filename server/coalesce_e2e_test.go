//go:build linux

package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
)

// TestE2EColdHerd: many requests for the same cold files at the same moment
// (the files handler coalesces them per worker: one lookup, the others wait
// for it) all get the right answer, on both engines, with one worker so that
// every request lands on the same cache, and none waits long.
func TestE2EColdHerd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		small, large := pattern(3000), pattern(300<<10) // in memory / served from a descriptor
		bodies := map[string][]byte{"/s.bin": small, "/l.bin": large, "/c.txt": []byte("plain"), "/c.txt.gz": []byte("GZ")}
		for name, b := range bodies {
			if err := os.WriteFile(filepath.Join(dir, name[1:]), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fh, err := files.New(files.Config{Root: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		s := startServer(t, backend, fh, func(c *Config) { c.Workers = 1 })
		base := "http://" + addrOf(s)

		const n = 48
		type job struct{ path, ae string }
		jobs := []job{{"/s.bin", ""}, {"/l.bin", ""}, {"/c.txt", "gzip"}, {"/c.txt", ""}, {"/missing", ""}}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, n)
		t0 := time.Now()
		for i := range n {
			j := jobs[i%len(jobs)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
				defer client.CloseIdleConnections()
				req, _ := http.NewRequest("GET", base+j.path, nil)
				if j.ae != "" {
					req.Header.Set("Accept-Encoding", j.ae)
				}
				<-start
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				if err != nil {
					errs <- err
					return
				}
				want, ok := bodies[j.path]
				if j.ae == "gzip" {
					want = bodies[j.path+".gz"]
				}
				switch {
				case !ok && resp.StatusCode != 404:
					errs <- fmt.Errorf("%s: %d", j.path, resp.StatusCode)
				case ok && (resp.StatusCode != 200 || !bytes.Equal(got, want)):
					errs <- fmt.Errorf("%s (%s): %d, %d bytes", j.path, j.ae, resp.StatusCode, len(got))
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("herd took %v", d)
		}
	})
}
