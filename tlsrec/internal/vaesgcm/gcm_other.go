//go:build !amd64 || purego

package vaesgcm

// The assembly is for x86-64 only.
const supported = false

func expandKey128(key *[16]byte, rk *[15][16]byte)                         { panic("unreachable") }
func expandKey256(key *[32]byte, rk *[15][16]byte)                         { panic("unreachable") }
func encryptBlock(rk *[15][16]byte, nr int, dst, src *[16]byte)            { panic("unreachable") }
func gfmul(a, b *[16]byte)                                                 { panic("unreachable") }
func hashKey(h *[16]byte)                                                  { panic("unreachable") }
func ghash(htab *[16][16]byte, acc *[16]byte, src *byte, n int)            { panic("unreachable") }
func ctr(rk *[15][16]byte, nr int, block *[16]byte, dst, src *byte, n int) { panic("unreachable") }

func sealBulk(rk *[15][16]byte, nr int, block *[16]byte, htab *[32][16]byte, acc *[16]byte, dst, src *byte, n int) {
	panic("unreachable")
}
