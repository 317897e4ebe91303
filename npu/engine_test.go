package npu

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

func TestNewEngineRejectsBadPlans(t *testing.T) {
	good := func() (AreaSpec, []*Connection) {
		return area(5, 4, 0, nil), []*Connection{connect(3, 5, 2, []edge{{0, 1, 1, false}, {1, 3, 2, true}}, 1, false)}
	}
	cases := []struct {
		name string
		mod  func(s *AreaSpec, c []*Connection) []*Connection
		want string
	}{
		{"wrong destination", func(s *AreaSpec, c []*Connection) []*Connection { c[0].Dst = 4; return c }, "destination"},
		{"target out of range", func(s *AreaSpec, c []*Connection) []*Connection { c[0].Target[1] = 4; return c }, "targets neuron 4"},
		{"unsorted", func(s *AreaSpec, c []*Connection) []*Connection {
			d := *c[0]
			d.Src = 2
			return append(c, &d)
		}, "ascending"},
		{"length mismatch", func(s *AreaSpec, c []*Connection) []*Connection { c[0].Weight = c[0].Weight[:1]; return c }, "weights"},
		{"start", func(s *AreaSpec, c []*Connection) []*Connection { c[0].Start[2] = 5; return c }, "Start"},
		{"empty start", func(s *AreaSpec, c []*Connection) []*Connection { c[0].Start = nil; return c }, "Start"},
		{"out-degree", func(s *AreaSpec, c []*Connection) []*Connection { c[0].OutDegree = nil; return c }, "out-degree"},
		{"nil", func(s *AreaSpec, c []*Connection) []*Connection { return append(c, nil) }, "nil"},
		{"window", func(s *AreaSpec, c []*Connection) []*Connection { c[0].Plasticity = &Plasticity{}; return c }, "window"},
		{"leak", func(s *AreaSpec, c []*Connection) []*Connection { s.Params.LeakPerBurst = 10; return c }, "leak"},
		{"per voxel", func(s *AreaSpec, c []*Connection) []*Connection { s.PerVoxel = 0; return c }, "per voxel"},
		{"ids", func(s *AreaSpec, c []*Connection) []*Connection { s.FirstID = 1<<32 - 2; return c }, "overflow"},
	}
	for _, c := range cases {
		for _, prec := range precisions {
			s, conns := good()
			conns = c.mod(&s, conns)
			_, err := NewEngine(s, prec, conns)
			if !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want ErrPlan mentioning %q", c.name, err, c.want)
			}
		}
	}
	s, c := good()
	if _, err := NewEngine(s, quant.INT8, c); err != nil {
		t.Fatalf("good plan: %v", err)
	}
}

// Step never panics on out-of-range input.
func TestStepIgnoresBadInput(t *testing.T) {
	for _, prec := range precisions {
		c := connect(3, 5, 2, []edge{{0, 1, 1, false}}, 1, true)
		e := mustEngine(t, area(5, 4, 0, nil), prec, []*Connection{c}, Options{})
		e.Step(1, &Input{Points: []Point{{99, 1}}, Fired: [][]uint32{{7, 0}, {1}}, Potentials: [][]float32{{}}})
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, prec := range precisions {
		for _, w := range []int{1, 2} {
			spec, conn, opts, err := LIFRandom(4000, 10, 1)
			if err != nil {
				t.Fatal(err)
			}
			conn.Plasticity = &Plasticity{Window: 2, LTP: 1, LTD: 1}
			r := mustRunner(t, []AreaSpec{area(0, 1, 0, nil), area(1, 1, 1, nil), area(2, 1, 2, nil), spec},
				[]*Connection{conn}, prec, RunnerOptions{Workers: w, Drive: map[int][]Drive{3: opts.Drive}})
			pts := [][]Point{nil, nil, nil, {{5, 1}}}
			for range 30 {
				r.Step(pts)
			}
			if a := testing.AllocsPerRun(50, func() { r.Step(pts) }); a != 0 {
				t.Errorf("%v, %d workers: %v allocations per burst", prec, w, a)
			}
		}
	}
}

func TestHotBytes(t *testing.T) {
	spec, _ := FeagiA1(1000)
	if got := mustEngine(t, spec, quant.FP32, nil, Options{}).HotBytesPerNeuron(); got != 8 {
		t.Errorf("fp32 hot bytes %d, want 8", got)
	}
	if got := mustEngine(t, spec, quant.INT8, nil, Options{}).HotBytesPerNeuron(); got != 4 {
		t.Errorf("int8 hot bytes %d, want 4", got)
	}
	spec.Params.RefractoryBursts = 300 // the countdown needs 16 bits: potential in its own byte
	if got := mustEngine(t, spec, quant.INT8, nil, Options{}).HotBytesPerNeuron(); got != 5 {
		t.Errorf("int8 hot bytes with a long refractory period %d, want 5", got)
	}
}

// FEAGI's A1 rate: about 18.9 % of neurons per burst over bursts 2–101.
func TestFeagiA1Rate(t *testing.T) {
	for _, prec := range precisions {
		spec, opts := FeagiA1(10000)
		e := mustEngine(t, spec, prec, nil, opts)
		e.Step(1, nil)
		spikes := 0
		for b := Burst(2); b <= 101; b++ {
			spikes += len(e.Step(b, nil).Fired)
		}
		if rate := float64(spikes) / 100 / 10000; rate < 0.185 || rate > 0.193 {
			t.Errorf("%v: A1 rate %.4f, want ≈0.189", prec, rate)
		}
	}
}

func TestEmptyAreaAndRunnerErrors(t *testing.T) {
	for _, prec := range precisions {
		spec := AreaSpec{Index: 3, Dims: [3]uint32{4, 0, 2}, PerVoxel: 1,
			Params: Params{Threshold: 1, ThresholdIncrement: [3]float32{1, 1, 1}, Excitability: 1}}
		e := mustEngine(t, spec, prec, nil, Options{Workers: 2})
		if out := e.Step(1, &Input{Points: []Point{{0, 5}}}); len(out.Fired) != 0 {
			t.Errorf("%v: an empty area fired %v", prec, out.Fired)
		}
	}
	a := []AreaSpec{area(0, 1, 0, nil), area(1, 2, 1, nil)}
	cases := map[string]struct {
		areas []AreaSpec
		conns []*Connection
	}{
		"duplicate index": {[]AreaSpec{a[0], a[0]}, nil},
		"index gap":       {[]AreaSpec{a[0], area(2, 1, 3, nil)}, nil},
		"unknown source":  {a, []*Connection{connect(5, 1, 1, nil, 1, true)}},
		"source size":     {a, []*Connection{connect(1, 0, 1, nil, 1, true)}},
		"nil connection":  {a, []*Connection{nil}},
	}
	for name, c := range cases {
		if _, err := NewRunner(c.areas, c.conns, quant.FP32, RunnerOptions{}); !errors.Is(err, ErrPlan) {
			t.Errorf("%s: error %v, want ErrPlan", name, err)
		}
	}
}

// Plasticity timing (docs/semantics.md §3.5): with window 2, the update of burst 2 (both
// ends fired in bursts 1 and 2) is applied before burst 3 propagates.
func TestPlasticityTiming(t *testing.T) {
	for _, prec := range precisions {
		c := connect(3, 4, 1, []edge{{0, 0, 10, false}}, 1, true)
		c.Plasticity = &Plasticity{Window: 2, LTP: 7, LTD: 3}
		areas := []AreaSpec{area(0, 1, 0, nil), area(1, 1, 1, nil), area(2, 1, 2, nil),
			area(3, 1, 3, nil), area(4, 1, 4, func(p *Params) { p.Threshold = 1000 })}
		r := mustRunner(t, areas, []*Connection{c}, prec, RunnerOptions{})
		w := func() uint8 { return r.Engine(4).Incoming()[0].Weight[0] }
		both := [][]Point{nil, nil, nil, {{0, 1}}, {{0, 2000}}}
		var got []uint8
		for b := 0; b < 5; b++ {
			pts := both
			if b >= 3 { // from burst 4 the target stops firing: depression
				pts = [][]Point{nil, nil, nil, {{0, 1}}}
			}
			r.Step(pts)
			got = append(got, w())
		}
		// Applied at the start of bursts 3, 4, 5 (updates of bursts 2, 3, 4).
		if fmt.Sprint(got) != "[10 10 17 24 21]" {
			t.Errorf("%v: weights after each burst %v, want [10 10 17 24 21]", prec, got)
		}
	}
}

// An engine with one worker reads its connections' offsets and targets in
// place; with two workers each shard has its own slice of them.
func TestTablesInPlace(t *testing.T) {
	for _, w := range []int{1, 2} {
		spec, conn, opts, err := LIFRandom(4096, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		opts.Workers = w
		e := mustEngine(t, spec, quant.INT8, []*Connection{conn}, opts)
		tb := &e.conns[0].tabs[0]
		inPlace := &tb.tgt[0] == &conn.Target[0] && &tb.start[0] == &conn.Start[0]
		if inPlace != (w == 1) {
			t.Errorf("%d workers: table in place %v", w, inPlace)
		}
		e.Close()
	}
}
