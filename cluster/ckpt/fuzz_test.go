package ckpt

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// FuzzStoreAdd feeds arbitrary parts, as a corrupt or hostile peer could
// send them, to a small store: it never panics, refuses with ErrInvalid or
// ErrConflict and then changes nothing, keeps within its limits, and every
// complete checkpoint it reports is whole.
func FuzzStoreAdd(f *testing.F) {
	// Seeds: a byte of areas and limits, then records of 7 bytes: burst,
	// area, offset, total, data length, first data byte, data step.
	f.Add([]byte{0x00, 1, 0, 0, 4, 4, 1, 2})
	f.Add([]byte{0x15,
		1, 0, 0, 2, 2, 1, 2,
		1, 1, 0, 3, 3, 7, 1,
		2, 0xff, 0, 1, 1, 9, 0,
		2, 0, 0xff, 0, 0, 1, 1})
	f.Add([]byte{0x3f,
		3, 1, 10, 40, 20, 5, 6,
		3, 1, 30, 40, 10, 5, 6,
		4, 0, 0, 0, 0, 0, 0})
	f.Fuzz(fuzzStoreAdd)
}

func fuzzStoreAdd(t *testing.T, in []byte) {
	if len(in) == 0 {
		return
	}
	cfg := in[0]
	in = in[1:]
	areas := 1 + int(cfg&3)
	lim := Limits{MaxBlob: 64, Keep: 1 + int(cfg>>2&1), MaxPending: 1 + int(cfg>>3&3), MaxSpans: 1 + int(cfg>>5&3)}
	s := newStore(t, areas, lim)
	if s.Bound() != (lim.Keep+lim.MaxPending)*(areas+1)*(64+8*lim.MaxSpans) {
		t.Fatalf("Bound %d", s.Bound())
	}
	// Each part: burst, area, offset, total, data length, data byte,
	// data step (7 bytes); the data is generated, not read, so short
	// inputs still make long parts.
	for len(in) >= 7 {
		r := in[:7]
		in = in[7:]
		n := int(r[4]) % 80
		data := make([]byte, n)
		for i := range data {
			data[i] = r[5] + byte(i)*r[6]
		}
		p := Part{
			Burst:  uint64(r[0] % 16),
			Area:   int(int8(r[1])) % (areas + 2),
			Offset: uint32(r[2]),
			Total:  uint32(r[3]),
			Data:   data,
		}
		if r[2] == 0xff {
			p.Offset = binary.LittleEndian.Uint32([]byte{r[3], r[4], r[5], r[6]})
		}
		before := snap(s)
		completed, err := s.Add(p)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrConflict) {
				t.Fatalf("%+v: error %v is neither ErrInvalid nor ErrConflict", p, err)
			}
			if completed {
				t.Fatalf("%+v: completed with an error", p)
			}
			sameSnapshot(t, "a refused part", before, snap(s))
		}
		if completed {
			if l, ok := s.Latest(); !ok || l < p.Burst {
				t.Fatalf("%+v completed, yet Latest is %d %v", p, l, ok)
			}
			if _, ok := s.Get(p.Burst); !ok {
				t.Fatalf("%+v completed burst %d, which is not held", p, p.Burst)
			}
		}
		checkBlobs(t, s)
		if got := s.Bytes(); got > s.Bound() {
			t.Fatalf("Bytes %d over the bound %d", got, s.Bound())
		}
		if len(s.Complete()) > lim.Keep || len(s.Pending()) > lim.MaxPending {
			t.Fatalf("complete %v pending %v beyond Keep %d MaxPending %d", s.Complete(), s.Pending(), lim.Keep, lim.MaxPending)
		}
		for _, b := range s.Complete() {
			c, ok := s.Get(b)
			if !ok || len(c.Areas) != areas {
				t.Fatalf("checkpoint %d: %v %v", b, c, ok)
			}
			for a, blob := range c.Areas {
				if len(blob) > lim.MaxBlob {
					t.Fatalf("checkpoint %d area %d: %d bytes over MaxBlob", b, a, len(blob))
				}
			}
			if _, err := s.Parts(b, 7); err != nil {
				t.Fatalf("Parts(%d): %v", b, err)
			}
		}
	}
}

// checkBlobs checks, from inside, what makes Bound hold: no blob buffer
// beyond its total (itself within MaxBlob), no more runs than MaxSpans,
// runs ascending and apart, and a whole blob's count of done areas right.
func checkBlobs(t *testing.T, s *Store) {
	t.Helper()
	for burst, e := range s.entries {
		done := 0
		for a, b := range append(slices.Clone(e.areas), e.coord) {
			if b == nil {
				continue
			}
			if cap(b.data) > int(b.total) || int(b.total) > s.lim.MaxBlob || cap(b.spans) > s.lim.MaxSpans {
				t.Fatalf("burst %d blob %d: buffer %d total %d runs %d (MaxBlob %d MaxSpans %d)", burst, a, cap(b.data), b.total, cap(b.spans), s.lim.MaxBlob, s.lim.MaxSpans)
			}
			for i, sp := range b.spans {
				if sp.lo >= sp.hi || sp.hi > b.total || (i > 0 && b.spans[i-1].hi >= sp.lo) {
					t.Fatalf("burst %d blob %d: runs %v", burst, a, b.spans)
				}
			}
			if b.whole && len(b.spans) != 0 || !b.whole && len(b.spans) == 1 && b.spans[0] == (span{0, b.total}) {
				t.Fatalf("burst %d blob %d: whole %v with runs %v", burst, a, b.whole, b.spans)
			}
			if a < len(e.areas) && b.whole {
				done++
			}
		}
		if done != e.done || e.complete != (done == s.areas) {
			t.Fatalf("burst %d: %d areas whole, counted %d, complete %v", burst, done, e.done, e.complete)
		}
	}
}
