package actors

import (
	"time"

	"github.com/spikemesh/spikemesh/npu"
)

// BurstResult is one completed burst, as the observer sees it. Its slices
// are valid only during the call.
type BurstResult struct {
	Burst npu.Burst
	// Fired holds, by area index, the local indices that fired, ascending;
	// nil for an area that fired nothing, and for an area of another node
	// when the coordinator did not ask for its indices (Config.WantFired).
	Fired [][]uint32
	// Counts holds, by area index, how many neurons fired (whether or not
	// Fired holds their indices).
	Counts []int
	// Elapsed runs from the tick to the last completion.
	Elapsed time.Duration
	// Spikes is the number of neurons that fired in every area.
	Spikes int
	// Whole: the result covers every area of the brain (on the coordinator,
	// and on a node that observes the whole brain, Cluster.Observe); else
	// only this node's areas.
	Whole bool
	// Slowest is the area whose engine step took longest, and SlowestStep
	// that time.
	Slowest     int
	SlowestStep time.Duration

	// digests holds, by area index, the AreaDigest another node sent for
	// an area whose indices it left out (Fired nil, Counts > 0).
	digests []uint64
}

// Observer sees every completed burst, in order, on the coordinator before
// the next tick. An error stops the run and is returned by Run.
type Observer func(*BurstResult) error

// reset empties res for a burst about to start.
func (r *BurstResult) reset() {
	clear(r.Fired)
	clear(r.Counts)
	clear(r.digests)
	r.Slowest, r.SlowestStep, r.Whole = -1, -1, false
}

// sumSpikes sets Spikes from Counts.
func (r *BurstResult) sumSpikes() {
	r.Spikes = 0
	for _, n := range r.Counts {
		r.Spikes += n
	}
}

// Digest is the digest of the whole burst: of every area that fired, its
// index, its count and its AreaDigest. It is the same whether the indices
// of other nodes' areas came with their completions or only their digests.
func (r *BurstResult) Digest() uint64 {
	h := uint64(fnvOffset)
	for a := range max(len(r.Fired), len(r.Counts)) {
		n := r.Count(a)
		if n == 0 {
			continue
		}
		var d uint64
		if a < len(r.Fired) && r.Fired[a] != nil {
			d = AreaDigest(r.Fired[a])
		} else if a < len(r.digests) {
			d = r.digests[a]
		}
		h = (h ^ uint64(a)) * fnvPrime
		h = (h ^ uint64(n)) * fnvPrime
		h = (h ^ d) * fnvPrime
	}
	return h
}

// Count is how many neurons of area a fired: Counts[a], or the length of
// Fired[a] in a result made without Counts.
func (r *BurstResult) Count(a int) int {
	if a < len(r.Counts) {
		return r.Counts[a]
	}
	if a < len(r.Fired) {
		return len(r.Fired[a])
	}
	return 0
}
