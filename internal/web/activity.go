package web

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spikemesh/spikemesh/actors"
)

// Activity frames: while someone watches (GET /v1/activity in the last
// few seconds), the observer adds every fired neuron to a count per cell
// of a 2-D grid per area (the area's x by y columns, summed over z and the
// neurons of a voxel; x by z for an area one voxel high; at most gridMax
// cells a side); each request hands
// out the counts of the last frame (at least frameEvery long) and starts
// the next. Nobody watching, the observer does one atomic load per burst.
const (
	gridMax    = 64
	frameEvery = 200 * time.Millisecond
	idleAfter  = 5 * time.Second
)

// grid maps an area's local neuron indices to cells.
type grid struct {
	w, h   uint32 // voxels
	cw, ch uint32 // cells
	column uint32 // neurons per (x, y) column: depth × neurons per voxel
	off    int    // first cell in activity.acc
	cellN  uint32 // neurons per cell (the largest)
	axes   string // the plane shown: "xy", or "xz" for an area one voxel high
}

func (g *grid) cell(local uint32) int {
	c := local / g.column
	x, y := c/g.h, c%g.h
	if x >= g.w {
		return -1
	}
	return g.off + int(uint64(x)*uint64(g.cw)/uint64(g.w)*uint64(g.ch)+uint64(y)*uint64(g.ch)/uint64(g.h))
}

type activity struct {
	grids    []grid // by area index; cw == 0 for areas not shown
	live     atomic.Bool
	wantedNs atomic.Int64

	mu     sync.Mutex // guards acc, bursts, last
	acc    []uint32
	bursts uint64

	frameMu sync.Mutex // guards the published frame
	frame   Activity
	cells   []uint32
	frameAt time.Time
	checks  uint64 // observer's bursts since the last idle check (under mu)
}

func newActivity(areas []Area, observed []bool) *activity {
	a := &activity{grids: make([]grid, len(areas))}
	n := 0
	for i, ar := range areas {
		w, h, d := ar.Dims[0], ar.Dims[1], ar.Dims[2]
		if !observed[i] || w == 0 || h == 0 || d == 0 || ar.PerVoxel == 0 {
			continue
		}
		g := grid{w: w, h: h, cw: min(w, gridMax), ch: min(h, gridMax), column: d * ar.PerVoxel, off: n, axes: "xy"}
		if h == 1 && d > 1 {
			// A flat area standing on its x-z plane shows that plane.
			g.h, g.ch, g.column, g.axes = d, min(d, gridMax), ar.PerVoxel, "xz"
			h = d
		}
		g.cellN = ((w + g.cw - 1) / g.cw) * ((h + g.ch - 1) / g.ch) * g.column
		a.grids[i] = g
		n += int(g.cw * g.ch)
	}
	a.acc = make([]uint32, n)
	a.cells = make([]uint32, n)
	return a
}

// observe adds one burst while someone watches.
func (a *activity) observe(r *actors.BurstResult) {
	if !a.live.Load() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bursts++
	n := min(len(r.Fired), len(a.grids))
	for i := 0; i < n; i++ {
		g := &a.grids[i]
		if g.cw == 0 {
			continue
		}
		for _, l := range r.Fired[i] {
			if c := g.cell(l); c >= 0 {
				a.acc[c]++
			}
		}
	}
	if a.checks++; a.checks >= 64 {
		a.checks = 0
		if time.Since(time.Unix(0, a.wantedNs.Load())) > idleAfter {
			a.live.Store(false)
		}
	}
}

// Activity is the answer of GET /v1/activity: per area, how often the
// neurons of each cell fired during the last frame.
type Activity struct {
	// Burst is the last burst the node saw complete; Bursts the bursts the
	// frame counts, over Seconds.
	Burst   uint64         `json:"burst"`
	Bursts  uint64         `json:"bursts"`
	Seconds float64        `json:"seconds"`
	Areas   []AreaActivity `json:"areas"`
}

// AreaActivity is one area's grid: W×H cells, x major (cell x*H+y), each
// the fires of up to CellNeurons neurons. Axes names the plane: "xy", or
// "xz" for an area one voxel high (H then counts z).
type AreaActivity struct {
	Index       int      `json:"index"`
	Axes        string   `json:"axes"`
	W           uint32   `json:"w"`
	H           uint32   `json:"h"`
	CellNeurons uint32   `json:"cell_neurons"`
	Cells       []uint32 `json:"cells"`
}

// take returns the latest frame, starting a new one when it is old enough.
// The caller holds frameMu until it is done with the frame's cells.
func (a *activity) take(now time.Time, burst uint64) Activity {
	a.wantedNs.Store(now.UnixNano())
	if !a.live.Load() {
		// Watching starts: the first answer is an empty frame.
		a.mu.Lock()
		clear(a.acc)
		a.bursts = 0
		a.mu.Unlock()
		a.frameAt = now
		a.live.Store(true)
		a.publish(burst, 0, 0)
	} else if now.Sub(a.frameAt) >= frameEvery {
		a.mu.Lock()
		copy(a.cells, a.acc)
		clear(a.acc)
		bursts := a.bursts
		a.bursts = 0
		a.mu.Unlock()
		a.publish(burst, bursts, now.Sub(a.frameAt).Seconds())
		a.frameAt = now
	}
	return a.frame
}

// publish builds the frame from a.cells; under frameMu.
func (a *activity) publish(burst, bursts uint64, secs float64) {
	f := Activity{Burst: burst, Bursts: bursts, Seconds: secs, Areas: a.frame.Areas[:0]}
	for i := range a.grids {
		g := &a.grids[i]
		if g.cw == 0 {
			continue
		}
		cells := a.cells[g.off : g.off+int(g.cw*g.ch)]
		if bursts == 0 {
			clear(cells)
		}
		f.Areas = append(f.Areas, AreaActivity{Index: i, Axes: g.axes, W: g.cw, H: g.ch, CellNeurons: g.cellN, Cells: cells})
	}
	a.frame = f
}

func (s *Server) getActivity(w http.ResponseWriter, r *http.Request) {
	at := s.attached.Load()
	if at == nil {
		_, why := s.getPhase()
		writeError(w, http.StatusServiceUnavailable, "the brain is not grown yet: "+why)
		return
	}
	at.act.frameMu.Lock()
	defer at.act.frameMu.Unlock()
	writeJSON(w, http.StatusOK, at.act.take(time.Now(), s.metrics.last.Load()))
}
