package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
	"github.com/spikemesh/spikemesh/quant"
)

func init() {
	register("run", command{summary: "grow a brain from a genome and run it", run: runCommand})
}

// runConfig is everything node run needs: its flags, plus where output goes.
// Tests call runBrain with one directly.
type runConfig struct {
	Genome        string        // file path or embedded genome name
	Bursts        uint64        // 0: until interrupted
	Record        string        // spike record file ("" none)
	Inputs        string        // sensor schedule file ("" none)
	Precision     string        // "" keeps the genome's
	Seed          *uint64       // nil: derived from the genome
	Rate          float64       // bursts per second; 0: the genome's rate
	Free          bool          // no pacing
	NATS          string        // external server URL; "": embedded
	NATSListen    string        // embedded server's listen address ("": in process only)
	SpikesViaNATS bool          // every batch through NATS
	SubjectPrefix string        // default pns.DefaultPrefix
	Brain         string        // default pns.DefaultBrain
	Runner        string        // "actors" (default) or "reference"
	StallTimeout  time.Duration // stop when one burst takes longer; 0: never
	Quiet         bool          // summary only
	Threads       int           // worker goroutines per engine; 0: areaThreads chooses

	Stderr   io.Writer // progress, status, summary, logs
	Terminal bool      // Stderr is a terminal: live status line

	// ready, when set (tests), is called once the sensor bridge and motor
	// publisher are attached, before the first burst.
	ready func()
}

// runSummary is what a run did.
type runSummary struct {
	Bursts        uint64
	Wall          time.Duration
	BurstP50      time.Duration
	BurstP99      time.Duration
	Spikes        []uint64 // by area index
	Dropped       uint64   // spike batches lost by NATS
	SensorDropped uint64   // sensor frames rejected or lost (NATS and --inputs)
	PointsDropped uint64   // points of accepted frames dropped (SPEC E12)
	Intake        pns.IntakeStats
}

func runCommand(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c runConfig
	var seed string
	fs.StringVar(&c.Genome, "genome", genomes.Default, "genome file, or the name of an embedded genome ("+strings.Join(genomes.Names(), ", ")+")")
	fs.Uint64Var(&c.Bursts, "bursts", 0, "stop after N bursts (0: run until interrupted)")
	fs.StringVar(&c.Record, "record", "", "write the fired neurons of every burst to `FILE`, one JSON line per burst")
	fs.StringVar(&c.Inputs, "inputs", "", "replay the sensor schedule in `FILE` (JSON lines {\"burst\":n,\"area\":id,\"points\":[[x,y,z,p],...]})")
	fs.StringVar(&c.Precision, "precision", "", "override the genome's precision: fp32 or int8")
	fs.StringVar(&seed, "seed", "", "seed of every random choice of growth (default: derived from the genome)")
	fs.Float64Var(&c.Rate, "rate", 0, "bursts per second (default: the genome's simulation_timestep)")
	fs.BoolVar(&c.Free, "free", false, "run as fast as possible")
	fs.StringVar(&c.NATS, "nats", "", "NATS server `URL` (default: an embedded server, in process)")
	fs.StringVar(&c.NATSListen, "nats-listen", "", "let the embedded NATS server listen on `HOST:PORT` for sensors and motors of other processes")
	fs.BoolVar(&c.SpikesViaNATS, "spikes-via-nats", false, "send every spike batch through NATS, even between areas of this node")
	fs.StringVar(&c.SubjectPrefix, "subject-prefix", pns.DefaultPrefix, "first tokens of every NATS subject")
	fs.StringVar(&c.Brain, "brain", pns.DefaultBrain, "name of this brain in NATS subjects")
	fs.StringVar(&c.Runner, "runner", "actors", "actors (one actor per area) or reference (npu's single-process runner; --inputs only, no NATS)")
	fs.DurationVar(&c.StallTimeout, "stall-timeout", 2*time.Minute, "fail when one burst takes longer (0: never)")
	fs.BoolVar(&c.Quiet, "quiet", false, "print only errors and the summary")
	fs.IntVar(&c.Threads, "threads", 0, "worker goroutines inside each engine (0: chosen per area)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: node run [--genome FILE|NAME] [--bursts N] [--record FILE] [--inputs FILE] [flags]")
		fmt.Fprintln(stderr, "\nGrows the brain and runs it burst by burst. Output goes to stderr; SIGINT or SIGTERM")
		fmt.Fprintln(stderr, "finish the current burst, flush the record and exit 0. NATS subjects (actors runner):")
		fmt.Fprintln(stderr, "<prefix>.<brain>.sensor.<area> in, .motor.<area> out, .spikes.<area> between areas,")
		fmt.Fprintln(stderr, ".ctl request-reply (brain.v1.Control: set_rate, pause, resume, stats → brain.v1.Stats).")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "node run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if seed != "" {
		var s uint64
		if _, err := fmt.Sscan(seed, &s); err != nil {
			fmt.Fprintf(stderr, "node run: --seed %q: want an unsigned integer\n", seed)
			return 2
		}
		c.Seed = &s
	}
	c.Stderr = stderr
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.Terminal = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := runBrain(ctx, c); err != nil {
		fmt.Fprintf(stderr, "node run: %v\n", err)
		return 1
	}
	return 0
}

// readGenome reads a genome file, or an embedded genome by name.
func readGenome(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err == nil {
		return data, nil
	}
	if data, e := genomes.Read(name); e == nil {
		return data, nil
	}
	return nil, fmt.Errorf("genome %q: no such file and no embedded genome of that name (embedded: %s): %w",
		name, strings.Join(genomes.Names(), ", "), err)
}

// runBrain grows the brain of c.Genome and runs it as node run does.
func runBrain(ctx context.Context, c runConfig) (*runSummary, error) {
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	level := slog.LevelInfo
	if c.Quiet {
		level = slog.LevelError
	}
	log := slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: level}))
	ui := &statusUI{w: c.Stderr, terminal: c.Terminal && !c.Quiet, quiet: c.Quiet, log: log}
	if c.Runner != "" && c.Runner != "actors" && c.Runner != "reference" {
		return nil, fmt.Errorf("--runner %q: want actors or reference", c.Runner)
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = pns.DefaultPrefix
	}
	if c.Brain == "" {
		c.Brain = pns.DefaultBrain
	}
	if err := (pns.Subjects{Prefix: c.SubjectPrefix, Brain: c.Brain}).Validate(); err != nil {
		return nil, err
	}

	data, err := readGenome(c.Genome)
	if err != nil {
		return nil, err
	}
	opts := cortical.Options{Seed: c.Seed, Progress: ui.growth}
	if c.Precision != "" {
		p, warning, err := quant.ParsePrecision(c.Precision)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			log.Warn(warning)
		}
		opts.Precision = &p
	}
	grown := time.Now()
	plan, err := cortical.Load(data, c.Genome, opts)
	if err != nil {
		return nil, err
	}
	ui.grown(c.Genome, plan, time.Since(grown))
	for _, w := range plan.Warnings {
		log.Warn("genome", "warning", w)
	}

	areas := make([]pns.Area, len(plan.Areas))
	ids := make([]string, len(plan.Areas))
	for i := range plan.Areas {
		a := &plan.Areas[i]
		areas[i] = pns.Area{ID: pns.ID(a.ID), Geometry: pns.Geometry{Dims: a.Dims, PerVoxel: a.PerVoxel}}
		ids[i] = a.ID.String()
	}
	intake := pns.NewIntake(areas, plan.AreaIndex, pns.DefaultLimits())
	feed := &actors.SensorFeed{Intake: intake}
	if c.Inputs != "" {
		f, err := os.Open(c.Inputs)
		if err != nil {
			return nil, err
		}
		feed.Schedule, err = actors.ReadSchedule(f, intake.Resolve, log)
		f.Close()
		if err != nil {
			return nil, err
		}
	}

	rec, err := newRecorder(c.Record, ids)
	if err != nil {
		return nil, err
	}
	stats := actors.NewStats(len(plan.Areas))
	var spikes atomic.Uint64 // for control stats requests, read concurrently
	observe := func(r *actors.BurstResult) error {
		stats.Add(r)
		spikes.Add(uint64(r.Spikes))
		ui.status(plan, stats, r)
		return rec.write(r.Burst, r.Fired)
	}

	start := time.Now()
	ctlStats := func(s *brainv1.Stats) {
		st := intake.Stats()
		s.Spikes, s.SensorFrames, s.SensorDropped = spikes.Load(), st.Taken, st.Dropped()
		if d := time.Since(start).Seconds(); d > 0 {
			s.BurstsPerSecond = float64(s.Burst) / d
		}
	}
	var dropped, sensorDrops uint64
	if c.Runner == "reference" {
		err = runReference(ctx, c, plan, feed, observe)
	} else {
		dropped, sensorDrops, err = runActors(ctx, c, plan, areas, feed, observe, ctlStats, log)
	}
	wall := time.Since(start)
	if ferr := rec.close(); err == nil {
		err = ferr
	}
	sum := &runSummary{Bursts: stats.Bursts, Wall: wall, BurstP50: stats.Quantile(0.5), BurstP99: stats.Quantile(0.99),
		Spikes: stats.Spikes, Dropped: dropped}
	st := intake.Stats()
	sum.Intake = st
	sum.SensorDropped, sum.PointsDropped = st.Dropped()+sensorDrops, st.PointsDropped
	if s := feed.Schedule; s != nil {
		sum.SensorDropped += uint64(s.BadLines + s.UnknownAreas)
		sum.PointsDropped += uint64(s.BadPoints)
	}
	ui.done(plan, sum)
	return sum, err
}

// engines builds one npu engine per area of plan.
func engines(plan *cortical.Plan, threads int) ([]npu.Engine, func(), error) {
	out := make([]npu.Engine, len(plan.Areas))
	closeAll := func() {
		for _, e := range out {
			if c, ok := e.(interface{ Close() }); ok {
				c.Close()
			}
		}
	}
	conns := plan.Connections // sorted by (Dst, Src)
	for i := range plan.Areas {
		k := 0
		for k < len(conns) && conns[k].Dst == i {
			k++
		}
		opts := npu.Options{Workers: areaThreads(threads, &plan.Areas[i].AreaSpec, conns[:k])}
		e, err := npu.NewEngineWithOptions(plan.Areas[i].AreaSpec, plan.Precision, slices.Clip(conns[:k]), opts)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		out[i] = e
		conns = conns[k:]
	}
	return out, closeAll, nil
}

// runActors runs plan with the actor runtime. It returns the spike batches
// and the sensor messages NATS dropped.
func runActors(ctx context.Context, c runConfig, plan *cortical.Plan, areas []pns.Area, feed *actors.SensorFeed,
	observe actors.Observer, ctlStats func(*brainv1.Stats), log *slog.Logger) (spikeDrops, sensorDrops uint64, err error) {
	dial := func(opts ...nats.Option) (*nats.Conn, error) { return nats.Connect(c.NATS, opts...) }
	if c.NATS == "" {
		ns, err := actors.EmbeddedNATS(c.NATSListen)
		if err != nil {
			return 0, 0, err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		if c.NATSListen != "" {
			log.Info("embedded NATS server listening", "url", ns.ClientURL())
		}
		dial = func(opts ...nats.Option) (*nats.Conn, error) {
			return nats.Connect("", append(opts, nats.InProcessServer(ns))...)
		}
	}
	nc, err := dial(nats.Name("spikemesh-pns"))
	if err != nil {
		return 0, 0, fmt.Errorf("connecting to NATS: %w", err)
	}
	defer nc.Close()
	subjects := pns.Subjects{Prefix: c.SubjectPrefix, Brain: c.Brain}
	bridge, err := natsio.SubscribeSensors(nc, subjects, feed.Intake, natsio.WithLogger(log))
	if err != nil {
		return 0, 0, err
	}
	defer bridge.Close()
	pub, err := natsio.NewMotorPublisher(nc, subjects, areas)
	if err != nil {
		return 0, 0, err
	}
	engs, closeEngines, err := engines(plan, c.Threads)
	if err != nil {
		return 0, 0, err
	}
	defer closeEngines()
	rt, err := actors.New(actors.Config{
		Plan: plan, Engines: engs, Dial: dial, SpikesViaNATS: c.SpikesViaNATS,
		SubjectPrefix: subjects.Prefix, Brain: subjects.Brain,
		Interval: interval(c, plan), StallTimeout: c.StallTimeout, InlineWork: inlineWork,
		Sensors: feed, Motors: motors{pub}, Observer: observe, Logger: log,
	})
	if err != nil {
		return 0, 0, err
	}
	defer rt.Close()
	ctl, err := rt.ServeControl(nc, subjects.Prefix+"."+subjects.Brain+".ctl", func(s *brainv1.Stats) {
		ctlStats(s)
		s.SensorDropped += bridge.SlowConsumerDrops()
	})
	if err != nil {
		return 0, 0, err
	}
	defer ctl.Unsubscribe()
	// The server must know the sensor and control subscriptions before
	// anyone is told the brain is ready: core NATS delivers only to known
	// subscribers.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return 0, 0, fmt.Errorf("NATS flush: %w", err)
	}
	if c.ready != nil {
		c.ready()
	}
	err = rt.Run(ctx, c.Bursts)
	return rt.Dropped(), bridge.SlowConsumerDrops(), err
}

// inlineWork is actors.Config.InlineWork for node run: areas with fewer
// neurons plus incoming synapses step on the goroutine that sends them a
// message (the ring benchmark of 16 such areas coordinates a burst in about
// 7 µs this way, 8–9 µs with a goroutine per message).
const inlineWork = 4096

// motors adapts the pns motor publisher to actors.Motors.
type motors struct{ pub *natsio.MotorPublisher }

func (m motors) Publish(area int, burst npu.Burst, fired []uint32, potentials []float32) error {
	return m.pub.Publish(burst, area, fired, potentials)
}

// interval is the time between bursts: none with --free, else 1/--rate or
// the genome's rate (free when the genome has none).
func interval(c runConfig, plan *cortical.Plan) time.Duration {
	hz := c.Rate
	if hz <= 0 {
		hz = plan.Genome.BurstRateHz
	}
	if c.Free || hz <= 0 || math.IsInf(hz, 0) || math.IsNaN(hz) {
		return 0
	}
	return time.Duration(float64(time.Second) / hz)
}

// recorder writes the spike record.
type recorder struct {
	f   *os.File
	w   *bufio.Writer
	ids []string
	buf []byte
}

func newRecorder(path string, ids []string) (*recorder, error) {
	if path == "" {
		return &recorder{}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &recorder{f: f, w: bufio.NewWriterSize(f, 1<<20), ids: ids}, nil
}

func (r *recorder) write(burst npu.Burst, fired [][]uint32) error {
	if r.w == nil {
		return nil
	}
	r.buf = actors.AppendRecord(r.buf[:0], burst, r.ids, fired)
	_, err := r.w.Write(r.buf)
	return err
}

func (r *recorder) close() error {
	if r.f == nil {
		return nil
	}
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", r.f.Name(), err)
	}
	return nil
}

// runReference runs plan with npu's single-process reference runner, fed by
// the same sensor feed and observed like the actor runtime.
func runReference(ctx context.Context, c runConfig, plan *cortical.Plan, feed *actors.SensorFeed, observe actors.Observer) error {
	specs := make([]npu.AreaSpec, len(plan.Areas))
	for i := range plan.Areas {
		specs[i] = plan.Areas[i].AreaSpec
	}
	r, err := npu.NewRunner(specs, plan.Connections, plan.Precision, npu.RunnerOptions{Workers: max(c.Threads, 1)})
	if err != nil {
		return err
	}
	defer r.Close()
	iv := interval(c, plan)
	points := make([][]npu.Point, len(plan.Areas))
	res := actors.BurstResult{Fired: make([][]uint32, len(plan.Areas))}
	epoch := time.Now()
	for b := npu.Burst(1); c.Bursts == 0 || b <= c.Bursts; b++ {
		if ctx.Err() != nil {
			return nil
		}
		if iv > 0 {
			if wait := time.Until(epoch.Add(time.Duration(b-1) * iv)); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return nil
				}
			}
		}
		clear(points)
		feed.Points(b, points)
		t0 := time.Now()
		outs := r.Step(points)
		res.Burst, res.Elapsed, res.Spikes, res.Slowest, res.SlowestStep = b, time.Since(t0), 0, -1, 0
		for i, o := range outs {
			res.Fired[i] = nil
			if len(o.Fired) > 0 {
				res.Fired[i] = o.Fired
			}
			res.Spikes += len(o.Fired)
		}
		if err := observe(&res); err != nil {
			return fmt.Errorf("burst %d: %w", b, err)
		}
	}
	return nil
}

// statusUI prints growth progress, the live status line (terminal) or
// periodic log lines, and the summary, all on stderr.
type statusUI struct {
	w        io.Writer
	terminal bool
	quiet    bool
	log      *slog.Logger

	last       time.Time // last status output
	lastBursts uint64
	lastSpikes uint64
	spikes     uint64
	lineOpen   bool
}

func (u *statusUI) growth(done, total int, synapses int64) {
	if !u.terminal {
		return
	}
	if now := time.Now(); done == total || now.Sub(u.last) >= 100*time.Millisecond {
		u.last = now
		fmt.Fprintf(u.w, "\rgrowing: %d/%d areas, %d synapses\x1b[K", done, total, synapses)
		u.lineOpen = true
	}
}

func (u *statusUI) grown(name string, plan *cortical.Plan, took time.Duration) {
	if u.lineOpen {
		fmt.Fprintln(u.w)
		u.lineOpen = false
	}
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
	if u.terminal {
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
	if u.terminal {
		fmt.Fprintf(u.w, "\rburst %d  %.1f bursts/s  %.0f spikes/s  slowest area %s\x1b[K", r.Burst, bps, sps, slowest)
		u.lineOpen = true
		return
	}
	u.log.Info("running", "burst", r.Burst, "bursts_per_s", round1(bps), "spikes_per_s", round1(sps), "slowest_area", slowest)
}

func (u *statusUI) done(plan *cortical.Plan, s *runSummary) {
	if u.lineOpen {
		fmt.Fprintln(u.w)
		u.lineOpen = false
	}
	bps := 0.0
	if s.Wall > 0 {
		bps = float64(s.Bursts) / s.Wall.Seconds()
	}
	fmt.Fprintf(u.w, "summary: %d bursts in %v (%.1f bursts/s), burst time p50 %v p99 %v, dropped: %d spike batches, %d sensor frames, %d sensor points\n",
		s.Bursts, s.Wall.Round(time.Millisecond), bps, s.BurstP50, s.BurstP99, s.Dropped, s.SensorDropped, s.PointsDropped)
	var parts []string
	for i, n := range s.Spikes {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", areaLabel(plan, i), n))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(u.w, "spikes per area: %s\n", strings.Join(parts, ", "))
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
