package npu

// ExcitabilityHash is FEAGI's stateless excitability draw (docs/semantics.md §2.5),
// bit for bit: a PCG hash of the global neuron id and the burst number.
func ExcitabilityHash(id uint32, burst Burst) uint32 {
	return pcgFinish(hashSeed(id, burst))
}

// hashIDMul is the id multiplier of the seed: the seed of id+1 is the seed
// of id plus hashIDMul, so loops over consecutive ids advance it by addition.
const hashIDMul = 2654435761

// hashSeed is (id·2654435761 + (burst mod 2³²)·1597334677) mod 2³².
func hashSeed(id uint32, burst Burst) uint32 {
	return id*hashIDMul + uint32(burst)*1597334677
}

// pcgFinish is the PCG output function of docs/semantics.md §2.5.
func pcgFinish(seed uint32) uint32 {
	return pcgOut(pcgState(seed))
}

// pcgState is the PCG state of a seed: affine in the seed, hence in the id,
// so the state of id+1 is the state of id plus pcgIDStep.
func pcgState(seed uint32) uint32 { return seed*747796405 + 2891336453 }

// pcgIDStep is hashIDMul·747796405 mod 2³² (see pcgState).
const pcgIDStep = uint32(hashIDMul * 747796405 % (1 << 32))

// pcgIDStep64 is 64·pcgIDStep mod 2³², the step of a block of 64 ids.
const pcgIDStep64 = uint32(64 * hashIDMul * 747796405 % (1 << 32))

// pcgOutMul is the multiplier of pcgOut.
const pcgOutMul = 277803737

// pcgOut is the output permutation of PCG state s.
func pcgOut(s uint32) uint32 {
	w := ((s >> ((s >> 28) + 4)) ^ s) * pcgOutMul
	return (w >> 22) ^ w
}

// ExcitabilityDraw is the draw as a probability: f32(h) / 2³² (docs/semantics.md §3.3).
func ExcitabilityDraw(id uint32, burst Burst) float32 {
	return float32(ExcitabilityHash(id, burst)) / 4294967296.0
}

// excitabilityCut returns c such that a neuron with excitability e fires
// exactly when uint64(hash) < c: e ≥ 0.999 always fires (c = 2³²), e ≤ 0
// never (c = 0), otherwise c is the least h with f32(h)/2³² ≥ e. Comparing
// hashes with c is the same test as FEAGI's float comparison, since
// h ↦ f32(h) is monotone, and it keeps floats out of the update loop.
func excitabilityCut(e float32) uint64 {
	switch {
	case e >= 0.999:
		return 1 << 32
	case !(e > 0): // also NaN
		return 0
	}
	lo, hi := uint64(0), uint64(1)<<32 // invariant: draw(lo-1) < e, answer in [lo, hi]
	for lo < hi {
		mid := (lo + hi) / 2
		if float32(uint32(mid))/4294967296.0 >= e {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
