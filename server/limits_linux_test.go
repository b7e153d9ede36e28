package server

import (
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestE2EAcceptEMFILE lowers RLIMIT_NOFILE so the worker's accept fails
// with EMFILE: the worker must back off (a bounded number of retries, not a
// spin) and serve the waiting clients once descriptors are available.
func TestE2EAcceptEMFILE(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, func(c *Config) { c.Workers = 1 })
		var old unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
		clients := make([]net.Conn, 0, 3)
		func() {
			// The clients' sockets are created before the limit drops, so
			// only the server's accept runs out of descriptors.
			var socks []int
			for range 3 {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				socks = append(socks, fd)
			}
			open := countOpenFds(t)
			lim := old
			lim.Cur = uint64(open)
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Skip("cannot lower RLIMIT_NOFILE: ", err)
			}
			defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
			before := s.testMetrics(t).AcceptBackoffs()
			addr := s.Addrs()[0].(*net.TCPAddr)
			sa := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
			for _, fd := range socks {
				if err := unix.Connect(fd, sa); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(350 * time.Millisecond)
			n := s.testMetrics(t).AcceptBackoffs() - before
			if n == 0 && backend == BackendUring {
				// A ring accepting into direct descriptors is not bound by
				// RLIMIT_NOFILE; the clients must still be served.
				t.Log("uring: no EMFILE (direct descriptors)")
			} else if n == 0 {
				t.Fatal("no accept backoff while out of descriptors")
			}
			if n > 10 {
				t.Fatalf("%d accept backoffs in 350ms: the worker spins", n)
			}
			for _, fd := range socks {
				f := os.NewFile(uintptr(fd), "client")
				c, err := net.FileConn(f) // dups: needs the limit back
				if err != nil {
					unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
					c, err = net.FileConn(f)
					if err != nil {
						t.Fatal(err)
					}
				}
				f.Close()
				clients = append(clients, c)
			}
		}()
		for i, c := range clients {
			rc := &rawConn{Conn: c, r: bufioReader(c)}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			rc.send(t, get("/mem/5"))
			resp, body := rc.response(t, "GET")
			if resp.StatusCode != 200 || len(body) != 5 {
				t.Fatalf("client %d after the limit came back: %d, %d bytes", i, resp.StatusCode, len(body))
			}
			c.Close()
		}
	})
}

func countOpenFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd: ", err)
	}
	return len(ents) - 1 // the directory's own descriptor
}

func TestE2EPinnedWorkers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, func(c *Config) { c.Pin = true; c.Workers = 2 })
		for range 4 {
			c := dialRaw(t, s)
			c.send(t, get("/mem/9"))
			if resp, body := c.response(t, "GET"); resp.StatusCode != 200 || len(body) != 9 {
				t.Fatalf("pinned worker: %d, %d bytes", resp.StatusCode, len(body))
			}
		}
	})
}
