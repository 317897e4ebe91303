package actors

import (
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
)

func TestScheduleAndFeed(t *testing.T) {
	areas := []pns.Area{
		{ID: pns.ID{'_', '_', '_', 'd'}, Geometry: pns.Geometry{Dims: [3]uint32{1, 1, 1}, PerVoxel: 1}},
		{ID: pns.ID{'i', 'a'}, Geometry: pns.Geometry{Dims: [3]uint32{4, 2, 1}, PerVoxel: 3}},
	}
	names := func(s string) (int, bool) {
		if s == "i__a" {
			return 1, true
		}
		return 0, false
	}
	in := pns.NewIntake(areas, names, pns.DefaultLimits())
	id := areas[1].ID.String()
	src := strings.Join([]string{
		`{"burst": 2, "area": "i__a", "points": [[0,0,0,1.5],[3,1,0,2],[4,0,0,1],[1,0,0,0],[0.5,0,0,1],[-1,0,0,1],[1,1,0,1e300]]}`,
		`{"burst": 2, "area": "` + id + `", "points": [[1,0,0,0.1]]}`, // later frame wins
		`{"burst": 1, "area": "nope", "points": [[0,0,0,1]]}`,
		`not json`,
		``,
		`{"burst": 3, "area": "i__a", "points": [[2,1,0,0.30000001192092896]]}`,
		`{"burst": 0, "area": "i__a", "points": []}`,
	}, "\n")
	s, err := ReadSchedule(strings.NewReader(src), in.Resolve, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || s.BadLines != 2 || s.UnknownAreas != 1 || s.BadPoints != 2 {
		t.Fatalf("frames %d, bad lines %d, unknown %d, bad points %d; want 3, 2, 1, 2", s.Len(), s.BadLines, s.UnknownAreas, s.BadPoints)
	}
	f := s.Frames(2)
	if len(f) != 2 || f[0].Points.Len() != 5 {
		t.Fatalf("burst 2 frames %+v", f)
	}

	feed := &SensorFeed{Schedule: s, Intake: in}
	points := make([][]npu.Point, 2)
	feed.Points(1, points)
	if points[0] != nil || points[1] != nil {
		t.Fatalf("burst 1: %v", points)
	}
	feed.Points(2, points)
	// The second frame of burst 2 replaced the first: voxel (1,0,0) is
	// local ((1·2+0)·1+0)·3 + 2 = 8.
	if want := []npu.Point{{Local: 8, P: 0.1}}; len(points[1]) != 1 || points[1][0] != want[0] {
		t.Fatalf("burst 2: %v, want %v", points[1], want)
	}
	clear(points)
	feed.Points(3, points)
	// (2,1,0) → ((2·2+1)·1+0)·3 + 2 = 17; p read as float32.
	if len(points[1]) != 1 || points[1][0] != (npu.Point{Local: 17, P: float32(0.30000001192092896)}) {
		t.Fatalf("burst 3: %v", points[1])
	}
	st := in.Stats()
	if st.Replaced != 1 || st.Taken != 2 {
		t.Fatalf("intake stats %+v", st)
	}
}

// TestScheduleLineCap: a line longer than the cap is an error that names
// the file, the line and the flag that raises the cap; shorter lines pass.
func TestScheduleLineCap(t *testing.T) {
	resolve := func(string) (int, bool) { return 3, true }
	ok := `{"burst":1,"area":"x","points":[[0,0,0,1]]}` + "\n"
	long := `{"burst":2,"area":"x","points":[` + strings.Repeat("[0,0,0,1],", 40) + `[0,0,0,1]]}` + "\n"
	if _, err := ReadScheduleCapped(strings.NewReader(ok+ok), "in.jsonl", 64, "--max-input-line", resolve, nil); err != nil {
		t.Fatalf("short lines: %v", err)
	}
	_, err := ReadScheduleCapped(strings.NewReader(ok+long), "in.jsonl", 64, "--max-input-line", resolve, nil)
	if err == nil || !strings.Contains(err.Error(), "in.jsonl") || !strings.Contains(err.Error(), "--max-input-line") || !strings.Contains(err.Error(), "2") {
		t.Fatalf("long line: %v, want an error naming in.jsonl, line 2 and --max-input-line", err)
	}
}
