// Package tlsrec is ringhttpd's TLS: certificates, the handshake driver
// around crypto/tls, key derivation, the userspace record layer and the
// kernel TLS setup. It is sans-I/O like httpcore: it never touches a socket
// of the engine; bytes and keys go in, records and keys come out.
//
// What lives where:
//
//	certs.go      PEM certificate/key pairs, validation, SNI selection, the
//	              atomically swapped store, and ServerConfig (the crypto/tls policy)
//	keys.go       the key schedule: TLS 1.3 HKDF-Expand-Label and KeyUpdate
//	              (RFC 8446 §7.1-7.3), the TLS 1.2 PRF and key expansion
//	              (RFC 5246 §5, §6.3), the suites' AEADs
//	gcm.go        which AES-GCM the records use: internal/vaesgcm (512-bit VAES
//	              and VPCLMULQDQ) where the CPU has it, crypto/cipher otherwise
//	record.go     Conn, the userspace record layer: Open decrypts whole records
//	              in place (alerts, KeyUpdate, renegotiation refused), Seal and
//	              SealInPlace append records (RFC 8446 §5, RFC 5288, RFC 7905)
//	handshake.go  Handshaker and Handshake: crypto/tls on bounded helper
//	              goroutines behind a non-blocking loop API; Session, the
//	              outcome (keys from the key log, sequence numbers counted)
//	ktls.go       kernel TLS: the tls12_crypto_info_* layout, control records
//	              (KernelControl, KernelAlert), KernelReport
//	ktls_linux.go EnableKernel (TCP_ULP, TLS_TX, TLS_RX), EnableKernelTX, record-type cmsgs,
//	              ProbeKernel; ktls_other.go: stubs (errors.ErrUnsupported)
//
// # Handshakes
//
// One Handshaker serves the whole server. Per connection, on the loop:
//
//	h := hs.Start(wake)            // wake: called from other goroutines only
//	h.Feed(received)               // copied; garbage/old versions fail here
//	out = h.Output(out)            // send these bytes
//	s, err, ok := h.Done()         // ok: finished (send Output first)
//	h.Abort()                      // the connection closes early
//
// crypto/tls reads through a net.Conn that hands it at most one record per
// Read, so bytes after the client's Finished (a request sent with it) stay
// in Session.Leftover for the record layer.
//
// A handshake takes a helper only once its ClientHello is whole; at most
// MaxInProgress run, more wait in a bounded queue (ErrBusy beyond it).
// While some wait, a running handshake whose client has been silent for
// StallEvict (1 s) gives its helper up (ErrStalled), so that clients that
// send a ClientHello and stop cannot keep real ones waiting until Timeout.
//
// # Kernel TLS
//
// Where ProbeKernel reports TX and RX for the session's version and cipher,
// the engine opens Session.Leftover with a Conn first; if that ends on a
// record boundary it calls EnableKernel(fd, c) and from then on moves
// plaintext (files by splice/sendfile). Records that are not application
// data arrive through recvmsg with a TLS_GET_RECORD_TYPE cmsg (RecordType):
// hand them to c.KernelControl; send c.KernelAlert() or CloseNotifyAlert
// with sendmsg and AppendRecordTypeCmsg(RecordAlert). A partial record in
// Leftover keeps the connection on the userspace record layer.
//
// EnableKernelTX moves only the sending into the kernel (what the server's
// engines do: a multishot receive may already hold ciphertext when the
// switch happens): records received are still opened with Open. Either
// way, once the kernel seals, Seal appends nothing and an alert owed comes
// from KernelAlert.
//
// # Record layer
//
// After a handshake the engine sets up a Conn from the Session and, for each
// batch of received bytes:
//
//	plain, n, err := c.Open(buf)   // buf[n:] is a partial record: keep it
//	// feed plain to the protocol; then if c.Pending(): out = c.Seal(out, nil)
//	// err == io.EOF: the peer sent close_notify; other errors: send
//	// c.Seal(out, nil) (our alert) and close.
//
// Output is sealed with out = c.Seal(out, p) (copying), or in place with
// SealInPlace when the plaintext was read into a record buffer at
// HeaderLen(). Steady-state Open and Seal allocate nothing.
//
// Invariant: nothing here blocks the caller's loop.
package tlsrec
