package server

import "os"

// errSys wraps a failed system call's errno.
func errSys(name string, err error) error { return os.NewSyscallError(name, err) }
