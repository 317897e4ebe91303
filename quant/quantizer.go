package quant

import (
	"fmt"
	"math"
)

// FineBits is the number of fractional bits of the fine unit in which int8
// inputs are summed: one fine unit is Scale/2^FineBits.
const FineBits = 8

// KeepBits is the number of fractional bits of a leak keep factor (Q15).
const KeepBits = 15

// Code limits of an int8 potential.
const (
	MinCode = math.MinInt8
	MaxCode = math.MaxInt8
)

// Quantizer maps real potentials to int8 codes: real = (q − Zero) · Scale.
// The zero value is not valid; build one with NewQuantizer.
type Quantizer struct {
	Scale float32 // real value of one code step (> 0)
	Zero  int8    // code of the real value 0
	// Num/Den is the exact step of a lattice quantizer (NewLatticeQuantizer),
	// Scale its float32 rounding; Den is 0 for NewQuantizer's quantizers.
	Num, Den int64
}

// NewQuantizer chooses the quantizer of one area. threshold is the area's
// firing threshold (at voxel 0,0,0); top is the largest potential whose exact
// value still matters (the highest threshold, or the threshold limit when the
// area has one); bottom (≤ 0) is the most negative potential that needs
// resolution (0 when the area receives no inhibitory input).
//
// The codes −128…127 cover [bottom, top] with 0 exactly representable, and
// when threshold > 0 the step is threshold/k for a whole k, so the threshold
// is an exact code. Degenerate or non-finite inputs fall back to [0, 1].
func NewQuantizer(threshold, top, bottom float32) Quantizer {
	t, hi, lo := float64(threshold), float64(top), float64(bottom)
	if !finite(t) {
		t = 0
	}
	if !finite(hi) {
		hi = 0
	}
	if !finite(lo) {
		lo = 0
	}
	hi = math.Max(math.Max(hi, t), 0)
	lo = math.Min(lo, 0)
	if hi-lo <= 0 || hi-lo > math.MaxFloat32/2 {
		hi, lo = 1, 0
	}
	s := (hi - lo) / 255
	if t > 0 {
		if k := math.Floor(t / s); k >= 1 {
			// The threshold is the code p steps above zero, with p the largest
			// power of two not above k: binary fractions of the threshold (t/2,
			// t/4, ...) are then exact codes, which keeps inputs written as
			// such fractions exact (they are common in genomes and input
			// schedules). The scale is at most twice the finest possible. Keep
			// a step of slack so that rounding the zero point up below still
			// leaves [lo, hi] covered.
			p := math.Exp2(math.Floor(math.Log2(k)))
			if (hi-lo)/(t/p) > 254 && p >= 2 {
				p /= 2
			}
			s = t / p
		}
	}
	// Round the zero point up so that bottom stays inside the code range.
	zero := math.Ceil(-lo/s-1e-9) + MinCode
	zero = math.Max(MinCode, math.Min(MaxCode, zero))
	return Quantizer{Scale: float32(s), Zero: int8(zero)}
}

// Validate reports whether q can be used.
func (q Quantizer) Validate() error {
	if !(q.Scale > 0) || math.IsInf(float64(q.Scale), 0) {
		return fmt.Errorf("quant: quantizer scale %v is not a positive finite number", q.Scale)
	}
	if q.Den < 0 || q.Den > 0 && (q.Num <= 0 || q.Num >= maxLatticeNum || q.Den >= maxLatticeDen) {
		return fmt.Errorf("quant: lattice step %d/%d is not a positive fraction within bounds", q.Num, q.Den)
	}
	return nil
}

// String describes q.
func (q Quantizer) String() string {
	if q.Exact() {
		return q.latticeString()
	}
	return fmt.Sprintf("int8{scale=%g zero=%d range=[%g, %g]}", q.Scale, q.Zero, q.Decode(MinCode), q.Decode(MaxCode))
}

// Encode converts a real potential to its code: round half away from zero,
// saturating at −128 and 127 (NaN encodes as Zero).
func (q Quantizer) Encode(v float32) int8 {
	r := roundAway(q.steps(v)) + float64(q.Zero)
	if r != r {
		return q.Zero
	}
	return int8(math.Max(MinCode, math.Min(MaxCode, r)))
}

// Decode converts a code to its real potential.
func (q Quantizer) Decode(c int8) float32 {
	if q.Exact() {
		return float32(float64(int32(c)-int32(q.Zero)) * float64(q.Num) / float64(q.Den))
	}
	return float32(float64(int32(c)-int32(q.Zero)) * float64(q.Scale))
}

// steps is v in steps: v/Scale, or v·Den/Num for a lattice quantizer (the
// product is exact in float64, the division correctly rounded).
func (q Quantizer) steps(v float32) float64 {
	if q.Exact() {
		return float64(v) * float64(q.Den) / float64(q.Num)
	}
	return float64(v) / float64(q.Scale)
}

// EncodeFine converts a real value to fine units (Scale/2^FineBits), round
// half away from zero, saturating at the int32 limits (NaN gives 0).
func (q Quantizer) EncodeFine(v float32) int32 {
	r := roundAway(q.steps(v) * (1 << FineBits))
	if r != r {
		return 0
	}
	return int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, r)))
}

// DecodeFine converts a fine value to a real value: f32(x) · (Scale/256),
// two float32 roundings (the division by 256 is exact); for a lattice
// quantizer x·Num/(Den·256) rounded once to float32, so that an exact sum
// decodes to the float32 nearest its exact value.
func (q Quantizer) DecodeFine(x int32) float32 {
	if q.Exact() {
		return float32(float64(x) * float64(q.Num) / float64(q.Den<<FineBits))
	}
	return float32(x) * (q.Scale / (1 << FineBits))
}

// FineOf returns the fine value of code c relative to the zero point:
// (c − Zero)·2^FineBits.
func (q Quantizer) FineOf(c int8) int32 {
	return (int32(c) - int32(q.Zero)) << FineBits
}

// FineRange returns the fine values of the lowest and highest codes.
func (q Quantizer) FineRange() (lo, hi int32) {
	return q.FineOf(MinCode), q.FineOf(MaxCode)
}

// Store converts a fine value x to a code, rounding with dither d (the low
// FineBits bits of d are used; see Dither) and saturating.
func (q Quantizer) Store(x int32, d uint32) int8 {
	c := (int64(x)+int64(d&(1<<FineBits-1)))>>FineBits + int64(q.Zero)
	return int8(min(max(c, MinCode), MaxCode))
}

// StoreLeak is the store of the int8 update loop: it saturates the fine
// value x to the code range (as FEAGI saturates the integrated potential when
// it stores it), multiplies it by the Q15 factor k ∈ [0, 2^15] (the leak keep
// factor, or 2^15 to store without leak), and rounds with dither d (its low
// FineBits+KeepBits bits) to a code. Everything is int32: the saturated value
// is below 2^16 in magnitude, so the product and dither fit.
func (q Quantizer) StoreLeak(x, k int32, d uint32) int8 {
	lo, hi := q.FineRange()
	return q.StoreLeakSat(min(max(x, lo), hi), k, d)
}

// StoreLeakSat is StoreLeak for x already saturated to FineRange (loops hoist
// the range).
func (q Quantizer) StoreLeakSat(x, k int32, d uint32) int8 {
	return int8((x*k+int32(d&(1<<(FineBits+KeepBits)-1)))>>(FineBits+KeepBits) + int32(q.Zero))
}

// KeepQ15 converts a keep factor (1 − leak, in [0, 1]) to Q15, rounding half
// away from zero and clamping to [0, 2^15].
func KeepQ15(keep float32) int32 {
	k := roundAway(float64(keep) * (1 << KeepBits))
	if k != k {
		return 1 << KeepBits
	}
	return int32(math.Max(0, math.Min(1<<KeepBits, k)))
}

// SatAdd returns a + b saturated to the int32 range.
func SatAdd(a, b int32) int32 {
	s := int64(a) + int64(b)
	return int32(min(max(s, math.MinInt32), math.MaxInt32))
}

// Dither returns the rounding dither of neuron id in burst, a pure function
// of both: a Weyl (golden-ratio) sequence over ids, offset by a per-burst
// salt. Its low k bits are equidistributed over any 2^k consecutive ids and
// over the bursts of one neuron, which is what stochastic rounding needs
// (a low-discrepancy sequence rounds with less noise than a random one), and
// it costs one multiply. Dither(id, b) = DitherAt(id, DitherSalt(b)).
func Dither(id uint32, burst uint64) uint32 { return DitherAt(id, DitherSalt(burst)) }

// DitherSalt is the per-burst part of Dither, computed once per burst.
func DitherSalt(burst uint64) uint32 {
	return uint32(burst)*0xB5297A4D ^ uint32(burst>>32)*0x68E31DA4
}

// DitherAt is Dither for the salt of a burst.
func DitherAt(id, salt uint32) uint32 { return id*DitherStep + salt }

// DitherStep is the difference between the dithers of consecutive neuron ids
// (DitherAt), so that a loop over neurons can step the dither.
const DitherStep = 0x9E3779B1

// RoundHalfAway rounds v to the nearest integer, halves away from zero.
func RoundHalfAway(v float32) float32 {
	return float32(roundAway(float64(v)))
}

func roundAway(v float64) float64 { return math.Round(v) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
