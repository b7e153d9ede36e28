package uring

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestMultishotAccept(t *testing.T) {
	requireKernel(t, 5, 19, "multishot accept")
	tests := []struct {
		name   string
		direct bool
	}{{"fd-table", false}, {"direct-alloc", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 16, nil)
			requireOps(t, r, OpAccept, OpAsyncCancel, OpRecv)
			if tt.direct {
				if err := r.RegisterFilesSparse(8); err != nil {
					t.Fatal(err)
				}
			}
			ln, port := listenTCP(t)
			s := mustSQE(t, r)
			if tt.direct {
				s.PrepMultishotAcceptDirect(ln, nil, nil, 0) // direct descriptors take no SOCK_CLOEXEC
			} else {
				s.PrepMultishotAccept(ln, nil, nil, unix.SOCK_CLOEXEC)
			}
			s.SetData(100)
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			const conns = 3
			clients := make([]int, conns)
			for i := range clients {
				clients[i] = dialTCP(t, port)
			}
			cqes := reap(t, r, conns)
			seen := map[int32]bool{}
			for i, c := range cqes {
				if c.UserData != 100 || c.Res < 0 || !c.More() {
					t.Fatalf("accept CQE %d = %+v (res %v)", i, c, unix.Errno(-c.Res))
				}
				if seen[c.Res] {
					t.Fatalf("fd/slot %d handed out twice", c.Res)
				}
				seen[c.Res] = true
				if !tt.direct {
					t.Cleanup(func() { unix.Close(int(c.Res)) })
				}
			}
			// Each accepted socket works: the client writes, a recv on the accepted fd (or
			// fixed slot) reads it.
			buf := mapped(t, 64)
			for i, c := range cqes {
				msg := []byte{'m', byte('0' + i)}
				writeAll(t, clients[i], msg)
				s := mustSQE(t, r)
				s.PrepRecv(int(c.Res), buf, 0)
				if tt.direct {
					s.SetFlags(SQEFixedFile)
				}
				s.SetData(200)
				got := reap(t, r, 1)[0]
				if got.Res != 2 || string(buf[:2]) != string(msg) {
					t.Fatalf("recv on accepted socket %d: res %d data %q, want %q", c.Res, got.Res, buf[:2], msg)
				}
			}
			// Cancel the multishot accept: its final CQE comes without CQEFMore.
			s = mustSQE(t, r)
			s.PrepCancel64(100, 0)
			s.SetData(101)
			for _, c := range reap(t, r, 2) {
				switch c.UserData {
				case 100:
					if c.Res != -int32(unix.ECANCELED) || c.More() {
						t.Errorf("final accept CQE %+v", c)
					}
				case 101:
					if c.Res != 0 {
						t.Errorf("cancel CQE %+v", c)
					}
				default:
					t.Errorf("unexpected CQE %+v", c)
				}
			}
		})
	}
}

func TestAcceptWithAddress(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpAccept)
	ln, port := listenTCP(t)
	addr := new(unix.RawSockaddrAny)
	addrLen := new(uint32)
	*addrLen = unix.SizeofSockaddrAny
	s := mustSQE(t, r)
	s.PrepAccept(ln, addr, addrLen, unix.SOCK_CLOEXEC)
	s.SetData(1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	cl := dialTCP(t, port)
	c := reap(t, r, 1)[0]
	if c.Res < 0 || c.More() {
		t.Fatalf("accept CQE %+v", c)
	}
	defer unix.Close(int(c.Res))
	local, err := unix.Getsockname(cl)
	if err != nil {
		t.Fatal(err)
	}
	in4 := (*unix.RawSockaddrInet4)(unsafePointer(addr))
	gotPort := int(in4.Port>>8 | in4.Port<<8)
	if in4.Family != unix.AF_INET || gotPort != local.(*unix.SockaddrInet4).Port || *addrLen != unix.SizeofSockaddrInet4 {
		t.Fatalf("peer address family %d port %d len %d, want port %d", in4.Family, gotPort, *addrLen, local.(*unix.SockaddrInet4).Port)
	}
}

func TestAcceptDirectSlot(t *testing.T) {
	requireKernel(t, 5, 15, "direct descriptors")
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpAccept, OpSend)
	must(t, r.RegisterFiles([]int32{-1, -1, -1, -1}))
	ln, port := listenTCP(t)
	s := mustSQE(t, r)
	s.PrepAcceptDirect(ln, nil, nil, 0, 3) // into slot 3
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	cl := dialTCP(t, port)
	if c := reap(t, r, 1)[0]; c.Res != 0 {
		t.Fatalf("direct accept into slot 3: %+v", c)
	}
	mem := mapped(t, 8)
	copy(mem, "slot3")
	s = mustSQE(t, r)
	s.PrepSend(3, mem[:5], unix.MSG_NOSIGNAL)
	s.SetFlags(SQEFixedFile)
	if c := reap(t, r, 1)[0]; c.Res != 5 {
		t.Fatalf("send on fixed slot 3: %+v", c)
	}
	if got := readFull(t, cl, 5); string(got) != "slot3" {
		t.Fatalf("client read %q", got)
	}
}
