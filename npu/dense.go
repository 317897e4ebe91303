package npu

import "math/bits"

// The no-accumulation fast path of the dense loops. In an area without
// charge accumulation and without a threshold gradient (FEAGI's A1 workload
// among them), a driven neuron's potential is its sum alone and nothing but
// the state word is stored, so one branch-free pass per block of 64 neurons
// does the whole update of docs/semantics.md §2.2, the excitability hash included:
// the hash's PCG state is affine in the neuron id (pcgState), so the loop
// advances it by one addition per neuron and pays only the output function.
// The fired neurons' offsets and potentials go to buffers on the stack (at
// index n, advanced when one fires) and are copied out after the block, in
// ascending order. Whole blocks are taken from the segment's start; the rest
// goes through denseBlock32/denseBlock8 and collect.
//
// In a burst with no input but the drive (engine.driveOnly) and a
// consecutive-fire limit, every sum is the drive, so the window test is one
// comparison per segment and the loop reads and writes only the state words
// (driveOnlyLimited), the hash flags coming from a separate pass (exFlags).

// noAccFast reports whether the driven segments of the area take the
// no-accumulation blocks.
func (e *engine) noAccFast() bool { return !e.p.accumulate && !e.p.gradient }

// noAcc32 runs the whole 64-neuron blocks of sg from its start and returns
// the new nf and the first neuron it did not update.
func (e *engine) noAcc32(sg segment, fired []uint32, pot []float32, nf int, sel *stateSel) (int, uint32) {
	from := sg.from
	ps := pcgState(hashSeed(e.spec.FirstID+from, e.burst))
	if e.driveOnlyFast() {
		e.shards[sg.shard].ran |= loopDriveOnly
		win := sg.v32 >= e.p.thr32 && sg.v32 <= e.p.lim32
		nf0 := nf
		nf, from = e.driveOnlyLimited(sg, win, fired, nf, 0)
		for i := range pot[nf0:nf] {
			pot[nf0+i] = sg.v32
		}
		return nf, from
	}
	if sg.to-from >= 64 {
		e.shards[sg.shard].ran |= loopNoAcc
	}
	for ; sg.to-from >= 64; from += 64 {
		if e.p.limited {
			nf = e.noAccLimited32(from, sg.v32, ps, fired, pot, nf)
		} else {
			nf = e.noAccBlock32(from, sg.v32, sel, ps, fired, pot, nf)
		}
		ps += pcgIDStep64
	}
	return nf, from
}

// noAccBlock32 updates the 64 neurons from lo; ps is the PCG state of the
// excitability hash of neuron lo (see noAcc32).
func (e *engine) noAccBlock32(lo uint32, rv float32, sel *stateSel, ps uint32, fired []uint32, pot []float32, nf int) int {
	p := &e.p
	acc := (*[64]float32)(e.f32.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	thr, lim, countLimit, exCut := p.thr32, p.lim32, p.countLimit, p.exCut
	sl := *sel
	var fb [64]uint8
	var mb [64]float32
	n := 0
	for j := 0; j < 64; j++ {
		m := acc[j]
		s := st[j]
		acc[j] = rv // a fired neuron's sum restarts too
		refr := b2u(s >= 1<<16)
		win := b2u(m >= thr) & b2u(m <= lim) &^ refr
		blocked := win & b2u(s >= countLimit) // s is the count when not refractory
		ex := b2u(uint64(pcgOut(ps)) < exCut)
		ps += pcgIDStep
		fire := win &^ blocked & ex
		st[j] = sl.next(s, fire, blocked, refr)
		fb[n&63] = uint8(j)
		mb[n&63] = m
		n += int(fire)
	}
	out, outP := fired[nf:nf+n], pot[nf:nf+n]
	for i := range out {
		out[i] = lo + uint32(fb[i])
		outP[i] = mb[i]
	}
	return nf + n
}

// noAcc8 is noAcc32 for int8.
func (e *engine) noAcc8(sg segment, fired []uint32, potF []int32, nf int, sel *stateSel) (int, uint32) {
	from := sg.from
	ps := pcgState(hashSeed(e.spec.FirstID+from, e.burst))
	if e.driveOnlyFast() {
		e.shards[sg.shard].ran |= loopDriveOnly
		win := sg.vF >= e.i8.thrF && sg.vF <= e.i8.limF
		nf0 := nf
		nf, from = e.driveOnlyLimited(sg, win, fired, nf, uint32(uint8(e.i8.q.Zero))<<24) // packed: refrSn ≤ 255
		for i := range potF[nf0:nf] {
			potF[nf0+i] = sg.vF
		}
		return nf, from
	}
	if sg.to-from >= 64 {
		e.shards[sg.shard].ran |= loopNoAcc
	}
	for ; sg.to-from >= 64; from += 64 {
		nf = e.noAccBlock8(from, sg.vF, sel, ps, fired, potF, nf)
		ps += pcgIDStep64
	}
	return nf, from
}

// noAccBlock8 is noAccBlock32 for int8: comparisons in fine units, and the
// stored code (packed areas) is always the code of 0.
func (e *engine) noAccBlock8(lo uint32, rv int32, sel *stateSel, ps uint32, fired []uint32, potF []int32, nf int) int {
	p := &e.p
	acc := (*[64]int32)(e.i8.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	_, stMask, packMask := e.packing()
	zeroTop := uint32(uint8(e.i8.q.Zero)) << 24 & packMask
	thr, lim, countLimit, exCut := e.i8.thrF, e.i8.limF, p.countLimit, p.exCut
	sl := *sel
	var fb [64]uint8
	var xb [64]int32
	n := 0
	for j := 0; j < 64; j++ {
		x := acc[j]
		s := st[j] & stMask
		acc[j] = rv
		refr := b2u(s >= 1<<16)
		win := b2u(x >= thr) & b2u(x <= lim) &^ refr
		blocked := win & b2u(s >= countLimit)
		ex := b2u(uint64(pcgOut(ps)) < exCut)
		ps += pcgIDStep
		fire := win &^ blocked & ex
		st[j] = sl.next(s, fire, blocked, refr) | zeroTop
		fb[n&63] = uint8(j)
		xb[n&63] = x
		n += int(fire)
	}
	out, outP := fired[nf:nf+n], potF[nf:nf+n]
	for i := range out {
		out[i] = lo + uint32(fb[i])
		outP[i] = xb[i]
	}
	return nf + n
}

// exFlags sets ex[j] to 1 when neuron lo+j fires by excitability (the draw
// passes), for the 64 neurons whose first hash state is ps. A separate pass,
// so the update loop keeps its values in registers.
func exFlags(ex *[64]uint8, ps uint32, exCut uint64) {
	for j := range ex {
		ex[j] = uint8(b2u(uint64(pcgOut(ps)) < exCut))
		ps += pcgIDStep
	}
}

// limitedNext holds the constants of the state transition of an area with
// a consecutive-fire limit L (1 ≤ L < 0xFFFF), where it simplifies: a
// candidate that does not fire and is not refractory gets state 0 (count
// reset, blocked or not); a firing one has count s < L (so no saturation)
// and gets count s+1 with countdown refr, or refr+snooze when s+1 reaches L;
// a refractory one counts down and, when the countdown reaches 0 with the
// count at L or more, resets the count (stateSel.next).
type limitedNext struct {
	limit, span    uint32 // L and 1<<16 − L
	fireA, fireSnA uint32 // added to the state when firing: refr<<16+1, refrSn<<16+1
}

func (p *areaParams) limitedNext() limitedNext {
	return limitedNext{limit: p.countLimit, span: 1<<16 - p.countLimit, fireA: p.refr<<16 + 1, fireSnA: p.refrSn<<16 + 1}
}

// noAccLimited32 is noAccBlock32 for an area with a consecutive-fire limit.
func (e *engine) noAccLimited32(lo uint32, rv float32, ps uint32, fired []uint32, pot []float32, nf int) int {
	p := &e.p
	var ex [64]uint8
	exFlags(&ex, ps, p.exCut)
	acc := (*[64]float32)(e.f32.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	thr, lim := p.thr32, p.lim32
	ln := p.limitedNext()
	var fb [64]uint8
	var mb [64]float32
	n := 0
	for j := 0; j < 64; j++ {
		m := acc[j]
		s := st[j]
		acc[j] = rv
		// s < L: not refractory (L < 2^16) and not blocked by the limit.
		fire := b2u(m >= thr) & b2u(m <= lim) & b2u(s < ln.limit) & uint32(ex[j])
		add := ln.fireA
		if s+1 >= ln.limit {
			add = ln.fireSnA
		}
		ns := uint32(0)
		if fire != 0 {
			ns = s + add
		}
		r := s - 1<<16
		if r-ln.limit < ln.span {
			r = 0
		}
		if s >= 1<<16 {
			ns = r
		}
		st[j] = ns
		fb[n&63] = uint8(j)
		mb[n&63] = m
		n += int(fire)
	}
	out, outP := fired[nf:nf+n], pot[nf:nf+n]
	for i := range out {
		out[i] = lo + uint32(fb[i])
		outP[i] = mb[i]
	}
	return nf + n
}

// driveOnlyFast reports whether the driven segments take driveOnlyLimited
// in this burst.
func (e *engine) driveOnlyFast() bool { return e.driveOnly && e.p.limited && e.p.refrSn <= 0xFF }

// driveOnlyLimited updates the whole 64-neuron blocks of sg from its start
// in a burst without input but the drive (engine.driveOnly), in an area with
// a consecutive-fire limit: every sum is the drive, so whether it is in the
// threshold window (win) is the same for all, and the sums are left as they
// are (they restart at the drive). The fired neurons are appended to fired
// from nf (their potentials, the drive, are the caller's); it returns the new
// nf and the first neuron it did not update. The countdown fits 8 bits
// (driveOnlyFast), so the state bits are the low 24 of st, and zeroTop is
// or-ed into every stored word (int8: the code of 0, packed).
func (e *engine) driveOnlyLimited(sg segment, win bool, fired []uint32, nf int, zeroTop uint32) (int, uint32) {
	p := &e.p
	ln := p.limitedNext()
	from := sg.from
	if !win { // nobody fires: state 0, or the countdown
		for ; sg.to-from >= 64; from += 64 {
			st := (*[64]uint32)(e.st[from : from+64])
			for j, w := range st {
				s := w & 0x00FFFFFF
				r := s - 1<<16
				if r-ln.limit < ln.span {
					r = 0
				}
				ns := uint32(0)
				if s >= 1<<16 {
					ns = r
				}
				st[j] = ns | zeroTop
			}
		}
		return nf, from
	}
	ps := pcgState(hashSeed(e.spec.FirstID+from, e.burst))
	if haveKernels && p.exCut > 0 {
		k := ln.kernel(p.exCut, zeroTop)
		for ; sg.to-from >= 64; from += 64 {
			out := (*[64 + kernelSlack]uint32)(fired[nf : nf+64+kernelSlack])
			nf += limitedKernel(&e.st[from : from+64][0], &k, ps, &out[0], from)
			ps += pcgIDStep64
		}
		return nf, from
	}
	for ; sg.to-from >= 64; from += 64 {
		var ex [64]uint8
		exFlags(&ex, ps, p.exCut)
		ps += pcgIDStep64
		word := limitedBlock((*[64]uint32)(e.st[from:from+64]), &ex, &ln, zeroTop)
		for ; word != 0; word &= word - 1 {
			fired[nf] = from + uint32(bits.TrailingZeros64(word))
			nf++
		}
	}
	return nf, from
}

// limitedK are the constants of limitedKernel, laid out as the assembly
// reads them (offsets checked by TestKernelLayout).
type limitedK struct {
	cutX    uint32 // (excitability cut − 1), sign bit flipped
	sign    uint32 // 1<<31
	hstep8  uint32 // eight neurons' hash-state steps
	outMul  uint32 // pcgOut's multiplier
	four    uint32
	low24   uint32
	limit   uint32
	limitM2 uint32 // limit − 2: s + 1 ≥ limit ⇔ s > limit − 2
	spanX   uint32 // span, sign bit flipped
	fireA   uint32
	fireSnA uint32
	refrB   uint32 // 0xFFFF: states above are refractory
	down    uint32 // −1<<16
	zeroTop uint32
	eight   uint32
	_       uint32
	hlanes  [8]uint32 // hash-state offsets of the first eight neurons
	lut     *[256]uint64
	lanes   [8]uint32 // 0 … 7
}

// kernel returns limitedKernel's constants for excitability cut exCut
// (1 … 2³²) and the top bits zeroTop.
func (ln *limitedNext) kernel(exCut uint64, zeroTop uint32) limitedK {
	step := pcgIDStep
	k := limitedK{cutX: uint32(exCut-1) ^ 1<<31, sign: 1 << 31, hstep8: 8 * step, outMul: pcgOutMul, four: 4,
		low24: 0x00FFFFFF, limit: ln.limit, limitM2: ln.limit - 2, spanX: ln.span ^ 1<<31, fireA: ln.fireA,
		fireSnA: ln.fireSnA, refrB: 0xFFFF, down: 0xFFFF0000, zeroTop: zeroTop, eight: 8, lut: compressLUT, lanes: laneIndex}
	for j := range k.hlanes {
		k.hlanes[j] = uint32(j) * step
	}
	return k
}

// limitedBlock is the loop of driveOnlyLimited for one block, apart so that
// its values fit in registers: it updates the states st (state bits below
// 2^24, see driveOnlyLimited) with the excitability flags ex and returns the
// fired neurons as the bits of a word.
func limitedBlock(st *[64]uint32, ex *[64]uint8, ln *limitedNext, zeroTop uint32) uint64 {
	limit, span, fireA, fireSnA := ln.limit, ln.span, ln.fireA, ln.fireSnA
	var word uint64
	for j := 0; j < 64; j++ {
		s := st[j] & 0x00FFFFFF
		r := s - 1<<16 // refractory: count down
		if r-limit < span {
			r = 0
		}
		add := fireA
		if s+1 >= limit {
			add = fireSnA
		}
		fire := b2u(s < limit) & uint32(ex[j]) // see limitedNext
		ns := (s + add) & -fire                // 0 when not fired
		if s >= 1<<16 {
			ns = r
		}
		st[j] = ns | zeroTop
		word |= uint64(fire) << j
	}
	return word
}
