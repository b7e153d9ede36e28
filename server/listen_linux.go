package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenBacklog is the accept queue length asked for (the kernel caps it at
// net.core.somaxconn).
const listenBacklog = 4096

// listenAddr is a parsed Config.Listen entry. A zero addr means every
// interface (dual-stack IPv6 when the kernel has IPv6, else IPv4).
type listenAddr struct {
	text string
	addr netip.Addr
	port uint16
}

// parseListen parses "host:port", "[v6]:port" or ":port"; host is an IP
// address or "localhost".
func parseListen(s string) (listenAddr, error) {
	la := listenAddr{text: s}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return la, fmt.Errorf("%w: listen address %q: %v", ErrBadConfig, s, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return la, fmt.Errorf("%w: listen address %q: port must be a number in 0-65535", ErrBadConfig, s)
	}
	la.port = uint16(p)
	switch host {
	case "":
	case "localhost":
		la.addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	default:
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return la, fmt.Errorf("%w: listen address %q: host must be an IP address", ErrBadConfig, s)
		}
		la.addr = a.Unmap()
	}
	return la, nil
}

// sockaddr returns the family and socket address for la with port.
func (la listenAddr) sockaddr(port uint16, v6 bool) (int, unix.Sockaddr) {
	switch {
	case la.addr.Is4():
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(port), Addr: la.addr.As4()}
	case la.addr.Is6():
		return unix.AF_INET6, &unix.SockaddrInet6{Port: int(port), Addr: la.addr.As16()}
	case v6:
		return unix.AF_INET6, &unix.SockaddrInet6{Port: int(port)}
	default:
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(port)}
	}
}

// listenAll binds workers SO_REUSEPORT sockets for every address: lns[w][i]
// is worker w's socket for addrs[i]. A port already in use by anyone (even
// another SO_REUSEPORT group of the same user) is an error.
func listenAll(addrs []string, workers int) (lns [][]int, bound []net.Addr, err error) {
	lns = make([][]int, workers)
	defer func() {
		if err != nil {
			for _, l := range lns {
				closeListeners(l)
			}
			lns = nil
		}
	}()
	v6 := hasIPv6()
	for _, text := range addrs {
		la, err := parseListen(text)
		if err != nil {
			return nil, nil, err
		}
		port := la.port
		if port != 0 {
			// An exclusive bind first: SO_REUSEPORT alone would silently
			// share the port with another server of the same user.
			fd, err := bindSocket(la, port, v6, false)
			if err != nil {
				return lns, nil, fmt.Errorf("server: listen %s: %w", text, err)
			}
			closeFd(fd)
		}
		for w := range workers {
			fd, err := bindSocket(la, port, v6, true)
			if err != nil {
				return lns, nil, fmt.Errorf("server: listen %s: %w", text, err)
			}
			lns[w] = append(lns[w], fd)
			if err := unix.Listen(fd, listenBacklog); err != nil {
				return lns, nil, fmt.Errorf("server: listen %s: %w", text, os.NewSyscallError("listen", err))
			}
			if w == 0 {
				sa, err := unix.Getsockname(fd)
				if err != nil {
					return lns, nil, fmt.Errorf("server: listen %s: %w", text, os.NewSyscallError("getsockname", err))
				}
				a := sockaddrToTCP(sa)
				port = uint16(a.Port)
				bound = append(bound, a)
			}
		}
	}
	return lns, bound, nil
}

// bindSocket creates a non-blocking TCP socket bound to la:port.
func bindSocket(la listenAddr, port uint16, v6, reusePort bool) (int, error) {
	family, sa := la.sockaddr(port, v6)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	opts := []struct {
		level, opt, v int
		name          string
	}{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"},
	}
	if reusePort {
		opts = append(opts, struct {
			level, opt, v int
			name          string
		}{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"})
	}
	if family == unix.AF_INET6 {
		only := 1
		if !la.addr.IsValid() {
			only = 0 // ":port": one dual-stack socket
		}
		opts = append(opts, struct {
			level, opt, v int
			name          string
		}{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, only, "IPV6_V6ONLY"})
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			closeFd(fd)
			return -1, os.NewSyscallError("setsockopt "+o.name, err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		closeFd(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	return fd, nil
}

// hasIPv6 reports whether the kernel can create IPv6 sockets.
func hasIPv6() bool {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	closeFd(fd)
	return true
}

func sockaddrToTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	}
	return &net.TCPAddr{}
}

// peerAddr converts a raw socket address filled by accept4.
func peerAddr(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), netPort(&p.Port))
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr), netPort(&p.Port))
	}
	return netip.AddrPort{}
}

// netPort reads a port stored in network byte order.
func netPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func closeListeners(fds []int) {
	for _, fd := range fds {
		closeFd(fd)
	}
}

// closeFd closes fd, retrying nothing: on Linux the descriptor is released
// even when close reports EINTR.
func closeFd(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// pinThread pins the calling (locked) thread to the id-th CPU the process
// may run on.
func pinThread(id int) error {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return os.NewSyscallError("sched_getaffinity", err)
	}
	n := allowed.Count()
	if n == 0 {
		return errors.New("server: no CPU allowed")
	}
	want := id % n
	for cpu := 0; cpu < len(allowed)*64; cpu++ {
		if !allowed.IsSet(cpu) {
			continue
		}
		if want == 0 {
			var one unix.CPUSet
			one.Set(cpu)
			return os.NewSyscallError("sched_setaffinity", unix.SchedSetaffinity(0, &one))
		}
		want--
	}
	return nil
}

func numCPU() int { return runtime.NumCPU() }
