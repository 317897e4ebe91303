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
