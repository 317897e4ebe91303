package npu

import (
	"fmt"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

func TestFiringPatterns(t *testing.T) {
	cases := []struct {
		name             string
		refr, snooze, lm uint16
		want             string
	}{
		{"refractory 1", 1, 0, 0, "1_1_1_1_1_1_1_1_"},
		{"refractory 2", 2, 0, 0, "1__1__1__1__1__1"},
		{"refractory 3", 3, 0, 0, "1___1___1___1___"},
		{"refractory 1 snooze 2 limit 3", 1, 2, 3, "1_1_1___1_1_1___"},
		{"refractory 0 limit 2", 0, 0, 2, "11_11_11_11_11_1"},
		{"limit 65535 is unlimited", 0, 0, 65535, "1111111111111111"},
	}
	for _, prec := range precisions {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%v/%s", prec, c.name), func(t *testing.T) {
				spec := area(3, 1, 0, func(p *Params) {
					p.RefractoryBursts, p.SnoozeBursts, p.ConsecutiveLimit = c.refr, c.snooze, c.lm
				})
				if got := pattern(mustEngine(t, spec, prec, nil, Options{}), len(c.want), 1); got != c.want {
					t.Errorf("pattern %s, want %s", got, c.want)
				}
			})
		}
	}
}

// A neuron that is not a candidate does not count down its refractory period
// and does not leak (docs/semantics.md §2.3).
func TestCandidateOnlyRefractoryAndLeak(t *testing.T) {
	for _, prec := range precisions {
		spec := area(3, 2, 0, func(p *Params) { p.RefractoryBursts = 2; p.LeakPerBurst = 0.5; p.Threshold = 4 })
		e := mustEngine(t, spec, prec, nil, Options{})
		fire := []Point{{0, 5}}
		if out := e.Step(1, &Input{Points: fire}); len(out.Fired) != 1 {
			t.Fatalf("%v: did not fire at burst 1", prec)
		}
		// Bursts 2–9 without input: still refractory for two candidate bursts.
		for b := Burst(2); b < 10; b++ {
			e.Step(b, nil)
		}
		if out := e.Step(10, &Input{Points: fire}); len(out.Fired) != 0 {
			t.Fatalf("%v: fired at burst 10, refractory should only count candidate bursts", prec)
		}
		if out := e.Step(11, &Input{Points: fire}); len(out.Fired) != 0 {
			t.Fatalf("%v: fired at burst 11", prec)
		}
		if out := e.Step(12, &Input{Points: fire}); len(out.Fired) != 1 {
			t.Fatalf("%v: did not fire at burst 12", prec)
		}
		// Neuron 1: charge 2 (leak halves it to 1), idle for 5 bursts (no leak),
		// then 3 more: 1 + 3 = 4 ≥ 4 fires; with leak while idle it would not.
		e.Step(13, &Input{Points: []Point{{1, 2}}})
		for b := Burst(14); b < 19; b++ {
			e.Step(b, nil)
		}
		out := e.Step(19, &Input{Points: []Point{{1, 3}}})
		if len(out.Fired) != 1 || out.Fired[0] != 1 || !close32(out.Potentials[0], 4, prec) {
			t.Fatalf("%v: got %v %v, want neuron 1 firing at 4", prec, out.Fired, out.Potentials)
		}
	}
}

func TestChainDelay(t *testing.T) {
	for _, prec := range precisions {
		areas := []AreaSpec{area(0, 3, 0, nil), area(1, 1, 3, nil), area(2, 1, 4, nil)}
		var conns []*Connection
		conns = append(conns, connect(0, 0, 3, []edge{{0, 1, 1, false}, {1, 2, 1, false}}, 1, true))
		conns = append(conns, connect(0, 2, 3, []edge{{2, 0, 1, false}}, 1, true))
		r := mustRunner(t, areas, conns, prec, RunnerOptions{})
		var got []string
		for b := 0; b < 5; b++ {
			var pts [][]Point
			if b == 0 {
				pts = [][]Point{{{0, 1}}}
			}
			outs := r.Step(pts)
			got = append(got, fmt.Sprint(outs[0].Fired, outs[2].Fired))
		}
		want := []string{"[0] []", "[1] []", "[2] []", "[] [0]", "[] []"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: chain %v, want %v", prec, got, want)
		}
		// The power area's neuron fires every burst (+1.0 ≥ threshold 1).
		if f := r.outs[1].Fired; len(f) != 1 {
			t.Errorf("%v: power neuron fired %v", prec, f)
		}
	}
}

// Contributions are divided by the source's total out-degree unless the
// source area is psp-uniform (docs/semantics.md §3.1, §3.2).
func TestPSPDivision(t *testing.T) {
	for _, prec := range precisions {
		for _, uniform := range []bool{false, true} {
			c := connect(0, 4, 1, []edge{{0, 0, 2, false}, {0, 1, 2, false}}, 3, uniform)
			c.OutDegree[0] = 4 // two more synapses elsewhere
			spec := area(4, 2, 10, func(p *Params) { p.Threshold = 100 })
			e := mustEngine(t, spec, prec, []*Connection{c}, Options{})
			e.Step(1, nil)
			e.Step(2, &Input{Fired: [][]uint32{{0}}})
			want := float32(6)
			if !uniform {
				want = 1.5
			}
			// Fire with a big input to read the potential: MP + 1000.
			out := e.Step(3, &Input{Points: []Point{{0, 1000}}})
			if len(out.Fired) != 1 || !close32(out.Potentials[0], 1000+want, prec) {
				t.Errorf("%v uniform=%v: fired %v at %v, want 1000+%v", prec, uniform, out.Fired, out.Potentials, want)
			}
		}
	}
}

func close32(got, want float32, prec quant.Precision) bool {
	if prec == quant.FP32 {
		return got == want
	}
	d := got - want
	return d < 0.02*want && d > -0.02*want
}

func TestChargeAccumulationOff(t *testing.T) {
	for _, prec := range precisions {
		spec := area(3, 1, 0, func(p *Params) { p.ChargeAccumulation = false; p.Threshold = 1 })
		if got := pattern(mustEngine(t, spec, prec, nil, Options{}), 6, 0.6); got != "______" {
			t.Errorf("%v: accumulation off fired %s with 0.6 per burst", prec, got)
		}
		spec.Params.ChargeAccumulation = true
		if got := pattern(mustEngine(t, spec, prec, nil, Options{}), 6, 0.6); got != "_1_1_1" {
			t.Errorf("%v: accumulation on: %s", prec, got)
		}
	}
}

// The threshold limit: MP above it does not fire, MP equal to it does.
func TestThresholdLimitWindow(t *testing.T) {
	for _, prec := range precisions {
		spec := area(3, 3, 0, func(p *Params) { p.Threshold = 2; p.ThresholdLimit = 5; p.ChargeAccumulation = false })
		e := mustEngine(t, spec, prec, nil, Options{})
		out := e.Step(1, &Input{Points: []Point{{0, 5}, {1, 5.5}, {2, 2}}})
		if fmt.Sprint(out.Fired) != "[0 2]" {
			t.Errorf("%v: window fired %v, want [0 2]", prec, out.Fired)
		}
	}
}

func TestInhibitory(t *testing.T) {
	for _, prec := range precisions {
		c := connect(0, 4, 2, []edge{{0, 0, 1, false}, {1, 0, 1, true}}, 1, true)
		spec := area(4, 1, 5, nil)
		e := mustEngine(t, spec, prec, []*Connection{c}, Options{})
		e.Step(1, nil)
		if out := e.Step(2, &Input{Fired: [][]uint32{{0, 1}}}); len(out.Fired) != 0 {
			t.Errorf("%v: excitation cancelled by inhibition still fired", prec)
		}
		if out := e.Step(3, &Input{Fired: [][]uint32{{0}}}); len(out.Fired) != 1 {
			t.Errorf("%v: excitation alone did not fire (MP should be 0 + 1)", prec)
		}
		// Inhibitory then excitatory input: MP −1, then −1 + 1 = 0 does not fire.
		e.Step(4, &Input{Fired: [][]uint32{{1}}})
		if out := e.Step(5, &Input{Fired: [][]uint32{{0}}}); len(out.Fired) != 0 {
			t.Errorf("%v: fired after inhibition", prec)
		}
	}
}

// A zero contribution still makes a candidate: it counts down refractory.
func TestZeroInputMakesCandidate(t *testing.T) {
	for _, prec := range precisions {
		c := connect(0, 4, 1, []edge{{0, 0, 0, false}}, 1, true)
		spec := area(4, 1, 0, func(p *Params) { p.RefractoryBursts = 1 })
		e := mustEngine(t, spec, prec, []*Connection{c}, Options{})
		e.Step(1, &Input{Points: []Point{{0, 1}}})
		e.Step(2, &Input{Fired: [][]uint32{{0}}}) // weight 0: candidate, countdown 1 → 0
		if out := e.Step(3, &Input{Points: []Point{{0, 1}}}); len(out.Fired) != 1 {
			t.Errorf("%v: zero-weight input did not count down the refractory period", prec)
		}
	}
}

func TestExcitabilityHashKnownValues(t *testing.T) {
	// Computed independently with Python from docs/semantics.md §2.5.
	for _, c := range []struct {
		id    uint32
		burst Burst
		want  uint32
	}{{0, 1, 2155229494}, {1, 1, 3993518367}, {42, 7, 2018009856}, {123456, 1000, 2204910966},
		{4294967295, 4294967301, 235625440}, {7, 0, 783135426}} {
		if got := ExcitabilityHash(c.id, c.burst); got != c.want {
			t.Errorf("hash(%d, %d) = %d, want %d", c.id, c.burst, got, c.want)
		}
	}
	for _, e := range []float32{0.001, 0.25, 0.5, 0.7, 0.99, 0.9989} {
		cut := excitabilityCut(e)
		for id := uint32(0); id < 2000; id++ {
			h := ExcitabilityHash(id, 3)
			if (uint64(h) < cut) != (ExcitabilityDraw(id, 3) < e) {
				t.Fatalf("excitability %v: cut %d disagrees with the float test for hash %d", e, cut, h)
			}
		}
	}
}

func TestExcitabilityFiresByHash(t *testing.T) {
	for _, prec := range precisions {
		spec := area(3, 500, 1000, func(p *Params) { p.Excitability = 0.3; p.ChargeAccumulation = false })
		e := mustEngine(t, spec, prec, nil, Options{})
		pts := make([]Point, 500)
		for i := range pts {
			pts[i] = Point{uint32(i), 1}
		}
		out := e.Step(9, &Input{Points: pts})
		var want []uint32
		for i := uint32(0); i < 500; i++ {
			if ExcitabilityDraw(1000+i, 9) < 0.3 {
				want = append(want, i)
			}
		}
		if fmt.Sprint(out.Fired) != fmt.Sprint(want) {
			t.Errorf("%v: fired %v, want %v", prec, out.Fired, want)
		}
	}
}

func TestThresholdGradient(t *testing.T) {
	for _, prec := range precisions {
		spec := AreaSpec{Index: 4, Dims: [3]uint32{3, 1, 1}, PerVoxel: 2,
			Params: Params{Threshold: 1, ThresholdIncrement: [3]float32{1, 0, 0}, Excitability: 1}}
		e := mustEngine(t, spec, prec, nil, Options{})
		var pts []Point
		for i := uint32(0); i < 6; i++ {
			pts = append(pts, Point{i, 2})
		}
		if out := e.Step(1, &Input{Points: pts}); fmt.Sprint(out.Fired) != "[0 1 2 3]" {
			t.Errorf("%v: gradient fired %v, want [0 1 2 3]", prec, out.Fired)
		}
	}
}

func TestMPDrivenPSP(t *testing.T) {
	for _, prec := range precisions {
		c := connect(0, 4, 1, []edge{{0, 0, 2, false}}, 1, true)
		c.MPDrivenPSP = true
		spec := area(4, 1, 0, func(p *Params) { p.Threshold = 1000 })
		e := mustEngine(t, spec, prec, []*Connection{c}, Options{})
		e.Step(1, &Input{Fired: [][]uint32{{0}}, Potentials: [][]float32{{2.5}}}) // psp round(2.5) = 3 → 6
		out := e.Step(2, &Input{Points: []Point{{0, 1000}}})
		if len(out.Fired) != 1 || !close32(out.Potentials[0], 1006, prec) {
			t.Errorf("%v: mp-driven PSP: %v %v, want 1006", prec, out.Fired, out.Potentials)
		}
	}
}

// With the unlimited encoding the count still saturates at 65535, and the
// neuron is then blocked for one candidate burst (docs/semantics.md §2.3).
func TestUnlimitedCountSaturates(t *testing.T) {
	for _, prec := range precisions {
		for _, lim := range []uint16{0, 65535} {
			spec := area(3, 1, 0, func(p *Params) { p.ConsecutiveLimit = lim })
			e := mustEngine(t, spec, prec, nil, Options{})
			h := e
			h.st[0] = h.st[0]&0xFF000000 | 65533 // keep a packed int8 potential
			if got := pattern(e, 5, 1); got != "11_11" {
				t.Errorf("%v limit %d: pattern %s, want 11_11", prec, lim, got)
			}
		}
	}
}
