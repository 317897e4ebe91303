package cortical_test

import (
	"fmt"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

// Int8 fidelity on the shipped genomes: the same brain and the same recorded
// input schedule, run once with float32 state and once with 8-bit fixed-point
// state; the firings, as (area, neuron, burst) triples, must agree on at
// least 99.96 % of their union, and on all of it when the inputs are
// multiples of a quarter of the threshold (grid).

const fidelityBursts = 120

// fidelitySchedule is a fixed input schedule: on two of every three bursts,
// every source area (IPU areas, or areas nothing projects to) receives points
// on a deterministic, burst-dependent subset of its voxels, with potentials
// spread from a quarter of the area's threshold to four times it. With grid
// set, the potentials are multiples of a quarter of the threshold, so sums hit
// the threshold exactly (the hardest case for a quantizer); otherwise they
// take 1,000 values in that range.
func fidelitySchedule(p *cortical.Plan, grid bool) [][][]npu.Point {
	hasInput := make([]bool, len(p.Areas))
	for _, c := range p.Connections {
		hasInput[c.Dst] = true
	}
	sched := make([][][]npu.Point, fidelityBursts+1)
	for b := 1; b <= fidelityBursts; b++ {
		sched[b] = make([][]npu.Point, len(p.Areas))
		if b%3 == 0 {
			continue
		}
		for i := range p.Areas {
			a := &p.Areas[i]
			if a.Kind == cortical.KindCore || (a.Kind != cortical.KindIPU && hasInput[i]) {
				continue
			}
			th := a.Params.Threshold
			if th <= 0 {
				th = 1
			}
			var pts []npu.Point
			for x := uint32(0); x < a.Dims[0]; x++ {
				for y := uint32(0); y < a.Dims[1]; y++ {
					for z := uint32(0); z < a.Dims[2]; z++ {
						h := mix(uint64(i)<<40 ^ uint64(b)<<20 ^ uint64(x)<<12 ^ uint64(y)<<4 ^ uint64(z))
						if h%8 != 0 { // about one voxel in eight
							continue
						}
						local, _ := a.VoxelTarget(x, y, z)
						p := th * (0.25 + float32(h>>8%1000)/266)
						if grid {
							p = th * (0.25 + float32(h>>8%16)/4)
						}
						pts = append(pts, npu.Point{Local: local, P: p})
					}
				}
			}
			sched[b][i] = pts
		}
	}
	return sched
}

func mix(v uint64) uint64 {
	v ^= v >> 33
	v *= 0xff51afd7ed558ccd
	v ^= v >> 33
	v *= 0xc4ceb9fe1a85ec53
	return v ^ v>>33
}

func fire(t *testing.T, p *cortical.Plan, prec quant.Precision, sched [][][]npu.Point) map[[3]uint32]bool {
	t.Helper()
	specs := make([]npu.AreaSpec, len(p.Areas))
	for i := range p.Areas {
		specs[i] = p.Areas[i].AreaSpec
	}
	r, err := npu.NewRunner(specs, p.Connections, prec, npu.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fired := map[[3]uint32]bool{}
	for b := 1; b <= fidelityBursts; b++ {
		for a, out := range r.Step(sched[b]) {
			for _, n := range out.Fired {
				fired[[3]uint32{uint32(a), n, uint32(b)}] = true
			}
		}
	}
	return fired
}

func TestInt8FidelityShippedGenomes(t *testing.T) {
	for _, name := range genomes.Names() {
		for _, grid := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/grid=%v", name, grid), func(t *testing.T) {
				fidelity(t, name, grid)
			})
		}
	}
}

func fidelity(t *testing.T, name string, grid bool) {
	data, err := genomes.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cortical.Load(data, name, cortical.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sched := fidelitySchedule(p, grid)
	f32 := fire(t, p, quant.FP32, sched)
	i8 := fire(t, p, quant.INT8, sched)
	inter := 0
	for k := range f32 {
		if i8[k] {
			inter++
		}
	}
	union := len(f32) + len(i8) - inter
	if len(p.Areas) > 3 && len(f32) <= fidelityBursts {
		t.Fatalf("fp32 run fired only %d times in %d bursts: the schedule drives nothing beyond power", len(f32), fidelityBursts)
	}
	agree := float64(inter) / float64(union)
	t.Logf("fp32 %d firings, int8 %d, agreement %.5f", len(f32), len(i8), agree)
	want := 0.9996
	if grid {
		want = 1
	}
	if agree < want {
		t.Errorf("int8 agrees with fp32 on %.5f of firings, want >= %g (fp32 %d, int8 %d)", agree, want, len(f32), len(i8))
	}
}
