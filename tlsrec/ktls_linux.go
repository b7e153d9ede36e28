package tlsrec

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EnableKernel moves c's traffic state into the kernel for the connected
// TCP socket fd: TCP_ULP "tls", then TLS_TX with the write keys and TLS_RX
// with the read keys, each at its current sequence number. c must be at a
// record boundary of the input (every received byte opened by Open, none
// pending) and have no control record pending. After it the engine reads
// and writes plaintext (control records through recvmsg/sendmsg cmsgs;
// see KernelControl) and sends files with splice or sendfile; c keeps only
// the state for control records. An error after TCP_ULP succeeded leaves
// the socket unusable for userspace TLS: close the connection.
func EnableKernel(fd int, c *Conn) error {
	if c.Pending() || c.err != nil || c.kernel || c.kernelTX {
		return fmt.Errorf("%w: connection has pending control records or an error, or is in the kernel already", ErrKernelTLS)
	}
	tx, err := cryptoInfo(c.vers, c.suite.cipher, c.out.keys)
	if err != nil {
		return err
	}
	rx, err := cryptoInfo(c.vers, c.suite.cipher, c.in.keys)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_ULP, "tls"); err != nil {
		return fmt.Errorf("%w: %w", ErrKernelTLS, os.NewSyscallError("setsockopt TCP_ULP", err))
	}
	if err := unix.SetsockoptString(fd, unix.SOL_TLS, kTLSTX, string(tx)); err != nil {
		return fmt.Errorf("%w: %w", ErrKernelTLS, os.NewSyscallError("setsockopt TLS_TX", err))
	}
	if err := unix.SetsockoptString(fd, unix.SOL_TLS, kTLSRX, string(rx)); err != nil {
		return fmt.Errorf("%w: %w", ErrKernelTLS, os.NewSyscallError("setsockopt TLS_RX", err))
	}
	c.kernel = true
	// The kernel holds the keys now; the AEADs are no longer needed.
	c.in.aead, c.out.aead = nil, nil
	return nil
}

// EnableKernelTX moves only c's sending into the kernel: TCP_ULP "tls",
// then TLS_TX with the write keys at the current sequence number. Records
// received are still opened by c (Open), so the receive side needs no
// record boundary and no control-record handling in the engine; files sent
// with splice or sendfile are sealed by the kernel. c must have no control
// record pending. An error after TCP_ULP succeeded leaves the socket
// unusable for userspace TLS: close the connection.
func EnableKernelTX(fd int, c *Conn) error {
	if c.Pending() || c.err != nil || c.kernel || c.kernelTX {
		return fmt.Errorf("%w: connection has pending control records or an error, or is in the kernel already", ErrKernelTLS)
	}
	tx, err := cryptoInfo(c.vers, c.suite.cipher, c.out.keys)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_ULP, "tls"); err != nil {
		return fmt.Errorf("%w: %w", ErrKernelTLS, os.NewSyscallError("setsockopt TCP_ULP", err))
	}
	if err := unix.SetsockoptString(fd, unix.SOL_TLS, kTLSTX, string(tx)); err != nil {
		return fmt.Errorf("%w: %w", ErrKernelTLS, os.NewSyscallError("setsockopt TLS_TX", err))
	}
	c.kernelTX = true
	c.out.aead = nil
	return nil
}

// RecordType returns the content type from the control messages (oob) of
// a recvmsg on a kernel TLS socket; ok is false when there is none (the
// data is application data).
func RecordType(oob []byte) (typ byte, ok bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_TLS && m.Header.Type == kTLSGetRecordType && len(m.Data) >= 1 {
			return m.Data[0], true
		}
	}
	return 0, false
}

// AppendRecordTypeCmsg appends to dst the control message that makes a
// sendmsg on a kernel TLS socket send its data as one record of content
// type typ (e.g. RecordAlert for close_notify).
func AppendRecordTypeCmsg(dst []byte, typ byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, unix.CmsgSpace(1))...)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&dst[n]))
	h.Level = unix.SOL_TLS
	h.Type = kTLSSetRecordType
	h.SetLen(unix.CmsgLen(1))
	dst[n+unix.CmsgLen(0)] = typ
	return dst
}

// RecordTypeCmsgSpace is the oob buffer size recvmsg needs for the record
// type cmsg.
var RecordTypeCmsgSpace = unix.CmsgSpace(1)

// ProbeKernel reports whether this kernel can do TLS for ringhttpd: the
// tls ULP, and TLS_TX/TLS_RX for each version and cipher, tried on
// loopback TCP pairs with dummy keys. It takes a few milliseconds; call it
// once at startup (or from `ringhttpd probe`), never on a loop.
func ProbeKernel() KernelReport {
	var r KernelReport
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_ulp"); err == nil {
		r.AvailableULP = string(bytes.TrimSpace(b))
		for _, f := range bytes.Fields(b) {
			if string(f) == "tls" {
				r.ULPListed = true
			}
		}
	}
	_, err := os.Stat("/proc/net/tls_stat")
	r.TLSStat = err == nil
	for _, pc := range probeCiphers {
		kc := KernelCipher{Name: tls.VersionName(pc.vers) + " " + pc.c.String(), Version: pc.vers, Cipher: pc.c}
		var ulpErr error
		err := withLoopbackPair(func(fd int) error {
			if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_ULP, "tls"); err != nil {
				ulpErr = os.NewSyscallError("setsockopt", err)
				return ulpErr
			}
			info, _ := cryptoInfo(pc.vers, pc.c, dummyKeys(pc.vers, pc.c))
			if err := unix.SetsockoptString(fd, unix.SOL_TLS, kTLSTX, string(info)); err != nil {
				return os.NewSyscallError("TLS_TX", err)
			}
			kc.TX = true
			if err := unix.SetsockoptString(fd, unix.SOL_TLS, kTLSRX, string(info)); err != nil {
				return os.NewSyscallError("TLS_RX", err)
			}
			kc.RX = true
			return nil
		})
		if ulpErr != nil {
			// The ULP fails the same way for every cipher.
			r.ULPError = ulpErr.Error()
			return r
		}
		if err != nil {
			kc.Error = err.Error()
		}
		r.Ciphers = append(r.Ciphers, kc)
	}
	return r
}

// withLoopbackPair connects a TCP pair on 127.0.0.1 and calls f with the
// client socket's fd.
func withLoopbackPair(f func(fd int) error) error {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer ln.Close()
	c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		return err
	}
	defer s.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
