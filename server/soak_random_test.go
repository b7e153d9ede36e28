//go:build linux

package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
)

// skContent returns n bytes that differ from those of any other (name,
// offset): each 16-byte block names the file and the block's offset.
func skContent(name string, n int) []byte {
	var b bytes.Buffer
	for off := 0; b.Len() < n; off += 16 {
		fmt.Fprintf(&b, "%-5.5s%010d\n", name, off)
	}
	return b.Bytes()[:n]
}

// skRandom drives one connection through a randomly chosen behaviour and
// reports how many requests it sent.
type skRandom struct {
	addr  string
	files map[string][]byte
	names []string
	rng   *rand.Rand

	// Reused across sessions: a million requests would otherwise allocate
	// tens of GB in the test process (see skReadRespInto).
	br   *bufio.Reader
	body []byte
	drop []byte
}

// skBehaviours are the kinds of client skRandom plays.
var skBehaviours = []string{"keepalive", "pipeline", "reset", "halfclose", "range-abandon", "garbage", "connect-close"}

func (r *skRandom) path() string { return r.names[r.rng.IntN(len(r.names))] }

// request returns a random valid request for path and what to expect.
func (r *skRandom) request(path string, last bool) (req string, method string, check func(*skResp) error) {
	want, exists := r.files[path]
	conn := ""
	if last {
		conn = "Connection: close\r\n"
	}
	switch k := r.rng.IntN(10); {
	case k == 0:
		return fmt.Sprintf("HEAD /%s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, conn), "HEAD", func(p *skResp) error {
			if exists && (p.status != 200 || p.clen != int64(len(want))) {
				return fmt.Errorf("HEAD /%s: %d clen %d", path, p.status, p.clen)
			}
			return nil
		}
	case k == 1 && exists && len(want) > 10:
		a := r.rng.IntN(len(want) - 1)
		b := a + r.rng.IntN(len(want)-a)
		return fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n%s\r\n", path, a, b, conn), "GET", func(p *skResp) error {
			if p.status != 206 || !bytes.Equal(p.body, want[a:b+1]) {
				return fmt.Errorf("range %d-%d of /%s: %d, %d bytes", a, b, path, p.status, len(p.body))
			}
			return nil
		}
	default:
		return fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: x\r\nUser-Agent: soak\r\n%s\r\n", path, conn), "GET", func(p *skResp) error {
			switch {
			case !exists && p.status != 404:
				return fmt.Errorf("GET /%s: %d, want 404", path, p.status)
			case exists && (p.status != 200 || !bytes.Equal(p.body, want)):
				return fmt.Errorf("GET /%s: %d, %d bytes (want %d), content differs", path, p.status, len(p.body), len(want))
			}
			return nil
		}
	}
}

// session plays one connection. Errors are protocol violations by the
// server; the connection ending where the behaviour made it end is not one.
func (r *skRandom) session(kind string) (int, error) {
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if r.br == nil {
		r.br = bufio.NewReaderSize(c, 16<<10)
	}
	br := r.br
	br.Reset(c)
	switch kind {
	case "keepalive", "pipeline", "halfclose":
		n := 1 + r.rng.IntN(8)
		if kind == "pipeline" {
			n = 2 + r.rng.IntN(15)
		}
		type exp struct {
			method string
			check  func(*skResp) error
		}
		var exps []exp
		var batch strings.Builder
		for i := 0; i < n; i++ {
			req, m, check := r.request(r.path(), kind != "keepalive" && i == n-1 && r.rng.IntN(2) == 0)
			exps = append(exps, exp{m, check})
			if kind == "keepalive" {
				if _, err := io.WriteString(c, req); err != nil {
					return i, err
				}
				p, err := skReadRespInto(br, m, &r.body)
				if err != nil {
					return i + 1, fmt.Errorf("keepalive request %d: %w", i, err)
				}
				if err := check(p); err != nil {
					return i + 1, err
				}
				continue
			}
			batch.WriteString(req)
		}
		if kind == "keepalive" {
			return n, nil
		}
		if _, err := io.WriteString(c, batch.String()); err != nil {
			return n, err
		}
		if kind == "halfclose" {
			c.(*net.TCPConn).CloseWrite()
		}
		for i, e := range exps {
			p, err := skReadRespInto(br, e.method, &r.body)
			if err != nil {
				return n, fmt.Errorf("%s request %d of %d: %w", kind, i, n, err)
			}
			if err := e.check(p); err != nil {
				return n, err
			}
			if p.close && i != n-1 {
				return n, fmt.Errorf("%s: Connection: close on response %d of %d", kind, i, n)
			}
		}
		if kind == "halfclose" {
			// The server must close after the last answer.
			if _, err := br.ReadByte(); err != io.EOF && !skIsReset(err) {
				return n, fmt.Errorf("halfclose: after the answers: %v, want EOF", err)
			}
		}
		return n, nil
	case "reset", "range-abandon":
		big := r.names[0] // the largest file
		req := fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", big)
		if kind == "range-abandon" {
			req = fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-\r\n\r\n", big, r.rng.IntN(1000))
		}
		if _, err := io.WriteString(c, req); err != nil {
			return 1, err
		}
		if cap(r.drop) < 64<<10 {
			r.drop = make([]byte, 64<<10)
		}
		buf := r.drop[:1+r.rng.IntN(64<<10)]
		if _, err := io.ReadFull(br, buf); err != nil {
			return 1, fmt.Errorf("%s: first %d bytes: %w", kind, len(buf), err)
		}
		if kind == "reset" {
			c.(*net.TCPConn).SetLinger(0)
		}
		return 1, nil
	case "garbage":
		req, m, check := r.request(r.path(), false)
		if _, err := io.WriteString(c, req+"GET /x HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n"+req); err != nil {
			return 2, err
		}
		p, err := skReadRespInto(br, m, &r.body)
		if err != nil {
			return 2, fmt.Errorf("garbage: first answer: %w", err)
		}
		if err := check(p); err != nil {
			return 2, err
		}
		p, err = skReadRespInto(br, "GET", &r.body)
		if err != nil || p.status != 400 || !p.close {
			return 2, fmt.Errorf("garbage: got %v %v, want 400 with Connection: close", p, err)
		}
		if _, err := br.ReadByte(); err != io.EOF && !skIsReset(err) {
			return 2, fmt.Errorf("garbage: after 400: %v, want EOF (nothing after a framing error is parsed)", err)
		}
		return 2, nil
	case "connect-close":
		return 0, nil
	}
	return 0, fmt.Errorf("unknown behaviour %q", kind)
}

// TestSoakRandomClients runs random client behaviour (keep-alive reuse,
// pipelined bursts, resets mid-response, half-closes, abandoned ranges,
// framing errors, connect-and-close) for 20,000 requests (1,000,000 with
// RINGHTTPD_SOAK=long), then checks that the process's descriptors,
// goroutines, RSS, the server's connections and the rings' armed
// operations are back to their baseline (within 5 %).
func TestSoakRandomClients(t *testing.T) {
	skBackends(t, testSoakRandomClients)
}

func testSoakRandomClients(t *testing.T, backend string) {
	total := skPick(5000, 1000000)
	if v, err := strconv.Atoi(os.Getenv("RINGHTTPD_SOAK_REQUESTS")); err == nil && v > 0 {
		total = v
	}
	fs := map[string][]byte{}
	for name, n := range map[string]int{"big": 300 << 10, "mid": 48 << 10, "small": 1000, "tiny": 10, "empty": 0} {
		fs[name] = skContent(name, n)
	}
	root := skRoot(t, fs)
	s, addr := skStart(t, backend, Config{HeaderTimeout: 2 * time.Second}, files.Config{Root: root})
	_ = s
	names := []string{"big", "mid", "small", "tiny", "empty", "missing"}
	port := skPort(addr)

	var slowSessions map[string]int
	run := func(requests int, seed uint64) (int64, map[string]int, []error) {
		const workers = 16
		var sent atomic.Int64
		var mu sync.Mutex
		var errs []error
		kinds := map[string]int{}
		slowSessions = map[string]int{}
		var wg sync.WaitGroup
		for g := 0; g < workers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &skRandom{addr: addr, files: fs, names: names, rng: rand.New(rand.NewPCG(seed, uint64(g)))}
				local := map[string]int{}
				for sent.Load() < int64(requests) {
					kind := skBehaviours[r.rng.IntN(len(skBehaviours))]
					t0 := time.Now()
					n, err := r.session(kind)
					if d := time.Since(t0); d > time.Second {
						mu.Lock()
						slowSessions[kind]++
						mu.Unlock()
					}
					sent.Add(int64(n))
					local[kind]++
					if err != nil {
						mu.Lock()
						if len(errs) < 20 {
							errs = append(errs, fmt.Errorf("%s: %w", kind, err))
						}
						mu.Unlock()
						if len(errs) >= 20 {
							return
						}
					}
				}
				mu.Lock()
				for k, v := range local {
					kinds[k] += v
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		return sent.Load(), kinds, errs
	}
	settle := func() bool {
		// Resets and lingering closes take up to the linger timeout (1 s).
		return skWaitFor(5*time.Second, func() bool { return skServerConns(port) == 0 })
	}

	skWarmRecvBuffers(t, addr, "/tiny", 6000)
	if _, _, errs := run(2000, 1); len(errs) > 0 {
		t.Fatalf("warm-up: %v", errors.Join(errs...))
	}
	if !settle() {
		t.Fatalf("after warm-up %d server connections remain", skServerConns(port))
	}
	before := skMeasure("self")
	t0 := time.Now()
	sent, kinds, errs := run(total, 2)
	elapsed := time.Since(t0)
	for _, err := range errs {
		t.Error(err)
	}
	if !settle() {
		t.Errorf("%d server connections still open 5 s after the clients finished", skServerConns(port))
	}
	var after skUsage
	// Goroutines of the finished clients and the runtime's own may take a
	// moment to exit.
	skWaitFor(2*time.Second, func() bool {
		after = skMeasure("self")
		return after.goroutines <= before.goroutines && after.fds-after.pipes <= before.fds-before.pipes && after.ringPolls <= before.ringPolls
	})
	t.Logf("%s: %d requests in %v (%.0f/s), sessions %v (longer than 1 s: %v)", backend, sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), kinds, slowSessions)
	t.Logf("before: %v", before)
	t.Logf("after:  %v", after)
	// Pipes: the uring engine's splice pipe pool, 64 per worker (2).
	skCheckFDs(t, before, after, before.pipes+2*2*64)
	if !skWithin(int64(before.goroutines), int64(after.goroutines), 2, 0.05) {
		t.Errorf("goroutines %d -> %d", before.goroutines, after.goroutines)
	}
	if !skWithin(int64(before.ringPolls), int64(after.ringPolls), 0, 0.05) {
		t.Errorf("armed ring operations %d -> %d", before.ringPolls, after.ringPolls)
	}
	skCheckMemory(t, before, after, 2<<20)
}
