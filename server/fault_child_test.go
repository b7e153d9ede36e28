//go:build linux

package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
)

// The fault tests run the server in a child process (this test binary,
// re-executed into TestFaultChildServer) so that they can limit its
// descriptors, measure its CPU time and send it SIGTERM. scripts/soak.sh
// uses the same child as its server when the ringhttpd command is not
// built.
//
// The child is configured by environment variables:
//
//	RINGHTTPD_FAULT_CHILD=1          run the server (otherwise the test skips)
//	RINGHTTPD_FAULT_ROOT             directory served
//	RINGHTTPD_FAULT_BACKEND          uring or epoll
//	RINGHTTPD_FAULT_LISTEN           default 127.0.0.1:0
//	RINGHTTPD_FAULT_WORKERS          default 2
//	RINGHTTPD_FAULT_HEADER_TIMEOUT   Go duration, default the server's
//	RINGHTTPD_FAULT_SEND_TIMEOUT     Go duration, default the server's
//	RINGHTTPD_FAULT_SHUTDOWN_TIMEOUT Go duration, default 5s
//	RINGHTTPD_FAULT_REVALIDATE       Go duration, default the handler's
//	RINGHTTPD_FAULT_MAXCONNS         per worker, default the server's
//	RINGHTTPD_FAULT_NOFILE           RLIMIT_NOFILE (soft and hard) set
//	                                 before the server starts
//
// It prints "FAULT_ADDR host:port" once serving, shuts down gracefully on
// SIGTERM or SIGINT, prints "FAULT_DONE <error or ok>" and exits 0 (1 when
// Shutdown failed).
func TestFaultChildServer(t *testing.T) {
	if os.Getenv("RINGHTTPD_FAULT_CHILD") != "1" {
		t.Skip("helper process of the fault tests (RINGHTTPD_FAULT_CHILD=1)")
	}
	env := func(k, def string) string {
		if v := os.Getenv("RINGHTTPD_FAULT_" + k); v != "" {
			return v
		}
		return def
	}
	dur := func(k string) time.Duration {
		d, err := time.ParseDuration(env(k, "0s"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad RINGHTTPD_FAULT_%s: %v\n", k, err)
			os.Exit(2)
		}
		return d
	}
	if n, _ := strconv.ParseUint(env("NOFILE", "0"), 10, 64); n > 0 {
		// Before Start: io_uring takes the limit that applies to an accept
		// when the accept is prepared, so a multishot accept armed earlier
		// keeps the old one.
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			os.Exit(2)
		}
	}
	workers, _ := strconv.Atoi(env("WORKERS", "2"))
	maxConns, _ := strconv.Atoi(env("MAXCONNS", "0"))
	h, err := files.New(files.Config{Root: env("ROOT", "."), Revalidate: dur("REVALIDATE")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	shutdown := dur("SHUTDOWN_TIMEOUT")
	if shutdown == 0 {
		shutdown = 5 * time.Second
	}
	s, err := New(Config{
		Listen:            []string{env("LISTEN", "127.0.0.1:0")},
		Backend:           env("BACKEND", BackendAuto),
		Workers:           workers,
		HeaderTimeout:     dur("HEADER_TIMEOUT"),
		SendTimeout:       dur("SEND_TIMEOUT"),
		ShutdownTimeout:   shutdown,
		MaxConnsPerWorker: maxConns,
	}, h)
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("FAULT_ADDR %s %s\n", s.Addrs()[0], s.Backend())
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), shutdown+time.Second)
	defer cancel()
	err = s.Shutdown(ctx)
	if err != nil {
		fmt.Printf("FAULT_DONE %v\n", err)
		os.Exit(1)
	}
	fmt.Println("FAULT_DONE ok")
	os.Exit(0)
}

// skChild is a server running in a child process.
type skChild struct {
	cmd    *exec.Cmd
	binary bool // the ringhttpd command, not this test binary
	pid    int
	addr   string
	done   chan struct{} // closed when the child has exited
	werr   error         // cmd.Wait's result, once done is closed
	out    chan string   // the child's further stdout lines
	errb   *safeBuffer   // the child's stderr
}

// safeBuffer is a strings.Builder safe for concurrent use.
type safeBuffer struct {
	ch chan struct{}
	b  strings.Builder
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.ch <- struct{}{}
	defer func() { <-s.ch }()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.ch <- struct{}{}
	defer func() { <-s.ch }()
	return s.b.String()
}

// skStartChild starts the child server for backend with extra environment
// (keys without the RINGHTTPD_FAULT_ prefix) and waits until it serves.
//
// With RINGHTTPD_SOAK_BIN set to a built ringhttpd command, the child is
// that command instead (`serve` with the equivalent flags; NOFILE through
// prlimit(1); REVALIDATE has no flag and is ignored), so scripts/soak.sh
// runs the fault tests against the real binary.
func skStartChild(t *testing.T, backend, root string, extra map[string]string) *skChild {
	t.Helper()
	if bin := os.Getenv("RINGHTTPD_SOAK_BIN"); bin != "" {
		return skStartBinary(t, bin, backend, root, extra)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChildServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RINGHTTPD_FAULT_CHILD=1", "RINGHTTPD_FAULT_ROOT="+root, "RINGHTTPD_FAULT_BACKEND="+backend)
	for k, v := range extra {
		cmd.Env = append(cmd.Env, "RINGHTTPD_FAULT_"+k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch := &skChild{cmd: cmd, done: make(chan struct{}), out: make(chan string, 16), errb: &safeBuffer{ch: make(chan struct{}, 1)}}
	cmd.Stderr = ch.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch.pid = cmd.Process.Pid
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l := sc.Text()
			if a, ok := strings.CutPrefix(l, "FAULT_ADDR "); ok {
				ready <- a
				continue
			}
			select {
			case ch.out <- l:
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		close(ch.out)
		ch.werr = cmd.Wait()
		close(ch.done)
	}()
	t.Cleanup(ch.kill)
	ch.waitReady(t, backend, ready)
	return ch
}

// skStartBinary is skStartChild for the ringhttpd command.
func skStartBinary(t *testing.T, bin, backend, root string, extra map[string]string) *skChild {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{bin, "serve", "--root", root, "--listen", addr, "--backend", backend, "--workers", "2", "--log-level", "warn"}
	flags := map[string]string{"HEADER_TIMEOUT": "--header-timeout", "SEND_TIMEOUT": "--send-timeout", "SHUTDOWN_TIMEOUT": "--shutdown-timeout", "MAXCONNS": "--max-conns"}
	for k, v := range extra {
		if f, ok := flags[k]; ok {
			args = append(args, f, v)
		}
	}
	if n, ok := extra["NOFILE"]; ok {
		args = append([]string{"prlimit", "--nofile=" + n + ":" + n, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	ch := &skChild{cmd: cmd, binary: true, done: make(chan struct{}), out: make(chan string, 16), errb: &safeBuffer{ch: make(chan struct{}, 1)}}
	cmd.Stderr = ch.errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch.pid = cmd.Process.Pid // prlimit execs the command: same process
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case ch.out <- sc.Text():
			default:
			}
		}
		close(ch.out)
		ch.werr = cmd.Wait()
		close(ch.done)
	}()
	t.Cleanup(ch.kill)
	ready := make(chan string, 1)
	go func() {
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			select {
			case <-ch.done:
				return
			default:
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				ready <- addr + " " + backend
				return
			}
		}
	}()
	ch.waitReady(t, backend, ready)
	return ch
}

// waitReady waits for the child's "addr backend" line.
func (ch *skChild) waitReady(t *testing.T, backend string, ready <-chan string) {
	t.Helper()
	select {
	case a := <-ready:
		f := strings.Fields(a)
		if len(f) != 2 || f[1] != backend {
			t.Fatalf("child serves %q, want backend %s", a, backend)
		}
		ch.addr = f[0]
	case <-ch.done:
		t.Fatalf("child server exited (%v): %s", ch.werr, ch.errb.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("child server did not start: %s", ch.errb.String())
	}
}

// kill kills the child and waits (bounded) for it to exit.
func (c *skChild) kill() {
	c.cmd.Process.Kill()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}

// cpu returns the child's utime+stime so far.
func (c *skChild) cpu() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// usage returns the child's resource use.
func (c *skChild) usage() skUsage { return skMeasure(strconv.Itoa(c.pid)) }
