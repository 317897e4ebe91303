package npu

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
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
					if re.state(int(i)) != ep.state(int(i)) {
						t.Fatalf("%v seed %d workers %d: neuron %d state %x, points %x", prec, seed, w, i, re.state(int(i)), ep.state(int(i)))
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
			a.f32.acc[i], a.f32.mp[i] = val(), val()
			a.st[i] = uint32(rng.IntN(3))<<16 | uint32(rng.IntN(100))
		}
		copy(b.f32.acc, a.f32.acc)
		copy(b.f32.mp, a.f32.mp)
		copy(b.st, a.st)
		fa, pa := make([]uint32, 128), make([]float32, 128)
		fb, pb := make([]uint32, 128), make([]float32, 128)
		var c *engine
		b0mp, b0acc, b0st := slices.Clone(a.f32.mp), slices.Clone(a.f32.acc), slices.Clone(a.st)
		if haveKernels {
			c, _ = newEngine(spec, precisions[0], nil, Options{})
			copy(c.f32.acc, a.f32.acc)
			copy(c.f32.mp, a.f32.mp)
			copy(c.st, a.st)
		}
		na := a.simpleBlockI32(64, 3.5, fa, pa, 0)
		nb := b.simpleBlock32(64, 3.5, fb, pb, 0)
		if na != nb || !slices.Equal(fa[:na], fb[:nb]) || !slices.Equal(bits32(pa[:na]), bits32(pb[:nb])) ||
			!slices.Equal(a.st, b.st) || !slices.Equal(bits32(a.f32.mp), bits32(b.f32.mp)) || !slices.Equal(bits32(a.f32.acc), bits32(b.f32.acc)) {
			t.Fatalf("iteration %d: integer window test differs from the float one", it)
		}
		if c != nil {
			fc, pc := make([]uint32, 128), make([]float32, 128)
			for i := 3 + 64 + kernelSlack; i < 128; i++ {
				fc[i], pc[i] = 0xDEADBEEF, -1
			}
			k := c.kernel32(3.5)
			fc, pc = fc[3:], pc[3:] // an output that does not start at an aligned address
			nc := c.simpleBlockK32(64, &k, fc, pc, 0)
			for i := 64 + kernelSlack; i < len(fc); i++ {
				if fc[i] != 0xDEADBEEF || pc[i] != -1 {
					t.Fatalf("iteration %d: the kernel wrote entry %d, beyond its %d", it, i, 64+kernelSlack)
				}
			}
			if nc != na || !slices.Equal(fa[:na], fc[:nc]) || !slices.Equal(bits32(pa[:na]), bits32(pc[:nc])) ||
				!slices.Equal(a.st, c.st) || !slices.Equal(bits32(a.f32.mp), bits32(c.f32.mp)) || !slices.Equal(bits32(a.f32.acc), bits32(c.f32.acc)) {
				for i := range 128 {
					if a.st[i] != c.st[i] || math.Float32bits(a.f32.mp[i]) != math.Float32bits(c.f32.mp[i]) {
						t.Logf("neuron %d: state %x / %x, potential %x / %x (in: mp %x acc %x st %x)", i, a.st[i], c.st[i], math.Float32bits(a.f32.mp[i]), math.Float32bits(c.f32.mp[i]), math.Float32bits(b0mp[i]), math.Float32bits(b0acc[i]), b0st[i])
					}
				}
				t.Fatalf("iteration %d: the assembly kernel differs from the Go loop (fired %d / %d)", it, na, nc)
			}
		}
	}
	if !haveKernels {
		t.Log("no fp32 kernel on this machine or build: the Go loops alone were compared")
	}
}

// TestKernelLayout pins the offsets the assembly kernels read their
// constants at.
func TestKernelLayout(t *testing.T) {
	var k kernel32
	got := []uintptr{unsafe.Offsetof(k.rv), unsafe.Offsetof(k.thrB), unsafe.Offsetof(k.spanX), unsafe.Offsetof(k.keep),
		unsafe.Offsetof(k.cdFire), unsafe.Offsetof(k.sign), unsafe.Offsetof(k.refrX), unsafe.Offsetof(k.down),
		unsafe.Offsetof(k.lut), unsafe.Offsetof(k.lanes), unsafe.Offsetof(k.eight)}
	if want := []uintptr{0, 4, 8, 12, 16, 20, 24, 28, 32, 40, 72}; !slices.Equal(got, want) {
		t.Fatalf("kernel32 offsets %v, want %v (kernel_amd64.s reads these)", got, want)
	}
	var k8 kernel8
	got = []uintptr{unsafe.Offsetof(k8.rv), unsafe.Offsetof(k8.thrY), unsafe.Offsetof(k8.keep), unsafe.Offsetof(k8.k0),
		unsafe.Offsetof(k8.fireAdd), unsafe.Offsetof(k8.dmask), unsafe.Offsetof(k8.dstep), unsafe.Offsetof(k8.low24),
		unsafe.Offsetof(k8.top8), unsafe.Offsetof(k8.refrB), unsafe.Offsetof(k8.down), unsafe.Offsetof(k8.zero8),
		unsafe.Offsetof(k8.dlanes), unsafe.Offsetof(k8.lut), unsafe.Offsetof(k8.lanes), unsafe.Offsetof(k8.eight)}
	if want := []uintptr{0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 80, 88, 120}; !slices.Equal(got, want) {
		t.Fatalf("kernel8 offsets %v, want %v (kernel_amd64.s reads these)", got, want)
	}
	var kl limitedK
	got = []uintptr{unsafe.Offsetof(kl.cutX), unsafe.Offsetof(kl.sign), unsafe.Offsetof(kl.hstep8), unsafe.Offsetof(kl.outMul),
		unsafe.Offsetof(kl.four), unsafe.Offsetof(kl.low24), unsafe.Offsetof(kl.limit), unsafe.Offsetof(kl.limitM2),
		unsafe.Offsetof(kl.spanX), unsafe.Offsetof(kl.fireA), unsafe.Offsetof(kl.fireSnA), unsafe.Offsetof(kl.refrB),
		unsafe.Offsetof(kl.down), unsafe.Offsetof(kl.zeroTop), unsafe.Offsetof(kl.eight), unsafe.Offsetof(kl.hlanes),
		unsafe.Offsetof(kl.lut), unsafe.Offsetof(kl.lanes)}
	if want := []uintptr{0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 64, 96, 104}; !slices.Equal(got, want) {
		t.Fatalf("limitedK offsets %v, want %v (kernel_amd64.s reads these)", got, want)
	}
}

// limitedKernel must equal exFlags + limitedBlock bit for bit: any hash
// state, excitability cut (always and near-never included), limit,
// countdowns and counts.
func TestLimitedKernel(t *testing.T) {
	if !haveKernels {
		t.Skip("no kernels on this machine or build (purego or not amd64 with AVX2): nothing to compare")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	fired := 0
	for it := range 3000 {
		limit := uint32(1 + rng.IntN(8))
		if it%5 == 0 {
			limit = uint32(1 + rng.IntN(0xFFFE))
		}
		refr := uint32(rng.IntN(6))
		ln := limitedNext{limit: limit, span: 1<<16 - limit, fireA: refr<<16 + 1, fireSnA: min(refr+uint32(rng.IntN(20)), 0xFF)<<16 + 1}
		exCut := []uint64{1 << 32, 1, 1 << 31, uint64(rng.Uint32()) + 1}[it%4]
		zeroTop := uint32(rng.IntN(256)) << 24
		var st [64]uint32
		for j := range st {
			count := uint32(rng.IntN(int(limit) + 2))
			if rng.IntN(8) == 0 {
				count = uint32(rng.IntN(0x10000))
			}
			st[j] = rng.Uint32()&0xFF000000 | uint32(rng.IntN(4))<<16 | count&0xFFFF
		}
		ps := rng.Uint32()
		want := st
		var ex [64]uint8
		exFlags(&ex, ps, exCut)
		word := limitedBlock(&want, &ex, &ln, zeroTop)
		var wantFired []uint32
		for ; word != 0; word &= word - 1 {
			wantFired = append(wantFired, 1000+uint32(bits.TrailingZeros64(word)))
		}
		k := ln.kernel(exCut, zeroTop)
		out := make([]uint32, 64+kernelSlack)
		n := limitedKernel(&st[0], &k, ps, &out[0], 1000)
		if st != want || !slices.Equal(out[:n], wantFired) {
			t.Fatalf("iteration %d (limit %d, cut %d): the kernel differs from the Go loops: fired %v, want %v", it, limit, exCut, out[:n], wantFired)
		}
		fired += n
	}
	if fired < 3000*64/20 || fired > 3000*64*19/20 {
		t.Fatalf("%d of %d updates fired: the cases are not mixed", fired, 3000*64)
	}
}

// simpleKernel8 must equal simpleBlock8 bit for bit: states with any code,
// count and countdown of the simple path, sums across the int32 range
// (the products wrap the same way), any dither.
func TestSimpleKernel8(t *testing.T) {
	if !haveKernels {
		t.Skip("no int8 kernel on this machine or build (purego or not amd64 with AVX2): nothing to compare")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	int8p := precisions[1]
	fired := 0
	for it := range 2000 {
		spec := area(3, 128, 0, func(p *Params) {
			p.Threshold = []float32{20, 0.5, 1, 7}[it%4]
			p.LeakPerBurst = float32(rng.Float64())
			p.RefractoryBursts = uint16(rng.IntN(5))
		})
		a, err := newEngine(spec, int8p, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := newEngine(spec, int8p, nil, Options{})
		for i := range 128 {
			switch rng.IntN(3) {
			case 0:
				a.i8.acc[i] = int32(rng.Uint32())
			default:
				a.i8.acc[i] = int32(rng.IntN(1<<16)) - 1<<14
			}
			a.st[i] = rng.Uint32()&0xFF000000 | uint32(rng.IntN(6))<<16 | uint32(rng.IntN(0xFFFF))
		}
		copy(b.i8.acc, a.i8.acc)
		copy(b.st, a.st)
		c := a.blockConst8(int32(rng.IntN(1 << 12)))
		k := c.kernel8()
		d := rng.Uint32()
		fa, pa := make([]uint32, 128), make([]int32, 128)
		fb, pb := make([]uint32, 128), make([]int32, 128)
		na := a.simpleBlock8(64, &c, d, fa, pa, 0)
		nb := b.simpleBlockK8(64, &k, d, fb, pb, 0)
		if na != nb || !slices.Equal(fa[:na], fb[:nb]) || !slices.Equal(pa[:na], pb[:nb]) ||
			!slices.Equal(a.st, b.st) || !slices.Equal(a.i8.acc, b.i8.acc) {
			for i := range 128 {
				if a.st[i] != b.st[i] {
					t.Logf("neuron %d: state %x / %x", i, a.st[i], b.st[i])
				}
			}
			t.Fatalf("iteration %d: the int8 kernel differs from the Go loop (fired %d / %d)", it, na, nb)
		}
		fired += na
	}
	if fired < 2000*64/10 || fired > 2000*64*9/10 {
		t.Fatalf("%d of %d updates fired: the cases are not mixed", fired, 2000*64)
	}
}
