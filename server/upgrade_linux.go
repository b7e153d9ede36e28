package server

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Zero-downtime upgrade. The running process starts its binary again with
// every listening socket it has inherited by the child (descriptors 3...,
// LISTEN_FDS/LISTEN_FDNAMES as systemd would pass them, plus
// RINGHTTPD_UPGRADE_PARENT) and a pipe on which the child writes
// "READY=1" once every worker serves. Until then both processes hold the
// sockets; the old one keeps serving. Then the old one stops accepting,
// drains and exits. Closing its descriptors does not close the sockets:
// the child holds them too, so no SO_REUSEPORT socket with queued
// connections is ever closed (which would reset them): every socket of
// every worker is handed over, and the child spreads them over its own
// workers (activation_linux.go). If the child fails (exits, or is not
// ready in time), the old process keeps serving and says why.

// Upgrade starts the new process and waits until it is ready, or failed.
// On success it returns the new process's id; the caller then calls
// SetHandover and Shutdown. On failure nothing changed: s keeps serving.
func (s *Server) Upgrade(uc UpgradeConfig) (pid int, err error) {
	if !s.upgrading.CompareAndSwap(false, true) {
		return 0, fmt.Errorf("%w: an upgrade is already in progress", ErrUpgrade)
	}
	defer func() {
		if err != nil {
			s.upgrading.Store(false)
		}
	}()
	files, names, err := s.dupListeners()
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, x := range uc.Extra {
		files = append(files, x.File) // closed by the caller
		names = append(names, x.Name)
	}
	nsock := len(files)
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUpgrade, err)
	}
	defer r.Close()
	env := make([]string, 0, len(uc.Env)+4)
	for _, kv := range uc.Env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_PID", envUpgradeParent, envUpgradeReadyFd:
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"LISTEN_FDS="+strconv.Itoa(nsock),
		"LISTEN_FDNAMES="+strings.Join(names, ":"),
		envUpgradeParent+"="+strconv.Itoa(os.Getpid()),
		envUpgradeReadyFd+"="+strconv.Itoa(listenFdsStart+nsock),
	)
	cmd := &exec.Cmd{
		Path:       uc.Path,
		Args:       uc.Args,
		Env:        env,
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: append(files[:nsock:nsock], w),
	}
	err = cmd.Start()
	w.Close()
	// Only our duplicates close here; the extra files are the caller's.
	files = files[:nsock-len(uc.Extra)]
	if err != nil {
		return 0, fmt.Errorf("%w: starting %s: %w", ErrUpgrade, uc.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if strings.TrimSpace(line) == "READY=1" {
			ready <- nil
			return
		}
		if err == nil {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
	}()
	timer := time.NewTimer(uc.Timeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err == nil {
			return cmd.Process.Pid, nil
		}
		// EOF: the child closed the pipe, most likely by exiting.
		select {
		case werr := <-exited:
			return 0, fmt.Errorf("%w: new process %d exited before it was ready: %v", ErrUpgrade, cmd.Process.Pid, werr)
		case <-timer.C:
		}
		cmd.Process.Kill()
		return 0, fmt.Errorf("%w: new process %d closed its ready pipe (%v) and was killed", ErrUpgrade, cmd.Process.Pid, err)
	case werr := <-exited:
		return 0, fmt.Errorf("%w: new process %d exited before it was ready: %v", ErrUpgrade, cmd.Process.Pid, werr)
	case <-timer.C:
		cmd.Process.Kill()
		return 0, fmt.Errorf("%w: new process %d not ready within %v; killed", ErrUpgrade, cmd.Process.Pid, uc.Timeout)
	}
}

// dupListeners duplicates every worker's listening sockets, as files named
// for LISTEN_FDNAMES. It fails once the server is stopping (the workers
// close their sockets then).
func (s *Server) dupListeners() ([]*os.File, []string, error) {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	if s.stopping.Load() || s.lnFds == nil {
		return nil, nil, fmt.Errorf("%w: the server is not serving", ErrUpgrade)
	}
	var files []*os.File
	var names []string
	for w, fds := range s.lnFds {
		for i, fd := range fds {
			d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				for _, f := range files {
					f.Close()
				}
				return nil, nil, fmt.Errorf("%w: %w", ErrUpgrade, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err))
			}
			files = append(files, os.NewFile(uintptr(d), "listener"))
			if i < len(s.lnTLS[w]) && s.lnTLS[w][i] {
				names = append(names, ListenerHTTPS)
			} else {
				names = append(names, ListenerHTTP)
			}
		}
	}
	return files, names, nil
}

// UpgradeReady tells the parent of an upgrade that this process serves.
// It does nothing in a process not started by Upgrade.
func UpgradeReady() error {
	v := os.Getenv(envUpgradeReadyFd)
	if v == "" {
		return nil
	}
	os.Unsetenv(envUpgradeReadyFd)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < listenFdsStart {
		return fmt.Errorf("server: %s=%q", envUpgradeReadyFd, v)
	}
	f := os.NewFile(uintptr(fd), "upgrade-ready")
	defer f.Close()
	_, err = f.WriteString("READY=1\n")
	return err
}
