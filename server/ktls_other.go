//go:build !linux

package server

import (
	"errors"

	"github.com/ringhttpd/ringhttpd/tlsrec"
)

func kernelTLSUsable() bool { return false }

func enableKernelTLS(fd int, rec *tlsrec.Conn) error {
	return errors.ErrUnsupported
}
