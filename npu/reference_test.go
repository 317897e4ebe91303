package npu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// naive is a deliberately plain fp32 whole-brain simulator written from
// docs/semantics.md §2.2, §3.1, §3.5, §3.3, §3.4, §3.2 without any of the engine's
// machinery (no shards, no bitmaps, weights read from the connections, the
// plasticity update at the end of each burst as FEAGI does it).
type naive struct {
	areas []AreaSpec
	conns []*Connection // by destination, ascending source
	mp    [][]float32
	cd    [][]uint32
	cnt   [][]uint32
	prev  [][]uint32
	pprev [][]float32
	hist  []map[int][]bool // per area: per burst, fired flags (for plasticity)
	burst Burst
}

func newNaive(areas []AreaSpec, conns []*Connection) *naive {
	nv := &naive{areas: areas, conns: conns}
	for _, a := range areas {
		n := a.Neurons()
		nv.mp = append(nv.mp, make([]float32, n))
		nv.cd = append(nv.cd, make([]uint32, n))
		nv.cnt = append(nv.cnt, make([]uint32, n))
		nv.prev = append(nv.prev, nil)
		nv.pprev = append(nv.pprev, nil)
		nv.hist = append(nv.hist, map[int][]bool{})
	}
	return nv
}

func (nv *naive) threshold(a *AreaSpec, i uint32) float32 {
	p := &a.Params
	n := a.PerVoxel
	v := i / n
	z := v % a.Dims[2]
	y := (v / a.Dims[2]) % a.Dims[1]
	x := v / a.Dims[2] / a.Dims[1]
	inc := func(f float32) float32 {
		if math.Abs(float64(f)) <= 1.1920929e-07 {
			return 0
		}
		return f
	}
	t := p.Threshold + float32(float32(x)*inc(p.ThresholdIncrement[0]))
	t = t + float32(float32(y)*inc(p.ThresholdIncrement[1]))
	return t + float32(float32(z)*inc(p.ThresholdIncrement[2]))
}

func (nv *naive) step(points [][]Point) [][]uint32 {
	nv.burst++
	b := nv.burst
	fired := make([][]uint32, len(nv.areas))
	pots := make([][]float32, len(nv.areas))
	for ai := range nv.areas {
		a := &nv.areas[ai]
		p := &a.Params
		n := a.Neurons()
		sum := make([]float32, n)
		isCand := make([]bool, n)
		add := func(i uint32, v float32) { sum[i] += v; isCand[i] = true }
		if ai < len(points) {
			for _, pt := range points[ai] {
				add(pt.Local, pt.P)
			}
		}
		if ai == PowerArea {
			add(0, 1)
		}
		for _, c := range nv.conns {
			if c.Dst != ai {
				continue
			}
			for k, s := range nv.prev[c.Src] {
				for j := c.Start[s]; j < c.Start[s+1]; j++ {
					psp := float32(c.PSP)
					if c.MPDrivenPSP {
						r := math.Round(float64(nv.pprev[c.Src][k]))
						psp = float32(math.Max(0, math.Min(255, r)))
					}
					v := float32(float32(c.Weight[j]) * psp)
					if c.Inhibitory[j] {
						v = -v
					}
					if !c.PSPUniform && c.OutDegree[s] > 1 {
						v = float32(v / float32(c.OutDegree[s]))
					}
					add(c.Target[j], v)
				}
			}
		}
		L := uint32(p.ConsecutiveLimit)
		limited := L != 0 && L != 65535
		if !limited {
			L = 65535
		}
		limit := float32(math.MaxFloat32)
		if p.ThresholdLimit > 0 {
			limit = p.ThresholdLimit
		}
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
			mp0 := nv.mp[ai][i]
			if !p.ChargeAccumulation {
				mp0 = 0
			}
			m := mp0 + sum[i]
			nv.mp[ai][i] = m
			if m >= nv.threshold(a, i) && m <= limit {
				if nv.cnt[ai][i] >= L {
					nv.cnt[ai][i] = 0
					continue
				}
				e := p.Excitability
				if e >= 0.999 || (e > 0 && ExcitabilityDraw(a.FirstID+i, b) < e) {
					fired[ai] = append(fired[ai], i)
					pots[ai] = append(pots[ai], m)
					nv.mp[ai][i] = 0
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
			nv.mp[ai][i] = float32(m * float32(1-p.LeakPerBurst))
		}
	}
	// Plasticity at the end of the burst, from the ledgers including this one.
	for ai, f := range fired {
		flags := make([]bool, nv.areas[ai].Neurons())
		for _, i := range f {
			flags[i] = true
		}
		nv.hist[ai][int(b)] = flags
	}
	for _, c := range nv.conns {
		pl := c.Plasticity
		if pl == nil || b < Burst(pl.Window) || (pl.LTP == 0 && pl.LTD == 0) {
			continue
		}
		w := int(pl.Window)
		stat := func(area int, i uint32) (any, every bool) {
			every = true
			for t := int(b) - w + 1; t <= int(b); t++ {
				f := nv.hist[area][t][i]
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
	nv.prev, nv.pprev = fired, pots
	return fired
}

// randomBrain builds a random brain: the three core areas and a few regular
// areas with random parameters and connections.
func randomBrain(seed uint64, big bool) ([]AreaSpec, []*Connection) {
	rng := rand.New(rand.NewPCG(seed, 7))
	nAreas := 3 + 2 + rng.IntN(3)
	var areas []AreaSpec
	first := uint32(0)
	for a := 0; a < nAreas; a++ {
		dims := [3]uint32{1, 1, 1}
		pv := uint32(1)
		if a >= 3 {
			dims = [3]uint32{uint32(1 + rng.IntN(8)), uint32(1 + rng.IntN(8)), uint32(1 + rng.IntN(4))}
			pv = uint32(1 + rng.IntN(3))
			if big && a == 3 {
				dims = [3]uint32{20, 20, 5}
			}
		}
		p := Params{
			Threshold:          float32(0.5 + rng.Float64()*3),
			LeakPerBurst:       float32(rng.Float64() * 0.5),
			RefractoryBursts:   uint16(rng.IntN(3)),
			ConsecutiveLimit:   []uint16{0, 65535, 2, 3}[rng.IntN(4)],
			SnoozeBursts:       uint16(rng.IntN(3)),
			Excitability:       []float32{1, 1, 0.6, 0.9995}[rng.IntN(4)],
			ChargeAccumulation: rng.IntN(3) > 0,
			MPDrivenPSP:        rng.IntN(5) == 0,
			PSPUniform:         rng.IntN(2) == 0,
			PSP:                uint8(1 + rng.IntN(3)),
		}
		if rng.IntN(4) == 0 {
			p.ThresholdLimit = p.Threshold * 3
		}
		if rng.IntN(4) == 0 {
			p.ThresholdIncrement = [3]float32{0.1, -0.05, 0.2}
		}
		if rng.IntN(6) == 0 { // a countdown beyond 8 bits: int8 keeps the potential apart
			p.RefractoryBursts, p.SnoozeBursts = 3, 300
		}
		s := AreaSpec{Index: a, Dims: dims, PerVoxel: pv, FirstID: first, Params: p}
		first += s.Neurons()
		areas = append(areas, s)
	}
	outDeg := make([][]uint32, nAreas)
	for a := range areas {
		outDeg[a] = make([]uint32, areas[a].Neurons())
	}
	var conns []*Connection
	for src := 1; src < nAreas; src++ {
		for dst := 3; dst < nAreas; dst++ {
			if rng.IntN(3) == 0 {
				continue
			}
			sn, dn := areas[src].Neurons(), areas[dst].Neurons()
			c := &Connection{Src: src, Dst: dst, Start: make([]uint32, sn+1), OutDegree: outDeg[src],
				PSP: areas[src].Params.PSP, PSPUniform: areas[src].Params.PSPUniform, MPDrivenPSP: areas[src].Params.MPDrivenPSP}
			for s := uint32(0); s < sn; s++ {
				k := rng.IntN(6)
				if src < 3 {
					k = 1 + int(dn/3)
				}
				for range k {
					c.Target = append(c.Target, uint32(rng.IntN(int(dn))))
					c.Weight = append(c.Weight, uint8(rng.IntN(3)))
					c.Inhibitory = append(c.Inhibitory, rng.IntN(5) == 0)
					outDeg[src][s]++
				}
				c.Start[s+1] = uint32(len(c.Target))
			}
			if rng.IntN(4) == 0 {
				c.Plasticity = &Plasticity{Window: uint32(1 + rng.IntN(3)), LTP: uint8(rng.IntN(3)), LTD: uint8(rng.IntN(2))}
			}
			conns = append(conns, c)
		}
	}
	return areas, conns
}

func cloneConns(cs []*Connection) []*Connection {
	var out []*Connection
	for _, c := range cs {
		d := *c
		d.Weight = slices.Clone(c.Weight)
		if c.Plasticity != nil {
			p := *c.Plasticity
			d.Plasticity = &p
		}
		out = append(out, &d)
	}
	return out
}

// randomPoints gives each regular area a few sensory points in some bursts.
func randomPoints(rng *rand.Rand, areas []AreaSpec) [][]Point {
	pts := make([][]Point, len(areas))
	for a := 3; a < len(areas); a++ {
		if rng.IntN(2) == 0 {
			continue
		}
		for range rng.IntN(8) {
			pts[a] = append(pts[a], Point{uint32(rng.IntN(int(areas[a].Neurons()))), float32(rng.Float64() * 3)})
		}
	}
	return pts
}

// The Runner equals the naive simulator bit for bit on random brains.
func TestRunnerMatchesNaive(t *testing.T) {
	spikes, changed := 0, 0
	defer func() {
		if spikes < 1000 || changed == 0 {
			t.Errorf("weak test: %d spikes, %d plastic weight changes", spikes, changed)
		}
	}()
	for seed := uint64(1); seed <= 25; seed++ {
		areas, conns := randomBrain(seed, false)
		nv := newNaive(areas, cloneConns(conns))
		r := mustRunner(t, areas, cloneConns(conns), quant.FP32, RunnerOptions{})
		rng := rand.New(rand.NewPCG(seed, 99))
		for b := 1; b <= 60; b++ {
			pts := randomPoints(rng, areas)
			want := nv.step(pts)
			got := r.Step(pts)
			for a := range areas {
				spikes += len(want[a])
				if !slices.Equal(got[a].Fired, want[a]) {
					t.Fatalf("seed %d burst %d area %d: runner fired %v, naive %v", seed, b, a, got[a].Fired, want[a])
				}
				for k, v := range got[a].Potentials {
					if math.Float32bits(v) != math.Float32bits(nv.pprev[a][k]) {
						t.Fatalf("seed %d burst %d area %d: potential %v, naive %v", seed, b, a, v, nv.pprev[a][k])
					}
				}
			}
		}
		for k, c := range conns {
			if w := r.Engine(c.Dst).Incoming(); c.Plasticity != nil {
				for _, ec := range w {
					if ec.Src == c.Src && !slices.Equal(ec.Weight, c.Weight) {
						changed++
					}
				}
			}
			_ = k
		}
	}
}

// Any worker count gives the same outputs, bit for bit, for both precisions.
func TestWorkerCountDeterminism(t *testing.T) {
	for _, prec := range precisions {
		for seed := uint64(1); seed <= 4; seed++ {
			areas, conns := randomBrain(seed, true)
			var ref []string
			for _, w := range []int{1, 2, 3, 4} {
				r := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{Workers: w})
				rng := rand.New(rand.NewPCG(seed, 5))
				var trace []string
				for b := 0; b < 40; b++ {
					for a, o := range r.Step(randomPoints(rng, areas)) {
						trace = append(trace, fmt.Sprint(a, o.Fired, bits32(o.Potentials)))
					}
				}
				if ref == nil {
					ref = trace
					continue
				}
				for i := range ref {
					if ref[i] != trace[i] {
						t.Fatalf("%v seed %d: %d workers differ from 1 at step %d:\n%s\n%s", prec, seed, w, i, trace[i], ref[i])
					}
				}
			}
		}
	}
}

func bits32(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

// The drive (dense and simple paths) is the same as sensory points listed
// first every burst (bitmap path), bit for bit, for random parameters.
func TestDriveEqualsPoints(t *testing.T) {
	for _, prec := range precisions {
		for seed := uint64(1); seed <= 16; seed++ {
			rng := rand.New(rand.NewPCG(seed, 77))
			n := uint32(700 + rng.IntN(900))
			spec := area(3, n, 100, func(p *Params) {
				p.Threshold = 20
				p.LeakPerBurst = 0.03
				p.RefractoryBursts = uint16(rng.IntN(3))
				if seed%2 == 0 { // a general area
					p.ConsecutiveLimit = uint16(2 + rng.IntN(3))
					p.SnoozeBursts = 2
					p.Excitability = 0.8
					p.ChargeAccumulation = seed%4 == 0
				}
				if seed%3 == 0 {
					p.ThresholdIncrement = [3]float32{0.01, 0, 0}
				}
				if seed%5 == 0 {
					p.ThresholdLimit = 60
				}
			})
			_, conn, _, _ := LIFRandom(int(n), 10, seed)
			conn.Dst, conn.Src = 3, 3
			a0, a1 := uint32(rng.IntN(int(n/3))), uint32(int(n/2)+rng.IntN(int(n/3)))
			drive := []Drive{{a0, a1, 20.2}, {a1, n, 0.2}}
			var pts []Point
			for _, d := range drive {
				for i := d.From; i < d.To; i++ {
					pts = append(pts, Point{i, d.P})
				}
			}
			for _, w := range []int{1, 2} {
				ed := mustEngine(t, spec, prec, []*Connection{cloneConns([]*Connection{conn})[0]}, Options{Drive: drive, Workers: w})
				ep := mustEngine(t, spec, prec, []*Connection{cloneConns([]*Connection{conn})[0]}, Options{})
				var fd, fp []uint32
				total := 0
				for b := Burst(1); b <= 60; b++ {
					extra := []Point{{uint32(rng.IntN(int(n))), 5}}
					od := ed.Step(b, &Input{Points: extra, Fired: [][]uint32{fd}})
					op := ep.Step(b, &Input{Points: append(slices.Clip(pts), extra...), Fired: [][]uint32{fp}})
					if !slices.Equal(od.Fired, op.Fired) || !slices.Equal(bits32(od.Potentials), bits32(op.Potentials)) {
						t.Fatalf("%v seed %d workers %d burst %d: drive fired %d, points %d", prec, seed, w, b, len(od.Fired), len(op.Fired))
					}
					fd, fp = slices.Clone(od.Fired), slices.Clone(op.Fired)
					total += len(od.Fired)
				}
				if total == 0 {
					t.Fatalf("seed %d: nothing fired", seed)
				}
			}
		}
	}
}

// uniformWeights gives every synapse of a source row the weight and sign of
// the row's first, as genomes write them (one weight per rule), so that the
// tables keep one value per row (values32.row, values8.row).
func uniformWeights(conns []*Connection) {
	for _, c := range conns {
		for s := 0; s+1 < len(c.Start); s++ {
			for j := c.Start[s]; j < c.Start[s+1]; j++ {
				c.Weight[j], c.Inhibitory[j] = c.Weight[c.Start[s]], c.Inhibitory[c.Start[s]]
			}
		}
	}
}

// Tables with one value per row take addUniformRows: the same sums, bit for
// bit, as the per-synapse loop, for both precisions and any worker count,
// and for fp32 the naive simulator's.
func TestUniformRows(t *testing.T) {
	uniform := 0
	for seed := uint64(1); seed <= 12; seed++ {
		areas, conns := randomBrain(seed, seed%3 == 0)
		uniformWeights(conns)
		for _, prec := range precisions {
			for _, w := range []int{1, 2} {
				rows := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{Workers: w})
				uniformRows = false
				plain := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{Workers: w})
				uniformRows = true
				var nv *naive
				if prec == quant.FP32 && w == 1 {
					nv = newNaive(areas, cloneConns(conns))
				}
				for _, e := range rows.Engines() {
					h := e.(*AreaEngine)
					for k := range h.conns {
						for s := range h.conns[k].tabs {
							if h.f32.vals != nil && h.f32.vals[k][s].row != nil || h.i8.vals != nil && h.i8.vals[k][s].row != nil {
								uniform++
							}
						}
					}
				}
				rng := rand.New(rand.NewPCG(seed, 5))
				for b := 1; b <= 50; b++ {
					pts := randomPoints(rng, areas)
					got, want := rows.Step(pts), plain.Step(pts)
					var ref [][]uint32
					if nv != nil {
						ref = nv.step(pts)
					}
					for a := range areas {
						if !slices.Equal(got[a].Fired, want[a].Fired) || !slices.Equal(bits32(got[a].Potentials), bits32(want[a].Potentials)) {
							t.Fatalf("%v seed %d workers %d burst %d area %d: uniform rows fired %v, per-synapse loop %v", prec, seed, w, b, a, got[a].Fired, want[a].Fired)
						}
						if ref != nil && !slices.Equal(got[a].Fired, ref[a]) {
							t.Fatalf("seed %d burst %d area %d: uniform rows fired %v, naive %v", seed, b, a, got[a].Fired, ref[a])
						}
					}
				}
				rows.Close()
				plain.Close()
			}
		}
	}
	if uniform < 20 {
		t.Fatalf("only %d tables kept one value per row: the test does not reach addUniformRows", uniform)
	}
}
