//go:build !linux

package tlsrec

import (
	"errors"
	"fmt"
)

var errNoKernelTLS = fmt.Errorf("%w: %w", ErrKernelTLS, errors.ErrUnsupported)

// EnableKernel fails: kernel TLS is Linux only.
func EnableKernel(fd int, c *Conn) error { return errNoKernelTLS }

// EnableKernelTX fails: kernel TLS is Linux only.
func EnableKernelTX(fd int, c *Conn) error { return errNoKernelTLS }

// RecordType finds nothing: kernel TLS is Linux only.
func RecordType(oob []byte) (typ byte, ok bool) { return 0, false }

// AppendRecordTypeCmsg returns dst: kernel TLS is Linux only.
func AppendRecordTypeCmsg(dst []byte, typ byte) []byte { return dst }

// RecordTypeCmsgSpace is 0: kernel TLS is Linux only.
var RecordTypeCmsgSpace = 0

// ProbeKernel reports no kernel TLS.
func ProbeKernel() KernelReport { return KernelReport{ULPError: errNoKernelTLS.Error()} }
