package actors

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
)

// fakeEngine is a small deterministic engine for runtime tests that do not
// need npu: every input adds to a float32 potential in the canonical order,
// so a wrong merge order or a lost batch changes the spike trains.
type fakeEngine struct {
	spec     npu.AreaSpec
	incoming []*npu.Connection
	mp       []float32
	touched  []bool
	fired    []uint32
	pots     []float32
	panicAt  npu.Burst
	blockAt  npu.Burst
	block    chan struct{} // Step of blockAt waits until it is closed
	last     npu.Burst
}

func newFake(spec npu.AreaSpec, incoming []*npu.Connection) *fakeEngine {
	n := spec.Neurons()
	return &fakeEngine{spec: spec, incoming: incoming, mp: make([]float32, n), touched: make([]bool, n)}
}

func (e *fakeEngine) Spec() *npu.AreaSpec         { return &e.spec }
func (e *fakeEngine) Incoming() []*npu.Connection { return e.incoming }
func (e *fakeEngine) Snapshot() ([]byte, error)   { return nil, nil }
func (e *fakeEngine) Restore([]byte) error        { return nil }
func (e *fakeEngine) HotBytesPerNeuron() int      { return 4 }

func (e *fakeEngine) Step(burst npu.Burst, in *npu.Input) npu.Output {
	if burst == e.panicAt {
		panic("fake engine failure")
	}
	if burst == e.blockAt {
		<-e.block
	}
	if burst != e.last+1 {
		panic(fmt.Sprintf("burst %d after %d", burst, e.last))
	}
	e.last = burst
	if len(in.Fired) != len(e.incoming) {
		panic("Fired not parallel to Incoming")
	}
	for _, p := range in.Points {
		e.mp[p.Local] += p.P
		e.touched[p.Local] = true
	}
	if e.spec.Index == npu.PowerArea {
		e.mp[0] += npu.PowerAmount
		e.touched[0] = true
	}
	for i, c := range e.incoming {
		for j, s := range in.Fired[i] {
			psp := float32(c.PSP)
			if c.MPDrivenPSP {
				psp = in.Potentials[i][j]
			}
			for k := c.Start[s]; k < c.Start[s+1]; k++ {
				v := float32(c.Weight[k]) * psp / float32(c.OutDegree[s])
				if c.Inhibitory[k] {
					v = -v
				}
				e.mp[c.Target[k]] += v
				e.touched[c.Target[k]] = true
			}
		}
	}
	e.fired, e.pots = e.fired[:0], e.pots[:0]
	for i := range e.mp {
		if !e.touched[i] {
			continue
		}
		e.touched[i] = false
		if e.mp[i] >= e.spec.Params.Threshold {
			e.fired = append(e.fired, uint32(i))
			e.pots = append(e.pots, e.mp[i])
			e.mp[i] = 0
		} else {
			e.mp[i] *= 0.9
		}
	}
	return npu.Output{Fired: e.fired, Potentials: e.pots}
}

// fakePlan builds a plan of n areas (the first three are the core areas)
// with random connections, some of them self-connections and some
// mp-driven. Areas 3 and 4 are IPU, the last one OPU.
func fakePlan(seed uint64, n, neurons int) *cortical.Plan {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := &cortical.Plan{}
	first := uint32(0)
	mpDriven := make([]bool, n)
	for i := 0; i < n; i++ {
		size := uint32(neurons)
		if i < 3 {
			size = 1
		}
		kind := cortical.KindCustom
		switch {
		case i < 3:
			kind = cortical.KindCore
		case i == 3 || i == 4:
			kind = cortical.KindIPU
		case i == n-1:
			kind = cortical.KindOPU
		}
		var id cortical.ID
		copy(id[:], fmt.Sprintf("a%07d", i))
		mpDriven[i] = i%4 == 2
		p.Areas = append(p.Areas, cortical.Area{
			AreaSpec: npu.AreaSpec{Index: i, Dims: [3]uint32{size, 1, 1}, PerVoxel: 1, FirstID: first,
				Params: npu.Params{Threshold: 0.9, PSP: 1, MPDrivenPSP: mpDriven[i]}},
			ID: id, Name: fmt.Sprintf("area%d", i), Kind: kind,
		})
		first += size
	}
	outDeg := make([][]uint32, n)
	for i := range outDeg {
		outDeg[i] = make([]uint32, p.Areas[i].Neurons())
	}
	var conns []*npu.Connection
	for dst := 0; dst < n; dst++ {
		for src := 0; src < n; src++ {
			if dst < 3 && !(dst == 0 && src == 1) || rng.IntN(3) != 0 && !(src == 1 && dst == 3) {
				continue
			}
			sn, dn := p.Areas[src].Neurons(), p.Areas[dst].Neurons()
			c := &npu.Connection{Src: src, Dst: dst, Start: make([]uint32, sn+1), OutDegree: outDeg[src],
				PSP: 1, MPDrivenPSP: mpDriven[src]}
			for s := uint32(0); s < sn; s++ {
				for k := rng.IntN(4); k > 0; k-- {
					c.Target = append(c.Target, uint32(rng.IntN(int(dn))))
					c.Weight = append(c.Weight, uint8(1+rng.IntN(3)))
					c.Inhibitory = append(c.Inhibitory, rng.IntN(5) == 0)
					outDeg[src][s]++
				}
				c.Start[s+1] = uint32(len(c.Target))
			}
			conns = append(conns, c)
		}
	}
	for _, c := range conns {
		for s := range c.OutDegree {
			if c.OutDegree[s] == 0 {
				c.OutDegree[s] = 1
			}
		}
	}
	p.Connections = conns
	return p
}

// fakeEngines builds one fakeEngine per area of p.
func fakeEngines(p *cortical.Plan) ([]npu.Engine, []*fakeEngine) {
	engines := make([]npu.Engine, len(p.Areas))
	fakes := make([]*fakeEngine, len(p.Areas))
	for i := range p.Areas {
		var inc []*npu.Connection
		for _, c := range p.Connections {
			if c.Dst == i {
				inc = append(inc, c)
			}
		}
		fakes[i] = newFake(p.Areas[i].AreaSpec, inc)
		engines[i] = fakes[i]
	}
	return engines, fakes
}

// sequential runs p with fresh fake engines in one goroutine, area by area,
// and returns the fired neurons per burst per area.
func sequential(p *cortical.Plan, bursts int, sensors Sensors) [][][]uint32 {
	_, fakes := fakeEngines(p)
	n := len(p.Areas)
	var out [][][]uint32
	prev := make([][]uint32, n)
	prevPot := make([][]float32, n)
	points := make([][]npu.Point, n)
	for b := npu.Burst(1); b <= npu.Burst(bursts); b++ {
		clear(points)
		if sensors != nil {
			sensors.Points(b, points)
		}
		fired := make([][]uint32, n)
		pots := make([][]float32, n)
		for i, e := range fakes {
			in := npu.Input{Points: points[i]}
			for _, c := range e.incoming {
				in.Fired = append(in.Fired, prev[c.Src])
				in.Potentials = append(in.Potentials, prevPot[c.Src])
			}
			o := e.Step(b, &in)
			fired[i] = slices.Clone(o.Fired)
			pots[i] = slices.Clone(o.Potentials)
		}
		prev, prevPot = fired, pots
		rec := make([][]uint32, n)
		for i := range fired {
			if len(fired[i]) > 0 {
				rec[i] = fired[i]
			}
		}
		out = append(out, rec)
	}
	return out
}

// pulses drives the IPU areas 3 and 4 every third burst.
type pulses struct{ neurons int }

func (s pulses) Points(b npu.Burst, points [][]npu.Point) {
	if b%3 != 1 {
		return
	}
	for _, a := range []int{3, 4} {
		var ps []npu.Point
		for i := 0; i < s.neurons; i += 2 {
			ps = append(ps, npu.Point{Local: uint32(i), P: 0.5 + float32(i%3)})
		}
		points[a] = ps
	}
}
