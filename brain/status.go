package brain

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
)

// statusUI prints growth progress, the live status line (terminal) or
// periodic log lines, and the summary.
type statusUI struct {
	console *Console
	live    bool // status line on the terminal
	quiet   bool
	log     *slog.Logger

	growMu   sync.Mutex // growth progress comes from growth's goroutine
	growLast time.Time
	growOff  bool // growth was abandoned: draw no more progress

	last       time.Time // last status output
	lastBursts uint64
	lastSpikes uint64
	spikes     uint64
}

func newStatusUI(c *Console, quiet bool, log *slog.Logger) *statusUI {
	return &statusUI{console: c, live: c.Terminal() && !quiet, quiet: quiet, log: log}
}

// growth is cortical.Options.Progress.
func (u *statusUI) growth(done, total int, synapses int64) {
	if !u.live {
		return
	}
	u.growMu.Lock()
	defer u.growMu.Unlock()
	if u.growOff {
		return
	}
	if now := time.Now(); done == total || now.Sub(u.growLast) >= 100*time.Millisecond {
		u.growLast = now
		u.console.Status(fmt.Sprintf("growing: %d/%d areas, %d synapses", done, total, synapses))
	}
}

// growthEnded stops growth progress (growth finished or was abandoned).
func (u *statusUI) growthEnded() {
	u.growMu.Lock()
	u.growOff = true
	u.growMu.Unlock()
	u.console.EndStatus()
}

func (u *statusUI) grown(name string, plan *cortical.Plan, took time.Duration) {
	areas, neurons, synapses := plan.Totals()
	u.log.Info("brain grown", "genome", name, "id", plan.Genome.ID, "areas", areas, "neurons", neurons, "synapses", synapses,
		"precision", plan.Precision.String(), "took", took.Round(time.Millisecond))
	u.last = time.Now()
}

// status is called after every burst.
func (u *statusUI) status(plan *cortical.Plan, s *actors.Stats, r *actors.BurstResult) {
	u.spikes += uint64(r.Spikes)
	if u.quiet {
		return
	}
	every := 10 * time.Second
	if u.live {
		every = 250 * time.Millisecond
	}
	now := time.Now()
	dt := now.Sub(u.last)
	if dt < every {
		return
	}
	bps := float64(s.Bursts-u.lastBursts) / dt.Seconds()
	sps := float64(u.spikes-u.lastSpikes) / dt.Seconds()
	u.last, u.lastBursts, u.lastSpikes = now, s.Bursts, u.spikes
	slowest := "-"
	if r.Slowest >= 0 {
		slowest = fmt.Sprintf("%s (%v)", areaLabel(plan, r.Slowest), r.SlowestStep.Round(time.Microsecond))
	}
	if u.live {
		u.console.Status(fmt.Sprintf("burst %d  %.1f bursts/s  %.0f spikes/s  slowest area %s", r.Burst, bps, sps, slowest))
		return
	}
	u.log.Info("running", "burst", r.Burst, "bursts_per_s", round1(bps), "spikes_per_s", round1(sps), "slowest_area", slowest)
}

func (u *statusUI) done(plan *cortical.Plan, s *Summary) {
	u.console.EndStatus()
	var parts []string
	for i, n := range s.Spikes {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", areaLabel(plan, i), n))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(u.console, "summary: %d bursts in %v (%.1f bursts/s once running, after %v of start-up), burst time p50 %v p99 %v, dropped: %d spike batches, %d sensor frames, %d sensor points\nspikes per area: %s\n",
		s.Bursts, s.Wall.Round(time.Millisecond), s.Rate(), s.Startup.Round(time.Millisecond), s.BurstP50, s.BurstP99, s.Dropped, s.SensorDropped, s.PointsDropped,
		strings.Join(parts, ", "))
	if ig := s.Ignored; ig.Total() > 0 || s.SlowConsumers > 0 {
		fmt.Fprintf(u.console, "ignored from NATS: %d of another run, %d of another epoch, %d malformed, %d from unknown sources, %d stale, %d duplicate; embedded NATS server's slow-consumer events: %d\n",
			ig.Run, ig.Epoch, ig.Malformed, ig.Unknown, ig.Stale, ig.Duplicate, s.SlowConsumers)
	}
}

// areaLabel names area i for people: its genome name, else its ID.
func areaLabel(plan *cortical.Plan, i int) string {
	a := &plan.Areas[i]
	if a.Name != "" {
		return a.Name
	}
	return a.ID.String()
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
