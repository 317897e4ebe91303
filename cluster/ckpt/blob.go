package ckpt

import (
	"bytes"
	"sort"
)

// spanBytes is the memory of one span, as Store.Bytes counts it.
const spanBytes = 8

// span is a run [lo, hi) of received bytes of a blob.
type span struct{ lo, hi uint32 }

// blob is one area's (or the coordinator's) blob being assembled. data
// grows as parts arrive (never beyond total); spans lists the received
// runs, ascending, neither overlapping nor touching, until the blob is
// whole.
type blob struct {
	total uint32
	data  []byte
	spans []span
	whole bool
}

func newBlob(total uint32) *blob { return &blob{total: total, whole: total == 0} }

// done reports whether every byte of the blob has arrived.
func (b *blob) done() bool { return b.whole }

// bytesOf returns the whole blob (non-nil, also when empty).
func (b *blob) bytesOf() []byte {
	if b.data == nil {
		return []byte{}
	}
	return b.data[:b.total:b.total]
}

// bytes is the memory the blob holds.
func (b *blob) bytes() int { return cap(b.data) + spanBytes*cap(b.spans) }

// overlapping returns the index range [i, j) of the spans that overlap or
// touch [lo, hi).
func (b *blob) overlapping(lo, hi uint32) (int, int) {
	i := sort.Search(len(b.spans), func(k int) bool { return b.spans[k].hi >= lo })
	j := i
	for j < len(b.spans) && b.spans[j].lo <= hi {
		j++
	}
	return i, j
}

// conflict returns the first offset in [off, off+len(data)) whose byte was
// received before with a different value.
func (b *blob) conflict(off uint32, data []byte) (uint32, bool) {
	lo, hi := off, off+uint32(len(data))
	if b.whole {
		if d := firstDiff(b.data[lo:hi], data); d >= 0 {
			return lo + uint32(d), true
		}
		return 0, false
	}
	i, j := b.overlapping(lo, hi)
	for _, s := range b.spans[i:j] {
		a, z := max(s.lo, lo), min(s.hi, hi)
		if d := firstDiff(b.data[a:z], data[a-lo:z-lo]); d >= 0 {
			return a + uint32(d), true
		}
	}
	return 0, false
}

// firstDiff is the index of the first byte where x and y (of equal
// length) differ, -1 if none.
func firstDiff(x, y []byte) int {
	if bytes.Equal(x, y) {
		return -1
	}
	for i := range x {
		if x[i] != y[i] {
			return i
		}
	}
	return -1
}

// spansAfter is the number of runs the blob would have after receiving
// [lo, hi).
func (b *blob) spansAfter(lo, hi uint32) int {
	if lo == hi {
		return len(b.spans)
	}
	i, j := b.overlapping(lo, hi)
	return len(b.spans) - (j - i) + 1
}

// write stores data at off; the caller has checked the range, the conflict
// and the span count.
func (b *blob) write(off uint32, data []byte, maxSpans int) {
	if len(data) == 0 {
		return
	}
	lo, hi := off, off+uint32(len(data))
	if int(hi) > len(b.data) {
		if int(hi) > cap(b.data) {
			c := min(int(b.total), max(int(hi), 2*cap(b.data)))
			grown := make([]byte, hi, c)
			copy(grown, b.data)
			b.data = grown
		} else {
			b.data = b.data[:hi]
		}
	}
	copy(b.data[lo:hi], data)
	i, j := b.overlapping(lo, hi)
	merged := span{lo, hi}
	if i < j {
		merged.lo = min(lo, b.spans[i].lo)
		merged.hi = max(hi, b.spans[j-1].hi)
	}
	if i == j && len(b.spans) == cap(b.spans) {
		grown := make([]span, len(b.spans), min(maxSpans, max(1, 2*cap(b.spans))))
		copy(grown, b.spans)
		b.spans = grown
	}
	b.spans = replaceSpans(b.spans, i, j, merged)
	if merged.lo == 0 && merged.hi == b.total {
		b.whole, b.spans = true, nil
	}
}

// replaceSpans replaces s[i:j] by one span, in place (cap(s) must allow it
// when i == j).
func replaceSpans(s []span, i, j int, v span) []span {
	if i == j {
		s = s[:len(s)+1]
		copy(s[i+1:], s[i:])
		s[i] = v
		return s
	}
	s[i] = v
	n := copy(s[i+1:], s[j:])
	clear(s[i+1+n:])
	return s[:i+1+n]
}

// own replaces the blob's bytes by data, which is whole (len(data) ==
// total) and agrees with everything received before; the blob keeps data.
func (b *blob) own(data []byte) {
	b.data, b.spans, b.whole = data, nil, true
}
