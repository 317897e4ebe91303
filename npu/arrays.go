package npu

import "github.com/spikemesh/spikemesh/quant"

// neurons32 are the neuron arrays of an fp32 engine.
type neurons32 struct {
	mp  []float32 // potentials
	acc []float32 // fire-candidate sums (dense)
	thr []float32 // per-neuron threshold (gradient only)
	// vals: what every synapse adds, by incoming connection and shard
	// (parallel to inConn.tabs); div: for an mp-driven connection, the
	// divisor of every source (1 when not divided), else nil.
	vals [][]values32
	div  [][]float32
}

// neurons8 are the neuron arrays of an int8 engine and what its fixed-point
// arithmetic needs.
type neurons8 struct {
	q quant.Quantizer
	// packed: the countdown fits 8 bits, so the potential code rides in the
	// top byte of engine.st (countdown<<16 | count below it), 4 B per neuron
	// in all; otherwise mp holds the codes.
	packed bool
	mp     []int8
	acc    []int32 // fire-candidate sums in fine units (dense)
	thr    []int32 // per-neuron fine threshold (gradient only)
	// thrF, limF: the threshold and limit in fine units (limF MaxInt32 when
	// the area has none); keepQ: the keep factor 1 − leak in Q15.
	thrF, limF int32
	keepQ      int32
	vals       [][]values8 // as neurons32.vals
	// plainAdd: no neuron's synaptic input can exceed inputLimit;
	// negPoints: some sensory point of this burst is negative (see fast8).
	plainAdd, negPoints bool
}

// neuronArray is the precision's half of an engine, implemented by
// *neurons32 and *neurons8: its arrays and the loops over them, each given
// the engine for the shared core (parameters, state words, candidate
// bitmap, shards, tables).
type neuronArray interface {
	// alloc makes the arrays for e.n neurons at rest (potential 0, or the
	// zero code), with the per-neuron thresholds of a gradient.
	alloc(e *engine)
	// driveValue sets sg's sum at the start of a burst for drive p.
	driveValue(sg *segment, p float32)
	// prime starts sum i at sg's drive value.
	prime(i uint32, sg *segment)
	// addPoints adds the burst's sensory points and power (Step, step 2).
	addPoints(e *engine, in *Input)
	// deliver adds the fired rows of connection c to shard k's targets
	// (Step, step 3).
	deliver(e *engine, c, k int, fired []uint32, pot []float32)
	// prepare readies the precision's part of the tables, once the
	// connections and shards are known: room for what every synapse adds,
	// and what else the precision's delivery needs. setValues computes
	// what the synapses of connection k's table for shard h add (after
	// building it, and after plasticity changed weights).
	prepare(e *engine)
	setValues(e *engine, k, h int)
	// rowValued: delivery through connection k's table for shard h adds
	// one value per row (after setValues).
	rowValued(k, h int) bool
	// update runs shard k's neurons (Step, step 4).
	update(e *engine, sh *shard)
	// simpleOK: the precision's own conditions of the simple loop (isSimple).
	simpleOK() bool
	// potentialBytes is the potential's share of HotBytesPerNeuron.
	potentialBytes() int
	// writePotentials writes the potentials of a snapshot, wireBytes per
	// neuron; setPotentials takes those of a saved state (after engine.st).
	writePotentials(e *engine, w *writer)
	wireBytes() int
	setPotentials(e *engine, s *state)
}

var (
	_ neuronArray = (*neurons32)(nil)
	_ neuronArray = (*neurons8)(nil)
)

// setArr points e.arr at the engine's own neuron arrays (after building,
// and after an engine value is copied over another).
func (e *engine) setArr() {
	if e.prec == quant.FP32 {
		e.arr = &e.f32
	} else {
		e.arr = &e.i8
	}
}

func (a *neurons32) alloc(e *engine) {
	n := e.n
	a.mp = make([]float32, n)
	a.acc = make([]float32, n)
	if e.p.gradient && n > 0 { // n == 0: some dimension is 0, nothing to fill
		a.thr = make([]float32, n)
		e.eachThreshold(func(i int, t float32) { a.thr[i] = t })
	}
}

func (a *neurons8) alloc(e *engine) {
	n := e.n
	a.packed = e.p.refrSn <= 0xFF
	if a.packed {
		for i := range e.st {
			e.st[i] = uint32(uint8(a.q.Zero)) << 24
		}
	} else {
		a.mp = make([]int8, n)
		for i := range a.mp {
			a.mp[i] = a.q.Zero
		}
	}
	a.acc = make([]int32, n)
	if e.p.gradient && n > 0 {
		a.thr = make([]int32, n)
		e.eachThreshold(func(i int, t float32) { a.thr[i] = a.q.ThresholdFine(t) })
	}
}

// eachThreshold calls set for every neuron with its threshold under the
// area's gradient.
func (e *engine) eachThreshold(set func(i int, t float32)) {
	d, pv := e.spec.Dims, e.spec.PerVoxel
	i := 0
	for x := uint32(0); x < d[0]; x++ {
		for y := uint32(0); y < d[1]; y++ {
			for z := uint32(0); z < d[2]; z++ {
				t := e.thresholdAt(x, y, z)
				for range pv {
					set(i, t)
					i++
				}
			}
		}
	}
}

// driveValue keeps the drive as it is (the sums are float32).
func (a *neurons32) driveValue(sg *segment, p float32) { sg.v32 = p }

// driveValue keeps the drive in fine units, clamped to ±inputLimit (and
// the float32 value, which loops comparing in float32 read).
func (a *neurons8) driveValue(sg *segment, p float32) {
	sg.v32 = p
	sg.vF = clampInput(a.q.EncodeFine(p))
}

func (a *neurons32) prime(i uint32, sg *segment) { a.acc[i] = sg.v32 }

func (a *neurons8) prime(i uint32, sg *segment) { a.acc[i] = sg.vF }

func (a *neurons32) potentialBytes() int { return 4 }

// potentialBytes is 0 when the code rides in the state word.
func (a *neurons8) potentialBytes() int {
	if a.packed {
		return 0
	}
	return 1
}
