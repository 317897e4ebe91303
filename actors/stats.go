package actors

import (
	"math/bits"
	"time"
)

// Stats accumulates what node run reports about a run: bursts, spikes per
// area and the distribution of burst times. Memory is constant whatever
// the number of bursts. Not safe for concurrent use.
type Stats struct {
	Bursts uint64
	Spikes []uint64 // by area index
	hist   Histogram
}

// NewStats returns Stats for a brain of n areas.
func NewStats(n int) *Stats { return &Stats{Spikes: make([]uint64, n)} }

// Add counts one burst.
func (s *Stats) Add(r *BurstResult) {
	s.Bursts++
	for i := range s.Spikes {
		s.Spikes[i] += uint64(r.Count(i))
	}
	s.hist.Add(r.Elapsed)
}

// Quantile returns the q-quantile of the burst times (0 ≤ q ≤ 1).
func (s *Stats) Quantile(q float64) time.Duration { return s.hist.Quantile(q) }

// Histogram is a log-linear histogram of durations with 1/32 relative
// resolution (≤ 3.2 % error), from 1 ns to about 290 years.
type Histogram struct {
	counts [64 * subBuckets]uint64
	n      uint64
}

const subBits = 5
const subBuckets = 1 << subBits

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits // ≥ 1
	return e*subBuckets + int(v>>uint(e-1)) - subBuckets
}

// lower returns the smallest value of bucket b.
func lower(b int) uint64 {
	if b < subBuckets {
		return uint64(b)
	}
	e := b / subBuckets
	m := uint64(b%subBuckets + subBuckets)
	return m << uint(e-1)
}

// Add records one duration (negative counts as 0).
func (h *Histogram) Add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
}

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the lower bound of the bucket holding the q-quantile, 0
// when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(lower(b))
		}
	}
	return 0
}
