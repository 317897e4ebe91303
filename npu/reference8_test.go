package npu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// naive8 is the int8 counterpart of naive: a plain whole-brain simulator of
// the fixed-point rules (docs/semantics.md §4.2; package quant) without the
// engine's machinery. Per neuron it keeps an int8 code, a countdown and a
// count; per burst it sums every input in fine units with saturating
// additions in the canonical order, compares with the fine threshold and
// limit, and stores through quant.StoreLeak with the dither of (id, burst).
// The quantizer of each area is the engine's (its choice is tested apart);
// every contribution is computed here from the connection's weights:
// exactly ±w·psp/N on a lattice, else the rounded float32 contribution, and
// for potential-driven sources the per-unit-PSP Q8 factor.
type naive8 struct {
	areas []AreaSpec
	conns []*Connection
	qs    []quant.Quantizer
	code  [][]int8
	cd    [][]uint32
	cnt   [][]uint32
	prev  [][]uint32
	pprev [][]float32
	hist  []map[int][]bool
	burst Burst
}

func newNaive8(areas []AreaSpec, conns []*Connection, qs []quant.Quantizer) *naive8 {
	nv := &naive8{areas: areas, conns: conns, qs: qs}
	for a := range areas {
		n := areas[a].Neurons()
		c := make([]int8, n)
		for i := range c {
			c[i] = qs[a].Zero
		}
		nv.code = append(nv.code, c)
		nv.cd = append(nv.cd, make([]uint32, n))
		nv.cnt = append(nv.cnt, make([]uint32, n))
		nv.prev = append(nv.prev, nil)
		nv.pprev = append(nv.pprev, nil)
		nv.hist = append(nv.hist, map[int][]bool{})
	}
	return nv
}

// fine8 is the fine contribution of synapse j of source s of c.
func fine8(q quant.Quantizer, c *Connection, s int, j uint32, potential float32) int32 {
	n := int64(1)
	if !c.PSPUniform && c.OutDegree[s] > 1 {
		n = int64(c.OutDegree[s])
	}
	if c.MPDrivenPSP {
		r := math.Round(float64(potential))
		psp := int64(math.Max(0, math.Min(255, r)))
		k := math.Round(float64(c.Weight[j]) / float64(n) / float64(q.Scale) * 65536)
		if c.Inhibitory[j] {
			k = -k
		}
		v := (int64(k)*psp + 128) >> 8
		return int32(min(max(v, math.MinInt32), math.MaxInt32))
	}
	v := int64(c.Weight[j]) * int64(c.PSP)
	if c.Inhibitory[j] {
		v = -v
	}
	if x, ok := q.FineOfRat(v, n); ok {
		return x
	}
	b := float32(v)
	return q.EncodeFine(float32(b / float32(n)))
}

func (nv *naive8) step(points [][]Point) [][]uint32 {
	nv.burst++
	b := nv.burst
	fired := make([][]uint32, len(nv.areas))
	pots := make([][]float32, len(nv.areas))
	ref := naive{}
	for ai := range nv.areas {
		a := &nv.areas[ai]
		p := &a.Params
		q := nv.qs[ai]
		n := a.Neurons()
		sum := make([]int32, n)
		isCand := make([]bool, n)
		clampIn := func(x int32) int32 { return min(max(x, -inputLimit), inputLimit) }
		if ai < len(points) {
			for _, pt := range points[ai] {
				sum[pt.Local] = clampIn(quant.SatAdd(sum[pt.Local], q.EncodeFine(pt.P)))
				isCand[pt.Local] = true
			}
		}
		if ai == PowerArea {
			sum[0] = clampIn(quant.SatAdd(sum[0], q.EncodeFine(1)))
			isCand[0] = true
		}
		for _, c := range nv.conns {
			if c.Dst != ai {
				continue
			}
			for k, s := range nv.prev[c.Src] {
				for j := c.Start[s]; j < c.Start[s+1]; j++ {
					t := c.Target[j]
					sum[t] = quant.SatAdd(sum[t], fine8(q, c, int(s), j, nv.pprev[c.Src][k]))
					isCand[t] = true
				}
			}
		}
		L := uint32(p.ConsecutiveLimit)
		limited := L != 0 && L != 65535
		if !limited {
			L = 65535
		}
		lim := int32(math.MaxInt32)
		if p.ThresholdLimit > 0 {
			lim = q.LimitFine(p.ThresholdLimit)
		}
		keep := quant.KeepQ15(1 - p.LeakPerBurst)
		for i := uint32(0); i < n; i++ {
			if !isCand[i] {
				continue
			}
			if nv.cd[ai][i] > 0 {
				nv.cd[ai][i]--
				if nv.cd[ai][i] == 0 && limited && nv.cnt[ai][i] >= L {
					nv.cnt[ai][i] = 0
				}
				continue
			}
			x := sum[i]
			if p.ChargeAccumulation {
				x = quant.SatAdd(x, q.FineOf(nv.code[ai][i]))
			}
			d := quant.Dither(a.FirstID+i, b)
			store := func(k int32) {
				if p.ChargeAccumulation {
					nv.code[ai][i] = q.StoreLeak(x, k, d)
				}
			}
			if x >= q.ThresholdFine(ref.threshold(a, i)) && x <= lim {
				if nv.cnt[ai][i] >= L {
					nv.cnt[ai][i] = 0
					store(1 << quant.KeepBits) // blocked: kept without leak
					continue
				}
				e := p.Excitability
				if e >= 0.999 || (e > 0 && ExcitabilityDraw(a.FirstID+i, b) < e) {
					fired[ai] = append(fired[ai], i)
					pots[ai] = append(pots[ai], q.DecodeFine(x))
					nv.code[ai][i] = q.Zero
					nv.cnt[ai][i] = min(nv.cnt[ai][i]+1, 65535)
					if limited && nv.cnt[ai][i] >= L {
						nv.cd[ai][i] = min(uint32(p.RefractoryBursts)+uint32(p.SnoozeBursts), 65535)
					} else {
						nv.cd[ai][i] = uint32(p.RefractoryBursts)
					}
					continue
				}
			}
			if limited {
				nv.cnt[ai][i] = 0
			}
			store(keep)
		}
	}
	for ai, f := range fired {
		flags := make([]bool, nv.areas[ai].Neurons())
		for _, i := range f {
			flags[i] = true
		}
		nv.hist[ai][int(b)] = flags
	}
	plasticUpdate(nv.conns, nv.hist, b)
	nv.prev, nv.pprev = fired, pots
	return fired
}

// plasticUpdate is naive's end-of-burst weight update.
func plasticUpdate(conns []*Connection, hist []map[int][]bool, b Burst) {
	for _, c := range conns {
		pl := c.Plasticity
		if pl == nil || b < Burst(pl.Window) || (pl.LTP == 0 && pl.LTD == 0) {
			continue
		}
		w := int(pl.Window)
		stat := func(area int, i uint32) (any, every bool) {
			every = true
			for t := int(b) - w + 1; t <= int(b); t++ {
				f := hist[area][t][i]
				any = any || f
				every = every && f
			}
			return
		}
		for s := 0; s+1 < len(c.Start); s++ {
			sa, se := stat(c.Src, uint32(s))
			for j := c.Start[s]; j < c.Start[s+1]; j++ {
				ta, te := stat(c.Dst, c.Target[j])
				switch {
				case !sa && !ta:
				case se && te:
					c.Weight[j] = uint8(min(255, int(c.Weight[j])+int(pl.LTP)))
				default:
					c.Weight[j] = uint8(max(0, int(c.Weight[j])-int(pl.LTD)))
				}
			}
		}
	}
}

// latticeBrain is randomBrain with the leak removed from some areas and the
// plasticity from some connections, so that lattice quantizers (exact sums
// and stores) occur next to today's rounding quantizer.
func latticeBrain(seed uint64, big bool) ([]AreaSpec, []*Connection) {
	areas, conns := randomBrain(seed, big)
	rng := rand.New(rand.NewPCG(seed, 31))
	for a := 3; a < len(areas); a++ {
		if rng.IntN(3) > 0 {
			areas[a].Params.LeakPerBurst = 0
			if rng.IntN(2) == 0 {
				areas[a].Params.Threshold = float32(1 + rng.IntN(3))
			}
		}
	}
	for _, c := range conns {
		if rng.IntN(4) > 0 {
			c.Plasticity = nil
		}
		if rng.IntN(2) == 0 {
			c.PSPUniform = true
		}
		c.MPDrivenPSP = c.MPDrivenPSP && rng.IntN(4) == 0
	}
	return areas, conns
}

// The int8 Runner equals naive8 bit for bit on random brains (fired lists
// and firing-time potentials), lattice and rounding quantizers alike, for
// one and two workers.
func TestRunnerMatchesNaive8(t *testing.T) {
	spikes, lattice, rounding := 0, 0, 0
	for seed := uint64(1); seed <= 30; seed++ {
		areas, conns := latticeBrain(seed, seed%5 == 0)
		for _, w := range []int{1, 2} {
			r := mustRunner(t, areas, cloneConns(conns), quant.INT8, RunnerOptions{Workers: w})
			qs := make([]quant.Quantizer, len(areas))
			for a, e := range r.Engines() {
				qs[a] = e.(Inspector).Quantizer()
				if w == 1 && a >= 3 {
					if qs[a].Exact() {
						lattice++
					} else {
						rounding++
					}
				}
			}
			nv := newNaive8(areas, cloneConns(conns), qs)
			rng := rand.New(rand.NewPCG(seed, 99))
			for b := 1; b <= 60; b++ {
				pts := randomPoints(rng, areas)
				want := nv.step(pts)
				got := r.Step(pts)
				for a := range areas {
					spikes += len(want[a])
					if !slices.Equal(got[a].Fired, want[a]) {
						t.Fatalf("seed %d workers %d burst %d area %d (%v): runner fired %v, naive8 %v", seed, w, b, a, qs[a], got[a].Fired, want[a])
					}
					if !slices.Equal(bits32(got[a].Potentials), bits32(nv.pprev[a])) {
						t.Fatalf("seed %d workers %d burst %d area %d: potentials %v, naive8 %v", seed, w, b, a, got[a].Potentials, nv.pprev[a])
					}
				}
			}
		}
	}
	if spikes < 1000 || lattice < 30 || rounding < 10 {
		t.Fatalf("weak test: %d spikes, %d lattice areas, %d rounding areas", spikes, lattice, rounding)
	}
	t.Logf("%d spikes, %d lattice areas, %d rounding areas", spikes, lattice, rounding)
}
