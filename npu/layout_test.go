package npu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// Every table layout delivers the same sums, bit for bit, for both
// precisions, any worker count, per-synapse and one-value-per-row tables:
// 16-bit targets (areas of at most 1<<16 neurons) or 32-bit, rows padded
// (paddedTable, 16-bit targets only) or not. An area one neuron too big
// keeps 32-bit targets.
func TestTableLayouts(t *testing.T) {
	type layout struct{ narrow, pad bool }
	layouts := []layout{{true, true}, {false, true}, {true, false}, {false, false}}
	var narrow, padded int
	var loops [2][2]int // padded tables reached, by width 8 and by marking
	count := func(r *Runner) (n16, np int) {
		for _, e := range r.Engines() {
			h := e.(*AreaEngine)
			for _, ic := range h.conns {
				for sh, tb := range ic.tabs {
					if tb.tgt16 != nil {
						if !slices.Equal(widen(tb.tgt16), tb.tgt) {
							t.Fatalf("16-bit targets %v differ from %v", tb.tgt16, tb.tgt)
						}
						n16++
					}
					if p := tb.padded; p != nil {
						np++
						loops[p.width/8][b2i(h.shards[sh].allDriven)]++
						checkPadded(t, h.engine, &tb, p, sh)
					}
				}
			}
		}
		return
	}
	for seed := uint64(1); seed <= 8; seed++ {
		areas, conns := randomBrain(seed, seed%2 == 0)
		if seed%4 != 1 {
			uniformWeights(conns)
		}
		// Odd seeds drive every neuron (Options.Drive), so that delivery
		// need not mark candidates.
		drive := map[int][]Drive{}
		if seed%2 == 1 {
			for _, a := range areas {
				drive[a.Index] = []Drive{{0, a.Neurons(), 0.25}}
			}
		}
		for _, prec := range precisions {
			for _, w := range []int{1, 2} {
				var runners []*Runner
				for _, l := range layouts {
					narrowTargets, padRows = l.narrow, l.pad
					runners = append(runners, mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{Workers: w, Drive: drive}))
					narrowTargets, padRows = true, true
					n16, np := count(runners[len(runners)-1])
					if !l.narrow && n16+np != 0 || !l.pad && np != 0 {
						t.Fatalf("layout %+v: %d tables with 16-bit targets, %d padded", l, n16, np)
					}
					if l == layouts[0] {
						narrow, padded = narrow+n16, padded+np
					}
				}
				rng := rand.New(rand.NewPCG(seed, 11))
				for b := 1; b <= 40; b++ {
					pts := randomPoints(rng, areas)
					want := runners[len(runners)-1].Step(pts)
					for li, r := range runners[:len(runners)-1] {
						got := r.Step(pts)
						for a := range areas {
							if !slices.Equal(got[a].Fired, want[a].Fired) || !slices.Equal(bits32(got[a].Potentials), bits32(want[a].Potentials)) {
								t.Fatalf("%v seed %d workers %d burst %d area %d: layout %+v fired %v, 32-bit unpadded %v", prec, seed, w, b, a, layouts[li], got[a].Fired, want[a].Fired)
							}
						}
					}
				}
				for _, r := range runners {
					r.Close()
				}
			}
		}
	}
	// Rows of about 6 targets (lif-random's 12 split between two shards)
	// take the 8-wide loop.
	for _, prec := range precisions {
		for _, driven := range []bool{false, true} {
			spec, conn, opts, err := LIFRandom(3000, 12, 5)
			if err != nil {
				t.Fatal(err)
			}
			opts.Workers = 2
			opts.Drive = nil
			if driven {
				opts.Drive = []Drive{{0, 3000, 0.5}}
			}
			var engines []*AreaEngine
			for _, l := range layouts {
				narrowTargets, padRows = l.narrow, l.pad
				e := mustEngine(t, spec, prec, []*Connection{cloneConns([]*Connection{conn})[0]}, opts)
				narrowTargets, padRows = true, true
				for sh, tb := range e.conns[0].tabs {
					if p := tb.padded; p != nil {
						loops[p.width/8][b2i(e.shards[sh].allDriven)]++
						checkPadded(t, e.engine, &tb, p, sh)
					}
				}
				engines = append(engines, e)
			}
			rng := rand.New(rand.NewPCG(uint64(prec), 13))
			var fired []uint32
			for b := Burst(1); b <= 40; b++ {
				var pts []Point
				for range 300 {
					pts = append(pts, Point{uint32(rng.IntN(3000)), 2})
				}
				in := &Input{Points: pts, Fired: [][]uint32{fired}}
				want := engines[len(engines)-1].Step(b, in)
				for li, e := range engines[:len(engines)-1] {
					got := e.Step(b, in)
					if !slices.Equal(got.Fired, want.Fired) || !slices.Equal(bits32(got.Potentials), bits32(want.Potentials)) {
						t.Fatalf("%v driven %v burst %d: layout %+v fired %d, 32-bit unpadded %d", prec, driven, b, layouts[li], len(got.Fired), len(want.Fired))
					}
				}
				fired = slices.Clone(want.Fired)
			}
			if len(fired) == 0 {
				t.Fatalf("%v driven %v: nothing fired in the last burst", prec, driven)
			}
		}
	}
	if narrow < 20 || padded < 20 || loops[0][0] == 0 || loops[0][1] == 0 || loops[1][0] == 0 || loops[1][1] == 0 {
		t.Fatalf("%d tables with 16-bit targets, %d padded (by width 4/8 and marking: %v): the test does not reach every layout", narrow, padded, loops)
	}
	for _, n := range []int{1 << 16, 1<<16 + 1} {
		spec, conn, opts, err := LIFRandom(n, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		e := mustEngine(t, spec, quant.FP32, []*Connection{conn}, opts)
		if has := e.conns[0].tabs[0].tgt16 != nil; has != (n <= 1<<16) {
			t.Errorf("%d neurons: 16-bit targets %v", n, has)
		}
	}
}

// checkPadded checks that p holds tb's rows in order, each padded to a
// multiple of p.width with the sinks of shard h only.
func checkPadded(t *testing.T, e *engine, tb *table, p *paddedTable, h int) {
	t.Helper()
	for s := 0; s+1 < len(tb.start); s++ {
		row := tb.tgt[tb.start[s]:tb.start[s+1]]
		a, b := p.start[s], p.start[s+1]
		if n := int(b - a); n%p.width != 0 || n < len(row) || n >= len(row)+p.width {
			t.Fatalf("row %d: %d slots for %d targets, width %d", s, n, len(row), p.width)
		}
		for j := range b - a {
			want := e.sinkBase() + sinksPerShard*uint32(h) + 64*uint32(s%8) + j%uint32(p.width)
			if int(j) < len(row) {
				want = row[j]
			}
			if got := uint32(p.tgt16[a+j]); got != want {
				t.Fatalf("row %d slot %d: %d, want %d", s, j, got, want)
			}
		}
	}
}

func widen(v []uint16) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = uint32(x)
	}
	return out
}
