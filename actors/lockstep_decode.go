package actors

import (
	"math"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// Decoding the lock step's messages: pure functions of the runtime's plan,
// placement, window, run and epoch. A message is taken whole or not at
// all; a refusal names the count it is ignored under (Runtime.Ignored).

// decodeTick checks and decodes a Tick: one remoteTick for each burst it
// starts, in order (or the stop), else the count it is ignored under (a
// Tick is taken whole or not at all).
func (r *Runtime) decodeTick(data []byte) ([]*remoteTick, *atomic.Uint64) {
	var t brainv1.Tick
	if err := proto.Unmarshal(data, &t); err != nil {
		return nil, &r.ignored.malformed
	}
	if why := r.runOf(t.Run, t.Epoch); why != nil {
		return nil, why
	}
	if t.Stop {
		return []*remoteTick{{stop: true, last: t.Last}}, nil
	}
	if t.Burst == 0 || len(t.Later) >= r.window || t.Burst > math.MaxUint64-uint64(r.window) {
		return nil, &r.ignored.malformed
	}
	// Digests are of bursts complete before the first one this Tick starts.
	if d := uint64(len(t.Digests)); d > maxDigests || d > 0 && (t.DigestsFrom == 0 || t.DigestsFrom >= t.Burst || d > t.Burst-t.DigestsFrom) {
		return nil, &r.ignored.malformed
	}
	ticks := make([]*remoteTick, 0, 1+len(t.Later))
	for k := 0; k <= len(t.Later); k++ {
		aps := t.Points
		if k > 0 {
			aps = t.Later[k-1].GetPoints()
		}
		rt, ok := r.decodePoints(t.Burst+uint64(k), aps)
		if !ok {
			return nil, &r.ignored.malformed
		}
		rt.countsOnly = t.CountsOnly
		if k == 0 && len(t.Digests) > 0 {
			rt.digestsFrom, rt.digests = t.DigestsFrom, t.Digests
		}
		ticks = append(ticks, rt)
	}
	return ticks, nil
}

// decodePoints checks and decodes one burst's sensory points of a Tick.
func (r *Runtime) decodePoints(burst npu.Burst, aps []*brainv1.AreaPoints) (*remoteTick, bool) {
	rt := &remoteTick{burst: burst}
	for _, ap := range aps {
		a := int(ap.Area)
		if a >= len(r.plan.Areas) || len(ap.Local) != len(ap.P) {
			return nil, false
		}
		n := r.plan.Areas[a].Neurons()
		pts := make([]npu.Point, len(ap.Local))
		for k := range pts {
			if ap.Local[k] >= n {
				return nil, false
			}
			pts[k] = npu.Point{Local: ap.Local[k], P: ap.P[k]}
		}
		rt.areas, rt.points = append(rt.areas, a), append(rt.points, pts)
	}
	return rt, true
}

// decodeDone checks and decodes a NodeDone: every burst it reports, else
// the count it is ignored under (taken whole or not at all).
func (r *Runtime) decodeDone(data []byte) (*remoteDone, *atomic.Uint64) {
	var d brainv1.NodeDone
	if err := proto.Unmarshal(data, &d); err != nil {
		return nil, &r.ignored.malformed
	}
	if why := r.runOf(d.Run, d.Epoch); why != nil {
		return nil, why
	}
	p, ok := r.nodeIndex[NodeID(d.Node)]
	if !ok {
		return nil, &r.ignored.unknown
	}
	if d.Burst == 0 || len(d.Later) >= r.window || d.Burst > math.MaxUint64-uint64(r.window) {
		return nil, &r.ignored.malformed
	}
	owns := func(a int) bool { return r.placement.Node(a) == NodeID(d.Node) }
	need := r.needsFired()
	rd := &remoteDone{participant: p, first: d.Burst, bursts: make([]firedIn, 1+len(d.Later))}
	for k := range rd.bursts {
		areas := d.Areas
		if k > 0 {
			areas = d.Later[k-1].GetAreas()
		}
		f := &rd.bursts[k]
		left := false
		if why := r.eachFired(areas, owns, func(a int, fired []uint32, count int, digest uint64, stepNs int64) {
			left = left || fired == nil && count > 0
			f.areas, f.fired, f.stepNs = append(f.areas, a), append(f.fired, fired), append(f.stepNs, stepNs)
			f.counts, f.digests = append(f.counts, count), append(f.digests, digest)
		}); why != nil {
			return nil, why
		}
		if left && need {
			// This leader records the brain: it never asked for counts only.
			return nil, &r.ignored.malformed
		}
	}
	return rd, nil
}

// eachFired decodes areas, calling take for each with the indices (nil
// when they were left out: count > 0 and no indices), their count and the
// digest sent; it refuses the whole message, with the count it is ignored
// under, when an area is unknown or not owned as owns says, its indices are
// not ascending within the area, or its count is more than the area's
// neurons or, with indices, not their number.
func (r *Runtime) eachFired(areas []*brainv1.AreaFired, owns func(area int) bool, take func(area int, fired []uint32, count int, digest uint64, stepNs int64)) *atomic.Uint64 {
	for _, af := range areas {
		a := int(af.Area)
		if a >= len(r.plan.Areas) || !owns(a) {
			return &r.ignored.unknown
		}
		n := r.plan.Areas[a].Neurons()
		if len(af.FiredDelta) == 0 && af.Count > 0 {
			if af.Count > n {
				return &r.ignored.malformed
			}
			take(a, nil, int(af.Count), af.Digest, int64(min(af.StepNs, 1<<62)))
			continue
		}
		fired, ok := undelta(af.FiredDelta, n)
		if !ok || int(af.Count) != len(fired) {
			return &r.ignored.malformed
		}
		if len(fired) == 0 {
			fired = nil
		}
		take(a, fired, len(fired), 0, int64(min(af.StepNs, 1<<62)))
	}
	return nil
}

// undelta decodes AreaFired's indices in place (deltas belongs to a message
// just decoded); false when they are not ascending or not below n.
func undelta(deltas []uint32, n uint32) ([]uint32, bool) {
	prev := uint32(0)
	for k, d := range deltas {
		v := prev + d
		if (k > 0 && (d == 0 || v < prev)) || v >= n {
			return nil, false
		}
		deltas[k], prev = v, v
	}
	return deltas, true
}

// runOf is nil for a message of this run and epoch, else the count it is
// ignored under.
func (r *Runtime) runOf(run, epoch uint64) *atomic.Uint64 {
	switch {
	case run != r.cfg.Run:
		return &r.ignored.run
	case epoch != r.cfg.Epoch:
		return &r.ignored.epoch
	}
	return nil
}
