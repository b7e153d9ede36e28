package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Socket activation: listening sockets handed to the process by systemd
// (sd_listen_fds(3): descriptors 3.. LISTEN_FDS-1+3, for the process named
// by LISTEN_PID, with LISTEN_FDNAMES) or by the previous ringhttpd during
// an upgrade (the same variables, but RINGHTTPD_UPGRADE_PARENT naming the
// parent instead of LISTEN_PID, which the parent cannot know before the
// fork).
//
// How inherited sockets reach the workers: sockets are grouped by local
// address. A group of one socket (the usual systemd unit) is shared by
// every worker: each worker gets its own duplicate of the descriptor and
// arms its own accept on it (several rings may wait on one socket; the
// kernel gives each connection to one of them). A group of several sockets
// (SO_REUSEPORT sockets passed on by an upgrade, or several systemd sockets
// with ReusePort=yes) is spread over the workers round-robin, every socket
// to at least one worker and every worker at least one socket, so no
// socket's queue is left without an acceptor.

// Environment variables of an upgrade's child (see Upgrade).
const (
	envUpgradeParent  = "RINGHTTPD_UPGRADE_PARENT"
	envUpgradeReadyFd = "RINGHTTPD_UPGRADE_READY_FD"
)

// listenFdsStart is SD_LISTEN_FDS_START.
const listenFdsStart = 3

// Inherited returns the listening sockets passed by systemd or by an
// upgrading parent, and unsets the variables that passed them (so that no
// child takes them for its own). Each socket is checked (a listening TCP
// socket) and made non-blocking and close-on-exec. It returns nil, nil when
// nothing was passed, or passed to another process.
func Inherited() ([]InheritedSocket, error) {
	nfds := os.Getenv("LISTEN_FDS")
	if nfds == "" {
		return nil, nil
	}
	pid, parent := os.Getenv("LISTEN_PID"), os.Getenv(envUpgradeParent)
	names := os.Getenv("LISTEN_FDNAMES")
	for _, v := range []string{"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", envUpgradeParent} {
		os.Unsetenv(v)
	}
	switch {
	case pid != "" && pid == strconv.Itoa(os.Getpid()):
	case pid == "" && parent != "" && parent == strconv.Itoa(os.Getppid()):
	default:
		return nil, nil // meant for another process
	}
	n, err := strconv.Atoi(nfds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: LISTEN_FDS=%q", ErrBadConfig, nfds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
	}
	socks := make([]InheritedSocket, 0, n)
	for i := range n {
		fd := listenFdsStart + i
		name := ""
		if i < len(nameList) {
			name = nameList[i]
		}
		addr, err := checkListener(fd)
		if err != nil {
			for j := i; j < n; j++ {
				closeFd(listenFdsStart + j)
			}
			for _, s := range socks {
				closeFd(s.Fd)
			}
			return nil, fmt.Errorf("%w: inherited descriptor %d (%q): %w", ErrBadConfig, fd, name, err)
		}
		socks = append(socks, InheritedSocket{Fd: fd, Name: name, Addr: addr})
	}
	return socks, nil
}

// checkListener checks that fd is a listening TCP socket, makes it
// non-blocking (an epoll worker must never block in accept4 when another
// worker took the connection) and close-on-exec, and returns its address.
func checkListener(fd int) (net.Addr, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, os.NewSyscallError("getsockopt SO_TYPE", err)
	}
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return nil, os.NewSyscallError("getsockopt SO_ACCEPTCONN", err)
	}
	if typ != unix.SOCK_STREAM || acc != 1 {
		return nil, fmt.Errorf("not a listening stream socket")
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, os.NewSyscallError("getsockname", err)
	}
	switch sa.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6:
	default:
		return nil, fmt.Errorf("not a TCP socket")
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, os.NewSyscallError("fcntl O_NONBLOCK", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("fcntl FD_CLOEXEC", err)
	}
	return sockaddrToTCP(sa), nil
}

// spreadInherited gives inherited sockets to workers (see the comment at
// the top of the file): lns[w] are worker w's descriptors and lnTLS[w]
// whether each speaks TLS; bound[i] are the addresses, in the order they
// first appear, and isTLS[i] whether each speaks TLS. A worker may get
// several descriptors of one address (more sockets than workers), so
// lns[w][j] does not correspond to bound[j]. The sockets' descriptors are
// used (and owned) from now on; extra workers of a group get duplicates.
func spreadInherited(socks []InheritedSocket, workers int) (lns [][]int, lnTLS [][]bool, bound []net.Addr, isTLS []bool, err error) {
	lns = make([][]int, workers)
	lnTLS = make([][]bool, workers)
	var order []string
	groups := map[string][]int{}
	addrOf := map[string]net.Addr{}
	tlsOf := map[string]bool{}
	for _, s := range socks {
		k := s.Addr.String()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			addrOf[k] = s.Addr
			tlsOf[k] = s.Name == ListenerHTTPS
		}
		groups[k] = append(groups[k], s.Fd)
	}
	for _, k := range order {
		fds := groups[k]
		used := make([]bool, len(fds))
		for j := range max(len(fds), workers) {
			fd := fds[j%len(fds)]
			if used[j%len(fds)] {
				d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
				if err != nil {
					for _, l := range lns {
						closeListeners(l)
					}
					for i, u := range used {
						if !u {
							closeFd(fds[i])
						}
					}
					return nil, nil, nil, nil, fmt.Errorf("server: inherited socket %s: %w", k, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err))
				}
				fd = d
			}
			used[j%len(fds)] = true
			lns[j%workers] = append(lns[j%workers], fd)
			lnTLS[j%workers] = append(lnTLS[j%workers], tlsOf[k])
		}
		bound = append(bound, addrOf[k])
		isTLS = append(isTLS, tlsOf[k])
	}
	return lns, lnTLS, bound, isTLS, nil
}

// bind binds (or takes over) the listening sockets for s's workers: per
// worker the descriptors and whether each speaks TLS (Config.TLSListen, or
// an inherited socket named "https"), and per address the address and
// whether it speaks TLS.
func (s *Server) bind() (lns [][]int, lnTLS [][]bool, addrs []net.Addr, isTLS []bool, err error) {
	if len(s.cfg.Inherit) > 0 {
		return spreadInherited(s.cfg.Inherit, s.cfg.Workers)
	}
	all := append(append([]string(nil), s.cfg.Listen...), s.cfg.TLSListen...)
	lns, addrs, err = listenAll(all, s.cfg.Workers)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	isTLS = make([]bool, len(all))
	for i := len(s.cfg.Listen); i < len(all); i++ {
		isTLS[i] = true
	}
	lnTLS = make([][]bool, len(lns))
	for w := range lns {
		lnTLS[w] = isTLS // listenAll: lns[w][i] is addrs[i]'s socket
	}
	return lns, lnTLS, addrs, isTLS, nil
}
