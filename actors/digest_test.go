package actors

import (
	"slices"
	"testing"
)

// result is a burst whose indices are all known.
func result(fired ...[]uint32) *BurstResult {
	r := &BurstResult{Fired: fired, Counts: make([]int, len(fired)), digests: make([]uint64, len(fired))}
	for a, f := range fired {
		r.Counts[a] = len(f)
	}
	return r
}

// Digest tells apart what fired in two bursts when one neuron, one area or
// one spike differs, and gives equal digests for equal bursts.
func TestDigest(t *testing.T) {
	base := result(nil, []uint32{1, 5, 9}, []uint32{}, []uint32{0, 2})
	same := result(nil, []uint32{1, 5, 9}, nil, []uint32{0, 2})
	if base.Digest() != same.Digest() {
		t.Fatal("equal bursts, different digests")
	}
	for name, other := range map[string]*BurstResult{
		"neuron": result(nil, []uint32{1, 5, 8}, nil, []uint32{0, 2}),
		"area":   result(nil, []uint32{1, 5, 9}, []uint32{0, 2}),
		"spike":  result(nil, []uint32{1, 5, 9}, nil, []uint32{0, 2, 3}),
		"fewer":  result(nil, []uint32{1, 5}, nil, []uint32{0, 2}),
		"moved":  result([]uint32{1, 5, 9}, nil, nil, []uint32{0, 2}),
	} {
		if base.Digest() == other.Digest() {
			t.Errorf("%s: a different burst, the same digest", name)
		}
	}
	// Each index of a longer list counts, in every lane and the tail.
	long := []uint32{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31}
	want := AreaDigest(long)
	for k := range long {
		other := slices.Clone(long)
		other[k]++
		if AreaDigest(other) == want {
			t.Errorf("index %d changed, the same digest", k)
		}
	}
}

// A burst whose other nodes sent only counts and digests has the digest
// of the same burst with every index, and a result made without Counts
// (the reference runner's) counts its lists.
func TestDigestWithoutIndices(t *testing.T) {
	whole := result(nil, []uint32{1, 5, 9}, nil, []uint32{0, 2, 7, 8, 40})
	short := result(nil, []uint32{1, 5, 9}, nil, nil)
	short.Counts[3], short.digests[3] = 5, AreaDigest([]uint32{0, 2, 7, 8, 40})
	if whole.Digest() != short.Digest() {
		t.Fatal("the digest depends on whether the indices came")
	}
	short.digests[3]++
	if whole.Digest() == short.Digest() {
		t.Fatal("the digest sent for an area does not count")
	}
	plain := &BurstResult{Fired: whole.Fired}
	if plain.Digest() != whole.Digest() || plain.Count(3) != 5 || plain.Count(9) != 0 {
		t.Fatalf("without Counts: digest %x (want %x), count %d", plain.Digest(), whole.Digest(), plain.Count(3))
	}
}

// BenchmarkDigest: the digest of a burst of 4 areas with 5,600 spikes each
// (the compute-heavy synthetic brain), which the coordinator takes for
// every burst.
func BenchmarkDigest(b *testing.B) {
	fired := make([][]uint32, 7)
	for a := 3; a < 7; a++ {
		for n := uint32(0); n < 5600; n++ {
			fired[a] = append(fired[a], n*17+uint32(a))
		}
	}
	r := result(fired...)
	b.SetBytes(4 * 5600 * 4)
	for b.Loop() {
		r.Digest()
	}
}
