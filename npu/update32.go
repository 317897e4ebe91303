package npu

import (
	"math"
	"math/bits"
)

// update32 runs the per-candidate update of docs/semantics.md §2.2 on every
// candidate of shard sh, ascending, in float32 (docs/semantics.md §3.3):
//
//  1. refractory: countdown > 0 → countdown−1 (and count := 0 when it reaches
//     0 in a limited area with count ≥ limit); the input is discarded;
//  2. integrate: MP := f32(MP₀ + sum), MP₀ = 0 when accumulation is off;
//  3. window: threshold ≤ MP ≤ limit;
//  4. in the window: count ≥ limit → count := 0, not fired, MP kept (no leak);
//     otherwise fire iff the excitability draw passes;
//  5. fired: potential recorded, MP := 0, count+1 (saturating), countdown :=
//     refractory (+ snooze when the limit is reached in a limited area);
//  6. not fired: count := 0 in limited areas, MP := f32(MP · keep).
//
// The loop computes every outcome and selects with conditional moves: whether
// a neuron is refractory, fires or is rejected by excitability is close to
// random from one neuron to the next, and mispredicted branches would cost
// more than the arithmetic. The sum is read and reset (to 0, or the drive
// value) in the same pass.
func (e *engine) update32(sh *shard) {
	p := e.p
	acc, mp, st, cand, thrs := e.f32.acc, e.f32.mp, e.st, e.cand, e.f32.thr
	burst, first := e.burst, e.spec.FirstID
	fired, pot := sh.fired[:cap(sh.fired)], sh.pot[:cap(sh.pot)]
	nf := 0
	sel := p.selectors()
	for _, sg := range sh.segs {
		if sg.driven {
			if e.isSimple() {
				nf = e.simple32(sg, fired, pot, nf)
			} else {
				nf = e.dense32(sg, fired, pot, nf, &sel)
			}
			continue
		}
		sh.ran |= loopBitmap
		rv := sg.v32
		for w := sg.from >> 6; w <= (sg.to-1)>>6; w++ {
			word := cand[w] & segMask(w, sg.from, sg.to)
			if !sg.driven {
				cand[w] &^= word
			}
			for word != 0 {
				i := w<<6 | uint32(bits.TrailingZeros64(word))
				word &= word - 1
				c := acc[i]
				acc[i] = rv
				s := st[i]
				m0 := mp[i]
				m := c
				if p.accumulate {
					m = m0 + c
				}
				thr := p.thr32
				if thrs != nil {
					thr = thrs[i]
				}
				// Outcome flags, 0 or 1.
				refr := b2u(s >= 1<<16)
				win := b2u(m >= thr) & b2u(m <= p.lim32) &^ refr
				blocked := win & b2u(s >= p.countLimit) // s is the count when not refractory
				ex := uint32(1)
				if !p.exAlways {
					ex = b2u(uint64(ExcitabilityHash(first+i, burst)) < p.exCut)
				}
				fire := win &^ blocked & ex
				// Potential bits: leaked; kept (blocked); 0 (fired); unchanged (refractory).
				v := math.Float32bits(float32(m * p.keep32))
				mb, m0b := math.Float32bits(m), math.Float32bits(m0)
				v = sel3(v, mb, m0b, blocked, fire, refr)
				st[i] = sel.next(s, fire, blocked, refr)
				if p.accumulate {
					mp[i] = math.Float32frombits(v)
				}
				fired[nf] = i
				pot[nf] = m
				nf += int(fire)
			}
		}
	}
	sh.fired, sh.pot = fired[:nf], pot[:nf]
}

// pick is a if c != 0, else b: an inlined call, so both are computed before
// the select and it compiles to a conditional move (an if on a float's bits
// would sink the conversion into a branch).
func pick(c, a, b uint32) uint32 {
	if c != 0 {
		return a
	}
	return b
}

// b2u is 1 for true, 0 for false (compiled to SETcc).
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// stateSel holds the constants of the branch-free state transition.
type stateSel struct {
	keepMask   uint32 // 0xFFFF: a not-fired candidate keeps its count; 0: limited areas reset it
	refr       uint32 // countdown after a fire
	refrSn     uint32 // countdown after the fire that reaches the limit
	snoozeFrom uint32 // counts ≥ this get refrSn (never in unlimited areas)
	resetFrom  uint32 // a countdown reaching 0 resets counts in [resetFrom, 1<<16)
	span       uint32 // 1<<16 − resetFrom
}

func (p *areaParams) selectors() stateSel {
	s := stateSel{keepMask: 0xFFFF, refr: p.refr, refrSn: p.refrSn, snoozeFrom: 1 << 17, resetFrom: 1 << 16}
	if p.limited {
		s.keepMask, s.snoozeFrom, s.resetFrom = 0, p.countLimit, p.countLimit
	}
	s.span = 1<<16 - s.resetFrom
	return s
}

// next is the packed state after the update, from the state s and the
// outcome flags (each 0 or 1; blocked and fire imply not refractory).
func (c *stateSel) next(s, fire, blocked, refr uint32) uint32 {
	ns := s & c.keepMask & (blocked - 1) // not fired; 0 when blocked
	c1 := min(s+1, 0xFFFF)               // s is the count when not refractory
	cd, cdSn := c.refr, c.refrSn         // both loaded, so the select is a conditional move
	if c1 >= c.snoozeFrom {
		cd = cdSn
	}
	if fire != 0 {
		ns = cd<<16 | c1
	}
	r := s - 1<<16 // refractory: count down
	if r-c.resetFrom < c.span {
		r = 0
	}
	if refr != 0 {
		ns = r
	}
	return ns
}

// sel3 selects the stored potential bits: leaked, kept when blocked, 0 when
// fired, the old value when refractory.
func sel3(leaked, kept, old, blocked, fire, refr uint32) uint32 {
	v := leaked
	if blocked != 0 {
		v = kept
	}
	if fire != 0 {
		v = 0
	}
	if refr != 0 {
		v = old
	}
	return v
}

// dense32 is update32 for a driven segment: every neuron is a candidate, so
// the loop runs over the index range with no bitmap and no bounds checks, in
// blocks of up to 64 neurons that share one word of fireBits; fired neurons
// keep their potential in the sum for collect. It returns the new number of
// fired neurons in fired/pot.
func (e *engine) dense32(sg segment, fired []uint32, pot []float32, nf int, sel *stateSel) int {
	if e.noAccFast() {
		nf, sg.from = e.noAcc32(sg, fired, pot, nf, sel)
		if sg.from == sg.to {
			return nf
		}
	}
	e.shards[sg.shard].ran |= loopDense
	for lo := sg.from; lo < sg.to; {
		hi := min(sg.to, lo|63+1)
		e.fireBits[lo>>6] |= e.denseBlock32(lo, hi, math.Float32bits(sg.v32), sel)
		lo = hi
	}
	return collect(e.fireBits, e.f32.acc, sg.v32, sg, fired, pot, nf)
}

// denseBlock32 updates neurons [lo, hi) (within one 64-neuron word) and
// returns their fired flags as bits of that word. Two passes: the first
// settles every neuron that cannot fire (refractory, or outside the
// threshold window) and marks the others; the second decides those few — the
// consecutive limit and the excitability hash are paid only for them.
func (e *engine) denseBlock32(lo, hi uint32, rvb uint32, sel *stateSel) uint64 {
	p := &e.p
	acc := e.f32.acc[lo:hi]
	st := e.st[lo:hi]
	st = st[:len(acc)]
	mp := e.f32.mp[lo:hi]
	mp = mp[:len(acc)]
	thr, lim, keep := p.thr32, p.lim32, p.keep32
	accumulate := p.accumulate
	var thrs []float32
	if e.f32.thr != nil {
		thrs = e.f32.thr[lo:hi]
		thrs = thrs[:len(acc)]
	}
	sl := *sel
	var fl [64]uint8 // window flags (see simpleBlock8)
	fl8 := fl[:len(acc)]
	for j := range acc {
		c := acc[j]
		s := st[j]
		m := c
		var m0 float32
		if accumulate {
			m0 = mp[j]
			m = m0 + c
		}
		t := thr
		if thrs != nil {
			t = thrs[j]
		}
		refr := b2u(s >= 1<<16)
		win := b2u(m >= t) & b2u(m <= lim) &^ refr
		// Not refractory and outside the window: not fired (count reset in
		// limited areas, leak). Window neurons keep state, potential and
		// sum for the second pass.
		ns := s & sl.keepMask
		r := s - 1<<16 // refractory: count down
		if r-sl.resetFrom < sl.span {
			r = 0
		}
		if refr != 0 {
			ns = r
		}
		if win != 0 {
			ns = s
		}
		st[j] = ns
		if accumulate {
			v := math.Float32bits(float32(m * keep))
			mp[j] = math.Float32frombits(sel3(v, 0, math.Float32bits(m0), 0, 0, refr|win))
		}
		acc[j] = math.Float32frombits(pick(win, math.Float32bits(c), rvb))
		fl8[j] = uint8(win)
	}
	inWin := packFlags(&fl)
	// Second pass: the neurons in the window, ascending.
	var word uint64
	burst, id0, countLimit := e.burst, e.spec.FirstID+lo, p.countLimit
	for w := inWin; w != 0; w &= w - 1 {
		j := bits.TrailingZeros64(w)
		if j >= len(acc) {
			break
		}
		c := acc[j]
		s := st[j]
		m := c
		if accumulate {
			m = mp[j] + c
		}
		blocked := b2u(s >= countLimit)
		ex := uint32(1)
		if !p.exAlways {
			ex = b2u(uint64(ExcitabilityHash(id0+uint32(j), burst)) < p.exCut)
		}
		fire := ex &^ blocked
		st[j] = sl.next(s, fire, blocked, 0)
		mb := math.Float32bits(m)
		if accumulate {
			v := math.Float32bits(float32(m * keep))
			mp[j] = math.Float32frombits(sel3(v, mb, 0, blocked, fire, 0))
		}
		acc[j] = math.Float32frombits(pick(fire, mb, rvb))
		word |= uint64(fire) << j
	}
	return word << (lo & 63)
}
