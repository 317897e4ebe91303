package npu

import (
	"math/bits"

	"github.com/spikemesh/spikemesh/quant"
)

// update8 is update32 in int8 fixed point (docs/semantics.md §4.2): the sum is an int32 in
// fine units (Scale/256), the stored potential an int8 code, comparisons are
// with the fine threshold and limit, and the leak is an integer multiply by
// the Q15 keep factor and a shift. Stores round with the dither of (global id,
// burst) (package quant). Only fired potentials are decoded to float32.
func (e *engine) update8(sh *shard) {
	p := &e.p
	q := e.i8.q
	zero := int32(q.Zero)
	loF, hiF := q.FineRange()
	acc, mp, st, cand, thrs := e.i8.acc, e.i8.mp, e.st, e.cand, e.i8.thr
	packed, stMask, packMask := e.packing()
	burst, first := e.burst, e.spec.FirstID
	salt := quant.DitherSalt(burst)
	fired, potF := sh.fired[:cap(sh.fired)], sh.potF[:cap(sh.potF)]
	nf := 0
	sel := p.selectors()
	for _, sg := range sh.segs {
		if sg.driven {
			if e.isSimple() {
				nf = e.simple8(sg, fired, potF, nf)
			} else {
				nf = e.dense8(sg, fired, potF, nf, &sel)
			}
			continue
		}
		sh.ran |= loopBitmap
		for w := sg.from >> 6; w <= (sg.to-1)>>6; w++ {
			word := cand[w] & segMask(w, sg.from, sg.to)
			cand[w] &^= word
			for word != 0 {
				i := w<<6 | uint32(bits.TrailingZeros64(word))
				word &= word - 1
				x := acc[i]
				acc[i] = 0
				w := st[i]
				s := w & stMask
				m0 := zero
				if p.accumulate {
					if packed {
						m0 = int32(int8(w >> 24))
					} else {
						m0 = int32(mp[i])
					}
					x = quant.SatAdd(x, (m0-zero)<<quant.FineBits)
				}
				thr := e.i8.thrF
				if thrs != nil {
					thr = thrs[i]
				}
				refr := b2u(s >= 1<<16)
				win := b2u(x >= thr) & b2u(x <= e.i8.limF) &^ refr
				blocked := win & b2u(s >= p.countLimit)
				ex := uint32(1)
				if !p.exAlways {
					ex = b2u(uint64(ExcitabilityHash(first+i, burst)) < p.exCut)
				}
				fire := win &^ blocked & ex
				ns := sel.next(s, fire, blocked, refr)
				v := zero
				if p.accumulate {
					k := e.i8.keepQ
					if blocked != 0 {
						k = 1 << quant.KeepBits
					}
					v = int32(q.StoreLeakSat(min(max(x, loF), hiF), k, quant.DitherAt(first+i, salt)))
					if fire != 0 {
						v = zero
					}
					if refr != 0 {
						v = m0
					}
					if !packed {
						mp[i] = int8(v)
					}
				}
				st[i] = ns | uint32(uint8(v))<<24&packMask
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

// dense8 is update8 for a driven segment (see dense32).
func (e *engine) dense8(sg segment, fired []uint32, potF []int32, nf int, sel *stateSel) int {
	if e.noAccFast() {
		nf, sg.from = e.noAcc8(sg, fired, potF, nf, sel)
		if sg.from == sg.to {
			return nf
		}
	}
	e.shards[sg.shard].ran |= loopDense
	for lo := sg.from; lo < sg.to; {
		hi := min(sg.to, lo|63+1)
		e.fireBits[lo>>6] |= e.denseBlock8(lo, hi, sg.vF, sel)
		lo = hi
	}
	return collect(e.fireBits, e.i8.acc, sg.vF, sg, fired, potF, nf)
}

// denseBlock8 is denseBlock32 for int8 (two passes; see there).
func (e *engine) denseBlock8(lo, hi uint32, rv int32, sel *stateSel) uint64 {
	p := &e.p
	q := e.i8.q
	zero := int32(q.Zero)
	loF, hiF := q.FineRange()
	acc := e.i8.acc[lo:hi]
	st := e.st[lo:hi]
	st = st[:len(acc)]
	packed, stMask, packMask := e.packing()
	var mp []int8
	if !packed {
		mp = e.i8.mp[lo:hi]
		mp = mp[:len(acc)]
	}
	id0 := e.spec.FirstID + lo
	salt := quant.DitherSalt(e.burst)
	d := quant.DitherAt(id0, salt) // of neuron lo
	thr, lim, keep := e.i8.thrF, e.i8.limF, e.i8.keepQ
	accumulate := p.accumulate
	var thrs []int32
	if e.i8.thr != nil {
		thrs = e.i8.thr[lo:hi]
		thrs = thrs[:len(acc)]
	}
	sl := *sel
	var fl [64]uint8 // window flags (see simpleBlock8)
	fl8 := fl[:len(acc)]
	for j := range acc {
		c := acc[j]
		w := st[j]
		s := w & stMask
		x := c
		m0 := zero
		if accumulate {
			if packed {
				m0 = int32(int8(w >> 24))
			} else {
				m0 = int32(mp[j])
			}
			x = quant.SatAdd(c, (m0-zero)<<quant.FineBits)
		}
		t := thr
		if thrs != nil {
			t = thrs[j]
		}
		refr := b2u(s >= 1<<16)
		win := b2u(x >= t) & b2u(x <= lim) &^ refr
		ns := s & sl.keepMask // not fired
		r := s - 1<<16        // refractory: count down
		if r-sl.resetFrom < sl.span {
			r = 0
		}
		if refr != 0 {
			ns = r
		}
		if win != 0 {
			ns = s // decided in the second pass
		}
		v := zero
		if accumulate {
			dj := d + uint32(j)*quant.DitherStep // DitherAt of neuron lo+j
			v = int32(q.StoreLeakSat(min(max(x, loF), hiF), keep, dj))
			if refr|win != 0 {
				v = m0
			}
			if !packed {
				mp[j] = int8(v)
			}
		}
		st[j] = ns | uint32(uint8(v))<<24&packMask
		a := rv
		if win != 0 {
			a = c
		}
		acc[j] = a
		fl8[j] = uint8(win)
	}
	inWin := packFlags(&fl)
	// Second pass: the neurons in the window, ascending.
	var word uint64
	burst, countLimit := e.burst, p.countLimit
	for bw := inWin; bw != 0; bw &= bw - 1 {
		j := bits.TrailingZeros64(bw)
		if j >= len(acc) {
			break
		}
		c := acc[j]
		w := st[j]
		s := w & stMask
		x := c
		m0 := zero
		if accumulate {
			if packed {
				m0 = int32(int8(w >> 24))
			} else {
				m0 = int32(mp[j])
			}
			x = quant.SatAdd(c, (m0-zero)<<quant.FineBits)
		}
		blocked := b2u(s >= countLimit)
		ex := uint32(1)
		if !p.exAlways {
			ex = b2u(uint64(ExcitabilityHash(id0+uint32(j), burst)) < p.exCut)
		}
		fire := ex &^ blocked
		ns := sl.next(s, fire, blocked, 0)
		v := zero
		if accumulate {
			k := keep
			if blocked != 0 {
				k = 1 << quant.KeepBits
			}
			v = int32(q.StoreLeakSat(min(max(x, loF), hiF), k, quant.DitherAt(id0+uint32(j), salt)))
			if fire != 0 {
				v = zero
			}
			if !packed {
				mp[j] = int8(v)
			}
		}
		st[j] = ns | uint32(uint8(v))<<24&packMask
		a := rv
		if fire != 0 {
			a = x
		}
		acc[j] = a
		word |= uint64(fire) << j
	}
	return word << (lo & 63)
}
