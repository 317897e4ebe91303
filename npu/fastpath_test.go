package npu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The fast paths of driven segments (dense.go, simple.go) against the
// candidate loop: an area driven by Options.Drive must step exactly as the
// same area given the same inputs as sensory points. This covers the bursts
// with no input but the drive (driveOnlyLimited), which TestDriveEqualsPoints
// does not reach.
func TestDriveOnlyEqualsPoints(t *testing.T) {
	for _, prec := range precisions {
		for seed := uint64(1); seed <= 24; seed++ {
			rng := rand.New(rand.NewPCG(seed, 91))
			n := uint32(300 + rng.IntN(1200))
			spec := area(3, n, uint32(rng.IntN(1<<20)), func(p *Params) {
				p.Threshold = []float32{1, 1, 0.5, 2}[seed%4] // the drive 1 is in the window or not
				p.LeakPerBurst = 0.03
				p.RefractoryBursts = uint16(rng.IntN(4))
				p.ConsecutiveLimit = uint16(rng.IntN(7)) // 0: unlimited
				p.SnoozeBursts = uint16(rng.IntN(13))
				p.Excitability = []float32{0.5, 0.3, 1, 0}[seed%4/2+2*(seed%2)]
				p.ChargeAccumulation = false
				if seed%6 == 0 {
					p.ThresholdLimit = 1.5
				}
			})
			a0 := uint32(rng.IntN(int(n / 2)))
			drive := []Drive{{a0, n, 1}}
			var pts []Point
			for i := a0; i < n; i++ {
				pts = append(pts, Point{i, 1})
			}
			for _, w := range []int{1, 2} {
				ed := mustEngine(t, spec, prec, nil, Options{Drive: drive, Workers: w})
				ep := mustEngine(t, spec, prec, nil, Options{})
				total := 0
				for b := Burst(1); b <= 80; b++ {
					var extra []Point
					if b%9 == 0 { // a burst with a point: not drive-only
						extra = []Point{{uint32(rng.IntN(int(n))), 0.25}}
					}
					od := ed.Step(b, &Input{Points: extra})
					op := ep.Step(b, &Input{Points: append(slices.Clip(pts), extra...)})
					if !slices.Equal(od.Fired, op.Fired) || !slices.Equal(bits32(od.Potentials), bits32(op.Potentials)) {
						t.Fatalf("%v seed %d workers %d burst %d: drive fired %d, points %d", prec, seed, w, b, len(od.Fired), len(op.Fired))
					}
					total += len(od.Fired)
				}
				sd, err := ed.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				re, err := RestoreEngine(sd, Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if re.(*handle).state(int(i)) != ep.(*handle).state(int(i)) {
						t.Fatalf("%v seed %d workers %d: neuron %d state %x, points %x", prec, seed, w, i, re.(*handle).state(int(i)), ep.(*handle).state(int(i)))
					}
				}
				if total == 0 && spec.Params.Threshold <= 1 && spec.Params.Excitability > 0 {
					t.Fatalf("seed %d: nothing fired", seed)
				}
			}
		}
	}
}

// simpleBlockI32 (integer window test) must equal simpleBlock32 for any
// floats, NaNs, infinities and negative zero included.
func TestSimpleBlockI32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), -float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, 1e-45, -1e-45,
		20, 19.999998, 20.000002, 0.5, 3e38}
	val := func() float32 {
		switch rng.IntN(4) {
		case 0:
			return specials[rng.IntN(len(specials))]
		case 1:
			return math.Float32frombits(rng.Uint32())
		default:
			return float32(rng.NormFloat64() * 30)
		}
	}
	for it := range 2000 {
		spec := area(3, 128, 0, func(p *Params) {
			p.Threshold = []float32{20, 1e-45, 0.5, 3e38}[it%4]
			if it%3 == 0 {
				p.ThresholdLimit = p.Threshold * []float32{1, 1.0000001}[it%2]
			}
			p.LeakPerBurst = float32(rng.Float64())
			p.RefractoryBursts = uint16(rng.IntN(3))
		})
		a, err := newEngine(spec, precisions[0], nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := newEngine(spec, precisions[0], nil, Options{})
		for i := range 128 {
			a.acc32[i], a.mp32[i] = val(), val()
			a.st[i] = uint32(rng.IntN(3))<<16 | uint32(rng.IntN(100))
		}
		copy(b.acc32, a.acc32)
		copy(b.mp32, a.mp32)
		copy(b.st, a.st)
		fa, pa := make([]uint32, 128), make([]float32, 128)
		fb, pb := make([]uint32, 128), make([]float32, 128)
		na := a.simpleBlockI32(64, 3.5, fa, pa, 0)
		nb := b.simpleBlock32(64, 3.5, fb, pb, 0)
		if na != nb || !slices.Equal(fa[:na], fb[:nb]) || !slices.Equal(bits32(pa[:na]), bits32(pb[:nb])) ||
			!slices.Equal(a.st, b.st) || !slices.Equal(bits32(a.mp32), bits32(b.mp32)) || !slices.Equal(bits32(a.acc32), bits32(b.acc32)) {
			t.Fatalf("iteration %d: integer window test differs from the float one", it)
		}
	}
}
