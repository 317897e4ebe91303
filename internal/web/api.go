package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// Rate limits of POST /v1/rate and node ctl rate, in bursts per second.
const (
	MinRate = 0.001
	MaxRate = 1e6
)

// controlTimeout bounds one control request to the coordinator.
const controlTimeout = 5 * time.Second

// BrainInfo is the answer of GET /v1/brain.
type BrainInfo struct {
	State       string   `json:"state"` // growing, joining, starting, running, paused, stopped
	Ready       bool     `json:"ready"`
	Reason      string   `json:"reason,omitempty"` // why not ready
	Genome      string   `json:"genome,omitempty"`
	GenomeID    string   `json:"genome_id,omitempty"`
	Title       string   `json:"title,omitempty"`
	Precision   string   `json:"precision,omitempty"`
	Seed        uint64   `json:"seed,omitempty"`
	Runner      string   `json:"runner,omitempty"`
	Node        string   `json:"node,omitempty"`
	Coordinator string   `json:"coordinator,omitempty"`
	Nodes       []string `json:"nodes,omitempty"`
	Epoch       uint64   `json:"epoch,omitempty"`
	Areas       int      `json:"areas"`
	Neurons     int64    `json:"neurons"`
	Synapses    int64    `json:"synapses"`
	// Burst is the last burst this node saw complete; BurstsPerSecond is
	// measured over the last seconds.
	Burst           uint64  `json:"burst"`
	BurstsPerSecond float64 `json:"bursts_per_second"`
	// RateHz is the pacing asked for (absent when free or unknown here),
	// Free whether the brain runs unpaced (absent when unknown here).
	RateHz *float64 `json:"rate_hz,omitempty"`
	Free   *bool    `json:"free,omitempty"`
	Paused bool     `json:"paused"`
}

func (s *Server) getBrain(w http.ResponseWriter, r *http.Request) {
	ready, why := s.ready()
	p, _ := s.getPhase()
	info := BrainInfo{State: string(p), Ready: ready, Reason: why, Burst: s.metrics.last.Load()}
	if at := s.attached.Load(); at != nil {
		b := &at.brain
		info.Genome, info.GenomeID, info.Title, info.Precision, info.Seed = b.Genome, b.GenomeID, b.Title, b.Precision, b.Seed
		info.Runner, info.Node, info.Coordinator, info.Nodes, info.Epoch = b.Runner, b.Node, b.Coordinator, b.Nodes, b.Epoch
		info.Areas, info.Neurons, info.Synapses = len(b.Areas), b.Neurons, b.Synapses
		rates := s.win.rates(at, s.metrics.bursts.Load(), time.Now())
		info.BurstsPerSecond = rates.burstsPerSecond()
		if b.Source != nil {
			info.Paused = b.Source.Paused()
			if p == PhaseRunning && info.Paused {
				info.State = "paused"
			}
			if d, ok := b.Source.Interval(); ok {
				free := d <= 0
				info.Free = &free
				if !free {
					// The interval is whole nanoseconds: 6 significant
					// digits give back the rate asked for.
					hz, _ := strconv.ParseFloat(strconv.FormatFloat(float64(time.Second)/float64(d), 'g', 6, 64), 64)
					info.RateHz = &hz
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, info)
}

// AreaInfo is one area of GET /v1/areas.
type AreaInfo struct {
	Area
	// Observed says that this node sees the area's firing (on a cluster
	// node that does not record, only its own areas).
	Observed    bool   `json:"observed"`
	SpikesTotal uint64 `json:"spikes_total"`
	// SpikesPerSecond and FiringRate (spikes per neuron per burst, 0 to 1)
	// are measured over the last seconds.
	SpikesPerSecond float64 `json:"spikes_per_second"`
	FiringRate      float64 `json:"firing_rate"`
}

// AreasInfo is the answer of GET /v1/areas.
type AreasInfo struct {
	Burst           uint64     `json:"burst"`
	BurstsPerSecond float64    `json:"bursts_per_second"`
	WindowSeconds   float64    `json:"window_seconds"` // what the recent rates are measured over
	Areas           []AreaInfo `json:"areas"`
}

func (s *Server) getAreas(w http.ResponseWriter, r *http.Request) {
	at := s.attached.Load()
	if at == nil {
		_, why := s.getPhase()
		writeError(w, http.StatusServiceUnavailable, "the brain is not grown yet: "+why)
		return
	}
	rates := s.win.rates(at, s.metrics.bursts.Load(), time.Now())
	out := AreasInfo{Burst: s.metrics.last.Load(), BurstsPerSecond: rates.burstsPerSecond(), WindowSeconds: rates.dt,
		Areas: make([]AreaInfo, len(at.brain.Areas))}
	for i, a := range at.brain.Areas {
		ai := AreaInfo{Area: a, Observed: at.observed[i], SpikesTotal: at.spikes[i].Load()}
		if rates.dt > 0 {
			ai.SpikesPerSecond = float64(rates.spikes[i]) / rates.dt
		}
		if rates.bursts > 0 && a.Neurons > 0 {
			ai.FiringRate = float64(rates.spikes[i]) / float64(rates.bursts) / float64(a.Neurons)
		}
		out.Areas[i] = ai
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getStats(w http.ResponseWriter, r *http.Request) {
	s.control(w, r, &brainv1.Control{Command: &brainv1.Control_Stats{Stats: &brainv1.StatsRequest{}}})
}

func (s *Server) postPause(w http.ResponseWriter, r *http.Request) {
	if !emptyBody(w, r) {
		return
	}
	s.control(w, r, &brainv1.Control{Command: &brainv1.Control_Pause{Pause: &brainv1.Pause{}}})
}

func (s *Server) postResume(w http.ResponseWriter, r *http.Request) {
	if !emptyBody(w, r) {
		return
	}
	s.control(w, r, &brainv1.Control{Command: &brainv1.Control_Resume{Resume: &brainv1.Resume{}}})
}

// RateRequest is the body of POST /v1/rate: {"hz": N} or {"free": true}.
type RateRequest struct {
	Hz   *float64 `json:"hz,omitempty"`
	Free *bool    `json:"free,omitempty"`
}

// Control turns the request into a control message, or says what is wrong
// with it.
func (q RateRequest) Control() (*brainv1.Control, error) {
	switch {
	case q.Hz != nil && q.Free != nil:
		return nil, errors.New(`give "hz" or "free", not both`)
	case q.Free != nil:
		if !*q.Free {
			return nil, errors.New(`"free" must be true (to pace the brain, give "hz")`)
		}
		return &brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Free: true}}}, nil
	case q.Hz != nil:
		if err := CheckRate(*q.Hz); err != nil {
			return nil, err
		}
		return &brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Hz: *q.Hz}}}, nil
	}
	return nil, errors.New(`give {"hz": N} (bursts per second) or {"free": true}`)
}

// CheckRate checks a burst rate asked for at run time.
func CheckRate(hz float64) error {
	if math.IsNaN(hz) || hz < MinRate || hz > MaxRate {
		return fmt.Errorf("hz: want %g to %g bursts per second, got %v", MinRate, MaxRate, hz)
	}
	return nil
}

func (s *Server) postRate(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json", ct))
			return
		}
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	c, err := ParseRate(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.control(w, r, c)
}

// ParseRate reads the body of POST /v1/rate, {"hz": N} or {"free": true},
// into a control request, or says what is wrong with it.
func ParseRate(body []byte) (*brainv1.Control, error) {
	var q RateRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return nil, fmt.Errorf("body: want JSON {\"hz\": N} or {\"free\": true}: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("body: one JSON object only")
	}
	return q.Control()
}

// maxBody bounds a request body.
const maxBody = 4 << 10

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", maxBody))
		} else {
			writeError(w, http.StatusBadRequest, "body: "+err.Error())
		}
		return nil, false
	}
	return data, true
}

// emptyBody accepts no body, or an empty JSON object.
func emptyBody(w http.ResponseWriter, r *http.Request) bool {
	data, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(data) == 0 {
		return true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || len(m) > 0 {
		writeError(w, http.StatusBadRequest, "body: want none, or {}")
		return false
	}
	return true
}

// control sends c to the coordinator and answers with its stats.
func (s *Server) control(w http.ResponseWriter, r *http.Request, c *brainv1.Control) {
	at := s.attached.Load()
	if at == nil || at.brain.Source == nil {
		_, why := s.getPhase()
		writeError(w, http.StatusServiceUnavailable, "the brain is not running yet: "+why)
		return
	}
	if p, _ := s.getPhase(); p == PhaseStopped {
		writeError(w, http.StatusServiceUnavailable, "the run has ended")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	st, err := Apply(ctx, at.brain.Source.Control, c)
	switch {
	case errors.Is(err, ErrNoControl):
		writeError(w, http.StatusConflict, err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the coordinator (node %s) did not answer: %v", at.brain.Coordinator, err))
	default:
		writeJSON(w, http.StatusOK, StatsFromProto(st))
	}
}

// Apply sends c with do and returns the answer. A pause or resume takes
// effect at the next burst boundary, so Apply asks for the stats again
// (for up to a second) until they show it, so that the answer does.
func Apply(ctx context.Context, do func(context.Context, *brainv1.Control) (*brainv1.Stats, error), c *brainv1.Control) (*brainv1.Stats, error) {
	st, err := do(ctx, c)
	if err != nil {
		return nil, err
	}
	var want bool
	switch c.Command.(type) {
	case *brainv1.Control_Pause:
		want = true
	case *brainv1.Control_Resume:
		want = false
	default:
		return st, nil
	}
	deadline := time.Now().Add(time.Second)
	ask := &brainv1.Control{Command: &brainv1.Control_Stats{Stats: &brainv1.StatsRequest{}}}
	for st.GetPaused() != want && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(10 * time.Millisecond):
		}
		next, err := do(ctx, ask)
		if err != nil {
			return st, nil
		}
		st = next
	}
	return st, nil
}

// window measures recent rates: the differences between now and a
// snapshot of the counters one to two seconds old.
type window struct {
	mu       sync.Mutex
	old, mid snapshot
}

type snapshot struct {
	t      time.Time
	bursts uint64
	spikes []uint64
}

// rates are counts over a window of dt seconds.
type rates struct {
	dt     float64
	bursts uint64
	spikes []uint64
}

func (r rates) burstsPerSecond() float64 {
	if r.dt <= 0 {
		return 0
	}
	return float64(r.bursts) / r.dt
}

func take(at *attached, bursts uint64, now time.Time) snapshot {
	s := snapshot{t: now, bursts: bursts, spikes: make([]uint64, len(at.spikes))}
	for i := range at.spikes {
		s.spikes[i] = at.spikes[i].Load()
	}
	return s
}

func (w *window) reset(at *attached, bursts uint64, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.old = take(at, bursts, now)
	w.mid = w.old
}

func (w *window) rates(at *attached, bursts uint64, now time.Time) rates {
	cur := take(at, bursts, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.old.spikes) != len(cur.spikes) {
		w.old, w.mid = cur, cur
	}
	if now.Sub(w.mid.t) >= time.Second {
		w.old, w.mid = w.mid, cur
	}
	out := rates{dt: now.Sub(w.old.t).Seconds(), bursts: cur.bursts - w.old.bursts, spikes: make([]uint64, len(cur.spikes))}
	for i := range cur.spikes {
		out.spikes[i] = cur.spikes[i] - w.old.spikes[i]
	}
	return out
}
