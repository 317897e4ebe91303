package cortical

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
)

// Digest returns the SHA-256 of a canonical binary encoding of the plan:
// genome metadata, precision, every area (ID, legacy ID, name, kind,
// geometry, neuron range, parameters as IEEE bits), every connection (all
// synapse arrays, out-degrees, PSP flags, plasticity) and every rule
// statistic, in plan order. The seed and the warnings are not part of it,
// so two seeds give the same digest unless some rule draws randomly.
func (p *Plan) Digest() [32]byte {
	h := sha256.New()
	d := digester{h: h}
	d.str("spikemesh.plan.v1")
	d.str(p.Genome.ID)
	d.str(p.Genome.Title)
	d.str(p.Genome.Version)
	d.str(p.Genome.Format)
	d.u64(math.Float64bits(p.Genome.BurstRateHz))
	d.u64(uint64(p.Precision))
	d.u64(uint64(len(p.Areas)))
	for i := range p.Areas {
		d.area(&p.Areas[i])
	}
	d.u64(uint64(len(p.Connections)))
	for _, c := range p.Connections {
		d.u64(uint64(c.Src))
		d.u64(uint64(c.Dst))
		d.u32s(c.Start)
		d.u32s(c.Target)
		d.bytes(c.Weight)
		d.u64(uint64(len(c.Inhibitory)))
		for _, b := range c.Inhibitory {
			d.bool(b)
		}
		d.u32s(c.OutDegree)
		d.u64(uint64(c.PSP))
		d.bool(c.PSPUniform)
		d.bool(c.MPDrivenPSP)
		d.bool(c.Plasticity != nil)
		if c.Plasticity != nil {
			d.u64(uint64(c.Plasticity.Window))
			d.u64(uint64(c.Plasticity.LTP))
			d.u64(uint64(c.Plasticity.LTD))
		}
	}
	d.u64(uint64(len(p.Rules)))
	for _, r := range p.Rules {
		d.u64(uint64(r.Src))
		d.u64(uint64(r.Dst))
		d.u64(uint64(r.Rule))
		d.str(r.Morphology)
		d.u64(uint64(r.Synapses))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

type digester struct {
	h   hash.Hash
	buf [8]byte
}

func (d *digester) u64(v uint64) {
	binary.LittleEndian.PutUint64(d.buf[:], v)
	d.h.Write(d.buf[:])
}

func (d *digester) f32(v float32) { d.u64(uint64(math.Float32bits(v))) }

func (d *digester) bool(b bool) {
	if b {
		d.h.Write([]byte{1})
	} else {
		d.h.Write([]byte{0})
	}
}

func (d *digester) str(s string) {
	d.u64(uint64(len(s)))
	d.h.Write([]byte(s))
}

func (d *digester) bytes(b []byte) {
	d.u64(uint64(len(b)))
	d.h.Write(b)
}

func (d *digester) u32s(v []uint32) {
	d.u64(uint64(len(v)))
	buf := make([]byte, 0, 4096)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, x)
		if len(buf) == cap(buf) {
			d.h.Write(buf)
			buf = buf[:0]
		}
	}
	d.h.Write(buf)
}

func (d *digester) area(a *Area) {
	d.h.Write(a.ID[:])
	d.str(a.LegacyID)
	d.str(a.Name)
	d.u64(uint64(a.Kind))
	d.u64(uint64(a.Index))
	for _, v := range a.Dims {
		d.u64(uint64(v))
	}
	d.u64(uint64(a.PerVoxel))
	d.u64(uint64(a.FirstID))
	pr := &a.Params
	d.f32(pr.Threshold)
	for _, v := range pr.ThresholdIncrement {
		d.f32(v)
	}
	d.f32(pr.ThresholdLimit)
	d.f32(pr.LeakPerBurst)
	d.u64(uint64(pr.RefractoryBursts))
	d.u64(uint64(pr.ConsecutiveLimit))
	d.u64(uint64(pr.SnoozeBursts))
	d.f32(pr.Excitability)
	d.bool(pr.ChargeAccumulation)
	d.bool(pr.MPDrivenPSP)
	d.bool(pr.PSPUniform)
	d.u64(uint64(pr.PSP))
}
