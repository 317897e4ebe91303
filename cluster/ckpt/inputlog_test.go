package ckpt

import (
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/npu"
	"pgregory.net/rapid"
)

func pts(locals ...uint32) []npu.Point {
	var p []npu.Point
	for _, l := range locals {
		p = append(p, npu.Point{Local: l, P: float32(l) / 2})
	}
	return p
}

func TestInputLogPutPoints(t *testing.T) {
	l := NewInputLog(0)
	in := [][]npu.Point{pts(1, 2), nil, pts(7)}
	l.Put(5, in)
	in[0][0].P = 99 // the log holds a copy
	into := make([][]npu.Point, 4)
	into[1] = pts(3) // overwritten with nil
	if !l.Points(5, into) {
		t.Fatal("burst 5 not logged")
	}
	want := [][]npu.Point{pts(1, 2), nil, pts(7), nil}
	for a := range want {
		if !slices.Equal(into[a], want[a]) || (into[a] == nil) != (want[a] == nil) {
			t.Fatalf("area %d: %v, want %v", a, into[a], want[a])
		}
	}
	if l.Len() != 1 || l.Bytes() != 3*8 {
		t.Fatalf("Len %d Bytes %d, want 1 and 24", l.Len(), l.Bytes())
	}
	if l.Points(6, into) || slices.ContainsFunc(into, func(p []npu.Point) bool { return p != nil }) {
		t.Fatalf("burst 6 (no input): %v", into)
	}
	// Fewer areas asked than logged: the rest is left out.
	short := make([][]npu.Point, 1)
	l.Points(5, short)
	if !slices.Equal(short[0], pts(1, 2)) {
		t.Fatalf("short: %v", short)
	}
	// The later Put wins; one with no points removes the burst.
	l.Put(5, [][]npu.Point{nil, pts(4, 5, 6)})
	l.Points(5, into)
	if into[0] != nil || !slices.Equal(into[1], pts(4, 5, 6)) || into[2] != nil || l.Bytes() != 24 || l.Len() != 1 {
		t.Fatalf("after a second Put: %v, Bytes %d", into, l.Bytes())
	}
	l.Put(5, [][]npu.Point{nil, {}})
	if l.Points(5, into) || l.Len() != 0 || l.Bytes() != 0 {
		t.Fatalf("after an empty Put: Len %d Bytes %d", l.Len(), l.Bytes())
	}
}

func TestInputLogPrune(t *testing.T) {
	l := NewInputLog(0)
	for b := uint64(1); b <= 6; b++ {
		l.Put(b, [][]npu.Point{pts(uint32(b))})
	}
	if !l.Replayable(0) {
		t.Fatal("nothing forgotten yet, yet not replayable from 0")
	}
	l.Prune(3)
	if l.Len() != 3 || l.Bytes() != 3*8 {
		t.Fatalf("after Prune(3): Len %d Bytes %d", l.Len(), l.Bytes())
	}
	into := make([][]npu.Point, 1)
	for b := uint64(1); b <= 6; b++ {
		if got := l.Points(b, into); got != (b > 3) {
			t.Fatalf("burst %d logged %v after Prune(3)", b, got)
		}
	}
	if l.Replayable(2) || !l.Replayable(3) || !l.Replayable(6) {
		t.Fatal("Replayable wrong after Prune(3)")
	}
	l.Put(2, [][]npu.Point{pts(1)}) // late: ignored
	if l.Len() != 3 || l.Points(2, into) {
		t.Fatal("a pruned burst came back")
	}
	l.Prune(^uint64(0))
	if l.Len() != 0 || l.Bytes() != 0 {
		t.Fatalf("after pruning everything: Len %d Bytes %d", l.Len(), l.Bytes())
	}
}

func TestInputLogBound(t *testing.T) {
	l := NewInputLog(5 * 8) // five points
	l.Put(1, [][]npu.Point{pts(1, 2)})
	l.Put(3, [][]npu.Point{pts(3, 4)})
	l.Put(2, [][]npu.Point{nil, pts(5)})
	if l.Len() != 3 || !l.Replayable(0) {
		t.Fatalf("at the bound: Len %d", l.Len())
	}
	l.Put(4, [][]npu.Point{pts(6)})
	into := make([][]npu.Point, 2)
	if l.Points(1, into) || !l.Points(2, into) || l.Bytes() != 4*8 {
		t.Fatalf("over the bound: burst 1 kept or 2 lost, Bytes %d", l.Bytes())
	}
	if l.Replayable(0) || !l.Replayable(1) {
		t.Fatal("Replayable does not tell burst 1 was forgotten")
	}
	// A burst larger than the whole bound cannot be kept, and says so.
	l.Put(5, [][]npu.Point{pts(1, 2, 3, 4, 5, 6)})
	if l.Replayable(4) || !l.Replayable(5) || l.Len() != 0 || l.Bytes() != 0 {
		t.Fatalf("oversized burst: Len %d Bytes %d", l.Len(), l.Bytes())
	}
}

// Random Puts and Prunes against a map: the log returns what the map holds
// for every burst not forgotten, and never more bytes than its bound.
func TestInputLogModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxPoints := rapid.IntRange(1, 20).Draw(t, "maxPoints")
		l := NewInputLog(maxPoints * 8)
		model := map[uint64][][]npu.Point{}
		gone := uint64(0)
		for range rapid.IntRange(1, 40).Draw(t, "ops") {
			b := rapid.Uint64Range(1, 30).Draw(t, "burst")
			if rapid.IntRange(0, 4).Draw(t, "op") == 0 {
				l.Prune(b)
				gone = max(gone, b)
				for k := range model {
					if k <= b {
						delete(model, k)
					}
				}
			} else {
				areas := rapid.IntRange(0, 3).Draw(t, "areas")
				in := make([][]npu.Point, areas)
				for a := range in {
					for range rapid.IntRange(0, 4).Draw(t, "n") {
						in[a] = append(in[a], npu.Point{Local: rapid.Uint32().Draw(t, "local"), P: rapid.Float32Range(-10, 10).Draw(t, "p")})
					}
				}
				l.Put(b, in)
				if b > gone {
					delete(model, b)
					n := 0
					for _, p := range in {
						n += len(p)
					}
					if n > 0 {
						model[b] = in
					}
				}
				// Evict oldest from the model while over the bound.
				for {
					n, oldest := 0, uint64(0)
					for k, v := range model {
						for _, p := range v {
							n += len(p)
						}
						if oldest == 0 || k < oldest {
							oldest = k
						}
					}
					if n <= maxPoints {
						break
					}
					delete(model, oldest)
					gone = max(gone, oldest)
				}
			}
			if l.Bytes() > maxPoints*8 || l.Len() != len(model) {
				t.Fatalf("Bytes %d (bound %d) Len %d, model %d bursts", l.Bytes(), maxPoints*8, l.Len(), len(model))
			}
			into := make([][]npu.Point, 3)
			for k := uint64(1); k <= 30; k++ {
				ok := l.Points(k, into)
				want, in := model[k]
				if ok != in {
					t.Fatalf("burst %d logged %v, model %v", k, ok, in)
				}
				for a := range into {
					var w []npu.Point
					if a < len(want) {
						w = want[a]
					}
					if !slices.Equal(into[a], w) {
						t.Fatalf("burst %d area %d: %v, want %v", k, a, into[a], w)
					}
				}
				if l.Replayable(k) != (k >= gone) {
					t.Fatalf("Replayable(%d) = %v, forgotten up to %d", k, l.Replayable(k), gone)
				}
			}
		}
	})
}
