package npu

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/spikemesh/spikemesh/quant"
)

// The simple fast path. Most areas have no consecutive-fire limit, always
// fire when in the window (excitability ≥ 0.999), accumulate charge and have
// no threshold gradient. For them the update of docs/semantics.md §2.2 reduces to:
// refractory → count down; otherwise MP := MP + sum; in the window (and the
// saturated-count edge case aside) fire, reset to 0 and start the countdown;
// else leak. These loops are that reduction, selected once per segment; the
// differential and conformance tests run through both paths.

// isSimple reports whether the area qualifies for the simple path in this
// burst: besides the parameters, no neuron may have a saturated count (0xFFFF,
// which blocks it once, docs/semantics.md §2.3) — countBound, the largest count any
// neuron can have, rules that out for the first 65,534 bursts — and int8
// areas must be packed with sums bounded by inputLimit (plainAdd).
func (e *engine) isSimple() bool {
	p := &e.p
	return e.arr.simpleOK() && !p.limited && p.exAlways && p.accumulate && !p.gradient && e.countBound < 0xFFFF
}

// simpleOK is true: fp32 areas have no condition of their own on the
// simple path.
func (a *neurons32) simpleOK() bool { return true }

// simpleOK: int8 simple loops need the code packed into the state word and
// sums that cannot overflow.
func (a *neurons8) simpleOK() bool { return a.plainAdd && a.packed }

// simple32 is dense32 for a simple area: whole blocks of 64 neurons go
// through simpleBlockI32 (a positive threshold and a finite limit, as most
// areas have; its assembly twin simpleBlockK32 where the kernels run) or
// simpleBlock32, the rest of the segment through simpleRange32; all append
// the fired neurons to fired/pot from nf, ascending.
func (e *engine) simple32(sg segment, fired []uint32, pot []float32, nf int) int {
	from := sg.from
	thr, lim := e.p.thr32, e.p.lim32
	sh := &e.shards[sg.shard]
	if thr > 0 && thr <= lim && lim <= math.MaxFloat32 {
		if haveKernels && sg.to-from >= 64 {
			sh.ran |= loopSimpleKernel
			k := e.kernel32(sg.v32)
			for ; sg.to-from >= 64; from += 64 {
				nf = e.simpleBlockK32(from, &k, fired, pot, nf)
			}
		}
		if sg.to-from >= 64 {
			sh.ran |= loopSimpleBlock
		}
		for ; sg.to-from >= 64; from += 64 {
			nf = e.simpleBlockI32(from, sg.v32, fired, pot, nf)
		}
	}
	if sg.to-from >= 64 {
		sh.ran |= loopSimpleBlock
	}
	for ; sg.to-from >= 64; from += 64 {
		nf = e.simpleBlock32(from, sg.v32, fired, pot, nf)
	}
	if from < sg.to {
		sh.ran |= loopSimpleRange
	}
	return e.simpleRange32(from, sg.to, sg.v32, fired, pot, nf)
}

// kernel32 are the constants of simpleKernel32, laid out as the assembly
// reads them (offsets checked by TestKernelLayout): the unsigned bounds
// arrive with their sign bit flipped, for signed vector comparisons.
type kernel32 struct {
	rv     float32 // the segment's drive, the sums' restart value
	thrB   int32   // bits of the threshold
	spanX  uint32  // bits(limit) − bits(threshold), sign bit flipped
	keep   float32 // 1 − leak
	cdFire uint32  // added to the state of a neuron that fires
	sign   uint32  // 1<<31
	refrX  uint32  // 0xFFFF, sign bit flipped: states above it are refractory
	down   uint32  // −1<<16: one burst off the countdown
	lut    *[256]uint64
	lanes  [8]uint32 // 0 … 7
	eight  uint32
}

// compressLUT lists, for every 8-bit mask, the positions of its set bits in
// ascending order, one per byte (the rest 0): the lane order that moves the
// fired lanes of eight to the front.
var compressLUT = func() *[256]uint64 {
	var t [256]uint64
	for m := range t {
		k := 0
		for j := range 8 {
			if m>>j&1 != 0 {
				t[m] |= uint64(j) << (8 * k)
				k++
			}
		}
	}
	return &t
}()

var laneIndex = [8]uint32{0, 1, 2, 3, 4, 5, 6, 7}

// kernelSlack is how far past the last fired entry the kernels may write:
// fired lists have this much room beyond the shard's size (buildShards).
const kernelSlack = 8

// kernel32 returns simpleKernel32's constants for drive rv (the conditions
// of simpleBlockI32 hold).
func (e *engine) kernel32(rv float32) kernel32 {
	p := &e.p
	thrB := int32(math.Float32bits(p.thr32))
	return kernel32{
		rv: rv, thrB: thrB, spanX: uint32(int32(math.Float32bits(p.lim32))-thrB) ^ 1<<31,
		keep: p.keep32, cdFire: p.refr<<16 + 1, sign: 1 << 31, refrX: 0xFFFF ^ 1<<31, down: 0xFFFF0000,
		lut: compressLUT, lanes: laneIndex, eight: 8,
	}
}

// simpleBlockK32 is simpleBlockI32 through simpleKernel32. fired and pot
// have room for 64 + kernelSlack entries from nf: the neurons before this
// block fired at most once each, and the lists have the slack.
func (e *engine) simpleBlockK32(lo uint32, k *kernel32, fired []uint32, pot []float32, nf int) int {
	acc := (*[64]float32)(e.f32.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	mp := (*[64]float32)(e.f32.mp[lo : lo+64])
	out := (*[64 + kernelSlack]uint32)(fired[nf : nf+64+kernelSlack])
	outP := (*[64 + kernelSlack]float32)(pot[nf : nf+64+kernelSlack])
	return nf + simpleKernel32(&acc[0], &st[0], &mp[0], k, &out[0], &outP[0], lo)
}

// simpleBlockI32 is simpleBlock32 for 0 < threshold ≤ limit ≤ MaxFloat32,
// with the window test in integers: then thr ≤ m ≤ lim exactly when the bits
// of m, as an int32, lie between those of thr and lim (finite non-negative
// floats order as their bits; a negative m, −0 included, has negative bits;
// +Inf and NaNs have bits above any finite lim's), which is one unsigned
// comparison.
func (e *engine) simpleBlockI32(lo uint32, rv float32, fired []uint32, pot []float32, nf int) int {
	p := &e.p
	acc := (*[64]float32)(e.f32.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	mp := (*[64]float32)(e.f32.mp[lo : lo+64])
	thrB := int32(math.Float32bits(p.thr32))
	span := uint32(int32(math.Float32bits(p.lim32)) - thrB)
	keep := p.keep32
	cdFire := p.refr<<16 + 1
	var fb [64]uint8
	var mb [64]float32
	n := 0
	for j := 0; j < 64; j++ {
		s := st[j]
		m0 := mp[j]
		m := m0 + acc[j]
		acc[j] = rv
		win := b2u(uint32(int32(math.Float32bits(m))-thrB) <= span)
		refr := b2u(s >= 1<<16)
		fw := s + cdFire
		ns := s
		if win != 0 {
			ns = fw
		}
		if refr != 0 { // count down, keep the potential
			ns = s - 1<<16
		}
		st[j] = ns
		// sel3: see simpleRange32.
		mp[j] = math.Float32frombits(sel3(math.Float32bits(float32(m*keep)), 0, math.Float32bits(m0), 0, win, refr))
		fb[n&63] = uint8(j)
		mb[n&63] = m
		n += int(b2u(ns == fw))
	}
	out, outP := fired[nf:nf+n], pot[nf:nf+n]
	for i := range out {
		out[i] = lo + uint32(fb[i])
		outP[i] = mb[i]
	}
	return nf + n
}

// simpleRange32 updates neurons [from, to) of a simple fp32 area (rv: their
// drive) in one branch-free pass: every neuron's index and potential are
// written at position nf of fired/pot, and nf advances only when it fired.
func (e *engine) simpleRange32(from, to uint32, rv float32, fired []uint32, pot []float32, nf int) int {
	p := &e.p
	acc := e.f32.acc[from:to]
	st := e.st[from:to]
	st = st[:len(acc)]
	mp := e.f32.mp[from:to]
	mp = mp[:len(acc)]
	thr, lim, keep := p.thr32, p.lim32, p.keep32
	cdFire := p.refr<<16 + 1 // added to the state when firing: countdown and count+1
	for j := range acc {
		s := st[j]
		m0 := mp[j]
		m := m0 + acc[j]
		acc[j] = rv
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
		// Selected through an inlined call so the bit conversions happen
		// before the selects and every select is a conditional move.
		mp[j] = math.Float32frombits(sel3(math.Float32bits(float32(m*keep)), 0, math.Float32bits(m0), 0, fire, refr))
		fired[nf] = from + uint32(j)
		pot[nf] = m
		nf += int(fire)
	}
	return nf
}

// simpleBlock32 is simpleRange32 for the 64 neurons from lo, with fewer
// values live in the loop: the fired neurons' offsets and potentials go to
// buffers on the stack (at index n, advanced when one fires) and are copied
// out after the loop, and whether a neuron fired is read back from its new
// state (a firing neuron's is s + cdFire; any other new state keeps the
// count, which differs from count+1 as counts stay below 0xFFFF on the
// simple path).
func (e *engine) simpleBlock32(lo uint32, rv float32, fired []uint32, pot []float32, nf int) int {
	p := &e.p
	acc := (*[64]float32)(e.f32.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	mp := (*[64]float32)(e.f32.mp[lo : lo+64])
	thr, lim, keep := p.thr32, p.lim32, p.keep32
	cdFire := p.refr<<16 + 1
	var fb [64]uint8
	var mb [64]float32
	n := 0
	for j := 0; j < 64; j++ {
		s := st[j]
		m0 := mp[j]
		m := m0 + acc[j]
		acc[j] = rv
		win := b2u(m >= thr) & b2u(m <= lim)
		refr := b2u(s >= 1<<16)
		fw := s + cdFire
		ns := s
		if win != 0 {
			ns = fw
		}
		if refr != 0 { // count down, keep the potential
			ns = s - 1<<16
		}
		st[j] = ns
		// sel3: see simpleRange32.
		mp[j] = math.Float32frombits(sel3(math.Float32bits(float32(m*keep)), 0, math.Float32bits(m0), 0, win, refr))
		fb[n&63] = uint8(j)
		mb[n&63] = m
		n += int(b2u(ns == fw))
	}
	out, outP := fired[nf:nf+n], pot[nf:nf+n]
	for i := range out {
		out[i] = lo + uint32(fb[i])
		outP[i] = mb[i]
	}
	return nf + n
}

// simple8 is dense8 for a simple area (see simple32). It requires plainAdd:
// sums bounded by inputLimit, so adding the potential cannot overflow. The
// simple path takes packed int8 areas only (isSimple), so the potential code
// is the top byte of the state word. Whole blocks of 64 neurons take
// simpleBlock8 (or its assembly twin simpleBlockK8 where the kernels run)
// when its conditions hold (fast8), the rest simpleRange8.
func (e *engine) simple8(sg segment, fired []uint32, potF []int32, nf int) int {
	from := sg.from
	sh := &e.shards[sg.shard]
	if e.fast8(sg) {
		salt := quant.DitherSalt(e.burst)
		c := e.blockConst8(sg.vF)
		if haveKernels && sg.to-from >= 64 {
			sh.ran |= loopSimpleKernel
			k := c.kernel8()
			for ; sg.to-from >= 64; from += 64 {
				nf = e.simpleBlockK8(from, &k, quant.DitherAt(e.spec.FirstID+from, salt), fired, potF, nf)
			}
		}
		if sg.to-from >= 64 {
			sh.ran |= loopSimpleBlock
		}
		for ; sg.to-from >= 64; from += 64 {
			nf = e.simpleBlock8(from, &c, quant.DitherAt(e.spec.FirstID+from, salt), fired, potF, nf)
		}
	}
	if from < sg.to {
		sh.ran |= loopSimpleRange
	}
	return e.simpleRange8(from, sg.to, sg.vF, fired, potF, nf)
}

// simpleRange8 updates neurons [from, to) of a simple int8 area (rv: their
// drive) and appends the fired ones to fired/potF from nf.
//
// One branch-free pass: every neuron's index and fine potential are written
// at position nf of fired/potF, and nf advances only when it fired, so the
// fired list comes out ascending with no second pass. The loop works in
// "code × 256" units (y = x + Zero·256), where the code range is fixed
// ([−128·256, 127·256]), so the saturation uses constants. The store is
// StoreLeak's exactly: with c = clamp(y), StoreLeak's code is the low byte of
// ((c − Zero·256)·keep + dither) >> 23 + Zero, that is bits 23–30 of
// c·keep + dither + (Zero·2²³ − Zero·256·keep) in wrapping int32 arithmetic
// (adding a multiple of 2²³ before the shift is adding after it, and the low
// byte of a sum depends only on the low bits of its terms); shifting that sum
// left by one puts those bits in the code byte of the state word.
func (e *engine) simpleRange8(from, to uint32, rv int32, fired []uint32, potF []int32, nf int) int {
	p := &e.p
	zero := int32(e.i8.q.Zero)
	zero8 := zero << quant.FineBits
	d := quant.DitherAt(e.spec.FirstID+from, quant.DitherSalt(e.burst)) // of neuron from
	acc := e.i8.acc[from:to]
	st := e.st[from:to]
	st = st[:len(acc)]
	// thr ≤ x ≤ lim as one unsigned comparison on y (no overflow: |y| < 2^30).
	thrY, span, keep := e.i8.thrF+zero8, uint32(e.i8.limF-e.i8.thrF), e.i8.keepQ
	k0 := zero<<(quant.FineBits+quant.KeepBits) - zero8*keep // wraps; see above
	// Added to the state bits of a firing neuron: countdown, count+1, and
	// the code of 0 (the state bits are < 2^24, so nothing carries into it).
	fireAdd := p.refr<<16 + 1 + uint32(uint8(zero))<<24
	const ditherMask = 1<<(quant.FineBits+quant.KeepBits) - 1
	for j := range acc {
		w := st[j]
		y := acc[j] + int32(w&0xFF000000)>>(24-quant.FineBits) // |acc| ≤ inputLimit: no overflow
		acc[j] = rv
		s := w & 0x00FFFFFF
		c := min(max(y, quant.MinCode<<quant.FineBits), quant.MaxCode<<quant.FineBits)
		t := c*keep + int32(d&ditherMask) + k0
		d += quant.DitherStep // DitherAt of the next neuron
		nw := s | uint32(t)<<1&0xFF000000
		fire := b2u(uint32(y-thrY) <= span) & b2u(s < 1<<16)
		if fire != 0 {
			nw = s + fireAdd
		}
		if s >= 1<<16 { // refractory: count down, keep the code
			nw = w - 1<<16
		}
		st[j] = nw
		fired[nf] = from + uint32(j)
		potF[nf] = y - zero8
		nf += int(fire)
	}
	return nf
}

// fast8 reports whether segment sg may take simpleBlock8 in this burst: the
// area has no threshold limit, its threshold code is in range, and no sum
// can be negative (no inhibitory synapse, no negative point this burst, a
// drive ≥ 0). Then the saturation of simpleRange8 never changes a stored
// code: a sum is ≥ 0, so the potential is at least the lowest code's; and a
// potential above the highest code is above the threshold, so the neuron
// fires or is refractory and its leaked code is not used. Without a limit
// the window test is y ≥ thrF + Zero·256, a signed comparison (no overflow:
// |y| < 2^30 and |thrF| < 2^21).
func (e *engine) fast8(sg segment) bool {
	loF, hiF := e.i8.q.FineRange()
	return e.i8.limF == math.MaxInt32 && !e.inhibitory && !e.i8.negPoints && sg.vF >= 0 &&
		e.i8.thrF <= hiF && e.i8.thrF >= loF-1<<16
}

// block8 are the per-segment constants of simpleBlock8.
type block8 struct {
	rv, zero8, thrY, keep, k0 int32
	fireAdd                   uint32
}

func (e *engine) blockConst8(rv int32) block8 {
	zero := int32(e.i8.q.Zero)
	zero8 := zero << quant.FineBits
	return block8{
		rv: rv, zero8: zero8, thrY: e.i8.thrF + zero8, keep: e.i8.keepQ,
		k0:      zero<<(quant.FineBits+quant.KeepBits) - zero8*e.i8.keepQ,
		fireAdd: e.p.refr<<16 + 1 + uint32(uint8(zero))<<24,
	}
}

// kernel8 are the constants of simpleKernel8, laid out as the assembly reads
// them (offsets checked by TestKernelLayout).
type kernel8 struct {
	rv, thrY, keep, k0 int32
	fireAdd            uint32
	dmask              uint32    // the dither bits used
	dstep              uint32    // eight neurons' dither steps
	low24, top8        uint32    // the state's count/countdown and code parts
	refrB, down        uint32    // 0xFFFF: states above are refractory; −1<<16
	zero8              int32     // Zero·256, taken off the potentials
	dlanes             [8]uint32 // dither offsets of the first eight neurons
	lut                *[256]uint64
	lanes              [8]uint32 // 0 … 7
	eight              uint32
}

func (c *block8) kernel8() kernel8 {
	step := uint32(quant.DitherStep)
	k := kernel8{rv: c.rv, thrY: c.thrY, keep: c.keep, k0: c.k0, fireAdd: c.fireAdd,
		dmask: 1<<(quant.FineBits+quant.KeepBits) - 1, dstep: 8 * step,
		low24: 0x00FFFFFF, top8: 0xFF000000, refrB: 0xFFFF, down: 0xFFFF0000, zero8: c.zero8,
		lut: compressLUT, lanes: laneIndex, eight: 8}
	for j := range k.dlanes {
		k.dlanes[j] = uint32(j) * step
	}
	return k
}

// simpleBlockK8 is simpleBlock8 through simpleKernel8 (see simpleBlockK32).
func (e *engine) simpleBlockK8(lo uint32, k *kernel8, d uint32, fired []uint32, potF []int32, nf int) int {
	acc := (*[64]int32)(e.i8.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	out := (*[64 + kernelSlack]uint32)(fired[nf : nf+64+kernelSlack])
	outP := (*[64 + kernelSlack]int32)(potF[nf : nf+64+kernelSlack])
	return nf + simpleKernel8(&acc[0], &st[0], k, d, &out[0], &outP[0], lo)
}

// simpleBlock8 is simpleRange8 for the 64 neurons from lo when fast8 holds
// (no saturation, no upper window bound), with fewer values live in the loop
// so that they fit in registers: the fired neurons' offsets and potentials
// go to buffers on the stack (at index n, advanced when one fires) and are
// copied out after the loop, and whether a neuron fired is read back from
// its new state (the state of a firing neuron is s + fireAdd; any other new
// state keeps the count, which differs from count+1 as counts stay below
// 0xFFFF on the simple path). d is the dither of neuron lo.
func (e *engine) simpleBlock8(lo uint32, c *block8, d uint32, fired []uint32, potF []int32, nf int) int {
	acc := (*[64]int32)(e.i8.acc[lo : lo+64])
	st := (*[64]uint32)(e.st[lo : lo+64])
	rv, thrY, keep, k0, fireAdd := c.rv, c.thrY, c.keep, c.k0, c.fireAdd
	const ditherMask = 1<<(quant.FineBits+quant.KeepBits) - 1
	var fb [64]uint8
	var yb [64]int32
	n := 0
	for j := 0; j < 64; j++ {
		w := st[j]
		y := acc[j] + int32(w&0xFF000000)>>(24-quant.FineBits)
		acc[j] = rv
		s := w & 0x00FFFFFF
		t := y*keep + int32(d&ditherMask) + k0 // wraps (unused when it does)
		d += quant.DitherStep
		nw := s | uint32(t)<<1&0xFF000000
		fw := s + fireAdd
		if y >= thrY {
			nw = fw
		}
		if s >= 1<<16 {
			nw = w - 1<<16
		}
		st[j] = nw
		fb[n&63] = uint8(j)
		yb[n&63] = y
		n += int(b2u(nw == fw))
	}
	out, outP := fired[nf:nf+n], potF[nf:nf+n]
	zero8 := c.zero8
	for i := range out {
		out[i] = lo + uint32(fb[i])
		outP[i] = yb[i] - zero8
	}
	return nf + n
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

// collect appends the neurons of sg marked in fireBits, ascending, with
// their firing potentials (left in the sums acc by the loop: float32 sums
// for fp32, fine units for int8, decoded later), clears their marks and
// restarts their sums at the segment's drive.
func collect[V float32 | int32](fireBits []uint64, acc []V, drive V, sg segment, fired []uint32, pot []V, nf int) int {
	for w := sg.from >> 6; w <= (sg.to-1)>>6; w++ {
		word := fireBits[w] & segMask(w, sg.from, sg.to)
		if word == 0 {
			continue
		}
		fireBits[w] &^= word
		for word != 0 {
			i := w<<6 | uint32(bits.TrailingZeros64(word))
			word &= word - 1
			fired[nf] = i
			pot[nf] = acc[i]
			acc[i] = drive
			nf++
		}
	}
	return nf
}
