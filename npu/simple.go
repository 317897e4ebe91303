package npu

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/spikemesh/spikemesh/quant"
)

// The simple fast path. Most areas have no consecutive-fire limit, always
// fire when in the window (excitability ≥ 0.999), accumulate charge and have
// no threshold gradient. For them the update of reference §2.3 reduces to:
// refractory → count down; otherwise MP := MP + sum; in the window (and the
// saturated-count edge case aside) fire, reset to 0 and start the countdown;
// else leak. These loops are that reduction, selected once per segment; the
// differential and conformance tests run through both paths.

// isSimple reports whether the area qualifies for the simple path in this
// burst: besides the parameters, no neuron may have a saturated count (0xFFFF,
// which blocks it once, reference §2.4) — countBound, the largest count any
// neuron can have, rules that out for the first 65,534 bursts — and int8
// areas must be packed with sums bounded by inputLimit (plainAdd).
func (e *engine) isSimple() bool {
	p := &e.p
	if e.prec == quant.INT8 && (!e.plainAdd || !e.packed) {
		return false
	}
	return !p.limited && p.exAlways && p.accumulate && !p.gradient && e.countBound < 0xFFFF
}

// simple32 is dense32 for a simple area. It walks the segment in blocks of
// up to 64 neurons that share one word of fireBits, so the fired flags
// collect in a register.
func (e *engine) simple32(sg segment, fired []uint32, pot []float32, nf int) int {
	for lo := sg.from; lo < sg.to; {
		hi := min(sg.to, lo|63+1)
		e.fireBits[lo>>6] |= e.simpleBlock32(lo, hi, math.Float32bits(sg.v32))
		lo = hi
	}
	return e.collect32(sg, fired, pot, nf)
}

// simpleBlock32 updates neurons [lo, hi) (within one 64-neuron word) and
// returns their fired flags as bits of that word.
func (e *engine) simpleBlock32(lo, hi uint32, rvb uint32) uint64 {
	p := &e.p
	acc := e.acc32[lo:hi]
	st := e.st[lo:hi]
	st = st[:len(acc)]
	mp := e.mp32[lo:hi]
	mp = mp[:len(acc)]
	thr, lim, keep := p.thr32, p.lim32, p.keep32
	cdFire := p.refr<<16 + 1 // added to the state when firing: countdown and count+1
	var fl [64]uint8         // fired flags (see simpleBlock8)
	fl8 := fl[:len(acc)]
	for j := range acc {
		s := st[j]
		m0 := mp[j]
		m := m0 + acc[j]
		refr := b2u(s >= 1<<16)
		fire := b2u(m >= thr) & b2u(m <= lim) &^ refr
		ns := s
		if fire != 0 {
			ns = s + cdFire
		}
		if refr != 0 {
			ns = s - 1<<16
		}
		st[j] = ns
		mb := math.Float32bits(m)
		// Selected through an inlined call so the bit conversions happen
		// before the selects and every select is a conditional move.
		mp[j] = math.Float32frombits(sel3(math.Float32bits(float32(m*keep)), 0, math.Float32bits(m0), 0, fire, refr))
		a := rvb // the sum restarts; a fired neuron's holds its potential until collect
		if fire != 0 {
			a = mb
		}
		acc[j] = math.Float32frombits(a)
		fl8[j] = uint8(fire)
	}
	return packFlags(&fl) << (lo & 63)
}

// simple8 is dense8 for a simple area (see simple32). It requires plainAdd:
// sums bounded by inputLimit, so adding the potential cannot overflow.
func (e *engine) simple8(sg segment, fired []uint32, potF []int32, nf int) int {
	salt := quant.DitherSalt(e.burst)
	for lo := sg.from; lo < sg.to; {
		hi := min(sg.to, lo|63+1)
		e.fireBits[lo>>6] |= e.simpleBlock8(lo, hi, sg.vF, quant.DitherAt(e.spec.FirstID+lo, salt))
		lo = hi
	}
	return e.collect8(sg, fired, potF, nf)
}

// simpleBlock8 is simpleBlock32 for int8; d is the dither of neuron lo. The
// simple path takes packed int8 areas only (isSimple), so the potential code
// is the top byte of the state word. The loop works in "code × 256" units
// (y = x + Zero·256), where the code range is fixed ([−128·256, 127·256]), so
// the saturation uses constants and fewer registers stay live; the result is
// StoreLeak's exactly.
func (e *engine) simpleBlock8(lo, hi uint32, rv int32, d uint32) uint64 {
	p := &e.p
	zero8 := int32(e.q.Zero) << quant.FineBits
	acc := e.accF[lo:hi]
	st := e.st[lo:hi]
	st = st[:len(acc)]
	// thr ≤ x ≤ lim as one unsigned comparison on y (no overflow: |y| < 2^30).
	thrY, span, keep := p.thrF+zero8, uint32(p.limF-p.thrF), p.keepQ
	cdFire := p.refr<<16 + 1
	var fl [64]uint8 // fired flags: a byte store per neuron, no loop-carried word
	fl8 := fl[:len(acc)]
	for j := range acc {
		w := st[j]
		m0 := int32(int8(w >> 24))
		s := w & 0x00FFFFFF
		y := acc[j] + m0<<quant.FineBits // |acc| ≤ inputLimit: no overflow
		refr := b2u(s >= 1<<16)
		fire := b2u(uint32(y-thrY) <= span) &^ refr
		ns := s
		if fire != 0 {
			ns = s + cdFire
		}
		if refr != 0 {
			ns = s - 1<<16
		}
		ys := min(max(y, quant.MinCode<<quant.FineBits), quant.MaxCode<<quant.FineBits) - zero8
		dj := d + uint32(j)*0x9E3779B1 // DitherAt of neuron lo+j
		v := (ys*keep+int32(dj&(1<<(quant.FineBits+quant.KeepBits)-1)))>>(quant.FineBits+quant.KeepBits) + zero8>>quant.FineBits
		a := rv
		if fire != 0 {
			v, a = zero8>>quant.FineBits, y-zero8
		}
		if refr != 0 {
			v = m0
		}
		st[j] = ns | uint32(uint8(v))<<24
		acc[j] = a
		fl8[j] = uint8(fire)
	}
	return packFlags(&fl) << (lo & 63)
}

// packFlags turns 64 flag bytes (each 0 or 1) into a bit word, eight at a
// time: one multiply gathers the low bits of eight bytes into the top byte
// (the partial products never overlap).
func packFlags(fl *[64]uint8) uint64 {
	var word uint64
	for k := 0; k < 8; k++ {
		b := binary.LittleEndian.Uint64(fl[8*k:])
		word |= (b * 0x0102040810204080 >> 56) << (8 * k)
	}
	return word
}

// collect32 appends the neurons of sg marked in fireBits, ascending, with
// their firing potentials (left in the sums by the loop), and restarts their
// sums at the segment's drive.
func (e *engine) collect32(sg segment, fired []uint32, pot []float32, nf int) int {
	for w := sg.from >> 6; w <= (sg.to-1)>>6; w++ {
		word := e.fireBits[w] & segMask(w, sg.from, sg.to)
		if word == 0 {
			continue
		}
		e.fireBits[w] &^= word
		for word != 0 {
			i := w<<6 | uint32(bits.TrailingZeros64(word))
			word &= word - 1
			fired[nf] = i
			pot[nf] = e.acc32[i]
			e.acc32[i] = sg.v32
			nf++
		}
	}
	return nf
}

// collect8 is collect32 for int8 (fine potentials, decoded later).
func (e *engine) collect8(sg segment, fired []uint32, potF []int32, nf int) int {
	for w := sg.from >> 6; w <= (sg.to-1)>>6; w++ {
		word := e.fireBits[w] & segMask(w, sg.from, sg.to)
		if word == 0 {
			continue
		}
		e.fireBits[w] &^= word
		for word != 0 {
			i := w<<6 | uint32(bits.TrailingZeros64(word))
			word &= word - 1
			fired[nf] = i
			potF[nf] = e.accF[i]
			e.accF[i] = sg.vF
			nf++
		}
	}
	return nf
}
