package cortical

// rng is the seeded generator of growth (docs/semantics.md §5.6): SplitMix64. Every rule
// has its own stream, derived from the plan seed and the rule's position
// (source area index, destination area index, rule index), so a rule's
// random choices do not depend on any other rule and a different seed
// changes only the rules that draw.
//
// Exact definition, for an independent implementation:
//
//	mix(z)  = z ^= z>>30; z *= 0xbf58476d1ce4e5b9; z ^= z>>27; z *= 0x94d049bb133111eb; z ^ z>>31
//	state   = mix(mix(mix(seed ^ src) ^ dst) ^ rule)
//	next()  = state += 0x9e3779b97f4a7c15; mix(state)
//	below(n)= ((next() >> 32) * n) >> 32          (n ≤ 2^32)
//
// Synapse attractivity a creates a candidate iff below(100) < a;
// randomizer draws below(W), below(H), below(D) in that order.
type rng struct{ state uint64 }

func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}

func newRuleRNG(seed uint64, src, dst, rule int) rng {
	return rng{state: mix64(mix64(mix64(seed^uint64(src))^uint64(dst)) ^ uint64(rule))}
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// below returns a value in [0, n) for n ≤ 2^32.
func (r *rng) below(n uint32) uint32 {
	return uint32(((r.next() >> 32) * uint64(n)) >> 32)
}
