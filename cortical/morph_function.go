package cortical

// This file grows the function morphologies, chosen by morphology id:
// projector, block_to_block as a function, and the four FEAGI leaves out plus
// randomizer (docs/semantics.md §5.7).

// projectAxis computes, for one axis of source size s and destination size
// d, the destination coordinates of every source coordinate, as compressed
// rows: the targets of loc are vals[start[loc]:start[loc+1]] (docs/semantics.md §3.3 rounding).
func projectAxis(s, d uint32) (start, vals []uint32) {
	start = make([]uint32, s+1)
	switch {
	case s == d:
		vals = make([]uint32, s)
		for i := range vals {
			vals[i] = uint32(i)
			start[i+1] = uint32(i + 1)
		}
	case s > d:
		r := float32(s) / float32(d)
		vals = make([]uint32, 0, s)
		for loc := uint32(0); loc < s; loc++ {
			if t := truncf(float32(loc) / r); t < uint64(d) {
				vals = append(vals, uint32(t))
			}
			start[loc+1] = uint32(len(vals))
		}
	default:
		r := float32(d) / float32(s)
		// Every v in [0, d) with trunc(f32(v / r)) == loc; v ascending.
		owner := make([]uint64, d)
		for v := uint32(0); v < d; v++ {
			owner[v] = truncf(float32(v) / r)
			if owner[v] < uint64(s) {
				start[owner[v]+1]++
			}
		}
		for i := uint32(0); i < s; i++ {
			start[i+1] += start[i]
		}
		vals = make([]uint32, start[s])
		cursor := append([]uint32(nil), start[:s]...)
		for v := uint32(0); v < d; v++ {
			if o := owner[v]; o < uint64(s) {
				vals[cursor[o]] = v
				cursor[o]++
			}
		}
	}
	return start, vals
}

// truncf truncates a non-negative float32 toward zero.
func truncf(f float32) uint64 {
	if f <= 0 {
		return 0
	}
	if f >= 1<<63 {
		return 1 << 63
	}
	return uint64(f)
}

// projector scales the source onto the destination axis by axis; the
// destination voxels of a source voxel are the product of the three axis
// sets, x outermost (docs/semantics.md §5.7, §3.4).
func projector(e *emitter, src, dst *Area) {
	var st, vals [3][]uint32
	for a := range 3 {
		st[a], vals[a] = projectAxis(src.Dims[a], dst.Dims[a])
	}
	var targets []uint32
	forVoxels(src, e, 1, func(x, y, z, first uint32) {
		targets = targets[:0]
		for _, tx := range vals[0][st[0][x]:st[0][x+1]] {
			for _, ty := range vals[1][st[1][y]:st[1][y+1]] {
				for _, tz := range vals[2][st[2][z]:st[2][z+1]] {
					targets = append(targets, target(dst, tx, ty, tz))
				}
			}
		}
		emitCopies(e, src.PerVoxel, first, targets)
	})
}

// blockToBlock is block_to_block declared as a function (docs/semantics.md
// §5.7): per source voxel, its highest-index neuron to the destination voxel
// at the same coordinates clamped to the destination.
func blockToBlock(e *emitter, src, dst *Area) {
	n := src.PerVoxel
	forVoxels(src, e, 1, func(x, y, z, first uint32) {
		e.step(1)
		e.emit(first+n-1, target(dst, min(x, dst.Dims[0]-1), min(y, dst.Dims[1]-1), min(z, dst.Dims[2]-1)))
	})
}

// expander maps every axis by min(trunc(f32(c · f32(D/S))), D−1) (docs/semantics.md §5.7).
func expander(e *emitter, src, dst *Area) {
	var r [3]float32
	for a := range 3 {
		r[a] = float32(dst.Dims[a]) / float32(src.Dims[a])
	}
	axis := func(a int, c uint32) uint32 {
		return uint32(min(truncf(float32(c)*r[a]), uint64(dst.Dims[a]-1)))
	}
	targets := make([]uint32, 1)
	forVoxels(src, e, 1, func(x, y, z, first uint32) {
		targets[0] = target(dst, axis(0, x), axis(1, y), axis(2, z))
		emitCopies(e, src.PerVoxel, first, targets)
	})
}

// reducer maps bit i of the source x (i < min(Dx, 32)), when set, to
// destination voxel (i, 0, 0), bits ascending (docs/semantics.md §5.7).
func reducer(e *emitter, src, dst *Area) {
	bits := min(dst.Dims[0], 32)
	var targets []uint32
	forVoxels(src, e, int64(max(bits, 1)), func(x, y, z, first uint32) {
		targets = targets[:0]
		for i := uint32(0); i < bits; i++ {
			if x>>i&1 == 1 {
				targets = append(targets, target(dst, i, 0, 0))
			}
		}
		emitCopies(e, src.PerVoxel, first, targets)
	})
}

// lateralPairs pairs columns: even x → x+1 when x+1 is inside the source,
// odd x → x−1, y and z kept; kept only inside the destination (docs/semantics.md §5.7).
func lateralPairs(e *emitter, src, dst *Area) {
	targets := make([]uint32, 1)
	forVoxels(src, e, 1, func(x, y, z, first uint32) {
		tx := x - 1
		if x%2 == 0 {
			if x+1 >= src.Dims[0] {
				return
			}
			tx = x + 1
		}
		if tx >= dst.Dims[0] || y >= dst.Dims[1] || z >= dst.Dims[2] {
			return
		}
		targets[0] = target(dst, tx, y, z)
		emitCopies(e, src.PerVoxel, first, targets)
	})
}

// lastToFirst connects only the last source voxel (W−1, H−1, D−1), every
// copy, to destination voxel (0, 0, 0) (docs/semantics.md §5.7).
func lastToFirst(e *emitter, src, dst *Area) {
	last := src.Local(src.Dims[0]-1, src.Dims[1]-1, src.Dims[2]-1, 0)
	emitCopies(e, src.PerVoxel, last, []uint32{target(dst, 0, 0, 0)})
}

// randomizer connects every source neuron to one destination voxel drawn
// uniformly from the rule's seeded generator: x, then y, then z (docs/semantics.md §5.7).
// Attractivity, when below 100, draws after the voxel.
func randomizer(e *emitter, src, dst *Area) {
	forVoxels(src, e, 1, func(x, y, z, first uint32) {
		for k := uint32(0); k < src.PerVoxel; k++ {
			tx := e.rng.below(dst.Dims[0])
			ty := e.rng.below(dst.Dims[1])
			tz := e.rng.below(dst.Dims[2])
			e.emit(first+k, target(dst, tx, ty, tz))
			if e.step(1); e.over {
				return
			}
		}
	})
}
