package quant

import (
	"fmt"
	"strings"
)

// Precision is the value type of an area's neuron state.
type Precision uint8

const (
	// FP32 stores membrane potentials as float32. It is the default.
	FP32 Precision = iota
	// INT8 stores membrane potentials as 8-bit fixed-point integers with one
	// quantizer (scale, zero point) per area (docs/semantics.md §4.2).
	INT8
)

// String returns the canonical name: "fp32" or "int8".
func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case INT8:
		return "int8"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision reads a precision name (docs/semantics.md §4.1). "" means absent and gives
// FP32. fp32/float32/f32 give FP32, int8/i8 give INT8 (case-insensitive).
// fp16/float16/f16 give FP32 and a non-empty warning, since no 16-bit type
// exists yet. Anything else is an error naming the value.
func ParsePrecision(s string) (p Precision, warning string, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "fp32", "float32", "f32":
		return FP32, "", nil
	case "int8", "i8":
		return INT8, "", nil
	case "fp16", "float16", "f16":
		return FP32, fmt.Sprintf("precision %s runs as fp32 (no 16-bit type yet)", s), nil
	}
	return FP32, "", fmt.Errorf("quant: unknown precision %q (want fp32, int8 or fp16)", s)
}
