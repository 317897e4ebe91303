package brain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/internal/capread"
	"github.com/spikemesh/spikemesh/internal/web"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
	"github.com/spikemesh/spikemesh/quant"
)

// ErrInterrupted is returned (wrapped) by Run when its context ends before
// the brain has grown: there is nothing to run and no record.
var ErrInterrupted = errors.New("interrupted while growing the brain")

// Summary is what a run did.
type Summary struct {
	Bursts uint64
	// Wall is the whole run, start-up included (joining a cluster, the
	// handshake); Startup the part of it before the first burst completed,
	// and Running the time from the first burst's completion to the last's.
	Wall, Startup, Running time.Duration
	BurstP50               time.Duration
	BurstP99               time.Duration
	Spikes                 []uint64 // by area index
	Dropped                uint64   // spike batches lost by NATS
	SensorDropped          uint64   // sensor frames rejected or lost (NATS and Inputs)
	PointsDropped          uint64   // points of accepted frames dropped (outside the area, p = 0, ...)
	Intake                 pns.IntakeStats
	// ComputeP50 is the median over bursts of the slowest area's step.
	ComputeP50 time.Duration
	// MsgsOut and BytesOut count what this node published on NATS for
	// spikes and the lock step.
	MsgsOut, BytesOut uint64
	// RTTP50 is the median round trip to another node over the lock step's
	// NATS path, measured after the run by the coordinator of a cluster
	// (0 otherwise).
	RTTP50 time.Duration
	// Node and Nodes name this node and count the cluster's (1 outside
	// cluster mode).
	Node  string
	Nodes int
	// Window is the lock step's window the brain ran with (cluster mode;
	// 0 otherwise).
	Window int
	// CPU is the CPU time (user and system) this process used while the
	// bursts ran: from the first burst's completion to the end of the run.
	CPU time.Duration
	// Ignored counts the messages between nodes this node ignored (another
	// run or epoch, malformed, unknown source, stale or duplicate).
	Ignored actors.Ignored
	// SlowConsumers counts the embedded NATS server's slow-consumer events:
	// clients that did not read fast enough, each cut off after at most
	// actors.MaxPending bytes held for it (one client may count twice).
	SlowConsumers uint64
}

// runner runs the bursts of a grown brain. Both implementations, the actor
// runtime and npu's reference runner, call the observer they were built
// with after every burst, in order, so that everything downstream of a
// burst (statistics, the record, the status line) is shared.
type runner interface {
	// run runs bursts bursts (0: until ctx ends). Cancelling ctx finishes
	// the burst in progress and returns nil.
	run(ctx context.Context, bursts uint64) error
	// dropped returns the spike batches and sensor frames lost on the way.
	dropped() (spikes, sensor uint64)
	close()
}

// Run grows the brain of c.Genome and runs it as `node run` does, until
// c.Bursts bursts are done or ctx ends (which finishes the burst in
// progress, flushes the record and returns no error). Cancelling ctx while
// the brain grows returns ErrInterrupted. The summary is returned, and
// printed to c.Stderr, whenever bursts ran, even with an error.
func Run(ctx context.Context, c Config) (*Summary, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	log := c.Logger
	ui := newStatusUI(c.Stderr.(*Console), c.Quiet, log)
	hs, err := startHTTP(&c)
	if err != nil {
		return nil, err
	}
	defer hs.Close()

	var (
		data   []byte
		plan   *cortical.Plan
		drives [][]npu.Drive
	)
	t0 := time.Now()
	if c.Synthetic != "" {
		sy, _ := ParseSynthetic(c.Synthetic) // checked by Validate
		prec := quant.FP32
		if c.Precision != "" {
			prec, _, _ = quant.ParsePrecision(c.Precision)
		}
		plan, drives = sy.Plan(prec)
		data = []byte("synthetic " + sy.String())
		c.Genome = "synthetic " + sy.String()
	} else {
		if data, err = readGenome(c.Genome, c.GenomeCap); err != nil {
			return nil, err
		}
		opts := c.Limits.Apply(cortical.Options{Seed: c.Seed, Progress: ui.growth})
		if c.Precision != "" {
			p, warning, err := quant.ParsePrecision(c.Precision)
			if err != nil {
				return nil, fmt.Errorf("--precision: %w", err)
			}
			if warning != "" {
				log.Warn(warning)
			}
			opts.Precision = &p
		}
		plan, err = grow(ctx, func() (*cortical.Plan, error) { return cortical.LoadContext(ctx, data, c.Genome, opts) })
		ui.growthEnded()
		if err != nil {
			return nil, err
		}
	}
	ui.grown(c.Genome, plan, time.Since(t0))
	for _, w := range plan.Warnings {
		log.Warn("genome", "warning", w)
	}

	areas := make([]pns.Area, len(plan.Areas))
	ids := make([]string, len(plan.Areas))
	for i := range plan.Areas {
		a := &plan.Areas[i]
		areas[i] = pns.Area{ID: pns.ID(a.ID), Geometry: pns.Geometry{Dims: a.Dims, PerVoxel: a.PerVoxel}, Name: a.Name}
		ids[i] = a.ID.String()
	}
	intake := pns.NewIntake(areas, plan.AreaIndex, pns.DefaultLimits())
	feed := &actors.SensorFeed{Intake: intake}
	if c.Inputs != "" {
		f, err := os.Open(c.Inputs)
		if err != nil {
			return nil, fmt.Errorf("--inputs: %w", err)
		}
		maxLine := c.MaxInputLine
		if maxLine <= 0 {
			maxLine = 16 << 20
		}
		feed.Schedule, err = actors.ReadScheduleCapped(f, c.Inputs, int(maxLine), "--max-input-line", intake.Resolve, log)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--inputs: %w", err)
		}
	}

	rec, err := NewRecorder(c.Record, ids, RecordOptions{Sync: c.RecordSync})
	if err != nil {
		return nil, err
	}
	stats := actors.NewStats(len(plan.Areas))
	// Read concurrently by control requests.
	var bursts, spikes atomic.Uint64
	var startNs atomic.Int64
	var compute actors.Histogram
	var firstAt, lastAt time.Time // first and last burst observed (observer goroutine)
	var firstCPU time.Duration
	observe := func(r *actors.BurstResult) error {
		lastAt = time.Now()
		if firstAt.IsZero() {
			firstAt, firstCPU = lastAt, processCPU()
		}
		stats.Add(r)
		if r.SlowestStep > 0 {
			compute.Add(r.SlowestStep)
		}
		spikes.Add(uint64(r.Spikes))
		bursts.Add(1)
		hs.Observe(r)
		ui.status(plan, stats, r)
		return rec.Write(r.Burst, r.Fired)
	}
	ctlStats := func(s *brainv1.Stats) {
		st := intake.Stats()
		s.Spikes, s.SensorFrames, s.SensorDropped = spikes.Load(), st.Taken, st.Dropped()
		if t := startNs.Load(); t != 0 {
			if d := time.Since(time.Unix(0, t)).Seconds(); d > 0 {
				s.BurstsPerSecond = float64(bursts.Load()) / d
			}
		}
	}

	hs.SetPhase(web.PhaseJoining, "connecting (NATS, the cluster)")
	var r runner
	if c.Runner == RunnerReference {
		r, err = newReference(plan, feed, interval(&c, plan), observe, c.Threads)
	} else {
		r, err = newActorRunner(ctx, &c, plan, drives, data, areas, feed, observe, hs.Watching, ctlStats)
	}
	if err != nil {
		rec.Close()
		return nil, err
	}
	hs.Attach(httpBrain(&c, plan, r, intake, ctlStats, &bursts))
	if a, ok := r.(*actorRunner); ok && a.sup != nil && hs != nil {
		// Before run: the supervisor's loop, which calls began, starts there.
		a.sup.began = func(g *generation) { hs.Reassign(httpPlacement(&c, a.sup.self, g)) }
	}
	if c.Ready != nil {
		c.Ready()
	}
	start := time.Now()
	startNs.Store(start.UnixNano())
	hs.SetPhase(web.PhaseRunning, "waiting for the first burst")
	err = r.run(ctx, c.Bursts)
	endCPU := processCPU()
	wall := time.Since(start)
	hs.SetPhase(web.PhaseStopped, "the run has ended")
	hs.Close() // before the runner's connections close under its requests
	spikeDrops, sensorDrops := r.dropped()
	var ms measures
	if m, ok := r.(measurer); ok {
		ms = m.measure(ctx)
	}
	r.close()
	if ferr := rec.Close(); err == nil {
		err = ferr
	}
	sum := &Summary{Bursts: stats.Bursts, Wall: wall, Running: lastAt.Sub(firstAt), BurstP50: stats.Quantile(0.5), BurstP99: stats.Quantile(0.99),
		Spikes: stats.Spikes, Dropped: spikeDrops, ComputeP50: compute.Quantile(0.5),
		MsgsOut: ms.msgs, BytesOut: ms.bytes, RTTP50: ms.rttP50, Node: ms.node, Nodes: max(ms.nodes, 1),
		Ignored: ms.ignored, SlowConsumers: ms.slow}
	if c.Cluster.Enabled() {
		sum.Window = c.Cluster.Window
	}
	if !firstAt.IsZero() {
		sum.CPU = max(endCPU-firstCPU, 0)
		sum.Startup = firstAt.Sub(start)
	}
	st := intake.Stats()
	sum.Intake = st
	sum.SensorDropped, sum.PointsDropped = st.Dropped()+sensorDrops, st.PointsDropped
	if s := feed.Schedule; s != nil {
		sum.SensorDropped += uint64(s.BadLines + s.UnknownAreas)
		sum.PointsDropped += uint64(s.BadPoints)
	}
	ui.done(plan, sum)
	if c.SummaryJSON != "" {
		if jerr := writeSummaryJSON(c.SummaryJSON, plan, sum); err == nil {
			err = jerr
		}
	}
	return sum, err
}

// Rate is the bursts per second once running: from the first burst's
// completion to the last's, so that joining a cluster and its handshake do
// not count (over the whole run when fewer than two bursts ran).
func (s *Summary) Rate() float64 {
	if s.Bursts >= 2 && s.Running > 0 {
		return float64(s.Bursts-1) / s.Running.Seconds()
	}
	if s.Wall > 0 {
		return float64(s.Bursts) / s.Wall.Seconds()
	}
	return 0
}

// measures are what a runner can tell about its traffic after a run.
type measures struct {
	msgs, bytes uint64
	rttP50      time.Duration
	node        string
	nodes       int
	ignored     actors.Ignored
	slow        uint64
}

// measurer is a runner that measures its traffic.
type measurer interface {
	measure(ctx context.Context) measures
}

// writeSummaryJSON writes sum as one JSON object (durations in
// microseconds) to path.
func writeSummaryJSON(path string, plan *cortical.Plan, sum *Summary) error {
	areas, neurons, synapses := plan.Totals()
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	data, err := json.Marshal(map[string]any{
		"node": sum.Node, "nodes": sum.Nodes, "areas": areas, "neurons": neurons, "synapses": synapses,
		"bursts": sum.Bursts, "wall_s": sum.Wall.Seconds(), "startup_s": sum.Startup.Seconds(), "bursts_per_s": sum.Rate(),
		"burst_p50_us": us(sum.BurstP50), "burst_p99_us": us(sum.BurstP99), "compute_p50_us": us(sum.ComputeP50),
		"msgs_out": sum.MsgsOut, "bytes_out": sum.BytesOut, "nats_rtt_p50_us": us(sum.RTTP50),
		"rss_mb": peakRSSMB(), "dropped": sum.Dropped, "gomaxprocs": runtime.GOMAXPROCS(0), "lockstep_window": sum.Window,
		"cpu_s": sum.CPU.Seconds(), "godebug": os.Getenv("GODEBUG"),
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("--summary-json: %w", err)
	}
	return nil
}

// peakRSSMB is this process's peak resident set (VmHWM) in MB, or 0 where
// /proc does not say.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// grow runs load, which loads and grows the genome (stopping when ctx
// ends), and gives up at once when ctx ends first.
func grow(ctx context.Context, load func() (*cortical.Plan, error)) (*cortical.Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	type result struct {
		plan *cortical.Plan
		err  error
	}
	done := make(chan result, 1)
	go func() {
		p, err := load()
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.plan, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
	}
}

// readGenome reads a genome file of at most limit bytes (0: 64 MiB), or an
// embedded genome by name.
func readGenome(name string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = 64 << 20
	}
	data, err := capread.ReadFile(name, limit, "--max-genome-size")
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--genome: %w", err)
	}
	if data, e := genomes.Read(name); e == nil {
		return data, nil
	}
	return nil, fmt.Errorf("--genome %q: no such file and no embedded genome of that name (embedded: %s): %w",
		name, strings.Join(genomes.Names(), ", "), err)
}

// Engines builds one npu engine per area of plan, by area index, and a
// function that closes them all.
func Engines(plan *cortical.Plan) ([]npu.Engine, func(), error) {
	return EnginesFor(plan, func(int) bool { return true }, nil, 0)
}

// areaWork is the per-burst work (neurons plus incoming synapses) from which
// an area gets a second engine worker: below it a burst takes well under
// 100 µs, where handing half of it to another goroutine costs about what it
// saves, and the actor runtime already steps different areas on different
// cores.
const areaWork = 1 << 20

// AreaWorkers is the worker count of one area's engine, among heavy areas
// of at least areaWork neurons plus synapses stepped by this process:
// threads when given (> 0), else 2 for a heavy area when fewer heavy areas
// than cores (GOMAXPROCS, at least 2) share the process, else 1. The actor
// runtime steps the areas of a burst in parallel, so as many heavy areas as
// cores keep every core busy already, and a second worker each would only
// crowd them (4 areas of 1.1 M on 2 cores: 322 bursts/s with 2 workers
// each, 531 with 1).
func AreaWorkers(threads int, spec *npu.AreaSpec, incoming []*npu.Connection, heavy int) int {
	if threads > 0 {
		return threads
	}
	if stepWork(spec, incoming) >= areaWork && runtime.GOMAXPROCS(0) >= 2 && heavy < runtime.GOMAXPROCS(0) {
		return 2
	}
	return 1
}

// stepWork is an area's per-burst work: neurons plus incoming synapses.
func stepWork(spec *npu.AreaSpec, incoming []*npu.Connection) int {
	work := int(spec.Neurons())
	for _, c := range incoming {
		work += c.Synapses()
	}
	return work
}

// incomingByArea is every area's incoming connections, by area index (a
// plan's connections are sorted by (Dst, Src)).
func incomingByArea(plan *cortical.Plan) [][]*npu.Connection {
	out := make([][]*npu.Connection, len(plan.Areas))
	conns := plan.Connections
	for i := range out {
		k := 0
		for k < len(conns) && conns[k].Dst == i {
			k++
		}
		out[i], conns = slices.Clip(conns[:k]), conns[k:]
	}
	return out
}

// planWorkers is AreaWorkers of every area keep selects, by area index (0
// for the others), counting the heavy areas among those selected; in is
// incomingByArea(plan).
func planWorkers(plan *cortical.Plan, in [][]*npu.Connection, keep func(area int) bool, threads int) []int {
	out := make([]int, len(plan.Areas))
	heavy := 0
	for i := range plan.Areas {
		if keep(i) && stepWork(&plan.Areas[i].AreaSpec, in[i]) >= areaWork {
			heavy++
		}
	}
	for i := range plan.Areas {
		if keep(i) {
			out[i] = AreaWorkers(threads, &plan.Areas[i].AreaSpec, in[i], heavy)
		}
	}
	return out
}

// EnginesFor builds the engines of the areas keep selects (nil for the
// others), as Engines does, with the constant drive of drives[i] (nil: none)
// for area i and AreaWorkers(threads, …) workers each.
func EnginesFor(plan *cortical.Plan, keep func(area int) bool, drives [][]npu.Drive, threads int) ([]npu.Engine, func(), error) {
	out := make([]npu.Engine, len(plan.Areas))
	closeAll := func() {
		for _, e := range out {
			closeEngine(e) // nil for the areas not built
		}
	}
	in := incomingByArea(plan)
	workers := planWorkers(plan, in, keep, threads)
	for i := range plan.Areas {
		if !keep(i) {
			continue
		}
		opts := npu.Options{Workers: workers[i]}
		if i < len(drives) {
			opts.Drive = drives[i]
		}
		e, err := npu.NewEngineWithOptions(plan.Areas[i].AreaSpec, plan.Precision, in[i], opts)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		out[i] = e
	}
	return out, closeAll, nil
}

// interval is the time between bursts: none with Free, else 1/Rate or the
// genome's rate (free when the genome has none).
func interval(c *Config, plan *cortical.Plan) time.Duration {
	hz := c.Rate
	if hz == 0 {
		hz = plan.Genome.BurstRateHz
	}
	if c.Free || CheckRate(hz) != nil {
		return 0
	}
	return time.Duration(float64(time.Second) / hz)
}

// reference runs a brain with npu's single-process reference runner, fed by
// the same sensor feed and observed like the actor runtime.
type reference struct {
	r       *npu.Runner
	n       int
	feed    *actors.SensorFeed
	every   time.Duration
	observe actors.Observer
}

func newReference(plan *cortical.Plan, feed *actors.SensorFeed, every time.Duration, observe actors.Observer, threads int) (*reference, error) {
	specs := make([]npu.AreaSpec, len(plan.Areas))
	for i := range plan.Areas {
		specs[i] = plan.Areas[i].AreaSpec
	}
	r, err := npu.NewRunner(specs, plan.Connections, plan.Precision, npu.RunnerOptions{Workers: max(threads, 1)})
	if err != nil {
		return nil, err
	}
	return &reference{r: r, n: len(specs), feed: feed, every: every, observe: observe}, nil
}

func (ref *reference) run(ctx context.Context, bursts uint64) error {
	points := make([][]npu.Point, ref.n)
	res := actors.BurstResult{Fired: make([][]uint32, ref.n)}
	epoch := time.Now()
	for b := npu.Burst(1); bursts == 0 || b <= bursts; b++ {
		if ctx.Err() != nil {
			return nil
		}
		if ref.every > 0 {
			if wait := time.Until(epoch.Add(time.Duration(b-1) * ref.every)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil
				}
			}
		}
		clear(points)
		ref.feed.Points(b, points)
		t0 := time.Now()
		outs := ref.r.Step(points)
		res.Burst, res.Elapsed, res.Spikes, res.Slowest, res.SlowestStep = b, time.Since(t0), 0, -1, 0
		for i, o := range outs {
			res.Fired[i] = nil
			if len(o.Fired) > 0 {
				res.Fired[i] = o.Fired
			}
			res.Spikes += len(o.Fired)
		}
		if err := ref.observe(&res); err != nil {
			return fmt.Errorf("burst %d: %w", b, err)
		}
	}
	return nil
}

func (ref *reference) dropped() (uint64, uint64) { return 0, 0 }

func (ref *reference) close() { ref.r.Close() }
