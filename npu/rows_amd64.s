//go:build !purego

#include "textflag.h"

// The row kernels are addUniformRows for tables without padding: for
// every fired source s below srcN, the value row[s] is added to the sums of
// the targets tgt[start[s]:start[s+1]], in order; the Mark kernels also set
// each target's bit in cand. The Go loop's speed moves with where the
// linker happens to place it (its inner loop may straddle a 64-byte
// boundary: about a third slower), and its marking variant spills to the
// stack on every synaptic event; here the inner loop is aligned. Tables
// are built by the engine, so every target and offset is in range; only
// the fired indices are checked. The float add keeps the compiled Go
// loop's operand order (acc + v), so NaNs come out the same
// (TestRowKernels compares the bits). Every kernel is one loop, ROWS,
// over a group of additions: one slot of 16-bit targets (LOAD16) or 32-bit
// ones (LOAD32, the W kernels), or 4 or 8 slots of a padded row; all take
// the same arguments (ARGS).

#define LOAD16 MOVWLZX (DX)(BX*2), R12
#define LOAD32 MOVL (DX)(BX*4), R12

// ARGS loads the arguments of a kernel (60 bytes; only the Mark kernels
// use cand).
#define ARGS \
	MOVQ acc+0(FP), DI; \
	MOVQ cand+8(FP), R15; \
	MOVQ start+16(FP), SI; \
	MOVQ tgt+24(FP), DX; \
	MOVQ row+32(FP), R8; \
	MOVQ fired+40(FP), R9; \
	MOVQ n+48(FP), CX; \
	MOVL srcN+56(FP), R10

// ROWS(VALUE, GROUP, W) walks the fired rows: VALUE loads row[s] (s in
// AX), and GROUP adds the value to the sums of the W targets from slot BX
// on (each loaded into R12); W is 1 for unpadded rows, the width for
// padded ones.
#define ROWS(VALUE, GROUP, W) \
	TESTQ CX, CX; \
	JLE done; \
outer: \
	MOVL (R9), AX; \
	ADDQ $4, R9; \
	CMPL AX, R10; \
	JAE next; \
	VALUE; \
	MOVL (SI)(AX*4), BX; \
	MOVL 4(SI)(AX*4), R11; \
	CMPL BX, R11; \
	JAE next; \
	PCALIGN $32; \
inner: \
	GROUP; \
	ADDL $W, BX; \
	CMPL BX, R11; \
	JB inner; \
next: \
	DECQ CX; \
	JNZ outer; \
done: \
	RET

#define VALUE_F32 MOVSS (R8)(AX*4), X0
#define VALUE_I32 MOVL (R8)(AX*4), R13
#define ADD_F32 MOVSS (DI)(R12*4), X1; ADDSS X0, X1; MOVSS X1, (DI)(R12*4)
#define ADD_I32 ADDL R13, (DI)(R12*4)
// MARK sets bit R12 of the bitmap at R15 (AX is free inside a row).
#define MARK MOVQ R12, AX; SHRQ $6, AX; MOVQ (R15)(AX*8), R14; BTSQ R12, R14; MOVQ R14, (R15)(AX*8)

// func rowsF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·rowsF32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, LOAD16; ADD_F32, 1)

// func rowsMarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·rowsMarkF32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, LOAD16; ADD_F32; MARK, 1)

// func rowsI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·rowsI32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, LOAD16; ADD_I32, 1)

// func rowsMarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·rowsMarkI32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, LOAD16; ADD_I32; MARK, 1)

// func rowsF32W(acc *float32, cand *uint64, start *uint32, tgt *uint32, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·rowsF32W(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, LOAD32; ADD_F32, 1)

// func rowsMarkF32W(acc *float32, cand *uint64, start *uint32, tgt *uint32, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·rowsMarkF32W(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, LOAD32; ADD_F32; MARK, 1)

// func rowsI32W(acc *int32, cand *uint64, start *uint32, tgt *uint32, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·rowsI32W(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, LOAD32; ADD_I32, 1)

// func rowsMarkI32W(acc *int32, cand *uint64, start *uint32, tgt *uint32, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·rowsMarkI32W(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, LOAD32; ADD_I32; MARK, 1)

// The padded kernels are addPaddedRows: every row of a padded table holds
// a multiple of the width (4 or 8) slots of 16-bit targets, walked a group
// at a time, fully unrolled (the compiled loop reloads spilled registers
// between the additions).

// PSLOT(OFF, ADD) adds to the target at byte offset OFF of the group.
#define PSLOT(OFF, ADD) MOVWLZX OFF(DX)(BX*2), R12; ADD
#define GROUP4(ADD) PSLOT(0, ADD); PSLOT(2, ADD); PSLOT(4, ADD); PSLOT(6, ADD)
#define GROUP8(ADD) GROUP4(ADD); PSLOT(8, ADD); PSLOT(10, ADD); PSLOT(12, ADD); PSLOT(14, ADD)

// func padded4F32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·padded4F32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, GROUP4(ADD_F32), 4)

// func padded8F32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·padded8F32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, GROUP8(ADD_F32), 8)

// func padded4MarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·padded4MarkF32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, GROUP4(ADD_F32; MARK), 4)

// func padded8MarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)
TEXT ·padded8MarkF32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_F32, GROUP8(ADD_F32; MARK), 8)

// func padded4I32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·padded4I32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, GROUP4(ADD_I32), 4)

// func padded8I32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·padded8I32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, GROUP8(ADD_I32), 8)

// func padded4MarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·padded4MarkI32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, GROUP4(ADD_I32; MARK), 4)

// func padded8MarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
TEXT ·padded8MarkI32(SB), NOSPLIT, $0-60
	ARGS
	ROWS(VALUE_I32, GROUP8(ADD_I32; MARK), 8)
