package vaesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
	"testing"
)

// reference returns crypto/cipher's AES-GCM for key.
func reference(t testing.TB, key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func need(t testing.TB) {
	if !Supported() {
		t.Skip("the CPU lacks VAES, VPCLMULQDQ or AVX-512 (or the OS their state): crypto/cipher's GCM is used")
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestNewRefuses(t *testing.T) {
	need(t)
	for _, n := range []int{0, 15, 24, 31, 33} {
		if _, ok := New(make([]byte, n)); ok {
			t.Errorf("a %d-byte key was taken", n)
		}
	}
}

// TestKeyExpansion: the first block each key encrypts is crypto/aes's.
func TestKeyExpansion(t *testing.T) {
	need(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		key := randBytes(r, []int{16, 32}[i%2])
		g, _ := New(key)
		a := g.(*aead)
		b, _ := aes.NewCipher(key)
		var in, got, want [16]byte
		copy(in[:], randBytes(r, 16))
		encryptBlock(&a.rk, a.nr, &got, &in)
		b.Encrypt(want[:], in[:])
		if got != want {
			t.Fatalf("key %x: block %x, crypto/aes %x", key, got, want)
		}
	}
}

// TestAgainstStdlib: Seal and Open agree with crypto/cipher's GCM for
// every plaintext length up to past a 16-block batch plus tails, around
// TLS record sizes, and for assorted additional data lengths.
func TestAgainstStdlib(t *testing.T) {
	need(t)
	r := rand.New(rand.NewPCG(3, 4))
	lens := []int{16384, 16384 + 1, 16384 + 256 + 17, 16375, 65536 + 48}
	for n := 0; n <= 600; n++ {
		lens = append(lens, n)
	}
	for i, n := range lens {
		key := randBytes(r, []int{16, 32}[i%2])
		g, ok := New(key)
		if !ok {
			t.Fatal("New refused a key")
		}
		ref := reference(t, key)
		nonce := randBytes(r, 12)
		ad := randBytes(r, []int{0, 5, 13, 16, 17, 40, 300}[i%7])
		pt := randBytes(r, n)
		want := ref.Seal(nil, nonce, pt, ad)
		got := g.Seal(nil, nonce, pt, ad)
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d ad %d key %d: sealed differently", n, len(ad), len(key))
		}
		// In place, after a prefix, as tlsrec seals a record.
		buf := append([]byte("hdr"), pt...)
		sealed := g.Seal(buf[:3], nonce, buf[3:3+n], ad)
		if !bytes.Equal(sealed[3:], want) || string(sealed[:3]) != "hdr" {
			t.Fatalf("len %d: in place sealed differently", n)
		}
		opened, err := g.Open(nil, nonce, want, ad)
		if err != nil || !bytes.Equal(opened, pt) {
			t.Fatalf("len %d: open: %v", n, err)
		}
		inPlace, err := g.Open(want[:0], nonce, want, ad)
		if err != nil || !bytes.Equal(inPlace, pt) {
			t.Fatalf("len %d: open in place: %v", n, err)
		}
	}
}

// TestOpenRejects: any flipped bit of the ciphertext, the tag, the
// additional data or the nonce fails, and leaves dst as it was.
func TestOpenRejects(t *testing.T) {
	need(t)
	r := rand.New(rand.NewPCG(5, 6))
	key := randBytes(r, 16)
	g, _ := New(key)
	nonce, ad, pt := randBytes(r, 12), randBytes(r, 13), randBytes(r, 100)
	sealed := g.Seal(nil, nonce, pt, ad)
	for i := range len(sealed) * 8 {
		bad := bytes.Clone(sealed)
		bad[i/8] ^= 1 << (i % 8)
		dst := make([]byte, 0, 200)
		if out, err := g.Open(dst, nonce, bad, ad); err == nil || out != nil {
			t.Fatalf("bit %d flipped: opened", i)
		}
	}
	for i := range len(ad) * 8 {
		badAD := bytes.Clone(ad)
		badAD[i/8] ^= 1 << (i % 8)
		if _, err := g.Open(nil, nonce, sealed, badAD); err == nil {
			t.Fatalf("ad bit %d flipped: opened", i)
		}
	}
	badNonce := bytes.Clone(nonce)
	badNonce[11] ^= 1
	if _, err := g.Open(nil, badNonce, sealed, ad); err == nil {
		t.Fatal("another nonce: opened")
	}
	if _, err := g.Open(nil, nonce, sealed[:15], ad); err == nil {
		t.Fatal("shorter than a tag: opened")
	}
}

// TestCounterWrap: the 32-bit block counter wraps within the nonce's
// counter block as GCM's inc32 does (a nonce's counter starts at 2, so
// only a direct call reaches the wrap; the stream must match the
// block-by-block definition).
func TestCounterWrap(t *testing.T) {
	need(t)
	r := rand.New(rand.NewPCG(7, 8))
	key := randBytes(r, 32)
	g, _ := New(key)
	a := g.(*aead)
	b, _ := aes.NewCipher(key)
	for _, n := range []int{64, 256, 256 + 64, 1024 + 48} {
		var block [16]byte
		copy(block[:], randBytes(r, 12))
		block[12], block[13], block[14], block[15] = 0xff, 0xff, 0xff, 0xfd
		start := block
		src := randBytes(r, n)
		got := make([]byte, n)
		a.xorStream(got, src, &block)
		want := make([]byte, n)
		cb := start
		for off := 0; off < n; off += 16 {
			var ks [16]byte
			b.Encrypt(ks[:], cb[:])
			for j := 0; j < 16 && off+j < n; j++ {
				want[off+j] = src[off+j] ^ ks[j]
			}
			for k := 15; k >= 12; k-- { // inc32
				cb[k]++
				if cb[k] != 0 {
					break
				}
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("n %d: the stream differs across the counter's wrap", n)
		}
		if block != cb && n%64 == 0 {
			t.Fatalf("n %d: next counter block %x, want %x", n, block, cb)
		}
	}
}

func TestOverlapPanics(t *testing.T) {
	need(t)
	g, _ := New(make([]byte, 16))
	buf := make([]byte, 100)
	defer func() {
		if recover() == nil {
			t.Fatal("a shifted overlap did not panic")
		}
	}()
	g.Seal(buf[1:1], make([]byte, 12), buf[:50], nil)
}

// FuzzSeal: Seal and Open agree with crypto/cipher's GCM for any key,
// nonce, plaintext and additional data (key and nonce are cut from
// material, zero-padded), and Open refuses a tag with one bit flipped.
func FuzzSeal(f *testing.F) {
	f.Add(false, []byte("0123456789abcdefnonce-123456"), []byte("hello"), []byte("ad"), uint16(0))
	f.Add(true, []byte("k"), bytes.Repeat([]byte("p"), 1100), []byte("13-byte-hdr.."), uint16(77))
	f.Fuzz(func(t *testing.T, aes256 bool, material, pt, ad []byte, flip uint16) {
		if !Supported() {
			t.Skip("no VAES")
		}
		var km [32 + 12]byte
		copy(km[:], material)
		key := km[:16]
		if aes256 {
			key = km[:32]
		}
		nonce := km[32:]
		g, ok := New(key)
		if !ok {
			t.Fatal("New refused a key")
		}
		want := reference(t, key).Seal(nil, nonce, pt, ad)
		if got := g.Seal(nil, nonce, pt, ad); !bytes.Equal(got, want) {
			t.Fatalf("sealed differently")
		}
		if got, err := g.Open(nil, nonce, want, ad); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("open: %v", err)
		}
		bit := int(flip) % (len(want) * 8)
		want[bit/8] ^= 1 << (bit % 8)
		if _, err := g.Open(nil, nonce, want, ad); err == nil {
			t.Fatalf("bit %d flipped: opened", bit)
		}
	})
}

func benchSeal(b *testing.B, n int, vaes bool) {
	key := make([]byte, 16)
	var g cipher.AEAD
	if vaes {
		need(b)
		g, _ = New(key)
	} else {
		g = reference(b, key)
	}
	buf := make([]byte, n+16)
	nonce := make([]byte, 12)
	ad := make([]byte, 13)
	b.SetBytes(int64(n))
	for b.Loop() {
		g.Seal(buf[:0], nonce, buf[:n], ad)
	}
}

func BenchmarkSeal16K(b *testing.B)       { benchSeal(b, 16384, true) }
func BenchmarkSeal16KStdlib(b *testing.B) { benchSeal(b, 16384, false) }
func BenchmarkSeal3K(b *testing.B)        { benchSeal(b, 3600, true) }
func BenchmarkSeal3KStdlib(b *testing.B)  { benchSeal(b, 3600, false) }
func BenchmarkSeal64(b *testing.B)        { benchSeal(b, 64, true) }
func BenchmarkSeal64Stdlib(b *testing.B)  { benchSeal(b, 64, false) }
