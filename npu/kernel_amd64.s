//go:build !purego

#include "textflag.h"

// The kernels update one block of 64 neurons of a simple area, eight lanes
// at a time (AVX2), and append the fired ones: for each eight, the lanes that
// fired are moved to the front of a vector (VPERMD with the order from
// k.lut, indexed by the fired bits) and the whole vector is stored at the
// output position, which then advances by the number fired. The stores run
// up to eight entries past the last one kept, so the outputs have room for
// 72 entries. Both return the number fired.

// func simpleKernel32(acc *float32, st *uint32, mp *float32, k *kernel32, fired *uint32, pot *float32, lo uint32) int
//
// The arithmetic is simpleBlockI32's, operation for operation, and where
// both operands of an add are NaNs the kernel keeps the same one as the
// compiled Go loop (TestSimpleBlockI32 compares the bits):
//
//	m    = m0 + acc            (acc ← rv)
//	nwin = (bits(m) − thrB) >u span
//	refr = s >u 0xFFFF
//	st   ← s + (fire ? cdFire : 0) + (refr ? −1<<16 : 0)
//	mp   ← refr ? m0 : (win ? 0 : m·keep)
//	fired ← lo + j, pot ← m for the lanes with fire = win ∧ ¬refr
//
// Unsigned comparisons are signed ones on values with the sign bit flipped
// (the constants arrive flipped).
TEXT ·simpleKernel32(SB), NOSPLIT, $0-64
	MOVQ acc+0(FP), AX
	MOVQ st+8(FP), BX
	MOVQ mp+16(FP), DI
	MOVQ k+24(FP), SI
	MOVQ fired+32(FP), R13
	MOVQ pot+40(FP), R14
	MOVL lo+48(FP), R10
	VMOVD R10, X15
	VPBROADCASTD X15, Y15
	VPADDD 40(SI), Y15, Y15  // lo + lane: the indices of the first eight
	MOVQ 32(SI), R12         // the compress orders
	VBROADCASTSS 0(SI), Y8   // rv
	VPBROADCASTD 4(SI), Y9   // thrB
	VPBROADCASTD 8(SI), Y10  // span ^ 1<<31
	VBROADCASTSS 12(SI), Y11 // keep
	VPBROADCASTD 16(SI), Y12 // cdFire
	VPBROADCASTD 20(SI), Y13 // 1<<31
	VPBROADCASTD 24(SI), Y14 // 0xFFFF ^ 1<<31
	XORQ R10, R10            // fired so far
	XORQ R9, R9              // byte offset

loop32:
	VMOVUPS (DI)(R9*1), Y0     // m0
	VMOVUPS (AX)(R9*1), Y1     // acc
	VADDPS  Y0, Y1, Y1         // m = m0 + acc, acc's NaN kept as the Go loop does
	VMOVUPS Y8, (AX)(R9*1)     // acc ← rv
	VPSUBD  Y9, Y1, Y3
	VPXOR   Y13, Y3, Y3
	VPCMPGTD Y10, Y3, Y3       // nwin
	VMOVDQU (BX)(R9*1), Y2     // s
	VPXOR   Y13, Y2, Y4
	VPCMPGTD Y14, Y4, Y4       // refr
	VPOR    Y3, Y4, Y5         // not fired
	VPANDN  Y12, Y5, Y6        // fire ? cdFire : 0
	VPBROADCASTD 28(SI), Y7    // −1<<16
	VPAND   Y7, Y4, Y7         // refr ? −1<<16 : 0
	VPADDD  Y6, Y2, Y2
	VPADDD  Y7, Y2, Y2
	VMOVDQU Y2, (BX)(R9*1)     // st
	VMULPS  Y11, Y1, Y6        // m·keep
	VPAND   Y3, Y6, Y6         // 0 in the window
	VBLENDVPS Y4, Y0, Y6, Y6   // m0 when refractory
	VMOVUPS Y6, (DI)(R9*1)     // mp
	VMOVMSKPS Y5, R11
	XORQ    $0xFF, R11         // fired bits of the eight
	VPMOVZXBD (R12)(R11*8), Y6 // their lanes, first
	VPERMD  Y15, Y6, Y7
	VMOVDQU Y7, (R13)(R10*4)   // fired indices
	VPERMPS Y1, Y6, Y7
	VMOVUPS Y7, (R14)(R10*4)   // their potentials
	POPCNTQ R11, R11
	ADDQ    R11, R10
	VPBROADCASTD 72(SI), Y7    // 8
	VPADDD  Y7, Y15, Y15       // the next eight indices
	ADDQ    $32, R9
	CMPQ    R9, $256
	JB      loop32

	VZEROUPPER
	MOVQ R10, ret+56(FP)
	RET

// func simpleKernel8(acc *int32, st *uint32, k *kernel8, d uint32, fired *uint32, potF *int32, lo uint32) int
//
// simpleBlock8's update in the same int32 arithmetic (wrapping multiply
// included):
//
//	y   = acc + int32(w & 0xFF000000) >> 16      (acc ← rv)
//	s   = w & 0xFFFFFF
//	t   = y·keep + (d_j & dmask) + k0            (d_j = d + j·DitherStep)
//	st  ← s > 0xFFFF ? w − 1<<16 : (y ≥ thrY ? s + fireAdd : s | (t<<1 & 0xFF000000))
//	fired ← lo + j, potF ← y − zero8 for y ≥ thrY and not refractory
TEXT ·simpleKernel8(SB), NOSPLIT, $0-64
	MOVQ acc+0(FP), AX
	MOVQ st+8(FP), BX
	MOVQ k+16(FP), SI
	MOVQ fired+32(FP), R13
	MOVQ potF+40(FP), R14
	MOVL d+24(FP), R10
	VMOVD R10, X0
	VPBROADCASTD X0, Y0
	VPADDD 48(SI), Y0, Y0     // d_j of the first eight
	MOVL lo+48(FP), R10
	VMOVD R10, X14
	VPBROADCASTD X14, Y14
	VPADDD 88(SI), Y14, Y14   // lo + lane: the indices of the first eight
	MOVQ 80(SI), R12          // the compress orders
	VPBROADCASTD 0(SI), Y8    // rv
	VPBROADCASTD 4(SI), Y9    // thrY
	VPBROADCASTD 8(SI), Y10   // keep
	VPBROADCASTD 12(SI), Y11  // k0
	VPBROADCASTD 16(SI), Y12  // fireAdd
	VPBROADCASTD 20(SI), Y13  // dmask
	VPBROADCASTD 28(SI), Y15  // 0xFFFFFF
	XORQ R10, R10             // fired so far
	XORQ R9, R9               // byte offset

loop8:
	VMOVDQU (BX)(R9*1), Y1    // w
	VPBROADCASTD 32(SI), Y7   // 0xFF000000
	VPAND   Y7, Y1, Y2
	VPSRAD  $16, Y2, Y2
	VPADDD  (AX)(R9*1), Y2, Y2 // y = acc + code·256
	VMOVDQU Y8, (AX)(R9*1)    // acc ← rv
	VPAND   Y15, Y1, Y3       // s
	VPMULLD Y10, Y2, Y4       // y·keep
	VPAND   Y13, Y0, Y5
	VPADDD  Y5, Y4, Y4
	VPADDD  Y11, Y4, Y4       // t
	VPBROADCASTD 24(SI), Y5   // eight dither steps
	VPADDD  Y5, Y0, Y0        // the next eight dithers
	VPSLLD  $1, Y4, Y4
	VPAND   Y7, Y4, Y4
	VPOR    Y3, Y4, Y4        // leaked state
	VPADDD  Y12, Y3, Y5       // fired state
	VPCMPGTD Y2, Y9, Y6       // not in the window: thrY > y
	VBLENDVPS Y6, Y4, Y5, Y4  // window ? fired : leaked
	VPBROADCASTD 36(SI), Y7   // 0xFFFF
	VPCMPGTD Y7, Y3, Y7       // refractory: s > 0xFFFF
	VPBROADCASTD 40(SI), Y5   // −1<<16
	VPADDD  Y5, Y1, Y5        // w − 1<<16
	VBLENDVPS Y7, Y5, Y4, Y4  // refractory ? counted down : …
	VMOVDQU Y4, (BX)(R9*1)
	VPOR    Y6, Y7, Y6        // not fired
	VMOVMSKPS Y6, R11
	XORQ    $0xFF, R11        // fired bits of the eight
	VPMOVZXBD (R12)(R11*8), Y6 // their lanes, first
	VPERMD  Y14, Y6, Y7
	VMOVDQU Y7, (R13)(R10*4)  // fired indices
	VPBROADCASTD 44(SI), Y5   // zero8
	VPSUBD  Y5, Y2, Y5        // fine potential
	VPERMD  Y5, Y6, Y7
	VMOVDQU Y7, (R14)(R10*4)
	POPCNTQ R11, R11
	ADDQ    R11, R10
	VPBROADCASTD 120(SI), Y7  // 8
	VPADDD  Y7, Y14, Y14      // the next eight indices
	ADDQ    $32, R9
	CMPQ    R9, $256
	JB      loop8

	VZEROUPPER
	MOVQ R10, ret+56(FP)
	RET

// func limitedKernel(st *uint32, k *limitedK, ps uint32, fired *uint32, lo uint32) int
//
// exFlags and limitedBlock of driveOnlyLimited for 64 neurons, eight lanes
// at a time, in the same uint32 arithmetic:
//
//	h    = pcgOut(ps_j)                  (ps_j = ps + j·pcgIDStep)
//	ex   = h ≤u cut−1
//	s    = st & 0xFFFFFF
//	r    = s − 1<<16, 0 when r − limit <u span
//	fire = s < limit ∧ ex
//	st   ← (s > 0xFFFF ? r : (fire ? s + (s+1 ≥ limit ? fireSnA : fireA) : 0)) | zeroTop
//	fired ← lo + j for the lanes that fire
TEXT ·limitedKernel(SB), NOSPLIT, $0-48
	MOVQ st+0(FP), BX
	MOVQ k+8(FP), SI
	MOVQ fired+24(FP), R13
	MOVL ps+16(FP), R10
	VMOVD R10, X0
	VPBROADCASTD X0, Y0
	VPADDD 64(SI), Y0, Y0     // the hash states of the first eight
	MOVL lo+32(FP), R10
	VMOVD R10, X15
	VPBROADCASTD X15, Y15
	VPADDD 104(SI), Y15, Y15  // lo + lane
	MOVQ 96(SI), R12          // the compress orders
	VPBROADCASTD 4(SI), Y13   // 1<<31
	VPBROADCASTD 20(SI), Y14  // 0xFFFFFF
	VPBROADCASTD 24(SI), Y12  // limit
	VPBROADCASTD 48(SI), Y11  // −1<<16
	VPBROADCASTD 32(SI), Y10  // span ^ 1<<31
	XORQ R10, R10             // fired so far
	XORQ R9, R9               // byte offset

loopL:
	// h = pcgOut(state)
	VPSRLD  $28, Y0, Y1
	VPBROADCASTD 16(SI), Y2   // 4
	VPADDD  Y2, Y1, Y1
	VPSRLVD Y1, Y0, Y1
	VPXOR   Y0, Y1, Y1
	VPBROADCASTD 12(SI), Y2   // 277803737
	VPMULLD Y2, Y1, Y1
	VPSRLD  $22, Y1, Y2
	VPXOR   Y1, Y2, Y1
	VPXOR   Y13, Y1, Y1
	VPBROADCASTD 0(SI), Y2    // (cut − 1) ^ 1<<31
	VPCMPGTD Y2, Y1, Y1       // not excited: h >u cut − 1
	// the state
	VMOVDQU (BX)(R9*1), Y2
	VPAND   Y14, Y2, Y2       // s
	VPADDD  Y11, Y2, Y4       // r = s − 1<<16
	VPSUBD  Y12, Y4, Y6
	VPXOR   Y13, Y6, Y6
	VPCMPGTD Y6, Y10, Y6      // r − limit <u span
	VPANDN  Y4, Y6, Y4        // … then r = 0
	VPBROADCASTD 28(SI), Y7   // limit − 2
	VPCMPGTD Y7, Y2, Y7       // s + 1 ≥ limit
	VPBROADCASTD 36(SI), Y8   // fireA
	VPBROADCASTD 40(SI), Y9   // fireSnA
	VBLENDVPS Y7, Y9, Y8, Y8
	VPADDD  Y8, Y2, Y8        // s + add
	VPCMPGTD Y2, Y12, Y5      // limit > s
	VPANDN  Y5, Y1, Y5        // fire
	VPAND   Y5, Y8, Y8        // fired state, or 0
	VPBROADCASTD 44(SI), Y7   // 0xFFFF
	VPCMPGTD Y7, Y2, Y7       // refractory: s > 0xFFFF
	VBLENDVPS Y7, Y4, Y8, Y8
	VPBROADCASTD 52(SI), Y7   // zeroTop
	VPOR    Y7, Y8, Y8
	VMOVDQU Y8, (BX)(R9*1)
	VMOVMSKPS Y5, R11         // fired bits of the eight
	VPMOVZXBD (R12)(R11*8), Y6
	VPERMD  Y15, Y6, Y7
	VMOVDQU Y7, (R13)(R10*4)
	POPCNTQ R11, R11
	ADDQ    R11, R10
	VPBROADCASTD 56(SI), Y7   // 8
	VPADDD  Y7, Y15, Y15
	VPBROADCASTD 8(SI), Y7    // eight hash steps
	VPADDD  Y7, Y0, Y0
	ADDQ    $32, R9
	CMPQ    R9, $256
	JB      loopL

	VZEROUPPER
	MOVQ R10, ret+40(FP)
	RET
