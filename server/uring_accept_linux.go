package server

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/uring"
)

// The uring engine's accepting: multishot accepts per listener, armed and
// cancelled as the worker's limits say.

// syncAccept arms or cancels the accepts as the worker's limits say.
func (l *uringLoop) syncAccept() {
	if !l.listenOpen {
		return
	}
	allowed := l.w.acceptAllowed(l.acceptPause)
	l.acceptPause = !allowed
	for i, fd := range l.listenFd {
		switch {
		case allowed && !l.listenArmed[i]:
			s := l.sqe()
			if l.caps.multishotAccept {
				s.PrepMultishotAccept(fd, nil, nil, unix.SOCK_CLOEXEC)
			} else {
				s.PrepAccept(fd, nil, nil, unix.SOCK_CLOEXEC)
			}
			s.SetData(udPack(ukAccept, 0, int32(i)))
			l.listenArmed[i] = true
		case !allowed && l.listenArmed[i] && !l.listenStop[i] && l.caps.multishotAccept:
			l.listenStop[i] = true
			s := l.sqe()
			s.PrepCancel64(udPack(ukAccept, 0, int32(i)), 0)
			s.SetData(ukIgnore)
			// listenArmed turns false when the accept's final CQE arrives.
		}
	}
}

func (l *uringLoop) onAccept(i int, res int32, flags uint32) {
	if flags&uring.CQEFMore == 0 && i < len(l.listenArmed) {
		l.listenArmed[i] = false
		l.listenStop[i] = false
	}
	w := l.w
	if res < 0 {
		switch unix.Errno(-res) {
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			w.acceptFailedNoFD()
		}
		return
	}
	fd := int(res)
	// A connection the multishot accept took while the worker stops: a
	// handover drain serves it (its request is answered with Connection:
	// close; closing it would lose a request the client already sent, the
	// one thing an upgrade must not do); any other stop closes it.
	if (!l.listenOpen || w.draining) && (!w.s.handover.Load() || w.forced || l.stopped) {
		unix.Close(fd)
		return
	}
	w.m.c.accepts++
	var peer netip.AddrPort
	if l.peer {
		peer = peerOf(fd)
	}
	c := w.newConn(fd, peer, i)
	u := &c.io
	l.armRecv(c, u)
}

// peerOf returns the peer address of a socket (access log only).
func peerOf(fd int) netip.AddrPort {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// closeListeners stops accepting for good (shutdown).
func (l *uringLoop) closeListeners() {
	if !l.listenOpen {
		return
	}
	l.listenOpen = false
	for i, fd := range l.listenFd {
		if l.listenArmed[i] {
			s := l.sqe()
			s.PrepCancel64(udPack(ukAccept, 0, int32(i)), 0)
			s.SetData(ukIgnore)
		}
		// The armed accept holds its own file reference: closing the
		// descriptor now is safe, the cancel ends the accept.
		closeFd(fd)
	}
}
