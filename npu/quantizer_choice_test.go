package npu

import (
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// chooseQuantizer takes the lattice of the contributions where it applies
// and today's rounding quantizer elsewhere (the rule of package quant).
func TestChooseQuantizer(t *testing.T) {
	fan := func(w uint8, psp uint8, deg int, inh bool, mod func(c *Connection)) *Connection {
		var edges []edge
		for k := range deg {
			edges = append(edges, edge{0, uint32(k % 4), w, inh})
		}
		c := connect(4, 3, 1, edges, psp, false)
		if mod != nil {
			mod(c)
		}
		return c
	}
	for _, c := range []struct {
		name     string
		mod      func(p *Params)
		in       []*Connection
		exact    bool
		num, den int64
		below    bool // codes below 0
	}{
		{"sevenths", nil, []*Connection{fan(1, 1, 7, false, nil)}, true, 1, 7, false},
		{"sevenths without accumulation", func(p *Params) { p.ChargeAccumulation = false; p.LeakPerBurst = 0.5 }, []*Connection{fan(1, 1, 7, false, nil)}, true, 1, 7, false},
		{"inhibited", func(p *Params) { p.Threshold = 2 }, []*Connection{fan(3, 1, 1, true, nil), fan(1, 1, 1, false, func(c *Connection) { c.Src = 5 })}, true, 1, 1, true},
		{"leak with accumulation", func(p *Params) { p.LeakPerBurst = 0.1 }, []*Connection{fan(1, 1, 7, false, nil)}, false, 0, 0, false},
		{"plastic", nil, []*Connection{fan(1, 1, 7, false, func(c *Connection) { c.Plasticity = &Plasticity{Window: 1, LTP: 1} })}, false, 0, 0, false},
		{"potential-driven", nil, []*Connection{fan(1, 1, 7, false, func(c *Connection) { c.MPDrivenPSP = true })}, false, 0, 0, false},
		{"no input", nil, nil, false, 0, 0, false},
		{"threshold beyond the codes", func(p *Params) { p.Threshold = 100 }, []*Connection{fan(1, 1, 7, false, nil)}, false, 0, 0, false},
	} {
		spec := area(3, 4, 10, c.mod)
		q := chooseQuantizer(&spec, c.in)
		if q.Exact() != c.exact || c.exact && (q.Num != c.num || q.Den != c.den) {
			t.Errorf("%s: %v, want lattice=%v step %d/%d", c.name, q, c.exact, c.num, c.den)
		}
		if c.exact && (q.Zero > quant.MinCode) != c.below {
			t.Errorf("%s: zero code %d, want codes below 0: %v", c.name, q.Zero, c.below)
		}
	}
}
