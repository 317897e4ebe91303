//go:build !amd64 || purego

package npu

// haveKernels is false: no assembly kernels in this build.
const haveKernels = false

func simpleKernel32(acc *float32, st *uint32, mp *float32, k *kernel32, fired *uint32, pot *float32, lo uint32) int {
	panic("npu: simpleKernel32 without a kernel")
}

func simpleKernel8(acc *int32, st *uint32, k *kernel8, d uint32, fired *uint32, potF *int32, lo uint32) int {
	panic("npu: simpleKernel8 without a kernel")
}

func limitedKernel(st *uint32, k *limitedK, ps uint32, fired *uint32, lo uint32) int {
	panic("npu: limitedKernel without a kernel")
}

// haveRowKernels is false: delivery runs the Go loops.
const haveRowKernels = false

func rowsF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsF32 without a kernel")
}

func rowsMarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsMarkF32 without a kernel")
}

func rowsI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsI32 without a kernel")
}

func rowsMarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsMarkI32 without a kernel")
}

func rowsF32W(acc *float32, cand *uint64, start *uint32, tgt *uint32, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsF32W without a kernel")
}

func rowsMarkF32W(acc *float32, cand *uint64, start *uint32, tgt *uint32, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsMarkF32W without a kernel")
}

func rowsI32W(acc *int32, cand *uint64, start *uint32, tgt *uint32, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsI32W without a kernel")
}

func rowsMarkI32W(acc *int32, cand *uint64, start *uint32, tgt *uint32, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: rowsMarkI32W without a kernel")
}

func padded4F32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded4F32 without a kernel")
}

func padded4MarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded4MarkF32 without a kernel")
}

func padded4I32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded4I32 without a kernel")
}

func padded4MarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded4MarkI32 without a kernel")
}

func padded8F32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded8F32 without a kernel")
}

func padded8MarkF32(acc *float32, cand *uint64, start *uint32, tgt *uint16, row *float32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded8MarkF32 without a kernel")
}

func padded8I32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded8I32 without a kernel")
}

func padded8MarkI32(acc *int32, cand *uint64, start *uint32, tgt *uint16, row *int32, fired *uint32, n int, srcN uint32) {
	panic("npu: padded8MarkI32 without a kernel")
}
