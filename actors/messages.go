package actors

import (
	"time"

	"github.com/spikemesh/spikemesh/npu"
)

// Messages between the actors of one process. They are plain Go values,
// never sent outside the process; what crosses a process boundary is the
// protobuf SpikeBatch (codec.go). Pointers to them are reused by burst
// parity where the lock-step protocol guarantees the previous use is over.

// tick starts a burst.
type tick struct {
	burst npu.Burst
}

// localBatch carries the neurons an area fired in one burst to one
// downstream area on the same node. Fired and Potentials are the source's
// published copy for that burst and stay untouched until the source runs
// burst+2, which cannot happen before the destination has consumed them.
type localBatch struct {
	burst      npu.Burst
	src        int
	fired      []uint32
	potentials []float32 // nil unless the destination needs them
}

// wireBatch is an encoded SpikeBatch received from NATS, from area src for
// burst (read from its header by the bus).
type wireBatch struct {
	data  []byte
	src   int
	burst npu.Burst
}

// remoteTick is the leader's Tick for this node, decoded: the sensory
// points of this node's areas (points[k] for areas[k]), or the end of the
// run after burst last.
type remoteTick struct {
	burst  npu.Burst
	areas  []int
	points [][]npu.Point
	stop   bool
	last   npu.Burst
	// countsOnly: the leader asked for counts and digests, not indices
	// (brainv1.Tick.counts_only).
	countsOnly bool
	// digests of the bursts digestsFrom, … complete everywhere (first tick
	// of a message only).
	digestsFrom npu.Burst
	digests     []uint64
}

// remoteDone is another node's completion of one or more bursts, decoded:
// bursts[k] is what its areas fired in burst first+k.
type remoteDone struct {
	participant int
	first       npu.Burst
	bursts      []firedIn
}

// firedIn is what a node's areas fired in one burst: for areas[k], the
// indices fired[k] (nil when left out), their number counts[k], the
// digest of the indices digests[k] when they were left out, and the time of
// its step.
type firedIn struct {
	areas   []int
	fired   [][]uint32
	counts  []int
	digests []uint64
	stepNs  []int64
}

// burstRecord is a complete burst of the whole brain from the leader.
type burstRecord struct {
	burst   npu.Burst
	fired   [][]uint32 // by area index
	elapsed time.Duration
}

// wake is the leader's pacing timer; gen tells a stale timer apart.
type wake struct {
	gen uint64
}

// completed is an area's report that it finished a burst (the in-process
// form of brainv1.BurstCompleted). Areas write it into their own slot of
// Runtime.reports rather than sending it: the last area to finish a burst
// sends one burstDone to the coordinator. fired is the area's published copy
// of its fired neurons, valid until the coordinator sends the next tick.
type completed struct {
	burst  npu.Burst
	area   int
	fired  []uint32
	stepNs int64 // time in Engine.Step
}

// burstDone tells the coordinator that every area finished burst.
type burstDone struct {
	burst npu.Burst
}

// fault stops the run. It is sent by an area that failed, or by the NATS
// error handler.
type fault struct {
	err error
}

// start asks the coordinator to run bursts first..last (last 0: until
// stopped).
type start struct {
	first, last npu.Burst
}

// stop asks the coordinator to finish the current burst and end the run.
type stop struct{}
