package npu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// int8 fidelity: the same brain and inputs at fp32 and int8, compared spike
// for spike (feed-forward) or statistically (recurrent, chaotic).

// layeredBrain is a feed-forward stack of layers of n neurons (areas 3…),
// each neuron receiving fanIn random synapses from the layer below (1 in 5
// inhibitory); parameters vary per layer like FEAGI genomes (accumulation on
// or off, leak, refractory, a threshold limit).
func layeredBrain(seed uint64, layers, n, fanIn int) ([]AreaSpec, []*Connection) {
	rng := rand.New(rand.NewPCG(seed, 11))
	areas := []AreaSpec{area(0, 1, 0, nil), area(1, 1, 1, nil), area(2, 1, 2, nil)}
	first := uint32(3)
	for l := 0; l < layers; l++ {
		a := area(3+l, uint32(n), first, func(p *Params) {
			p.Threshold = []float32{1, 2, 0.5, 3}[l%4]
			p.ChargeAccumulation = l%2 == 0
			p.LeakPerBurst = []float32{0.1, 0.5, 0, 0.25}[l%4]
			p.RefractoryBursts = uint16(l % 3)
			p.PSP = 1
			if l%4 == 3 {
				p.ThresholdLimit = 12
			}
		})
		areas = append(areas, a)
		first += a.Neurons()
	}
	var conns []*Connection
	for l := 1; l < layers; l++ {
		var edges []edge
		for s := 0; s < n; s++ {
			for range fanIn {
				edges = append(edges, edge{uint32(s), uint32(rng.IntN(n)), uint8(1 + rng.IntN(2)), rng.IntN(5) == 0})
			}
		}
		conns = append(conns, connect(3+l-1, 3+l, uint32(n), edges, 1, areas[3+l-1].Params.PSPUniform))
	}
	return areas, conns
}

// agreement is |A ∩ B| / |A ∪ B| over (area, neuron, burst) firings.
func agreement(a, b map[[3]uint32]bool) (float64, int, int) {
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 1, 0, 0
	}
	return float64(inter) / float64(union), len(a), len(b)
}

func TestInt8FidelityFeedForward(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		areas, conns := layeredBrain(seed, 6, 300, 4)
		fired := [2]map[[3]uint32]bool{{}, {}}
		for k, prec := range precisions {
			r := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{})
			rng := rand.New(rand.NewPCG(seed, 12))
			for b := 1; b <= 200; b++ {
				pts := make([][]Point, len(areas))
				for range 60 {
					pts[3] = append(pts[3], Point{uint32(rng.IntN(300)), float32(1 + rng.IntN(3))})
				}
				for a, o := range r.Step(pts) {
					for _, i := range o.Fired {
						fired[k][[3]uint32{uint32(a), i, uint32(b)}] = true
					}
				}
			}
		}
		ag, nf, ni := agreement(fired[0], fired[1])
		t.Logf("seed %d: fp32 %d firings, int8 %d, agreement %.4f", seed, nf, ni, ag)
		if ag < 0.99 || nf < 5000 {
			t.Errorf("seed %d: int8 agrees with fp32 on %.2f%% of %d firings, want ≥ 99%%", seed, 100*ag, nf)
		}
	}
}

// lifFidelity runs lif-random at both precisions and returns total spikes
// and the correlation of per-neuron spike counts.
func lifFidelity(t *testing.T, n, bursts int) (s32, s8 int, corr float64) {
	counts := [2][]float64{}
	totals := [2]int{}
	for k, prec := range precisions {
		w, err := NewLIFRandomWorkload(n, 10, 1, prec, 2)
		if err != nil {
			t.Fatal(err)
		}
		counts[k] = make([]float64, n)
		for range bursts {
			for _, i := range w.Step().Fired {
				counts[k][i]++
				totals[k]++
			}
		}
		w.Close()
	}
	return totals[0], totals[1], pearson(counts[0], counts[1])
}

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// lif-random at 10K neurons for 1,000 bursts (the figure): total
// spikes within 1 %, per-neuron counts correlated ≥ 0.99.
func TestInt8FidelityLIFRandom(t *testing.T) {
	n, bursts := 10_000, 1000
	s32, s8, corr := lifFidelity(t, n, bursts)
	diff := float64(s8-s32) / float64(s32)
	t.Logf("lif-random %d×%d: fp32 %d spikes, int8 %d (%+.3f%%), per-neuron correlation %.4f", n, bursts, s32, s8, 100*diff, corr)
	if math.Abs(diff) > 0.01 || corr < 0.99 {
		t.Errorf("int8 total %d vs fp32 %d (%+.2f%%), correlation %.4f; want within 1%% and ≥ 0.99", s8, s32, 100*diff, corr)
	}
}

var _ = quant.FP32
