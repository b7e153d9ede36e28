package server

import (
	"sync"

	"github.com/ringhttpd/ringhttpd/tlsrec"
)

var (
	ktlsOnce sync.Once
	ktlsOK   bool
)

// kernelTLSUsable reports whether this kernel takes TLS records for the
// suites ringhttpd serves (probed once, on a loopback pair).
func kernelTLSUsable() bool {
	ktlsOnce.Do(func() {
		r := tlsrec.ProbeKernel()
		for _, k := range r.Ciphers {
			if k.TX {
				ktlsOK = true
			}
		}
	})
	return ktlsOK
}

// enableKernelTLS moves the sealing of c's records into the kernel: files
// then go by splice or sendfile, sealed there. Received records are still
// opened here: moving the receive keys too would need the input at a
// record boundary with no receive in flight, and a uring multishot receive
// may already hold ciphertext that arrived before the switch; requests are
// small, so opening them here costs little.
func enableKernelTLS(fd int, rec *tlsrec.Conn) error {
	return tlsrec.EnableKernelTX(fd, rec)
}
