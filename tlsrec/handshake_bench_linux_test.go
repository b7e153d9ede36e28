package tlsrec

import (
	"crypto/tls"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

var cpuHookOnce sync.Once

// measureHelperCPU makes every helper record its CPU time in h.cpu (the
// helper is locked to its thread while it runs a handshake; waiting for
// input costs no CPU).
func measureHelperCPU() {
	cpuHookOnce.Do(func() {
		helperHook = func(h *Handshake, run func()) {
			runtime.LockOSThread()
			t0 := threadCPU()
			run()
			h.cpu = threadCPU() - t0
			runtime.UnlockOSThread()
		}
	})
}

// BenchmarkHandshake reports the server's CPU per handshake on the helper
// goroutine (server-µs/op) with an ECDSA P-256 certificate (and one RSA
// 2048 case), full and resumed; ns/op is wall time with the client in the
// same process.
func BenchmarkHandshake(b *testing.B) {
	measureHelperCPU()
	env := newEnv(b, HandshakerOptions{})
	cases := []struct {
		name   string
		vers   uint16
		sni    string
		resume bool
	}{
		{"1.3-ecdsa-full", tls.VersionTLS13, "ec.example", false},
		{"1.3-ecdsa-resumed", tls.VersionTLS13, "ec.example", true},
		{"1.2-ecdsa-full", tls.VersionTLS12, "ec.example", false},
		{"1.2-ecdsa-resumed", tls.VersionTLS12, "ec.example", true},
		{"1.3-rsa2048-full", tls.VersionTLS13, "rsa.example", false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := env.client(tc.sni)
			cfg.MaxVersion = tc.vers
			if tc.resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				pipeHandshake(b, env.d, cfg, 0)
			}
			var cpu time.Duration
			b.ReportAllocs()
			for b.Loop() {
				h := pipeHandshake(b, env.d, cfg, 0)
				s, _, _ := h.Done()
				if s.Resumed != tc.resume {
					b.Fatalf("resumed=%v", s.Resumed)
				}
				cpu += h.cpu
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-µs/op")
		})
	}
}

// BenchmarkHandshakeBaseline is plain crypto/tls with the same config on a
// net.Pipe (server CPU measured the same way), to show the driver's
// overhead.
func BenchmarkHandshakeBaseline(b *testing.B) {
	env := newEnv(b, HandshakerOptions{})
	srvCfg := ServerConfig(env.certs, []string{"http/1.1"})
	for _, tc := range []struct {
		name   string
		vers   uint16
		resume bool
	}{{"1.3-ecdsa-full", tls.VersionTLS13, false}, {"1.3-ecdsa-resumed", tls.VersionTLS13, true}, {"1.2-ecdsa-full", tls.VersionTLS12, false}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := env.client("ec.example")
			cfg.MaxVersion = tc.vers
			if tc.resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			one := func() time.Duration {
				cc, sc := net.Pipe()
				res := make(chan time.Duration, 1)
				go func() {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					t0 := threadCPU()
					s := tls.Server(sc, srvCfg)
					if err := s.Handshake(); err != nil {
						b.Error(err)
					}
					res <- threadCPU() - t0
					s.Write([]byte("x"))
					sc.Close()
				}()
				c := tls.Client(cc, cfg)
				if err := c.Handshake(); err != nil {
					b.Fatal(err)
				}
				c.Read(make([]byte, 1))
				cc.Close()
				return <-res
			}
			if tc.resume {
				one()
			}
			var cpu time.Duration
			for b.Loop() {
				cpu += one()
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-µs/op")
		})
	}
}
