//go:build linux

package server

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crypto/tls"
	"syscall"
)

// tlsStat reads /proc/net/tls_stat (kernel TLS counters).
func tlsStat(t *testing.T) map[string]int64 {
	f, err := os.Open("/proc/net/tls_stat")
	if err != nil {
		t.Skipf("no /proc/net/tls_stat: %v", err)
	}
	defer f.Close()
	m := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			fs := strings.Fields(sc.Text())
			if len(fs) != 2 {
				continue
			}
			k, v = fs[0], fs[1]
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		m[strings.TrimSpace(k)] = n
	}
	return m
}

// TestKernelTLSServe proves kernel TLS on a kernel that has it: the server
// hands its records to the kernel after the handshake (its metrics count
// the connections, /proc/net/tls_stat's TX counters rise), and files still
// go by splice or sendfile with their content intact, for both versions.
func TestKernelTLSServe(t *testing.T) {
	if !kernelTLSUsable() {
		t.Skip("kernel TLS unavailable here (no tls ULP, or its ciphers are not loaded)")
	}
	forEachEngine(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		big := pattern(5<<20 + 4321)
		if err := os.WriteFile(filepath.Join(h.dir, "big"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		s := startTLSServer(t, backend, h, nil)
		before := tlsStat(t)
		for _, vers := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			cfg := clientTLS(t)
			cfg.MinVersion, cfg.MaxVersion = vers, vers
			c, r := dialTLS(t, s, cfg)
			for i := 0; i < 2; i++ {
				io.WriteString(c, get("/file/big")+get("/mem/70000"))
				if resp, body := readResp(t, r, "GET"); resp.StatusCode != 200 || !bytes.Equal(body, big) {
					t.Fatalf("vers %x file: %d, %d bytes, equal %v", vers, resp.StatusCode, len(body), bytes.Equal(body, big))
				}
				if resp, body := readResp(t, r, "GET"); resp.StatusCode != 200 || !bytes.Equal(body, pattern(70000)) {
					t.Fatalf("vers %x mem: %d %d", vers, resp.StatusCode, len(body))
				}
			}
			c.Close()
		}
		after := tlsStat(t)
		t.Logf("tls_stat before %v", before)
		t.Logf("tls_stat after  %v", after)
		if after["TlsTxSw"]+after["TlsTxDevice"] < before["TlsTxSw"]+before["TlsTxDevice"]+2 {
			t.Fatalf("kernel TLS TX counters did not rise: before %v, after %v", before, after)
		}
		m := s.testMetrics(t)
		if m.KernelTLS() < 2 {
			t.Fatalf("%d connections on kernel TLS, want 2", m.KernelTLS())
		}
		waitFor(t, 5*time.Second, "file refs released", func() bool { return h.refs.Load() == h.rels.Load() })
	})
}

// TestKernelTLSCompare measures, where the kernel has TLS, a file body
// sent with the kernel sealing (spliced) against the userspace record layer
// (read and sealed on the worker) in the same process: wall time and
// process CPU (client and server) per MiB. It logs the figures; it asserts
// only that both deliver the same bytes.
func TestKernelTLSCompare(t *testing.T) {
	if !kernelTLSUsable() {
		t.Skip("kernel TLS unavailable here (no tls ULP, or its ciphers are not loaded)")
	}
	const size, rounds = 8 << 20, 4
	body := pattern(size)
	for _, backend := range []string{BackendEpoll, BackendUring} {
		if backend == BackendUring {
			if ok, _ := UringAvailable(); !ok {
				continue
			}
		}
		for _, mode := range []string{"auto", "off"} {
			h := newTestHandler(t)
			if err := os.WriteFile(filepath.Join(h.dir, "big"), body, 0o644); err != nil {
				t.Fatal(err)
			}
			s := startTLSServer(t, backend, h, func(c *Config) { c.TLS.Kernel = mode })
			c, r := dialTLS(t, s, clientTLS(t))
			c.SetDeadline(time.Now().Add(10 * ioDeadline()))
			cpu0, t0 := processCPU(), time.Now()
			for i := 0; i < rounds; i++ {
				io.WriteString(c, get("/file/big"))
				if resp, got := readResp(t, r, "GET"); resp.StatusCode != 200 || !bytes.Equal(got, body) {
					t.Fatalf("%s %s: %d, %d bytes", backend, mode, resp.StatusCode, len(got))
				}
			}
			el, cpu := time.Since(t0), processCPU()-cpu0
			mib := float64(size*rounds) / (1 << 20)
			layer := "kernel TLS"
			if mode == "off" {
				layer = "userspace records"
			}
			t.Logf("%-5s %-17s %5.1f MiB/s, process CPU %6.2f ms/MiB (client and server)", backend, layer,
				mib/el.Seconds(), float64(cpu.Microseconds())/1000/mib)
			c.Close()
		}
	}
}

// processCPU returns this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
