package pns

import (
	"errors"
	"math"
	"sync"
	"testing"
)

// testAreas: 0 a 2×2×1 area with 2 neurons per voxel, 1 a 4×1×1 area, 2 an
// area with the zero ID (never found by ID).
func testAreas() []Area {
	return []Area{
		{ID: idA, Geometry: Geometry{Dims: [3]uint32{2, 2, 1}, PerVoxel: 2}},
		{ID: idB, Geometry: Geometry{Dims: [3]uint32{4, 1, 1}, PerVoxel: 1}},
		{Geometry: Geometry{Dims: [3]uint32{1, 1, 1}, PerVoxel: 1}},
	}
}

// genomeNames resolves names as written in the genome, like
// cortical.Plan.AreaIndex would.
func genomeNames(name string) (int, bool) {
	switch name {
	case "c__lef":
		return 0, true
	case "omot00":
		return 1, true
	case "zero":
		return 2, true
	case "bogus":
		return 99, true // out of range: must not be trusted
	}
	return 0, false
}

func pts(xyzp ...float32) *Points {
	var p Points
	for i := 0; i+3 < len(xyzp); i += 4 {
		p.Append(uint32(xyzp[i]), uint32(xyzp[i+1]), uint32(xyzp[i+2]), xyzp[i+3])
	}
	return &p
}

func checkInvariant(t *testing.T, s IntakeStats) {
	t.Helper()
	if s.Received != s.Taken+s.Replaced+s.Pending+s.Dropped() {
		t.Fatalf("counters inconsistent: %+v", s)
	}
}

func TestIntakeResolve(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	for name, want := range map[string]int{"c__lef": 0, idA.String(): 0, idA.Token(): 0, "omot00": 1, idB.Token(): 1, "zero": 2} {
		if got, ok := in.Resolve(name); !ok || got != want {
			t.Errorf("Resolve(%q) = %d,%v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "nope", "bogus", ID{}.String(), ID{}.Token()} {
		if got, ok := in.Resolve(name); ok {
			t.Errorf("Resolve(%q) = %d, want unknown", name, got)
		}
	}
	if _, ok := NewIntake(testAreas(), nil, Limits{}).Resolve("c__lef"); ok {
		t.Error("genome name resolved without a resolver")
	}
}

func TestIntakeLatestWinsAndOrder(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	must(t, in.Offer("omot00", 0, pts(0, 0, 0, 1)))
	must(t, in.Offer("c__lef", 0, pts(0, 0, 0, 1)))
	must(t, in.Offer("c__lef", 0, pts(1, 1, 0, 2.5, 0, 1, 0, -3))) // replaces the first
	got := in.Take(1)
	if len(got) != 2 || got[0].Area != 0 || got[1].Area != 1 {
		t.Fatalf("Take = %+v, want areas 0 then 1", got)
	}
	// Voxel (1,1,0) of a 2×2×1 area with 2 per voxel: ((1·2+1)·1+0)·2+1 = 7;
	// voxel (0,1,0): 3.
	want := []Injection{{7, 2.5}, {3, -3}}
	if !equalInjections(got[0].Injections, want) {
		t.Errorf("area 0 injections = %v, want %v", got[0].Injections, want)
	}
	if got := in.Take(2); len(got) != 0 {
		t.Errorf("second Take = %+v, want nothing", got)
	}
	s := in.Stats()
	if s.Received != 3 || s.Replaced != 1 || s.Taken != 2 || s.Pending != 0 {
		t.Errorf("stats = %+v", s)
	}
	checkInvariant(t, s)
}

func TestIntakeDropsPoints(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	must(t, in.Offer("omot00", 0, pts(3, 0, 0, 1, 4, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 2, 0, 0, nan, 2, 0, 0, inf, 2, 0, 0, 0.25)))
	got := in.Take(1)
	want := []Injection{{3, 1}, {2, 0.25}}
	if len(got) != 1 || !equalInjections(got[0].Injections, want) {
		t.Fatalf("Take = %+v, want area 1 with %v", got, want)
	}
	if s := in.Stats(); s.PointsDropped != 6 {
		t.Errorf("PointsDropped = %d, want 6", s.PointsDropped)
	}
}

func TestIntakeBurstStamps(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	must(t, in.Offer("c__lef", 5, pts(0, 0, 0, 1)))
	must(t, in.Offer("omot00", 2, pts(0, 0, 0, 1)))
	if got := in.Take(4); len(got) != 1 || got[0].Area != 1 || got[0].Burst != 2 {
		t.Fatalf("Take(4) = %+v, want only area 1 (stamped 2, late)", got)
	}
	if got := in.Take(5); len(got) != 1 || got[0].Area != 0 || got[0].Burst != 5 {
		t.Fatalf("Take(5) = %+v, want area 0 stamped 5", got)
	}
	s := in.Stats()
	if s.Late != 1 || s.Taken != 2 || s.Pending != 0 {
		t.Errorf("stats = %+v", s)
	}
	checkInvariant(t, s)
}

func TestIntakeRejects(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{MaxPoints: 2})
	if err := in.Offer("nope", 0, pts(0, 0, 0, 1)); !errors.Is(err, ErrUnknownArea) {
		t.Errorf("unknown area: %v", err)
	}
	if err := in.OfferIndex(7, 0, pts(0, 0, 0, 1)); !errors.Is(err, ErrUnknownArea) {
		t.Errorf("index out of range: %v", err)
	}
	if err := in.Offer("c__lef", 0, &Points{X: []uint32{1}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ragged points: %v", err)
	}
	if err := in.Offer("c__lef", 0, pts(0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1)); !errors.Is(err, ErrOversized) {
		t.Errorf("3 points over a limit of 2: %v", err)
	}
	if err := in.OfferContainer([]byte("garbage")); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage container: %v", err)
	}
	in.Reject(errors.New("something"))
	s := in.Stats()
	if s.UnknownArea != 2 || s.Malformed != 3 || s.Oversized != 1 || s.Received != 6 {
		t.Errorf("stats = %+v", s)
	}
	checkInvariant(t, s)
	if got := in.Take(1); len(got) != 0 {
		t.Errorf("Take after rejects = %+v", got)
	}
}

func TestIntakeContainer(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	other := ID{'c', 'x', 'x', 'x', 'x', 'x', 'x', 'x'}
	areas := append(handAreas(), AreaPoints{ID: other, Points: *pts(0, 0, 0, 1)})
	data, err := AppendContainer(nil, ContainerHeader{}, areas)
	must(t, err)
	err = in.OfferContainer(data)
	if !errors.Is(err, ErrUnknownArea) {
		t.Errorf("container with an unknown area: err = %v, want ErrUnknownArea", err)
	}
	got := in.Take(1)
	// Area A: (1,2,3) is outside 2×2×1, (4,5,6) too: nothing injected, but
	// the frame counts. Area B: empty frame.
	if len(got) != 2 || got[0].Area != 0 || got[1].Area != 1 || len(got[0].Injections) != 0 {
		t.Fatalf("Take = %+v", got)
	}
	s := in.Stats()
	if s.Received != 3 || s.UnknownArea != 1 || s.Taken != 2 || s.PointsDropped != 2 {
		t.Errorf("stats = %+v", s)
	}
	checkInvariant(t, s)
}

// TestIntakeSteadyStateAllocs: offering and taking reuse buffers.
func TestIntakeSteadyStateAllocs(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	p := pts(0, 0, 0, 1, 1, 1, 0, 2)
	q := pts(3, 0, 0, 1)
	cycle := func() {
		_ = in.OfferIndex(0, 0, p)
		_ = in.OfferIndex(0, 0, p)
		_ = in.OfferIndex(1, 0, q)
		if len(in.Take(1)) != 2 {
			panic("want two frames")
		}
	}
	for range 3 {
		cycle()
	}
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Errorf("offer/take cycle allocates %.1f times, want 0", n)
	}
}

// TestIntakeConcurrent: concurrent offers and takes keep the counters
// consistent (run with -race).
func TestIntakeConcurrent(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	const writers, each = 4, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pts(0, 0, 0, float32(w+1))
			for i := range each {
				_ = in.OfferIndex(i%2, 0, p)
				if i%100 == 0 {
					_ = in.Offer("nope", 0, p)
				}
			}
		}()
	}
	done := make(chan struct{})
	var taken uint64
	go func() {
		defer close(done)
		for b := uint64(1); ; b++ {
			for _, f := range in.Take(b) {
				taken++
				for _, inj := range f.Injections {
					if inj.P < 1 || inj.P > writers {
						panic("corrupt injection")
					}
				}
			}
			s := in.Stats()
			if s.Received == writers*(each+each/100) {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	in.Take(math.MaxUint64)
	s := in.Stats()
	checkInvariant(t, s)
	if s.Pending != 0 || s.UnknownArea != writers*each/100 {
		t.Errorf("stats = %+v", s)
	}
}

func equalInjections(a, b []Injection) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestIntakeNames: an area is found by its name unless another area shares
// it; IDs and genome spellings win over names.
func TestIntakeNames(t *testing.T) {
	areas := testAreas()
	areas[0].Name = "Left eye"
	areas[1].Name = "same"
	areas[2].Name = "same"
	in := NewIntake(append(areas, Area{ID: ID{'c', 'x'}, Geometry: Geometry{Dims: [3]uint32{1, 1, 1}, PerVoxel: 1}, Name: "omot00"}), genomeNames, Limits{})
	if i, ok := in.Resolve("Left eye"); !ok || i != 0 {
		t.Errorf("Resolve(Left eye) = %d, %v; want 0", i, ok)
	}
	if i, ok := in.Resolve("same"); ok {
		t.Errorf("Resolve(same) = %d: a name two areas share must name neither", i)
	}
	if i, ok := in.Resolve("omot00"); !ok || i != 1 {
		t.Errorf("Resolve(omot00) = %d, %v; want 1 (the genome's ID, not area 3's name)", i, ok)
	}
	if _, ok := in.Resolve("left eye"); ok {
		t.Error("names are matched exactly")
	}
	if got := in.Areas(); len(got) != 4 || got[0].Name != "Left eye" {
		t.Errorf("Areas() = %+v", got)
	}
}

// TestIntakeReceipts: a receipt names the area, the burst the frame lands
// in (the next burst to be taken, or its stamp when later) and the points
// kept and dropped.
func TestIntakeReceipts(t *testing.T) {
	in := NewIntake(testAreas(), genomeNames, Limits{})
	r, err := in.OfferReceipt("c__lef", 0, pts(0, 0, 0, 1, 9, 9, 9, 1, 1, 1, 0, 0))
	if err != nil || r != (Receipt{Area: 0, Burst: 1, Points: 1, Dropped: 2}) {
		t.Fatalf("before any burst: %+v, %v; want area 0, burst 1, 1 point, 2 dropped", r, err)
	}
	in.Take(1)
	in.Take(2)
	if r, err := in.OfferIndexReceipt(1, 0, pts(0, 0, 0, 1)); err != nil || r.Area != 1 || r.Burst != 3 {
		t.Errorf("after burst 2: %+v, %v; want area 1 landing in burst 3", r, err)
	}
	if r, err := in.OfferReceipt("omot00", 9, pts(0, 0, 0, 1)); err != nil || r.Burst != 9 {
		t.Errorf("stamped 9: %+v, %v; want burst 9", r, err)
	}
	if r, err := in.OfferReceipt("omot00", 1, pts(0, 0, 0, 1)); err != nil || r.Burst != 3 {
		t.Errorf("stamped 1, late: %+v, %v; want burst 3", r, err)
	}
	if _, err := in.OfferReceipt("nope", 0, pts(0, 0, 0, 1)); !errors.Is(err, ErrUnknownArea) {
		t.Errorf("unknown area: %v", err)
	}
	c, err := AppendContainer(nil, ContainerHeader{}, []AreaPoints{{ID: idA, Points: *pts(0, 0, 0, 1)}, {ID: ID{'c', 'z'}, Points: *pts(0, 0, 0, 1)}, {ID: idB, Points: *pts(1, 0, 0, 1)}})
	must(t, err)
	rs, err := in.OfferContainerReceipts(c, nil)
	if !errors.Is(err, ErrUnknownArea) || len(rs) != 2 || rs[0].Area != 0 || rs[1].Area != 1 || rs[0].Burst != 3 {
		t.Errorf("container with an unknown area: %+v, %v; want receipts of areas 0 and 1 and an unknown-area error", rs, err)
	}
	checkInvariant(t, in.Stats())
}
