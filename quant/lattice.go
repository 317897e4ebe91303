package quant

import (
	"fmt"
	"math"
	"math/big"
)

// Lattice bounds: a step's numerator and denominator stay below these, so
// that EncodeFine's float64 products are exact and fine values fit int32.
const (
	maxLatticeDen = 1 << 24
	maxLatticeNum = 1 << 31
	// MaxLatticeCodesNoStore bounds top/step for an area that stores no
	// potential (no charge accumulation): its sums are int32 fine values only.
	MaxLatticeCodesNoStore = 1 << 16
)

// Lattice collects the exact values an area's potential is built from and
// yields their greatest common divisor, the step of a lattice quantizer
// (NewLatticeQuantizer). The zero value is an empty lattice.
type Lattice struct {
	g   *big.Rat // gcd so far; nil when empty
	bad bool     // a value could not be read exactly
}

// Add adds the value |num|/den (den > 0); 0 adds nothing.
func (l *Lattice) Add(num, den int64) {
	if den <= 0 {
		l.bad = true
		return
	}
	if num == 0 {
		return
	}
	l.addRat(new(big.Rat).SetFrac64(absInt64(num), den))
}

// AddFloat32 adds |v| read exactly (a float32 is a binary fraction). A
// non-finite v makes the lattice unusable.
func (l *Lattice) AddFloat32(v float32) {
	if v == 0 {
		return
	}
	if !finite(float64(v)) {
		l.bad = true
		return
	}
	r := new(big.Rat)
	r.SetFloat64(math.Abs(float64(v)))
	l.addRat(r)
}

func (l *Lattice) addRat(r *big.Rat) {
	if l.g == nil {
		l.g = r
		return
	}
	// gcd(a/b, c/d) = gcd(a·d, c·b) / (b·d), for fractions in lowest terms.
	a, b, c, d := l.g.Num(), l.g.Denom(), r.Num(), r.Denom()
	n := new(big.Int).GCD(nil, nil, new(big.Int).Mul(a, d), new(big.Int).Mul(c, b))
	l.g = new(big.Rat).SetFrac(n, new(big.Int).Mul(b, d))
}

// Step returns the greatest common divisor of the values added, num/den in
// lowest terms. ok is false when nothing non-zero was added, a value was
// unusable, or the step needs a numerator or denominator beyond the bounds
// the fixed-point arithmetic can carry exactly.
func (l *Lattice) Step() (num, den int64, ok bool) {
	if l.bad || l.g == nil || l.g.Sign() <= 0 {
		return 0, 0, false
	}
	n, d := l.g.Num(), l.g.Denom()
	if !n.IsInt64() || !d.IsInt64() || n.Int64() >= maxLatticeNum || d.Int64() >= maxLatticeDen {
		return 0, 0, false
	}
	return n.Int64(), d.Int64(), true
}

// LatticeCodes returns ⌈max(top, 0)/(num/den)⌉, the number of steps above 0
// the value top needs, exactly (saturated at MaxInt32).
func LatticeCodes(top float32, num, den int64) int64 {
	if !(top > 0) || num <= 0 || den <= 0 {
		return 0
	}
	r := new(big.Rat).SetFloat64(float64(top))
	r.Mul(r, new(big.Rat).SetFrac64(den, num))
	c := ceilRat(r)
	if !c.IsInt64() || c.Int64() > math.MaxInt32 {
		return math.MaxInt32
	}
	return c.Int64()
}

// NewLatticeQuantizer builds the quantizer of an area whose potential is made
// of multiples of the step num/den (Lattice.Step). Sums and stores of such
// multiples are exact. top is the largest threshold or limit; the codes from
// the zero point up to top are reserved, and the spare codes of the 256 go
// below 0 when below is set (the area receives inhibition), above top when
// above is set (a neuron can hold a potential at or above its threshold
// without firing), half each when both are. An area that stores no potential
// (store false) only needs its fine sums to fit. ok is false when top does
// not fit: then the caller keeps NewQuantizer.
func NewLatticeQuantizer(num, den int64, top float32, below, above, store bool) (q Quantizer, ok bool) {
	if num <= 0 || den <= 0 || num >= maxLatticeNum || den >= maxLatticeDen {
		return Quantizer{}, false
	}
	codes := LatticeCodes(top, num, den)
	lowest := int64(MinCode)
	if store {
		if codes > MaxCode-MinCode {
			return Quantizer{}, false
		}
		spare := int64(MaxCode-MinCode) - codes
		switch {
		case below && above:
			lowest += spare / 2
		case below:
			lowest += spare
		}
	} else if codes > MaxLatticeCodesNoStore {
		return Quantizer{}, false
	}
	q = Quantizer{Scale: float32(float64(num) / float64(den)), Zero: int8(lowest), Num: num, Den: den}
	if q.Validate() != nil {
		return Quantizer{}, false
	}
	return q, true
}

// Exact reports whether q is a lattice quantizer (NewLatticeQuantizer).
func (q Quantizer) Exact() bool { return q.Den > 0 }

// ThresholdFine is the fine value a sum must reach to reach v: for a lattice
// quantizer the smallest fine x with x·(step/2^FineBits) ≥ v exactly, so that
// comparing exact lattice sums with it is comparing them with v; otherwise
// EncodeFine(v) (NewQuantizer makes the threshold an exact code).
func (q Quantizer) ThresholdFine(v float32) int32 {
	if !q.Exact() {
		return q.EncodeFine(v)
	}
	return clampInt32(ceilRat(q.fineRat(v)))
}

// LimitFine is the largest fine value not above v (a threshold limit): for a
// lattice quantizer ⌊v/(step/2^FineBits)⌋ exactly; otherwise EncodeFine(v).
func (q Quantizer) LimitFine(v float32) int32 {
	if !q.Exact() {
		return q.EncodeFine(v)
	}
	r := q.fineRat(v)
	f := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
	if r.Sign() < 0 && !r.IsInt() {
		f.Sub(f, big.NewInt(1))
	}
	return clampInt32(f)
}

// FineOfRat is the fine value of num/den for a lattice quantizer when it is a
// whole number of fine units within int32 (ok), as every value the lattice
// was built from is.
func (q Quantizer) FineOfRat(num, den int64) (x int32, ok bool) {
	if !q.Exact() || den <= 0 {
		return 0, false
	}
	r := new(big.Rat).SetFrac64(num, den)
	r.Mul(r, new(big.Rat).SetFrac64(q.Den<<FineBits, q.Num))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	v := r.Num().Int64()
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// fineRat is v/(step/2^FineBits) exactly.
func (q Quantizer) fineRat(v float32) *big.Rat {
	r := new(big.Rat)
	if finite(float64(v)) {
		r.SetFloat64(float64(v))
	}
	return r.Mul(r, new(big.Rat).SetFrac64(q.Den<<FineBits, q.Num))
}

func ceilRat(r *big.Rat) *big.Int {
	f := new(big.Int).Quo(r.Num(), r.Denom())
	if r.Sign() > 0 && !r.IsInt() {
		f.Add(f, big.NewInt(1))
	}
	return f
}

func clampInt32(v *big.Int) int32 {
	switch {
	case v.Cmp(big.NewInt(math.MaxInt32)) > 0:
		return math.MaxInt32
	case v.Cmp(big.NewInt(math.MinInt32)) < 0:
		return math.MinInt32
	}
	return int32(v.Int64())
}

func absInt64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func (q Quantizer) latticeString() string {
	return fmt.Sprintf("int8{step=%d/%d zero=%d range=[%g, %g]}", q.Num, q.Den, q.Zero, q.Decode(MinCode), q.Decode(MaxCode))
}
