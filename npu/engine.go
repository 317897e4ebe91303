package npu

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/spikemesh/spikemesh/quant"
)

// ErrPlan is wrapped by every error NewEngine returns for inconsistent plan
// data (area spec, connections, options).
var ErrPlan = errors.New("npu: invalid plan")

// MaxPlasticityWindow bounds Plasticity.Window (the ledger keeps one fired
// list per burst of the window).
const MaxPlasticityWindow = 1 << 16

// Options tune one engine. The zero value is the default.
type Options struct {
	// Workers is the number of goroutines that step the engine's neurons, the
	// caller's included: 0 or 1 steps everything on the caller's goroutine.
	// Neurons are split into that many contiguous shards, each with its own
	// slice of every synapse table; the results are bit-identical for every
	// worker count. An engine with Workers > 1 owns Workers−1 goroutines until
	// Close (or until it is garbage collected).
	Workers int
	// Drive is a constant (tonic) input: every neuron in [From, To) receives P
	// every burst, before the sensory points in the canonical order. It makes
	// those neurons candidates every burst. Genomes do not use it; it exists
	// for benchmark workloads (FEAGI's A1 drives every neuron with 1.0,
	// lif-random gives a fixed input to every neuron). Ranges must be sorted
	// and disjoint.
	Drive []Drive
}

// Drive is one range of constant input (Options.Drive).
type Drive struct {
	From, To uint32
	P        float32
}

// Closer is implemented by AreaEngine; Close stops the worker goroutines of
// an engine built with Options.Workers > 1. For callers that hold engines as
// the Engine interface.
type Closer interface{ Close() }

// Inspector is what runtimes report about an engine beyond the Engine
// interface; AreaEngine implements it.
type Inspector interface {
	Precision() quant.Precision
	Quantizer() quant.Quantizer // zero value for fp32
	LastBurst() Burst           // 0 before the first Step
	ScratchBytesPerNeuron() float64
}

var (
	_ Engine    = (*AreaEngine)(nil)
	_ Closer    = (*AreaEngine)(nil)
	_ Inspector = (*AreaEngine)(nil)
)

// NewEngine builds the engine of one area. incoming are the connections into
// the area, ascending by Src; the engine takes ownership of them (plasticity
// updates their weights). Bad plan data is an error naming the area and the
// connection, never a panic.
func NewEngine(spec AreaSpec, prec quant.Precision, incoming []*Connection) (*AreaEngine, error) {
	return NewEngineWithOptions(spec, prec, incoming, Options{})
}

// NewEngineWithOptions is NewEngine with options.
func NewEngineWithOptions(spec AreaSpec, prec quant.Precision, incoming []*Connection, opts Options) (*AreaEngine, error) {
	e, err := newEngine(spec, prec, incoming, opts)
	if err != nil {
		return nil, err
	}
	return wrap(e), nil
}

// AreaEngine is the engine of one area, as NewEngine returns it: the Engine
// interface plus Close and the Inspector methods (Precision, Quantizer,
// LastBurst, ScratchBytesPerNeuron). The worker goroutines reference only
// the inner engine, so an unreachable AreaEngine can be cleaned up (its
// workers stopped) even if the caller forgot Close.
type AreaEngine struct{ *engine }

func wrap(e *engine) *AreaEngine {
	h := &AreaEngine{e}
	if e.pool != nil {
		runtime.AddCleanup(h, func(p *pool) { p.close() }, e.pool)
	}
	return h
}

// Close stops the engine's worker goroutines. The engine must not be stepped
// afterwards. Safe to call more than once.
func (h *AreaEngine) Close() {
	if h.pool != nil {
		h.pool.close()
	}
}

// areaParams are an area's parameters in the form the update loop uses.
type areaParams struct {
	thr32, lim32 float32 // lim32 = MaxFloat32 when the area has no limit
	keep32       float32 // f32(1 − leak)
	refr, refrSn uint32  // countdown after a fire; with snooze (saturating u16)
	countLimit   uint32  // L: 65535 when unlimited
	limited      bool
	accumulate   bool
	exCut        uint64 // fire iff uint64(hash) < exCut
	exAlways     bool
	gradient     bool
}

// engine is one area's state: a core shared by both precisions (parameters,
// the packed countdown and count, candidate bitmap, shards, tables,
// plasticity) and the neuron arrays of its precision, f32 or i8; the other
// is empty. Per neuron it keeps only what varies: the membrane potential
// (float32 or an int8 code), a packed uint32 of refractory countdown (high
// 16 bits) and consecutive-fire count (low 16 bits), and a threshold only
// when the area has a threshold gradient.
type engine struct {
	spec     AreaSpec
	prec     quant.Precision
	n        uint32
	incoming []*Connection
	opts     Options
	p        areaParams

	f32 neurons32 // fp32 engines
	i8  neurons8  // int8 engines
	// arr is &f32 or &i8: the engine's own arrays and the loops over them.
	// Per-burst code reaches the precision through it, never by asking.
	arr neuronArray

	st   []uint32 // countdown<<16 | count (int8 packed: the code in the top byte)
	cand []uint64 // candidate bitmap (the touched list)
	// fireBits marks the neurons of driven segments that fired in this burst,
	// between the update loop and collect (always zero between bursts).
	fireBits []uint64
	// countBound is the largest consecutive-fire count any neuron can have
	// (bursts stepped, or the largest count of a restored snapshot).
	countBound uint32

	segs  []segment
	conns []inConn
	// inhibitory: some incoming synapse is inhibitory.
	inhibitory bool
	// driveOnly: no input but the drive in this burst (no point, no power,
	// no fired upstream neuron), so every driven sum is its drive.
	driveOnly bool
	shards    []shard
	workers   int // goroutines stepping the shards (the caller's included)
	pool      *pool

	burst Burst // last burst stepped
	ran   loop  // the update loops the last burst ran (loops.go)
	in    *Input
	out   Output
	plast []*plasticState // parallel to incoming; nil when not plastic
}

// segment is a run of neurons with the same drive: driven segments are
// candidates every burst and their sums restart at the drive value.
type segment struct {
	from, to uint32
	driven   bool
	v32      float32
	vF       int32
	shard    int // index of the shard the segment was clipped to (shard.segs)
}

func planErr(spec *AreaSpec, format string, args ...any) error {
	return fmt.Errorf("%w: area %d: %s", ErrPlan, spec.Index, fmt.Sprintf(format, args...))
}

func newEngine(spec AreaSpec, prec quant.Precision, incoming []*Connection, opts Options) (*engine, error) {
	if err := validateSpec(&spec); err != nil {
		return nil, err
	}
	if prec != quant.FP32 && prec != quant.INT8 {
		return nil, planErr(&spec, "unknown precision %v", prec)
	}
	n := spec.Neurons()
	for k, c := range incoming {
		if err := validateConnection(&spec, n, k, c); err != nil {
			return nil, err
		}
		if k > 0 && incoming[k-1].Src >= c.Src {
			return nil, planErr(&spec, "incoming connections not strictly ascending by source: %d after %d", c.Src, incoming[k-1].Src)
		}
	}
	if err := validateDrive(&spec, n, opts.Drive); err != nil {
		return nil, err
	}
	e := &engine{spec: spec, prec: prec, n: n, incoming: incoming, opts: opts}
	e.opts.Drive = append([]Drive(nil), opts.Drive...)
	e.setParams()
	if prec == quant.INT8 {
		e.i8.q = chooseQuantizer(&spec, incoming)
		e.setFineParams()
	}
	e.setArr()
	e.allocState()
	e.buildSegments()
	e.buildShards()
	e.buildTables()
	e.plast = make([]*plasticState, len(incoming))
	for k, c := range incoming {
		if c.Plasticity != nil {
			e.plast[k] = newPlasticState(c, n)
		}
	}
	if e.workers > 1 {
		e.pool = newPool(len(e.shards), e.workers, e.runShard)
	}
	return e, nil
}

func validateSpec(s *AreaSpec) error {
	if s.Index < 0 {
		return fmt.Errorf("%w: area index %d is negative", ErrPlan, s.Index)
	}
	if s.PerVoxel == 0 {
		return planErr(s, "neurons per voxel is 0")
	}
	total := uint64(s.Dims[0]) * uint64(s.Dims[1]) * uint64(s.Dims[2]) * uint64(s.PerVoxel)
	if total > math.MaxInt32 {
		return planErr(s, "%d neurons is more than an area can hold", total)
	}
	if uint64(s.FirstID)+total > 1<<32 {
		return planErr(s, "global neuron ids %d+%d overflow 32 bits", s.FirstID, total)
	}
	p := &s.Params
	bad := func(name string, v float32) error {
		return planErr(s, "parameter %s = %v is not finite", name, v)
	}
	for _, f := range []struct {
		name string
		v    float32
	}{{"threshold", p.Threshold}, {"threshold increment x", p.ThresholdIncrement[0]},
		{"threshold increment y", p.ThresholdIncrement[1]}, {"threshold increment z", p.ThresholdIncrement[2]},
		{"threshold limit", p.ThresholdLimit}, {"leak", p.LeakPerBurst}, {"excitability", p.Excitability}} {
		if math.IsNaN(float64(f.v)) || math.IsInf(float64(f.v), 0) {
			return bad(f.name, f.v)
		}
	}
	if p.LeakPerBurst < 0 || p.LeakPerBurst > 1 {
		return planErr(s, "leak %v is outside [0, 1]", p.LeakPerBurst)
	}
	if p.ThresholdLimit < 0 {
		return planErr(s, "threshold limit %v is negative", p.ThresholdLimit)
	}
	return nil
}

func validateConnection(s *AreaSpec, n uint32, k int, c *Connection) error {
	if c == nil {
		return planErr(s, "incoming connection %d is nil", k)
	}
	name := fmt.Sprintf("connection %d→%d", c.Src, c.Dst)
	if c.Dst != s.Index {
		return planErr(s, "%s: destination is not this area", name)
	}
	if len(c.Start) == 0 {
		return planErr(s, "%s: Start is empty (want one entry per source neuron plus one)", name)
	}
	srcN := len(c.Start) - 1
	if len(c.OutDegree) != srcN {
		return planErr(s, "%s: %d out-degrees for %d source neurons", name, len(c.OutDegree), srcN)
	}
	m := len(c.Target)
	if len(c.Weight) != m || len(c.Inhibitory) != m {
		return planErr(s, "%s: %d targets, %d weights, %d types", name, m, len(c.Weight), len(c.Inhibitory))
	}
	if c.Start[0] != 0 || int(c.Start[srcN]) != m {
		return planErr(s, "%s: Start runs from %d to %d, want 0 to %d", name, c.Start[0], c.Start[srcN], m)
	}
	for i := 0; i < srcN; i++ {
		if c.Start[i] > c.Start[i+1] {
			return planErr(s, "%s: Start decreases at source neuron %d", name, i)
		}
	}
	for j, t := range c.Target {
		if t >= n {
			return planErr(s, "%s: synapse %d targets neuron %d of %d", name, j, t, n)
		}
	}
	if p := c.Plasticity; p != nil && (p.Window == 0 || p.Window > MaxPlasticityWindow) {
		return planErr(s, "%s: plasticity window %d outside 1..%d", name, p.Window, MaxPlasticityWindow)
	}
	return nil
}

func validateDrive(s *AreaSpec, n uint32, d []Drive) error {
	for i, r := range d {
		if r.From >= r.To || r.To > n {
			return planErr(s, "drive range %d [%d, %d) is empty or outside the %d neurons", i, r.From, r.To, n)
		}
		if i > 0 && d[i-1].To > r.From {
			return planErr(s, "drive ranges %d and %d overlap or are not sorted", i-1, i)
		}
		if math.IsNaN(float64(r.P)) || math.IsInf(float64(r.P), 0) {
			return planErr(s, "drive range %d: input %v is not finite", i, r.P)
		}
	}
	return nil
}

// incrementZero applies docs/semantics.md §3.3: an increment with |v| ≤ f32 epsilon is 0.
func incrementZero(v float32) float32 {
	const eps = 1.1920929e-07
	if v <= eps && v >= -eps {
		return 0
	}
	return v
}

func (e *engine) setParams() {
	p := &e.spec.Params
	a := &e.p
	a.thr32 = p.Threshold
	a.lim32 = math.MaxFloat32
	if p.ThresholdLimit > 0 {
		a.lim32 = p.ThresholdLimit
	}
	a.keep32 = float32(1) - p.LeakPerBurst
	a.refr = uint32(p.RefractoryBursts)
	a.refrSn = min(a.refr+uint32(p.SnoozeBursts), math.MaxUint16)
	a.countLimit = uint32(p.ConsecutiveLimit)
	a.limited = a.countLimit != 0 && a.countLimit != math.MaxUint16
	if !a.limited {
		a.countLimit = math.MaxUint16
	}
	a.accumulate = p.ChargeAccumulation
	a.exCut = excitabilityCut(p.Excitability)
	a.exAlways = a.exCut == 1<<32
	g := p.ThresholdIncrement
	a.gradient = incrementZero(g[0]) != 0 || incrementZero(g[1]) != 0 || incrementZero(g[2]) != 0
}

// thresholdAt is the threshold of voxel (x, y, z), docs/semantics.md §3.3.
func (e *engine) thresholdAt(x, y, z uint32) float32 {
	p := &e.spec.Params
	ix, iy, iz := incrementZero(p.ThresholdIncrement[0]), incrementZero(p.ThresholdIncrement[1]), incrementZero(p.ThresholdIncrement[2])
	t := p.Threshold + float32(float32(x)*ix)
	t = t + float32(float32(y)*iy)
	return t + float32(float32(z)*iz)
}

// chooseQuantizer picks the int8 quantizer of an area (the rule is in
// package quant's docs): a lattice quantizer when every value the area's
// potential is built from is a multiple of one step that leaves the
// threshold within the codes (latticeQuantizer); otherwise the threshold
// exact, the codes covering [bottom, top] where top is the highest threshold
// or the limit, and bottom is 0 unless inhibitory synapses can push the
// potential below 0 (then down to the largest single inhibitory
// contribution, at most −top).
func chooseQuantizer(s *AreaSpec, incoming []*Connection) quant.Quantizer {
	p := &s.Params
	top := p.Threshold
	e := engine{spec: *s}
	d := s.Dims
	if d[0] > 0 && d[1] > 0 && d[2] > 0 {
		for _, x := range []uint32{0, d[0] - 1} {
			for _, y := range []uint32{0, d[1] - 1} {
				for _, z := range []uint32{0, d[2] - 1} {
					top = max(top, e.thresholdAt(x, y, z))
				}
			}
		}
	}
	if p.ThresholdLimit > 0 {
		top = max(top, p.ThresholdLimit)
	}
	if q, ok := latticeQuantizer(s, incoming, top); ok {
		return q
	}
	var neg float32
	for _, c := range incoming {
		for s := 0; s+1 < len(c.Start); s++ {
			for j := c.Start[s]; j < c.Start[s+1]; j++ {
				if c.Inhibitory[j] {
					psp := c.PSP
					if c.MPDrivenPSP {
						psp = 255
					}
					neg = max(neg, -contribution32(c, s, j, float32(psp)))
				}
			}
		}
	}
	return quant.NewQuantizer(p.Threshold, top, -min(neg, max(top, 0)))
}

// latticeQuantizer is the lattice choice of chooseQuantizer. The values an
// area's potential is built from are its synaptic contributions ±w·psp/N
// (exact rationals) and, for the power area, the power input (the drive,
// like sensory points, is an input the lattice does not know of); a
// stored potential stays a sum of them when the area has no leak. Plastic
// weights and potential-driven PSPs make the contributions vary, and a leak
// takes a stored potential off any lattice: those areas are not lattice
// areas. An accumulating area also puts 1 on the lattice when the threshold
// then still takes at most half the codes, so that whole-number sensor
// inputs are exact too.
func latticeQuantizer(s *AreaSpec, incoming []*Connection, top float32) (quant.Quantizer, bool) {
	p := &s.Params
	store := p.ChargeAccumulation
	if store && float32(1)-p.LeakPerBurst != 1 {
		return quant.Quantizer{}, false
	}
	var l quant.Lattice
	below := false
	for _, c := range incoming {
		if c.Plasticity != nil || c.MPDrivenPSP {
			return quant.Quantizer{}, false
		}
		for src := 0; src+1 < len(c.Start); src++ {
			n := int64(divisor(c, src))
			for j := c.Start[src]; j < c.Start[src+1]; j++ {
				v := int64(c.Weight[j]) * int64(c.PSP)
				l.Add(v, n)
				below = below || c.Inhibitory[j] && v != 0
			}
		}
	}
	if s.Index == PowerArea {
		l.AddFloat32(PowerAmount)
	}
	num, den, ok := l.Step()
	if !ok {
		return quant.Quantizer{}, false
	}
	if store {
		l.Add(1, 1)
		if n1, d1, ok := l.Step(); ok && quant.LatticeCodes(top, n1, d1) <= quant.MaxCode {
			num, den = n1, d1
		}
	}
	limited := p.ConsecutiveLimit != 0 && p.ConsecutiveLimit != math.MaxUint16
	above := p.ThresholdLimit > 0 || limited || excitabilityCut(p.Excitability) != 1<<32
	return quant.NewLatticeQuantizer(num, den, top, below, above, store)
}

// setFineParams encodes the area's threshold, limit and leak for the int8
// loops.
func (e *engine) setFineParams() {
	a, p := &e.i8, &e.p
	a.thrF = a.q.ThresholdFine(p.thr32)
	a.limF = math.MaxInt32
	if e.spec.Params.ThresholdLimit > 0 {
		a.limF = a.q.LimitFine(p.lim32)
	}
	a.keepQ = quant.KeepQ15(p.keep32)
}

func (e *engine) allocState() {
	n := e.n
	e.st = make([]uint32, n)
	e.cand = make([]uint64, (n+63)/64)
	e.fireBits = make([]uint64, (n+63)/64)
	e.arr.alloc(e)
}

// buildSegments splits [0, n) into driven and undriven runs and primes the
// accumulator and candidate bits of the driven ones.
func (e *engine) buildSegments() {
	e.segs = e.segs[:0]
	at := uint32(0)
	for _, d := range e.opts.Drive {
		if d.From > at {
			e.segs = append(e.segs, segment{from: at, to: d.From})
		}
		sg := segment{from: d.From, to: d.To, driven: true}
		e.arr.driveValue(&sg, d.P)
		e.segs = append(e.segs, sg)
		at = d.To
	}
	if at < e.n {
		e.segs = append(e.segs, segment{from: at, to: e.n})
	}
	for _, sg := range e.segs {
		if sg.driven {
			e.resetDriven(sg)
		}
	}
}

func (e *engine) resetDriven(sg segment) {
	for i := sg.from; i < sg.to; i++ {
		e.arr.prime(i, &sg)
		e.cand[i>>6] |= 1 << (i & 63)
	}
}

// Spec implements Engine.
func (e *engine) Spec() *AreaSpec { return &e.spec }

// Incoming implements Engine.
func (e *engine) Incoming() []*Connection { return e.incoming }

// Precision is the value type of the engine's state.
func (e *engine) Precision() quant.Precision { return e.prec }

// Quantizer is the int8 quantizer (zero value for fp32 engines).
func (e *engine) Quantizer() quant.Quantizer { return e.i8.q }

// LastBurst is the last burst stepped (0 before the first Step).
func (e *engine) LastBurst() Burst { return e.burst }

// HotBytesPerNeuron implements Engine: the state every candidate reads and
// writes each burst (potential, packed countdown and count, and the threshold
// when it varies per neuron). The per-burst scratch (sum and candidate bit,
// ScratchBytesPerNeuron) is not state.
func (e *engine) HotBytesPerNeuron() int {
	b := 4 + e.arr.potentialBytes() // st, potential
	if e.p.gradient {
		b += 4
	}
	return b
}

// ScratchBytesPerNeuron is the per-burst scratch per neuron, rounded up: the
// dense sum (4 B) and the candidate bitmap (1/8 B).
func (e *engine) ScratchBytesPerNeuron() float64 { return 4 + 1.0/8 }

// packing returns how the int8 loops find the potential: packed (in the top
// byte of st), the mask of st's state bits, and the mask that keeps the code
// when storing st (0 when not packed).
func (e *engine) packing() (packed bool, stMask, packMask uint32) {
	if e.i8.packed {
		return true, 0x00FFFFFF, 0xFF000000
	}
	return false, 0xFFFFFFFF, 0
}

// code is the int8 potential code of neuron i.
func (e *engine) code(i int) int8 {
	if e.i8.packed {
		return int8(e.st[i] >> 24)
	}
	return e.i8.mp[i]
}

// state is the countdown<<16 | count of neuron i, without a packed code.
func (e *engine) state(i int) uint32 {
	if e.i8.packed {
		return e.st[i] & 0x00FFFFFF
	}
	return e.st[i]
}
