// Package tlsrec is ringhttpd's TLS: certificates, the handshake driver
// around crypto/tls, key derivation, the userspace record layer and the
// kernel TLS setup. It is sans-I/O like httpcore: it never touches a socket
// of the engine; bytes and keys go in, records and keys come out.
//
// What lives where:
//
//	certs.go      PEM certificate/key pairs, validation, SNI selection, the
//	              atomically swapped store, and ServerConfig (the crypto/tls policy)
//
// Invariant: nothing here blocks the caller's loop.
package tlsrec
