package cortical

import (
	"fmt"
	"math"
	"sort"

	"github.com/spikemesh/spikemesh/npu"
)

// emitter collects the synapses of one connection, rule after rule, as
// (source local, destination local) pairs in creation order (docs/semantics.md §3.4). It
// applies synapse attractivity (docs/semantics.md §5.3, §5.7) to every candidate.
type emitter struct {
	src, dst []uint32
	rng      rng
	attract  float64
	mode     int8 // 1 every candidate, 0 none, -1 draw
	limit    int  // most pairs this connection may hold
	over     bool // limit reached
}

func (e *emitter) setAttractivity(a float64, r rng) {
	e.attract, e.rng = a, r
	switch {
	case a >= 100:
		e.mode = 1
	case a <= 0:
		e.mode = 0
	default:
		e.mode = -1
	}
}

// emit offers one candidate synapse.
func (e *emitter) emit(s, d uint32) {
	switch e.mode {
	case 0:
		return
	case -1:
		if float64(e.rng.below(100)) >= e.attract {
			return
		}
	}
	if len(e.dst) >= e.limit {
		e.over = true
		return
	}
	e.src = append(e.src, s)
	e.dst = append(e.dst, d)
}

// grow runs synaptogenesis for every (source, destination) pair in
// creation order and fills the plan's connections and rule statistics.
func (b *builder) grow() error {
	plan := b.plan
	maxSyn := int64(math.MaxUint32)
	if b.opts.MaxSynapses > 0 && b.opts.MaxSynapses < maxSyn {
		maxSyn = b.opts.MaxSynapses
	}
	var total int64
	e := &emitter{}
	warned := map[string]bool{}
	var outDeg []uint32
	outSrc := -1
	areasDone := 0
	progress := func(done int) {
		if b.opts.Progress != nil {
			b.opts.Progress(done, len(plan.Areas), total)
		}
	}
	for pi := range b.pairs {
		pr := &b.pairs[pi]
		src, dst := &plan.Areas[pr.src], &plan.Areas[pr.dst]
		if pr.src != outSrc {
			if outSrc >= 0 {
				areasDone = outSrc + 1
				progress(areasDone)
			}
			outSrc = pr.src
			outDeg = make([]uint32, src.Neurons())
		}
		e.src, e.dst = e.src[:0], e.dst[:0]
		e.limit = int(min(maxSyn-total, math.MaxInt32*2))
		ends := make([]int, len(pr.rules))
		var plasticity *npu.Plasticity
		for ri, r := range pr.rules {
			start := len(e.dst)
			e.setAttractivity(r.attractivity, newRuleRNG(plan.Seed, pr.src, pr.dst, r.pos))
			if note := b.applyRule(e, src, dst, r, start); note != "" && !warned[note] {
				warned[note] = true
				b.warn(note)
			}
			if e.over {
				return fmt.Errorf("%s: growth exceeds %d synapses", r.path, maxSyn)
			}
			ends[ri] = len(e.dst)
			if r.plastic {
				plasticity = &npu.Plasticity{Window: r.window, LTP: r.ltp, LTD: r.ltd}
			}
			plan.Rules = append(plan.Rules, RuleStat{
				Src: pr.src, Dst: pr.dst, Rule: r.pos, Morphology: r.morph, Synapses: ends[ri] - start,
			})
		}
		c := buildConnection(e, src, pr.rules, ends)
		c.Src, c.Dst = pr.src, pr.dst
		c.Plasticity = plasticity
		for s := range outDeg {
			outDeg[s] += c.Start[s+1] - c.Start[s]
		}
		c.OutDegree = outDeg
		plan.Connections = append(plan.Connections, c)
		total += int64(c.Synapses())
	}
	progress(len(plan.Areas))
	sort.SliceStable(plan.Connections, func(i, j int) bool {
		a, b := plan.Connections[i], plan.Connections[j]
		if a.Dst != b.Dst {
			return a.Dst < b.Dst
		}
		return a.Src < b.Src
	})
	return nil
}

// buildConnection turns the pairs of one connection into compressed rows by
// source neuron, keeping creation order within each source neuron: rules in
// order, then each rule's own order (docs/semantics.md §3.4).
func buildConnection(e *emitter, src *Area, rules []rule, ends []int) *npu.Connection {
	n := int(src.Neurons())
	total := len(e.dst)
	c := &npu.Connection{
		Start:      make([]uint32, n+1),
		Target:     make([]uint32, total),
		Weight:     make([]uint8, total),
		Inhibitory: make([]bool, total),
	}
	c.PSP, c.PSPUniform, c.MPDrivenPSP = src.Params.PSP, src.Params.PSPUniform, src.Params.MPDrivenPSP
	for _, s := range e.src {
		c.Start[s+1]++
	}
	for s := 0; s < n; s++ {
		c.Start[s+1] += c.Start[s]
	}
	nonEmpty := 0
	begin := 0
	for ri := range rules {
		if ends[ri] > begin {
			nonEmpty++
		}
		begin = ends[ri]
	}
	if nonEmpty <= 1 {
		// One rule's pairs are already in ascending source order.
		copy(c.Target, e.dst)
		begin = 0
		for ri, r := range rules {
			fillRule(c, begin, ends[ri], r)
			begin = ends[ri]
		}
		return c
	}
	cursor := make([]uint32, n)
	copy(cursor, c.Start[:n])
	begin = 0
	for ri, r := range rules {
		for i := begin; i < ends[ri]; i++ {
			s := e.src[i]
			pos := cursor[s]
			cursor[s]++
			c.Target[pos] = e.dst[i]
			c.Weight[pos] = r.weight
			c.Inhibitory[pos] = r.inhibitory
		}
		begin = ends[ri]
	}
	return c
}

func fillRule(c *npu.Connection, from, to int, r rule) {
	w := c.Weight[from:to]
	for i := range w {
		w[i] = r.weight
	}
	if r.inhibitory {
		inh := c.Inhibitory[from:to]
		for i := range inh {
			inh[i] = true
		}
	}
}

// applyRule grows one rule into e. start is the index of the rule's first
// pair (earlier pairs belong to earlier rules of the same connection). It
// returns a warning for rules that create nothing by design.
func (b *builder) applyRule(e *emitter, src, dst *Area, r rule, start int) string {
	if r.allToAll {
		allToAll(e, src, dst)
		return ""
	}
	m := b.morphs[r.morph]
	switch m.Type {
	case Vectors:
		vectors(e, src, dst, m.Vectors, start)
	case Patterns:
		patterns(e, src, dst, m.Patterns)
	case Composite:
		return fmt.Sprintf("composite morphology %q creates no synapses (docs/semantics.md §5.7)", r.morph)
	case Functions:
		switch r.morph {
		case "projector":
			projector(e, src, dst)
		case "block_to_block":
			blockToBlock(e, src, dst)
		case "expander_x":
			expander(e, src, dst)
		case "reducer_x":
			reducer(e, src, dst)
		case "randomizer":
			randomizer(e, src, dst)
		case "lateral_pairs_x":
			lateralPairs(e, src, dst)
		case "last_to_first":
			lastToFirst(e, src, dst)
		case "episodic_memory", "memory_replay":
			// Handled by memory areas, which create no synapses here (docs/semantics.md §5.7).
		case "associative_memory":
			return fmt.Sprintf("associative_memory creates no synapses until memory areas exist (docs/semantics.md §2.1); its plasticity mapping is registered")
		default:
			return fmt.Sprintf("function morphology %q is not implemented and creates no synapses (docs/semantics.md §5.7)", r.morph)
		}
	}
	return ""
}
