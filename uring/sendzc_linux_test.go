package uring

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSendZCNotification(t *testing.T) {
	tests := []struct {
		name    string
		op      Op
		zcFlags uint16
		kernel  [2]int
	}{
		{"send-zc", OpSendZC, 0, [2]int{6, 0}},
		{"send-zc-report-usage", OpSendZC, SendZCReportUsage, [2]int{6, 2}},
		{"sendmsg-zc", OpSendmsgZC, 0, [2]int{6, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireKernel(t, tt.kernel[0], tt.kernel[1], tt.name)
			r := newTestRing(t, 8, nil)
			requireOps(t, r, tt.op)
			a, b := tcpPair(t)
			buf := mapped(t, 8192)
			for i := range buf {
				buf[i] = byte(i * 7)
			}
			iov := []unix.Iovec{{Base: &buf[0]}}
			iov[0].SetLen(len(buf))
			msg := &unix.Msghdr{Iov: &iov[0]}
			msg.SetIovlen(1)
			s := mustSQE(t, r)
			if tt.op == OpSendZC {
				s.PrepSendZC(a, buf, unix.MSG_NOSIGNAL, tt.zcFlags)
			} else {
				s.PrepSendmsgZC(a, msg, unix.MSG_NOSIGNAL)
			}
			s.SetData(77)
			// Read concurrently: the peer drains while the ring waits.
			done := make(chan []byte)
			go func() { done <- readFullNoT(b, len(buf)) }()
			cqes := reap(t, r, 2)
			runtime.KeepAlive(iov)
			runtime.KeepAlive(msg)
			res, notif := cqes[0], cqes[1]
			if res.UserData != 77 || int(res.Res) != len(buf) || !res.More() || res.Notif() {
				t.Fatalf("result CQE %+v", res)
			}
			if notif.UserData != 77 || !notif.Notif() || notif.More() {
				t.Fatalf("notification CQE %+v", notif)
			}
			if tt.zcFlags&SendZCReportUsage == 0 && notif.Res != 0 {
				t.Fatalf("notification res %d without REPORT_USAGE", notif.Res)
			}
			if tt.zcFlags&SendZCReportUsage != 0 && uint32(notif.Res)&^NotifUsageZCCopied != 0 {
				t.Fatalf("notification res %#x has bits beyond ZC_COPIED", uint32(notif.Res))
			}
			got := <-done
			for i := range got {
				if got[i] != byte(i*7) {
					t.Fatalf("byte %d = %d", i, got[i])
				}
			}
		})
	}
}

// readFullNoT reads n bytes from fd for a helper goroutine (no testing.T use off the test
// goroutine); it returns what it read on error.
func readFullNoT(fd int, n int) []byte {
	buf := make([]byte, n)
	got := 0
	for got < n {
		k, err := unix.Read(fd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || k == 0 {
			break
		}
		got += k
	}
	return buf[:got]
}
