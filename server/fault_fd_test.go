//go:build linux

package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestFaultFDExhaustion runs the server with RLIMIT_NOFILE set (prlimit)
// to its baseline descriptors plus 24, then connects more clients than
// that. The connections already accepted keep being served, the server
// does not spin while accept fails with EMFILE (its CPU time over 2 s of
// being stuck is measured), and once clients go away the waiting
// connections are accepted and answered.
func TestFaultFDExhaustion(t *testing.T) {
	skBackends(t, testFaultFDExhaustion)
}

func testFaultFDExhaustion(t *testing.T, backend string) {
	const spare = 24
	nClients := skPick(80, 2000)
	root := skRoot(t, map[string][]byte{"small.txt": []byte("small file\n")})
	// Cached entries are not revalidated during the test: a revalidation
	// needs a descriptor, and the point here is the sockets.
	env := map[string]string{"REVALIDATE": "1h"}
	// warm fills every worker's file cache (SO_REUSEPORT spreads
	// connections over the workers) so serving needs no descriptor beyond
	// the socket.
	warm := func(ch *skChild) {
		for i := 0; i < 40; i++ {
			if r, _, err := skGet(ch.addr, "/small.txt", 5*time.Second); err != nil || r.status != 200 {
				t.Fatalf("warm-up: %v %v", r, err)
			}
		}
	}
	// A first child measures the baseline; the second starts with the
	// limit (the uring engine's accepts take the limit in force when they
	// are armed, as io_uring does, so it must be set before Start).
	ch := skStartChild(t, backend, root, env)
	warm(ch)
	base := ch.usage()
	ch.kill()
	lim := base.fds + spare
	env["NOFILE"] = fmt.Sprint(lim)
	ch = skStartChild(t, backend, root, env)
	warm(ch)
	base = ch.usage()

	get := func(c net.Conn, br *bufio.Reader) error {
		if _, err := io.WriteString(c, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		p, err := skReadResp(br, "GET")
		if err != nil {
			return err
		}
		if p.status != 200 || string(p.body) != "small file\n" {
			return fmt.Errorf("got %d %q", p.status, p.body)
		}
		return nil
	}
	type client struct {
		c      net.Conn
		br     *bufio.Reader
		served chan error
	}
	clients := make([]*client, nClients)
	for i := range clients {
		c, err := net.Dial("tcp", ch.addr) // completes in the listen backlog
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		cl := &client{c: c, br: bufio.NewReader(c), served: make(chan error, 1)}
		clients[i] = cl
		go func() { cl.served <- get(c, cl.br) }()
	}
	defer func() {
		for _, cl := range clients {
			cl.c.Close()
		}
	}()
	// Give the server time to accept what it can.
	time.Sleep(time.Second)
	var served, waiting []*client
	for _, cl := range clients {
		select {
		case err := <-cl.served:
			if err != nil {
				t.Fatalf("a client accepted before the limit: %v", err)
			}
			served = append(served, cl)
		default:
			waiting = append(waiting, cl)
		}
	}
	t.Logf("%s: limit %d descriptors (baseline %d): %d clients served, %d waiting", backend, lim, base.fds, len(served), len(waiting))
	if len(served) == 0 || len(waiting) == 0 {
		t.Fatalf("want some clients served and some waiting, got %d and %d", len(served), len(waiting))
	}

	// Stuck: accept fails; the server must idle, not spin.
	cpu0 := ch.cpu()
	time.Sleep(2 * time.Second)
	stuckCPU := ch.cpu() - cpu0
	t.Logf("%s: CPU while stuck at the descriptor limit for 2 s: %v", backend, stuckCPU)
	if stuckCPU > 400*time.Millisecond {
		t.Errorf("server used %v of CPU in 2 s while out of descriptors: busy loop", stuckCPU)
	}
	// Existing connections are still served (keep-alive).
	for i, cl := range served {
		cl.c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := get(cl.c, cl.br); err != nil {
			t.Errorf("served client %d, second request while stuck: %v", i, err)
		}
	}
	for _, cl := range waiting {
		select {
		case err := <-cl.served:
			t.Errorf("a waiting client was answered (%v) while no descriptor was free", err)
		default:
		}
	}
	// Free descriptors: the waiting connections are accepted and answered.
	// Each closes after its answer, making room for the next.
	for _, cl := range served {
		cl.c.Close()
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed int
	for _, cl := range waiting {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			select {
			case err = <-cl.served:
			case <-time.After(15 * time.Second):
				err = fmt.Errorf("not answered 15 s after descriptors were freed")
			}
			cl.c.Close()
			if err != nil {
				mu.Lock()
				failed++
				if failed <= 5 {
					t.Errorf("waiting client: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%s: %d waiting clients answered %v after descriptors were freed (%d failed)", backend, len(waiting)-failed, time.Since(t0).Round(time.Millisecond), failed)
	// Back to the baseline once everybody left.
	var after skUsage
	skWaitFor(5*time.Second, func() bool { after = ch.usage(); return after.fds <= base.fds })
	t.Logf("%s: child before %v; after %v", backend, base, after)
	if after.fds > base.fds {
		t.Errorf("child descriptors %d -> %d", base.fds, after.fds)
	}
}
