//go:build linux

package uring_test

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/uring"
	"golang.org/x/sys/unix"
)

// ExampleRing_GetSQE queues a batch of NOPs, submits them with one io_uring_enter that waits
// for all of them, and consumes the completions in one batch.
func ExampleRing_GetSQE() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, _, err := uring.NewRingBest(8, nil)
	if err != nil {
		fmt.Println(err, uring.SetupErrorCause(err))
		return
	}
	defer r.Close()
	for i := uint64(1); i <= 3; i++ {
		sqe := r.GetSQE() // nil only when the SQ is full
		sqe.PrepNop()
		sqe.SetData(i * 100) // a number of ours, never a pointer
	}
	if _, err := r.SubmitAndWait(3); err != nil {
		fmt.Println(err)
		return
	}
	var cqes [8]*uring.CQE
	n := r.PeekBatch(cqes[:])
	sum := uint64(0)
	for _, c := range cqes[:n] {
		sum += c.UserData
	}
	r.CQAdvance(uint32(n))
	fmt.Println(n, "completions, user data sum", sum)
	// Output: 3 completions, user data sum 600
}

// User data layout of the echo server: the kind in the top byte, the socket in the middle,
// the buffer id in the low 16 bits. A number, never a pointer.
const (
	kindAccept = 1 << 56
	kindRecv   = 2 << 56
	kindSend   = 3 << 56
	kindMask   = 0xff << 56
)

// Example_echoServer is an echo server on one ring: one multishot accept, one multishot recv
// per connection into a provided-buffer ring, each chunk sent back straight from the buffer
// that received it and the buffer recycled when its send completes. It serves one client
// (below) and stops when that client hangs up. It needs Linux 6.0 (multishot recv);
// TestExampleEchoServer runs it, and skips on older kernels (an example cannot skip).
func Example_echoServer() {
	fmt.Println(echoServer())
}

func TestExampleEchoServer(t *testing.T) {
	p, err := uring.GetProbe()
	if err != nil {
		t.Skipf("no io_uring probe: %v", err)
	}
	if !p.Supported(uring.OpSendZC) { // SEND_ZC arrived in 6.0 with multishot recv
		t.Skip("multishot recv needs Linux 6.0")
	}
	if got, want := echoServer(), "client got: hello, ring"; got != want {
		t.Fatalf("echo server: %q, want %q", got, want)
	}
}

// echoServer runs the example and returns its one line of output.
func echoServer() string {
	runtime.LockOSThread() // the ring belongs to this thread
	defer runtime.UnlockOSThread()

	r, _, err := uring.NewRingBest(64, nil)
	if err != nil {
		return fmt.Sprint("io_uring unavailable: ", err, uring.SetupErrorCause(err))
	}
	defer r.Close()
	bufs, err := r.NewBufRing(1, 64, 2048)
	if err != nil {
		return fmt.Sprint("no buffer rings: ", err)
	}
	defer bufs.Close()

	ln, port := listen()
	defer unix.Close(ln)
	sqe := r.GetSQE()
	sqe.PrepMultishotAccept(ln, nil, nil, unix.SOCK_CLOEXEC)
	sqe.SetData(kindAccept)

	// The client runs on its own goroutine with the standard library.
	reply := make(chan string, 1)
	go func() {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			reply <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "hello, ring")
		buf := make([]byte, len("hello, ring"))
		_, err = io.ReadFull(c, buf)
		if err != nil {
			reply <- err.Error()
			return
		}
		reply <- string(buf)
	}()

	var cqes [32]*uring.CQE
	for open := true; open; {
		// One enter per turn: submit everything queued, sleep for at least one completion.
		if _, err := r.SubmitAndWaitTimeout(1, 5*time.Second); err != nil {
			return fmt.Sprint("wait: ", err)
		}
		n := r.PeekBatch(cqes[:])
		for _, c := range cqes[:n] {
			fd := int(c.UserData >> 16 & 0xffffff)
			switch c.UserData & kindMask {
			case kindAccept:
				if c.Res < 0 {
					return fmt.Sprint("accept: ", unix.Errno(-c.Res))
				}
				sqe := r.GetSQE()
				sqe.PrepRecvMultishot(int(c.Res), nil, 0)
				sqe.SetBufferGroup(bufs.Group())
				sqe.SetData(kindRecv | uint64(c.Res)<<16)
			case kindRecv:
				if c.Res <= 0 { // 0: the client hung up
					unix.Close(fd)
					open = false
					continue
				}
				bid, _ := c.BufferID()
				sqe := r.GetSQE()
				sqe.PrepSend(fd, bufs.Buffer(bid)[:c.Res], unix.MSG_NOSIGNAL)
				sqe.SetData(kindSend | uint64(fd)<<16 | uint64(bid))
			case kindSend:
				bufs.Recycle(uint16(c.UserData)) // the kernel is done with the buffer
			}
		}
		r.CQAdvance(uint32(n))
	}
	return "client got: " + <-reply
}

// listen opens a loopback listener and returns its fd and port.
func listen() (int, int) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		panic(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		panic(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		panic(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		panic(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}
