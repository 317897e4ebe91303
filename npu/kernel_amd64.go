//go:build !purego

package npu

import "golang.org/x/sys/cpu"

// haveKernels reports whether the assembly kernels run here (AVX2 and
// POPCNT). The build tag purego leaves them out and every area on the Go
// loops.
var haveKernels = cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT

// simpleKernel32 is simpleBlockI32's update of the 64 neurons at acc, st and
// mp with the constants k (kernel_amd64.s). It appends the fired neurons'
// indices (lo + j) and potentials at fired and pot, writing up to 72 entries
// of each, and returns how many fired.
//
//go:noescape
func simpleKernel32(acc *float32, st *uint32, mp *float32, k *kernel32, fired *uint32, pot *float32, lo uint32) int

// simpleKernel8 is simpleBlock8's update of the 64 neurons at acc and st
// with the constants k and the dither d of the first (kernel_amd64.s). It
// appends the fired neurons' indices and fine potentials at fired and potF,
// writing up to 72 entries of each, and returns how many fired.
//
//go:noescape
func simpleKernel8(acc *int32, st *uint32, k *kernel8, d uint32, fired *uint32, potF *int32, lo uint32) int

// limitedKernel is exFlags and limitedBlock for the 64 neurons at st, whose
// first hash state is ps, with the constants k (kernel_amd64.s). It appends
// the fired neurons' indices at fired, writing up to 72 entries, and returns
// how many fired.
//
//go:noescape
func limitedKernel(st *uint32, k *limitedK, ps uint32, fired *uint32, lo uint32) int

// haveRowKernels: the row kernels (rows_amd64.s) use no extension
// beyond amd64's baseline.
const haveRowKernels = true

// rowsF32 is addUniformRows(acc, nil, start, tgt, row, fired, srcN, false)
// for a table of n fired sources and 16-bit targets (rows_amd64.s).
//
//go:noescape
func rowsF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)

// rowsMarkF32 is rowsF32 that also marks the targets in cand.
//
//go:noescape
func rowsMarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)

// rowsI32 is rowsF32 for fine sums.
//
//go:noescape
func rowsI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)

// rowsMarkI32 is rowsI32 that also marks the targets in cand.
//
//go:noescape
func rowsMarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)

// rowsF32W, rowsMarkF32W, rowsI32W and rowsMarkI32W are the row kernels
// for tables of 32-bit targets.
//
//go:noescape
func rowsF32W(acc *float32, cand *uint64, start *uint32, tgt *uint32, row *float32, fired *uint32, n int, srcN uint32)

//go:noescape
func rowsMarkF32W(acc *float32, cand *uint64, start *uint32, tgt *uint32, row *float32, fired *uint32, n int, srcN uint32)

//go:noescape
func rowsI32W(acc *int32, cand *uint64, start *uint32, tgt *uint32, row *int32, fired *uint32, n int, srcN uint32)

//go:noescape
func rowsMarkI32W(acc *int32, cand *uint64, start *uint32, tgt *uint32, row *int32, fired *uint32, n int, srcN uint32)

// The padded kernels are addPaddedRows for widths 4 and 8 (rows_amd64.s).
//
//go:noescape
func padded4F32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded4MarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded4I32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded4MarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded8F32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded8MarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded8I32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)

//go:noescape
func padded8MarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32)
