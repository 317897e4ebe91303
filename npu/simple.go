package npu

import (
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

// isSimple reports whether the area qualifies for the simple path.
func (p *areaParams) isSimple() bool {
	return !p.limited && p.exAlways && p.accumulate && !p.gradient
}

// simple32 is dense32 for a simple area.
func (e *engine) simple32(sg segment, fired []uint32, pot []float32, nf int) int {
	p := &e.p
	rvb := math.Float32bits(sg.v32)
	fb := e.fireBits
	var word uint64
	acc := e.acc32[sg.from:sg.to]
	st := e.st[sg.from:sg.to]
	st = st[:len(acc)]
	mp := e.mp32[sg.from:sg.to]
	mp = mp[:len(acc)]
	thr, lim, keep := p.thr32, p.lim32, p.keep32
	cdFire := p.refr<<16 + 1 // added to the count when firing
	for j := range acc {
		c := acc[j]
		s := st[j]
		m0 := mp[j]
		m := m0 + c
		refr := b2u(s >= 1<<16)
		win := b2u(m >= thr) & b2u(m <= lim) &^ refr
		blocked := win & b2u(s == 0xFFFF) // the saturated count blocks once
		fire := win &^ blocked
		ns := s
		if blocked != 0 {
			ns = 0
		}
		if fire != 0 {
			ns = s + cdFire
		}
		if refr != 0 {
			ns = s - 1<<16
		}
		st[j] = ns
		v := math.Float32bits(float32(m * keep))
		mb, m0b := math.Float32bits(m), math.Float32bits(m0)
		mp[j] = math.Float32frombits(sel3(v, mb, m0b, blocked, fire, refr))
		a := rvb // the sum restarts; a fired neuron's holds its potential until collect
		if fire != 0 {
			a = mb
		}
		acc[j] = math.Float32frombits(a)
		i := sg.from + uint32(j)
		word |= uint64(fire) << (i & 63)
		if i&63 == 63 {
			fb[i>>6] |= word
			word = 0
		}
	}
	if word != 0 {
		fb[(sg.to-1)>>6] |= word
	}
	return e.collect32(sg, fired, pot, nf)
}

// simple8 is dense8 for a simple area.
func (e *engine) simple8(sg segment, fired []uint32, potF []int32, nf int) int {
	p := &e.p
	q := e.q
	zero := int32(q.Zero)
	rv := sg.vF
	fb := e.fireBits
	var word uint64
	acc := e.accF[sg.from:sg.to]
	st := e.st[sg.from:sg.to]
	st = st[:len(acc)]
	mp := e.mp8[sg.from:sg.to]
	mp = mp[:len(acc)]
	thr, lim, keep := p.thrF, p.limF, p.keepQ
	cdFire := p.refr<<16 + 1
	id0, salt := e.spec.FirstID+sg.from, quant.DitherSalt(e.burst)
	for j := range acc {
		x := quant.SatAdd(acc[j], (int32(mp[j])-zero)<<quant.FineBits)
		s := st[j]
		m0 := mp[j]
		refr := b2u(s >= 1<<16)
		win := b2u(x >= thr) & b2u(x <= lim) &^ refr
		blocked := win & b2u(s == 0xFFFF)
		fire := win &^ blocked
		ns := s
		if blocked != 0 {
			ns = 0
		}
		if fire != 0 {
			ns = s + cdFire
		}
		if refr != 0 {
			ns = s - 1<<16
		}
		st[j] = ns
		k := keep
		if blocked != 0 {
			k = 1 << quant.KeepBits
		}
		v := int32(q.StoreScaled(x, k, quant.DitherAt(id0+uint32(j), salt)))
		if fire != 0 {
			v = zero
		}
		if refr != 0 {
			v = int32(m0) // int32 selects compile to conditional moves; int8 ones do not
		}
		mp[j] = int8(v)
		a := rv // the sum restarts; a fired neuron's holds its potential until collect
		if fire != 0 {
			a = x
		}
		acc[j] = a
		i := sg.from + uint32(j)
		word |= uint64(fire) << (i & 63)
		if i&63 == 63 {
			fb[i>>6] |= word
			word = 0
		}
	}
	if word != 0 {
		fb[(sg.to-1)>>6] |= word
	}
	return e.collect8(sg, fired, potF, nf)
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
