//go:build amd64 && !purego

package vaesgcm

import "golang.org/x/sys/cpu"

// supported: the CPU has what the assembly uses, and the OS saves the
// 512-bit registers (x/sys/cpu checks XCR0 for the AVX-512 flags).
var supported = cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ && cpu.X86.HasAVX2 &&
	cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VAES && cpu.X86.HasAVX512VPCLMULQDQ

//go:noescape
func expandKey128(key *[16]byte, rk *[15][16]byte)

//go:noescape
func expandKey256(key *[32]byte, rk *[15][16]byte)

//go:noescape
func encryptBlock(rk *[15][16]byte, nr int, dst, src *[16]byte)

//go:noescape
func gfmul(a, b *[16]byte)

//go:noescape
func hashKey(h *[16]byte)

//go:noescape
func ghash(htab *[16][16]byte, acc *[16]byte, src *byte, n int)

//go:noescape
func ctr(rk *[15][16]byte, nr int, block *[16]byte, dst, src *byte, n int)

//go:noescape
func sealBulk(rk *[15][16]byte, nr int, block *[16]byte, htab *[32][16]byte, acc *[16]byte, dst, src *byte, n int)
