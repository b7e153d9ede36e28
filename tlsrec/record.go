package tlsrec

import (
	"crypto/cipher"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
)

// Record layer limits (RFC 8446 §5.1, §5.2; RFC 5246 §6.2).
const (
	// MaxPlaintext is the largest plaintext of one record.
	MaxPlaintext = 1 << 14
	// recordHeaderLen is the length of a record header.
	recordHeaderLen = 5
	// maxCiphertext13 and maxCiphertext12 bound the ciphertext length a
	// record header may announce.
	maxCiphertext13 = MaxPlaintext + 256
	maxCiphertext12 = MaxPlaintext + 2048
	// maxUseless is how many records in a row may carry no application data
	// (empty records, warning alerts, KeyUpdates) before the peer is cut off.
	maxUseless = 16
)

// Record content types.
const (
	recordCCS       = 20
	recordAlert     = 21
	recordHandshake = 22
	recordAppData   = 23
)

// Alert descriptions used here (RFC 8446 §6).
const (
	alertCloseNotify       = 0
	alertUnexpectedMessage = 10
	alertBadRecordMAC      = 20
	alertRecordOverflow    = 22
	alertHandshakeFailure  = 40
	alertIllegalParameter  = 47
	alertDecodeError       = 50
	alertProtocolVersion   = 70
	alertInternalError     = 80
	alertUserCanceled      = 90
	alertNoRenegotiation   = 100
)

// Errors of the record layer. After any of them the connection is broken:
// Seal(dst, nil) returns the alert to send before closing.
var (
	ErrBadRecordMAC      = errors.New("tlsrec: record authentication failed")
	ErrRecordOverflow    = errors.New("tlsrec: record too long")
	ErrUnexpectedMessage = errors.New("tlsrec: unexpected record or message after the handshake")
	ErrDecode            = errors.New("tlsrec: malformed record or message")
	ErrRenegotiation     = errors.New("tlsrec: renegotiation refused")
	ErrTooManyIgnored    = errors.New("tlsrec: too many records without application data")
	ErrKeyUpdate         = errors.New("tlsrec: KeyUpdate cannot be applied")
)

// AlertError is a fatal alert received from the peer; its value is the
// alert description.
type AlertError uint8

func (e AlertError) Error() string {
	return "tlsrec: remote alert: " + alertName(uint8(e))
}

func alertName(d uint8) string {
	switch d {
	case alertCloseNotify:
		return "close_notify"
	case alertUnexpectedMessage:
		return "unexpected_message"
	case alertBadRecordMAC:
		return "bad_record_mac"
	case alertRecordOverflow:
		return "record_overflow"
	case alertHandshakeFailure:
		return "handshake_failure"
	case alertIllegalParameter:
		return "illegal_parameter"
	case alertDecodeError:
		return "decode_error"
	case alertProtocolVersion:
		return "protocol_version"
	case alertInternalError:
		return "internal_error"
	case alertUserCanceled:
		return "user_canceled"
	case alertNoRenegotiation:
		return "no_renegotiation"
	}
	return "alert " + strconv.Itoa(int(d))
}

// half is one direction's record protection.
type half struct {
	aead  cipher.AEAD
	keys  Keys
	nonce [12]byte
	aad   [13]byte
}

// setKeys installs k (a fresh AEAD; this allocates).
func (h *half) setKeys(s *suite, k Keys) error {
	a, err := s.newAEAD(k.Key)
	if err != nil {
		return err
	}
	h.aead = a
	h.keys = k
	return nil
}

// xorNonce sets h.nonce to the 12-byte IV XOR the sequence number
// (RFC 8446 §5.3, RFC 7905).
func (h *half) xorNonce() []byte {
	copy(h.nonce[:], h.keys.IV)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], h.keys.Seq)
	for i := range 8 {
		h.nonce[4+i] ^= s[i]
	}
	return h.nonce[:]
}

// aad12 fills the TLS 1.2 additional data: seq, type, version, length.
func (h *half) aad12(typ byte, n int) []byte {
	binary.BigEndian.PutUint64(h.aad[:8], h.keys.Seq)
	h.aad[8] = typ
	h.aad[9], h.aad[10] = 3, 3
	h.aad[11], h.aad[12] = byte(n>>8), byte(n)
	return h.aad[:]
}

// Conn is the userspace record layer of one connection after its
// handshake: Open decrypts received records, Seal encrypts records to send.
// It does no I/O and, in steady state, no allocation. A Conn is used by one
// goroutine at a time (the connection's loop).
//
// Invariant: in.keys.Seq and out.keys.Seq are the sequence numbers of the
// next record in each direction, so the state can move to kernel TLS at any
// record boundary.
type Conn struct {
	vers  uint16
	suite *suite
	in    half // client to server
	out   half // server to client

	err        error // sticky Open error
	useless    int   // records in a row without application data
	hsBuf      [4]byte
	hsLen      int  // bytes of a partial handshake message header in hsBuf
	sendUpdate bool // a KeyUpdate is owed to the peer (it asked for one)
	alert      int  // alert to send (description), or -1
	alertLevel byte
	alertBuf   [2]byte
	closed     bool // our close_notify or fatal alert is sealed: nothing follows
	kernel     bool // the kernel protects the records (see EnableKernel)
	kernelTX   bool // the kernel seals what is sent (see EnableKernelTX)
}

// Init sets c up from a finished handshake, discarding any previous state.
func (c *Conn) Init(s *Session) error {
	su, err := suiteOf(s.Version, s.CipherSuite)
	if err != nil {
		return err
	}
	iv := su.ivLen(s.Version)
	if len(s.Read.Key) != su.keyLen || len(s.Write.Key) != su.keyLen || len(s.Read.IV) != iv || len(s.Write.IV) != iv {
		return ErrUnsupportedSuite
	}
	*c = Conn{vers: s.Version, suite: su, alert: -1}
	if err := c.in.setKeys(su, s.Read); err != nil {
		return err
	}
	return c.out.setKeys(su, s.Write)
}

// Version returns the negotiated TLS version.
func (c *Conn) Version() uint16 { return c.vers }

// Cipher returns the record protection algorithm.
func (c *Conn) Cipher() Cipher { return c.suite.cipher }

// ReadKeys and WriteKeys return the current traffic state of each direction
// (what kernel TLS needs). The slices are shared: do not modify them.
func (c *Conn) ReadKeys() Keys  { return c.in.keys }
func (c *Conn) WriteKeys() Keys { return c.out.keys }

// HeaderLen is the room a record takes before its plaintext: the 5-byte
// header, plus the 8-byte explicit nonce of TLS 1.2 AES-GCM.
func (c *Conn) HeaderLen() int {
	if c.vers == tls.VersionTLS12 && c.suite.cipher != ChaCha20Poly1305 {
		return recordHeaderLen + 8
	}
	return recordHeaderLen
}

// TrailerLen is the room a record takes after its plaintext: the 16-byte
// tag, plus TLS 1.3's inner content type.
func (c *Conn) TrailerLen() int {
	if c.vers == tls.VersionTLS13 {
		return 17
	}
	return 16
}

// SealedLen returns how many bytes Seal appends for n bytes of plaintext
// (not counting pending control records).
func (c *Conn) SealedLen(n int) int {
	recs := (n + MaxPlaintext - 1) / MaxPlaintext
	return n + recs*(c.HeaderLen()+c.TrailerLen())
}

// Open decrypts the whole records at the start of buf in place. It returns
// their application data, moved together to the front of buf (plain is a
// prefix of buf), and n, the bytes of buf consumed: the caller keeps buf[n:]
// (a partial record) and calls again with more bytes appended.
//
// Alerts and post-handshake messages are handled here: a close_notify ends
// the input with io.EOF (plain still holds the data before it; n includes
// the alert); a TLS 1.3 KeyUpdate switches the read key and, if the peer
// asks, makes the next Seal send our own KeyUpdate first. Any other
// error (authentication failure, malformed or oversized record, fatal alert
// as an AlertError, renegotiation attempt) is final and sticky: the caller
// sends Seal(dst, nil) (which holds our alert, if any) and closes.
func (c *Conn) Open(buf []byte) (plain []byte, n int, err error) {
	if c.err != nil {
		return nil, 0, c.err
	}
	k := 0
	for len(buf)-n >= recordHeaderLen {
		hdr := buf[n : n+recordHeaderLen]
		length := int(hdr[3])<<8 | int(hdr[4])
		if hdr[1] != 3 || hdr[2] != 3 {
			return buf[:k], n, c.fail(ErrDecode, alertProtocolVersion)
		}
		if (c.vers == tls.VersionTLS13 && length > maxCiphertext13) || length > maxCiphertext12 {
			return buf[:k], n, c.fail(ErrRecordOverflow, alertRecordOverflow)
		}
		if len(buf)-n < recordHeaderLen+length {
			break
		}
		rec := buf[n : n+recordHeaderLen+length]
		n += len(rec)
		typ, data, err := c.decrypt(rec)
		if err != nil {
			return buf[:k], n, err
		}
		if c.hsLen > 0 && typ != recordHandshake {
			// A handshake message was cut short by another record type.
			return buf[:k], n, c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
		}
		if typ == recordAppData && len(data) > 0 {
			c.useless = 0
			k += copy(buf[k:], data)
			continue
		}
		if c.useless++; c.useless > maxUseless {
			return buf[:k], n, c.fail(ErrTooManyIgnored, alertUnexpectedMessage)
		}
		if typ == recordAppData {
			continue
		}
		if err := c.control(typ, data); err != nil {
			return buf[:k], n, err
		}
	}
	return buf[:k], n, nil
}

// fail records a fatal local error and the alert owed to the peer.
func (c *Conn) fail(err error, alert uint8) error {
	c.err = err
	if c.alert < 0 {
		c.alert, c.alertLevel = int(alert), 2
	}
	return err
}

// decrypt opens one whole record in place and returns its content type and
// plaintext (a slice of rec).
func (c *Conn) decrypt(rec []byte) (typ byte, data []byte, err error) {
	h := &c.in
	typ = rec[0]
	body := rec[recordHeaderLen:]
	if c.vers == tls.VersionTLS13 {
		if typ != recordAppData {
			return 0, nil, c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
		}
		if len(body) < 17 {
			return 0, nil, c.fail(ErrBadRecordMAC, alertBadRecordMAC)
		}
		pt, err := h.aead.Open(body[:0], h.xorNonce(), body, rec[:recordHeaderLen])
		if err != nil {
			return 0, nil, c.fail(ErrBadRecordMAC, alertBadRecordMAC)
		}
		h.keys.Seq++
		// Strip the zero padding; the last non-zero byte is the real type.
		i := len(pt) - 1
		for i >= 0 && pt[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
		}
		if i > MaxPlaintext {
			return 0, nil, c.fail(ErrRecordOverflow, alertRecordOverflow)
		}
		return pt[i], pt[:i], nil
	}
	switch typ {
	case recordAlert, recordHandshake, recordAppData:
	default:
		return 0, nil, c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
	}
	var nonce []byte
	if c.suite.cipher == ChaCha20Poly1305 {
		nonce = h.xorNonce()
	} else {
		if len(body) < 8 {
			return 0, nil, c.fail(ErrBadRecordMAC, alertBadRecordMAC)
		}
		copy(h.nonce[:4], h.keys.IV)
		copy(h.nonce[4:], body[:8])
		nonce = h.nonce[:]
		body = body[8:]
	}
	if len(body) < 16 {
		return 0, nil, c.fail(ErrBadRecordMAC, alertBadRecordMAC)
	}
	pt, err := h.aead.Open(body[:0], nonce, body, h.aad12(typ, len(body)-16))
	if err != nil {
		return 0, nil, c.fail(ErrBadRecordMAC, alertBadRecordMAC)
	}
	h.keys.Seq++
	if len(pt) > MaxPlaintext {
		return 0, nil, c.fail(ErrRecordOverflow, alertRecordOverflow)
	}
	return typ, pt, nil
}

// control handles the content of a decrypted alert or handshake record.
// Kernel TLS hands its control records here too.
func (c *Conn) control(typ byte, data []byte) error {
	switch typ {
	case recordAlert:
		if len(data) != 2 {
			return c.fail(ErrDecode, alertDecodeError)
		}
		level, desc := data[0], data[1]
		if desc == alertCloseNotify {
			c.err = io.EOF
			return io.EOF
		}
		if (c.vers == tls.VersionTLS12 && level == 1) || desc == alertUserCanceled {
			return nil // a warning: ignore it
		}
		c.err = AlertError(desc)
		c.closed = true // no alert in answer to a fatal alert
		return c.err
	case recordHandshake:
		if c.vers != tls.VersionTLS13 {
			// Any handshake message after a TLS 1.2 handshake starts a
			// renegotiation, which ringhttpd never does.
			c.err = ErrRenegotiation
			if c.alert < 0 {
				c.alert, c.alertLevel = alertNoRenegotiation, 1
			}
			return c.err
		}
		return c.handshake13(data)
	}
	return c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
}

// handshake13 handles post-handshake messages of TLS 1.3: only KeyUpdate is
// accepted (the server never asks for a client certificate and a client
// sends no tickets). Its header may be split over records (collected in
// hsBuf); nothing may follow it in its record, since the key changes.
func (c *Conn) handshake13(data []byte) error {
	if len(data) == 0 {
		return c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
	}
	if c.hsLen < 4 {
		m := copy(c.hsBuf[c.hsLen:], data)
		c.hsLen += m
		data = data[m:]
		if c.hsLen < 4 {
			return nil // the header goes on in the next record
		}
		if c.hsBuf[0] != 24 { // key_update
			return c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
		}
		if c.hsBuf[1] != 0 || c.hsBuf[2] != 0 || c.hsBuf[3] != 1 {
			return c.fail(ErrDecode, alertDecodeError)
		}
		if len(data) == 0 {
			return nil // the body comes in the next record
		}
	}
	req := data[0]
	c.hsLen = 0
	if req > 1 {
		return c.fail(ErrDecode, alertIllegalParameter)
	}
	if len(data) > 1 {
		return c.fail(ErrUnexpectedMessage, alertUnexpectedMessage)
	}
	return c.keyUpdate(req == 1)
}

// keyUpdate switches the read key to the next traffic secret (RFC 8446
// §4.6.3) and, if the peer asked, owes it our own KeyUpdate, which the next
// Seal sends before anything else. Kernel TLS connections cannot re-key
// here: they end with ErrKeyUpdate (and a close_notify). With only sending
// in the kernel, a KeyUpdate that asks for ours ends the same way; one that
// does not just moves the read key.
func (c *Conn) keyUpdate(requested bool) error {
	if c.kernel || (c.kernelTX && requested) {
		c.err = ErrKeyUpdate
		if c.alert < 0 {
			c.alert, c.alertLevel = alertCloseNotify, 1
		}
		return c.err
	}
	next := keys13(c.suite, nextSecret13(c.suite, c.in.keys.Secret))
	if err := c.in.setKeys(c.suite, next); err != nil {
		return c.fail(ErrKeyUpdate, alertInternalError)
	}
	if requested {
		c.sendUpdate = true
	}
	return nil
}

// keyUpdateNotRequested is a KeyUpdate message with update_not_requested.
var keyUpdateNotRequested = [5]byte{24, 0, 0, 1, 0}

// Pending reports whether control records (our KeyUpdate, an alert) are
// owed to the peer: the caller then calls Seal(dst, nil) and sends the
// result before any record sealed with SealInPlace.
//
// On a kernel TLS connection (EnableKernel, EnableKernelTX) the kernel
// seals: Pending is false, Seal, SealInPlace and CloseNotify append
// nothing, and an alert owed comes from KernelAlert.
func (c *Conn) Pending() bool {
	return !c.closed && !c.kernel && !c.kernelTX && (c.sendUpdate || c.alert >= 0)
}

// Seal appends to dst the control records owed to the peer, then p as
// application data in records of at most MaxPlaintext bytes, and returns
// the extended slice (grown as append does when its capacity is short).
// Seal(dst, nil) only flushes control records. Once an alert is sealed
// (CloseNotify, or the alert after an Open error) Seal appends nothing more.
func (c *Conn) Seal(dst, p []byte) []byte { return c.sealData(dst, p, false) }

// SealBorrow is Seal for plaintext the caller owns and no one else reads
// meanwhile: where p has capacity past a record's plaintext, TLS 1.3 lends
// the byte there to the record's content type for the time of the
// encryption (and restores it), so that the AEAD reads p itself instead of
// a copy of p in the record. The records are the same as Seal's.
func (c *Conn) SealBorrow(dst, p []byte) []byte {
	return c.sealData(dst, p, c.vers == tls.VersionTLS13)
}

// sealData is Seal; lend says p's byte after each record's plaintext may
// be borrowed (SealBorrow).
func (c *Conn) sealData(dst, p []byte, lend bool) []byte {
	dst = c.flushControl(dst)
	if c.closed || c.kernel || c.kernelTX {
		return dst
	}
	for len(p) > 0 {
		m := min(len(p), MaxPlaintext)
		if lend && cap(p) > m {
			dst = c.sealBorrowed(dst, p[:m+1])
		} else {
			dst = c.seal(dst, recordAppData, p[:m])
		}
		p = p[m:]
	}
	return dst
}

// sealBorrowed appends one TLS 1.3 application data record holding pt
// but its last byte, which it borrows for the content type.
func (c *Conn) sealBorrowed(dst, pt []byte) []byte {
	n := len(pt) - 1
	dst, rec := c.grow(dst, n)
	saved := pt[n]
	pt[n] = recordAppData
	c.seal13(rec, pt)
	pt[n] = saved
	c.out.keys.Seq++
	return dst
}

// seal13 writes the TLS 1.3 record rec (header, then the encryption of
// inner: the plaintext followed by its content type), reading inner
// wherever it is (in rec itself when sealing in place).
func (c *Conn) seal13(rec, inner []byte) {
	h, hl := &c.out, c.HeaderLen()
	c.header(rec, recordAppData, len(rec))
	h.aead.Seal(rec[hl:hl], h.xorNonce(), inner, rec[:recordHeaderLen])
}

// CloseNotify appends the control records owed and a close_notify alert;
// nothing is sealed after it.
func (c *Conn) CloseNotify(dst []byte) []byte {
	if c.alert < 0 {
		c.alert, c.alertLevel = alertCloseNotify, 1
	}
	return c.flushControl(dst)
}

// SealInPlace seals the n bytes of plaintext at rec[HeaderLen() :
// HeaderLen()+n] as one application data record, in place, and returns the
// record: rec[:HeaderLen()+n+TrailerLen()] (rec must have that capacity; n
// is at most MaxPlaintext). It lets the engine read a file segment straight
// into its record buffer. It returns nil, sealing nothing, when control
// records are pending or the connection is closed for writing: the caller
// flushes with Seal(dst, nil) first.
func (c *Conn) SealInPlace(rec []byte, n int) []byte {
	if c.closed || c.kernel || c.kernelTX || c.Pending() || n > MaxPlaintext || n < 0 {
		return nil
	}
	return c.sealInPlace(rec[:c.HeaderLen()+n+c.TrailerLen()], recordAppData, n)
}

// flushControl appends the KeyUpdate and alert owed, if any.
func (c *Conn) flushControl(dst []byte) []byte {
	if c.closed || c.kernel || c.kernelTX {
		return dst
	}
	if c.sendUpdate {
		c.sendUpdate = false
		dst = c.seal(dst, recordHandshake, keyUpdateNotRequested[:])
		next := keys13(c.suite, nextSecret13(c.suite, c.out.keys.Secret))
		if err := c.out.setKeys(c.suite, next); err != nil {
			panic("tlsrec: " + err.Error()) // the key length cannot change
		}
	}
	if c.alert >= 0 {
		c.alertBuf[0], c.alertBuf[1] = c.alertLevel, byte(c.alert)
		dst = c.seal(dst, recordAlert, c.alertBuf[:])
		c.alert = -1
		c.closed = true
	}
	return dst
}

// seal appends one record of content type typ holding p.
func (c *Conn) seal(dst []byte, typ byte, p []byte) []byte {
	hl := c.HeaderLen()
	dst, rec := c.grow(dst, len(p))
	if c.vers == tls.VersionTLS13 {
		copy(rec[hl:], p)
		c.sealInPlace(rec, typ, len(p))
		return dst
	}
	// TLS 1.2 seals from p directly: its plaintext needs no trailer byte.
	c.header(rec, typ, len(rec))
	h := &c.out
	if c.suite.cipher == ChaCha20Poly1305 {
		h.aead.Seal(rec[hl:hl], h.xorNonce(), p, h.aad12(typ, len(p)))
	} else {
		h.aead.Seal(rec[hl:hl], h.explicitNonce(rec), p, h.aad12(typ, len(p)))
	}
	h.keys.Seq++
	return dst
}

// grow extends dst by one record of n bytes of plaintext and returns it
// with the record's place.
func (c *Conn) grow(dst []byte, n int) (out, rec []byte) {
	total := c.HeaderLen() + n + c.TrailerLen()
	dst = slices.Grow(dst, total)
	off := len(dst)
	dst = dst[:off+total]
	return dst, dst[off:]
}

// header writes the record header (and TLS 1.2 AES-GCM's explicit nonce,
// the sequence number) of a record of total bytes.
func (c *Conn) header(rec []byte, typ byte, total int) {
	n := total - recordHeaderLen
	rec[0], rec[1], rec[2], rec[3], rec[4] = typ, 3, 3, byte(n>>8), byte(n)
	if c.HeaderLen() > recordHeaderLen {
		binary.BigEndian.PutUint64(rec[recordHeaderLen:], c.out.keys.Seq)
	}
}

// explicitNonce sets the TLS 1.2 AES-GCM nonce: salt || the record's
// explicit nonce.
func (h *half) explicitNonce(rec []byte) []byte {
	copy(h.nonce[:4], h.keys.IV)
	copy(h.nonce[4:], rec[recordHeaderLen:recordHeaderLen+8])
	return h.nonce[:]
}

// sealInPlace seals the n plaintext bytes at rec[HeaderLen():] as one record
// of type typ; len(rec) is the whole record.
func (c *Conn) sealInPlace(rec []byte, typ byte, n int) []byte {
	h := &c.out
	hl := c.HeaderLen()
	pt := rec[hl : hl+n]
	switch {
	case c.vers == tls.VersionTLS13:
		rec[hl+n] = typ
		c.seal13(rec, rec[hl:hl+n+1])
	case c.suite.cipher == ChaCha20Poly1305:
		c.header(rec, typ, len(rec))
		h.aead.Seal(pt[:0], h.xorNonce(), pt, h.aad12(typ, n))
	default:
		c.header(rec, typ, len(rec))
		h.aead.Seal(pt[:0], h.explicitNonce(rec), pt, h.aad12(typ, n))
	}
	h.keys.Seq++
	return rec
}
