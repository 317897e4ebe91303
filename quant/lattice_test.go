package quant

import (
	"math"
	"testing"
)

func TestLatticeStep(t *testing.T) {
	for _, c := range []struct {
		vals     [][2]int64
		num, den int64
		ok       bool
	}{
		{[][2]int64{{1, 7}}, 1, 7, true},
		{[][2]int64{{1, 7}, {-3, 7}}, 1, 7, true},
		{[][2]int64{{1, 7}, {1, 3}}, 1, 21, true},
		{[][2]int64{{3, 1}, {40, 2}}, 1, 1, true},
		{[][2]int64{{4, 1}, {40, 1}}, 4, 1, true},
		{[][2]int64{{6, 4}, {9, 4}}, 3, 4, true},
		{nil, 0, 0, false},
		{[][2]int64{{0, 5}}, 0, 0, false},
		{[][2]int64{{1, 1 << 25}}, 0, 0, false}, // denominator beyond the bound
		{[][2]int64{{1, 0}}, 0, 0, false},
	} {
		var l Lattice
		for _, v := range c.vals {
			l.Add(v[0], v[1])
		}
		num, den, ok := l.Step()
		if ok != c.ok || ok && (num != c.num || den != c.den) {
			t.Errorf("%v: step %d/%d ok=%v, want %d/%d ok=%v", c.vals, num, den, ok, c.num, c.den, c.ok)
		}
	}
	var l Lattice
	l.AddFloat32(0.75)
	l.AddFloat32(-1.5)
	if num, den, ok := l.Step(); !ok || num != 3 || den != 4 {
		t.Errorf("AddFloat32(0.75, −1.5): %d/%d %v, want 3/4", num, den, ok)
	}
	l.AddFloat32(float32(math.Inf(1)))
	if _, _, ok := l.Step(); ok {
		t.Error("an infinite value leaves the lattice usable")
	}
}

// A lattice quantizer keeps every multiple of its step exact through
// EncodeFine, the no-leak store and DecodeFine, compares exactly with any
// threshold, and puts its spare codes where asked.
func TestLatticeQuantizer(t *testing.T) {
	q, ok := NewLatticeQuantizer(1, 7, 1, false, false, true)
	if !ok || !q.Exact() || q.Zero != MinCode {
		t.Fatalf("1/7 under threshold 1: %v %v", q, ok)
	}
	// 7 × (1/7) reaches exactly 1; 6 × does not.
	thr := q.ThresholdFine(1)
	one, _ := q.FineOfRat(1, 7)
	if one != 1<<FineBits || 7*one < thr || 6*one >= thr {
		t.Fatalf("1/7 = %d fine, threshold %d", one, thr)
	}
	// Stores of lattice sums without leak are exact, for every dither.
	for k := int32(0); k < 100; k++ {
		for _, d := range []uint32{0, 1, 1<<23 - 1, 0xFFFFFFFF} {
			x := k * one
			if c := q.StoreLeak(x, 1<<KeepBits, d); q.FineOf(c) != min(x, q.FineOf(MaxCode)) {
				t.Fatalf("store of %d with dither %x gave code %d", x, d, c)
			}
		}
	}
	if got := q.DecodeFine(7 * one); got != 1 {
		t.Fatalf("DecodeFine(7/7) = %v", got)
	}
	// Non-lattice thresholds compare exactly: sums ≥ 1.3 are 10/7 and up.
	if th := q.ThresholdFine(1.3); 9*one >= th || 10*one < th {
		t.Fatalf("threshold 1.3 at %d fine", th)
	}
	if lim := q.LimitFine(1.3); 9*one > lim || 10*one <= lim {
		t.Fatalf("limit 1.3 at %d fine", lim)
	}
	if lim := q.LimitFine(-1.3); -10*one > lim || -9*one <= lim {
		t.Fatalf("limit −1.3 at %d fine", lim)
	}
	// Spare codes: below for inhibition, above for a held potential, split
	// when both.
	for _, c := range []struct {
		below, above bool
		zero         int8
	}{{false, false, -128}, {true, false, 120}, {false, true, -128}, {true, true, -4}} {
		q, ok := NewLatticeQuantizer(1, 7, 1, c.below, c.above, true)
		if !ok || q.Zero != c.zero {
			t.Errorf("below=%v above=%v: zero %d, want %d", c.below, c.above, q.Zero, c.zero)
		}
		if q.Decode(MaxCode) < 1 {
			t.Errorf("%v does not reach the threshold", q)
		}
	}
	// The threshold must fit the codes when potentials are stored; without
	// a store only the fine sums must fit.
	if _, ok := NewLatticeQuantizer(1, 300, 1, false, false, true); ok {
		t.Error("300 codes below the threshold accepted for a stored potential")
	}
	if _, ok := NewLatticeQuantizer(1, 300, 1, false, false, false); !ok {
		t.Error("300 codes refused for an area that stores no potential")
	}
	if err := (Quantizer{Scale: 1, Num: -1, Den: 3}).Validate(); err == nil {
		t.Error("negative lattice step validates")
	}
}

// Today's quantizers are untouched by the lattice helpers.
func TestThresholdFineRounding(t *testing.T) {
	q := NewQuantizer(3.7, 10, -2.5)
	for _, v := range []float32{3.7, 1.1, -2, 9.99} {
		if q.ThresholdFine(v) != q.EncodeFine(v) || q.LimitFine(v) != q.EncodeFine(v) {
			t.Errorf("%v: ThresholdFine/LimitFine differ from EncodeFine on a rounding quantizer", v)
		}
	}
	if _, ok := q.FineOfRat(1, 3); ok {
		t.Error("FineOfRat on a rounding quantizer")
	}
}

func FuzzLattice(f *testing.F) {
	f.Add(int64(1), int64(7), float32(1), int64(5), float32(0.3))
	f.Add(int64(3), int64(4), float32(20), int64(-9), float32(-7.1))
	f.Fuzz(func(t *testing.T, num, den int64, top float32, k int64, v float32) {
		if num <= 0 || den <= 0 || num > 1<<20 || den > 1<<20 {
			return
		}
		var l Lattice
		l.Add(num, den)
		n, d, ok := l.Step()
		if !ok {
			t.Fatalf("%d/%d: no step", num, den)
		}
		q, ok := NewLatticeQuantizer(n, d, top, k%2 == 0, k%3 == 0, true)
		if !ok {
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		// top fits the codes.
		if top > 0 && q.Decode(MaxCode) < top*(1-1e-6) {
			t.Fatalf("%v: top %v beyond the codes", q, top)
		}
		// Multiples of the step within the codes are exact fine values and
		// store back to themselves.
		k = k % 128
		x, ok := q.FineOfRat(k*n, d)
		if !ok || x != int32(k)<<FineBits {
			t.Fatalf("%v: %d steps = %d fine, ok %v", q, k, x, ok)
		}
		if c := int32(q.Zero) + int32(k); c >= MinCode && c <= MaxCode {
			if got := q.StoreLeak(x, 1<<KeepBits, uint32(k)*DitherStep); got != int8(c) {
				t.Fatalf("%v: store of %d steps gave code %d, want %d", q, k, got, c)
			}
		}
		// ThresholdFine is the least fine value reaching v, LimitFine the
		// greatest not above it (checked in float64 on the exact step).
		if v != v || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e6 {
			return
		}
		u := float64(n) / float64(d) / (1 << FineBits)
		th, li := q.ThresholdFine(v), q.LimitFine(v)
		if th != math.MaxInt32 && th != math.MinInt32 {
			eps := 1e-9 * (math.Abs(float64(v)) + 1)
			if float64(th)*u < float64(v)-eps || float64(th-1)*u >= float64(v)+eps {
				t.Fatalf("%v: ThresholdFine(%v) = %d", q, v, th)
			}
		}
		if li != math.MaxInt32 && li != math.MinInt32 && li > th {
			t.Fatalf("%v: LimitFine(%v) = %d above ThresholdFine %d", q, v, li, th)
		}
	})
}
