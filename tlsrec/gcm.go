package tlsrec

import (
	"crypto/aes"
	"crypto/cipher"
	"os"

	"github.com/ringhttpd/ringhttpd/tlsrec/internal/vaesgcm"
)

// The AES-GCM records are sealed and opened with: the 512-bit VAES code
// where the CPU has it (about twice crypto/cipher's speed per 16 KiB record
// on the benchmark machine), crypto/cipher's otherwise.
// RINGHTTPD_AESGCM=stdlib forces crypto/cipher's (to compare, or to rule
// the VAES code out).
var useVAES = vaesgcm.Supported() && os.Getenv("RINGHTTPD_AESGCM") != "stdlib"

// newGCM returns the AES-GCM AEAD for a 16- or 32-byte key.
func newGCM(key []byte) (cipher.AEAD, error) {
	if useVAES {
		if g, ok := vaesgcm.New(key); ok {
			return g, nil
		}
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// UserspaceGCM names the AES-GCM implementation userspace records use on
// this machine (ringhttpd probe reports it).
func UserspaceGCM() string {
	switch {
	case useVAES:
		return "VAES and VPCLMULQDQ, 512-bit (tlsrec/internal/vaesgcm)"
	case vaesgcm.Supported():
		return "crypto/cipher (RINGHTTPD_AESGCM=stdlib)"
	default:
		return "crypto/cipher (the CPU lacks VAES/VPCLMULQDQ/AVX-512)"
	}
}
