package uring

import "unsafe"

// escapeSink is never written (b is always false); storing into it only where the compiler
// cannot prove that makes every pointer passed to addrOf escape, so Go values whose address
// goes to the kernel are never allocated on a goroutine stack (stacks move; the kernel would
// write into freed stack memory). It costs one load and branch, and no allocation when the
// memory is already on the heap or mapped outside it.
var escapeSink struct {
	b bool
	p unsafe.Pointer
}

// addrOf returns p as a raw address for an SQE or a registration argument, making p escape to
// the heap (see escapeSink). The caller keeps the memory reachable for as long as the kernel
// may use it: that is the memory contract, the garbage collector cannot see raw addresses.
func addrOf(p unsafe.Pointer) uintptr {
	if escapeSink.b {
		escapeSink.p = p
	}
	return uintptr(p)
}

// bufAddr returns the address of b's first byte (0 for an empty slice); see addrOf.
func bufAddr(b []byte) uintptr { return addrOf(unsafe.Pointer(unsafe.SliceData(b))) }
