package uring

// This file holds the kernel ABI constants of include/uapi/linux/io_uring.h. They are
// defined on every platform so that tools (the probe command) can name them anywhere.

// Op is an io_uring opcode (sqe->opcode, enum io_uring_op).
type Op uint8

// Opcodes. The comment gives the first kernel that has the op.
const (
	OpNop            Op = iota // 5.1
	OpReadv                    // 5.1
	OpWritev                   // 5.1
	OpFsync                    // 5.1
	OpReadFixed                // 5.1
	OpWriteFixed               // 5.1
	OpPollAdd                  // 5.1
	OpPollRemove               // 5.1
	OpSyncFileRange            // 5.2
	OpSendmsg                  // 5.3
	OpRecvmsg                  // 5.3
	OpTimeout                  // 5.4
	OpTimeoutRemove            // 5.5
	OpAccept                   // 5.5
	OpAsyncCancel              // 5.5
	OpLinkTimeout              // 5.5
	OpConnect                  // 5.5
	OpFallocate                // 5.6
	OpOpenat                   // 5.6
	OpClose                    // 5.6
	OpFilesUpdate              // 5.6
	OpStatx                    // 5.6
	OpRead                     // 5.6
	OpWrite                    // 5.6
	OpFadvise                  // 5.6
	OpMadvise                  // 5.6
	OpSend                     // 5.6
	OpRecv                     // 5.6
	OpOpenat2                  // 5.6
	OpEpollCtl                 // 5.6
	OpSplice                   // 5.7
	OpProvideBuffers           // 5.7
	OpRemoveBuffers            // 5.7
	OpTee                      // 5.8
	OpShutdown                 // 5.11
	OpRenameat                 // 5.11
	OpUnlinkat                 // 5.11
	OpMkdirat                  // 5.15
	OpSymlinkat                // 5.15
	OpLinkat                   // 5.15
	OpMsgRing                  // 5.18
	OpFsetxattr                // 5.19
	OpSetxattr                 // 5.19
	OpFgetxattr                // 5.19
	OpGetxattr                 // 5.19
	OpSocket                   // 5.19
	OpUringCmd                 // 5.19
	OpSendZC                   // 6.0
	OpSendmsgZC                // 6.1
	OpReadMultishot            // 6.7
	OpWaitid                   // 6.7
	OpFutexWait                // 6.7
	OpFutexWake                // 6.7
	OpFutexWaitv               // 6.7
	OpFixedFdInstall           // 6.8
	OpFtruncate                // 6.9
	OpBind                     // 6.11
	OpListen                   // 6.11
	OpRecvZC                   // 6.15
	OpEpollWait                // 6.15
	OpReadvFixed               // 6.15
	OpWritevFixed              // 6.15
	OpPipe                     // 6.16
	opKnownEnd
)

var opNames = [...]string{
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
	"SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT",
	"ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE",
	"STATX", "READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL",
	"SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT",
	"MKDIRAT", "SYMLINKAT", "LINKAT", "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR",
	"GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID",
	"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV", "FIXED_FD_INSTALL", "FTRUNCATE", "BIND", "LISTEN",
	"RECV_ZC", "EPOLL_WAIT", "READV_FIXED", "WRITEV_FIXED", "PIPE",
}

// String returns the kernel's name of the opcode without the IORING_OP_ prefix ("SEND_ZC"),
// or "OP(n)" for an opcode this package does not know.
func (op Op) String() string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return "OP(" + itoa(uint64(op)) + ")"
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

// SQE flags (sqe->flags, IOSQE_*).
const (
	SQEFixedFile      uint8 = 1 << 0 // fd is an index into the registered file table (5.1)
	SQEIODrain        uint8 = 1 << 1 // issue after all earlier requests completed (5.2)
	SQEIOLink         uint8 = 1 << 2 // the next SQE starts when this one succeeds (5.3)
	SQEIOHardlink     uint8 = 1 << 3 // like SQEIOLink, but the chain survives a failure (5.5)
	SQEAsync          uint8 = 1 << 4 // always punt to io-wq (5.6)
	SQEBufferSelect   uint8 = 1 << 5 // pick a buffer from sqe.BufIndex's group (5.7)
	SQECQESkipSuccess uint8 = 1 << 6 // post no CQE when the request succeeds (5.17)
)

// Setup flags (io_uring_params.flags, IORING_SETUP_*). The comment gives the first kernel.
const (
	SetupIOPoll         uint32 = 1 << 0  // busy-poll for I/O completion (5.1)
	SetupSQPoll         uint32 = 1 << 1  // kernel thread polls the SQ (5.1)
	SetupSQAff          uint32 = 1 << 2  // SQThreadCPU is valid (5.1)
	SetupCQSize         uint32 = 1 << 3  // CQEntries is valid (5.5)
	SetupClamp          uint32 = 1 << 4  // clamp ring sizes to the maximum (5.6)
	SetupAttachWQ       uint32 = 1 << 5  // share the io-wq of WQFd (5.6)
	SetupRDisabled      uint32 = 1 << 6  // start disabled (5.10)
	SetupSubmitAll      uint32 = 1 << 7  // keep submitting after a failed SQE (5.18)
	SetupCoopTaskrun    uint32 = 1 << 8  // no IPI to run task work (5.19)
	SetupTaskrunFlag    uint32 = 1 << 9  // IORING_SQ_TASKRUN tells when to enter (5.19)
	SetupSQE128         uint32 = 1 << 10 // 128-byte SQEs (5.19)
	SetupCQE32          uint32 = 1 << 11 // 32-byte CQEs (5.19)
	SetupSingleIssuer   uint32 = 1 << 12 // only one task submits (6.0)
	SetupDeferTaskrun   uint32 = 1 << 13 // task work runs only on GETEVENTS (6.1)
	SetupNoMmap         uint32 = 1 << 14 // application provides ring memory (6.5)
	SetupRegisteredOnly uint32 = 1 << 15 // ring fd is only a registered index (6.5)
	SetupNoSQArray      uint32 = 1 << 16 // no SQ index array (6.6)
	SetupHybridIOPoll   uint32 = 1 << 17 // hybrid I/O polling (6.13)
)

// Features (io_uring_params.features, IORING_FEAT_*), read back after setup.
const (
	FeatSingleMmap     uint32 = 1 << 0  // SQ and CQ rings share one mmap (5.4)
	FeatNoDrop         uint32 = 1 << 1  // CQ overflow is kept, not dropped (5.5)
	FeatSubmitStable   uint32 = 1 << 2  // submission data is copied at submit (5.5)
	FeatRWCurPos       uint32 = 1 << 3  // offset -1 means current position (5.6)
	FeatCurPersonality uint32 = 1 << 4  // requests use the submitter's creds (5.6)
	FeatFastPoll       uint32 = 1 << 5  // internal poll instead of io-wq for sockets (5.7)
	FeatPoll32Bits     uint32 = 1 << 6  // 32-bit poll events (5.9)
	FeatSQPollNonfixed uint32 = 1 << 7  // SQPOLL without fixed files (5.11)
	FeatExtArg         uint32 = 1 << 8  // io_uring_enter takes io_uring_getevents_arg (5.11)
	FeatNativeWorkers  uint32 = 1 << 9  // io-wq workers are native threads (5.12)
	FeatRsrcTags       uint32 = 1 << 10 // tagged resource registration (5.13)
	FeatCQESkip        uint32 = 1 << 11 // IOSQE_CQE_SKIP_SUCCESS (5.17)
	FeatLinkedFile     uint32 = 1 << 12 // linked requests resolve files late (5.17)
	FeatRegRegRing     uint32 = 1 << 13 // io_uring_register takes a registered ring fd (6.3)
	FeatRecvSendBundle uint32 = 1 << 14 // send/recv bundles (6.10)
	FeatMinTimeout     uint32 = 1 << 15 // min wait timeout (6.12)
	FeatRWAttr         uint32 = 1 << 16 // read/write attributes (6.14)
	FeatNoIOWait       uint32 = 1 << 17 // waits need not count as iowait (6.15)
)

// io_uring_enter flags (IORING_ENTER_*).
const (
	EnterGetEvents      uint32 = 1 << 0 // wait for / flush completions
	EnterSQWakeup       uint32 = 1 << 1 // wake the SQPOLL thread
	EnterSQWait         uint32 = 1 << 2 // wait for SQ space (SQPOLL)
	EnterExtArg         uint32 = 1 << 3 // argument is io_uring_getevents_arg (5.11)
	EnterRegisteredRing uint32 = 1 << 4 // fd is a registered ring index (5.18)
)

// SQ ring flags (IORING_SQ_*), read from the shared sq flags word.
const (
	SQNeedWakeup uint32 = 1 << 0 // SQPOLL thread sleeps
	SQCQOverflow uint32 = 1 << 1 // completions wait in the kernel's overflow list
	SQTaskrun    uint32 = 1 << 2 // task work is pending (SetupTaskrunFlag)
)

// CQE flags (cqe->flags, IORING_CQE_F_*).
const (
	CQEFBuffer       uint32 = 1 << 0 // upper 16 bits are the selected buffer id
	CQEFMore         uint32 = 1 << 1 // the request will post more CQEs
	CQEFSockNonempty uint32 = 1 << 2 // more data is waiting in the socket
	CQEFNotif        uint32 = 1 << 3 // SEND_ZC notification: the buffer is free again
	CQEFBufMore      uint32 = 1 << 4 // incremental buffer still owned by the kernel (6.12)
	CQEBufferShift          = 16     // shift of the buffer id in flags
)

// Timeout flags (sqe->timeout_flags, IORING_TIMEOUT_*).
const (
	TimeoutAbs          uint32 = 1 << 0
	TimeoutUpdate       uint32 = 1 << 1
	TimeoutBoottime     uint32 = 1 << 2
	TimeoutRealtime     uint32 = 1 << 3
	TimeoutLinkUpdate   uint32 = 1 << 4
	TimeoutETimeSuccess uint32 = 1 << 5
	TimeoutMultishot    uint32 = 1 << 6 // 6.4
	TimeoutClockMask           = TimeoutBoottime | TimeoutRealtime
	TimeoutUpdateMask          = TimeoutUpdate | TimeoutLinkUpdate
)

// Async cancel flags (sqe->cancel_flags, IORING_ASYNC_CANCEL_*).
const (
	CancelAll      uint32 = 1 << 0 // cancel every match, not only the first (5.19)
	CancelFd       uint32 = 1 << 1 // match on fd instead of user_data (5.19)
	CancelAny      uint32 = 1 << 2 // match any request (5.19)
	CancelFdFixed  uint32 = 1 << 3 // fd is a registered file index (5.19)
	CancelUserData uint32 = 1 << 4 // match on user_data (6.6)
	CancelOp       uint32 = 1 << 5 // match on opcode (6.6)
)

// Send/recv flags kept in sqe->ioprio (IORING_RECVSEND_*, IORING_RECV_*, IORING_SEND_*).
const (
	RecvsendPollFirst  uint16 = 1 << 0  // arm poll before trying the transfer (5.19)
	RecvMultishot      uint16 = 1 << 1  // multishot recv (6.0)
	RecvsendFixedBuf   uint16 = 1 << 2  // use the registered buffer buf_index (6.0)
	SendZCReportUsage  uint16 = 1 << 3  // notification reports whether data was copied (6.2)
	RecvsendBundle     uint16 = 1 << 4  // bundle several buffers in one completion (6.10)
	NotifUsageZCCopied uint32 = 1 << 31 // in a notification's res: the data was copied
)

// Accept flags kept in sqe->ioprio (IORING_ACCEPT_*).
const (
	AcceptMultishot uint16 = 1 << 0 // 5.19
	AcceptDontwait  uint16 = 1 << 1 // 6.10
	AcceptPollFirst uint16 = 1 << 2 // 6.10
)

// Poll flags kept in sqe->len (IORING_POLL_*).
const (
	PollAddMulti       uint32 = 1 << 0 // 5.13
	PollUpdateEvents   uint32 = 1 << 1
	PollUpdateUserData uint32 = 1 << 2
	PollAddLevel       uint32 = 1 << 3
)

// MSG_RING commands (sqe->addr) and flags (sqe->msg_ring_flags).
const (
	MsgData         uint64 = 0      // post a CQE with res = len, user_data = off (5.18)
	MsgSendFd       uint64 = 1      // move a registered file to the target ring (6.0)
	MsgRingCQESkip  uint32 = 1 << 0 // post no CQE on the target (6.0)
	MsgRingFlagPass uint32 = 1 << 1 // pass sqe->file_index as the target CQE flags (6.3)
)

// FileIndexAlloc asks the kernel to pick a free direct descriptor (IORING_FILE_INDEX_ALLOC, 5.19).
const FileIndexAlloc uint32 = ^uint32(0)

// SpliceFFdInFixed marks splice's input fd as a registered file index.
const SpliceFFdInFixed uint32 = 1 << 31

// RegisterFilesSkip in a files update leaves that slot unchanged.
const RegisterFilesSkip int32 = -2

// io_uring_register opcodes (IORING_REGISTER_*).
const (
	registerBuffers         = 0
	unregisterBuffers       = 1
	registerFiles           = 2
	unregisterFiles         = 3
	registerFilesUpdate     = 6
	registerProbe           = 8
	registerFiles2          = 13
	registerIOWQMaxWorkers  = 19
	registerRingFds         = 20
	unregisterRingFds       = 21
	registerPbufRing        = 22
	unregisterPbufRing      = 23
	registerFileAllocRange  = 25
	rsrcRegisterSparse      = 1 << 0
	ioUringOpSupported      = 1 << 0
	offSQRing               = 0
	offCQRing               = 0x8000000
	offSQEs                 = 0x10000000
	maxProbeOps             = 256
	sizeofProbeHeader       = 16
	sizeofProbeOp           = 8
	registerUseRegisteredFd = 1 << 31
)

var setupFlagNames = []struct {
	flag uint32
	name string
}{
	{SetupIOPoll, "IOPOLL"}, {SetupSQPoll, "SQPOLL"}, {SetupSQAff, "SQ_AFF"},
	{SetupCQSize, "CQSIZE"}, {SetupClamp, "CLAMP"}, {SetupAttachWQ, "ATTACH_WQ"},
	{SetupRDisabled, "R_DISABLED"}, {SetupSubmitAll, "SUBMIT_ALL"},
	{SetupCoopTaskrun, "COOP_TASKRUN"}, {SetupTaskrunFlag, "TASKRUN_FLAG"},
	{SetupSQE128, "SQE128"}, {SetupCQE32, "CQE32"}, {SetupSingleIssuer, "SINGLE_ISSUER"},
	{SetupDeferTaskrun, "DEFER_TASKRUN"}, {SetupNoMmap, "NO_MMAP"},
	{SetupRegisteredOnly, "REGISTERED_FD_ONLY"}, {SetupNoSQArray, "NO_SQARRAY"},
	{SetupHybridIOPoll, "HYBRID_IOPOLL"},
}

var featureNames = []struct {
	flag uint32
	name string
}{
	{FeatSingleMmap, "SINGLE_MMAP"}, {FeatNoDrop, "NODROP"}, {FeatSubmitStable, "SUBMIT_STABLE"},
	{FeatRWCurPos, "RW_CUR_POS"}, {FeatCurPersonality, "CUR_PERSONALITY"},
	{FeatFastPoll, "FAST_POLL"}, {FeatPoll32Bits, "POLL_32BITS"},
	{FeatSQPollNonfixed, "SQPOLL_NONFIXED"}, {FeatExtArg, "EXT_ARG"},
	{FeatNativeWorkers, "NATIVE_WORKERS"}, {FeatRsrcTags, "RSRC_TAGS"}, {FeatCQESkip, "CQE_SKIP"},
	{FeatLinkedFile, "LINKED_FILE"}, {FeatRegRegRing, "REG_REG_RING"},
	{FeatRecvSendBundle, "RECVSEND_BUNDLE"}, {FeatMinTimeout, "MIN_TIMEOUT"},
	{FeatRWAttr, "RW_ATTR"}, {FeatNoIOWait, "NO_IOWAIT"},
}

// SetupFlagNames returns the kernel names (without IORING_SETUP_) of the bits set in flags,
// lowest bit first; unknown bits are named "0x..." so nothing is hidden.
func SetupFlagNames(flags uint32) []string { return names(flags, setupFlagNames) }

// FeatureNames returns the kernel names (without IORING_FEAT_) of the bits set in features,
// lowest bit first; unknown bits are named "0x...".
func FeatureNames(features uint32) []string { return names(features, featureNames) }

func names(v uint32, table []struct {
	flag uint32
	name string
}) []string {
	var out []string
	for _, e := range table {
		if v&e.flag != 0 {
			out = append(out, e.name)
			v &^= e.flag
		}
	}
	for bit := uint32(1); v != 0; bit <<= 1 {
		if v&bit != 0 {
			out = append(out, "0x"+hex(bit))
			v &^= bit
		}
	}
	return out
}

func hex(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}
