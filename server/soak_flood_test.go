//go:build linux

package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// skFloodCase is an oversized request and the status it must get.
type skFloodCase struct {
	name   string
	status int
	req    string
}

// skFloods returns the oversized requests for a server with the default
// head limits and Limits.MaxBody = maxBody.
func skFloods(maxBody int) []skFloodCase {
	var fields strings.Builder
	fields.WriteString("GET /f HTTP/1.1\r\nHost: x\r\n")
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&fields, "X-F%d: %d\r\n", i, i)
	}
	fields.WriteString("\r\n")
	var chunked strings.Builder
	chunked.WriteString("POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := strings.Repeat("c", 16<<10)
	for n := 0; n <= maxBody; n += len(chunk) {
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	chunked.WriteString("0\r\n\r\n")
	// Framing is bounded by MaxBody/8 + 16 KiB; each 1-byte chunk costs 5.
	framing := (maxBody/8 + 16<<10) / 5 * 2
	return []skFloodCase{
		{"header section over 16 KiB", 431, "GET /f HTTP/1.1\r\nHost: x\r\n" +
			strings.Repeat("X-Pad: "+strings.Repeat("p", 90)+"\r\n", 60) +
			"X-Big: " + strings.Repeat("b", 12<<10) + "\r\n\r\n"},
		{"more than 100 fields", 431, fields.String()},
		{"endless header line", 431, "GET /f HTTP/1.1\r\nHost: x\r\nX-Endless: " + strings.Repeat("e", 256<<10)},
		{"request line over 8 KiB", 414, "GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"endless request line", 414, "GET /" + strings.Repeat("a", 256<<10)},
		// The file handler never reads bodies (httpcore.BodyIgnorer): a
		// request with one is answered 405 from its head and the
		// connection closes; the body is never buffered.
		{"Content-Length over MaxBody", 405, fmt.Sprintf("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 2*maxBody) + strings.Repeat("x", 4096)},
		{"chunk size over MaxBody", 405, fmt.Sprintf("POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", 2*maxBody) + strings.Repeat("c", 4096)},
		{"chunked framing flood", 405, "POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1\r\nc\r\n", framing) + "0\r\n\r\n"},
		{"chunked body over MaxBody", 405, chunked.String()},
	}
}

// skFlood sends req on a new connection, reads the answer and the close.
func skFlood(addr, req string, want int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Write concurrently: the server may answer before it has read all.
	// The FIN after the request ends the server's lingering close at once.
	go func() {
		io.WriteString(c, req)
		c.(*net.TCPConn).CloseWrite()
	}()
	br := bufio.NewReader(c)
	p, err := skReadResp(br, "GET")
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if p.status != want || !p.close {
		return fmt.Errorf("got %d (Connection: close %v), want %d and close", p.status, p.close, want)
	}
	if _, err := br.ReadByte(); err != io.EOF && !skIsReset(err) {
		return fmt.Errorf("after the %d: %v, want EOF", want, err)
	}
	return nil
}

// TestSoakFloods sends header floods and oversized requests (431, 414, 405)
// from concurrent clients: each gets its status and a close, and neither the
// process's RSS nor its descriptors grow across thousands of them.
func TestSoakFloods(t *testing.T) {
	skBackends(t, testSoakFloods)
}

func testSoakFloods(t *testing.T, backend string) {
	root := skRoot(t, map[string][]byte{"f": []byte("file\n")})
	// The short form lowers MaxBody to 64 KiB: parsing megabytes of body
	// under the race detector takes too long for CI; the limits work the
	// same way.
	maxBody := skPick(64<<10, 1<<20)
	cases := skFloods(maxBody)
	_, addr := skStart(t, backend, Config{Limits: httpcore.Limits{MaxBody: int64(maxBody)}}, files.Config{Root: root})
	port := skPort(addr)
	total := skPick(900, 10000)
	if v, err := strconv.Atoi(os.Getenv("RINGHTTPD_SOAK_REQUESTS")); err == nil && v > 0 {
		total = v
	}
	run := func(n int) []error {
		var next atomic.Int64
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					fc := &cases[i%len(cases)]
					if err := skFlood(addr, fc.req, fc.status); err != nil {
						mu.Lock()
						if len(errs) < 20 {
							errs = append(errs, fmt.Errorf("%s: %w", fc.name, err))
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return errs
	}
	// The warm-up touches every buffer of the uring engine's provided-buffer
	// rings (2048 x 4 KiB per worker, mapped once, reused for ever) so that
	// they count in the baseline.
	for _, err := range run(len(cases) * 40) {
		t.Fatalf("warm-up: %v", err)
	}
	skWaitFor(3*time.Second, func() bool { return skServerConns(port) == 0 })
	before := skMeasure("self")
	t0 := time.Now()
	for _, err := range run(total) {
		t.Error(err)
	}
	elapsed := time.Since(t0)
	if !skWaitFor(3*time.Second, func() bool { return skServerConns(port) == 0 }) {
		t.Errorf("%d server connections still open after the floods", skServerConns(port))
	}
	var after skUsage
	skWaitFor(2*time.Second, func() bool {
		after = skMeasure("self")
		return after.fds <= before.fds && after.heap <= before.heap
	})
	t.Logf("%s: %d oversized requests in %v", backend, total, elapsed.Round(time.Millisecond))
	t.Logf("before: %v", before)
	t.Logf("after:  %v", after)
	if !skWithin(int64(before.fds), int64(after.fds), 2, 0.05) {
		t.Errorf("open descriptors %d -> %d", before.fds, after.fds)
	}
	skCheckMemory(t, before, after, 2<<20)
}
