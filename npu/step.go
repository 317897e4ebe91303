package npu

import (
	"github.com/spikemesh/spikemesh/quant"
)

// Step implements Engine. One burst, in the canonical order (docs/semantics.md §3.4):
//
//  1. plasticity: the weight update of the previous burst (see plasticity.go);
//  2. the drive (Options.Drive), then the sensory points in list order, then
//     power (area 1, local neuron 0), into the dense sums;
//  3. per shard, in parallel when Workers > 1: each incoming connection in
//     ascending source area, each fired source neuron ascending, each of its
//     synapses in creation order, restricted to the shard's targets — so every
//     target's sum is built in the same order whatever the shard count;
//  4. per shard, every candidate in ascending local index: the update of
//     docs/semantics.md §2.2 (update32.go, update8.go);
//  5. the shards' fired lists concatenated (ascending).
//
// Entries of in that are out of range (a point or a fired index beyond the
// area, extra connections) are ignored, never a panic. in may be nil.
func (e *engine) Step(burst Burst, in *Input) Output {
	if in == nil {
		in = &noInput
	}
	e.burst = burst
	e.in = in
	e.applyPlasticity(burst, in)
	e.arr.addPoints(e, in)
	e.driveOnly = e.spec.Index != PowerArea && len(in.Points) == 0
	for c := range min(len(e.conns), len(in.Fired)) {
		e.driveOnly = e.driveOnly && len(in.Fired[c]) == 0
	}
	if e.pool != nil {
		e.pool.run()
	} else {
		for k := range e.shards {
			e.runShard(k)
		}
	}
	e.in = nil
	e.ran = 0
	for k := range e.shards {
		e.ran |= e.shards[k].ran
	}
	e.countBound = min(e.countBound+1, 0xFFFF)
	if len(e.shards) == 1 {
		sh := &e.shards[0]
		e.out.Fired, e.out.Potentials = sh.fired, sh.pot
	} else {
		e.out.Fired = e.out.Fired[:0]
		e.out.Potentials = e.out.Potentials[:0]
		for k := range e.shards {
			e.out.Fired = append(e.out.Fired, e.shards[k].fired...)
			e.out.Potentials = append(e.out.Potentials, e.shards[k].pot...)
		}
	}
	e.recordOwnFiring()
	return e.out
}

var noInput Input

// addPoints adds the burst's sensory points, in list order, then power
// (area 1, neuron 0) to the fp32 sums.
func (a *neurons32) addPoints(e *engine, in *Input) {
	n, acc := e.n, a.acc
	for _, p := range in.Points {
		if p.Local < n {
			acc[p.Local] += p.P
			e.cand[p.Local>>6] |= 1 << (p.Local & 63)
		}
	}
	if e.spec.Index == PowerArea && n > 0 {
		acc[0] += PowerAmount
		e.cand[0] |= 1
	}
}

// addPoints is neurons32.addPoints in fine units, each sum clamped to
// ±inputLimit.
func (a *neurons8) addPoints(e *engine, in *Input) {
	n, acc := e.n, a.acc
	a.negPoints = false
	for _, p := range in.Points {
		a.negPoints = a.negPoints || p.P < 0
		if p.Local < n {
			acc[p.Local] = clampInput(quant.SatAdd(acc[p.Local], a.q.EncodeFine(p.P)))
			e.cand[p.Local>>6] |= 1 << (p.Local & 63)
		}
	}
	if e.spec.Index == PowerArea && n > 0 {
		acc[0] = clampInput(quant.SatAdd(acc[0], a.q.EncodeFine(PowerAmount)))
		e.cand[0] |= 1
	}
}

func (a *neurons32) deliver(e *engine, c, k int, fired []uint32, pot []float32) {
	e.scatter32(&e.conns[c], &a.vals[c][k], a.div[c], k, fired, pot)
}

func (a *neurons8) deliver(e *engine, c, k int, fired []uint32, pot []float32) {
	e.scatter8(&e.conns[c], &a.vals[c][k], k, fired, pot)
}

func (a *neurons32) update(e *engine, sh *shard) { e.update32(sh) }

func (a *neurons8) update(e *engine, sh *shard) { e.update8(sh) }

// runShard does steps 3 and 4 for shard k.
func (e *engine) runShard(k int) {
	in := e.in
	for c := range e.conns {
		if c >= len(in.Fired) {
			break
		}
		fired := in.Fired[c]
		if len(fired) == 0 {
			continue
		}
		var pot []float32
		if c < len(in.Potentials) {
			pot = in.Potentials[c]
		}
		e.arr.deliver(e, c, k, fired, pot)
	}
	sh := &e.shards[k]
	sh.fired, sh.pot = sh.fired[:0], sh.pot[:0]
	sh.ran = 0
	e.arr.update(e, sh)
}

func (e *engine) scatter32(ic *inConn, v *values32, div []float32, k int, fired []uint32, pot []float32) {
	tb := &ic.tabs[k]
	acc, cand := e.f32.acc, e.cand
	start, tgt, val := tb.start, tb.tgt, v.c
	if div == nil {
		plainRows(&kernels32, acc, cand, tb, v.row, val, fired, ic.srcN, !e.shards[k].allDriven)
		return
	}
	for i, s := range fired {
		if s >= ic.srcN {
			continue
		}
		var psp float32
		if i < len(pot) {
			psp = float32(mpPSP(pot[i]))
		}
		d := div[s]
		a, b := start[s], start[s+1]
		ts, vs := tgt[a:b], val[a:b]
		for j, t := range ts {
			acc[t] += float32(float32(vs[j]*psp) / d)
			cand[t>>6] |= 1 << (t & 63)
		}
	}
}

func (e *engine) scatter8(ic *inConn, v *values8, k int, fired []uint32, pot []float32) {
	tb := &ic.tabs[k]
	acc, cand := e.i8.acc, e.cand
	start, tgt := tb.start, tb.tgt
	if v.kQ8 == nil && e.i8.plainAdd {
		plainRows(&kernels8, acc, cand, tb, v.row, v.c, fired, ic.srcN, !e.shards[k].allDriven)
		return
	}
	if v.kQ8 == nil {
		val := v.c
		for _, s := range fired {
			if s >= ic.srcN {
				continue
			}
			a, b := start[s], start[s+1]
			ts, vs := tgt[a:b], val[a:b]
			vs = vs[:len(ts)]
			for j, t := range ts {
				acc[t] = quant.SatAdd(acc[t], vs[j])
				cand[t>>6] |= 1 << (t & 63)
			}
		}
		return
	}
	for i, s := range fired {
		if s >= ic.srcN {
			continue
		}
		var psp int64
		if i < len(pot) {
			psp = int64(mpPSP(pot[i]))
		}
		a, b := start[s], start[s+1]
		ts, vs := tgt[a:b], v.kQ8[a:b]
		for j, t := range ts {
			x := (vs[j]*psp + 128) >> 8
			acc[t] = quant.SatAdd(acc[t], int32(min(max(x, -1<<31), 1<<31-1)))
			cand[t>>6] |= 1 << (t & 63)
		}
	}
}

// addRows adds the contribution rows of the fired source neurons to the
// dense accumulator, each row in creation order (docs/semantics.md §3.4); with mark set it
// also marks each target as a candidate (when every target already is one,
// as under a drive covering the shard, the marking is skipped). Plain
// addition: the caller has ruled out overflow (int8: engine.i8.plainAdd).
// Fired indices outside the source area are ignored.
func addRows[V float32 | int32, T uint16 | uint32](acc []V, cand []uint64, start []uint32, tgt []T, val []V, fired []uint32, srcN uint32, mark bool) {
	if !mark {
		for _, s := range fired {
			if s >= srcN {
				continue
			}
			a, b := start[s], start[s+1]
			ts, vs := tgt[a:b], val[a:b]
			vs = vs[:len(ts)]
			for j, t := range ts {
				acc[t] += vs[j]
			}
		}
		return
	}
	for _, s := range fired {
		if s >= srcN {
			continue
		}
		a, b := start[s], start[s+1]
		ts, vs := tgt[a:b], val[a:b]
		vs = vs[:len(ts)]
		for j, t := range ts {
			acc[t] += vs[j]
			cand[t>>6] |= 1 << (t & 63)
		}
	}
}

// rowKernels are one sum type's assembly row kernels (rows_amd64.s): for
// 16-bit targets, for 32-bit ones and for padded rows; each without and
// with marking.
type rowKernels[V float32 | int32] struct {
	rows, mark   rowKernel[V, uint16]
	rowsW, markW rowKernel[V, uint32]
	// padded[w][m]: padded rows of 4 (w = 0) or 8 slots a group, without
	// (m = 0) and with marking.
	padded [2][2]rowKernel[V, uint16]
}

// rowKernel is the signature of every row kernel; only the marking ones
// use cand.
type rowKernel[V float32 | int32, T uint16 | uint32] func(acc *V, cand *uint64, start *uint32, tgt *T, row *V, fired *uint32, n int, srcN uint32)

var (
	kernels32 = rowKernels[float32]{rowsF32, rowsMarkF32, rowsF32W, rowsMarkF32W,
		[2][2]rowKernel[float32, uint16]{{padded4F32, padded4MarkF32}, {padded8F32, padded8MarkF32}}}
	kernels8 = rowKernels[int32]{rowsI32, rowsMarkI32, rowsI32W, rowsMarkI32W,
		[2][2]rowKernel[int32, uint16]{{padded4I32, padded4MarkI32}, {padded8I32, padded8MarkI32}}}
)

// plainRows adds the fired rows of table tb by plain addition (the caller
// has ruled out overflow), with row (one value per source) or else val
// (one per synapse), through the fastest layout the table has: padded rows,
// then the row kernels, then the Go loops over 16-bit or 32-bit targets.
func plainRows[V float32 | int32](k *rowKernels[V], acc []V, cand []uint64, tb *table, row, val []V, fired []uint32, srcN uint32, mark bool) {
	start := tb.start
	kernel := haveRowKernels && len(fired) > 0
	switch pt := tb.padded; {
	case row != nil && pt != nil && kernel && len(pt.tgt16) > 0:
		k.padded[pt.width/8][b2i(mark)](&acc[0], &cand[0], &pt.start[0], &pt.tgt16[0], &row[0], &fired[0], len(fired), srcN)
	case row != nil && pt != nil:
		addPaddedRows(acc, cand, pt.start, pt.tgt16, row, fired, srcN, mark, pt.width)
	case row != nil && tb.tgt16 != nil && kernel && len(tb.tgt16) > 0:
		f := k.rows
		if mark {
			f = k.mark
		}
		f(&acc[0], &cand[0], &start[0], &tb.tgt16[0], &row[0], &fired[0], len(fired), srcN)
	case row != nil && tb.tgt16 != nil:
		addUniformRows(acc, cand, start, tb.tgt16, row, fired, srcN, mark)
	case row != nil && kernel && len(tb.tgt) > 0:
		f := k.rowsW
		if mark {
			f = k.markW
		}
		f(&acc[0], &cand[0], &start[0], &tb.tgt[0], &row[0], &fired[0], len(fired), srcN)
	case row != nil:
		addUniformRows(acc, cand, start, tb.tgt, row, fired, srcN, mark)
	case tb.tgt16 != nil:
		addRows(acc, cand, start, tb.tgt16, val, fired, srcN, mark)
	default:
		addRows(acc, cand, start, tb.tgt, val, fired, srcN, mark)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addPaddedRows is addUniformRows for a paddedTable: every row holds a
// multiple of width slots (4 or 8), walked width at a time.
func addPaddedRows[V float32 | int32](acc []V, cand []uint64, start []uint32, tgt []uint16, row []V, fired []uint32, srcN uint32, mark bool, width int) {
	row = row[:srcN]
	switch {
	case width == 8 && !mark:
		for _, s := range fired {
			if s >= srcN {
				continue
			}
			v := row[s]
			for ts := tgt[start[s]:start[s+1]]; len(ts) >= 8; ts = ts[8:] {
				acc[ts[0]] += v
				acc[ts[1]] += v
				acc[ts[2]] += v
				acc[ts[3]] += v
				acc[ts[4]] += v
				acc[ts[5]] += v
				acc[ts[6]] += v
				acc[ts[7]] += v
			}
		}
	case !mark:
		for _, s := range fired {
			if s >= srcN {
				continue
			}
			v := row[s]
			for ts := tgt[start[s]:start[s+1]]; len(ts) >= 4; ts = ts[4:] {
				acc[ts[0]] += v
				acc[ts[1]] += v
				acc[ts[2]] += v
				acc[ts[3]] += v
			}
		}
	default:
		for _, s := range fired {
			if s >= srcN {
				continue
			}
			v := row[s]
			for ts := tgt[start[s]:start[s+1]]; len(ts) >= 4; ts = ts[4:] {
				t0, t1, t2, t3 := ts[0], ts[1], ts[2], ts[3]
				acc[t0] += v
				cand[t0>>6] |= 1 << (t0 & 63)
				acc[t1] += v
				cand[t1>>6] |= 1 << (t1 & 63)
				acc[t2] += v
				cand[t2>>6] |= 1 << (t2 & 63)
				acc[t3] += v
				cand[t3>>6] |= 1 << (t3 & 63)
			}
		}
	}
}

// addUniformRows is addRows for a table whose rows each add one value
// (values32.row, values8.row): row[s] is source s's value.
func addUniformRows[V float32 | int32, T uint16 | uint32](acc []V, cand []uint64, start []uint32, tgt []T, row []V, fired []uint32, srcN uint32, mark bool) {
	row = row[:srcN]
	if !mark {
		for _, s := range fired {
			if s >= srcN {
				continue
			}
			v := row[s]
			for _, t := range tgt[start[s]:start[s+1]] {
				acc[t] += v
			}
		}
		return
	}
	for _, s := range fired {
		if s >= srcN {
			continue
		}
		v := row[s]
		for _, t := range tgt[start[s]:start[s+1]] {
			acc[t] += v
			cand[t>>6] |= 1 << (t & 63)
		}
	}
}

// segWords calls visit for every 64-neuron word overlapping segment sg, with
// the mask of sg's neurons in that word.
func segMask(w, from, to uint32) uint64 {
	m := ^uint64(0)
	if base := w << 6; from > base {
		m &= ^uint64(0) << (from - base)
	}
	if end := (w + 1) << 6; to < end {
		m &= ^uint64(0) >> (end - to)
	}
	return m
}

// inputLimit bounds the int8 sum of drive, points and power (fine units), so
// that when the synaptic inputs of any neuron cannot exceed it either
// (engine.i8.plainAdd) the scatter adds without saturation checks, and adding
// the stored potential (< 2^16 fine) cannot overflow int32 either.
const inputLimit = 1 << 29

func clampInput(x int32) int32 { return min(max(x, -inputLimit), inputLimit) }
