package npu

import (
	"math"
	"slices"

	"github.com/spikemesh/spikemesh/quant"
)

// shardAlign is the granularity of shard boundaries in neurons: 512 neurons
// are one 64-byte line of the candidate bitmap, so shards never share a cache
// line of any per-neuron array.
const shardAlign = 512

// shard is a contiguous range of target neurons stepped by one worker, with
// its own output buffers.
type shard struct {
	lo, hi uint32
	segs   []segment // the engine's segments clipped to [lo, hi)
	fired  []uint32
	pot    []float32
	potF   []int32 // int8: fine potentials of the fired, decoded into pot
	// allDriven: every neuron of the shard is driven, so every one is a
	// candidate every burst and the scatter need not mark candidates.
	allDriven bool
	// ran: the update loops the shard ran in the last burst (loops.go).
	ran loop
}

// table is the part of one incoming connection whose targets lie in one
// shard, still grouped by source neuron (CSR) and in creation order, so that
// a shard walking the fired sources in order adds every target's inputs in
// the canonical order (docs/semantics.md §3.4) whatever the number of shards.
// What each synapse adds is kept by the precision, parallel to tgt
// (values32, values8).
type table struct {
	start []uint32 // per source neuron plus one
	tgt   []uint32 // target local index
	orig  []uint32 // index of the synapse in the Connection (plastic, in a table of some targets only)
	// tgt16 is tgt in 16 bits, kept when the area has at most 1<<16
	// neurons (most genome areas): spike delivery (addRows,
	// addUniformRows) reads it instead of tgt, half the bytes per synapse.
	tgt16 []uint16
	// padded is the table again with every row padded to a multiple of
	// padded.width slots, for a table with one value per row whose rows
	// differ in length (addPaddedRows); nil otherwise.
	padded *paddedTable
}

// paddedTable is a table of 16-bit targets whose rows are padded, each to
// a multiple of width (4 or 8) slots, with the shard's sink indices
// (engine.sink): past the area's neurons, where additions land unread.
// Delivery then walks every row in whole groups of width additions, and
// the loop's exit no longer depends on each row's exact length: a loop over
// rows of varying lengths mispredicts its exit about once a row, which
// costs more than the few additions of a short row. The real targets keep
// their order, so every sum still receives its inputs in the canonical
// order.
type paddedTable struct {
	width int
	start []uint32
	tgt16 []uint16
}

// values32 is what the synapses of one table add in an fp32 engine:
// c the signed contribution per synapse (mp-driven: the signed weight), or
// row, when every row of a fixed-weight table adds one value to all its
// targets (one weight per rule, as genomes write them), that value per
// source neuron: scatter then reads a value per fired source instead of one
// per synapse (the same additions in the same order).
type values32 struct {
	c   []float32
	row []float32
}

// values8 is values32 for an int8 engine, in fine units; kQ8 instead of c
// for mp-driven sources: the fine contribution per unit PSP, Q8.
type values8 struct {
	c   []int32
	kQ8 []int64
	row []int32
}

// inConn is one incoming connection as the engine uses it.
type inConn struct {
	c    *Connection
	srcN uint32
	tabs []table // per shard
}

// shardsPerWorker is how many shards each worker gets when the area has few
// synapses: the pool hands shards out dynamically, so smaller shards keep a
// worker that the operating system preempts from holding up the burst. With
// many synapses every shard walks every fired source, so then it is one.
const shardsPerWorker = 4

func (e *engine) buildShards() {
	e.workers = max(e.opts.Workers, 1)
	w := e.workers
	syn := 0
	for _, c := range e.incoming {
		syn += len(c.Target)
	}
	if w > 1 && syn <= int(e.n) {
		w *= shardsPerWorker
	}
	if max(e.n/shardAlign, 1) < uint32(w) {
		w = int(max(e.n/shardAlign, 1))
	}
	e.workers = min(e.workers, w)
	e.shards = make([]shard, w)
	blocks := (e.n + shardAlign - 1) / shardAlign
	for k := range e.shards {
		lo := min(blocks*uint32(k)/uint32(w)*shardAlign, e.n)
		hi := min(blocks*uint32(k+1)/uint32(w)*shardAlign, e.n)
		sh := &e.shards[k]
		sh.lo, sh.hi = lo, hi
		sh.allDriven = true
		for _, sg := range e.segs {
			if sg.to <= lo || sg.from >= hi {
				continue
			}
			sg.from, sg.to = max(sg.from, lo), min(sg.to, hi)
			sg.shard = k
			sh.segs = append(sh.segs, sg)
			sh.allDriven = sh.allDriven && sg.driven
		}
		// kernelSlack: the assembly kernels store whole vectors past the
		// last fired neuron.
		sh.fired = make([]uint32, 0, hi-lo+kernelSlack)
		sh.pot = make([]float32, 0, hi-lo+kernelSlack)
	}
	e.out.Fired = make([]uint32, 0, e.n)
	e.out.Potentials = make([]float32, 0, e.n)
	e.growSinks()
}

// divisor is N of docs/semantics.md §3.1, §3.2 for source neuron s: its out-degree, or 1 when
// the source area is psp-uniform or N ≤ 1.
func divisor(c *Connection, s int) float32 {
	if c.PSPUniform || c.OutDegree[s] <= 1 {
		return 1
	}
	return float32(c.OutDegree[s])
}

// contribution32 is the fp32 contribution of synapse j of source s for PSP
// psp: f32(f32(±w·psp) / N) (docs/semantics.md §3.3).
func contribution32(c *Connection, s int, j uint32, psp float32) float32 {
	b := float32(float32(c.Weight[j]) * psp)
	if c.Inhibitory[j] {
		b = -b
	}
	return float32(b / divisor(c, s))
}

// mpPSP is the PSP of an mp-driven source firing with potential v:
// clamp(round half away from zero(v), 0, 255).
func mpPSP(v float32) uint32 {
	r := quant.RoundHalfAway(v)
	if !(r > 0) {
		return 0
	}
	if r >= 255 {
		return 255
	}
	return uint32(r)
}

func (e *engine) buildTables() {
	e.conns = make([]inConn, len(e.incoming))
	for k, c := range e.incoming {
		ic := &e.conns[k]
		ic.c = c
		ic.srcN = uint32(len(c.Start) - 1)
	}
	e.arr.prepare(e)
	for k := range e.conns {
		ic := &e.conns[k]
		ic.tabs = make([]table, len(e.shards))
		for h := range e.shards {
			e.buildTable(k, h)
		}
	}
	for _, c := range e.incoming {
		e.inhibitory = e.inhibitory || slices.Contains(c.Inhibitory, true)
	}
}

// inputBound is the largest total magnitude of synaptic input any neuron can
// receive in one burst (fine units), taking plastic weights at 255.
func (e *engine) inputBound() int64 {
	sums := make([]int64, e.n)
	for _, c := range e.incoming {
		for s := 0; s+1 < len(c.Start); s++ {
			for j := c.Start[s]; j < c.Start[s+1]; j++ {
				w := float32(c.Weight[j])
				if c.Plasticity != nil {
					w = 255
				}
				psp := float32(c.PSP)
				if c.MPDrivenPSP {
					psp = 255
				}
				v := int64(e.contributionFine(c, s, j, w, psp))
				sums[c.Target[j]] += max(v, -v) + 1
			}
		}
	}
	var m int64
	for _, v := range sums {
		m = max(m, v)
	}
	return m
}

func (e *engine) buildTable(k, h int) {
	ic := &e.conns[k]
	c, sh := ic.c, &e.shards[h]
	var cnt int
	for _, t := range c.Target {
		if t >= sh.lo && t < sh.hi {
			cnt++
		}
	}
	// A shard that holds every target (one worker) reads the connection's
	// own offsets and targets in place, and table index = synapse index.
	tb := table{start: c.Start, tgt: c.Target}
	if cnt < len(c.Target) {
		tb = table{start: make([]uint32, ic.srcN+1), tgt: make([]uint32, 0, cnt), orig: make([]uint32, 0, cnt)}
		for s := 0; s < int(ic.srcN); s++ {
			for j := c.Start[s]; j < c.Start[s+1]; j++ {
				if t := c.Target[j]; t >= sh.lo && t < sh.hi {
					tb.tgt = append(tb.tgt, t)
					tb.orig = append(tb.orig, j)
				}
			}
			tb.start[s+1] = uint32(len(tb.tgt))
		}
	}
	ic.tabs[h] = tb
	e.arr.setValues(e, k, h)
	if c.Plasticity == nil {
		ic.tabs[h].orig = nil // only refreshWeights needs it
	}
	tp := &ic.tabs[h]
	if e.arr.rowValued(k, h) {
		tp.padded = e.padTable(tp, h)
	}
	if tp.padded == nil && narrowTargets && e.n <= 1<<16 {
		tp.tgt16 = make([]uint16, len(tp.tgt))
		for i, t := range tp.tgt {
			tp.tgt16[i] = uint16(t)
		}
	}
}

// padRows lets tables with one value per row pad their rows (paddedTable);
// tests turn it off to check the padded loop against the plain one.
var padRows = true

// sinkBase is the first sink index: the sums from sinkBase on are not
// neurons. Shard h owns the sinksPerShard sums from sinkBase +
// h·sinksPerShard (workers never write the same line), and the padding of
// source s's row uses 8 of them, in the 64 of s mod 8: padding lands on
// eight words of the candidate bitmap and eight lines of sums in turn, so
// that consecutive rows' padding does not queue on the same addresses.
func (e *engine) sinkBase() uint32 { return (e.n + 63) &^ 63 }

const sinksPerShard = 512

// sink is the sum that slot j (< 8) of source s's padded row adds to in
// shard h.
func (e *engine) sink(h int, s, j uint32) uint32 {
	return e.sinkBase() + sinksPerShard*uint32(h) + 64*(s&7) + j
}

// growSinks makes room in the sums and the candidate bitmap for the
// shards' sinks, keeping what they hold.
func (e *engine) growSinks() {
	n := int(e.sinkBase()) + sinksPerShard*len(e.shards)
	if e.f32.acc != nil && len(e.f32.acc) < n {
		e.f32.acc = append(e.f32.acc, make([]float32, n-len(e.f32.acc))...)
	}
	if e.i8.acc != nil && len(e.i8.acc) < n {
		e.i8.acc = append(e.i8.acc, make([]int32, n-len(e.i8.acc))...)
	}
	if w := n / 64; len(e.cand) < w {
		e.cand = append(e.cand, make([]uint64, w-len(e.cand))...)
	}
}

// padTable returns tb with its rows padded for shard h, or nil when its
// rows all have the same length (the plain loop then predicts every exit),
// its targets need more than 16 bits, or padding is off. Rows of 4 or more
// slots on average are padded to multiples of 8, shorter ones to multiples
// of 4. Tables of 32-bit targets are left as they are: they belong to
// large areas, whose rows come from beyond the caches, and there the extra
// bytes of padding cost more than the mispredicted exits (a brain of
// 100,000-neuron areas ran 10–60 % slower with them padded).
func (e *engine) padTable(tb *table, h int) *paddedTable {
	srcN := len(tb.start) - 1
	if !padRows || !narrowTargets || srcN == 0 || int(e.sink(h, 7, 7)) >= 1<<16 {
		return nil
	}
	same, rows := true, 0
	first := tb.start[1] - tb.start[0]
	for s := range srcN {
		l := tb.start[s+1] - tb.start[s]
		same = same && l == first
		if l > 0 {
			rows++
		}
	}
	if same || rows == 0 {
		return nil
	}
	width := 4
	if len(tb.tgt) >= 4*rows {
		width = 8
	}
	p := &paddedTable{width: width, start: make([]uint32, srcN+1)}
	slots := 0
	for s := range srcN {
		l := int(tb.start[s+1] - tb.start[s])
		slots += (l + width - 1) / width * width
		p.start[s+1] = uint32(slots)
	}
	p.tgt16 = make([]uint16, 0, slots)
	for s := range srcN {
		row := tb.tgt[tb.start[s]:tb.start[s+1]]
		for j := range int(p.start[s+1] - p.start[s]) {
			t := e.sink(h, uint32(s), uint32(j%width))
			if j < len(row) {
				t = row[j]
			}
			p.tgt16 = append(p.tgt16, uint16(t))
		}
	}
	return p
}

// eachSynapse calls f for every synapse of table tb of ic: its index i in
// the table, its source s and its index j in the connection.
func eachSynapse(ic *inConn, tb *table, f func(i uint32, s int, j uint32)) {
	for s := 0; s < int(ic.srcN); s++ {
		for i := tb.start[s]; i < tb.start[s+1]; i++ {
			j := i // a table of every target (buildTable)
			if tb.orig != nil {
				j = tb.orig[i]
			}
			f(i, s, j)
		}
	}
}

// prepare makes room for the synapse values and keeps the divisor of every
// source of an mp-driven connection (whose contributions are divided when
// the spike arrives).
func (a *neurons32) prepare(e *engine) {
	a.vals = make([][]values32, len(e.conns))
	a.div = make([][]float32, len(e.conns))
	for k, ic := range e.conns {
		a.vals[k] = make([]values32, len(e.shards))
		if ic.c.MPDrivenPSP {
			a.div[k] = make([]float32, ic.srcN)
			for s := range a.div[k] {
				a.div[k][s] = divisor(ic.c, s)
			}
		}
	}
}

// prepare makes room for the synapse values and the shards' fine
// potentials, and decides whether sums can overflow (plainAdd).
func (a *neurons8) prepare(e *engine) {
	a.plainAdd = e.inputBound() <= inputLimit
	a.vals = make([][]values8, len(e.conns))
	for k := range a.vals {
		a.vals[k] = make([]values8, len(e.shards))
	}
	for h := range e.shards {
		sh := &e.shards[h]
		sh.potF = make([]int32, 0, sh.hi-sh.lo+kernelSlack)
	}
}

// setValues computes what every synapse of connection k's table for
// shard h adds, and keeps one value per row where it can. With a value
// per row the per-synapse values are dropped (fp32 without mp-driven PSP):
// 4 B per synapse less.
func (a *neurons32) setValues(e *engine, k, h int) {
	ic := &e.conns[k]
	tb, v := &ic.tabs[h], &a.vals[k][h]
	v.c = slices.Grow(v.c[:0], len(tb.tgt))[:len(tb.tgt)] // reused: refreshWeights runs every burst
	eachSynapse(ic, tb, func(i uint32, s int, j uint32) { v.c[i] = e.synapseValue32(ic.c, s, j) })
	if ic.c.Plasticity == nil && !ic.c.MPDrivenPSP && uniformRows {
		if v.row = rowValues(tb.start, v.c); v.row != nil {
			v.c = nil
		}
	}
}

// rowValued reports whether delivery through connection k's table for
// shard h adds one value per row (addUniformRows).
func (a *neurons32) rowValued(k, h int) bool { return a.vals[k][h].row != nil }

func (a *neurons8) rowValued(k, h int) bool { return a.vals[k][h].row != nil && a.plainAdd }

// setValues is neurons32.setValues in fine units; the per-synapse values
// stay where the saturating loop reads them (no plainAdd).
func (a *neurons8) setValues(e *engine, k, h int) {
	ic := &e.conns[k]
	c, tb, v := ic.c, &ic.tabs[h], &a.vals[k][h]
	if c.MPDrivenPSP {
		v.kQ8 = slices.Grow(v.kQ8[:0], len(tb.tgt))[:len(tb.tgt)]
		eachSynapse(ic, tb, func(i uint32, s int, j uint32) { v.kQ8[i] = e.synapseKQ8(c, s, j) })
		return
	}
	v.c = slices.Grow(v.c[:0], len(tb.tgt))[:len(tb.tgt)] // reused: refreshWeights runs every burst
	eachSynapse(ic, tb, func(i uint32, s int, j uint32) {
		v.c[i] = e.contributionFine(c, s, j, float32(c.Weight[j]), float32(c.PSP))
	})
	if c.Plasticity == nil && uniformRows {
		if v.row = rowValues(tb.start, v.c); v.row != nil && a.plainAdd {
			v.c = nil
		}
	}
}

// uniformRows lets tables keep one value per row (tests turn it off to
// compare both scatter loops).
var uniformRows = true

// narrowTargets lets tables of areas of at most 1<<16 neurons keep their
// targets in 16 bits (table.tgt16); tests turn it off to check delivery
// through 32-bit targets against it.
var narrowTargets = true

// rowValues returns the value of every row of val (rows by start) when each
// row holds one value, bit for bit, and nil otherwise. Empty rows get 0.
func rowValues[V float32 | int32](start []uint32, val []V) []V {
	rows := make([]V, len(start)-1)
	for s := range rows {
		r := val[start[s]:start[s+1]]
		if len(r) == 0 {
			continue
		}
		for _, v := range r[1:] {
			if !sameBits(v, r[0]) {
				return nil
			}
		}
		rows[s] = r[0]
	}
	return rows
}

// sameBits compares float32 values by their bits (−0 ≠ +0, a NaN equals
// itself) and int32 values by value.
func sameBits[V float32 | int32](a, b V) bool {
	switch x := any(a).(type) {
	case float32:
		return math.Float32bits(x) == math.Float32bits(any(b).(float32))
	default:
		return a == b
	}
}

// synapseValue32 is what an fp32 table stores for synapse j: the contribution,
// or for mp-driven sources the signed weight (the PSP arrives with the spike).
func (e *engine) synapseValue32(c *Connection, s int, j uint32) float32 {
	if c.MPDrivenPSP {
		w := float32(c.Weight[j])
		if c.Inhibitory[j] {
			w = -w
		}
		return w
	}
	return contribution32(c, s, j, float32(c.PSP))
}

// contributionFine is the int8 contribution of synapse j of source s in fine
// units with weight w and PSP psp (whole numbers): exactly ±w·psp/N for a
// lattice quantizer, else the rounded fp32 contribution.
func (e *engine) contributionFine(c *Connection, s int, j uint32, w, psp float32) int32 {
	if e.i8.q.Exact() {
		v := int64(w) * int64(psp)
		if c.Inhibitory[j] {
			v = -v
		}
		if x, ok := e.i8.q.FineOfRat(v, int64(divisor(c, s))); ok {
			return x
		}
	}
	b := float32(w * psp)
	if c.Inhibitory[j] {
		b = -b
	}
	return e.i8.q.EncodeFine(float32(b / divisor(c, s)))
}

// synapseKQ8 is the int8 fine contribution of synapse j per unit of PSP, in
// Q8, for mp-driven sources: ±w/N/(Scale/256)·256.
func (e *engine) synapseKQ8(c *Connection, s int, j uint32) int64 {
	v := float64(c.Weight[j]) / float64(divisor(c, s)) / float64(e.i8.q.Scale) * (1 << (quant.FineBits + 8))
	if c.Inhibitory[j] {
		v = -v
	}
	v = math.Round(v)
	return int64(math.Max(-(1 << 52), math.Min(1<<52, v)))
}

// refreshWeights recomputes the stored contributions of connection k after
// its weights changed (plasticity; its tables keep orig and per-synapse
// values).
func (e *engine) refreshWeights(k int) {
	for h := range e.conns[k].tabs {
		e.arr.setValues(e, k, h)
	}
}
