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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// skOutcome counts what happened to responses under a shutdown.
type skOutcome struct {
	complete    atomic.Int64 // whole response, content verified
	neverBegun  atomic.Int64 // connection ended (or refused) before its first byte
	truncated   atomic.Int64 // connection ended inside it
	wrong       atomic.Int64 // complete but with bad content or status
	closeMarked atomic.Int64 // complete responses carrying Connection: close
	dials       atomic.Int64
	refused     atomic.Int64 // dials refused (listener closed)
}

// TestFaultSIGTERMUnderLoad sends SIGTERM to a child server while clients
// keep requesting small, cached and large files (keep-alive and pipelined).
// Every response must be either complete or never started: zero truncated
// responses. The child must exit 0 within its shutdown timeout.
func TestFaultSIGTERMUnderLoad(t *testing.T) {
	skBackends(t, testFaultSIGTERMUnderLoad)
}

func testFaultSIGTERMUnderLoad(t *testing.T, backend string) {
	const shutdownTimeout = 5 * time.Second
	rounds := skPick(1, 10)
	fs := map[string][]byte{}
	for name, n := range map[string]int{"big": 1 << 20, "mid": 48 << 10, "small": 1000} {
		fs[name] = skContent(name, n)
	}
	root := skRoot(t, fs)
	names := []string{"big", "mid", "small", "small", "mid"}
	var total skOutcome
	for round := 0; round < rounds; round++ {
		ch := skStartChild(t, backend, root, map[string]string{"SHUTDOWN_TIMEOUT": shutdownTimeout.String()})
		var o skOutcome
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					skSigtermSession(ch.addr, fs, names, rng, &o)
				}
			}()
		}
		time.Sleep(time.Second)
		before := o.complete.Load()
		t0 := time.Now()
		if err := ch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		var exited time.Duration
		select {
		case <-ch.done:
			exited = time.Since(t0)
		case <-time.After(shutdownTimeout + 5*time.Second):
			t.Fatalf("child still running %v after SIGTERM (shutdown timeout %v)", time.Since(t0), shutdownTimeout)
		}
		close(stop)
		wg.Wait()
		var last string
		for l := range ch.out {
			last = l
		}
		t.Logf("%s round %d: exited %v after SIGTERM (%q, %v); responses: %d complete (%d after SIGTERM, %d with Connection: close), %d never started, %d truncated, %d wrong; %d connections, %d refused",
			backend, round, exited.Round(time.Millisecond), last, ch.werr, o.complete.Load(), o.complete.Load()-before, o.closeMarked.Load(), o.neverBegun.Load(), o.truncated.Load(), o.wrong.Load(), o.dials.Load(), o.refused.Load())
		if ch.werr != nil || (!ch.binary && last != "FAULT_DONE ok") {
			t.Errorf("child exit: %v, last line %q; stderr: %s", ch.werr, last, ch.errb.String())
		}
		if exited > shutdownTimeout+2*time.Second {
			t.Errorf("child took %v to exit, shutdown timeout %v", exited, shutdownTimeout)
		}
		total.truncated.Add(o.truncated.Load())
		total.wrong.Add(o.wrong.Load())
		total.complete.Add(o.complete.Load())
	}
	if n := total.truncated.Load(); n > 0 {
		t.Errorf("%d truncated responses", n)
	}
	if n := total.wrong.Load(); n > 0 {
		t.Errorf("%d wrong responses", n)
	}
	if total.complete.Load() == 0 {
		t.Error("no complete response at all")
	}
}

// skSigtermSession runs one connection: 1-4 requests written at once
// (pipelined), then read; classifies every response into o.
func skSigtermSession(addr string, fs map[string][]byte, names []string, rng *rand.Rand, o *skOutcome) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		// Refused once the listener is closed: nothing started.
		o.refused.Add(1)
		time.Sleep(10 * time.Millisecond)
		return
	}
	o.dials.Add(1)
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReaderSize(c, 64<<10)
	for keep := 0; keep < 1+rng.IntN(4); keep++ {
		n := 1 + rng.IntN(4)
		var req strings.Builder
		want := make([]string, n)
		for i := range want {
			want[i] = names[rng.IntN(len(names))]
			fmt.Fprintf(&req, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", want[i])
		}
		if _, err := io.WriteString(c, req.String()); err != nil {
			o.neverBegun.Add(int64(n))
			return
		}
		for i, name := range want {
			p, err := skReadResp(br, "GET")
			switch {
			case errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, skErrTruncated) && !skIsTimeout(err)):
				o.neverBegun.Add(int64(n - i))
				return
			case err != nil:
				o.truncated.Add(1)
				return
			}
			if p.status != 200 || !bytes.Equal(p.body, fs[name]) {
				o.wrong.Add(1)
				return
			}
			o.complete.Add(1)
			if p.close {
				o.closeMarked.Add(1)
				// Nothing after Connection: close.
				if i < n-1 {
					if _, err := skReadResp(br, "GET"); err == nil {
						o.wrong.Add(1)
					} else {
						o.neverBegun.Add(int64(n - i - 1))
					}
				}
				return
			}
		}
	}
}
