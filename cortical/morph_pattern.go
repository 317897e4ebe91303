package cortical

import "slices"

// This file grows the table-driven morphologies: vectors and patterns
// (docs/semantics.md §5.7) and the simple layout's fully_connected (§5.2).
// Every generator walks the source voxels in x, y, z order and emits, for
// each per-voxel copy k in turn, the voxel's targets in the morphology's
// own order, so pairs come out in ascending source neuron order.

// forVoxels calls fn for every voxel of a with the local index of its
// copy 0. With an emitter, each voxel counts cost steps of work, and the
// walk stops as soon as the emitter stops (limit, budget, cancellation).
func forVoxels(a *Area, e *emitter, cost int64, fn func(x, y, z, first uint32)) {
	w, h, d, n := a.Dims[0], a.Dims[1], a.Dims[2], a.PerVoxel
	first := uint32(0)
	for x := uint32(0); x < w; x++ {
		for y := uint32(0); y < h; y++ {
			for z := uint32(0); z < d; z++ {
				if e != nil {
					if e.step(cost); e.over {
						return
					}
				}
				fn(x, y, z, first)
				first += n
			}
		}
	}
}

// emitCopies emits targets for every copy of a source voxel.
func emitCopies(e *emitter, n, first uint32, targets []uint32) {
	for k := uint32(0); k < n; k++ {
		s := first + k
		for _, t := range targets {
			e.emit(s, t)
		}
		if e.step(int64(len(targets))); e.over {
			return
		}
	}
}

// target is the neuron of destination voxel (x, y, z) that synapses reach:
// the highest-index copy (docs/semantics.md §5.6).
func target(dst *Area, x, y, z uint32) uint32 {
	return ((x*dst.Dims[1]+y)*dst.Dims[2]+z)*dst.PerVoxel + dst.PerVoxel - 1
}

// vectors connects each source neuron at (x, y, z) to the destination voxel
// (x+vx, y+vy, z+vz) of every vector in list order, kept only inside the
// destination. A pair made earlier in the same rule, or by an earlier rule
// of the same connection (pairs before start), is skipped (docs/semantics.md §5.7).
func vectors(e *emitter, src, dst *Area, vecs [][3]int64, start int) {
	// Distinct vectors reach distinct voxels from one source voxel, so a
	// repeated vector is the only way one rule repeats a pair.
	var uniq [][3]int64
	for _, v := range vecs {
		if !slices.Contains(uniq, v) {
			uniq = append(uniq, v)
		}
	}
	var earlier map[uint64]struct{}
	if start > 0 {
		earlier = make(map[uint64]struct{}, start)
		for i := 0; i < start; i++ {
			earlier[uint64(e.src[i])<<32|uint64(e.dst[i])] = struct{}{}
		}
	}
	targets := make([]uint32, 0, len(uniq))
	forVoxels(src, e, int64(max(len(uniq), 1)), func(x, y, z, first uint32) {
		targets = targets[:0]
		for _, v := range uniq {
			tx, ty, tz := int64(x)+v[0], int64(y)+v[1], int64(z)+v[2]
			if tx < 0 || ty < 0 || tz < 0 || tx >= int64(dst.Dims[0]) || ty >= int64(dst.Dims[1]) || tz >= int64(dst.Dims[2]) {
				continue
			}
			targets = append(targets, target(dst, uint32(tx), uint32(ty), uint32(tz)))
		}
		if earlier == nil {
			emitCopies(e, src.PerVoxel, first, targets)
			return
		}
		for k := uint32(0); k < src.PerVoxel; k++ {
			s := first + k
			for _, t := range targets {
				if _, dup := earlier[uint64(s)<<32|uint64(t)]; !dup {
					e.emit(s, t)
				}
			}
			if e.step(int64(len(targets))); e.over {
				return
			}
		}
	})
}

// patterns connects each source neuron whose voxel matches a pair's source
// pattern to the destination voxels of the pair's destination pattern; the
// union over the pairs is sorted by (x, y, z) and de-duplicated per source
// neuron (docs/semantics.md §5.7).
func patterns(e *emitter, src, dst *Area, pairs []PatternPair) {
	var targets, xs, ys, zs []uint32
	matched := make([]int, 0, len(pairs))
	forVoxels(src, e, int64(max(len(pairs), 1)), func(x, y, z, first uint32) {
		matched = matched[:0]
		for i := range pairs {
			if matchAxis(pairs[i].Src[0], x) && matchAxis(pairs[i].Src[1], y) && matchAxis(pairs[i].Src[2], z) {
				matched = append(matched, i)
			}
		}
		if len(matched) == 0 {
			return
		}
		targets = targets[:0]
		for _, i := range matched {
			p := &pairs[i].Dst
			xs = axisSet(xs[:0], p[0], x, dst.Dims[0])
			ys = axisSet(ys[:0], p[1], y, dst.Dims[1])
			zs = axisSet(zs[:0], p[2], z, dst.Dims[2])
			for _, tx := range xs {
				for _, ty := range ys {
					for _, tz := range zs {
						targets = append(targets, target(dst, tx, ty, tz))
					}
				}
			}
		}
		if e.step(int64(len(targets))); e.over {
			return
		}
		if len(matched) > 1 {
			// Target indices grow with (x, y, z), so sorting them sorts
			// the voxels.
			slices.Sort(targets)
			targets = slices.Compact(targets)
		}
		emitCopies(e, src.PerVoxel, first, targets)
	})
}

// matchAxis reports whether a source coordinate matches a pattern element:
// an integer matches itself, every wildcard matches anything.
func matchAxis(p PatternElem, c uint32) bool {
	return p.Op != 0 || p.Value == int64(c)
}

// axisSet appends the destination coordinates of one pattern axis: * every
// coordinate, ? the source coordinate, ! every coordinate but the source
// one, k itself; each only inside [0, d).
func axisSet(buf []uint32, p PatternElem, c, d uint32) []uint32 {
	switch p.Op {
	case '*':
		for v := uint32(0); v < d; v++ {
			buf = append(buf, v)
		}
	case '?':
		if c < d {
			buf = append(buf, c)
		}
	case '!':
		for v := uint32(0); v < d; v++ {
			if v != c {
				buf = append(buf, v)
			}
		}
	default:
		if p.Value < int64(d) {
			buf = append(buf, uint32(p.Value))
		}
	}
	return buf
}

// allToAll connects every source neuron to the target neuron of every
// destination voxel, voxels in (x, y, z) order (docs/semantics.md §5.2 fully_connected).
func allToAll(e *emitter, src, dst *Area) {
	targets := make([]uint32, 0, int(dst.Dims[0])*int(dst.Dims[1])*int(dst.Dims[2]))
	forVoxels(dst, nil, 0, func(x, y, z, first uint32) {
		targets = append(targets, first+dst.PerVoxel-1)
	})
	e.step(int64(len(targets)))
	forVoxels(src, e, 1, func(x, y, z, first uint32) {
		emitCopies(e, src.PerVoxel, first, targets)
	})
}
