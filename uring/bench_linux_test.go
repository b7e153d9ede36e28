package uring

import (
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkNopBatch measures submit+reap of batches of NOPs; one op is one NOP. It must report
// 0 allocs/op.
func BenchmarkNopBatch(b *testing.B) {
	modes := []struct {
		name  string
		flags uint32
		wait  bool // SubmitAndWait (Syscall6) vs SubmitAndGetEvents (RawSyscall6)
	}{
		{"defer-taskrun/wait", SetupSingleIssuer | SetupDeferTaskrun, true},
		{"defer-taskrun/getevents", SetupSingleIssuer | SetupDeferTaskrun, false},
		{"plain/wait", 0, true},
	}
	for _, m := range modes {
		for _, batch := range []int{1, 32} {
			b.Run(m.name+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				r := newTestRing(b, 64, &Params{Flags: m.flags})
				if m.flags != 0 {
					must2(b, r.RegisterRingFD())
				}
				var cqes [64]*CQE
				b.ReportAllocs()
				b.ResetTimer()
				for done := 0; done < b.N; {
					k := min(batch, b.N-done)
					for i := 0; i < k; i++ {
						s := r.GetSQE()
						s.PrepNop()
						s.SetData(uint64(i))
					}
					var err error
					if m.wait {
						_, err = r.SubmitAndWait(uint32(k))
					} else {
						_, err = r.SubmitAndGetEvents()
					}
					if err != nil {
						b.Fatal(err)
					}
					for got := 0; got < k; {
						n := r.PeekBatch(cqes[:])
						if n == 0 {
							if _, err := r.SubmitAndGetEvents(); err != nil {
								b.Fatal(err)
							}
							continue
						}
						r.CQAdvance(uint32(n))
						got += n
					}
					done += k
				}
			})
		}
	}
}

// BenchmarkEchoRoundTrip measures one 64-byte request/response over loopback TCP: a blocking
// client socket on the benchmark goroutine, and an io_uring echo server (multishot recv into
// a buffer ring, send from the buffer) on its own locked thread. One op is one round trip.
func BenchmarkEchoRoundTrip(b *testing.B) {
	requireKernel(b, 6, 0, "multishot recv")
	client, server := tcpPair(b)
	unix.SetsockoptInt(client, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(server, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	errc := make(chan error, 1)
	ready := make(chan struct{})
	go func() { errc <- echoLoop(server, ready) }()
	<-ready
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		writeAll(b, client, msg)
		for got := 0; got < len(buf); {
			n, err := unix.Read(client, buf[got:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				b.Fatalf("read: %v", err)
			}
			got += n
		}
	}
	b.StopTimer()
	unix.Shutdown(client, unix.SHUT_WR)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

// echoLoop echoes fd until EOF on one ring, one enter per turn.
func echoLoop(fd int, ready chan<- struct{}) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, _, err := NewRingBest(64, nil)
	if err != nil {
		close(ready)
		return err
	}
	defer r.Close()
	br, err := r.NewBufRing(1, 64, 4096)
	if err != nil {
		close(ready)
		return err
	}
	defer br.Close()
	const recvTag, sendTag = 1 << 32, 2 << 32
	arm := func() {
		s := r.GetSQE()
		s.PrepRecvMultishot(fd, nil, 0)
		s.SetBufferGroup(br.Group())
		s.SetData(recvTag)
	}
	arm()
	close(ready)
	var cqes [32]*CQE
	for {
		if _, err := r.SubmitAndWait(1); err != nil {
			return err
		}
		n := r.PeekBatch(cqes[:])
		for _, c := range cqes[:n] {
			switch {
			case c.UserData == recvTag && c.Res > 0:
				bid, _ := c.BufferID()
				s := r.GetSQE()
				s.PrepSend(fd, br.Buffer(bid)[:c.Res], unix.MSG_NOSIGNAL)
				s.SetData(sendTag | uint64(bid))
				if !c.More() {
					arm()
				}
			case c.UserData == recvTag && c.Res == -int32(unix.ENOBUFS):
				arm()
			case c.UserData == recvTag:
				return nil // EOF or error: the client is gone
			default:
				br.Recycle(uint16(c.UserData))
			}
		}
		r.CQAdvance(uint32(n))
	}
}

func must2(b testing.TB, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
