package server

// connIO is the engines' private state of one connection, a few words so
// that an idle connection costs little (conn's size class is 240 bytes).
// What a uring send needs beyond a single buffer (an iovec array for
// sendmsg, a splice pipe, a file chunk), and the recv buffer without a
// buffer ring, is borrowed in a utx for as long as it is needed.
//
// Invariant (uring): inflight counts the connection's kernel operations
// whose final CQE has not been seen; the socket is closed, and the slot
// handed back to the core, only when it is zero. Every buffer, iovec and
// msghdr the kernel may touch is referenced from here (or from the core's
// output queue, which is dropped only after that) until that CQE.
type connIO struct {
	// events is the epoll interest currently registered (epoll engine).
	events uint32

	// The uring engine's state.
	inflight  int32
	recvArmed bool
	recvStop  bool // a cancel of the recv is in flight
	sending   bool // a send (or file transfer step) is in flight
	closing   bool // cancel submitted; close when inflight reaches 0
	// linkedClose: the connection's last send carries a linked CLOSE
	// (uring_close_linux.go).
	linkedClose bool

	tx *utx // borrowed while a transfer needs it; nil otherwise
}
