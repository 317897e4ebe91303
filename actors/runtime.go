package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
)

// Sensors supplies the sensory input of every burst. The coordinator calls
// Points once per burst, before the tick, with points cleared to one nil
// entry per area; the implementation sets points[i] for each area with input.
// The slices must stay unchanged until the next call.
type Sensors interface {
	Points(burst npu.Burst, points [][]npu.Point)
}

// Motors receives the output of every OPU area after every burst. It is
// called from the area's actor, concurrently for different areas; fired and
// potentials are valid only during the call.
type Motors interface {
	Publish(area int, burst npu.Burst, fired []uint32, potentials []float32) error
}

// BurstResult is one completed burst, as the observer sees it. Its slices
// are valid only during the call.
type BurstResult struct {
	Burst npu.Burst
	// Fired holds, by area index, the local indices that fired, ascending;
	// nil for an area that fired nothing.
	Fired [][]uint32
	// Elapsed runs from the tick to the last completion.
	Elapsed time.Duration
	// Spikes is the number of neurons that fired in every area.
	Spikes int
	// Slowest is the area whose engine step took longest, and SlowestStep
	// that time.
	Slowest     int
	SlowestStep time.Duration
}

// Observer sees every completed burst, in order, on the coordinator before
// the next tick. An error stops the run and is returned by Run.
type Observer func(*BurstResult) error

// Config configures a Runtime.
type Config struct {
	// Plan gives the topology (areas, connections) and area IDs. Required.
	Plan *cortical.Plan
	// Engines holds one engine per area index for the areas placed on this
	// node (nil for the others), built from Plan. Required.
	Engines []npu.Engine
	// Placement maps areas to nodes; nil places every area on Node.
	Placement Placement
	// Node is this process's node; "" means LocalNode.
	Node NodeID
	// Dial connects to NATS with the options given (the runtime adds its
	// error handlers). Needed when spikes travel over NATS: areas on other
	// nodes, or SpikesViaNATS. nil: no NATS.
	Dial func(opts ...nats.Option) (*nats.Conn, error)
	// SpikesViaNATS sends every batch through NATS, even between two areas
	// of this node.
	SpikesViaNATS bool
	// SubjectPrefix and Brain form spike subjects
	// <prefix>.<brain>.spikes.<dst-area token>; defaults "spikemesh", "brain".
	SubjectPrefix string
	Brain         string
	// Interval is the time between ticks; 0 runs free (next tick as soon as a
	// burst completes).
	Interval time.Duration
	// StallTimeout stops the run with ErrStalled when a burst takes longer;
	// 0 disables the check.
	StallTimeout time.Duration
	// InlineWork: an area whose neurons plus incoming synapses number fewer
	// runs on the goroutine of the actor that sends it a message rather than
	// on a goroutine of its own per message, which is cheaper for tiny areas.
	// 0 gives every area its own goroutine.
	InlineWork int
	Sensors    Sensors      // nil: no sensory input
	Motors     Motors       // nil: motor output discarded
	Observer   Observer     // nil: results discarded
	Logger     *slog.Logger // nil: discard
}

// Runtime runs one brain's areas of this node as actors.
type Runtime struct {
	cfg    Config
	plan   *cortical.Plan
	log    *slog.Logger
	system *actor.ActorSystem

	sensors Sensors
	motors  Motors
	bus     *natsBus

	points      [][]npu.Point // by area index: sensory points of the burst in progress
	coordinator *actor.PID
	areas       []*actor.PID // by area index; nil when not on this node
	local       []int        // indices of the areas on this node

	// Completion of the burst in progress: each area writes its report
	// (slot by area index) and its doneBurst, then counts remaining down.
	reports   []completed
	doneBurst []atomic.Uint64
	remaining atomic.Int64
	allDone   [2]burstDone // by burst parity

	// The burst in progress (0: none) and when it was ticked, for the stall
	// check, which runs on a timer goroutine so that it works even when the
	// coordinator's goroutine is stuck in an inline area's step.
	current  atomic.Uint64
	tickAtNs atomic.Int64
	stalled  chan error

	paused     atomic.Bool
	badControl atomic.Uint64

	result    chan error
	completed atomic.Uint64
	next      npu.Burst // first burst of the next Run
	closeOnce sync.Once
	pinned    *pinnedDispatcher

	// dropBatch, set by tests before Run, loses the batches it selects.
	dropBatch func(src, dst int, burst npu.Burst) bool
}

// New spawns the actors of the areas placed on this node and, when spikes
// travel over NATS, connects and subscribes. Close releases them.
func New(cfg Config) (*Runtime, error) {
	if cfg.Plan == nil {
		return nil, errors.New("actors: Config.Plan is nil")
	}
	if len(cfg.Engines) != len(cfg.Plan.Areas) {
		return nil, fmt.Errorf("actors: %d engines for %d areas", len(cfg.Engines), len(cfg.Plan.Areas))
	}
	if cfg.Node == "" {
		cfg.Node = LocalNode
	}
	if cfg.Placement == nil {
		cfg.Placement = SingleNode(cfg.Node)
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "spikemesh"
	}
	if cfg.Brain == "" {
		cfg.Brain = "brain"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runtime{cfg: cfg, plan: cfg.Plan, log: log, sensors: cfg.Sensors, motors: cfg.Motors,
		result: make(chan error, 1), stalled: make(chan error, 1), next: 1, points: make([][]npu.Point, len(cfg.Plan.Areas))}
	r.areas = make([]*actor.PID, len(cfg.Plan.Areas))
	r.reports = make([]completed, len(cfg.Plan.Areas))
	r.doneBurst = make([]atomic.Uint64, len(cfg.Plan.Areas))
	for i := range cfg.Plan.Areas {
		if cfg.Placement.Node(i) != cfg.Node {
			// The cross-node barrier (ticks and completions between
			// coordinators) belongs to the cluster issue.
			return nil, fmt.Errorf("actors: area %d (%s) is placed on node %q; running areas on other nodes is not supported yet",
				i, r.areaName(i), cfg.Placement.Node(i))
		}
		e := cfg.Engines[i]
		if e == nil {
			return nil, fmt.Errorf("actors: no engine for area %d (%s)", i, r.areaName(i))
		}
		if e.Spec().Index != i {
			return nil, fmt.Errorf("actors: engine %d runs area %d", i, e.Spec().Index)
		}
		if err := checkIncoming(cfg.Plan, i, e.Incoming()); err != nil {
			return nil, err
		}
		r.local = append(r.local, i)
	}

	r.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// protoactor's own chatter (system started, dead letters) stays
		// below warnings; its warnings and errors reach the node's log.
		return slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("lib", "protoactor")
	}))
	areas := make([]*area, len(cfg.Plan.Areas))
	for _, i := range r.local {
		a := newArea(r, i, cfg.Engines[i])
		a.opu = cfg.Plan.Areas[i].Kind == cortical.KindOPU
		areas[i] = a
		props := actor.PropsFromProducer(func() actor.Actor { return a })
		if areaWork(cfg.Engines[i]) < cfg.InlineWork {
			// A small area runs on the goroutine of whoever sends it a
			// message: no goroutine start per message, no parallelism lost
			// worth having.
			props = actor.PropsFromProducer(func() actor.Actor { return a },
				actor.WithDispatcher(actor.NewSynchronizedDispatcher(300)))
		}
		r.areas[i] = r.system.Root.Spawn(props)
	}
	c := newCoordinator(r)
	// The coordinator keeps one goroutine: small areas run inline on it, and
	// a fresh goroutine per message would grow its stack again every burst.
	r.pinned = newPinnedDispatcher()
	r.coordinator = r.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c },
		actor.WithDispatcher(r.pinned)))

	if err := r.wire(areas); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// wire builds every area's downstream routes and, where batches travel over
// NATS, connects and subscribes the destinations.
func (r *Runtime) wire(areas []*area) error {
	overNATS := func(src, dst int) bool {
		return r.cfg.SpikesViaNATS || r.cfg.Placement.Node(src) != r.cfg.Placement.Node(dst)
	}
	remoteIn := make([][]*npu.Connection, len(areas)) // per destination, connections over NATS
	needBus := false
	for _, c := range r.plan.Connections {
		if c.Src < 0 || c.Src >= len(areas) || c.Dst < 0 || c.Dst >= len(areas) {
			return fmt.Errorf("actors: connection %d→%d outside the plan's %d areas", c.Src, c.Dst, len(areas))
		}
		nats := overNATS(c.Src, c.Dst)
		if a := areas[c.Src]; a != nil {
			rt := route{dst: c.Dst, potentials: c.MPDrivenPSP}
			if nats {
				rt.subject = r.spikeSubject(c.Dst)
			} else {
				rt.local = r.areas[c.Dst]
			}
			a.routes = append(a.routes, rt)
		}
		if nats {
			needBus = true
			remoteIn[c.Dst] = append(remoteIn[c.Dst], c)
		}
	}
	if !needBus {
		return nil
	}
	if r.cfg.Dial == nil {
		return errors.New("actors: spikes must travel over NATS but Config.Dial is nil")
	}
	bus, err := newBus(r)
	if err != nil {
		return err
	}
	r.bus = bus
	for dst, conns := range remoteIn {
		if len(conns) == 0 || r.areas[dst] == nil {
			continue
		}
		if err := bus.subscribe(dst, r.spikeSubject(dst), r.areas[dst], conns); err != nil {
			return err
		}
	}
	return bus.flush()
}

// checkIncoming makes sure an engine expects exactly the batches the plan's
// connections will bring it: one per source area, ascending.
func checkIncoming(p *cortical.Plan, dst int, inc []*npu.Connection) error {
	k := 0
	for _, c := range p.Connections {
		if c.Dst != dst {
			continue
		}
		if k >= len(inc) || inc[k].Src != c.Src || inc[k].Dst != dst {
			break
		}
		k++
	}
	n := 0
	for _, c := range p.Connections {
		if c.Dst == dst {
			n++
		}
	}
	if k != n || k != len(inc) {
		return fmt.Errorf("actors: the engine of area %d (%s) has %d incoming connections; the plan has %d into it, or in another order",
			dst, p.Areas[dst].ID, len(inc), n)
	}
	return nil
}

// areaWork is the size of an area's step: neurons plus incoming synapses.
func areaWork(e npu.Engine) int {
	w := int(e.Spec().Neurons())
	for _, c := range e.Incoming() {
		w += c.Synapses()
	}
	return w
}

// spikeSubject is <prefix>.<brain>.spikes.<token of dst>.
func (r *Runtime) spikeSubject(dst int) string {
	return r.cfg.SubjectPrefix + "." + r.cfg.Brain + ".spikes." + areaToken(r.plan.Areas[dst].ID)
}

func (r *Runtime) areaName(i int) string {
	if i >= 0 && i < len(r.plan.Areas) {
		return r.plan.Areas[i].ID.String()
	}
	return "?"
}

// Run runs bursts bursts (0: until ctx is cancelled), continuing after the
// last burst of a previous Run. Cancelling ctx finishes the burst in
// progress, hands it to the observer and returns nil. Any failure returns an
// error naming the area and burst; the Runtime cannot run again after it.
func (r *Runtime) Run(ctx context.Context, bursts uint64) error {
	first := r.next
	var last npu.Burst
	if bursts > 0 {
		last = first + bursts - 1
	}
	r.system.Root.Send(r.coordinator, &start{first: first, last: last})
	var err error
	select {
	case err = <-r.result:
	case err = <-r.stalled:
	case <-ctx.Done():
		r.system.Root.Send(r.coordinator, &stop{})
		select {
		case err = <-r.result:
		case err = <-r.stalled:
		}
	}
	r.next = r.Completed() + 1
	return err
}

// checkStall runs on the stall timer's goroutine: when the burst in
// progress is older than StallTimeout it ends Run with ErrStalled, naming
// the areas that have not completed it.
func (r *Runtime) checkStall() {
	burst := r.current.Load()
	age := time.Since(time.Unix(0, r.tickAtNs.Load()))
	if burst == 0 || age < r.cfg.StallTimeout {
		return
	}
	var names []string
	for _, i := range r.local {
		if r.doneBurst[i].Load() != burst {
			names = append(names, fmt.Sprintf("%d (%s)", i, r.areaName(i)))
		}
	}
	err := fmt.Errorf("%w: burst %d not complete after %v; waiting for areas %s",
		ErrStalled, burst, age.Round(time.Millisecond), strings.Join(names, ", "))
	select {
	case r.stalled <- err:
	default:
	}
}

// Completed returns the last burst every area completed.
func (r *Runtime) Completed() npu.Burst { return r.completed.Load() }

// Dropped returns the NATS messages dropped by slow consumers so far.
func (r *Runtime) Dropped() uint64 {
	if r.bus == nil {
		return 0
	}
	return r.bus.droppedTotal()
}

// Close stops every actor and closes the NATS connection. It is safe to call
// more than once.
func (r *Runtime) Close() {
	r.closeOnce.Do(func() {
		if r.bus != nil {
			r.bus.close()
		}
		for _, pid := range r.areas {
			if pid != nil {
				_ = r.system.Root.StopFuture(pid).Wait()
			}
		}
		if r.coordinator != nil {
			_ = r.system.Root.StopFuture(r.coordinator).Wait()
		}
		r.system.Shutdown()
		if r.pinned != nil {
			r.pinned.close()
		}
	})
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// pinnedDispatcher runs an actor's mailbox on one long-lived goroutine
// instead of a new goroutine each time the mailbox wakes up. protoactor
// schedules a mailbox at most once until it has run, so the channel never
// holds more than one function.
type pinnedDispatcher struct {
	ch   chan func()
	once sync.Once
}

func newPinnedDispatcher() *pinnedDispatcher {
	d := &pinnedDispatcher{ch: make(chan func(), 1)}
	go func() {
		for fn := range d.ch {
			fn()
		}
	}()
	return d
}

func (d *pinnedDispatcher) Schedule(fn func()) { d.ch <- fn }
func (d *pinnedDispatcher) Throughput() int    { return 300 }
func (d *pinnedDispatcher) close()             { d.once.Do(func() { close(d.ch) }) }
