package uring

import (
	"encoding/binary"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// register calls io_uring_register(2), retrying EINTR. arg must stay valid for the call only:
// the kernel copies every registration argument before returning.
func (r *Ring) register(op uint32, arg unsafe.Pointer, nr uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), uintptr(op), uintptr(arg), uintptr(nr), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, os.NewSyscallError("io_uring_register", e)
		}
		return int(n), nil
	}
}

// rsrcUpdate is struct io_uring_rsrc_update.
type rsrcUpdate struct {
	offset uint32
	resv   uint32
	data   uint64
}

// rsrcRegister is struct io_uring_rsrc_register.
type rsrcRegister struct {
	nr    uint32
	flags uint32
	resv2 uint64
	data  uint64
	tags  uint64
}

// RegisterRingFD registers the ring's own fd in the calling thread's io_uring table, so every
// io_uring_enter passes a small index with IORING_ENTER_REGISTERED_RING and the kernel skips the
// fd lookup, as io_uring_register_ring_fd (5.18; EINVAL before). The index is valid on the
// calling thread only: the ring must be used from that thread (see Ring).
func (r *Ring) RegisterRingFD() error {
	if r.enterFlags&EnterRegisteredRing != 0 {
		return nil
	}
	up := rsrcUpdate{offset: ^uint32(0), data: uint64(r.fd)}
	if _, err := r.register(registerRingFds, unsafe.Pointer(&up), 1); err != nil {
		return err
	}
	r.enterFd = int(up.offset)
	r.enterFlags |= EnterRegisteredRing
	return nil
}

// UnregisterRingFD undoes RegisterRingFD (Close does it), as io_uring_unregister_ring_fd.
func (r *Ring) UnregisterRingFD() error {
	if r.enterFlags&EnterRegisteredRing == 0 {
		return nil
	}
	up := rsrcUpdate{offset: uint32(r.enterFd)}
	if _, err := r.register(unregisterRingFds, unsafe.Pointer(&up), 1); err != nil {
		return err
	}
	r.enterFd = r.fd
	r.enterFlags &^= EnterRegisteredRing
	return nil
}

// RingFDRegistered reports whether enters use a registered ring index.
func (r *Ring) RingFDRegistered() bool { return r.enterFlags&EnterRegisteredRing != 0 }

// Probe asks the kernel which opcodes it supports (IORING_REGISTER_PROBE, 5.6; EINVAL before),
// as io_uring_get_probe_ring.
func (r *Ring) Probe() (*Probe, error) {
	buf := make([]byte, sizeofProbeHeader+maxProbeOps*sizeofProbeOp)
	if _, err := r.register(registerProbe, unsafe.Pointer(&buf[0]), maxProbeOps); err != nil {
		return nil, err
	}
	p := &Probe{LastOp: Op(buf[0])}
	n := int(buf[1])
	for i := 0; i < n && i < maxProbeOps; i++ {
		e := buf[sizeofProbeHeader+i*sizeofProbeOp:]
		if binary.NativeEndian.Uint16(e[2:4])&ioUringOpSupported != 0 {
			p.ops[e[0]] = true
		}
	}
	return p, nil
}

// GetProbe creates a small temporary ring and returns its Probe, as io_uring_get_probe. When
// the ring cannot be created the io_uring_setup error is returned (see SetupErrorCause).
func GetProbe() (*Probe, error) {
	r, err := NewRing(2, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Probe()
}

// RegisterFiles registers fds as the ring's fixed file table (5.1), as io_uring_register_files.
// Slot i holds fds[i]; -1 leaves a slot empty. The kernel copies the table.
func (r *Ring) RegisterFiles(fds []int32) error {
	if len(fds) == 0 {
		return os.NewSyscallError("io_uring_register", unix.EINVAL)
	}
	_, err := r.register(registerFiles, unsafe.Pointer(&fds[0]), uint32(len(fds)))
	return err
}

// RegisterFilesSparse registers an empty fixed file table of n slots (5.19), as
// io_uring_register_files_sparse: the table direct accept/open fill.
func (r *Ring) RegisterFilesSparse(n uint32) error {
	reg := rsrcRegister{nr: n, flags: rsrcRegisterSparse}
	_, err := r.register(registerFiles2, unsafe.Pointer(&reg), uint32(unsafe.Sizeof(reg)))
	return err
}

// RegisterFilesUpdate replaces the fixed files from slot off on with fds (-1 empties a slot,
// RegisterFilesSkip keeps it), as io_uring_register_files_update (5.5). It returns the number
// of slots updated.
func (r *Ring) RegisterFilesUpdate(off uint32, fds []int32) (int, error) {
	if len(fds) == 0 {
		return 0, nil
	}
	up := rsrcUpdate{offset: off, data: uint64(addrOf(unsafe.Pointer(&fds[0])))}
	return r.register(registerFilesUpdate, unsafe.Pointer(&up), uint32(len(fds)))
}

// UnregisterFiles drops the fixed file table, as io_uring_unregister_files.
func (r *Ring) UnregisterFiles() error {
	_, err := r.register(unregisterFiles, nil, 0)
	return err
}

// RegisterFileAllocRange limits the slots the kernel picks for FileIndexAlloc to
// [off, off+n) (6.0), as io_uring_register_file_alloc_range.
func (r *Ring) RegisterFileAllocRange(off, n uint32) error {
	rng := struct {
		off, len uint32
		resv     uint64
	}{off, n, 0}
	_, err := r.register(registerFileAllocRange, unsafe.Pointer(&rng), 0)
	return err
}

// RegisterBuffers registers bufs as fixed buffers 0..len-1 for READ_FIXED/WRITE_FIXED and
// RecvsendFixedBuf (5.1), as io_uring_register_buffers. The kernel pins their pages: the
// memory must stay mapped and must not be reused by the Go heap until UnregisterBuffers or
// Close, so pass memory from MapMemory (or keep Go memory reachable that long).
func (r *Ring) RegisterBuffers(bufs [][]byte) error {
	if len(bufs) == 0 {
		return os.NewSyscallError("io_uring_register", unix.EINVAL)
	}
	iov := make([]unix.Iovec, len(bufs))
	for i, b := range bufs {
		iov[i].Base = unsafe.SliceData(b)
		iov[i].SetLen(len(b))
	}
	_, err := r.register(registerBuffers, unsafe.Pointer(&iov[0]), uint32(len(iov)))
	return err
}

// UnregisterBuffers drops the fixed buffers, as io_uring_unregister_buffers.
func (r *Ring) UnregisterBuffers() error {
	_, err := r.register(unregisterBuffers, nil, 0)
	return err
}

// RegisterIOWQMaxWorkers sets the maximum number of bounded (file I/O) and unbounded (network,
// blocking) io-wq workers of this ring's thread (5.15), as io_uring_register_iowq_max_workers;
// 0 leaves a value unchanged. It returns the previous values.
func (r *Ring) RegisterIOWQMaxWorkers(bounded, unbounded uint32) (prevBounded, prevUnbounded uint32, err error) {
	v := [2]uint32{bounded, unbounded}
	if _, err := r.register(registerIOWQMaxWorkers, unsafe.Pointer(&v), 2); err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// RegisterBufRing registers the provided-buffer ring at addr (page aligned, entries slots of
// BufRingEntry, entries a power of two up to 32768) as buffer group bgid (5.19), as
// io_uring_register_buf_ring. The ring memory must stay mapped until UnregisterBufRing.
// NewBufRing does all of this for you.
func (r *Ring) RegisterBufRing(addr uintptr, entries uint32, bgid uint16) error {
	reg := bufReg{ringAddr: uint64(addr), ringEntries: entries, bgid: bgid}
	_, err := r.register(registerPbufRing, unsafe.Pointer(&reg), 1)
	return err
}

// UnregisterBufRing unregisters buffer group bgid, as io_uring_unregister_buf_ring.
func (r *Ring) UnregisterBufRing(bgid uint16) error {
	reg := bufReg{bgid: bgid}
	_, err := r.register(unregisterPbufRing, unsafe.Pointer(&reg), 1)
	return err
}
