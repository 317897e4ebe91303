package actors

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"

	"github.com/spikemesh/spikemesh/internal/capread"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
)

// Schedule is a burst-stamped sensor schedule read from JSON lines
// {"burst": n, "area": "<id>", "points": [[x, y, z, p], ...]} (the --inputs
// file of node run). Frames keep file order within a burst.
type Schedule struct {
	frames []ScheduledFrame // sorted by burst, file order within a burst
	// Problems counts what was dropped while reading: lines that are not a
	// frame, frames of unknown areas, points with a negative or non-integral
	// coordinate. Points outside their area or with p = 0 or non-finite are
	// dropped later, when resolved (pns.Intake).
	BadLines, UnknownAreas, BadPoints int
}

// ScheduledFrame is one line of a schedule, its area resolved.
type ScheduledFrame struct {
	Burst  npu.Burst
	Area   int
	Points pns.Points
}

type scheduleLine struct {
	Burst  *uint64      `json:"burst"`
	Area   *string      `json:"area"`
	Points [][]*float64 `json:"points"`
}

// ReadSchedule reads a schedule. resolve names areas (canonical base64 ID,
// token, or as written in the genome; pns.Intake.Resolve does all three).
// Bad lines, unknown areas and unusable points are dropped with one warning
// per kind (docs/semantics.md §6.1, §6.3), never an error; only a read error is.
func ReadSchedule(r io.Reader, resolve func(string) (int, bool), log *slog.Logger) (*Schedule, error) {
	return ReadScheduleCapped(r, "inputs", 256<<20, "", resolve, log)
}

// ReadScheduleCapped is ReadSchedule with lines of at most maxLine bytes: a
// longer line is an error naming name, the line, the cap and flag (the
// flag that raises it).
func ReadScheduleCapped(r io.Reader, name string, maxLine int, flag string, resolve func(string) (int, bool), log *slog.Logger) (*Schedule, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Schedule{}
	sc := capread.NewLines(r, name, maxLine, flag)
	warned := map[string]bool{}
	warn := func(kind string, args ...any) {
		if !warned[kind] {
			warned[kind] = true
			log.Warn("inputs: "+kind+" dropped (warned once)", args...)
		}
	}
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		var l scheduleLine
		if err := json.Unmarshal(line, &l); err != nil || l.Burst == nil || l.Area == nil || *l.Burst == 0 {
			s.BadLines++
			if err == nil {
				err = fmt.Errorf("want burst ≥ 1, area and points")
			}
			warn("line that is not a frame", "line", lineNo, "err", err)
			continue
		}
		area, ok := resolve(*l.Area)
		if !ok {
			s.UnknownAreas++
			warn("frame of an unknown area", "line", lineNo, "area", *l.Area)
			continue
		}
		f := ScheduledFrame{Burst: *l.Burst, Area: area}
		for _, p := range l.Points {
			x, y, z, v, ok := schedulePoint(p)
			if !ok {
				s.BadPoints++
				warn("point that is not [x, y, z, p] with integral x, y, z ≥ 0", "line", lineNo, "point", fmt.Sprint(deref(p)))
				continue
			}
			f.Points.Append(x, y, z, v)
		}
		s.frames = append(s.frames, f)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(s.frames, func(i, j int) bool { return s.frames[i].Burst < s.frames[j].Burst })
	return s, nil
}

// schedulePoint checks one [x, y, z, p]: coordinates integral and within
// uint32, p rounded to float32 (E6). p = 0, non-finite p and voxels outside
// the area are left to the intake, which drops and counts them.
func schedulePoint(p []*float64) (x, y, z uint32, v float32, ok bool) {
	if len(p) != 4 || p[0] == nil || p[1] == nil || p[2] == nil || p[3] == nil {
		return 0, 0, 0, 0, false
	}
	var c [3]uint32
	for i := range 3 {
		f := *p[i]
		if f != math.Trunc(f) || f < 0 || f > math.MaxUint32 {
			return 0, 0, 0, 0, false
		}
		c[i] = uint32(f)
	}
	return c[0], c[1], c[2], float32(*p[3]), true
}

func deref(p []*float64) []any {
	out := make([]any, len(p))
	for i, v := range p {
		if v != nil {
			out[i] = *v
		}
	}
	return out
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Frames returns the frames of burst, in file order.
func (s *Schedule) Frames(burst npu.Burst) []ScheduledFrame {
	if s == nil {
		return nil
	}
	i := sort.Search(len(s.frames), func(i int) bool { return s.frames[i].Burst >= burst })
	j := i
	for j < len(s.frames) && s.frames[j].Burst == burst {
		j++
	}
	return s.frames[i:j]
}

// Len is the number of frames.
func (s *Schedule) Len() int { return len(s.frames) }

// SensorFeed is the Sensors of node run, for both runners: at each burst it
// offers the schedule's frames of that burst to a pns.Intake, which may also
// hold frames that arrived live over NATS, then takes the burst's frames.
// Every point, scheduled or live, is thus resolved to a neuron by the same
// function (pns.Intake: highest-index neuron of the voxel, points outside
// the area and p = 0 or non-finite dropped; docs/semantics.md §6.1), and the latest frame
// per area wins: a scheduled frame is offered at the start of its burst, so
// it replaces a live frame of the same area that arrived before.
type SensorFeed struct {
	Schedule *Schedule   // may be nil
	Intake   *pns.Intake // required
	bufs     [][]npu.Point
}

// Points implements Sensors.
func (f *SensorFeed) Points(burst npu.Burst, points [][]npu.Point) {
	for _, fr := range f.Schedule.Frames(burst) {
		_ = f.Intake.OfferIndex(fr.Area, burst, &fr.Points) // rejections are counted by the intake
	}
	if len(f.bufs) != len(points) {
		f.bufs = make([][]npu.Point, len(points))
	}
	for _, af := range f.Intake.Take(burst) {
		if af.Area < 0 || af.Area >= len(points) {
			continue
		}
		b := f.bufs[af.Area][:0]
		for _, in := range af.Injections {
			b = append(b, npu.Point{Local: in.Local, P: in.P})
		}
		f.bufs[af.Area] = b
		points[af.Area] = b
	}
}
