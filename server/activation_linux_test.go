package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// inheritedFrom binds n SO_REUSEPORT sockets for each address, as an
// upgrading parent hands them over, named by names[i].
func inheritedFrom(t *testing.T, addrs, names []string, n int) []InheritedSocket {
	t.Helper()
	lns, bound, err := listenAll(addrs, n)
	if err != nil {
		t.Fatal(err)
	}
	var socks []InheritedSocket
	for i := range addrs {
		for w := range n {
			fd := lns[w][i]
			if _, err := checkListener(fd); err != nil {
				t.Fatal(err)
			}
			socks = append(socks, InheritedSocket{Fd: fd, Name: names[i], Addr: bound[i]})
		}
	}
	return socks
}

func TestSpreadInherited(t *testing.T) {
	for _, tc := range []struct {
		name           string
		socks, workers int
	}{
		{"one socket shared by three workers", 1, 3},
		{"as many sockets as workers", 3, 3},
		{"more sockets than workers", 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socks := inheritedFrom(t, []string{"127.0.0.1:0", "127.0.0.1:0"}, []string{"http", "https"}, tc.socks)
			lns, lnTLS, bound, isTLS, err := spreadInherited(socks, tc.workers)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, l := range lns {
					closeListeners(l)
				}
			}()
			if len(bound) != 2 || isTLS[0] || !isTLS[1] {
				t.Fatalf("addresses %v, TLS %v", bound, isTLS)
			}
			// Every worker has a socket of each address; every socket is
			// some worker's; each descriptor's TLS flag is its address's.
			seen := map[string]int{}
			for w := range tc.workers {
				if len(lns[w]) != len(lnTLS[w]) {
					t.Fatalf("worker %d: %d sockets, %d TLS flags", w, len(lns[w]), len(lnTLS[w]))
				}
				perAddr := map[string]int{}
				for j, fd := range lns[w] {
					sa, err := unix.Getsockname(fd)
					if err != nil {
						t.Fatal(err)
					}
					a := sockaddrToTCP(sa).String()
					perAddr[a]++
					if want := a == bound[1].String(); lnTLS[w][j] != want {
						t.Errorf("worker %d socket %d (%s): TLS %v", w, j, a, lnTLS[w][j])
					}
					cookie, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
					if err != nil {
						t.Fatal(err)
					}
					seen[fmt.Sprint(a, "/", cookie)]++
				}
				for _, b := range bound {
					if perAddr[b.String()] == 0 {
						t.Errorf("worker %d has no socket for %s", w, b)
					}
				}
			}
			if got := len(seen); got != 2*tc.socks {
				t.Errorf("%d distinct sockets in use, want %d", got, 2*tc.socks)
			}
		})
	}
}

// TestE2EInheritedSockets serves sockets handed over by an upgrading parent:
// five SO_REUSEPORT sockets for a plaintext address and five for an https
// one, on two workers. Every connection, whichever socket the kernel picks,
// is answered in its own protocol.
func TestE2EInheritedSockets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		fx := testTLSFixture(t)
		certs, err := tlsrec.NewCerts([]tlsrec.Pair{fx.pair})
		if err != nil {
			t.Fatal(err)
		}
		socks := inheritedFrom(t, []string{"127.0.0.1:0", "127.0.0.1:0"}, []string{ListenerHTTP, ListenerHTTPS}, 5)
		s := startServer(t, backend, newTestHandler(t), func(c *Config) {
			c.Inherit = socks
			c.TLS = &TLSConfig{Certs: certs}
		})
		addrs := s.Addrs()
		if len(addrs) != 2 {
			t.Fatalf("addresses %v", addrs)
		}
		for i := range 30 {
			c, err := net.Dial("tcp", addrs[0].String())
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, get("/mem/5"))
			resp, err := http.ReadResponse(bufioReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("plaintext %d: %v %v", i, resp, err)
			}
			c.Close()
			tc, err := tls.Dial("tcp", addrs[1].String(), clientTLS(t))
			if err != nil {
				t.Fatalf("TLS %d: %v", i, err)
			}
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(tc, get("/mem/5"))
			resp, err = http.ReadResponse(bufioReader(tc), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("TLS %d: %v %v", i, resp, err)
			}
			tc.Close()
		}
	})
}
