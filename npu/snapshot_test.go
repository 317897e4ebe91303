package npu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// Snapshot after k bursts, restore into a fresh brain, and both continue
// identically (state, plasticity ledgers and burst counter included).
func TestSnapshotRoundTrip(t *testing.T) {
	layouts := map[bool]int{} // int8 engines by packed
	defer func() {
		if layouts[true] == 0 || layouts[false] == 0 {
			t.Errorf("int8 layouts covered: %v, want both packed and not", layouts)
		}
	}()
	for _, prec := range precisions {
		for seed := uint64(1); seed <= 10; seed++ {
			areas, conns := randomBrain(seed, seed == 1)
			a := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{Workers: 2})
			rng := rand.New(rand.NewPCG(seed, 1))
			var sched [][][]Point
			for range 50 {
				sched = append(sched, randomPoints(rng, areas))
			}
			for b := 0; b < 20; b++ {
				a.Step(sched[b])
			}
			b := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{})
			for i, e := range a.Engines() {
				if prec == quant.INT8 {
					layouts[e.(*AreaEngine).i8.packed]++
				}
				snap, err := e.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if err := b.Engine(i).Restore(snap); err != nil {
					t.Fatalf("%v seed %d area %d: %v", prec, seed, i, err)
				}
				again, _ := b.Engine(i).Snapshot()
				if !bytes.Equal(snap, again) {
					t.Fatalf("%v seed %d area %d: snapshot of the restored engine differs", prec, seed, i)
				}
				b.prev[i].Fired = append(b.prev[i].Fired[:0], a.prev[i].Fired...)
				b.prev[i].Potentials = append(b.prev[i].Potentials[:0], a.prev[i].Potentials...)
			}
			b.burst = a.burst
			for k := 20; k < 50; k++ {
				oa, ob := a.Step(sched[k]), b.Step(sched[k])
				for i := range oa {
					if !slices.Equal(oa[i].Fired, ob[i].Fired) || !slices.Equal(bits32(oa[i].Potentials), bits32(ob[i].Potentials)) {
						t.Fatalf("%v seed %d burst %d area %d: restored run diverges", prec, seed, k+1, i)
					}
				}
			}
		}
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	areas, conns := randomBrain(3, false)
	r := mustRunner(t, areas, conns, quant.INT8, RunnerOptions{})
	rng := rand.New(rand.NewPCG(3, 3))
	for range 10 {
		r.Step(randomPoints(rng, areas))
	}
	snap, _ := r.Engine(4).Snapshot()
	e := r.Engine(4)
	for _, n := range []int{0, 1, 10, len(snap) / 2, len(snap) - 1} {
		if err := e.Restore(snap[:n]); !errors.Is(err, ErrSnapshot) {
			t.Errorf("truncated to %d bytes: %v", n, err)
		}
	}
	for i := 0; i < len(snap); i += 7 {
		bad := slices.Clone(snap)
		bad[i] ^= 0x40
		if err := e.Restore(bad); !errors.Is(err, ErrSnapshot) {
			t.Errorf("flipped byte %d: %v", i, err)
		}
	}
	if err := r.Engine(3).Restore(snap); err == nil {
		t.Error("snapshot of area 4 restored into area 3")
	}
	if err := e.Restore(snap); err != nil {
		t.Errorf("the intact snapshot: %v", err)
	}
}

func FuzzRestore(f *testing.F) {
	for _, prec := range precisions {
		areas, conns := randomBrain(2, false)
		r, err := NewRunner(areas, conns, prec, RunnerOptions{})
		if err != nil {
			f.Fatal(err)
		}
		for range 5 {
			r.Step(nil)
		}
		for _, e := range r.Engines() {
			s, _ := e.Snapshot()
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := RestoreEngine(data, Options{})
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error does not wrap ErrSnapshot: %v", err)
			}
			return
		}
		// A snapshot that restores can be stepped and re-snapshotted exactly.
		again, err := e.Snapshot()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-snapshot differs (%v)", err)
		}
		e.Step(e.burst+1, nil)
	})
}

// FuzzRestoreBody fixes up the checksum of the fuzzed bytes, so the decoder
// and the plan validation behind it see arbitrary content: never a panic.
func FuzzRestoreBody(f *testing.F) {
	for _, prec := range precisions {
		areas, conns := randomBrain(4, false)
		r, err := NewRunner(areas, conns, prec, RunnerOptions{})
		if err != nil {
			f.Fatal(err)
		}
		for range 4 {
			r.Step(nil)
		}
		for _, e := range r.Engines() {
			s, _ := e.Snapshot()
			f.Add(s[:len(s)-4])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
		e, err := RestoreEngine(data, Options{Workers: 2})
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error does not wrap ErrSnapshot: %v", err)
			}
			return
		}
		defer e.Close()
		e.Step(e.burst+1, &Input{Points: []Point{{0, 1}}})
	})
}
