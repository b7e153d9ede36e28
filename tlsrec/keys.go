package tlsrec

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrUnsupportedSuite is returned for a cipher suite or version outside the
// ones ServerConfig enables (TLS 1.2/1.3 with AES-GCM or ChaCha20-Poly1305).
var ErrUnsupportedSuite = errors.New("tlsrec: unsupported TLS version or cipher suite")

// Cipher names a record protection algorithm.
type Cipher uint8

// The AEADs of the suites ringhttpd serves.
const (
	AES128GCM Cipher = iota + 1
	AES256GCM
	ChaCha20Poly1305
)

func (c Cipher) String() string {
	switch c {
	case AES128GCM:
		return "AES-128-GCM"
	case AES256GCM:
		return "AES-256-GCM"
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return "unknown"
}

// MarshalText names the cipher (for JSON reports).
func (c Cipher) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// suite is what the key schedule and the record layer need to know about a
// cipher suite.
type suite struct {
	cipher Cipher
	keyLen int
	hash   func() hash.Hash // HKDF (1.3) or PRF (1.2) hash
	hlen   int
}

var (
	suiteAES128 = suite{AES128GCM, 16, sha256.New, 32}
	suiteAES256 = suite{AES256GCM, 32, sha512.New384, 48}
	suiteChaCha = suite{ChaCha20Poly1305, 32, sha256.New, 32}
)

// suiteOf returns the parameters of a TLS 1.2 or 1.3 AEAD suite.
func suiteOf(vers, id uint16) (*suite, error) {
	switch vers {
	case tls.VersionTLS13:
		switch id {
		case tls.TLS_AES_128_GCM_SHA256:
			return &suiteAES128, nil
		case tls.TLS_AES_256_GCM_SHA384:
			return &suiteAES256, nil
		case tls.TLS_CHACHA20_POLY1305_SHA256:
			return &suiteChaCha, nil
		}
	case tls.VersionTLS12:
		switch id {
		case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
			return &suiteAES128, nil
		case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
			return &suiteAES256, nil
		case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
			return &suiteChaCha, nil
		}
	}
	return nil, ErrUnsupportedSuite
}

// ivLen returns the length of the fixed IV: 12 bytes (XORed with the
// sequence number) except for TLS 1.2 AES-GCM, whose 4-byte implicit salt
// is followed by an 8-byte explicit nonce in each record (RFC 5288).
func (s *suite) ivLen(vers uint16) int {
	if vers == tls.VersionTLS12 && s.cipher != ChaCha20Poly1305 {
		return 4
	}
	return 12
}

// newAEAD returns the AEAD for key.
func (s *suite) newAEAD(key []byte) (cipher.AEAD, error) {
	if s.cipher == ChaCha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	return newGCM(key)
}

// Keys is the traffic state of one direction of a connection.
type Keys struct {
	// Secret is the TLS 1.3 traffic secret the key and IV derive from
	// (RFC 8446 §7.3); a KeyUpdate derives the next one from it. Nil for
	// TLS 1.2.
	Secret []byte
	// Key is the AEAD key (16 or 32 bytes).
	Key []byte
	// IV is the fixed IV: 12 bytes, or for TLS 1.2 AES-GCM the 4-byte salt.
	IV []byte
	// Seq is the sequence number of the next record in this direction.
	Seq uint64
}

// hkdfExpandLabel is HKDF-Expand-Label of RFC 8446 §7.1.
func hkdfExpandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	info := make([]byte, 0, 2+1+6+len(label)+1+len(context))
	info = append(info, byte(length>>8), byte(length))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(h, secret, string(info), length)
	if err != nil {
		// Only for length > 255*hash size, which no caller asks for.
		panic("tlsrec: " + err.Error())
	}
	return out
}

// keys13 derives the record key and IV of a TLS 1.3 traffic secret
// (RFC 8446 §7.3).
func keys13(s *suite, secret []byte) Keys {
	return Keys{
		Secret: secret,
		Key:    hkdfExpandLabel(s.hash, secret, "key", nil, s.keyLen),
		IV:     hkdfExpandLabel(s.hash, secret, "iv", nil, 12),
	}
}

// nextSecret13 is the traffic secret after a KeyUpdate (RFC 8446 §7.2):
// HKDF-Expand-Label(secret, "traffic upd", "", Hash.length).
func nextSecret13(s *suite, secret []byte) []byte {
	return hkdfExpandLabel(s.hash, secret, "traffic upd", nil, s.hlen)
}

// prf12 is the TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(ls, label...)
	ls = append(ls, seed...)
	out := make([]byte, 0, n)
	mac := hmac.New(h, secret)
	mac.Write(ls)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// keys12 expands a TLS 1.2 master secret into the client and server write
// keys (RFC 5246 §6.3; AEAD suites have no MAC keys): key_block =
// PRF(master, "key expansion", server_random + client_random).
func keys12(s *suite, master, clientRandom, serverRandom []byte) (client, server Keys) {
	ivLen := s.ivLen(tls.VersionTLS12)
	seed := make([]byte, 0, 64)
	seed = append(seed, serverRandom...)
	seed = append(seed, clientRandom...)
	kb := prf12(s.hash, master, "key expansion", seed, 2*s.keyLen+2*ivLen)
	client.Key, kb = kb[:s.keyLen:s.keyLen], kb[s.keyLen:]
	server.Key, kb = kb[:s.keyLen:s.keyLen], kb[s.keyLen:]
	client.IV, kb = kb[:ivLen:ivLen], kb[ivLen:]
	server.IV = kb[:ivLen:ivLen]
	return client, server
}
