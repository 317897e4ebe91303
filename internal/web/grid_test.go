package web

import (
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/actors"
)

// local is npu's neuron numbering: ((x·H + y)·D + z)·n + k.
func local(a Area, x, y, z, k uint32) uint32 {
	return ((x*a.Dims[1]+y)*a.Dims[2]+z)*a.PerVoxel + k
}

func TestGridCells(t *testing.T) {
	small := Area{Dims: [3]uint32{3, 2, 4}, PerVoxel: 2}
	big := Area{Dims: [3]uint32{200, 100, 1}, PerVoxel: 1}
	act := newActivity([]Area{small, big, small}, []bool{true, true, false})
	g := act.grids
	if g[0].cw != 3 || g[0].ch != 2 || g[0].cellN != 8 || g[0].off != 0 {
		t.Fatalf("small grid %+v", g[0])
	}
	if g[1].cw != 64 || g[1].ch != 64 || g[1].off != 6 || g[1].cellN != 4*2 {
		t.Fatalf("big grid %+v", g[1])
	}
	if g[2].cw != 0 || len(act.acc) != 6+64*64 {
		t.Fatalf("unobserved area got a grid: %+v, %d cells", g[2], len(act.acc))
	}
	// Every neuron of a small area's column lands in that column's cell.
	for x := range uint32(3) {
		for y := range uint32(2) {
			for z := range uint32(4) {
				for k := range uint32(2) {
					if c := g[0].cell(local(small, x, y, z, k)); c != int(x*2+y) {
						t.Fatalf("small (%d,%d,%d,%d): cell %d, want %d", x, y, z, k, c, x*2+y)
					}
				}
			}
		}
	}
	// A big area's voxels spread over every cell, each cell taking its share.
	counts := make(map[int]int)
	for x := range uint32(200) {
		for y := range uint32(100) {
			c := g[1].cell(local(big, x, y, 0, 0))
			if c < 6 || c >= 6+64*64 {
				t.Fatalf("big (%d,%d): cell %d outside the area's cells", x, y, c)
			}
			if want := 6 + int(x*64/200)*64 + int(y*64/100); c != want {
				t.Fatalf("big (%d,%d): cell %d, want %d", x, y, c, want)
			}
			counts[c]++
		}
	}
	if len(counts) != 64*64 {
		t.Fatalf("%d cells used of %d", len(counts), 64*64)
	}
	for c, n := range counts {
		if n > int(g[1].cellN) {
			t.Fatalf("cell %d holds %d voxels, more than cell_neurons %d", c, n, g[1].cellN)
		}
	}
	// An area one voxel high shows its x-z plane.
	flat := Area{Dims: [3]uint32{4, 1, 3}, PerVoxel: 2}
	fg := newActivity([]Area{flat}, []bool{true}).grids[0]
	if fg.axes != "xz" || fg.cw != 4 || fg.ch != 3 || fg.cellN != 2 {
		t.Fatalf("flat grid %+v", fg)
	}
	for x := range uint32(4) {
		for z := range uint32(3) {
			if c := fg.cell(local(flat, x, 0, z, 1)); c != int(x*3+z) {
				t.Fatalf("flat (%d,0,%d): cell %d, want %d", x, z, c, x*3+z)
			}
		}
	}
	// Out of range indices are ignored, not counted elsewhere.
	if c := g[0].cell(3 * 2 * 4 * 2); c != -1 {
		t.Fatalf("index past the area: cell %d", c)
	}
}

// TestActivityIdle: nobody watching, the observer counts nothing.
func TestActivityIdle(t *testing.T) {
	a := newActivity([]Area{{Dims: [3]uint32{2, 2, 1}, PerVoxel: 1}}, []bool{true})
	r := &actors.BurstResult{Burst: 1, Fired: [][]uint32{{0, 3}}}
	a.observe(r)
	if a.bursts != 0 || a.acc[0] != 0 {
		t.Fatalf("counted while nobody watched: %d bursts, cells %v", a.bursts, a.acc)
	}
	a.live.Store(true)
	a.observe(r)
	if a.bursts != 1 || a.acc[0] != 1 || a.acc[3] != 1 || a.acc[1] != 0 {
		t.Fatalf("watched: %d bursts, cells %v", a.bursts, a.acc)
	}
}

// TestObserveAllocates: the observer's hook allocates nothing per burst.
func TestObserveAllocates(t *testing.T) {
	s := &Server{metrics: nil}
	s.metrics = newMetrics(s)
	areas := []Area{{ID: "a", Name: "a", Dims: [3]uint32{4, 4, 1}, PerVoxel: 1, Owner: "local"}, {ID: "b", Dims: [3]uint32{1, 1, 1}, PerVoxel: 1, Owner: "local"}}
	s.Attach(Brain{Node: "local", Areas: areas, ObservesAll: true})
	r := &actors.BurstResult{Burst: 1, Fired: [][]uint32{{0, 5, 15}, nil}}
	at := s.attached.Load()
	at.act.live.Store(true)
	if n := testing.AllocsPerRun(100, func() { s.Observe(r) }); n != 0 {
		t.Fatalf("Observe allocates %v times per burst", n)
	}
	if got := at.spikes[0].Load(); got != 3*101 {
		t.Fatalf("area a counted %d spikes, want %d", got, 3*101)
	}
	var nilServer *Server
	nilServer.Observe(r) // no --http: nothing happens
}

// BenchmarkObserve is the observer hook's cost per burst for a brain of
// 32 areas of 32×32 neurons, 16 of which fire 20 neurons: unwatched, and
// while the live view polls.
func BenchmarkObserve(b *testing.B) {
	s := &Server{}
	s.metrics = newMetrics(s)
	areas := make([]Area, 32)
	r := &actors.BurstResult{Burst: 1, Fired: make([][]uint32, 32)}
	for i := range areas {
		areas[i] = Area{ID: string(rune('a' + i)), Dims: [3]uint32{32, 32, 1}, PerVoxel: 1, Owner: "local"}
		if i%2 == 0 {
			for k := range uint32(20) {
				r.Fired[i] = append(r.Fired[i], k*50)
			}
		}
	}
	s.Attach(Brain{Node: "local", Areas: areas, ObservesAll: true})
	for _, watched := range []bool{false, true} {
		name := "unwatched"
		if watched {
			name = "watched"
		}
		b.Run(name, func(b *testing.B) {
			s.attached.Load().act.live.Store(watched)
			s.attached.Load().act.wantedNs.Store(time.Now().Add(time.Hour).UnixNano())
			for b.Loop() {
				s.Observe(r)
			}
		})
	}
}
