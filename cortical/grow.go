package cortical

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/spikemesh/spikemesh/npu"
)

// emitter collects the synapses of one connection, rule after rule, as
// (source local, destination local) pairs in creation order (docs/semantics.md §3.4). It
// applies synapse attractivity (docs/semantics.md §5.3, §5.7) to every
// candidate, and counts growth's work (step) so that growth reports
// progress, stops when cancelled and never works past its budget.
type emitter struct {
	src, dst []uint32
	rng      rng
	attract  float64
	mode     int8 // 1 every candidate, 0 none, -1 draw
	limit    int  // most pairs this connection may hold
	over     bool // stop: limit reached, work budget spent or cancelled

	work       int64 // candidate pairs and other steps so far, all rules
	next       int64 // work at which checkpoint runs next
	checkpoint func(e *emitter)
	stop       error // why growth stopped early (nil: the synapse limit)
}

// checkEvery is the work between two checkpoints (about a millisecond),
// which also run as soon as the work passes its budget.
const checkEvery = 1 << 20

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

// step counts n units of work; every checkEvery units it runs the
// checkpoint, which may stop growth.
func (e *emitter) step(n int64) {
	e.work += n
	if e.work >= e.next && e.checkpoint != nil {
		e.checkpoint(e)
	}
}

// growError is growth stopped: by a limit, or by its context.
type growError struct {
	path, msg string
	cause     error
}

func (g *growError) Error() string { return g.path + ": " + g.msg }

// grow runs synaptogenesis for every (source, destination) pair in
// creation order and fills the plan's connections and rule statistics.
// bounds is, per pair of b.pairs, the estimated synapses of its connection.
func (b *builder) grow(ctx context.Context, bounds []int64) error {
	plan := b.plan
	maxSyn, maxWork := b.lim.synapses, b.lim.pairs
	var total int64
	e := &emitter{next: min(checkEvery, maxWork+1)}
	warned := map[string]bool{}
	var outDeg []uint32
	outSrc := -1
	areasDone := 0
	progress := func(done int) {
		if b.opts.Progress != nil {
			b.opts.Progress(done, len(plan.Areas), total+int64(len(e.dst)))
		}
		if b.opts.WorkProgress != nil {
			b.opts.WorkProgress(e.work, plan.Estimate.Pairs)
		}
	}
	e.checkpoint = func(e *emitter) {
		e.next = min(e.work+checkEvery, maxWork+1)
		switch {
		case ctx.Err() != nil:
			e.over, e.stop = true, ctx.Err()
		case e.work > maxWork:
			e.over, e.stop = true, &LimitError{Limit: "pairs", Need: e.work, Max: maxWork, Raise: b.lim.raise.Pairs}
		default:
			progress(areasDone)
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
		if want := min(bounds[pi], int64(e.limit)); int64(cap(e.dst)) < want {
			// Sized once to the estimate: no copies while appending.
			e.src, e.dst = make([]uint32, 0, want), make([]uint32, 0, want)
		}
		ends := make([]int, len(pr.rules))
		var plasticity *npu.Plasticity
		for ri, r := range pr.rules {
			start := len(e.dst)
			before := e.work
			e.setAttractivity(r.attractivity, newRuleRNG(plan.Seed, pr.src, pr.dst, r.pos))
			if note := b.applyRule(e, src, dst, r, start); note != "" && !warned[note] {
				warned[note] = true
				b.warn(note)
			}
			if err := ctx.Err(); err != nil && e.stop == nil {
				e.over, e.stop = true, err
			}
			if e.over {
				return b.stopped(e, src, dst, r, total)
			}
			ends[ri] = len(e.dst)
			if r.plastic {
				plasticity = &npu.Plasticity{Window: r.window, LTP: r.ltp, LTD: r.ltd}
			}
			plan.Rules = append(plan.Rules, RuleStat{
				Src: pr.src, Dst: pr.dst, Rule: r.pos, Morphology: r.morph, Synapses: ends[ri] - start, Pairs: e.work - before,
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
	e.src, e.dst = nil, nil
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

// stopped is the error of growth stopped in rule r.
func (b *builder) stopped(e *emitter, src, dst *Area, r rule, total int64) error {
	what := fmt.Sprintf("rule %s -> %s [%d] (%s)", areaName(src), areaName(dst), r.pos, r.morph)
	var le *LimitError
	switch {
	case e.stop == nil:
		le = &LimitError{Limit: "synapses", Need: total + int64(len(e.dst)) + 1, Max: b.lim.synapses, Raise: b.lim.raise.Synapses}
	case errors.As(e.stop, &le):
	default:
		return &growError{path: r.path, msg: fmt.Sprintf("growth stopped in %s: %v", what, e.stop), cause: e.stop}
	}
	le.What, le.path, le.Estimate = what, r.path, b.plan.Estimate
	return &growError{path: r.path, msg: le.Error(), cause: le}
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
		if e.mode != 0 {
			allToAll(e, src, dst)
		}
		return ""
	}
	m := b.morphs[r.morph]
	// A rule of attractivity 0 keeps no candidate and draws nothing: its
	// generator is not run at all.
	run := e.mode != 0
	switch m.Type {
	case Vectors:
		if run {
			vectors(e, src, dst, m.Vectors, start)
		}
	case Patterns:
		if run {
			patterns(e, src, dst, m.Patterns)
		}
	case Composite:
		return fmt.Sprintf("composite morphology %q creates no synapses (not implemented)", r.morph)
	case Functions:
		var gen func(e *emitter, src, dst *Area)
		switch r.morph {
		case "projector":
			gen = projector
		case "block_to_block":
			gen = blockToBlock
		case "expander_x":
			gen = expander
		case "reducer_x":
			gen = reducer
		case "randomizer":
			gen = randomizer
		case "lateral_pairs_x":
			gen = lateralPairs
		case "last_to_first":
			gen = lastToFirst
		case "episodic_memory", "memory_replay":
			// Handled by memory areas, which create no synapses here (docs/semantics.md §5.7).
		case "associative_memory":
			return fmt.Sprintf("associative_memory creates no synapses until memory areas are implemented; its plasticity mapping is registered")
		default:
			return fmt.Sprintf("function morphology %q is not implemented and creates no synapses", r.morph)
		}
		if gen != nil && run {
			gen(e, src, dst)
		}
	}
	return ""
}
