package npu

import (
	"math/bits"

	"github.com/spikemesh/spikemesh/quant"
)

// update8 is update32 in int8 fixed point (SPEC 8): the sum is an int32 in
// fine units (Scale/256), the stored potential an int8 code, comparisons are
// with the fine threshold and limit, and the leak is an integer multiply by
// the Q15 keep factor and a shift. Stores round with the dither of (global id,
// burst) (package quant). Only fired potentials are decoded to float32.
func (e *engine) update8(sh *shard) {
	p := &e.p
	q := e.q
	zero := int32(q.Zero)
	acc, mp, st, cand, thrs := e.accF, e.mp8, e.st, e.cand, e.thrF
	burst, first := e.burst, e.spec.FirstID
	salt := quant.DitherSalt(burst)
	fired, potF := sh.fired[:cap(sh.fired)], sh.potF[:cap(sh.potF)]
	nf := 0
	sel := p.selectors()
	for _, sg := range sh.segs {
		if sg.driven {
			if p.isSimple() {
				nf = e.simple8(sg, fired, potF, nf)
			} else {
				nf = e.dense8(sg, fired, potF, nf, &sel)
			}
			continue
		}
		for w := sg.from >> 6; w <= (sg.to-1)>>6; w++ {
			word := cand[w] & segMask(w, sg.from, sg.to)
			cand[w] &^= word
			for word != 0 {
				i := w<<6 | uint32(bits.TrailingZeros64(word))
				word &= word - 1
				x := acc[i]
				acc[i] = 0
				s := st[i]
				m0 := mp[i]
				if p.accumulate {
					x = quant.SatAdd(x, (int32(m0)-zero)<<quant.FineBits)
				}
				thr := p.thrF
				if thrs != nil {
					thr = thrs[i]
				}
				refr := b2u(s >= 1<<16)
				win := b2u(x >= thr) & b2u(x <= p.limF) &^ refr
				blocked := win & b2u(s >= p.countLimit)
				ex := uint32(1)
				if !p.exAlways {
					ex = b2u(uint64(ExcitabilityHash(first+i, burst)) < p.exCut)
				}
				fire := win &^ blocked & ex
				st[i] = sel.next(s, fire, blocked, refr)
				if p.accumulate {
					d := quant.DitherAt(first+i, salt)
					v := sel8(q.LeakStore(x, p.keepQ, d), q.Store(x, d), q.Zero, m0, blocked, fire, refr)
					mp[i] = v
				}
				fired[nf] = i
				potF[nf] = x
				nf += int(fire)
			}
		}
	}
	// Decode the potentials of the fired neurons only.
	pot := sh.pot[:nf]
	for k, x := range potF[:nf] {
		pot[k] = q.DecodeFine(x)
	}
	sh.fired, sh.pot = fired[:nf], pot
}

// sel8 selects the stored code: leaked, kept when blocked, zero when fired,
// the old code when refractory.
func sel8(leaked8, kept8, zero8, old8 int8, blocked, fire, refr uint32) int8 {
	// Selected as int32: the compiler turns int32 selects into conditional
	// moves, but not int8 ones.
	leaked, kept, zero, old := int32(leaked8), int32(kept8), int32(zero8), int32(old8)
	v := leaked
	if blocked != 0 {
		v = kept
	}
	if fire != 0 {
		v = zero
	}
	if refr != 0 {
		v = old
	}
	return int8(v)
}

// dense8 is update8 for a driven segment (see dense32).
func (e *engine) dense8(sg segment, fired []uint32, potF []int32, nf int, sel *stateSel) int {
	p := &e.p
	q := e.q
	zero := int32(q.Zero)
	rv := sg.vF
	acc := e.accF[sg.from:sg.to]
	st := e.st[sg.from:sg.to]
	st = st[:len(acc)]
	mp := e.mp8[sg.from:sg.to]
	mp = mp[:len(acc)]
	burst, id0 := e.burst, e.spec.FirstID+sg.from
	salt := quant.DitherSalt(burst)
	thr, lim, keep, countLimit := p.thrF, p.limF, p.keepQ, p.countLimit
	accumulate, exAlways, exCut := p.accumulate, p.exAlways, p.exCut
	var thrs []int32
	if e.thrF != nil {
		thrs = e.thrF[sg.from:sg.to]
		thrs = thrs[:len(acc)]
	}
	sl := *sel
	for j := range acc {
		x := acc[j]
		acc[j] = rv
		s := st[j]
		m0 := mp[j]
		if accumulate {
			x = quant.SatAdd(x, (int32(m0)-zero)<<quant.FineBits)
		}
		t := thr
		if thrs != nil {
			t = thrs[j]
		}
		refr := b2u(s >= 1<<16)
		win := b2u(x >= t) & b2u(x <= lim) &^ refr
		blocked := win & b2u(s >= countLimit)
		ex := uint32(1)
		if !exAlways {
			ex = b2u(uint64(ExcitabilityHash(id0+uint32(j), burst)) < exCut)
		}
		fire := win &^ blocked & ex
		st[j] = sl.next(s, fire, blocked, refr)
		if accumulate {
			d := quant.DitherAt(id0+uint32(j), salt)
			mp[j] = sel8(q.LeakStore(x, keep, d), q.Store(x, d), q.Zero, m0, blocked, fire, refr)
		}
		fired[nf] = sg.from + uint32(j)
		potF[nf] = x
		nf += int(fire)
	}
	return nf
}
