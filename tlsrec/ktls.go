package tlsrec

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"strings"
)

// Kernel TLS constants of <linux/tls.h> missing from x/sys/unix.
const (
	kTLSTX            = 1 // setsockopt(SOL_TLS) option: transmit keys
	kTLSRX            = 2 // setsockopt(SOL_TLS) option: receive keys
	kTLSSetRecordType = 1 // cmsg type on sendmsg: the record's content type
	kTLSGetRecordType = 2 // cmsg type on recvmsg: the record's content type

	kCipherAESGCM128 = 51
	kCipherAESGCM256 = 52
	kCipherChaCha    = 54
)

// ErrKernelTLS is wrapped by EnableKernel's errors and returned (wrapping
// errors.ErrUnsupported) where the platform has no kernel TLS.
var ErrKernelTLS = errors.New("tlsrec: kernel TLS")

// cryptoInfo returns the struct tls12_crypto_info_* of <linux/tls.h> that
// TLS_TX or TLS_RX takes for one direction's keys:
//
//	struct tls_crypto_info { __u16 version; __u16 cipher_type; };
//	tls12_crypto_info_aes_gcm_128:   info, iv[8],  key[16], salt[4], rec_seq[8]  (40 bytes)
//	tls12_crypto_info_aes_gcm_256:   info, iv[8],  key[32], salt[4], rec_seq[8]  (56 bytes)
//	tls12_crypto_info_chacha20_poly1305: info, iv[12], key[32], rec_seq[8]       (56 bytes)
//
// For AES-GCM, TLS 1.3's 12-byte IV is salt (4) then iv (8); TLS 1.2's
// 4-byte implicit IV is the salt and iv is the first explicit nonce (the
// kernel increments it per record; ours is the sequence number, as in
// Seal). ChaCha20-Poly1305 takes the whole 12-byte IV in both versions.
// Every field is bytes except the two host-order __u16.
func cryptoInfo(vers uint16, c Cipher, k Keys) ([]byte, error) {
	var typ uint16
	switch c {
	case AES128GCM:
		typ = kCipherAESGCM128
	case AES256GCM:
		typ = kCipherAESGCM256
	case ChaCha20Poly1305:
		typ = kCipherChaCha
	default:
		return nil, ErrUnsupportedSuite
	}
	if vers != tls.VersionTLS12 && vers != tls.VersionTLS13 {
		return nil, ErrUnsupportedSuite
	}
	b := make([]byte, 4, 56)
	binary.NativeEndian.PutUint16(b[0:], vers)
	binary.NativeEndian.PutUint16(b[2:], typ)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], k.Seq)
	if c == ChaCha20Poly1305 {
		if len(k.IV) != 12 {
			return nil, ErrUnsupportedSuite
		}
		b = append(b, k.IV...)
		b = append(b, k.Key...)
		return append(b, seq[:]...), nil
	}
	var salt, iv []byte
	if vers == tls.VersionTLS13 {
		if len(k.IV) != 12 {
			return nil, ErrUnsupportedSuite
		}
		salt, iv = k.IV[:4], k.IV[4:]
	} else {
		if len(k.IV) != 4 {
			return nil, ErrUnsupportedSuite
		}
		salt, iv = k.IV, seq[:]
	}
	b = append(b, iv...)
	b = append(b, k.Key...)
	b = append(b, salt...)
	return append(b, seq[:]...), nil
}

// KernelControl hands the Conn a control record that kernel TLS received
// (its content type comes from the TLS_GET_RECORD_TYPE cmsg of recvmsg;
// data is the decrypted content). It answers like Open: io.EOF for
// close_notify, nil for an ignored warning, else a final error (a KeyUpdate
// ends the connection with ErrKeyUpdate: kernels before 6.14 cannot re-key).
// KernelAlert then gives the alert owed to the peer.
func (c *Conn) KernelControl(typ byte, data []byte) error {
	if c.err != nil {
		return c.err
	}
	if c.useless++; c.useless > maxUseless {
		return c.fail(ErrTooManyIgnored, alertUnexpectedMessage)
	}
	switch typ {
	case recordAlert, recordHandshake:
		err := c.control(typ, data)
		if err == nil && c.hsLen > 0 {
			return c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
		}
		return err
	case recordAppData:
		c.useless = 0
		return nil
	}
	return c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
}

// KernelAlert returns the alert owed to the peer on a kernel TLS
// connection as the 2-byte content of a record of type 21 (the engine sends
// it with sendmsg and a TLS_SET_RECORD_TYPE cmsg), or nil. A close_notify
// the engine wants to send is CloseNotifyAlert.
func (c *Conn) KernelAlert() []byte {
	if c.closed || c.alert < 0 {
		return nil
	}
	c.closed = true
	return []byte{c.alertLevel, byte(c.alert)}
}

// CloseNotifyAlert is the content of a close_notify alert record.
var CloseNotifyAlert = []byte{1, alertCloseNotify}

// Record content types for the record-type cmsgs of kernel TLS.
const (
	RecordAlert     = recordAlert
	RecordHandshake = recordHandshake
	RecordAppData   = recordAppData
)

// KernelReport is what ProbeKernel found.
type KernelReport struct {
	// ULPListed: "tls" is in /proc/sys/net/ipv4/tcp_available_ulp.
	ULPListed bool `json:"ulp_listed"`
	// AvailableULP is that file's content.
	AvailableULP string `json:"available_ulp"`
	// ULPError is why setting TCP_ULP "tls" on a loopback socket failed
	// ("" when it worked).
	ULPError string `json:"ulp_error,omitempty"`
	// Ciphers has one entry per version and cipher tried.
	Ciphers []KernelCipher `json:"ciphers"`
	// TLSStat: /proc/net/tls_stat exists.
	TLSStat bool `json:"tls_stat"`
}

// KernelCipher says whether TLS_TX and TLS_RX could be set for a version
// and cipher.
type KernelCipher struct {
	Name    string `json:"name"` // e.g. "TLS 1.3 AES-128-GCM"
	Version uint16 `json:"version"`
	Cipher  Cipher `json:"cipher"`
	TX      bool   `json:"tx"`
	RX      bool   `json:"rx"`
	Error   string `json:"error,omitempty"` // the first failure
}

// Usable reports whether kernel TLS works in both directions for the
// version and cipher.
func (r *KernelReport) Usable(vers uint16, c Cipher) bool {
	for _, k := range r.Ciphers {
		if k.Version == vers && k.Cipher == c {
			return k.TX && k.RX
		}
	}
	return false
}

// Summary is a one-line account, e.g. "tls ULP listed; TX+RX: TLS 1.3
// AES-128-GCM, ...".
func (r *KernelReport) Summary() string {
	if r.ULPError != "" {
		s := "not available: "
		if !r.ULPListed {
			s += "tls not in tcp_available_ulp (" + strings.TrimSpace(r.AvailableULP) + "); "
		}
		return s + "TCP_ULP tls: " + r.ULPError
	}
	var ok, partial []string
	for _, k := range r.Ciphers {
		name := k.Name
		switch {
		case k.TX && k.RX:
			ok = append(ok, name)
		case k.TX:
			partial = append(partial, name+" (TX only: "+k.Error+")")
		default:
			partial = append(partial, name+" ("+k.Error+")")
		}
	}
	s := "TX+RX: " + strings.Join(ok, ", ")
	if len(ok) == 0 {
		s = "no cipher works"
	}
	if len(partial) > 0 {
		s += "; not: " + strings.Join(partial, ", ")
	}
	return s
}

// probeCiphers are the (version, cipher) pairs ProbeKernel tries.
var probeCiphers = []struct {
	vers uint16
	c    Cipher
}{
	{tls.VersionTLS13, AES128GCM}, {tls.VersionTLS13, AES256GCM}, {tls.VersionTLS13, ChaCha20Poly1305},
	{tls.VersionTLS12, AES128GCM}, {tls.VersionTLS12, AES256GCM}, {tls.VersionTLS12, ChaCha20Poly1305},
}

// dummyKeys returns keys of the right sizes for a probe.
func dummyKeys(vers uint16, c Cipher) Keys {
	kl, il := 16, 12
	if c != AES128GCM {
		kl = 32
	}
	if vers == tls.VersionTLS12 && c != ChaCha20Poly1305 {
		il = 4
	}
	return Keys{Key: make([]byte, kl), IV: make([]byte, il)}
}
