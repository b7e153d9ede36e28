package uring

import (
	"runtime"
	"testing"

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
