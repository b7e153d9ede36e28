package server

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/uring"
)

// uringCaps is what the uring engine may use on this kernel, found by trying
// each feature for real (a temporary ring, a socket pair, a listener) rather
// than by kernel version, and then narrowed by the RINGHTTPD_URING_MASK
// environment variable (see uringMaskNames) so every degraded path can be
// exercised on a new kernel.
type uringCaps struct {
	setupErr error  // io_uring_setup failed: the engine cannot run
	flags    uint32 // best setup flags NewRingBest obtained
	features uint32 // IORING_FEAT_* bits
	probe    *uring.Probe

	deferTaskrun    bool // SINGLE_ISSUER|DEFER_TASKRUN (6.1)
	coopTaskrun     bool // COOP_TASKRUN (5.19)
	extArg          bool // timed waits through EXT_ARG (5.11)
	multishotAccept bool // IORING_ACCEPT_MULTISHOT (5.19)
	bufRing         bool // provided-buffer rings (5.19)
	multishotRecv   bool // IORING_RECV_MULTISHOT with a buffer ring (6.0)
	splice          bool // IORING_OP_SPLICE (5.7)
	ringFiles       bool // OPENAT2, STATX, READ through the ring (5.6)
	sendZC          bool // IORING_OP_SEND_ZC (6.0); reported, not used
	bundle          bool // IORING_FEAT_RECVSEND_BUNDLE (6.10); reported, not used
	masked          []string
}

// uringMaskNames are the words RINGHTTPD_URING_MASK accepts (comma separated):
// each turns one kernel feature off as if the kernel lacked it.
var uringMaskNames = []string{"defer", "coop", "extarg", "msaccept", "bufring", "msrecv", "splice", "ringfiles"}

var (
	uringCapsOnce sync.Once
	uringCapsVal  uringCaps
)

// getUringCaps probes once per process.
func getUringCaps() uringCaps {
	uringCapsOnce.Do(func() { uringCapsVal = probeUringCaps(os.Getenv("RINGHTTPD_URING_MASK")) })
	return uringCapsVal
}

func probeUringCaps(mask string) uringCaps {
	var c uringCaps
	// The ring must be used by the thread that made it (SINGLE_ISSUER).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ring, tier, err := uring.NewRingBest(8, nil)
	if err != nil {
		c.setupErr = err
		return c
	}
	defer ring.Close()
	c.flags = ring.Flags()
	c.features = ring.Features()
	c.deferTaskrun = tier&uring.SetupDeferTaskrun != 0
	c.coopTaskrun = tier&uring.SetupCoopTaskrun != 0
	c.extArg = c.features&uring.FeatExtArg != 0
	c.bundle = c.features&uring.FeatRecvSendBundle != 0
	if p, err := ring.Probe(); err == nil {
		c.probe = p
	}
	has := func(op uring.Op) bool { return c.probe != nil && c.probe.Supported(op) }
	c.splice = has(uring.OpSplice)
	c.ringFiles = has(uring.OpOpenat2) && has(uring.OpStatx) && has(uring.OpRead)
	c.sendZC = has(uring.OpSendZC)
	if has(uring.OpAccept) && has(uring.OpRecv) && has(uring.OpSend) {
		c.bufRing, c.multishotRecv = tryBufRingRecv(ring)
		c.multishotAccept = tryMultishotAccept(ring)
	}
	for _, m := range strings.Split(mask, ",") {
		switch strings.TrimSpace(m) {
		case "defer":
			c.deferTaskrun = false
		case "coop":
			c.coopTaskrun = false
		case "extarg":
			c.extArg = false
		case "msaccept":
			c.multishotAccept = false
		case "bufring":
			c.bufRing, c.multishotRecv = false, false
		case "msrecv":
			c.multishotRecv = false
		case "splice":
			c.splice = false
		case "ringfiles":
			c.ringFiles = false
		case "":
			continue
		default:
			continue
		}
		c.masked = append(c.masked, strings.TrimSpace(m))
	}
	return c
}

// usable reports whether the uring engine can run with c, and why not.
// The engine needs accept, recv, send and a timed or untimed wait; every
// other feature has a fallback.
func (c *uringCaps) usable() (bool, string) {
	if c.setupErr != nil {
		why := "io_uring_setup: " + c.setupErr.Error()
		if cause := uring.SetupErrorCause(c.setupErr); cause != "" {
			why += " (" + cause + ")"
		}
		return false, why
	}
	if c.probe == nil {
		return false, "IORING_REGISTER_PROBE unsupported (kernel before 5.6)"
	}
	var missing []string
	for _, op := range []uring.Op{uring.OpAccept, uring.OpRecv, uring.OpSend, uring.OpSendmsg, uring.OpAsyncCancel, uring.OpClose, uring.OpRead} {
		if !c.probe.Supported(op) {
			missing = append(missing, op.String())
		}
	}
	if len(missing) > 0 {
		return false, "kernel lacks io_uring ops " + strings.Join(missing, ", ")
	}
	if !c.extArg {
		return false, "kernel lacks IORING_FEAT_EXT_ARG (5.11) for timed waits"
	}
	return true, ""
}

// tryCQE waits up to a second for one CQE with user data ud, consuming every
// CQE it sees.
func tryCQE(ring *uring.Ring, ud uint64) (res int32, flags uint32, ok bool) {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, err := ring.SubmitAndWaitTimeout(1, 50*time.Millisecond); err != nil && !errors.Is(err, uring.ErrTimeout) {
			return 0, 0, false
		}
		for cqe := ring.PeekCQE(); cqe != nil; cqe = ring.PeekCQE() {
			u, r, f := cqe.UserData, cqe.Res, cqe.Flags
			ring.CQESeen()
			if u == ud {
				return r, f, true
			}
		}
	}
	return 0, 0, false
}

// tryBufRingRecv registers a small buffer ring and receives from a socket
// pair with a multishot recv that selects from it.
func tryBufRingRecv(ring *uring.Ring) (bufRing, multishot bool) {
	br, err := ring.NewBufRing(7, 8, 256)
	if err != nil {
		return false, false
	}
	defer br.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return true, false
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, err := unix.Write(fds[1], []byte("probe")); err != nil {
		return true, false
	}
	sqe := ring.GetSQE()
	sqe.PrepRecvMultishot(fds[0], nil, 0)
	sqe.SetBufferGroup(br.Group())
	sqe.SetData(1)
	res, flags, ok := tryCQE(ring, 1)
	if !ok || res != 5 || flags&uring.CQEFMore == 0 {
		return true, false
	}
	sqe = ring.GetSQE()
	sqe.PrepCancel64(1, 0)
	sqe.SetData(2)
	tryCQE(ring, 2)
	return true, true
}

// tryMultishotAccept listens on a loopback port, arms a multishot accept and
// connects once.
func tryMultishotAccept(ring *uring.Ring) bool {
	ls, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(ls)
	if unix.Bind(ls, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil || unix.Listen(ls, 4) != nil {
		return false
	}
	sa, err := unix.Getsockname(ls)
	if err != nil {
		return false
	}
	cl, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(cl)
	if unix.Connect(cl, sa) != nil {
		return false
	}
	sqe := ring.GetSQE()
	sqe.PrepMultishotAccept(ls, nil, nil, unix.SOCK_CLOEXEC)
	sqe.SetData(3)
	res, flags, ok := tryCQE(ring, 3)
	if !ok || res < 0 {
		return false
	}
	unix.Close(int(res))
	multishot := flags&uring.CQEFMore != 0
	sqe = ring.GetSQE()
	sqe.PrepCancel64(3, 0)
	sqe.SetData(4)
	tryCQE(ring, 4)
	return multishot
}

// UringCheck is one line of the probe report.
type UringCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// UringReport is what the uring engine found on this kernel: the answer of
// `ringhttpd probe`.
type UringReport struct {
	Usable     bool         `json:"usable"`
	Why        string       `json:"why,omitempty"`
	SetupError string       `json:"setup_error,omitempty"`
	SetupFlags []string     `json:"setup_flags"`
	Features   []string     `json:"features"`
	Checks     []UringCheck `json:"checks"`
	Ops        []UringCheck `json:"ops"`
	Masked     []string     `json:"masked,omitempty"`
}

// uringOpsUsed are the opcodes the uring engine uses, with what for.
var uringOpsUsed = []struct {
	op  uring.Op
	use string
}{
	{uring.OpAccept, "accept connections"},
	{uring.OpRecv, "read requests"},
	{uring.OpSend, "write responses"},
	{uring.OpSendmsg, "write several queued answers in one call"},
	{uring.OpAsyncCancel, "cancel a closed connection's receive"},
	{uring.OpClose, "close connections"},
	{uring.OpRead, "read eventfd wake-ups and cold small files"},
	{uring.OpOpenat2, "open files under the root (RESOLVE_BENEATH)"},
	{uring.OpStatx, "stat opened files"},
	{uring.OpSplice, "send large files (file -> pipe -> socket)"},
	{uring.OpSendZC, "zero-copy send (reported, not used)"},
}

// ProbeUring reports what the uring engine can use on this kernel and
// whether --backend auto picks it. It creates short-lived rings and sockets.
func ProbeUring() UringReport {
	c := getUringCaps()
	var r UringReport
	r.Usable, r.Why = c.usable()
	r.Masked = c.masked
	if c.setupErr != nil {
		r.SetupError = c.setupErr.Error()
		if cause := uring.SetupErrorCause(c.setupErr); cause != "" {
			r.SetupError += " (" + cause + ")"
		}
		return r
	}
	r.SetupFlags = uring.SetupFlagNames(c.flags)
	r.Features = uring.FeatureNames(c.features)
	for _, f := range []struct {
		name string
		flag uint32
	}{
		{"SINGLE_ISSUER", uring.SetupSingleIssuer},
		{"DEFER_TASKRUN", uring.SetupDeferTaskrun | uring.SetupSingleIssuer},
		{"COOP_TASKRUN", uring.SetupCoopTaskrun},
		{"TASKRUN_FLAG", uring.SetupCoopTaskrun | uring.SetupTaskrunFlag},
		{"NO_SQARRAY", uring.SetupNoSQArray},
		{"SUBMIT_ALL", uring.SetupSubmitAll},
	} {
		_, err := uring.TrySetup(4, f.flag)
		chk := UringCheck{Name: "setup " + f.name, OK: err == nil}
		if err != nil {
			chk.Detail = err.Error()
		}
		r.Checks = append(r.Checks, chk)
	}
	yes := func(name string, ok bool, detail string) {
		r.Checks = append(r.Checks, UringCheck{Name: name, OK: ok, Detail: detail})
	}
	yes("EXT_ARG timed waits", c.extArg, "5.11")
	yes("NODROP (no lost CQEs)", c.features&uring.FeatNoDrop != 0, "5.5")
	yes("FAST_POLL", c.features&uring.FeatFastPoll != 0, "5.7")
	yes("multishot accept", c.multishotAccept, "5.19")
	yes("provided-buffer ring", c.bufRing, "5.19")
	yes("multishot recv", c.multishotRecv, "6.0")
	yes("send/recv bundles", c.bundle, "6.10")
	yes("SEND_ZC", c.sendZC, "6.0")
	yes("engine uses DEFER_TASKRUN", c.deferTaskrun, "6.1")
	for _, u := range uringOpsUsed {
		r.Ops = append(r.Ops, UringCheck{Name: u.op.String(), OK: c.probe != nil && c.probe.Supported(u.op), Detail: u.use})
	}
	return r
}
