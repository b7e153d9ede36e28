package tlsrec

// Session is the outcome of a handshake: what was negotiated and the
// traffic keys of both directions, ready for the record layer (Conn.Init)
// or kernel TLS.
type Session struct {
	Version     uint16 // tls.VersionTLS12 or tls.VersionTLS13
	CipherSuite uint16 // a tls.TLS_* suite id
	ALPN        string // negotiated protocol ("" when none)
	ServerName  string // SNI sent by the client ("" when none)
	Resumed     bool   // the handshake resumed an earlier session

	// Read protects client-to-server records, Write server-to-client ones;
	// each Seq is the number of the next record after the handshake.
	Read, Write Keys

	// Leftover holds the bytes received after the client's last handshake
	// record (often the first request, sent with the client's Finished):
	// whole or partial records for the record layer.
	Leftover []byte
}
