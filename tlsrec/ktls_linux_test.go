package tlsrec

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	probeOnce sync.Once
	probe     KernelReport
)

// needKernel skips the test unless kernel TLS works for vers/cipher.
func needKernel(t *testing.T, vers uint16, c Cipher) {
	t.Helper()
	probeOnce.Do(func() { probe = ProbeKernel() })
	if !probe.Usable(vers, c) {
		t.Skipf("kernel TLS unavailable for %s %v: %s", tls.VersionName(vers), c, probe.Summary())
	}
}

// tlsStat reads /proc/net/tls_stat.
func tlsStat(t *testing.T) map[string]int64 {
	b, err := os.ReadFile("/proc/net/tls_stat")
	if err != nil {
		t.Logf("no /proc/net/tls_stat: %v", err)
		return nil
	}
	m := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			m[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return m
}

func fdOf(t *testing.T, c net.Conn) int {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// rawReader decrypts records read from a socket with a Conn.
type rawReader struct {
	nc   net.Conn
	c    *Conn
	pend []byte
}

// read returns at least n bytes of plaintext, or the error that ended the
// stream (io.EOF for close_notify).
func (r *rawReader) read(n int) ([]byte, error) {
	var plain []byte
	buf := make([]byte, 64<<10)
	for len(plain) < n {
		p, used, err := r.c.Open(r.pend)
		plain = append(plain, p...)
		r.pend = append(r.pend[:0], r.pend[used:]...)
		if err != nil {
			return plain, err
		}
		if len(plain) >= n {
			break
		}
		r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := r.nc.Read(buf)
		if err != nil {
			return plain, err
		}
		r.pend = append(r.pend, buf[:m]...)
	}
	return plain, nil
}

// recvmsg reads one record's worth from a kernel TLS socket with its type.
func recvmsg(t *testing.T, nc net.Conn, buf []byte) (typ byte, data []byte) {
	rc, _ := nc.(*net.TCPConn).SyscallConn()
	oob := make([]byte, RecordTypeCmsgSpace)
	var n, oobn int
	var err error
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	rerr := rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, err = unix.Recvmsg(int(fd), buf, oob, 0)
		return err != unix.EAGAIN
	})
	if rerr != nil || err != nil {
		t.Fatalf("recvmsg: %v %v", rerr, err)
	}
	typ, ok := RecordType(oob[:oobn])
	if !ok {
		typ = RecordAppData
	}
	return typ, buf[:n]
}

// sendControl sends one record of type typ through a kernel TLS socket.
func sendControl(t *testing.T, nc net.Conn, typ byte, data []byte) {
	rc, _ := nc.(*net.TCPConn).SyscallConn()
	oob := AppendRecordTypeCmsg(nil, typ)
	var err error
	rc.Write(func(fd uintptr) bool {
		err = unix.Sendmsg(int(fd), data, oob, nil, 0)
		return err != unix.EAGAIN
	})
	if err != nil {
		t.Fatalf("sendmsg: %v", err)
	}
}

// spliceFile sends f through a pipe into the socket with splice(2).
func spliceFile(t *testing.T, nc net.Conn, f *os.File, size int) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	rc, _ := nc.(*net.TCPConn).SyscallConn()
	var off int64
	for off < int64(size) {
		n, err := unix.Splice(int(f.Fd()), &off, p[1], nil, 64<<10, unix.SPLICE_F_MOVE)
		if err != nil || n == 0 {
			t.Fatalf("splice file->pipe: %d %v", n, err)
		}
		for n > 0 {
			var m int64
			var serr error
			werr := rc.Write(func(fd uintptr) bool {
				m, serr = unix.Splice(p[0], nil, int(fd), nil, int(n), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				return serr != unix.EAGAIN
			})
			if werr != nil || serr != nil {
				t.Fatalf("splice pipe->socket: %v %v", werr, serr)
			}
			n -= m
		}
	}
}

// TestKernelTLS: for every suite, kernel TLS on one end of a loopback
// pair (keys at sequence numbers other than 0), our userspace record layer
// on the other. The kernel's records are decrypted in Go, Go's records by
// the kernel; a 1 MiB file is spliced into the kTLS socket; close_notify
// both ways through the record-type cmsgs; /proc/net/tls_stat counters rise.
func TestKernelTLS(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			s := randomSession(t, ts.vers, ts.suite)
			s.Read.Seq, s.Write.Seq = 5, 1
			srv, cli := pair(t, s)
			needKernel(t, ts.vers, srv.Cipher())
			before := tlsStat(t)
			sc, cc := tcpPair(t)
			if err := EnableKernel(fdOf(t, sc), srv); err != nil {
				t.Fatal(err)
			}
			// Go -> kernel: two records, read as plaintext by read(2).
			cc.Write(cli.Seal(nil, []byte("hello ")))
			cc.Write(cli.Seal(nil, []byte("kernel")))
			got := make([]byte, 12)
			sc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(sc, got); err != nil || string(got) != "hello kernel" {
				t.Fatalf("kernel read %q %v", got, err)
			}
			// Kernel -> Go.
			rr := &rawReader{nc: cc, c: cli}
			sc.Write([]byte("hello from the kernel"))
			if p, err := rr.read(21); err != nil || string(p) != "hello from the kernel" {
				t.Fatalf("Go opened %q %v", p, err)
			}
			// A file spliced into the kTLS socket.
			body := make([]byte, 1<<20)
			rand.Read(body)
			path := filepath.Join(t.TempDir(), "body")
			os.WriteFile(path, body, 0o644)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			done := make(chan []byte)
			go func() {
				p, err := rr.read(len(body))
				if err != nil {
					t.Error(err)
				}
				done <- p
			}()
			spliceFile(t, sc, f, len(body))
			if p := <-done; !bytes.Equal(p, body) {
				t.Fatalf("spliced file: got %d bytes, differ", len(p))
			}
			// close_notify, kernel -> Go.
			sendControl(t, sc, RecordAlert, CloseNotifyAlert)
			if p, err := rr.read(1); err != io.EOF || len(p) != 0 {
				t.Fatalf("after the kernel's close_notify: %q %v", p, err)
			}
			// Go -> kernel: data then close_notify, read with recvmsg.
			cc.Write(cli.CloseNotify(cli.Seal(nil, []byte("last"))))
			buf := make([]byte, 100)
			if typ, data := recvmsg(t, sc, buf); typ != RecordAppData || string(data) != "last" {
				t.Fatalf("recvmsg: type %d %q", typ, data)
			}
			typ, data := recvmsg(t, sc, buf)
			if err := srv.KernelControl(typ, data); err != io.EOF {
				t.Fatalf("control record type %d %x: %v", typ, data, err)
			}
			after := tlsStat(t)
			t.Logf("tls_stat TlsTxSw %d->%d TlsRxSw %d->%d", before["TlsTxSw"], after["TlsTxSw"], before["TlsRxSw"], after["TlsRxSw"])
			if after != nil && (after["TlsTxSw"] <= before["TlsTxSw"] || after["TlsRxSw"] <= before["TlsRxSw"]) {
				t.Fatalf("tls_stat counters did not rise: %v -> %v", before, after)
			}
		})
	}
}

// TestKernelKeyUpdate: a TLS 1.3 KeyUpdate arrives as a handshake record;
// the connection ends with ErrKeyUpdate and a close_notify.
func TestKernelKeyUpdate(t *testing.T) {
	s := randomSession(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	srv, cli := pair(t, s)
	needKernel(t, s.Version, srv.Cipher())
	sc, cc := tcpPair(t)
	if err := EnableKernel(fdOf(t, sc), srv); err != nil {
		t.Fatal(err)
	}
	cc.Write(controlRecord(cli, recordHandshake, []byte{24, 0, 0, 1, 1}))
	typ, data := recvmsg(t, sc, make([]byte, 100))
	if err := srv.KernelControl(typ, data); !errors.Is(err, ErrKeyUpdate) {
		t.Fatalf("type %d %x: %v", typ, data, err)
	}
	sendControl(t, sc, RecordAlert, srv.KernelAlert())
	rr := &rawReader{nc: cc, c: cli}
	if _, err := rr.read(1); err != io.EOF {
		t.Fatalf("client: %v", err)
	}
}

// TestKernelTLSAfterHandshake: a real crypto/tls client; the driver's
// Session (sequence numbers after the ticket) goes to the kernel; the
// client's request is read and answered through the kernel.
func TestKernelTLSAfterHandshake(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	for _, gs := range goSuites[:4] {
		t.Run(gs.name, func(t *testing.T) {
			su, _ := suiteOf(gs.vers, gs.suite)
			needKernel(t, gs.vers, su.cipher)
			sc, cc := tcpPair(t)
			cfg := env.client(gs.sni)
			cfg.MaxVersion = gs.vers
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			if gs.vers == tls.VersionTLS12 {
				cfg.CipherSuites = []uint16{gs.suite}
			}
			go func() {
				c := tls.Client(cc, cfg)
				if err := c.Handshake(); err != nil {
					t.Error(err)
					return
				}
				c.Write([]byte("GET /kernel\n"))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || line != "kernel says hi\n" {
					t.Errorf("client got %q %v", line, err)
				}
				c.Close()
			}()
			// The handshake on the test goroutine as the loop.
			wake := make(chan struct{}, 1)
			h := env.d.Start(func() {
				select {
				case wake <- struct{}{}:
				default:
				}
			})
			buf := make([]byte, 16<<10)
			var s *Session
			for s == nil {
				if out := h.Output(nil); len(out) > 0 {
					sc.Write(out)
				}
				sess, err, ok := h.Done()
				if ok {
					if err != nil {
						t.Fatal(err)
					}
					s = sess
					break
				}
				sc.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
				if n, _ := sc.Read(buf); n > 0 {
					h.Feed(buf[:n])
				}
				select {
				case <-wake:
				default:
				}
			}
			var c Conn
			if err := c.Init(s); err != nil {
				t.Fatal(err)
			}
			plain, n, err := c.Open(s.Leftover)
			if err != nil || n != len(s.Leftover) {
				t.Fatalf("leftover: %v (partial record: the engine would stay in userspace)", err)
			}
			if err := EnableKernel(fdOf(t, sc), &c); err != nil {
				t.Fatal(err)
			}
			req := append([]byte(nil), plain...)
			sc.SetReadDeadline(time.Now().Add(10 * time.Second))
			for !bytes.HasSuffix(req, []byte("\n")) {
				n, err := sc.Read(buf)
				if err != nil {
					t.Fatalf("kernel read: %v", err)
				}
				req = append(req, buf[:n]...)
			}
			if string(req) != "GET /kernel\n" {
				t.Fatalf("request %q", req)
			}
			sc.Write([]byte("kernel says hi\n"))
			typ, data := recvmsg(t, sc, buf) // the client's close_notify
			if err := c.KernelControl(typ, data); err != io.EOF {
				t.Fatalf("type %d: %v", typ, err)
			}
		})
	}
}

// TestKernelTX: EnableKernelTX: the kernel seals (a spliced file too), Go
// opens; what the client sends is opened by the same Conn in userspace.
func TestKernelTX(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			s := randomSession(t, ts.vers, ts.suite)
			s.Read.Seq, s.Write.Seq = 2, 1
			srv, cli := pair(t, s)
			needKernel(t, ts.vers, srv.Cipher())
			sc, cc := tcpPair(t)
			if err := EnableKernelTX(fdOf(t, sc), srv); err != nil {
				t.Fatal(err)
			}
			if err := EnableKernelTX(fdOf(t, sc), srv); !errors.Is(err, ErrKernelTLS) {
				t.Fatalf("second EnableKernelTX: %v", err)
			}
			sc.Write([]byte("sealed by the kernel"))
			rr := &rawReader{nc: cc, c: cli}
			if p, err := rr.read(20); err != nil || string(p) != "sealed by the kernel" {
				t.Fatalf("Go opened %q %v", p, err)
			}
			cc.Write(cli.Seal(nil, []byte("opened in userspace")))
			buf := make([]byte, 1024)
			sc.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := io.ReadAtLeast(sc, buf, 5)
			if err != nil {
				t.Fatal(err)
			}
			p, used, err := srv.Open(buf[:n])
			if err != nil || used != n || string(p) != "opened in userspace" {
				t.Fatalf("userspace Open of %d raw bytes: %q %v", n, p, err)
			}
			body := bytes.Repeat([]byte("0123456789abcdef"), 40000)
			path := filepath.Join(t.TempDir(), "body")
			os.WriteFile(path, body, 0o644)
			f, _ := os.Open(path)
			defer f.Close()
			done := make(chan []byte)
			go func() {
				p, _ := rr.read(len(body))
				done <- p
			}()
			spliceFile(t, sc, f, len(body))
			if p := <-done; !bytes.Equal(p, body) {
				t.Fatalf("spliced file differs (%d bytes)", len(p))
			}
		})
	}
}
