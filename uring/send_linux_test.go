package uring

import (
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestSendAndSendmsg(t *testing.T) {
	tests := []struct {
		name  string
		op    Op
		parts []string
	}{
		{"send", OpSend, []string{"hello over send"}},
		{"sendmsg-one", OpSendmsg, []string{"one iovec"}},
		{"sendmsg-vectored", OpSendmsg, []string{"head: ", "body ", "tail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 8, nil)
			requireOps(t, r, tt.op)
			a, b := tcpPair(t)
			mem := mapped(t, 4096)
			var want []byte
			iov := make([]unix.Iovec, len(tt.parts)) // heap, reachable until the CQE
			off := 0
			for i, p := range tt.parts {
				n := copy(mem[off:], p)
				iov[i].Base = &mem[off]
				iov[i].SetLen(n)
				off += n
				want = append(want, p...)
			}
			msg := &unix.Msghdr{Iov: &iov[0]}
			msg.SetIovlen(len(iov))
			s := mustSQE(t, r)
			if tt.op == OpSend {
				s.PrepSend(a, mem[:off], unix.MSG_NOSIGNAL)
			} else {
				s.PrepSendmsg(a, msg, unix.MSG_NOSIGNAL)
			}
			s.SetData(5)
			c := reap(t, r, 1)[0]
			runtime.KeepAlive(iov)
			runtime.KeepAlive(msg)
			if c.UserData != 5 || int(c.Res) != len(want) {
				t.Fatalf("CQE %+v, want res %d", c, len(want))
			}
			if got := readFull(t, b, len(want)); string(got) != string(want) {
				t.Fatalf("peer read %q, want %q", got, want)
			}
		})
	}
}

func TestSendBrokenPipe(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpSend)
	a, b := tcpPair(t)
	unix.Close(b)
	mem := mapped(t, 64)
	// The first send may still be accepted by the kernel; a later one fails with EPIPE or
	// ECONNRESET once the peer's RST arrived.
	for i := 0; i < 50; i++ {
		s := mustSQE(t, r)
		s.PrepSend(a, mem, unix.MSG_NOSIGNAL)
		c := reap(t, r, 1)[0]
		if c.Res < 0 {
			if e := unix.Errno(-c.Res); e != unix.EPIPE && e != unix.ECONNRESET {
				t.Fatalf("send to closed peer: %v", e)
			}
			return
		}
		runtime.Gosched()
	}
	t.Fatal("send to a closed peer never failed")
}

func TestConnectAndRecvmsg(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpConnect, OpRecvmsg)
	ln, port := listenTCP(t)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	addr := new(unix.RawSockaddrAny) // heap, reachable until the CQE
	sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(addr))
	sa.Family = unix.AF_INET
	sa.Addr = [4]byte{127, 0, 0, 1}
	sa.Port = uint16(port>>8) | uint16(port&0xff)<<8 // network byte order
	s := mustSQE(t, r)
	s.PrepConnect(fd, addr, unix.SizeofSockaddrInet4)
	if c := reap(t, r, 1)[0]; c.Res != 0 {
		t.Fatalf("connect: %v", unix.Errno(-c.Res))
	}
	runtime.KeepAlive(addr)
	peer, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	for err == unix.EINTR {
		peer, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC)
	}
	must(t, err)
	t.Cleanup(func() { unix.Close(peer) })
	writeAll(t, peer, []byte("scatter"))

	mem := mapped(t, 64)
	iov := make([]unix.Iovec, 2) // heap, reachable until the CQE
	iov[0].Base, iov[1].Base = &mem[0], &mem[32]
	iov[0].SetLen(3)
	iov[1].SetLen(16)
	msg := &unix.Msghdr{Iov: &iov[0]}
	msg.SetIovlen(2)
	s = mustSQE(t, r)
	s.PrepRecvmsg(fd, msg, 0)
	c := reap(t, r, 1)[0]
	runtime.KeepAlive(iov)
	runtime.KeepAlive(msg)
	if c.Res != 7 || string(mem[:3]) != "sca" || string(mem[32:36]) != "tter" {
		t.Fatalf("recvmsg res %d: %q + %q", c.Res, mem[:3], mem[32:36])
	}
}
