//go:build amd64 && !purego

#include "textflag.h"

// AES-GCM with VAES and VPCLMULQDQ on 512-bit registers: four blocks per
// instruction. The GHASH conventions are the usual ones for carry-less
// multiplication on x86 (as in Go's own gcm_amd64.s): every block is
// byte-reversed before it is hashed, the hash key is kept as H·x ("H*2",
// so that products need no shift), and products are reduced with the
// constant 0xC2000000_00000000 in two folding rounds.

DATA bswapMask<>+0x00(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+0x08(SB)/8, $0x0001020304050607
GLOBL bswapMask<>(SB), RODATA|NOPTR, $16

DATA gcmPoly<>+0x00(SB)/8, $0x0000000000000001
DATA gcmPoly<>+0x08(SB)/8, $0xc200000000000000
GLOBL gcmPoly<>(SB), RODATA|NOPTR, $16

// Counter increments for the four lanes of a register (dword 0 of each
// byte-reversed counter block), and the step of four blocks.
DATA ctrLanes<>+0x00(SB)/8, $0
DATA ctrLanes<>+0x08(SB)/8, $0
DATA ctrLanes<>+0x10(SB)/8, $1
DATA ctrLanes<>+0x18(SB)/8, $0
DATA ctrLanes<>+0x20(SB)/8, $2
DATA ctrLanes<>+0x28(SB)/8, $0
DATA ctrLanes<>+0x30(SB)/8, $3
DATA ctrLanes<>+0x38(SB)/8, $0
GLOBL ctrLanes<>(SB), RODATA|NOPTR, $64

DATA ctrFour<>+0x00(SB)/8, $4
DATA ctrFour<>+0x08(SB)/8, $0
GLOBL ctrFour<>(SB), RODATA|NOPTR, $16

// EXPAND turns prev, a round key, into the next: prev ^= prev<<32 ^
// prev<<64 ^ prev<<96, then ^= t (AESKEYGENASSIST's word, broadcast).
#define EXPAND(prev, t, tmp) \
	VPSLLDQ $4, prev, tmp; \
	VPXOR tmp, prev, prev; \
	VPSLLDQ $4, tmp, tmp; \
	VPXOR tmp, prev, prev; \
	VPSLLDQ $4, tmp, tmp; \
	VPXOR tmp, prev, prev; \
	VPXOR t, prev, prev

#define STEP128(rcon, off) \
	AESKEYGENASSIST $rcon, X1, X2; \
	PSHUFD $0xff, X2, X2; \
	EXPAND(X1, X2, X3); \
	MOVOU X1, off(DI)

// func expandKey128(key *[16]byte, rk *[15][16]byte)
TEXT ·expandKey128(SB), NOSPLIT, $0-16
	MOVQ key+0(FP), SI
	MOVQ rk+8(FP), DI
	MOVOU (SI), X1
	MOVOU X1, 0(DI)
	STEP128(0x01, 16)
	STEP128(0x02, 32)
	STEP128(0x04, 48)
	STEP128(0x08, 64)
	STEP128(0x10, 80)
	STEP128(0x20, 96)
	STEP128(0x40, 112)
	STEP128(0x80, 128)
	STEP128(0x1b, 144)
	STEP128(0x36, 160)
	RET

// AES-256: STEP256A turns X1 (round key 2i-2) into round key 2i, with
// the word AESKEYGENASSIST makes from X4 (round key 2i-1, rotated, with
// rcon); STEP256B turns X4 into round key 2i+1 with the word made from the
// new X1 (not rotated, no rcon).
#define STEP256A(rcon, off) \
	AESKEYGENASSIST $rcon, X4, X2; \
	PSHUFD $0xff, X2, X2; \
	EXPAND(X1, X2, X3); \
	MOVOU X1, off(DI)

#define STEP256B(off) \
	AESKEYGENASSIST $0x00, X1, X2; \
	PSHUFD $0xaa, X2, X2; \
	EXPAND(X4, X2, X3); \
	MOVOU X4, off(DI)

// func expandKey256(key *[32]byte, rk *[15][16]byte)
TEXT ·expandKey256(SB), NOSPLIT, $0-16
	MOVQ key+0(FP), SI
	MOVQ rk+8(FP), DI
	MOVOU 0(SI), X1
	MOVOU 16(SI), X4
	MOVOU X1, 0(DI)
	MOVOU X4, 16(DI)
	STEP256A(0x01, 32)
	STEP256B(48)
	STEP256A(0x02, 64)
	STEP256B(80)
	STEP256A(0x04, 96)
	STEP256B(112)
	STEP256A(0x08, 128)
	STEP256B(144)
	STEP256A(0x10, 160)
	STEP256B(176)
	STEP256A(0x20, 192)
	STEP256B(208)
	STEP256A(0x40, 224)
	RET

// func encryptBlock(rk *[15][16]byte, nr int, dst, src *[16]byte)
TEXT ·encryptBlock(SB), NOSPLIT, $0-32
	MOVQ rk+0(FP), AX
	MOVQ nr+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVOU (SI), X0
	MOVOU 0(AX), X1
	PXOR X1, X0
	ADDQ $16, AX
	DECQ CX
encLoop:
	MOVOU (AX), X1
	AESENC X1, X0
	ADDQ $16, AX
	DECQ CX
	JNZ encLoop
	MOVOU (AX), X1
	AESENCLAST X1, X0
	MOVOU X0, (DI)
	RET

// REDUCE folds the 256-bit product hi:lo (lo already holds the middle
// term's low half, hi its high half) into lo. Uses X15 (POLY) and tmp.
#define REDUCE(lo, hi, tmp) \
	VPCLMULQDQ $0x01, lo, X15, tmp; \
	VPSHUFD $78, lo, lo; \
	VPXOR tmp, lo, lo; \
	VPCLMULQDQ $0x01, lo, X15, tmp; \
	VPSHUFD $78, lo, lo; \
	VPXOR tmp, lo, lo; \
	VPXOR hi, lo, lo

// MUL128 sets a = a·b (one block, both in the hashing representation).
// Clobbers X10-X12.
#define MUL128(a, b) \
	VPCLMULQDQ $0x00, b, a, X10; \
	VPCLMULQDQ $0x11, b, a, X11; \
	VPCLMULQDQ $0x01, b, a, X12; \
	VPCLMULQDQ $0x10, b, a, a; \
	VPXOR X12, a, a; \
	VPSLLDQ $8, a, X12; \
	VPSRLDQ $8, a, a; \
	VPXOR X12, X10, X10; \
	VPXOR a, X11, X11; \
	REDUCE(X10, X11, X12); \
	VMOVDQU X10, a

// func gfmul(a, b *[16]byte)
TEXT ·gfmul(SB), NOSPLIT, $0-16
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	VMOVDQU gcmPoly<>(SB), X15
	VMOVDQU (DI), X0
	VMOVDQU (SI), X1
	MUL128(X0, X1)
	VMOVDQU X0, (DI)
	RET

// func hashKey(h *[16]byte)
// h: E(K, 0) on entry, H·x in the hashing representation on return.
TEXT ·hashKey(SB), NOSPLIT, $0-8
	MOVQ h+0(FP), DI
	MOVOU (DI), X0
	MOVOU bswapMask<>(SB), X5
	MOVOU gcmPoly<>(SB), X6
	PSHUFB X5, X0
	PSHUFD $0xff, X0, X1
	MOVOU X0, X2
	PSRAL $31, X1
	PAND X6, X1
	PSRLL $31, X2
	PSLLO $4, X2
	PSLLL $1, X0
	PXOR X1, X0
	PXOR X2, X0
	MOVOU X0, (DI)
	RET

// FOLD4 xors the four 128-bit lanes of z into its lowest lane (as x/y).
#define FOLD4(z, y, x, ty, tx) \
	VEXTRACTI64X4 $1, z, ty; \
	VPXORQ ty, y, y; \
	VEXTRACTI128 $1, y, tx; \
	VPXOR tx, x, x

// MULACC4 accumulates the schoolbook partial products of data d and
// powers h into Z8 (lo), Z9 (hi), Z10 (middle).
#define MULACC4(d, h) \
	VPCLMULQDQ $0x00, h, d, Z4; \
	VPCLMULQDQ $0x11, h, d, Z5; \
	VPCLMULQDQ $0x01, h, d, Z6; \
	VPCLMULQDQ $0x10, h, d, Z7; \
	VPXORQ Z4, Z8, Z8; \
	VPXORQ Z5, Z9, Z9; \
	VPTERNLOGD $0x96, Z6, Z7, Z10

// FINISH folds Z8/Z9/Z10 to one block and reduces it into acc (an X
// register). Clobbers X4-X10 and X14.
#define FINISH(acc) \
	FOLD4(Z8, Y8, X8, Y4, X5); \
	FOLD4(Z9, Y9, X9, Y6, X7); \
	FOLD4(Z10, Y10, X10, Y4, X5); \
	VPSLLDQ $8, X10, X4; \
	VPSRLDQ $8, X10, X10; \
	VPXOR X4, X8, X8; \
	VPXOR X10, X9, X9; \
	REDUCE(X8, X9, X14); \
	VMOVDQU X8, acc

// HASHM accumulates the stored ciphertext at off(DI), with the powers at
// off(BX), into Z8 (lo), Z9 (hi), Z10 (middle).
#define HASHM(off) \
	VMOVDQU64 off(DI), Z1; \
	VPSHUFB Z31, Z1, Z1; \
	VPCLMULQDQ $0x00, off(BX), Z1, Z4; \
	VPCLMULQDQ $0x11, off(BX), Z1, Z5; \
	VPCLMULQDQ $0x01, off(BX), Z1, Z6; \
	VPCLMULQDQ $0x10, off(BX), Z1, Z7; \
	VPXORQ Z4, Z8, Z8; \
	VPXORQ Z5, Z9, Z9; \
	VPTERNLOGD $0x96, Z6, Z7, Z10

// func ghash(htab *[16][16]byte, acc *[16]byte, src *byte, n int)
// htab[i] = H^(16-i); n is a multiple of 16. acc is in the hashing
// representation.
TEXT ·ghash(SB), NOSPLIT, $0-32
	MOVQ htab+0(FP), AX
	MOVQ acc+8(FP), DI
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVDQU gcmPoly<>(SB), X15
	VBROADCASTI32X4 bswapMask<>(SB), Z31
	VMOVDQU (DI), X0
	VMOVDQU64 0(AX), Z16
	VMOVDQU64 64(AX), Z17
	VMOVDQU64 128(AX), Z18
	VMOVDQU64 192(AX), Z19
	CMPQ CX, $256
	JB ghash4
ghash16:
	VMOVDQU64 0(SI), Z1
	VMOVDQU64 64(SI), Z2
	VMOVDQU64 128(SI), Z3
	VMOVDQU64 192(SI), Z11
	VPSHUFB Z31, Z1, Z1
	VPSHUFB Z31, Z2, Z2
	VPSHUFB Z31, Z3, Z3
	VPSHUFB Z31, Z11, Z11
	VPXORQ Z0, Z1, Z1 // the accumulator joins the first block
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	MULACC4(Z1, Z16)
	MULACC4(Z2, Z17)
	MULACC4(Z3, Z18)
	MULACC4(Z11, Z19)
	FINISH(X0)
	ADDQ $256, SI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE ghash16
ghash4:
	CMPQ CX, $64
	JB ghash1
	VMOVDQU64 0(SI), Z1
	VPSHUFB Z31, Z1, Z1
	VPXORQ Z0, Z1, Z1
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	MULACC4(Z1, Z19)
	FINISH(X0)
	ADDQ $64, SI
	SUBQ $64, CX
	JMP ghash4
ghash1:
	TESTQ CX, CX
	JZ ghashDone
	VMOVDQU 240(AX), X13 // H^1
	VMOVDQU bswapMask<>(SB), X14
ghash1Loop:
	VMOVDQU (SI), X1
	VPSHUFB X14, X1, X1
	VPXOR X1, X0, X0
	MUL128(X0, X13)
	ADDQ $16, SI
	SUBQ $16, CX
	JNZ ghash1Loop
ghashDone:
	VMOVDQU X0, (DI)
	VZEROUPPER
	RET

// AESROUNDS4 encrypts Z0-Z3 with the round keys in Z16-Z30 (nr in DX).
#define AESROUNDS4(lbl, done) \
	VPXORQ Z16, Z0, Z0; VPXORQ Z16, Z1, Z1; VPXORQ Z16, Z2, Z2; VPXORQ Z16, Z3, Z3; \
	VAESENC Z17, Z0, Z0; VAESENC Z17, Z1, Z1; VAESENC Z17, Z2, Z2; VAESENC Z17, Z3, Z3; \
	VAESENC Z18, Z0, Z0; VAESENC Z18, Z1, Z1; VAESENC Z18, Z2, Z2; VAESENC Z18, Z3, Z3; \
	VAESENC Z19, Z0, Z0; VAESENC Z19, Z1, Z1; VAESENC Z19, Z2, Z2; VAESENC Z19, Z3, Z3; \
	VAESENC Z20, Z0, Z0; VAESENC Z20, Z1, Z1; VAESENC Z20, Z2, Z2; VAESENC Z20, Z3, Z3; \
	VAESENC Z21, Z0, Z0; VAESENC Z21, Z1, Z1; VAESENC Z21, Z2, Z2; VAESENC Z21, Z3, Z3; \
	VAESENC Z22, Z0, Z0; VAESENC Z22, Z1, Z1; VAESENC Z22, Z2, Z2; VAESENC Z22, Z3, Z3; \
	VAESENC Z23, Z0, Z0; VAESENC Z23, Z1, Z1; VAESENC Z23, Z2, Z2; VAESENC Z23, Z3, Z3; \
	VAESENC Z24, Z0, Z0; VAESENC Z24, Z1, Z1; VAESENC Z24, Z2, Z2; VAESENC Z24, Z3, Z3; \
	VAESENC Z25, Z0, Z0; VAESENC Z25, Z1, Z1; VAESENC Z25, Z2, Z2; VAESENC Z25, Z3, Z3; \
	CMPQ DX, $10; \
	JE lbl; \
	VAESENC Z26, Z0, Z0; VAESENC Z26, Z1, Z1; VAESENC Z26, Z2, Z2; VAESENC Z26, Z3, Z3; \
	VAESENC Z27, Z0, Z0; VAESENC Z27, Z1, Z1; VAESENC Z27, Z2, Z2; VAESENC Z27, Z3, Z3; \
	VAESENC Z28, Z0, Z0; VAESENC Z28, Z1, Z1; VAESENC Z28, Z2, Z2; VAESENC Z28, Z3, Z3; \
	VAESENC Z29, Z0, Z0; VAESENC Z29, Z1, Z1; VAESENC Z29, Z2, Z2; VAESENC Z29, Z3, Z3; \
	VAESENCLAST Z30, Z0, Z0; VAESENCLAST Z30, Z1, Z1; VAESENCLAST Z30, Z2, Z2; VAESENCLAST Z30, Z3, Z3; \
	JMP done; \
lbl: \
	VAESENCLAST Z26, Z0, Z0; VAESENCLAST Z26, Z1, Z1; VAESENCLAST Z26, Z2, Z2; VAESENCLAST Z26, Z3, Z3; \
done:

// AESROUNDS1 encrypts Z0 alone.
#define AESROUNDS1(lbl, done) \
	VPXORQ Z16, Z0, Z0; \
	VAESENC Z17, Z0, Z0; VAESENC Z18, Z0, Z0; VAESENC Z19, Z0, Z0; VAESENC Z20, Z0, Z0; \
	VAESENC Z21, Z0, Z0; VAESENC Z22, Z0, Z0; VAESENC Z23, Z0, Z0; VAESENC Z24, Z0, Z0; \
	VAESENC Z25, Z0, Z0; \
	CMPQ DX, $10; \
	JE lbl; \
	VAESENC Z26, Z0, Z0; VAESENC Z27, Z0, Z0; VAESENC Z28, Z0, Z0; VAESENC Z29, Z0, Z0; \
	VAESENCLAST Z30, Z0, Z0; \
	JMP done; \
lbl: \
	VAESENCLAST Z26, Z0, Z0; \
done:

// SETUP loads the round keys at AX (nr in DX) into Z16-Z30, each
// broadcast to the four lanes, and the byte-reversal mask into Z31; Z12
// becomes the counter blocks of the next four blocks from the counter
// block at BX, byte-reversed (each lane's dword 0 is its counter), and
// Z13 +4 in every lane.
#define SETUP(keysDone) \
	VBROADCASTI32X4 bswapMask<>(SB), Z31; \
	VBROADCASTI32X4 0(AX), Z16; \
	VBROADCASTI32X4 16(AX), Z17; \
	VBROADCASTI32X4 32(AX), Z18; \
	VBROADCASTI32X4 48(AX), Z19; \
	VBROADCASTI32X4 64(AX), Z20; \
	VBROADCASTI32X4 80(AX), Z21; \
	VBROADCASTI32X4 96(AX), Z22; \
	VBROADCASTI32X4 112(AX), Z23; \
	VBROADCASTI32X4 128(AX), Z24; \
	VBROADCASTI32X4 144(AX), Z25; \
	VBROADCASTI32X4 160(AX), Z26; \
	CMPQ DX, $10; \
	JE keysDone; \
	VBROADCASTI32X4 176(AX), Z27; \
	VBROADCASTI32X4 192(AX), Z28; \
	VBROADCASTI32X4 208(AX), Z29; \
	VBROADCASTI32X4 224(AX), Z30; \
keysDone: \
	VBROADCASTI32X4 (BX), Z12; \
	VPSHUFB Z31, Z12, Z12; \
	VPADDD ctrLanes<>(SB), Z12, Z12; \
	VBROADCASTI32X4 ctrFour<>(SB), Z13

// NEXTCTR4 puts the next 16 counter blocks into Z0-Z3.
#define NEXTCTR4 \
	VPSHUFB Z31, Z12, Z0; \
	VPADDD Z13, Z12, Z12; \
	VPSHUFB Z31, Z12, Z1; \
	VPADDD Z13, Z12, Z12; \
	VPSHUFB Z31, Z12, Z2; \
	VPADDD Z13, Z12, Z12; \
	VPSHUFB Z31, Z12, Z3; \
	VPADDD Z13, Z12, Z12

// XORSTORE4 XORs the key stream in Z0-Z3 with src at the offsets (SI)
// and stores the result at the same offsets of dst (DI).
#define XORSTORE4(a, b, c, d) \
	VPXORQ a(SI), Z0, Z0; \
	VPXORQ b(SI), Z1, Z1; \
	VPXORQ c(SI), Z2, Z2; \
	VPXORQ d(SI), Z3, Z3; \
	VMOVDQU64 Z0, a(DI); \
	VMOVDQU64 Z1, b(DI); \
	VMOVDQU64 Z2, c(DI); \
	VMOVDQU64 Z3, d(DI)

// func ctr(rk *[15][16]byte, nr int, block *[16]byte, dst, src *byte, n int)
// XORs n bytes of src with the key stream starting at counter block
// *block (its last four bytes a big-endian counter, incremented mod 2^32
// per block) into dst; n is a multiple of 64. dst may equal src.
TEXT ·ctr(SB), NOSPLIT, $0-48
	MOVQ rk+0(FP), AX
	MOVQ nr+8(FP), DX
	MOVQ block+16(FP), BX
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ n+40(FP), CX
	SETUP(ctrKeysDone)
	CMPQ CX, $256
	JB ctr4
ctr16:
	NEXTCTR4
	AESROUNDS4(ctr16last, ctr16done)
	XORSTORE4(0, 64, 128, 192)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE ctr16
ctr4:
	TESTQ CX, CX
	JZ ctrDone
	VPSHUFB Z31, Z12, Z0
	VPADDD Z13, Z12, Z12
	AESROUNDS1(ctr4last, ctr4done)
	VPXORQ 0(SI), Z0, Z0
	VMOVDQU64 Z0, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $64, CX
	JMP ctr4
ctrDone:
	VZEROUPPER
	RET

// func sealBulk(rk *[15][16]byte, nr int, block *[16]byte, htab *[32][16]byte, acc *[16]byte, dst, src *byte, n int)
// Encrypts n bytes (a multiple of 512) as ctr does and absorbs the
// ciphertext into acc as ghash does, in one pass over 32 blocks at a time:
// they are hashed with the powers H^32..H^1 and reduced once, and that
// one dependency chain per 512 bytes (the accumulator's) overlaps the
// encryption of the next 32 blocks.
TEXT ·sealBulk(SB), NOSPLIT, $0-64
	MOVQ rk+0(FP), AX
	MOVQ nr+8(FP), DX
	MOVQ block+16(FP), BX
	MOVQ dst+40(FP), DI
	MOVQ src+48(FP), SI
	MOVQ n+56(FP), CX
	VMOVDQU gcmPoly<>(SB), X15
	SETUP(sealKeysDone)
	MOVQ htab+24(FP), BX
	MOVQ acc+32(FP), R8
	VMOVDQU (R8), X11
seal32:
	NEXTCTR4
	AESROUNDS4(sealAlast, sealAdone)
	XORSTORE4(0, 64, 128, 192)
	NEXTCTR4
	AESROUNDS4(sealBlast, sealBdone)
	XORSTORE4(256, 320, 384, 448)
	// Hash the 32 blocks just written.
	VMOVDQU64 0(DI), Z0
	VPSHUFB Z31, Z0, Z0
	VPXORQ Z11, Z0, Z0 // the accumulator joins the first block
	VPCLMULQDQ $0x00, 0(BX), Z0, Z8
	VPCLMULQDQ $0x11, 0(BX), Z0, Z9
	VPCLMULQDQ $0x01, 0(BX), Z0, Z10
	VPCLMULQDQ $0x10, 0(BX), Z0, Z4
	VPXORQ Z4, Z10, Z10
	HASHM(64)
	HASHM(128)
	HASHM(192)
	HASHM(256)
	HASHM(320)
	HASHM(384)
	HASHM(448)
	FINISH(X11)
	ADDQ $512, SI
	ADDQ $512, DI
	SUBQ $512, CX
	JNZ seal32
	VMOVDQU X11, (R8)
	VZEROUPPER
	RET
