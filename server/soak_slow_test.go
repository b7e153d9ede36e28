//go:build linux

package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
)

// TestSoakSlowClients holds a few hundred slowloris connections (a request
// head trickled a header line at a time, never finished) and slow readers
// (a large file asked for and never read) against the server, while a probe
// client asks for a small file every 100 ms. The probe must keep being
// served, every slowloris connection must be closed by the header timeout
// (not earlier, not much later), and every slow reader by the send timeout.
func TestSoakSlowClients(t *testing.T) {
	skBackends(t, testSoakSlowClients)
}

func testSoakSlowClients(t *testing.T, backend string) {
	const (
		headerTimeout = time.Second
		sendTimeout   = time.Second
	)
	nSlow := skPick(300, 3000)
	nReaders := skPick(50, 500)
	big := bytes.Repeat([]byte("0123456789abcdef"), (8<<20)/16)
	root := skRoot(t, map[string][]byte{"small.txt": []byte("probe ok\n"), "big.bin": big})
	s, addr := skStart(t, backend, Config{
		HeaderTimeout: headerTimeout,
		IdleTimeout:   2 * time.Second,
		SendTimeout:   sendTimeout,
	}, files.Config{Root: root})
	timeouts0 := s.testMetrics(t).Timeouts()

	var wg sync.WaitGroup
	type slowResult struct {
		open time.Duration // first byte sent to connection closed by the server
		err  error
	}
	slow := make([]slowResult, nSlow)
	stop := make(chan struct{})
	for i := range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial slowloris %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			t0 := time.Now()
			if _, err := io.WriteString(c, "GET /small.txt HTTP/1.1\r\nHost: x\r\n"); err != nil {
				slow[i].err = err
				return
			}
			closed := make(chan struct{})
			go func() {
				// The server either says 408 or just closes; either way the
				// read ends when the connection does.
				c.SetReadDeadline(time.Now().Add(headerTimeout + 5*time.Second))
				_, err := io.Copy(io.Discard, c)
				slow[i].open = time.Since(t0)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					slow[i].err = errors.New("still open 5 s after the header timeout")
				}
				close(closed)
			}()
			tk := time.NewTicker(200 * time.Millisecond)
			defer tk.Stop()
			for n := 0; ; n++ {
				select {
				case <-closed:
					return
				case <-stop:
					<-closed
					return
				case <-tk.C:
					// Errors here mean the server closed: the reader sees it.
					fmt.Fprintf(c, "X-Slow-%d: %d\r\n", n, n)
				}
			}
		}()
	}

	for i := 0; i < nReaders; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial slow reader %d: %v", i, err)
		}
		c.(*net.TCPConn).SetReadBuffer(4096)
		if _, err := io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			// Never read: only the send timeout can end this connection.
			defer wg.Done()
			<-stop
			c.Close()
		}()
	}
	readersStarted := time.Now()

	// The probe.
	var lat []time.Duration
	var probeErrs []error
	probeEnd := time.Now().Add(headerTimeout + 1500*time.Millisecond)
	for time.Now().Before(probeEnd) {
		r, d, err := skGet(addr, "/small.txt", 5*time.Second)
		switch {
		case err != nil:
			probeErrs = append(probeErrs, err)
		case r.status != 200 || string(r.body) != "probe ok\n":
			probeErrs = append(probeErrs, fmt.Errorf("probe got %d %q", r.status, r.body))
		default:
			lat = append(lat, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every slow connection must be closed by the server by now. (An
	// orphaned socket still trickling a slow reader's bytes is closed as far
	// as the server is concerned: skServerConns skips it.)
	port := skPort(addr)
	var left int
	ok := skWaitFor(time.Until(readersStarted.Add(sendTimeout+2*time.Second)), func() bool {
		left = skServerConns(port)
		return left == 0
	})
	close(stop)
	wg.Wait()

	maxd, p99 := skLatencies(lat)
	t.Logf("%s: %d slowloris + %d slow readers: probe %d requests, max %v p99 %v", backend, nSlow, nReaders, len(lat), maxd, p99)
	for _, err := range probeErrs {
		t.Errorf("probe: %v", err)
	}
	if len(lat) == 0 {
		t.Fatal("the probe was never served")
	}
	var earliest, latest time.Duration = time.Hour, 0
	for i, r := range slow {
		if r.err != nil {
			t.Errorf("slowloris %d: %v", i, r.err)
			continue
		}
		earliest, latest = min(earliest, r.open), max(latest, r.open)
	}
	t.Logf("slowloris connections closed after %v .. %v (header timeout %v)", earliest, latest, headerTimeout)
	// The timer is exact to the loop's wake-up (at least once a second).
	if earliest < headerTimeout-50*time.Millisecond {
		t.Errorf("a slowloris connection was closed after %v, before the header timeout %v", earliest, headerTimeout)
	}
	if latest > headerTimeout+2*time.Second {
		t.Errorf("a slowloris connection stayed open %v, header timeout %v", latest, headerTimeout)
	}
	if !ok {
		t.Errorf("%d server-side connections still open %v after the slow readers started (send timeout %v)", left, time.Since(readersStarted), sendTimeout)
	}
	t.Logf("server-side connections left: %d; server timeouts counted: %d", left, s.testMetrics(t).Timeouts()-timeouts0)
	if n := s.testMetrics(t).Timeouts() - timeouts0; n < int64(nSlow+nReaders) {
		t.Errorf("server counted %d timeouts, want at least %d", n, nSlow+nReaders)
	}
}
