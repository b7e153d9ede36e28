//go:build linux

package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/ringhttpd/ringhttpd/files"
)

// skGenContent is file id's content at generation gen: 16-byte blocks
// "F<id>G<gen>|<id>\n", so any byte of a response can be checked against
// the file asked for (skCheckGen) whatever generation it came from.
func skGenContent(id, gen, size int) []byte {
	block := fmt.Sprintf("F%02dG%08d|%02d\n", id, gen%100000000, id)
	return bytes.Repeat([]byte(block), size/16+1)[:size]
}

// skCheckGen checks that body, found at offset off of file id, consists of
// that file's bytes only (of any generation) and NULs. It returns the file
// offset of the first NUL (-1 when there is none); the caller decides
// whether a truncation explains it (skTruncs). Any other byte is an error:
// never another file's bytes, never anything but the asked file's.
//
// Why NULs are not checked for their shape here: a truncation to x zeroes
// the page cache from x to the end of the page or large folio holding x,
// and a response reads the page cache at different moments (the engine's
// splice or sendfile chunks, whose ends fall anywhere, and even the
// client's reads on loopback, since spliced pages are sent by reference).
// So the zeros of a truncation may start and end at any offset at or after
// x, and be followed by bytes of the file written again later, but they
// never appear before x.
func skCheckGen(id int, off int64, body []byte) (firstNUL int64, err error) {
	firstNUL = -1
	d1, d2 := byte('0'+id/10), byte('0'+id%10)
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == 0 {
			if firstNUL < 0 {
				firstNUL = off + int64(i)
			}
			continue
		}
		q := (off + int64(i)) % 16
		ok := false
		switch q {
		case 0:
			ok = c == 'F'
		case 1, 13:
			ok = c == d1
		case 2, 14:
			ok = c == d2
		case 3:
			ok = c == 'G'
		case 12:
			ok = c == '|'
		case 15:
			ok = c == '\n'
		default:
			ok = c >= '0' && c <= '9'
		}
		if !ok {
			lo, hi := max(i-16, 0), min(i+16, len(body))
			return firstNUL, fmt.Errorf("byte %d (file offset %d) is %q, not file %02d's: ...%q...", i, off+int64(i), c, id, body[lo:hi])
		}
	}
	return firstNUL, nil
}

// skTruncs records the truncations of each file (the time just before the
// call, and the size it set), so that a response's NULs can be checked
// against them.
type skTruncs struct {
	mu sync.Mutex
	ev map[int][]skTrunc
}

type skTrunc struct {
	at time.Time
	x  int64
}

func (s *skTruncs) add(id int, x int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ev == nil {
		s.ev = map[int][]skTrunc{}
	}
	s.ev[id] = append(s.ev[id], skTrunc{time.Now(), x})
}

// explains reports whether a truncation of file id started at or after
// since set the file's size to at most nul, the offset of a response's
// first NUL.
func (s *skTruncs) explains(id int, since time.Time, nul int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.ev[id] {
		if !e.at.Before(since) && e.x <= nul {
			return true
		}
	}
	return false
}

// TestFaultFilesChanging replaces (rename over), truncates, rewrites in
// place, deletes and recreates files while clients fetch them (whole and
// ranges, small files served from memory and large ones from a
// descriptor). No response may hold another file's bytes or anything but
// the asked file's bytes; a response may be cut short only when its file
// shrank (the connection then closes). After the changes stop and the
// revalidation interval passes, every worker serves exactly what is on
// disk.
func TestFaultFilesChanging(t *testing.T) {
	skBackends(t, func(t *testing.T, backend string) { testFaultFilesChanging(t, backend, false) })
}

// TestFaultFilesChangingH2C is TestFaultFilesChanging over h2c, where the
// io_uring engine sends a large file's frames from its mapping
// (httpcore.MappedFile): a truncated file must cut the answer (the send
// fails on a lost page), never send another file's bytes nor crash.
func TestFaultFilesChangingH2C(t *testing.T) {
	skBackends(t, func(t *testing.T, backend string) { testFaultFilesChanging(t, backend, true) })
}

func testFaultFilesChanging(t *testing.T, backend string, h2c bool) {
	const (
		nFiles     = 8
		revalidate = 100 * time.Millisecond
	)
	dur := skPick(2*time.Second, 60*time.Second)
	sizes := func(id int, rng *rand.Rand) int {
		if id < nFiles/2 {
			return 1 + rng.IntN(60<<10) // served from memory
		}
		return 100<<10 + rng.IntN(900<<10) // served from a descriptor
	}
	rng0 := rand.New(rand.NewPCG(7, 7))
	init := map[string][]byte{}
	for id := 0; id < nFiles; id++ {
		init[fmt.Sprintf("f%02d", id)] = skGenContent(id, 0, sizes(id, rng0))
	}
	root := skRoot(t, init)
	s, addr := skStart(t, backend, Config{H2C: h2c}, files.Config{Root: root, Revalidate: revalidate})
	_ = s

	var stop atomic.Bool
	var muts [5]atomic.Int64 // replace, truncate, in-place, delete, recreate
	var truncs skTruncs
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		rng := rand.New(rand.NewPCG(1, 1))
		gen := 0
		for !stop.Load() {
			id := rng.IntN(nFiles)
			p := filepath.Join(root, fmt.Sprintf("f%02d", id))
			gen++
			_, err := os.Stat(p)
			exists := err == nil
			switch k := rng.IntN(5); {
			case !exists:
				os.WriteFile(p, skGenContent(id, gen, sizes(id, rng)), 0o644)
				muts[4].Add(1)
			case k == 0:
				tmp := p + ".tmp"
				os.WriteFile(tmp, skGenContent(id, gen, sizes(id, rng)), 0o644)
				os.Rename(tmp, p)
				muts[0].Add(1)
			case k == 1:
				if st, err := os.Stat(p); err == nil && st.Size() > 0 {
					x := rng.Int64N(st.Size())
					truncs.add(id, x)
					os.Truncate(p, x)
				}
				muts[1].Add(1)
			case k == 2:
				// In place, same inode: only the same file's bytes again.
				if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
					st, _ := f.Stat()
					f.WriteAt(skGenContent(id, gen, int(st.Size())), 0)
					f.Close()
				}
				muts[2].Add(1)
			case k == 3:
				os.Remove(p)
				muts[3].Add(1)
			default:
				os.WriteFile(p, skGenContent(id, gen, sizes(id, rng)), 0o644) // O_TRUNC then write
				muts[0].Add(1)
			}
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}()

	var ok200, ok206, cut, notFound, other, tornN atomic.Int64
	var emu sync.Mutex
	var errs []error
	fail := func(err error) {
		emu.Lock()
		if len(errs) < 10 {
			errs = append(errs, err)
		}
		emu.Unlock()
	}
	// judge checks one answer for file id (whose range starts at off)
	// asked at sent; body is what arrived (all of it, or less when cut).
	judge := func(id int, off int64, status int, body []byte, sent time.Time, cutShort bool) {
		if status == 200 {
			off = 0
		}
		switch status {
		case 200, 206:
			nul, cerr := skCheckGen(id, off, body)
			if cerr != nil {
				fail(fmt.Errorf("f%02d status %d: %w", id, status, cerr))
			}
			if nul >= 0 {
				// A file served from memory may have been read while it
				// was truncated: its zeros last until the entry is
				// revalidated (hence a window before the request, wide
				// because revalidation waits for a request and the
				// machine may be loaded).
				if !truncs.explains(id, sent.Add(-revalidate-5*time.Second), nul) {
					fail(fmt.Errorf("f%02d status %d: NUL at file offset %d, and no truncation of the file to %d or less since shortly before the request", id, status, nul, nul))
				}
				tornN.Add(1)
			}
		case 404:
			notFound.Add(1)
		default:
			other.Add(1) // 416 after a truncation, 503 when a file kept changing
		}
		switch {
		case cutShort: // the file shrank while being sent
			cut.Add(1)
		case status == 200:
			ok200.Add(1)
		case status == 206:
			ok206.Add(1)
		}
	}
	var rwg sync.WaitGroup
	for g := 0; g < 8 && h2c; g++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rng := rand.New(rand.NewPCG(2, uint64(g)))
			for !stop.Load() {
				cl := skH2CClient()
				for k := 0; k < 20 && !stop.Load(); k++ {
					id := rng.IntN(nFiles)
					var off int64
					req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/f%02d", addr, id), nil)
					if rng.IntN(3) == 0 {
						off = rng.Int64N(64 << 10)
						req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+rng.Int64N(256<<10)))
					}
					sent := time.Now()
					resp, err := cl.Do(req)
					if err != nil { // the connection was cut before the head
						cut.Add(1)
						break
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					judge(id, off, resp.StatusCode, body, sent, err != nil)
					if err != nil {
						break
					}
				}
				cl.CloseIdleConnections()
			}
		}()
	}
	for g := 0; g < 8 && !h2c; g++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rng := rand.New(rand.NewPCG(2, uint64(g)))
			for !stop.Load() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					fail(err)
					return
				}
				br := bufio.NewReaderSize(c, 64<<10)
				for k := 0; k < 20 && !stop.Load(); k++ {
					c.SetDeadline(time.Now().Add(10 * time.Second))
					id := rng.IntN(nFiles)
					var off int64
					req := fmt.Sprintf("GET /f%02d HTTP/1.1\r\nHost: x\r\n\r\n", id)
					if rng.IntN(3) == 0 {
						off = rng.Int64N(64 << 10)
						req = fmt.Sprintf("GET /f%02d HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n\r\n", id, off, off+rng.Int64N(256<<10))
					}
					sent := time.Now()
					if _, err := io.WriteString(c, req); err != nil {
						fail(err)
						break
					}
					p, err := skReadResp(br, "GET")
					if err != nil && !errors.Is(err, skErrTruncated) {
						fail(fmt.Errorf("f%02d: %w", id, err))
						break
					}
					if p == nil { // cut inside the head
						cut.Add(1)
						break
					}
					judge(id, off, p.status, p.body, sent, err != nil)
					if err != nil {
						break
					}
					if p.close {
						break
					}
				}
				c.Close()
			}
		}()
	}
	time.Sleep(dur)
	stop.Store(true)
	mwg.Wait()
	rwg.Wait()
	t.Logf("%s h2c=%v: %v of changes: %d replaced, %d truncated, %d rewritten in place, %d deleted, %d recreated; responses: %d 200, %d 206, %d 404, %d other, %d cut short, %d with the zeros of a truncation",
		backend, h2c, dur, muts[0].Load(), muts[1].Load(), muts[2].Load(), muts[3].Load(), muts[4].Load(),
		ok200.Load(), ok206.Load(), notFound.Load(), other.Load(), cut.Load(), tornN.Load())
	for _, err := range errs {
		t.Error(err)
	}

	// No stale bytes once the revalidation interval has passed: every
	// worker (each has its own cache; connections spread over them) serves
	// what is on disk. A failing file is asked again for 2 more seconds to
	// tell a slow revalidation from an entry that stays wrong.
	time.Sleep(revalidate + 200*time.Millisecond)
	check := func(id int) []string {
		name := fmt.Sprintf("f%02d", id)
		want, err := os.ReadFile(filepath.Join(root, name))
		var bad []string
		for k := 0; k < 8; k++ {
			r, _, gerr := skGet(addr, "/"+name, 10*time.Second)
			switch {
			case gerr != nil:
				bad = append(bad, fmt.Sprintf("%s (%d bytes on disk, %v): %v", name, len(want), err, gerr))
			case err != nil && r.status != 404:
				bad = append(bad, fmt.Sprintf("%s is deleted, got %d", name, r.status))
			case err == nil && (r.status != 200 || !bytes.Equal(r.body, want)):
				bad = append(bad, fmt.Sprintf("%s: %d, %d bytes, want the %d bytes on disk", name, r.status, len(r.body), len(want)))
			}
		}
		return bad
	}
	for id := 0; id < nFiles; id++ {
		bad := check(id)
		if len(bad) == 0 {
			continue
		}
		t0 := time.Now()
		var still []string
		skWaitFor(2*time.Second, func() bool { still = check(id); return len(still) == 0 })
		for _, b := range bad {
			t.Errorf("after the changes: %s", b)
		}
		if len(still) > 0 {
			t.Errorf("f%02d still wrong %v later (%d of 8 requests): %s", id, time.Since(t0).Round(time.Millisecond), len(still), still[0])
		} else {
			t.Logf("f%02d right %v later", id, time.Since(t0).Round(time.Millisecond))
		}
	}
}

// skH2CClient is an HTTP/2 client by prior knowledge (h2c) on its own
// connections.
func skH2CClient() *http.Client {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestFaultFilesClassifier pins what TestFaultFilesChanging accepts: the
// file's own bytes, and NULs only at or after a recent truncation point,
// in any shape (to a page end, from a page boundary to the end, or followed
// by the file's bytes written again), never another file's bytes.
func TestFaultFilesClassifier(t *testing.T) {
	const id = 3
	file := func(off, n int) []byte { return skGenContent(id, 7, off+n)[off:] }
	zero := func(b []byte, from, to int) []byte {
		for i := from; i < to; i++ {
			b[i] = 0
		}
		return b
	}
	var tr skTruncs
	start := time.Now()
	tr.add(id, 5000)
	tr.add(id+1, 100) // another file's truncation explains nothing here
	for _, c := range []struct {
		name string
		off  int64
		body []byte
		ok   bool
	}{
		{"the file", 0, file(0, 9000), true},
		{"a range", 4097, file(4097, 3000), true},
		{"zeros to a page end", 0, zero(file(0, 12000), 5000, 8192), true},
		{"zeros from a page boundary to the end", 0, zero(file(0, 20000), 8192, 20000), true},
		{"zeros across pages, then the file again mid-page", 0, zero(file(0, 20000), 6000, 13000), true},
		{"zeros of a range past the truncation", 6000, zero(file(6000, 5000), 0, 5000), true},
		{"zeros before the truncation point", 0, zero(file(0, 9000), 4096, 8192), false},
		{"another file's bytes", 0, append(file(0, 32), skGenContent(id+1, 7, 64)[32:]...), false},
		{"another file's bytes after zeros", 0, append(zero(file(0, 5120), 5000, 5120), skGenContent(id+1, 7, 6000)[5120:]...), false},
	} {
		nul, err := skCheckGen(id, c.off, c.body)
		ok := err == nil && (nul < 0 || tr.explains(id, start, nul))
		if ok != c.ok {
			t.Errorf("%s: accepted %v (first NUL at %d, err %v), want %v", c.name, ok, nul, err, c.ok)
		}
	}
	if tr.explains(id, time.Now().Add(time.Second), 6000) {
		t.Error("a truncation before the window explains zeros")
	}
}
