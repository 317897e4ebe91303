package cortical

import (
	"fmt"
	"github.com/spikemesh/spikemesh/internal/units"
	"math"
	"slices"
)

// This file sizes growth before it runs: for every rule, from the shapes of
// its two areas and its morphology alone (closed forms, no loop over pairs),
// the synapses it can create, the work it will do and the memory they take.
// Load refuses a genome whose estimate passes a limit of Options before it
// allocates anything for synapses, naming the rule that crosses the limit.

// Default limits, used when the Options field is 0.
const (
	// DefaultMaxNeurons is the neuron id space (32-bit global ids).
	DefaultMaxNeurons = math.MaxUint32
	// DefaultMaxSynapses is the most one plan holds (32-bit row offsets).
	DefaultMaxSynapses = math.MaxUint32
	// DefaultMaxMemory is the memory bound of a library caller that does
	// not know its machine; node derives its default from the machine.
	DefaultMaxMemory = 4 << 30
	// DefaultMaxPairs bounds growth's work: a few seconds to a minute.
	DefaultMaxPairs = 1 << 31
)

// Memory allowances of the estimate, in bytes. The plan holds, per synapse,
// its target (4), weight (1) and sign (1), and per source neuron of each
// connection a row offset (4) plus its out-degree (4, once per source
// area). While a connection grows, growth holds its (source, target) pairs
// (8 per synapse). The engines that run the plan hold, per neuron, their
// state and output buffers, and per synapse a target and a contribution
// (plus the synapse's index when the connection is plastic).
const (
	planSynapseBytes    = 6
	rowBytes            = 4
	scratchPairBytes    = 8
	engineNeuronBytes   = 40
	engineSynapseBytes  = 12
	plasticSynapseBytes = 4
	earlierPairBytes    = 48 // the set of a connection's earlier pairs a later vectors rule skips
)

// Estimate is the size of a brain before it is grown. Synapse counts are
// exact for most rules and upper bounds otherwise (patterns whose pattern
// pairs overlap, vectors repeating an earlier rule's pairs); for a rule with
// a synapse attractivity between 0 and 100 the count is a bound that the
// seeded draw exceeds with negligible probability (mean plus six standard
// deviations).
type Estimate struct {
	Neurons  int64
	Synapses int64
	// Bytes is the memory of the plan and of the engines that run it, at
	// its peak (growth's scratch or the engines, whichever is larger).
	Bytes int64
	// Pairs is growth's work: every candidate synapse a rule evaluates,
	// plus one step per source voxel a rule visits (per vector or pattern
	// pair it tests there).
	Pairs int64
	Rules []RuleEstimate // in creation order, like Plan.Rules
}

// RuleEstimate is the estimate of one mapping rule.
type RuleEstimate struct {
	Src, Dst         int    // area indices
	SrcName, DstName string // the areas as the genome names them
	Rule             int    // position in the source area's rule list for that destination
	Morphology       string
	Path             string // JSON path of the rule in the genome
	Synapses         int64
	Pairs            int64
	Bytes            int64 // what its synapses take in the plan and the engines
}

// LimitError is a genome refused because its brain would pass a limit of
// Options. It is the cause (errors.As) of the *LoadError that Load returns.
type LimitError struct {
	Limit string // "neurons", "synapses", "memory" or "pairs"
	// What names the area or rule whose growth crosses the limit, e.g.
	// "rule c__src -> c__dst [0] (projector)".
	What      string
	Need, Max int64  // what the brain would reach at that point, and the limit
	Raise     string // how to raise the limit (a flag, or the Options field)
	// Estimate is the estimate so far (all areas and the rules up to the
	// one named), nil when the neurons alone are over the limit.
	Estimate *Estimate

	path string // JSON path of the area or rule
}

func (e *LimitError) Error() string {
	need, limit := fmt.Sprint(e.Need), fmt.Sprint(e.Max)
	unit := " " + e.Limit
	switch e.Limit {
	case "memory":
		need, limit, unit = FormatBytes(e.Need), FormatBytes(e.Max), ""
	case "pairs":
		unit = " candidate pairs"
	}
	verb := "takes the brain to"
	if e.Limit == "pairs" {
		verb = "takes growth's work to"
	}
	return fmt.Sprintf("%s %s %s%s, over the limit of %s%s (raise it with %s)", e.What, verb, need, unit, limit, unit, e.Raise)
}

// FormatBytes writes a byte count with a binary unit (units.Bytes).
func FormatBytes(n int64) string { return units.Bytes(n) }

// limits are the resolved limits of one load.
type limits struct {
	neurons, synapses, memory, pairs int64
	raise                            LimitNames
}

func (o Options) limits() limits {
	pick := func(v, def int64) int64 {
		if v > 0 {
			return v
		}
		return def
	}
	l := limits{
		neurons:  min(pick(o.MaxNeurons, DefaultMaxNeurons), DefaultMaxNeurons),
		synapses: min(pick(o.MaxSynapses, DefaultMaxSynapses), DefaultMaxSynapses),
		memory:   pick(o.MaxMemory, DefaultMaxMemory),
		pairs:    pick(o.MaxPairs, DefaultMaxPairs),
		raise:    o.LimitNames,
	}
	def := func(s *string, field string) {
		if *s == "" {
			*s = "Options." + field
		}
	}
	def(&l.raise.Neurons, "MaxNeurons")
	def(&l.raise.Synapses, "MaxSynapses")
	def(&l.raise.Memory, "MaxMemory")
	def(&l.raise.Pairs, "MaxPairs")
	return l
}

// Saturating int64 arithmetic on non-negative values.
func addSat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

func mulSat64(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func voxels(a *Area) int64 {
	return int64(a.Dims[0]) * int64(a.Dims[1]) * int64(a.Dims[2])
}

// ruleSize is what one rule does, from the shapes of its areas alone.
type ruleSize struct {
	cand    int64 // candidate synapses it offers
	work    int64 // cand plus its other steps (voxels visited, patterns tested, targets listed)
	scratch int64 // bytes its generator holds while it runs
}

// sizeRule mirrors applyRule and the generators (morph_*.go): each count
// here is what the generator's calls to emitter.step add up to, or more.
func (b *builder) sizeRule(src, dst *Area, r rule) ruleSize {
	S, n, D := voxels(src), int64(src.PerVoxel), voxels(dst)
	walk := func(cand, cost int64) ruleSize {
		return ruleSize{cand: cand, work: addSat(cand, mulSat64(S, max(cost, 1)))}
	}
	if r.allToAll {
		rs := walk(mulSat64(mulSat64(n, S), D), 1)
		rs.work = addSat(rs.work, D)
		rs.scratch = 4 * D
		return rs
	}
	m := b.morphs[r.morph]
	switch m.Type {
	case Vectors:
		return sizeVectors(src, dst, m.Vectors)
	case Patterns:
		return sizePatterns(src, dst, m.Patterns)
	case Functions:
		switch r.morph {
		case "projector":
			cand := n
			var axes int64
			for a := range 3 {
				cand = mulSat64(cand, int64(max(src.Dims[a], dst.Dims[a])))
				axes += 16 * (int64(src.Dims[a]) + int64(dst.Dims[a]) + 1)
			}
			rs := walk(cand, 1)
			rs.scratch = 4*D + axes
			return rs
		case "block_to_block":
			return walk(S, 1)
		case "expander_x", "randomizer":
			return walk(mulSat64(n, S), 1)
		case "reducer_x":
			nbits := min(dst.Dims[0], 32)
			var set int64 // Σ over x < W of the bits of x below nbits
			w := int64(src.Dims[0])
			for i := range int64(nbits) {
				period := int64(1) << (i + 1)
				set += (w/period)<<i + max(0, w%period-int64(1)<<i)
			}
			cand := mulSat64(mulSat64(set, int64(src.Dims[1])*int64(src.Dims[2])), n)
			return walk(cand, int64(nbits))
		case "lateral_pairs_x":
			w, dw := int64(src.Dims[0]), int64(dst.Dims[0])
			xs := min(w, dw)/2 + min(w, dw+1)/2
			cand := xs * int64(min(src.Dims[1], dst.Dims[1])) * int64(min(src.Dims[2], dst.Dims[2]))
			return walk(mulSat64(cand, n), 1)
		case "last_to_first":
			return ruleSize{cand: n, work: n}
		}
	}
	return ruleSize{}
}

// sizeVectors counts, per distinct vector, the source voxels whose shifted
// voxel lies inside the destination, axis by axis: exact.
func sizeVectors(src, dst *Area, vecs [][3]int64) ruleSize {
	var uniq [][3]int64
	for _, v := range vecs {
		if !slices.Contains(uniq, v) {
			uniq = append(uniq, v)
		}
	}
	var inside int64
	for _, v := range uniq {
		c := int64(1)
		for a := range 3 {
			s, d := int64(src.Dims[a]), int64(dst.Dims[a])
			c *= max(0, min(s, d-v[a])-max(0, -v[a]))
		}
		inside = addSat(inside, c)
	}
	cand := mulSat64(inside, int64(src.PerVoxel))
	return ruleSize{
		cand:    cand,
		work:    addSat(cand, mulSat64(voxels(src), int64(max(len(uniq), 1)))),
		scratch: 4 * int64(len(uniq)),
	}
}

// sizePatterns sums, per pattern pair and axis, the destination coordinates
// of every matching source coordinate (the axes are independent, so a
// pair's total is the product of its axis sums).
func sizePatterns(src, dst *Area, pairs []PatternPair) ruleSize {
	var gen, perVoxel int64
	for i := range pairs {
		total, most := int64(1), int64(1)
		for a := range 3 {
			s, m := axisSize(pairs[i].Src[a], pairs[i].Dst[a], int64(src.Dims[a]), int64(dst.Dims[a]))
			total = mulSat64(total, s)
			most = mulSat64(most, m)
		}
		gen = addSat(gen, total)
		perVoxel = addSat(perVoxel, most)
	}
	S, D := voxels(src), voxels(dst)
	// The targets of one voxel are de-duplicated: at most every voxel.
	cand := mulSat64(min(gen, mulSat64(S, D)), int64(src.PerVoxel))
	work := addSat(addSat(cand, gen), mulSat64(S, int64(max(len(pairs), 1))))
	scratch := addSat(mulSat64(4, perVoxel), 4*(int64(dst.Dims[0])+int64(dst.Dims[1])+int64(dst.Dims[2])))
	return ruleSize{cand: cand, work: work, scratch: scratch}
}

// axisSize is, for one axis of a pattern pair with source size s and
// destination size d, the number of destination coordinates summed over
// the matching source coordinates, and their most for one coordinate.
func axisSize(ps, pd PatternElem, s, d int64) (sum, most int64) {
	size := func(c int64) int64 { // |axisSet(pd, c, d)|
		in := int64(0)
		if c < d {
			in = 1
		}
		switch pd.Op {
		case '*':
			return d
		case '?':
			return in
		case '!':
			return d - in
		}
		if pd.Value < d {
			return 1
		}
		return 0
	}
	if ps.Op == 0 { // one source coordinate
		if ps.Value >= s {
			return 0, 0
		}
		v := size(ps.Value)
		return v, v
	}
	both := min(s, d)
	switch pd.Op {
	case '*':
		return s * d, d
	case '?':
		return both, 1
	case '!':
		if s > d {
			return s*d - both, d
		}
		return s*d - both, d - 1
	}
	if pd.Value < d {
		return s, 1
	}
	return 0, 0
}

// synapseBound turns a rule's candidates into the synapses it can create
// at attractivity a (a candidate is kept when a draw below 100 is
// below a).
func synapseBound(cand int64, a float64) int64 {
	switch {
	case a >= 100:
		return cand
	case a <= 0 || cand == 0:
		return 0
	}
	p := math.Ceil(a) / 100
	c := float64(cand)
	bound := p*c + 6*math.Sqrt(c*p*(1-p)) + 1
	if bound >= c {
		return cand
	}
	return int64(bound)
}

// estimate sizes every rule in creation order and checks the limits,
// returning the estimate, the synapse bound of every connection (index of
// b.pairs) and the first limit crossed, if any.
func (b *builder) estimate(l limits) (*Estimate, []int64, *LimitError) {
	plan := b.plan
	est := &Estimate{}
	for i := range plan.Areas {
		est.Neurons += int64(plan.Areas[i].Neurons())
	}
	// Engine state of every neuron, then per area until one crosses.
	var base int64
	for i := range plan.Areas {
		a := &plan.Areas[i]
		base = addSat(base, mulSat64(int64(a.Neurons()), engineNeuronBytes))
		if base > l.memory {
			est.Bytes = base
			return est, nil, &LimitError{Limit: "memory", What: fmt.Sprintf("area %s of %dx%dx%d x %d neurons", areaName(a),
				a.Dims[0], a.Dims[1], a.Dims[2], a.PerVoxel), Need: base, Max: l.memory, Raise: l.raise.Memory, Estimate: est, path: b.areaPath(a)}
		}
	}
	var rows, planSyn, engineSyn, scratch int64
	conns := make([]int64, len(b.pairs))
	lastSrc := -1
	for pi := range b.pairs {
		pr := &b.pairs[pi]
		src, dst := &plan.Areas[pr.src], &plan.Areas[pr.dst]
		nsrc := int64(src.Neurons())
		rows = addSat(rows, 2*rowBytes*(nsrc+1)) // plan and engine row offsets
		if pr.src != lastSrc {
			rows = addSat(rows, rowBytes*nsrc) // out-degree
			lastSrc = pr.src
		}
		plastic := false
		for _, r := range pr.rules {
			plastic = plastic || r.plastic
		}
		perSyn := int64(planSynapseBytes + engineSynapseBytes)
		if plastic {
			perSyn += plasticSynapseBytes
		}
		var connSyn, connScratch int64
		if len(pr.rules) > 1 {
			connScratch = rowBytes * nsrc // buildConnection's cursor
		}
		for _, r := range pr.rules {
			var rs ruleSize
			if r.attractivity > 0 {
				rs = b.sizeRule(src, dst, r)
			}
			syn := synapseBound(rs.cand, r.attractivity)
			re := RuleEstimate{Src: pr.src, Dst: pr.dst, SrcName: areaName(src), DstName: areaName(dst), Rule: r.pos, Morphology: r.morph, Path: r.path,
				Synapses: syn, Pairs: rs.work, Bytes: mulSat64(syn, perSyn)}
			est.Rules = append(est.Rules, re)
			extra := rs.scratch
			if m := b.morphs[r.morph]; !r.allToAll && m != nil && m.Type == Vectors && connSyn > 0 {
				extra = addSat(extra, mulSat64(connSyn, earlierPairBytes))
			}
			connSyn = addSat(connSyn, syn)
			connScratch = max(connScratch, extra)
			est.Synapses = addSat(est.Synapses, syn)
			est.Pairs = addSat(est.Pairs, rs.work)
			planSyn = addSat(planSyn, mulSat64(syn, planSynapseBytes))
			engineSyn = addSat(engineSyn, mulSat64(syn, perSyn-planSynapseBytes))
			scratch = max(scratch, addSat(mulSat64(connSyn, scratchPairBytes), connScratch))
			est.Bytes = addSat(addSat(base, rows), addSat(planSyn, max(scratch, engineSyn)))
			what := fmt.Sprintf("rule %s -> %s [%d] (%s)", areaName(src), areaName(dst), r.pos, r.morph)
			switch {
			case est.Pairs > l.pairs:
				return est, nil, &LimitError{Limit: "pairs", What: what, Need: est.Pairs, Max: l.pairs, Raise: l.raise.Pairs, Estimate: est, path: r.path}
			case est.Synapses > l.synapses:
				return est, nil, &LimitError{Limit: "synapses", What: what, Need: est.Synapses, Max: l.synapses, Raise: l.raise.Synapses, Estimate: est, path: r.path}
			case est.Bytes > l.memory:
				return est, nil, &LimitError{Limit: "memory", What: what, Need: est.Bytes, Max: l.memory, Raise: l.raise.Memory, Estimate: est, path: r.path}
			}
		}
		conns[pi] = connSyn
	}
	if len(b.pairs) == 0 {
		est.Bytes = base
	}
	return est, conns, nil
}

// areaPath is the JSON path of an area in the genome.
func (b *builder) areaPath(a *Area) string {
	for _, ra := range b.g.areas {
		if a.LegacyID != "" && ra.raw == a.LegacyID {
			return ra.path
		}
	}
	return "blueprint"
}

// areaName is an area as the genome names it.
func areaName(a *Area) string {
	if a.LegacyID != "" {
		return a.LegacyID
	}
	return a.ID.String()
}

// Limits are the bounds of Options (MaxNeurons, MaxSynapses, MaxMemory,
// MaxPairs) on their own, as a command line gathers them; zero fields take
// the defaults.
type Limits struct {
	MaxNeurons, MaxSynapses, MaxMemory, MaxPairs int64
}

// Apply returns o with l's bounds.
func (l Limits) Apply(o Options) Options {
	o.MaxNeurons, o.MaxSynapses, o.MaxMemory, o.MaxPairs = l.MaxNeurons, l.MaxSynapses, l.MaxMemory, l.MaxPairs
	return o
}
