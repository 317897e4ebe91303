package npu

import (
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// area returns a 1-D area of n neurons with simple defaults: threshold 1,
// no leak, unlimited, excitability 1, accumulation on.
func area(index int, n uint32, firstID uint32, mod func(p *Params)) AreaSpec {
	s := AreaSpec{Index: index, Dims: [3]uint32{n, 1, 1}, PerVoxel: 1, FirstID: firstID,
		Params: Params{Threshold: 1, Excitability: 1, ChargeAccumulation: true, PSP: 1}}
	if mod != nil {
		mod(&s.Params)
	}
	return s
}

// edge is one synapse for connection builders.
type edge struct {
	s, t uint32
	w    uint8
	inh  bool
}

// connect builds a connection src→dst from edges, which must be grouped by
// ascending source; out-degree is the count within this connection unless
// outDeg is given.
func connect(src, dst int, srcN uint32, edges []edge, psp uint8, uniform bool) *Connection {
	c := &Connection{Src: src, Dst: dst, Start: make([]uint32, srcN+1), OutDegree: make([]uint32, srcN), PSP: psp, PSPUniform: uniform}
	for _, e := range edges {
		c.Target = append(c.Target, e.t)
		c.Weight = append(c.Weight, e.w)
		c.Inhibitory = append(c.Inhibitory, e.inh)
		c.Start[e.s+1]++
		c.OutDegree[e.s]++
	}
	for s := uint32(0); s < srcN; s++ {
		c.Start[s+1] += c.Start[s]
	}
	return c
}

func mustEngine(t testing.TB, spec AreaSpec, prec quant.Precision, in []*Connection, opts Options) *AreaEngine {
	t.Helper()
	e, err := NewEngineWithOptions(spec, prec, in, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func mustRunner(t testing.TB, areas []AreaSpec, conns []*Connection, prec quant.Precision, opts RunnerOptions) *Runner {
	t.Helper()
	r, err := NewRunner(areas, conns, prec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// pattern steps e for bursts with input p to neuron 0 every burst and returns
// its firing pattern as "1" (fired) and "_" (not).
func pattern(e Engine, bursts int, p float32) string {
	var b []byte
	for t := 1; t <= bursts; t++ {
		out := e.Step(Burst(t), &Input{Points: []Point{{0, p}}})
		if len(out.Fired) > 0 && out.Fired[0] == 0 {
			b = append(b, '1')
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}

var precisions = []quant.Precision{quant.FP32, quant.INT8}
