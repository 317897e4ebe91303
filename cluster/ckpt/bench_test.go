package ckpt

import "testing"

// BenchmarkAddInOrder reassembles one area's 16 MiB blob from 256 KiB
// parts arriving in order, the common case.
func BenchmarkAddInOrder(b *testing.B) {
	blob := seq(16<<20, 3)
	parts := mustSplit(b, 1, 0, blob, 256<<10)
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		s := newStore(b, 1, Limits{})
		for _, p := range parts {
			if _, err := s.Add(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAddDuplicate receives a held 16 MiB checkpoint again (a peer
// re-sending it): every byte is compared, nothing stored.
func BenchmarkAddDuplicate(b *testing.B) {
	blob := seq(16<<20, 3)
	parts := mustSplit(b, 1, 0, blob, 256<<10)
	s := newStore(b, 1, Limits{})
	for _, p := range parts {
		if _, err := s.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		for _, p := range parts {
			if _, err := s.Add(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
