package quant

import (
	"math"
	"testing"
)

func TestNewQuantizerThresholdExact(t *testing.T) {
	for _, c := range []struct{ thr, top, bottom float32 }{
		{1, 1, 0}, {20, 20, 0}, {0.1, 0.1, 0}, {1, 5, 0}, {1, 1, -1}, {3.7, 10, -2.5}, {100, 100, -100},
	} {
		q := NewQuantizer(c.thr, c.top, c.bottom)
		if err := q.Validate(); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		f := q.EncodeFine(c.thr)
		if f%(1<<FineBits) != 0 {
			t.Errorf("%+v: threshold %v is not an exact code: fine %d (%v)", c, c.thr, f, q)
		}
		if got := q.Decode(q.Zero); got != 0 {
			t.Errorf("%+v: zero decodes to %v", c, got)
		}
		if q.Decode(MaxCode) < c.top*0.999 || q.Decode(MinCode) > c.bottom*0.999 {
			t.Errorf("%+v: range %v does not cover [bottom, top]", c, q)
		}
	}
}

func TestNewQuantizerDegenerate(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, c := range [][3]float32{{0, 0, 0}, {nan, nan, nan}, {inf, inf, -inf}, {-1, -1, 0}} {
		if err := NewQuantizer(c[0], c[1], c[2]).Validate(); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
}

func TestKeepQ15(t *testing.T) {
	for _, c := range []struct {
		keep float32
		want int32
	}{{1, 32768}, {0, 0}, {0.97, 31785}, {0.5, 16384}, {2, 32768}, {-1, 0}} {
		if got := KeepQ15(c.keep); got != c.want {
			t.Errorf("KeepQ15(%v) = %d, want %d", c.keep, got, c.want)
		}
	}
}

func TestSatAdd(t *testing.T) {
	if SatAdd(math.MaxInt32, 1) != math.MaxInt32 || SatAdd(math.MinInt32, -1) != math.MinInt32 || SatAdd(3, -5) != -2 {
		t.Fatal("SatAdd does not saturate")
	}
}

func TestStoreDitherUnbiased(t *testing.T) {
	q := NewQuantizer(20, 20, 0)
	x := q.EncodeFine(6.66)
	var sum float64
	const n = 1 << 16
	for i := uint32(0); i < n; i++ {
		sum += float64(q.Decode(q.Store(x, Dither(i, 7))))
	}
	mean := sum / n
	if d := math.Abs(mean - float64(q.DecodeFine(x))); d > float64(q.Scale)/50 {
		t.Fatalf("dithered store mean %v differs from %v by %v (scale %v)", mean, q.DecodeFine(x), d, q.Scale)
	}
}

func quantizerFrom(thr, top, bottom float32) Quantizer {
	return NewQuantizer(thr, top, bottom)
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(float32(1), float32(1), float32(0), float32(0.5))
	f.Add(float32(20), float32(20), float32(-3), float32(7.3))
	f.Add(float32(0.1), float32(5), float32(0), float32(-1))
	f.Fuzz(func(t *testing.T, thr, top, bottom, v float32) {
		q := quantizerFrom(thr, top, bottom)
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		// Every code decodes and re-encodes to itself.
		for c := MinCode; c <= MaxCode; c++ {
			if got := q.Encode(q.Decode(int8(c))); got != int8(c) {
				t.Fatalf("%v: Encode(Decode(%d)) = %d", q, c, got)
			}
			if got := q.Store(q.FineOf(int8(c)), 0); got != int8(c) {
				t.Fatalf("%v: Store(FineOf(%d)) = %d", q, c, got)
			}
		}
		if v != v || math.IsInf(float64(v), 0) {
			return
		}
		lo, hi := q.Decode(MinCode), q.Decode(MaxCode)
		e := q.Encode(v)
		switch {
		case v >= hi:
			if e != MaxCode {
				t.Fatalf("%v: %v above range encodes to %d", q, v, e)
			}
		case v <= lo:
			if e != MinCode {
				t.Fatalf("%v: %v below range encodes to %d", q, v, e)
			}
		default:
			if d := math.Abs(float64(q.Decode(e)) - float64(v)); d > float64(q.Scale)*0.5001 {
				t.Fatalf("%v: |Decode(Encode(%v)) − v| = %v > scale/2", q, v, d)
			}
			x := q.EncodeFine(v)
			if d := math.Abs(float64(q.DecodeFine(x)) - float64(v)); d > float64(q.Scale)/500+1e-6*math.Abs(float64(v)) {
				t.Fatalf("%v: fine round trip of %v off by %v", q, v, d)
			}
			for _, d := range []uint32{0, 1, 77, 255, 1 << 31} {
				s := q.Store(x, d)
				if diff := math.Abs(float64(q.Decode(s)) - float64(q.DecodeFine(x))); diff >= float64(q.Scale)*1.0001 {
					t.Fatalf("%v: Store(%d, %d) = %d, off by %v ≥ one step", q, x, d, s, diff)
				}
			}
		}
	})
}

func FuzzMonotone(f *testing.F) {
	f.Add(float32(1), float32(2), float32(-1), float32(0.3), float32(0.4), uint32(5), float32(0.97))
	f.Add(float32(20), float32(20), float32(0), float32(-100), float32(1e9), uint32(0), float32(0))
	f.Fuzz(func(t *testing.T, thr, top, bottom, a, b float32, d uint32, keep float32) {
		q := quantizerFrom(thr, top, bottom)
		if a != a || b != b {
			return
		}
		if a > b {
			a, b = b, a
		}
		if q.Encode(a) > q.Encode(b) {
			t.Fatalf("%v: Encode not monotone: %v→%d > %v→%d", q, a, q.Encode(a), b, q.Encode(b))
		}
		xa, xb := q.EncodeFine(a), q.EncodeFine(b)
		if xa > xb {
			t.Fatalf("%v: EncodeFine not monotone", q)
		}
		if q.Store(xa, d) > q.Store(xb, d) {
			t.Fatalf("%v: Store not monotone for dither %d", q, d)
		}
		k := KeepQ15(keep)
		if q.StoreLeak(xa, k, d) > q.StoreLeak(xb, k, d) {
			t.Fatalf("%v: StoreLeak not monotone for keep %d", q, k)
		}
		// Without leak, StoreLeak is Store of the saturated value.
		lo, hi := q.FineRange()
		if got, want := q.StoreLeak(xa, 1<<KeepBits, d), q.Store(min(max(xa, lo), hi), d>>KeepBits); got != want {
			t.Fatalf("%v: StoreLeak(%d, 1, %d) = %d, Store gives %d", q, xa, d, got, want)
		}
		// Saturating add never wraps.
		s := SatAdd(xa, xb)
		if want := int64(xa) + int64(xb); want >= math.MinInt32 && want <= math.MaxInt32 && int64(s) != want {
			t.Fatalf("SatAdd(%d, %d) = %d", xa, xb, s)
		} else if want > math.MaxInt32 && s != math.MaxInt32 || want < math.MinInt32 && s != math.MinInt32 {
			t.Fatalf("SatAdd(%d, %d) = %d, want saturation", xa, xb, s)
		}
		// A leak never increases the magnitude by more than the rounding step.
		if keep >= 0 && keep <= 1 && xa >= 0 {
			x := min(max(xa, lo), hi)
			if got := q.FineOf(q.StoreLeak(x, k, d)); got > x+1<<FineBits {
				t.Fatalf("%v: leak of %d by %d grew to %d", q, x, k, got)
			}
		}
	})
}

// Binary fractions of the threshold are whole codes, so storing one loses
// nothing: a potential carried over bursts and topped up to the threshold
// reaches it in fixed point as in float32 (when the range leaves the threshold
// at least four codes above zero).
func TestQuantizerBinaryFractionsExact(t *testing.T) {
	for _, c := range []struct{ thr, top, bottom float32 }{
		{1, 1, 0}, {20, 20, 0}, {3.7, 10, -2.5}, {0.1, 0.1, 0}, {100, 150, -40}, {1, 40, 0},
	} {
		q := NewQuantizer(c.thr, c.top, c.bottom)
		th := q.EncodeFine(c.thr)
		if th%(1<<FineBits) != 0 {
			t.Errorf("%+v: threshold %d fine units is not a whole code", c, th)
		}
		for _, div := range []float32{2, 4} {
			f := q.EncodeFine(c.thr / div)
			if f%(1<<FineBits) != 0 || float32(f)*div != float32(th) {
				t.Errorf("%+v: threshold/%g encodes to %d fine units, want %g", c, div, f, float32(th)/div)
			}
		}
		if lo, hi := q.Decode(MinCode), q.Decode(MaxCode); lo > c.bottom || hi < max(c.top, c.thr) {
			t.Errorf("%+v: %v does not cover [bottom, top]", c, q)
		}
	}
}
