package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/server"
)

// These tests run the built command as operators and systemd do: socket
// activation, sd_notify, signals, upgrades under load, privilege drop.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the command once per test run. RINGHTTPD_TEST_BIN names a
// prebuilt one instead (a guest of the kernel matrix has no toolchain).
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RINGHTTPD_TEST_BIN"); p != "" {
		return p
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain to build the command (set RINGHTTPD_TEST_BIN)")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ringhttpd-bin")
		if err != nil {
			binErr = err
			return
		}
		os.Chmod(dir, 0o755) // a process that dropped privileges must exec it for an upgrade
		binPath = filepath.Join(dir, "ringhttpd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// backends returns the engines to run an end-to-end test on.
func backends(t *testing.T) []string {
	b := []string{server.BackendEpoll}
	if ok, _ := server.UringAvailable(); ok {
		b = append(b, server.BackendUring)
	}
	return b
}

// webRoot makes a directory with an index and a small file.
func webRoot(t *testing.T) string {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>hi</h1>\n"), 0o644)
	os.WriteFile(filepath.Join(root, "a.txt"), bytes.Repeat([]byte("a"), 1000), 0o644)
	return root
}

// notifySocket listens on a unixgram socket of the test's own, as systemd's
// NOTIFY_SOCKET, and delivers each datagram.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, conn: c, msgs: make(chan string, 64)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { c.Close() })
	return n
}

// expect waits for a message containing want, skipping others (returned).
func (n *notifySocket) expect(t *testing.T, want string, d time.Duration) (msg string, skipped []string) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed waiting for %q", want)
			}
			if strings.Contains(m, want) {
				return m, skipped
			}
			skipped = append(skipped, m)
		case <-timeout:
			t.Fatalf("no %q from the service within %v (got %q)", want, d, skipped)
		}
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func httpGet(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitGet polls url until it answers.
func waitGet(t *testing.T, url string, d time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, body, err := httpGet(url)
		if err == nil {
			return code, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone reports whether pid has exited (a zombie counts as exited).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

func TestSocketActivationAndNotify(t *testing.T) {
	sa, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate not installed (Debian package systemd)")
	}
	bin := binary(t)
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			httpAddr, metricsAddr := freeAddr(t), freeAddr(t)
			ns := newNotifySocket(t)
			logPath := filepath.Join(t.TempDir(), "access.log")
			cmd := exec.Command(sa, "-l", httpAddr, "-l", metricsAddr, "--fdname=http:metrics",
				"-E", "NOTIFY_SOCKET="+ns.path, "-E", "WATCHDOG_USEC=300000",
				bin, "serve", "--root", webRoot(t), "--backend", backend, "--workers", "2",
				"--listen", "127.0.0.1:1", // must not be bound: the sockets come from systemd
				"--access-log", logPath, "--log-format", "json")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

			// systemd-socket-activate execs the service on the first
			// connection, which then waits in the socket's queue.
			if code, _ := waitGet(t, "http://"+httpAddr+"/", 10*time.Second); code != 200 {
				t.Fatalf("first GET: %d", code)
			}
			ready, _ := ns.expect(t, "READY=1", 10*time.Second)
			if !strings.Contains(ready, "MAINPID="+strconv.Itoa(cmd.Process.Pid)) {
				t.Errorf("READY without our MAINPID: %q (pid %d)", ready, cmd.Process.Pid)
			}
			// Many connections on the one inherited socket, which every
			// worker accepts from.
			for i := range 20 {
				code, body, err := httpGet("http://" + httpAddr + "/a.txt")
				if err != nil || code != 200 || len(body) != 1000 {
					t.Fatalf("GET %d: %d %d bytes %v", i, code, len(body), err)
				}
			}
			code, metrics := waitGet(t, "http://"+metricsAddr+"/metrics", 5*time.Second)
			if code != 200 || !strings.Contains(metrics, `ringhttpd_requests_total{method="GET",code="2xx"} 21`) {
				t.Fatalf("metrics %d:\n%s", code, metrics)
			}
			// The file caches behind the site layer are counted: /a.txt's
			// first request on each worker misses, the rest hit.
			hits := regexp.MustCompile(`(?m)^ringhttpd_file_cache_hits_total (\d+)$`).FindStringSubmatch(metrics)
			if hits == nil || hits[1] == "0" {
				t.Errorf("no file cache hits counted:\n%s", metrics)
			}
			if code, body := waitGet(t, "http://"+metricsAddr+"/healthz", 5*time.Second); code != 200 || body != "ok\n" {
				t.Fatalf("healthz: %d %q", code, body)
			}
			ns.expect(t, "WATCHDOG=1", 2*time.Second)

			cmd.Process.Signal(syscall.SIGHUP)
			msg, _ := ns.expect(t, "RELOADING=1", 5*time.Second)
			if !regexp.MustCompile(`MONOTONIC_USEC=\d+`).MatchString(msg) {
				t.Errorf("RELOADING without MONOTONIC_USEC: %q", msg)
			}
			ns.expect(t, "READY=1", 5*time.Second)

			cmd.Process.Signal(syscall.SIGTERM)
			ns.expect(t, "STOPPING=1", 5*time.Second)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatal("did not stop after SIGTERM")
			}
			if !strings.Contains(stderr.String(), `"msg":"serving inherited sockets; --listen is not bound","sockets":1`) {
				t.Errorf("log does not say it serves the inherited socket:\n%s", stderr.String())
			}
			log, _ := os.ReadFile(logPath)
			if n := strings.Count(string(log), `"GET /a.txt HTTP/1.1" 200 1000`); n != 20 {
				t.Errorf("access log has %d lines for /a.txt, want 20:\n%s", n, log)
			}
		})
	}
}

// daemonProc is a ringhttpd started by a test, followed through upgrades
// by its pid file.
type daemonProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	pidFile string
	stderr  *lockedBuffer
}

func startDaemon(t *testing.T, args ...string) *daemonProc {
	d := &daemonProc{t: t, pidFile: filepath.Join(t.TempDir(), "ringhttpd.pid"), stderr: &lockedBuffer{}}
	d.cmd = exec.Command(binary(t), append(args, "--pid-file", d.pidFile)...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go d.cmd.Wait()
	t.Cleanup(func() {
		if pid := d.pid(); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		d.cmd.Process.Kill()
	})
	deadline := time.Now().Add(10 * time.Second)
	for d.pid() != d.cmd.Process.Pid {
		if time.Now().After(deadline) {
			t.Fatalf("no pid file; stderr:\n%s", d.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return d
}

// pid returns the pid in the pid file, or 0.
func (d *daemonProc) pid() int {
	b, err := os.ReadFile(d.pidFile)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

// upgrade sends SIGUSR2 and waits until the new process wrote the pid file
// and the old one exited.
func (d *daemonProc) upgrade() (newPid int, took time.Duration) {
	t := d.t
	start := time.Now()
	old := d.pid()
	syscall.Kill(old, syscall.SIGUSR2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if p := d.pid(); p != old && p > 0 && processGone(old) {
			return p, time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("upgrade of %d did not complete (pid file says %d); stderr:\n%s", old, d.pid(), d.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM to the current process and waits for it to exit.
func (d *daemonProc) stop() {
	pid := d.pid()
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(15 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			d.t.Fatalf("process %d did not stop", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wrkResult is what a wrk run reports.
type wrkResult struct {
	requests                             int
	connect, read, write, timeout, non2x int
	out                                  string
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func parseWrk(out string) wrkResult {
	r := wrkResult{out: out}
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil {
		r.connect, _ = strconv.Atoi(m[1])
		r.read, _ = strconv.Atoi(m[2])
		r.write, _ = strconv.Atoi(m[3])
		r.timeout, _ = strconv.Atoi(m[4])
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2x, _ = strconv.Atoi(m[1])
	}
	return r
}

// TestUpgradeAndReloadUnderLoad: under wrk at 50 keep-alive connections,
// five upgrades and five reloads in a row lose nothing: no connect, read
// or write error (a reset or a truncated answer is one), no timeout, no
// answer other than 200.
func TestUpgradeAndReloadUnderLoad(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not installed")
	}
	if testing.Short() {
		t.Skip("load test")
	}
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			addr, maddr := freeAddr(t), freeAddr(t)
			d := startDaemon(t, "serve", "--root", webRoot(t), "--listen", addr, "--metrics", maddr,
				"--backend", backend, "--workers", "2")
			first := d.pid()
			wrkCmd := exec.Command(wrk, "-t2", "-c50", "-d8s", "--timeout", "5s", "http://"+addr+"/a.txt")
			var wrkOut bytes.Buffer
			wrkCmd.Stdout = &wrkOut
			wrkCmd.Stderr = &wrkOut
			if err := wrkCmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			pids := []int{first}
			for i := range 5 {
				pid, took := d.upgrade()
				pids = append(pids, pid)
				t.Logf("upgrade %d: %d -> %d in %v", i+1, pids[i], pid, took.Round(time.Millisecond))
				syscall.Kill(pid, syscall.SIGHUP)
				time.Sleep(300 * time.Millisecond)
			}
			if err := wrkCmd.Wait(); err != nil {
				t.Fatalf("wrk: %v\n%s", err, wrkOut.String())
			}
			r := parseWrk(wrkOut.String())
			t.Logf("wrk: %d requests; errors connect %d read %d write %d timeout %d; non-2xx %d",
				r.requests, r.connect, r.read, r.write, r.timeout, r.non2x)
			if r.requests == 0 || r.connect+r.read+r.write+r.timeout+r.non2x > 0 {
				t.Fatalf("requests lost across upgrades:\n%s\nserver log:\n%s", r.out, d.stderr.String())
			}
			// The last process serves, metrics included, and reloaded.
			if code, _ := waitGet(t, "http://"+maddr+"/healthz", 5*time.Second); code != 200 {
				t.Fatalf("healthz after upgrades: %d", code)
			}
			_, m := waitGet(t, "http://"+maddr+"/metrics", 5*time.Second)
			if !strings.Contains(m, `ringhttpd_reloads_total{result="ok"} 1`) {
				t.Errorf("the last process did not count its reload:\n%s", m)
			}
			log := d.stderr.String()
			if n := strings.Count(log, "upgrade: the new process serves"); n != 5 {
				t.Errorf("%d upgrades logged, want 5:\n%s", n, log)
			}
			d.stop()
		})
	}
}

// TestUpgradeFailureKeepsServing: a new process that cannot start (its
// root is gone) leaves the old one serving, and the log says why.
func TestUpgradeFailureKeepsServing(t *testing.T) {
	root := webRoot(t)
	addr := freeAddr(t)
	d := startDaemon(t, "serve", "--root", root, "--listen", addr, "--backend", "epoll", "--workers", "1",
		"--upgrade-timeout", "5s")
	if code, _ := waitGet(t, "http://"+addr+"/a.txt", 5*time.Second); code != 200 {
		t.Fatalf("before: %d", code)
	}
	// The new process will fail: its --root no longer exists.
	moved := root + ".moved"
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(moved, root)
	pid := d.pid()
	syscall.Kill(pid, syscall.SIGUSR2)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.stderr.String(), "upgrade failed; this process keeps serving") {
		if time.Now().After(deadline) {
			t.Fatalf("no failure logged:\n%s", d.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(d.stderr.String(), "exited before it was ready") {
		t.Errorf("the failure does not say why:\n%s", d.stderr.String())
	}
	os.Rename(moved, root)
	if code, _ := waitGet(t, "http://"+addr+"/a.txt", 5*time.Second); code != 200 || d.pid() != pid || processGone(pid) {
		t.Fatalf("after a failed upgrade: %d, pid file %d, old %d gone %v", code, d.pid(), pid, processGone(pid))
	}
	// A later upgrade works.
	if p, _ := d.upgrade(); p == pid {
		t.Fatal("no new process")
	}
	if code, _ := waitGet(t, "http://"+addr+"/a.txt", 5*time.Second); code != 200 {
		t.Fatalf("after the upgrade: %d", code)
	}
	d.stop()
}

// TestSignals: USR1 reopens the access log (after a rename, as logrotate
// does), QUIT stops at once, the metrics listener validates with promtool.
func TestSignals(t *testing.T) {
	root := webRoot(t)
	addr, maddr := freeAddr(t), freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	d := startDaemon(t, "serve", "--root", root, "--listen", addr, "--metrics", maddr, "--backend", "epoll",
		"--workers", "1", "--access-log", logPath, "--access-log-format", "combined")
	get := func() {
		if code, _ := waitGet(t, "http://"+addr+"/a.txt", 5*time.Second); code != 200 {
			t.Fatalf("GET: %d", code)
		}
	}
	get()
	waitFile := func(path, want string) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			b, _ := os.ReadFile(path)
			if strings.Contains(string(b), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lacks %q:\n%s", path, want, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFile(logPath, `"GET /a.txt HTTP/1.1" 200 1000 "-" "Go-http-client/1.1" `)
	os.Rename(logPath, logPath+".1")
	syscall.Kill(d.pid(), syscall.SIGUSR1)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(d.stderr.String(), "access log reopened") {
		if time.Now().After(deadline) {
			t.Fatalf("no reopen logged:\n%s", d.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	get()
	waitFile(logPath, `"GET /a.txt HTTP/1.1" 200 1000`)

	if promtool, err := exec.LookPath("promtool"); err == nil {
		_, m := waitGet(t, "http://"+maddr+"/metrics", 5*time.Second)
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(m)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Fatalf("promtool: %v %s\n%s", err, out, m)
		}
	}

	// A connection in the middle of a request does not delay QUIT.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\n")
	time.Sleep(50 * time.Millisecond)
	pid := d.pid()
	start := time.Now()
	syscall.Kill(pid, syscall.SIGQUIT)
	for !processGone(pid) {
		if time.Since(start) > 3*time.Second {
			t.Fatal("SIGQUIT did not stop the process at once")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Error("the connection got an answer; QUIT should close it")
	}
}

// TestPrivilegeDrop runs as root, binds ports below 1024 and drops to
// nobody: every thread runs as nobody, files only root can read are 403,
// the rest are served.
func TestPrivilegeDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := server.LookupCredentials("nobody", ""); err != nil {
		t.Skip("no user nobody")
	}
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			root := webRoot(t)
			// nobody must be able to reach the root: the test's temporary
			// directories are 0700.
			for dir := root; dir != filepath.Dir(os.TempDir()) && dir != "/"; dir = filepath.Dir(dir) {
				if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o005 == 0 {
					os.Chmod(dir, st.Mode().Perm()|0o755)
				}
			}
			os.WriteFile(filepath.Join(root, "secret.txt"), []byte("root only\n"), 0o600)
			addr, maddr := lowPort(t), lowPort(t)
			d := startDaemon(t, "serve", "--root", root, "--listen", addr, "--metrics", maddr,
				"--backend", backend, "--workers", "2", "--user", "nobody")
			for path, want := range map[string]int{"/a.txt": 200, "/secret.txt": 403, "/": 200} {
				if code, _ := waitGet(t, "http://"+addr+path, 5*time.Second); code != want {
					t.Errorf("GET %s: %d, want %d", path, code, want)
				}
			}
			if code, _ := waitGet(t, "http://"+maddr+"/healthz", 5*time.Second); code != 200 {
				t.Errorf("healthz on a low port: %d", code)
			}
			tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", d.pid()))
			if len(tasks) < 3 {
				t.Fatalf("threads: %v", tasks)
			}
			for _, st := range tasks {
				b, _ := os.ReadFile(st)
				for _, l := range strings.Split(string(b), "\n") {
					if (strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:")) &&
						strings.Join(strings.Fields(l)[1:], " ") != "65534 65534 65534 65534" {
						t.Errorf("%s: %q", st, l)
					}
					if strings.HasPrefix(l, "Groups:") && strings.TrimSpace(l[7:]) != "65534" {
						t.Errorf("%s: %q", st, l)
					}
				}
			}
			if !strings.Contains(d.stderr.String(), "user=nobody") {
				t.Errorf("the startup line does not name the user:\n%s", d.stderr.String())
			}
			// An upgrade of a process that dropped privileges: the new
			// one inherits the low ports and is nobody from the start.
			pid, _ := d.upgrade()
			if code, _ := waitGet(t, "http://"+addr+"/a.txt", 5*time.Second); code != 200 {
				t.Errorf("after upgrade: %d", code)
			}
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if !strings.Contains(string(b), "Uid:\t65534") {
				t.Errorf("upgraded process not nobody:\n%s", b)
			}
			d.stop()
		})
	}
}

var nextLow = 700 + os.Getpid()%200

// lowPort returns a free loopback address with a port below 1024.
func lowPort(t *testing.T) string {
	for ; nextLow < 1024; nextLow++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", nextLow))
		if err == nil {
			l.Close()
			nextLow++
			return l.Addr().String()
		}
	}
	t.Skip("no free port below 1024")
	return ""
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// the files and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	leaf, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(leaf)
	return certFile, keyFile, pool
}

// TestUpgradeKeepsTLS: the new process of an upgrade gets the HTTPS
// sockets as HTTPS (LISTEN_FDNAMES "https") and the plaintext ones as
// plaintext, with fewer workers than the old one had sockets, and serves
// both.
func TestUpgradeKeepsTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			addr, taddr := freeAddr(t), freeAddr(t)
			conf := filepath.Join(t.TempDir(), "ringhttpd.toml")
			os.WriteFile(conf, []byte("workers = 3\n"), 0o644)
			d := startDaemon(t, "serve", "--config", conf, "--root", webRoot(t), "--listen", addr, "--tls-listen", taddr,
				"--tls-cert", certFile, "--tls-key", keyFile, "--backend", backend)
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
			}}
			check := func(when string) {
				t.Helper()
				for i := range 12 { // new connections: every handed-over socket gets some
					client.CloseIdleConnections()
					resp, err := client.Get("https://" + taddr + "/a.txt")
					if err != nil {
						t.Fatalf("%s: HTTPS %d: %v\n%s", when, i, err, d.stderr.String())
					}
					resp.Body.Close()
					if code, _, err := httpGet("http://" + addr + "/a.txt"); err != nil || code != 200 {
						t.Fatalf("%s: HTTP %d: %d %v", when, i, code, err)
					}
				}
			}
			check("before")
			// The new process reads the file again and runs fewer workers
			// than the sockets it gets (3 per address): a worker then holds
			// several, plaintext and TLS ones.
			os.WriteFile(conf, []byte("workers = 2\n"), 0o644)
			d.upgrade()
			if !strings.Contains(d.stderr.String(), "workers=2") {
				t.Fatalf("the new process does not run 2 workers:\n%s", d.stderr.String())
			}
			check("after the upgrade")
			d.stop()
		})
	}
}

// TestReloadCertificates: SIGHUP loads the certificate files again. New
// handshakes get the new pair, a connection opened before carries on with
// its own, and a broken pair is refused with a log line while the pair in
// force stays.
func TestReloadCertificates(t *testing.T) {
	certFile, keyFile, pool1 := selfSigned(t)
	cert2, key2, pool2 := selfSigned(t)
	taddr := freeAddr(t)
	d := startDaemon(t, "serve", "--root", webRoot(t), "--listen", freeAddr(t), "--tls-listen", taddr,
		"--tls-cert", certFile, "--tls-key", keyFile, "--backend", "epoll")
	// dial returns a TLS connection that trusts pool, after one request on
	// it answered 200.
	dial := func(pool *x509.CertPool) (*tls.Conn, *bufio.Reader, error) {
		c, err := tls.Dial("tcp", taddr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			return nil, nil, err
		}
		r := bufio.NewReader(c)
		return c, r, getOn(c, r)
	}
	old, oldR, err := dial(pool1)
	if err != nil {
		t.Fatalf("first pair: %v\n%s", err, d.stderr.String())
	}
	defer old.Close()
	reload := func(want string) {
		t.Helper()
		n := strings.Count(d.stderr.String(), want)
		syscall.Kill(d.pid(), syscall.SIGHUP)
		for end := time.Now().Add(5 * time.Second); strings.Count(d.stderr.String(), want) == n; {
			if time.Now().After(end) {
				t.Fatalf("no %q after SIGHUP:\n%s", want, d.stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// The second pair replaces the first.
	copyFile(t, cert2, certFile)
	copyFile(t, key2, keyFile)
	reload(`msg=reloaded part="tls certificates"`)
	if _, _, err := dial(pool1); err == nil {
		t.Fatal("a new handshake still gets the first certificate")
	}
	c2, _, err := dial(pool2)
	if err != nil {
		t.Fatalf("second pair: %v", err)
	}
	c2.Close()
	if err := getOn(old, oldR); err != nil {
		t.Fatalf("the connection from before the reload: %v", err)
	}

	// A broken pair (the first certificate with the second key) is refused.
	os.WriteFile(keyFile, []byte("-----BEGIN EC PRIVATE KEY-----\nnot a key\n-----END EC PRIVATE KEY-----\n"), 0o600)
	reload("reload refused")
	if !strings.Contains(d.stderr.String(), `part="tls certificates"`) {
		t.Fatalf("the refusal does not name the certificates:\n%s", d.stderr.String())
	}
	c3, _, err := dial(pool2)
	if err != nil {
		t.Fatalf("after a refused reload the second pair is gone: %v", err)
	}
	c3.Close()
	d.stop()
}

// copyFile copies src over dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// getOn sends one GET /a.txt HTTP/1.1 request on c and reads a 200 answer.
func getOn(c net.Conn, r *bufio.Reader) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestTLSErrorsExitTwo: certificate and key problems stop serve at start
// with one line on stderr naming the file, exit status 2.
func TestTLSErrorsExitTwo(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	_, otherKey, _ := selfSigned(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not PEM at all\n"), 0o644)
	base := []string{"serve", "--root", t.TempDir(), "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--backend", "epoll"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing certificate", []string{"--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", keyFile}, "none.pem"},
		{"missing key", []string{"--tls-cert", certFile, "--tls-key", filepath.Join(dir, "none.key")}, "none.key"},
		{"key of another certificate", []string{"--tls-cert", certFile, "--tls-key", otherKey}, "does not match the certificate"},
		{"certificate not PEM", []string{"--tls-cert", garbage, "--tls-key", keyFile}, "garbage.pem"},
		{"key not PEM", []string{"--tls-cert", certFile, "--tls-key", garbage}, "garbage.pem"},
		{"tls listener without a certificate", nil, "--tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(wantExitTwo(t, tc.want, append(append([]string{}, base...), tc.args...)...))
		})
	}
}
