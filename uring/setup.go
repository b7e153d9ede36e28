package uring

import (
	"errors"
	"syscall"
)

// FlagTiers are the setup flag sets NewRingBest tries, best first, each falling back to the
// next when io_uring_setup answers EINVAL (an older kernel that does not know a flag):
//
//   - SINGLE_ISSUER|DEFER_TASKRUN (6.1): task work runs only when the owning thread enters
//     with GETEVENTS, no IPIs, no locking for a single submitter.
//   - COOP_TASKRUN|TASKRUN_FLAG (5.19): no IPI; the SQ flags tell when task work waits.
//   - none.
var FlagTiers = [...]uint32{
	SetupSingleIssuer | SetupDeferTaskrun,
	SetupCoopTaskrun | SetupTaskrunFlag,
	0,
}

// Errno returns the errno inside err (an *os.SyscallError from this package, or a CQE result
// converted with syscall.Errno(-res)), and whether there was one.
func Errno(err error) (syscall.Errno, bool) {
	var errno syscall.Errno
	ok := errors.As(err, &errno)
	return errno, ok
}

// SetupErrorCause explains, in one line for an operator, why io_uring_setup failed with err
// (as returned by TrySetup, NewRing or NewRingBest). It returns "" when err carries no errno
// it knows.
func SetupErrorCause(err error) string {
	errno, ok := Errno(err)
	if !ok {
		if errors.Is(err, errors.ErrUnsupported) {
			return "io_uring exists only on Linux"
		}
		return ""
	}
	switch errno {
	case syscall.EPERM:
		return "io_uring is forbidden: sysctl kernel.io_uring_disabled (2 = off, 1 = only io_uring_group), or a seccomp profile (container runtimes block io_uring by default)"
	case syscall.ENOSYS:
		return "the kernel has no io_uring (older than 5.1, built without CONFIG_IO_URING, or the syscall is filtered to ENOSYS)"
	case syscall.ENOMEM:
		return "not enough locked memory for the rings: raise RLIMIT_MEMLOCK (kernels before 5.12 charge rings to it) or use smaller rings"
	case syscall.EINVAL:
		return "the kernel rejected the parameters: a setup flag or ring size it does not know (older kernel)"
	case syscall.EMFILE, syscall.ENFILE:
		return "out of file descriptors: raise RLIMIT_NOFILE"
	case syscall.EFAULT:
		return "bad parameter address (a bug in the caller)"
	}
	return ""
}
