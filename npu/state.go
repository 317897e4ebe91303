package npu

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/spikemesh/spikemesh/quant"
)

// State format, version 1 (little endian): what changes while an area runs,
// without what growth rebuilds from the genome.
//
//	magic "SMNPUSTA", u16 version
//	u8 precision; area spec (as in a snapshot: index, dims, per-voxel, first
//	  id, parameters); int8: f32 scale, i8 zero (fp32: both 0)
//	drive fingerprint: u32 ranges, u32 CRC-32C of the ranges
//	u64 last burst
//	u32 n; potentials (n × f32 bits, or n × i8 codes); n × u32 countdown<<16|count
//	last output: u32 k, k × u32 fired, k × f32 potentials
//	u32 connections; each: i64 src, u32 source neurons, u32 synapses,
//	  u8 plastic; when plastic: u32 window, u8 ltp, u8 ltd, synapses × u8
//	  weights, then its source and destination ledgers (u32 head, u32 filled,
//	  u64 last, window × (u32 k, k × u32 neuron))
//	u32 CRC-32C of everything before it
//
// A state is n·8 (fp32) or n·5 (int8) bytes plus 8 per neuron of the last
// output, plus a fixed header and 17 bytes per connection; only plastic
// connections add their weights and ledgers. Static synapse tables and the
// drive are not written: RestoreState puts a state into an engine grown from
// the same plan, and the spec, quantizer, drive fingerprint and connection
// shapes are there to check that it is the same plan.
const (
	stateMagic   = "SMNPUSTA"
	stateVersion = 1
)

var _ StateSaver = (*AreaEngine)(nil)

// SaveState implements StateSaver: the area's running state in the format
// above, independent of the engine's worker count.
func (e *engine) SaveState() ([]byte, error) {
	size := 128 + int(e.n)*(4+e.arr.wireBytes()) + 8*len(e.out.Fired)
	for k, c := range e.incoming {
		size += 17
		if e.plast[k] != nil {
			size += 6 + len(c.Weight) + ledgerSize(e.plast[k].src) + ledgerSize(e.plast[k].dst)
		}
	}
	w := &writer{b: make([]byte, 0, size)}
	w.b = append(w.b, stateMagic...)
	w.u16(stateVersion)
	w.u8(uint8(e.prec))
	writeSpec(w, &e.spec)
	w.f32(e.i8.q.Scale)
	w.u8(uint8(e.i8.q.Zero))
	w.u32(uint32(len(e.opts.Drive)))
	w.u32(driveSum(e.opts.Drive))
	w.u64(e.burst)
	w.u32(e.n)
	e.writeNeurons(w)
	w.u32(uint32(len(e.incoming)))
	for k, c := range e.incoming {
		w.u64(uint64(int64(c.Src)))
		w.u32(uint32(len(c.Start) - 1))
		w.u32(uint32(len(c.Target)))
		ps := e.plast[k]
		w.bool(ps != nil)
		if ps == nil {
			continue
		}
		w.u32(c.Plasticity.Window)
		w.u8(c.Plasticity.LTP)
		w.u8(c.Plasticity.LTD)
		w.b = append(w.b, c.Weight...)
		writeLedger(w, ps.src)
		writeLedger(w, ps.dst)
	}
	w.u32(crc32.Checksum(w.b, castagnoli))
	return w.b, nil
}

func ledgerSize(l *ledger) int {
	s := 16
	for _, r := range l.ring {
		s += 4 + 4*len(r)
	}
	return s
}

// driveSum is the CRC-32C of the drive ranges (From, To, P bits).
func driveSum(d []Drive) uint32 {
	b := make([]byte, 0, 12*len(d))
	for _, r := range d {
		b = binary.LittleEndian.AppendUint32(b, r.From)
		b = binary.LittleEndian.AppendUint32(b, r.To)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.P))
	}
	return crc32.Checksum(b, castagnoli)
}

// state is a decoded and checked state, ready to be applied.
type state struct {
	burst   Burst
	mp32    []float32
	mp8     []int8
	st      []uint32
	fired   []uint32
	pot     []float32
	weights [][]uint8    // per incoming connection; nil when not plastic
	ledgers [][2]*ledger // likewise
}

// RestoreState implements StateSaver: it puts a state written by SaveState
// into this engine, which must have been grown from the same plan (same area
// spec, precision, quantizer, drive and incoming connection shapes; the
// worker count may differ). The static synapse tables stay; plastic weights
// and ledgers, the neuron state, the last output and the burst counter are
// replaced. Every error wraps ErrSnapshot and names what differs; on error
// the engine is unchanged.
func (e *engine) RestoreState(data []byte) error {
	s, err := e.decodeState(data)
	if err != nil {
		return err
	}
	e.applyState(s)
	return nil
}

func (e *engine) decodeState(data []byte) (*state, error) {
	if len(data) < len(stateMagic)+2+4 {
		return nil, fmt.Errorf("%w: state of %d bytes is too short", ErrSnapshot, len(data))
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if string(body[:len(stateMagic)]) != stateMagic {
		return nil, fmt.Errorf("%w: not an npu area state", ErrSnapshot)
	}
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: state checksum %08x, want %08x (corrupt or truncated)", ErrSnapshot, got, sum)
	}
	r := &reader{b: body[len(stateMagic):]}
	if v := r.u16(); v != stateVersion {
		return nil, fmt.Errorf("%w: state version %d, this build reads %d", ErrSnapshot, v, stateVersion)
	}
	prec := quant.Precision(r.u8())
	at := r.b
	var spec AreaSpec
	readSpec(r, &spec)
	specBytes := at[:len(at)-len(r.b)]
	q := quant.Quantizer{Scale: r.f32(), Zero: int8(r.u8())}
	nDrive, driveCRC := r.u32(), r.u32()
	burst := r.u64()
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	// The plan checks, most telling first.
	if spec.Index != e.spec.Index {
		return nil, fmt.Errorf("%w: state of area %d restored into area %d", ErrSnapshot, spec.Index, e.spec.Index)
	}
	if n != e.n {
		return nil, fmt.Errorf("%w: area %d: state of %d neurons restored into %d", ErrSnapshot, e.spec.Index, n, e.n)
	}
	if prec != e.prec {
		return nil, fmt.Errorf("%w: area %d: state of precision %v restored into %v", ErrSnapshot, e.spec.Index, prec, e.prec)
	}
	own := &writer{}
	writeSpec(own, &e.spec)
	if string(specBytes) != string(own.b) {
		return nil, fmt.Errorf("%w: area %d: the state's area spec differs from the engine's (%+v, want %+v)", ErrSnapshot, e.spec.Index, spec, e.spec)
	}
	if math.Float32bits(q.Scale) != math.Float32bits(e.i8.q.Scale) || q.Zero != e.i8.q.Zero {
		return nil, fmt.Errorf("%w: area %d: state quantizer %v differs from the engine's %v", ErrSnapshot, e.spec.Index, q, e.i8.q)
	}
	if nDrive != uint32(len(e.opts.Drive)) || driveCRC != driveSum(e.opts.Drive) {
		return nil, fmt.Errorf("%w: area %d: the state's drive (%d ranges, CRC %08x) differs from the engine's", ErrSnapshot, e.spec.Index, nDrive, driveCRC)
	}
	per := 8
	if prec == quant.INT8 {
		per = 5
	}
	if uint64(n)*uint64(per) > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: area %d: truncated neuron state", ErrSnapshot, e.spec.Index)
	}
	s := &state{burst: burst, st: make([]uint32, n)}
	if prec == quant.FP32 {
		s.mp32 = make([]float32, n)
		for i := range s.mp32 {
			s.mp32[i] = r.f32()
		}
	} else {
		s.mp8 = make([]int8, n)
		for i, c := range r.take(int(n)) {
			s.mp8[i] = int8(c)
		}
	}
	for i := range s.st {
		v := r.u32()
		if v>>16 > e.p.refrSn {
			return nil, fmt.Errorf("%w: area %d: neuron %d: countdown %d exceeds the area's %d", ErrSnapshot, e.spec.Index, i, v>>16, e.p.refrSn)
		}
		s.st[i] = v
	}
	s.fired = r.u32s()
	for i, f := range s.fired {
		if f >= n || (i > 0 && f <= s.fired[i-1]) {
			return nil, fmt.Errorf("%w: area %d: last output lists neuron %d out of range or order", ErrSnapshot, e.spec.Index, f)
		}
	}
	if uint64(len(s.fired))*4 > uint64(len(r.b)) {
		r.fail("truncated last output potentials")
		return nil, r.err
	}
	s.pot = make([]float32, len(s.fired))
	for i := range s.pot {
		s.pot[i] = r.f32()
	}
	nc := r.u32()
	if r.err == nil && nc != uint32(len(e.incoming)) {
		return nil, fmt.Errorf("%w: area %d: state has %d incoming connections, the engine %d", ErrSnapshot, e.spec.Index, nc, len(e.incoming))
	}
	s.weights = make([][]uint8, len(e.incoming))
	s.ledgers = make([][2]*ledger, len(e.incoming))
	for k, c := range e.incoming {
		src, srcN, m, plastic := r.int(), r.u32(), r.u32(), r.bool()
		if r.err != nil {
			return nil, r.err
		}
		if src != c.Src || srcN != uint32(len(c.Start)-1) || m != uint32(len(c.Target)) || plastic != (c.Plasticity != nil) {
			return nil, fmt.Errorf("%w: area %d: incoming connection %d is %d→%d with %d source neurons, %d synapses, plastic %v in the state; %d→%d with %d, %d, %v in the engine",
				ErrSnapshot, e.spec.Index, k, src, e.spec.Index, srcN, m, plastic, c.Src, c.Dst, len(c.Start)-1, len(c.Target), c.Plasticity != nil)
		}
		if !plastic {
			continue
		}
		pl := Plasticity{Window: r.u32(), LTP: r.u8(), LTD: r.u8()}
		if r.err == nil && pl != *c.Plasticity {
			return nil, fmt.Errorf("%w: area %d: connection %d→%d: plasticity %+v in the state, %+v in the engine", ErrSnapshot, e.spec.Index, c.Src, c.Dst, pl, *c.Plasticity)
		}
		s.weights[k] = append([]uint8(nil), r.take(int(m))...)
		s.ledgers[k][0] = readLedger(r, int(pl.Window), srcN)
		s.ledgers[k][1] = readLedger(r, int(pl.Window), n)
		if r.err != nil {
			return nil, fmt.Errorf("%w (area %d, connection %d→%d)", r.err, e.spec.Index, c.Src, c.Dst)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w (area %d)", r.err, e.spec.Index)
	}
	return s, nil
}

// applyState puts a checked state into the engine; it cannot fail. The
// per-burst scratch (sums, candidate bits) is the same between bursts
// whatever the history, so it is left as it is.
func (e *engine) applyState(s *state) {
	e.burst = s.burst
	e.ran = 0
	copy(e.st, s.st)
	e.arr.setPotentials(e, s)
	e.countBound = 0
	for _, v := range s.st {
		e.countBound = max(e.countBound, v&0xFFFF)
	}
	e.out.Fired = append(e.out.Fired[:0], s.fired...)
	e.out.Potentials = append(e.out.Potentials[:0], s.pot...)
	for k, c := range e.incoming {
		if s.weights[k] == nil {
			continue
		}
		copy(c.Weight, s.weights[k])
		e.refreshWeights(k)
		e.plast[k] = &plasticState{src: s.ledgers[k][0], dst: s.ledgers[k][1]}
	}
}

// LastOutput is what the area produced in its last burst (after a restore:
// in the burst the state was saved at), valid until the next Step. A
// runtime that resumes from a saved state sends it downstream as that
// burst's spikes.
func (e *engine) LastOutput() Output { return e.out }

// setPotentials takes the potentials of a saved state.
func (a *neurons32) setPotentials(_ *engine, s *state) { copy(a.mp, s.mp32) }

// setPotentials takes the codes of a saved state, into the state words
// when packed (after they were copied).
func (a *neurons8) setPotentials(e *engine, s *state) {
	if !a.packed {
		copy(a.mp, s.mp8)
		return
	}
	for i, c := range s.mp8 {
		e.st[i] |= uint32(uint8(c)) << 24
	}
}
