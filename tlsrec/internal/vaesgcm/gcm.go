// Package vaesgcm is AES-GCM for TLS records on x86-64 CPUs with VAES and
// VPCLMULQDQ (Intel Ice Lake and later, AMD Zen 4 and later): the counter
// mode runs four blocks per 512-bit instruction, sixteen in flight, and
// GHASH multiplies four blocks per instruction with one reduction per 32;
// sealing does both in one pass. crypto/cipher's GCM uses 128-bit AES-NI;
// on this project's benchmark machine it seals a 16 KiB record at 6.3
// GB/s, this at 12.5-12.7 (BenchmarkSeal16K against
// BenchmarkSeal16KStdlib).
//
// New reports false where the CPU or the OS (512-bit register state) lacks
// a feature, and for key sizes other than 16 and 32 bytes; the caller then
// uses crypto/cipher's. The result is checked against crypto/cipher's GCM
// in the tests, for every length around the block and batch boundaries.
//
// What lives where: gcm.go, the AEAD (nonce, counter blocks, tails,
// lengths, the tag); gcm_amd64.s, key expansion, the counter mode and
// GHASH; gcm_amd64.go and gcm_other.go, the CPU check and declarations.
package vaesgcm

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"unsafe"
)

const (
	nonceSize = 12
	tagSize   = 16
	// maxPlain is GCM's limit for one message: 2^32-2 blocks.
	maxPlain = (1<<32 - 2) * 16
)

var errOpen = errors.New("cipher: message authentication failed")

// Supported reports whether New can return an AEAD on this machine.
func Supported() bool { return supported }

// New returns the AES-GCM AEAD (12-byte nonce, 16-byte tag) for a 16- or
// 32-byte key, or false (see the package doc).
func New(key []byte) (cipher.AEAD, bool) {
	if !supported {
		return nil, false
	}
	g := new(aead)
	switch len(key) {
	case 16:
		expandKey128((*[16]byte)(key), &g.rk)
		g.nr = 10
	case 32:
		expandKey256((*[32]byte)(key), &g.rk)
		g.nr = 14
	default:
		return nil, false
	}
	var h [16]byte
	encryptBlock(&g.rk, g.nr, &h, &h)
	hashKey(&h)
	p := h
	g.htab[31] = p
	for i := 30; i >= 0; i-- {
		gfmul(&p, &h)
		g.htab[i] = p
	}
	return g, true
}

// aead is one key's state.
type aead struct {
	rk   [15][16]byte // round keys
	nr   int          // rounds: 10 or 14
	htab [32][16]byte // htab[i] = H^(32-i), in the hashing representation
}

func (g *aead) NonceSize() int { return nonceSize }
func (g *aead) Overhead() int  { return tagSize }

func (g *aead) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != nonceSize {
		panic("vaesgcm: incorrect nonce length given to GCM")
	}
	if uint64(len(plaintext)) > maxPlain {
		panic("vaesgcm: message too large for GCM")
	}
	size := len(plaintext)
	ret, out := sliceForAppend(dst, size+tagSize)
	if inexactOverlap(out[:size], plaintext) {
		panic("vaesgcm: invalid buffer overlap")
	}
	block, mask := g.start(nonce)
	ct := out[:size]
	var acc [16]byte
	g.hash(&acc, ad)
	// Whole batches of 32 blocks in one pass, the rest in two.
	if n := size &^ 511; n > 0 {
		sealBulk(&g.rk, g.nr, &block, &g.htab, &acc, &ct[0], &plaintext[0], n)
		advance(&block, n)
		ct, plaintext = ct[n:], plaintext[n:]
	}
	g.xorStream(ct, plaintext, &block)
	g.hash(&acc, ct)
	g.finish(out[size:], &acc, &mask, len(ad), size)
	return ret
}

func (g *aead) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != nonceSize {
		panic("vaesgcm: incorrect nonce length given to GCM")
	}
	if len(ciphertext) < tagSize || uint64(len(ciphertext)) > maxPlain+tagSize {
		return nil, errOpen
	}
	ct := ciphertext[:len(ciphertext)-tagSize]
	block, mask := g.start(nonce)
	var want [tagSize]byte
	g.tag(want[:], &mask, ad, ct)
	ret, out := sliceForAppend(dst, len(ct))
	if inexactOverlap(out, ct) {
		panic("vaesgcm: invalid buffer overlap")
	}
	if subtle.ConstantTimeCompare(want[:], ciphertext[len(ct):]) != 1 {
		return nil, errOpen
	}
	g.xorStream(out, ct, &block)
	return ret, nil
}

// start returns the first counter block of the message with nonce (its
// counter 2) and the tag mask, E(K, counter block 1).
func (g *aead) start(nonce []byte) (block, mask [16]byte) {
	copy(block[:], nonce)
	block[15] = 1
	encryptBlock(&g.rk, g.nr, &mask, &block)
	block[15] = 2
	return block, mask
}

// advance moves counter block b past n bytes (whole blocks), mod 2^32
// as GCM's inc32.
func advance(b *[16]byte, n int) {
	binary.BigEndian.PutUint32(b[12:], binary.BigEndian.Uint32(b[12:])+uint32(n/16))
}

// htab16 is the table of H^16..H^1 that ghash takes.
func (g *aead) htab16() *[16][16]byte { return (*[16][16]byte)(g.htab[16:]) }

// xorStream XORs src with the key stream from counter block *block into
// dst (len(dst) == len(src)).
func (g *aead) xorStream(dst, src []byte, block *[16]byte) {
	n := len(src) &^ 63
	if n > 0 {
		ctr(&g.rk, g.nr, block, &dst[0], &src[0], n)
		advance(block, n)
	}
	if rest := len(src) - n; rest > 0 {
		var buf [64]byte
		copy(buf[:], src[n:])
		ctr(&g.rk, g.nr, block, &buf[0], &buf[0], 64)
		copy(dst[n:], buf[:rest])
	}
}

// tag writes the authentication tag of ad and ct into out (16 bytes).
func (g *aead) tag(out []byte, mask *[16]byte, ad, ct []byte) {
	var acc [16]byte
	g.hash(&acc, ad)
	g.hash(&acc, ct)
	g.finish(out, &acc, mask, len(ad), len(ct))
}

// finish absorbs the lengths block into acc and writes the tag into out.
func (g *aead) finish(out []byte, acc, mask *[16]byte, adLen, ctLen int) {
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[:8], uint64(adLen)*8)
	binary.BigEndian.PutUint64(lens[8:], uint64(ctLen)*8)
	ghash(g.htab16(), acc, &lens[0], 16)
	for i := range 16 {
		out[i] = acc[15-i] ^ mask[i] // back from the hashing representation
	}
}

// hash absorbs p, zero-padded to whole blocks, into acc.
func (g *aead) hash(acc *[16]byte, p []byte) {
	n := len(p) &^ 15
	if n > 0 {
		ghash(g.htab16(), acc, &p[0], n)
	}
	if len(p) > n {
		var last [16]byte
		copy(last[:], p[n:])
		ghash(g.htab16(), acc, &last[0], 16)
	}
}

// sliceForAppend extends in by n bytes, reallocating when it lacks the
// capacity; out is the n new bytes.
func sliceForAppend(in []byte, n int) (head, out []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// inexactOverlap reports whether x and y share memory at different
// offsets: in place (the same start) is allowed, a shifted overlap is not.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return xs < ys+uintptr(len(y)) && ys < xs+uintptr(len(x))
}
