package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

// server is one server under test and, once started, its process.
type server struct {
	result.Server
	argv []string
	cmd  *exec.Cmd
	log  string
}

// readServers parses the servers file: one server a line,
// NAME<TAB>PORTS<TAB>CLASS<TAB>COMMAND, CLASS being "files", "const",
// "dynamic" (takes part only in the dynamic handler's workloads) or "skip"
// (COMMAND then says why). PORTS is the plaintext HTTP/1.1 port, optionally
// followed by ",tls=N" (HTTPS: HTTP/1.1 and h2 by ALPN) and ",h2c=N" (HTTP/2
// by prior knowledge; may be the plaintext port). COMMAND is split on spaces
// (no quoting). Lines starting with # are comments.
func readServers(path string) ([]*server, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*server
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 4)
		if len(parts) != 4 {
			return nil, fmt.Errorf("servers file: want 4 tab-separated fields: %q", line)
		}
		s := &server{Server: result.Server{Name: parts[0], Class: parts[2], Command: parts[3]}}
		if err := parsePorts(parts[1], &s.Server); err != nil {
			return nil, fmt.Errorf("servers file: %v in %q", err, line)
		}
		switch s.Class {
		case "skip":
			s.Class = "files"
			s.Skipped = parts[3]
			s.Command = ""
		case "files", "const", "dynamic":
			s.argv = strings.Fields(parts[3])
		default:
			return nil, fmt.Errorf("servers file: class must be files, const, dynamic or skip: %q", line)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// parsePorts reads "PORT[,tls=N][,h2c=N]" into s.
func parsePorts(v string, s *result.Server) error {
	fields := strings.Split(v, ",")
	port, err := strconv.Atoi(fields[0])
	if err != nil || port <= 0 {
		return fmt.Errorf("bad port %q", fields[0])
	}
	s.Port = port
	for _, f := range fields[1:] {
		k, val, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return fmt.Errorf("bad port %q", f)
		}
		switch k {
		case "tls":
			s.TLSPort = n
		case "h2c":
			s.H2CPort = n
		default:
			return fmt.Errorf("unknown port kind %q (tls= or h2c=)", k)
		}
	}
	return nil
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// url returns the base URL for a workload's protocol ("" or "h1": plaintext
// HTTP/1.1; "tls", "h2": the HTTPS port; "h2c": the prior-knowledge port), or
// "" when the server has no such listener.
func (s *server) url(proto string) string {
	switch proto {
	case "tls", "h2":
		if s.TLSPort == 0 {
			return ""
		}
		return fmt.Sprintf("https://127.0.0.1:%d", s.TLSPort)
	case "h2c":
		if s.H2CPort == 0 {
			return ""
		}
		return fmt.Sprintf("http://127.0.0.1:%d", s.H2CPort)
	}
	return "http://" + s.addr()
}

// start runs the server pinned to cpus in its own process group and waits
// until its port accepts connections.
func (s *server) start(cpus, logDir string) error {
	if c, err := net.DialTimeout("tcp", s.addr(), 200*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("port %d is already in use by another process", s.Port)
	}
	s.log = filepath.Join(logDir, s.Name+".log")
	lf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	s.cmd = exec.Command("taskset", append([]string{"-c", cpus}, s.argv...)...)
	s.cmd.Stdout, s.cmd.Stderr = lf, lf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("exited at start (%v): %s", err, tail(s.log))
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr(), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return errors.New("did not accept connections within 15 s: " + tail(s.log))
}

// alive reports whether the server's main process still runs.
func (s *server) alive() bool {
	return s.cmd != nil && s.cmd.Process != nil && syscall.Kill(s.cmd.Process.Pid, 0) == nil && !zombie(s.cmd.Process.Pid)
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

// stop ends the server's process group: SIGTERM, then SIGKILL after 3 s.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	for i := 0; i < 30; i++ {
		if syscall.Kill(-pgid, 0) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	s.cmd = nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = "..." + s[len(s)-300:]
	}
	return strings.ReplaceAll(s, "\n", " | ")
}
