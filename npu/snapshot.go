package npu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/spikemesh/spikemesh/quant"
)

// Snapshot format, version 1 (little endian):
//
//	magic "SMNPUSNP", u16 version
//	u8 precision; area spec (index, dims, per-voxel, first id, parameters)
//	u64 last burst; int8: f32 scale, i8 zero
//	u32 n; potentials (n × f32 bits, or n × i8); n × u32 countdown<<16|count
//	last output: u32 k, k × u32 fired, k × f32 potentials
//	drive: u32 k, k × (u32 from, u32 to, f32 p)
//	u32 connections; each: i64 src, i64 dst, the CSR arrays, PSP, flags,
//	  plasticity (u8 present, u32 window, u8 ltp, u8 ltd) and its two ledgers
//	u32 CRC-32C of everything before it
//
// Potentials are stored as raw bits (int8 codes with their quantizer), so a
// restore reproduces the state exactly (docs/semantics.md §4.3). For
// checkpoints of a running area, state.go writes the smaller state form,
// without the static synapses.
const (
	snapMagic   = "SMNPUSNP"
	snapVersion = 1
)

// ErrSnapshot is wrapped by every Restore error.
var ErrSnapshot = errors.New("npu: bad snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type writer struct{ b []byte }

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) f32(v float32) {
	w.u32(math.Float32bits(v))
}
func (w *writer) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *writer) u32s(v []uint32) {
	w.u32(uint32(len(v)))
	for _, x := range v {
		w.u32(x)
	}
}

// Snapshot implements Engine.
func (e *engine) Snapshot() ([]byte, error) {
	w := &writer{b: make([]byte, 0, 64+int(e.n)*9)}
	w.b = append(w.b, snapMagic...)
	w.u16(snapVersion)
	w.u8(uint8(e.prec))
	writeSpec(w, &e.spec)
	w.u64(e.burst)
	w.f32(e.i8.q.Scale)
	w.u8(uint8(e.i8.q.Zero))
	w.u32(e.n)
	e.writeNeurons(w)
	w.u32(uint32(len(e.opts.Drive)))
	for _, d := range e.opts.Drive {
		w.u32(d.From)
		w.u32(d.To)
		w.f32(d.P)
	}
	w.u32(uint32(len(e.incoming)))
	for k, c := range e.incoming {
		writeConnection(w, c)
		if ps := e.plast[k]; ps != nil {
			writeLedger(w, ps.src)
			writeLedger(w, ps.dst)
		}
	}
	w.u32(crc32.Checksum(w.b, castagnoli))
	return w.b, nil
}

// writeNeurons writes what every neuron holds — potentials (fp32 bits or
// int8 codes), the countdown/count words — and the last output: the part
// that full snapshots and state snapshots share.
func (e *engine) writeNeurons(w *writer) {
	e.arr.writePotentials(e, w)
	for i := range e.st {
		w.u32(e.state(i))
	}
	w.u32s(e.out.Fired)
	for _, v := range e.out.Potentials {
		w.f32(v)
	}
}

func writeSpec(w *writer, s *AreaSpec) {
	w.u64(uint64(int64(s.Index)))
	for _, d := range s.Dims {
		w.u32(d)
	}
	w.u32(s.PerVoxel)
	w.u32(s.FirstID)
	p := &s.Params
	w.f32(p.Threshold)
	for _, v := range p.ThresholdIncrement {
		w.f32(v)
	}
	w.f32(p.ThresholdLimit)
	w.f32(p.LeakPerBurst)
	w.u16(p.RefractoryBursts)
	w.u16(p.ConsecutiveLimit)
	w.u16(p.SnoozeBursts)
	w.f32(p.Excitability)
	w.bool(p.ChargeAccumulation)
	w.bool(p.MPDrivenPSP)
	w.bool(p.PSPUniform)
	w.u8(p.PSP)
}

func writeConnection(w *writer, c *Connection) {
	w.u64(uint64(int64(c.Src)))
	w.u64(uint64(int64(c.Dst)))
	w.u32s(c.Start)
	w.u32s(c.Target)
	w.b = append(w.b, c.Weight...)
	for _, v := range c.Inhibitory {
		w.bool(v)
	}
	w.u32s(c.OutDegree)
	w.u8(c.PSP)
	w.bool(c.PSPUniform)
	w.bool(c.MPDrivenPSP)
	w.bool(c.Plasticity != nil)
	if p := c.Plasticity; p != nil {
		w.u32(p.Window)
		w.u8(p.LTP)
		w.u8(p.LTD)
	}
}

func writeLedger(w *writer, l *ledger) {
	w.u32(uint32(l.head))
	w.u32(uint32(l.filled))
	w.u64(l.last)
	for _, r := range l.ring {
		w.u32s(r)
	}
}

// reader decodes a snapshot; the first error sticks and every later read
// returns zero values, so decoding code need not check after each field.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrSnapshot, fmt.Sprintf(format, args...))
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated: want %d more bytes, have %d", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}
func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}
func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}
func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}
func (r *reader) f32() float32 { return math.Float32frombits(r.u32()) }
func (r *reader) bool() bool {
	v := r.u8()
	if v > 1 {
		r.fail("boolean byte %d", v)
	}
	return v == 1
}

// count reads a length and checks that elem·length bytes remain.
func (r *reader) count(elem int) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(elem) > uint64(len(r.b)) {
		r.fail("length %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) u32s() []uint32 {
	n := r.count(4)
	v := make([]uint32, n)
	for i := range v {
		v[i] = r.u32()
	}
	return v
}

func (r *reader) int() int {
	v := int64(r.u64())
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("area index %d out of range", v)
	}
	return int(v)
}

// decoded is a snapshot's content.
type decoded struct {
	spec     AreaSpec
	prec     quant.Precision
	burst    Burst
	q        quant.Quantizer
	mp32     []float32
	mp8      []int8
	st       []uint32
	out      Output
	drive    []Drive
	incoming []*Connection
	ledgers  [][2]*ledger
}

func decodeSnapshot(data []byte) (*decoded, error) {
	if len(data) < len(snapMagic)+2+4 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrSnapshot, len(data))
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if string(body[:len(snapMagic)]) != snapMagic {
		return nil, fmt.Errorf("%w: not an npu snapshot", ErrSnapshot)
	}
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x (corrupt or truncated)", ErrSnapshot, got, sum)
	}
	r := &reader{b: body[len(snapMagic):]}
	if v := r.u16(); v != snapVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrSnapshot, v, snapVersion)
	}
	d := &decoded{prec: quant.Precision(r.u8())}
	if d.prec != quant.FP32 && d.prec != quant.INT8 {
		r.fail("unknown precision %d", d.prec)
	}
	readSpec(r, &d.spec)
	d.burst = r.u64()
	d.q = quant.Quantizer{Scale: r.f32(), Zero: int8(r.u8())}
	n := r.u32()
	if r.err == nil && uint64(n) != uint64(d.spec.Dims[0])*uint64(d.spec.Dims[1])*uint64(d.spec.Dims[2])*uint64(d.spec.PerVoxel) {
		r.fail("%d neurons for an area of %d", n, d.spec.Neurons())
	}
	per := 4
	if d.prec == quant.INT8 {
		per = 1
	}
	if r.err == nil && uint64(n)*uint64(per+4) > uint64(len(r.b)) {
		r.fail("truncated neuron state")
	}
	if r.err != nil {
		return nil, r.err
	}
	if d.prec == quant.FP32 {
		d.mp32 = make([]float32, n)
		for i := range d.mp32 {
			d.mp32[i] = r.f32()
		}
	} else {
		if err := d.q.Validate(); err != nil {
			r.fail("%v", err)
		}
		d.mp8 = make([]int8, n)
		for i := range d.mp8 {
			d.mp8[i] = int8(r.u8())
		}
	}
	d.st = make([]uint32, n)
	for i := range d.st {
		d.st[i] = r.u32()
	}
	d.out.Fired = r.u32s()
	if uint64(len(d.out.Fired))*4 > uint64(len(r.b)) {
		r.fail("truncated potentials")
		return nil, r.err
	}
	d.out.Potentials = make([]float32, len(d.out.Fired))
	for i := range d.out.Potentials {
		d.out.Potentials[i] = r.f32()
	}
	d.drive = make([]Drive, r.count(12))
	for i := range d.drive {
		d.drive[i] = Drive{From: r.u32(), To: r.u32(), P: r.f32()}
	}
	nc := r.count(16)
	for k := 0; k < nc && r.err == nil; k++ {
		c := readConnection(r)
		d.incoming = append(d.incoming, c)
		var lg [2]*ledger
		if c.Plasticity != nil && r.err == nil {
			if c.Plasticity.Window == 0 || c.Plasticity.Window > MaxPlasticityWindow || len(c.Start) == 0 {
				r.fail("plasticity window %d", c.Plasticity.Window)
				break
			}
			lg[0] = readLedger(r, int(c.Plasticity.Window), uint32(len(c.Start)-1))
			lg[1] = readLedger(r, int(c.Plasticity.Window), n)
		}
		d.ledgers = append(d.ledgers, lg)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return d, r.err
}

func readSpec(r *reader, s *AreaSpec) {
	s.Index = r.int()
	for i := range s.Dims {
		s.Dims[i] = r.u32()
	}
	s.PerVoxel = r.u32()
	s.FirstID = r.u32()
	p := &s.Params
	p.Threshold = r.f32()
	for i := range p.ThresholdIncrement {
		p.ThresholdIncrement[i] = r.f32()
	}
	p.ThresholdLimit = r.f32()
	p.LeakPerBurst = r.f32()
	p.RefractoryBursts = r.u16()
	p.ConsecutiveLimit = r.u16()
	p.SnoozeBursts = r.u16()
	p.Excitability = r.f32()
	p.ChargeAccumulation = r.bool()
	p.MPDrivenPSP = r.bool()
	p.PSPUniform = r.bool()
	p.PSP = r.u8()
}

func readConnection(r *reader) *Connection {
	c := &Connection{Src: r.int(), Dst: r.int()}
	c.Start = r.u32s()
	c.Target = r.u32s()
	c.Weight = append([]uint8(nil), r.take(len(c.Target))...)
	c.Inhibitory = make([]bool, len(c.Weight))
	for i := range c.Inhibitory {
		c.Inhibitory[i] = r.bool()
	}
	c.OutDegree = r.u32s()
	c.PSP = r.u8()
	c.PSPUniform = r.bool()
	c.MPDrivenPSP = r.bool()
	if r.bool() {
		c.Plasticity = &Plasticity{Window: r.u32(), LTP: r.u8(), LTD: r.u8()}
	}
	return c
}

func readLedger(r *reader, window int, n uint32) *ledger {
	l := newLedger(window, n)
	l.head = int(r.u32())
	l.filled = int(r.u32())
	l.last = r.u64()
	if l.head >= window || l.filled > window {
		r.fail("ledger position %d/%d of window %d", l.head, l.filled, window)
		return l
	}
	for i := range l.ring {
		l.ring[i] = r.u32s()
		for k, s := range l.ring[i] {
			if s >= n || (k > 0 && s <= l.ring[i][k-1]) {
				r.fail("ledger entry %d out of range or order", s)
				return l
			}
			l.count[s]++
		}
	}
	return l
}

// Restore implements Engine: it replaces the engine's complete state with a
// snapshot of the same area (same index and neuron count). On error the
// engine is unchanged.
func (e *engine) Restore(data []byte) error {
	f, err := restore(data, e.opts)
	if err != nil {
		return err
	}
	if f.spec.Index != e.spec.Index || f.n != e.n {
		return fmt.Errorf("%w: snapshot of area %d (%d neurons) restored into area %d (%d neurons)",
			ErrSnapshot, f.spec.Index, f.n, e.spec.Index, e.n)
	}
	pl := e.pool
	if pl != nil && (len(f.shards) != len(e.shards) || f.workers != e.workers) {
		return fmt.Errorf("%w: shard count changed", ErrSnapshot)
	}
	*e = *f
	e.setArr() // f's pointed into f
	e.pool = pl
	return nil
}

// RestoreEngine builds an engine from a snapshot (for moving an area between
// nodes). opts.Drive is ignored: the snapshot carries the drive.
func RestoreEngine(data []byte, opts Options) (*AreaEngine, error) {
	e, err := restore(data, opts)
	if err != nil {
		return nil, err
	}
	if e.workers > 1 {
		e.pool = newPool(len(e.shards), e.workers, e.runShard)
	}
	return wrap(e), nil
}

// restore decodes data into a new engine without worker goroutines.
func restore(data []byte, opts Options) (*engine, error) {
	d, err := decodeSnapshot(data)
	if err != nil {
		return nil, err
	}
	opts.Drive = d.drive
	w := opts.Workers
	opts.Workers = 1
	e, err := newEngine(d.spec, d.prec, d.incoming, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if d.prec == quant.INT8 && (d.q.Scale != e.i8.q.Scale || d.q.Zero != e.i8.q.Zero) {
		return nil, fmt.Errorf("%w: quantizer %v differs from the area's %v", ErrSnapshot, d.q, e.i8.q)
	}
	if w > 1 { // rebuild the shards for the requested worker count
		e.opts.Workers = w
		e.buildShards()
		e.buildTables()
	}
	e.burst = d.burst
	copy(e.f32.mp, d.mp32)
	copy(e.st, d.st)
	if e.i8.packed {
		for i, c := range d.mp8 {
			if d.st[i] > 0x00FFFFFF {
				return nil, fmt.Errorf("%w: neuron %d: countdown %d exceeds the area's %d", ErrSnapshot, i, d.st[i]>>16, e.p.refrSn)
			}
			e.st[i] |= uint32(uint8(c)) << 24
		}
	} else {
		copy(e.i8.mp, d.mp8)
	}
	for _, s := range d.st {
		e.countBound = max(e.countBound, s&0xFFFF)
	}
	for i, s := range d.out.Fired {
		if s >= e.n || (i > 0 && s <= d.out.Fired[i-1]) {
			return nil, fmt.Errorf("%w: last output lists neuron %d out of range or order", ErrSnapshot, s)
		}
	}
	e.out.Fired = append(e.out.Fired[:0], d.out.Fired...)
	e.out.Potentials = append(e.out.Potentials[:0], d.out.Potentials...)
	for k, lg := range d.ledgers {
		if lg[0] != nil {
			e.plast[k] = &plasticState{src: lg[0], dst: lg[1]}
		}
	}
	return e, nil
}

// writePotentials writes every potential's float32 bits.
func (a *neurons32) writePotentials(_ *engine, w *writer) {
	for _, v := range a.mp {
		w.f32(v)
	}
}

// writePotentials writes every potential's int8 code.
func (a *neurons8) writePotentials(e *engine, w *writer) {
	for i := range e.st {
		w.u8(uint8(e.code(i)))
	}
}

// wireBytes is how many bytes writePotentials writes per neuron.
func (a *neurons32) wireBytes() int { return 4 }

func (a *neurons8) wireBytes() int { return 1 }
