package brain

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

// Synthetic describes the scale-out benchmark's brain (Config.Synthetic,
// --synthetic K,N,F): K equal areas of N/K neurons (N in all), each neuron
// with F excitatory synapses to targets drawn uniformly from all N neurons,
// so that areas are wired within and between each other as the lif-random
// workload wires one area: threshold 20, leak 0.03, refractory 2, charge
// accumulation, weight 3; every burst the first 5 % of each area's neurons
// receive 20.2 and the others 0.2 as a constant drive.
type Synthetic struct {
	Areas, Neurons, Fanout int
	Seed                   uint64
}

// ParseSynthetic reads "K,N,F".
func ParseSynthetic(s string) (Synthetic, error) {
	parts := strings.Split(s, ",")
	var v [3]int
	if len(parts) != 3 {
		return Synthetic{}, fmt.Errorf("--synthetic %q: want AREAS,NEURONS,FANOUT", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return Synthetic{}, fmt.Errorf("--synthetic %q: %q is not a whole number", s, p)
		}
		v[i] = n
	}
	sy := Synthetic{Areas: v[0], Neurons: v[1], Fanout: v[2], Seed: 1}
	if sy.Areas < 1 || sy.Neurons < sy.Areas || int64(sy.Neurons)*int64(sy.Fanout) > 1<<31 {
		return Synthetic{}, fmt.Errorf("--synthetic %q: want 1 ≤ AREAS ≤ NEURONS and NEURONS×FANOUT ≤ 2^31", s)
	}
	return sy, nil
}

// String is the "K,N,F" form.
func (s Synthetic) String() string { return fmt.Sprintf("%d,%d,%d", s.Areas, s.Neurons, s.Fanout) }

// Plan builds the synthetic brain: the three core areas (one neuron each,
// unconnected) and the K areas, with each area's constant drive by area
// index.
func (s Synthetic) Plan(prec quant.Precision) (*cortical.Plan, [][]npu.Drive) {
	k := s.Areas
	per := s.Neurons / k
	p := &cortical.Plan{Precision: prec, Seed: s.Seed,
		Genome: cortical.GenomeInfo{ID: "synthetic " + s.String(), Title: "synthetic", Format: "synthetic"}}
	drives := make([][]npu.Drive, k+3)
	first := uint32(0)
	params := npu.Params{Threshold: 20, LeakPerBurst: 0.03, RefractoryBursts: 2, Excitability: 1,
		ChargeAccumulation: true, PSP: 1, PSPUniform: true}
	for i := range k + 3 {
		size := uint32(per)
		kind := cortical.KindCustom
		name := fmt.Sprintf("area%d", i-3)
		if i < 3 {
			size, kind, name = 1, cortical.KindCore, [3]string{"___death", "___power", "___fatig"}[i]
		}
		var id cortical.ID
		copy(id[:], fmt.Sprintf("syn%05d", i))
		if i < 3 {
			copy(id[:], name+"  ")
		}
		p.Areas = append(p.Areas, cortical.Area{
			AreaSpec: npu.AreaSpec{Index: i, Dims: [3]uint32{size, 1, 1}, PerVoxel: 1, FirstID: first, Params: params},
			ID:       id, Name: name, Kind: kind,
		})
		first += size
		if i >= 3 {
			driven := size / 20
			if driven > 0 {
				drives[i] = append(drives[i], npu.Drive{From: 0, To: driven, P: 20.2})
			}
			drives[i] = append(drives[i], npu.Drive{From: driven, To: size, P: 0.2})
		}
	}
	// Targets uniform over every neuron of the K areas, grouped into one
	// connection per (source area, destination area).
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9E3779B97F4A7C15))
	conns := make([][]*npu.Connection, k)
	for src := range k {
		conns[src] = make([]*npu.Connection, k)
		for dst := range k {
			conns[src][dst] = &npu.Connection{Src: src + 3, Dst: dst + 3, Start: make([]uint32, per+1),
				OutDegree: make([]uint32, per), PSP: 1, PSPUniform: true}
		}
		for n := range per {
			for range s.Fanout {
				g := rng.IntN(per * k)
				c := conns[src][g/per]
				c.Target = append(c.Target, uint32(g%per))
				c.Weight = append(c.Weight, 3)
				c.Inhibitory = append(c.Inhibitory, false)
				c.OutDegree[n]++
			}
			for dst := range k {
				c := conns[src][dst]
				c.Start[n+1] = uint32(len(c.Target))
			}
		}
	}
	for dst := range k {
		for src := range k {
			if c := conns[src][dst]; len(c.Target) > 0 {
				p.Connections = append(p.Connections, c)
			}
		}
	}
	return p, drives
}
