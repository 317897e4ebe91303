package ckpt

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

type testingT interface {
	Helper()
	Fatalf(format string, args ...any)
}

func newStore(t testingT, areas int, lim Limits) *Store {
	t.Helper()
	s, err := NewStore(areas, lim)
	if err != nil {
		t.Fatalf("NewStore(%d, %+v): %v", areas, lim, err)
	}
	return s
}

// snapshot is everything a Store shows from outside.
type snapshot struct {
	complete, pending []uint64
	bytes             int
	held              map[uint64]Checkpoint
}

func snap(s *Store) snapshot {
	sn := snapshot{complete: s.Complete(), pending: s.Pending(), bytes: s.Bytes(), held: map[uint64]Checkpoint{}}
	for _, b := range sn.complete {
		c, ok := s.Get(b)
		if !ok {
			panic("Complete lists a checkpoint Get does not return")
		}
		cp := Checkpoint{Burst: c.Burst, Bytes: c.Bytes, Coordinator: bytes.Clone(c.Coordinator)}
		for _, a := range c.Areas {
			cp.Areas = append(cp.Areas, bytes.Clone(a))
		}
		sn.held[b] = cp
	}
	return sn
}

func sameSnapshot(t testingT, what string, a, b snapshot) {
	t.Helper()
	if !slices.Equal(a.complete, b.complete) || !slices.Equal(a.pending, b.pending) || a.bytes != b.bytes {
		t.Fatalf("%s changed the store: complete %v→%v pending %v→%v bytes %d→%d", what, a.complete, b.complete, a.pending, b.pending, a.bytes, b.bytes)
	}
	for k, x := range a.held {
		y := b.held[k]
		if x.Bytes != y.Bytes || !bytes.Equal(x.Coordinator, y.Coordinator) || (x.Coordinator == nil) != (y.Coordinator == nil) {
			t.Fatalf("%s changed checkpoint %d", what, k)
		}
		for i := range x.Areas {
			if !bytes.Equal(x.Areas[i], y.Areas[i]) {
				t.Fatalf("%s changed checkpoint %d area %d", what, k, i)
			}
		}
	}
}

func mustSplit(t testingT, burst uint64, area int, blob []byte, max int) []Part {
	t.Helper()
	p, err := Split(burst, area, blob, max)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	return p
}

func seq(n int, from byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

// Random blobs cut at random sizes (some areas cut twice, at different
// sizes, so parts overlap unaligned), with duplicates, in random order:
// the checkpoint completes at exactly the part that brings the last
// missing byte, and holds the blobs.
func TestReassemblyAnyOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		areas := rapid.IntRange(1, 4).Draw(t, "areas")
		burst := rapid.Uint64Range(1, 1000).Draw(t, "burst")
		blobs := make([][]byte, areas)
		var parts []Part
		for a := range blobs {
			blobs[a] = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "blob")
			parts = append(parts, mustSplit(t, burst, a, blobs[a], rapid.IntRange(1, 64).Draw(t, "max"))...)
			if rapid.Bool().Draw(t, "recut") {
				parts = append(parts, mustSplit(t, burst, a, blobs[a], rapid.IntRange(1, 64).Draw(t, "max2"))...)
			}
		}
		withCoord := rapid.Bool().Draw(t, "coordinator")
		var coord []byte
		if withCoord {
			coord = rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "coordblob")
			parts = append(parts, mustSplit(t, burst, Coordinator, coord, rapid.IntRange(1, 64).Draw(t, "cmax"))...)
		}
		for range rapid.IntRange(0, len(parts)).Draw(t, "dups") {
			parts = append(parts, parts[rapid.IntRange(0, len(parts)-1).Draw(t, "dup")])
		}
		parts = rapid.Permutation(parts).Draw(t, "order")

		s := newStore(t, areas, Limits{})
		seen := make([]bool, areas)
		got := make([][]bool, areas)
		for a := range got {
			got[a] = make([]bool, len(blobs[a]))
		}
		whole := func() bool {
			for a := range got {
				if !seen[a] || slices.Contains(got[a], false) {
					return false
				}
			}
			return true
		}
		for i, p := range parts {
			was := whole()
			if p.Area >= 0 {
				seen[p.Area] = true
				for k := range p.Data {
					got[p.Area][int(p.Offset)+k] = true
				}
			}
			want := whole() && !was
			c, err := s.Add(p)
			if err != nil {
				t.Fatalf("part %d %+v: %v", i, p, err)
			}
			if c != want {
				t.Fatalf("part %d (area %d offset %d, %d bytes): completed %v, want %v", i, p.Area, p.Offset, len(p.Data), c, want)
			}
		}
		if l, ok := s.Latest(); !ok || l != burst {
			t.Fatalf("Latest %d %v, want %d", l, ok, burst)
		}
		c, ok := s.Get(burst)
		if !ok {
			t.Fatalf("Get(%d) after every part: not held", burst)
		}
		checkCheckpoint(t, c, burst, blobs, coord, withCoord)

		// Streamed back out at another size and fed to a fresh store in
		// reverse, it gives the same checkpoint.
		out, err := s.Parts(burst, rapid.IntRange(1, 100).Draw(t, "outmax"))
		if err != nil {
			t.Fatal(err)
		}
		s2 := newStore(t, areas, Limits{})
		completions := 0
		for i := len(out) - 1; i >= 0; i-- {
			c, err := s2.Add(out[i])
			if err != nil {
				t.Fatal(err)
			}
			if c {
				completions++
			}
		}
		if completions != 1 {
			t.Fatalf("re-streamed checkpoint completed %d times", completions)
		}
		c2, _ := s2.Get(burst)
		checkCheckpoint(t, c2, burst, blobs, coord, withCoord)
	})
}

func checkCheckpoint(t testingT, c *Checkpoint, burst uint64, blobs [][]byte, coord []byte, withCoord bool) {
	t.Helper()
	if c == nil || c.Burst != burst || len(c.Areas) != len(blobs) {
		t.Fatalf("checkpoint %+v, want burst %d with %d areas", c, burst, len(blobs))
	}
	n := 0
	for a := range blobs {
		if !bytes.Equal(c.Areas[a], blobs[a]) {
			t.Fatalf("area %d: %d bytes differ from the %d sent", a, len(c.Areas[a]), len(blobs[a]))
		}
		n += len(blobs[a])
	}
	if withCoord != (c.Coordinator != nil) || !bytes.Equal(c.Coordinator, coord) {
		t.Fatalf("coordinator blob %v, want %v (sent: %v)", c.Coordinator, coord, withCoord)
	}
	n += len(coord)
	if c.Bytes != n {
		t.Fatalf("Bytes %d, want %d", c.Bytes, n)
	}
}

func TestCompletesOnLastByteOfLastArea(t *testing.T) {
	s := newStore(t, 2, Limits{})
	steps := []struct {
		p    Part
		want bool
	}{
		{Part{Burst: 4, Area: 1, Offset: 0, Total: 3, Data: []byte{1, 2, 3}}, false},
		{Part{Burst: 4, Area: 0, Offset: 0, Total: 4, Data: []byte{9, 8}}, false},
		{Part{Burst: 4, Area: Coordinator, Offset: 0, Total: 1, Data: []byte{7}}, false},
		{Part{Burst: 4, Area: 0, Offset: 3, Total: 4, Data: []byte{6}}, false},
		{Part{Burst: 4, Area: 0, Offset: 1, Total: 4, Data: []byte{8, 7}}, true}, // byte 2, the last
		{Part{Burst: 4, Area: 0, Offset: 1, Total: 4, Data: []byte{8, 7}}, false},
	}
	for i, st := range steps {
		c, err := s.Add(st.p)
		if err != nil || c != st.want {
			t.Fatalf("step %d: completed %v err %v, want %v", i, c, err, st.want)
		}
	}
	c, _ := s.Get(4)
	checkCheckpoint(t, c, 4, [][]byte{{9, 8, 7, 6}, {1, 2, 3}}, []byte{7}, true)
}

func TestEmptyBlobs(t *testing.T) {
	s := newStore(t, 2, Limits{})
	c, err := s.PutLocal(1, 0, nil)
	if err != nil || c {
		t.Fatalf("empty area 0: %v %v", c, err)
	}
	parts := mustSplit(t, 1, 1, nil, 10)
	if c, err := s.Add(parts[0]); err != nil || !c {
		t.Fatalf("empty area 1 completes the checkpoint: got %v %v", c, err)
	}
	cp, _ := s.Get(1)
	checkCheckpoint(t, cp, 1, [][]byte{{}, {}}, nil, false)
}

// After each completion the store holds exactly the Keep newest complete
// checkpoints; a checkpoint older than all those held is stale.
func TestEvictionKeepsNewest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keep := rapid.IntRange(1, 4).Draw(t, "keep")
		bursts := rapid.SliceOfNDistinct(rapid.Uint64Range(1, 60), 1, 15, rapid.ID[uint64]).Draw(t, "bursts")
		s := newStore(t, 1, Limits{Keep: keep})
		var model []uint64
		for _, b := range bursts {
			stale := len(model) > 0 && b < model[0]
			c, err := s.PutLocal(b, 0, []byte{byte(b), 1})
			if err != nil {
				t.Fatal(err)
			}
			if c == stale {
				t.Fatalf("burst %d (held %v): completed %v", b, model, c)
			}
			if !stale {
				model = insertSorted(model, b)
				if len(model) > keep {
					model = model[len(model)-keep:]
				}
			}
			if got := s.Complete(); !slices.Equal(got, model) {
				t.Fatalf("after burst %d: complete %v, want %v", b, got, model)
			}
			if l, _ := s.Latest(); l != model[len(model)-1] {
				t.Fatalf("Latest %d, want %d", l, model[len(model)-1])
			}
			if o, _ := s.Oldest(); o != model[0] {
				t.Fatalf("Oldest %d, want %d", o, model[0])
			}
		}
		for _, b := range bursts {
			c, ok := s.Get(b)
			if ok != slices.Contains(model, b) {
				t.Fatalf("Get(%d) held %v, complete %v", b, ok, model)
			}
			if ok && !bytes.Equal(c.Areas[0], []byte{byte(b), 1}) {
				t.Fatalf("Get(%d) = %v", b, c.Areas[0])
			}
		}
		if s.Bytes() != 2*len(model) {
			t.Fatalf("Bytes %d for %d checkpoints of 2 bytes", s.Bytes(), len(model))
		}
	})
}

// Incomplete checkpoints: at most MaxPending, the newest ones; a burst
// older than all of them is ignored when the limit is reached.
func TestPendingBounded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxPending := rapid.IntRange(1, 5).Draw(t, "maxPending")
		bursts := rapid.SliceOfN(rapid.Uint64Range(1, 40), 1, 30).Draw(t, "bursts")
		s := newStore(t, 1, Limits{MaxPending: maxPending})
		var model []uint64
		for _, b := range bursts {
			// The first byte of a two-byte blob: never completes.
			if _, err := s.Add(Part{Burst: b, Area: 0, Offset: 0, Total: 2, Data: []byte{5}}); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(model, b) {
				switch {
				case len(model) < maxPending:
					model = insertSorted(model, b)
				case b > model[0]:
					model = insertSorted(model[1:], b)
				}
			}
			if got := s.Pending(); !slices.Equal(got, model) {
				t.Fatalf("after burst %d: pending %v, want %v", b, got, model)
			}
			if bound := s.Bound(); s.Bytes() > bound {
				t.Fatalf("Bytes %d over the bound %d", s.Bytes(), bound)
			}
		}
	})
}

func TestStaleAndFallenBehind(t *testing.T) {
	s := newStore(t, 1, Limits{Keep: 2})
	for _, b := range []uint64{10, 20} {
		if c, err := s.PutLocal(b, 0, []byte{1}); err != nil || !c {
			t.Fatalf("PutLocal(%d): %v %v", b, c, err)
		}
	}
	before := snap(s)
	if c, err := s.Add(Part{Burst: 9, Area: 0, Total: 1, Data: []byte{1}}); err != nil || c {
		t.Fatalf("stale part: %v %v", c, err)
	}
	sameSnapshot(t, "a stale part", before, snap(s))
	// A stale part is ignored even when it would conflict.
	if _, err := s.Add(Part{Burst: 9, Area: 0, Total: 5, Data: []byte{1}}); err != nil {
		t.Fatalf("stale conflicting part: %v", err)
	}
	// An incomplete checkpoint between the complete ones ...
	if _, err := s.Add(Part{Burst: 15, Area: 0, Total: 2, Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Pending(), []uint64{15}) {
		t.Fatalf("pending %v", s.Pending())
	}
	// ... is dropped when a newer completion evicts 10 and 15 falls behind.
	if c, err := s.PutLocal(30, 0, []byte{3}); err != nil || !c {
		t.Fatalf("PutLocal(30): %v %v", c, err)
	}
	if !slices.Equal(s.Complete(), []uint64{20, 30}) || len(s.Pending()) != 0 {
		t.Fatalf("complete %v pending %v, want [20 30] []", s.Complete(), s.Pending())
	}
	if s.Bytes() != 2 {
		t.Fatalf("Bytes %d, want 2", s.Bytes())
	}
}

func TestConflictLeavesStoreUnchanged(t *testing.T) {
	blob := seq(100, 0)
	other := seq(4, 50)
	s := newStore(t, 2, Limits{})
	must := func(c bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	must(s.PutLocal(3, 0, bytes.Clone(other)))
	must(s.PutLocal(3, 1, bytes.Clone(other))) // a complete checkpoint to keep intact
	must(s.Add(Part{Burst: 7, Area: 1, Offset: 10, Total: 100, Data: blob[10:50]}))
	must(s.Add(Part{Burst: 7, Area: 0, Offset: 0, Total: 4, Data: other}))

	bad := bytes.Clone(blob[30:60])
	bad[12] ^= 0xff // offset 42: held, differs
	bad[15] ^= 0xff // offset 45: a later difference
	bad[25] ^= 0xff // offset 55: not held yet
	cases := []struct {
		name   string
		p      Part
		local  bool
		expect []string
	}{
		{"other bytes", Part{Burst: 7, Area: 1, Offset: 30, Total: 100, Data: bad}, false, []string{"burst 7", "area 1", "offset 42"}},
		{"other total", Part{Burst: 7, Area: 1, Offset: 0, Total: 101, Data: blob[:5]}, false, []string{"burst 7", "area 1", "offset 0", "101", "100"}},
		{"other bytes of a complete checkpoint", Part{Burst: 3, Area: 0, Offset: 2, Total: 4, Data: []byte{52, 0}}, false, []string{"burst 3", "area 0", "offset 3"}},
		{"local blob differs", Part{Burst: 3, Area: 1, Total: 4, Data: []byte{50, 51, 52, 54}}, true, []string{"burst 3", "area 1", "offset 3"}},
		{"local blob of another length", Part{Burst: 7, Area: 1, Total: 99, Data: blob[:99]}, true, []string{"burst 7", "area 1", "99"}},
	}
	for _, tc := range cases {
		before := snap(s)
		var c bool
		var err error
		if tc.local {
			c, err = s.PutLocal(tc.p.Burst, tc.p.Area, bytes.Clone(tc.p.Data))
		} else {
			c, err = s.Add(tc.p)
		}
		if !errors.Is(err, ErrConflict) || c {
			t.Fatalf("%s: completed %v, error %v, want ErrConflict", tc.name, c, err)
		}
		for _, w := range tc.expect {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", tc.name, err, w)
			}
		}
		sameSnapshot(t, tc.name, before, snap(s))
	}
	// The right bytes still complete burst 7 with the right blob: nothing
	// of the refused parts was written.
	if must(s.Add(Part{Burst: 7, Area: 1, Offset: 0, Total: 100, Data: blob[:60]})) {
		t.Fatal("completed early")
	}
	if !must(s.Add(Part{Burst: 7, Area: 1, Offset: 60, Total: 100, Data: blob[60:]})) {
		t.Fatal("burst 7 did not complete")
	}
	c, _ := s.Get(7)
	checkCheckpoint(t, c, 7, [][]byte{other, blob}, nil, false)
}

func TestInvalidParts(t *testing.T) {
	s := newStore(t, 3, Limits{MaxBlob: 100, MaxPending: 1})
	if _, err := s.Add(Part{Burst: 9, Area: 0, Total: 10, Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p      Part
		expect []string
	}{
		{Part{Burst: 12, Area: -2, Total: 1, Data: []byte{1}}, []string{"burst 12", "area -2", "offset 0"}},
		{Part{Burst: 12, Area: 3, Offset: 1, Total: 2, Data: []byte{1}}, []string{"burst 12", "area 3", "offset 1"}},
		{Part{Burst: 12, Area: 1, Offset: 90, Total: 100, Data: make([]byte, 11)}, []string{"burst 12", "area 1", "offset 90", "101"}},
		{Part{Burst: 12, Area: 1, Offset: 101, Total: 100}, []string{"burst 12", "area 1", "offset 101"}},
		{Part{Burst: 12, Area: 2, Offset: 0, Total: 101}, []string{"burst 12", "area 2", "total 101"}},
		{Part{Burst: 12, Area: 0, Offset: math.MaxUint32, Total: 100, Data: []byte{1, 2}}, []string{"burst 12", "area 0", "offset 4294967295"}},
		{Part{Burst: 9, Area: 0, Offset: 8, Total: 10, Data: []byte{1, 2, 3}}, []string{"burst 9", "area 0", "offset 8"}},
	}
	for _, tc := range cases {
		before := snap(s)
		c, err := s.Add(tc.p)
		if !errors.Is(err, ErrInvalid) || c {
			t.Fatalf("%+v: completed %v error %v, want ErrInvalid", tc.p, c, err)
		}
		for _, w := range tc.expect {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not name %q", tc.p, err, w)
			}
		}
		sameSnapshot(t, "an invalid part", before, snap(s))
	}
	if _, err := s.PutLocal(12, 0, make([]byte, 101)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "burst 12 area 0") {
		t.Fatalf("PutLocal over MaxBlob: %v", err)
	}
	if !slices.Equal(s.Pending(), []uint64{9}) {
		t.Fatalf("pending %v", s.Pending())
	}
}

func TestTooFragmented(t *testing.T) {
	s := newStore(t, 1, Limits{MaxSpans: 4})
	blob := seq(20, 1)
	for _, off := range []int{0, 2, 4, 6} {
		if _, err := s.Add(Part{Burst: 1, Area: 0, Offset: uint32(off), Total: 20, Data: blob[off : off+1]}); err != nil {
			t.Fatal(err)
		}
	}
	before := snap(s)
	_, err := s.Add(Part{Burst: 1, Area: 0, Offset: 8, Total: 20, Data: blob[8:9]})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "burst 1 area 0 offset 8") {
		t.Fatalf("a fifth run: %v", err)
	}
	sameSnapshot(t, "a too fragmented part", before, snap(s))
	// Filling a gap merges runs; then the rest fits.
	for _, off := range []int{1, 3, 5} {
		if _, err := s.Add(Part{Burst: 1, Area: 0, Offset: uint32(off), Total: 20, Data: blob[off : off+1]}); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.Add(Part{Burst: 1, Area: 0, Offset: 7, Total: 20, Data: blob[7:]}); err != nil || !c {
		t.Fatalf("rest: %v %v", c, err)
	}
	c, _ := s.Get(1)
	checkCheckpoint(t, c, 1, [][]byte{blob}, nil, false)
}

func TestCoordinatorBlob(t *testing.T) {
	s := newStore(t, 1, Limits{})
	if _, err := s.Add(Part{Burst: 5, Area: Coordinator, Offset: 0, Total: 4, Data: []byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.PutLocal(5, 0, []byte{9}); err != nil || !c {
		t.Fatalf("area blob: %v %v", c, err)
	}
	c, _ := s.Get(5)
	checkCheckpoint(t, c, 5, [][]byte{{9}}, nil, false) // partial: not shown
	if parts, _ := s.Parts(5, 10); len(parts) != 1 {
		t.Fatalf("Parts streams a partial coordinator blob: %+v", parts)
	}
	// The rest arrives after completion and is attached.
	if c, err := s.Add(Part{Burst: 5, Area: Coordinator, Offset: 2, Total: 4, Data: []byte{3, 4}}); err != nil || c {
		t.Fatalf("coordinator rest: %v %v", c, err)
	}
	c, _ = s.Get(5)
	checkCheckpoint(t, c, 5, [][]byte{{9}}, []byte{1, 2, 3, 4}, true)
	if _, err := s.Add(Part{Burst: 5, Area: Coordinator, Offset: 3, Total: 4, Data: []byte{5}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting coordinator byte: %v", err)
	}
	// A checkpoint completed without any coordinator part takes one later.
	if _, err := s.PutLocal(6, 0, []byte{8}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutLocal(6, Coordinator, []byte{7}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(6)
	checkCheckpoint(t, c, 6, [][]byte{{8}}, []byte{7}, true)
}

func TestPutLocalKeepsBlob(t *testing.T) {
	s := newStore(t, 2, Limits{})
	blob := seq(10, 3)
	if _, err := s.Add(Part{Burst: 2, Area: 0, Offset: 4, Total: 10, Data: blob[4:6]}); err != nil {
		t.Fatal(err)
	}
	mine := bytes.Clone(blob)
	if c, err := s.PutLocal(2, 0, mine); err != nil || c {
		t.Fatalf("PutLocal: %v %v", c, err)
	}
	if c, err := s.PutLocal(2, 1, nil); err != nil || !c {
		t.Fatalf("PutLocal: %v %v", c, err)
	}
	c, _ := s.Get(2)
	if &c.Areas[0][0] != &mine[0] {
		t.Fatal("PutLocal copied the blob it was handed")
	}
	checkCheckpoint(t, c, 2, [][]byte{blob, {}}, nil, false)
	// Add copies: changing the part's bytes afterwards changes nothing.
	data := []byte{1, 2}
	if _, err := s.Add(Part{Burst: 3, Area: 0, Total: 2, Data: data}); err != nil {
		t.Fatal(err)
	}
	data[0] = 9
	if _, err := s.PutLocal(3, 1, nil); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(3)
	checkCheckpoint(t, c, 3, [][]byte{{1, 2}, {}}, nil, false)
}

func TestDropIncomplete(t *testing.T) {
	s := newStore(t, 1, Limits{})
	if _, err := s.PutLocal(2, 0, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []uint64{3, 4} {
		if _, err := s.Add(Part{Burst: b, Area: 0, Offset: 0, Total: 2, Data: []byte{1}}); err != nil {
			t.Fatal(err)
		}
	}
	s.DropIncomplete()
	if len(s.Pending()) != 0 || !slices.Equal(s.Complete(), []uint64{2}) || s.Bytes() != 2 {
		t.Fatalf("after DropIncomplete: pending %v complete %v bytes %d", s.Pending(), s.Complete(), s.Bytes())
	}
	// The second half alone no longer completes burst 3.
	if c, err := s.Add(Part{Burst: 3, Area: 0, Offset: 1, Total: 2, Data: []byte{2}}); err != nil || c {
		t.Fatalf("half of a dropped checkpoint: %v %v", c, err)
	}
}

func TestPartsNotHeld(t *testing.T) {
	s := newStore(t, 2, Limits{})
	if _, err := s.PutLocal(2, 0, []byte{1}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []uint64{1, 2} {
		if _, err := s.Parts(b, 10); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Parts(%d): %v, want ErrNotHeld", b, err)
		}
		if _, ok := s.Get(b); ok {
			t.Errorf("Get(%d) of an incomplete checkpoint", b)
		}
	}
	if _, ok := s.Latest(); ok {
		t.Error("Latest with no complete checkpoint")
	}
}

func TestNewStoreRefuses(t *testing.T) {
	cases := []struct {
		areas int
		lim   Limits
	}{
		{0, Limits{}},
		{-1, Limits{}},
		{1, Limits{MaxBlob: -1}},
		{1, Limits{MaxBlob: 1 << 33}},
		{1, Limits{Keep: -1}},
		{1, Limits{MaxPending: -1}},
		{1, Limits{MaxSpans: -1}},
	}
	for _, tc := range cases {
		if s, err := NewStore(tc.areas, tc.lim); err == nil {
			t.Errorf("NewStore(%d, %+v) = %v, want an error", tc.areas, tc.lim, s)
		}
	}
	s := newStore(t, 1, Limits{})
	want := Limits{MaxBlob: DefaultMaxBlob, Keep: DefaultKeep, MaxPending: DefaultMaxPending, MaxSpans: DefaultMaxSpans}
	if s.Limits() != want {
		t.Errorf("defaults %+v, want %+v", s.Limits(), want)
	}
}
