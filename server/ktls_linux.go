package server

import (
	"errors"

	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// kernelTLSUsable reports whether this kernel takes TLS records (probed
// once).
func kernelTLSUsable() bool { return false }

// enableKernelTLS moves c's record protection to the kernel: sending, and
// receiving too when rx.
func enableKernelTLS(fd int, rec *tlsrec.Conn, rx bool) error {
	return errors.New("server: kernel TLS not wired yet")
}
