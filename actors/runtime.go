package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// Cluster, when the placement puts areas on other nodes, says who takes
	// part in the lock step. nil: every area runs here.
	Cluster *Cluster
	// Run identifies this run of the brain in every message between nodes
	// (spike batches, ticks, completions); messages of another run are
	// ignored and counted. 0 picks a random one (one process); every node
	// of a cluster must be given the same.
	Run uint64
	// Epoch is the placement's version, carried like Run; 0 means 1.
	Epoch uint64
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
	// Window is how many bursts the coordinator may tick ahead of the last
	// one complete everywhere (package cluster/lockstep); 0 means 1. With
	// areas on several nodes, 2 lets a node start the next burst as soon as
	// its areas finish one, while their completion travels to the
	// coordinator: the round trip of the lock step overlaps the work. The
	// spike trains do not depend on it.
	Window int
	// StallTimeout stops the run with ErrStalled when a burst takes longer
	// (on a follower node: when no tick comes for that long); 0 disables
	// the check.
	StallTimeout time.Duration
	// InlineWork: an area whose neurons plus incoming synapses number fewer
	// runs on the goroutine of the actor that sends it a message rather than
	// on a goroutine of its own per message, which is cheaper for tiny areas.
	// 0 gives every area its own goroutine.
	InlineWork int
	Sensors    Sensors // nil: no sensory input
	// FirstBurst is the first burst of the first Run (0 means 1): a brain
	// resumed from a checkpoint of burst C starts at C+1, its engines
	// restored to C.
	FirstBurst npu.Burst
	// Inputs, when set, sees every burst's sensory points on every node
	// before the burst starts (the leader's from Sensors, a follower's from
	// the Tick, which carries every area's): the input log that a rollback
	// replays. points is valid only during the call.
	Inputs func(burst npu.Burst, points [][]npu.Point)
	// CheckpointEvery and Checkpoint: after every burst that is a multiple
	// of CheckpointEvery, once this node's areas completed it and before
	// the node reports it, Checkpoint is called on the coordinator actor's
	// goroutine; the local engines are idle until it returns, so it may
	// save their state. An error stops the run.
	CheckpointEvery uint64
	Checkpoint      func(burst npu.Burst) error
	Motors          Motors   // nil: motor output discarded
	Observer        Observer // nil: results discarded
	// WantFired (on the coordinator of a brain spread over several nodes)
	// tells whether the Observer needs the indices that other nodes' areas
	// fire in the bursts ticked now. Without it (nil, or false), and
	// without Cluster.Observe or Observed, the other nodes report only how
	// many neurons each area fired and a digest of which (BurstResult.Counts
	// and Digest), and Fired is nil for their areas: the indices cross the
	// network only when someone records or watches them. Asked before each
	// Tick message, so a change reaches the bursts ticked after it.
	WantFired func() bool
	// Completed is told the Digest of every burst complete on every node:
	// on the coordinator as it completes it, on the other nodes of a
	// cluster when the coordinator's next Tick says it (the last bursts
	// before a stop or a failure may never be told). It may be called from
	// any goroutine, and again for a burst run again after a failure.
	Completed func(burst npu.Burst, digest uint64)
	Logger    *slog.Logger // nil: discard
}

// Cluster describes the nodes of a brain spread over several processes.
// Every node is given the same Nodes, Coordinator, Run and Epoch.
type Cluster struct {
	// Nodes takes part in the lock step, one participant each, in this
	// order; it includes Config.Node and every node the placement names.
	Nodes []NodeID
	// Coordinator is the node that paces the brain, feeds its sensory input
	// and hands every complete burst to its observer.
	Coordinator NodeID
	// Observe (on a node other than the coordinator) receives every
	// complete burst of the whole brain from the coordinator and hands it
	// to the Observer, as the coordinator does; without it the Observer
	// sees this node's areas only.
	Observe bool
	// Observed (on the coordinator) publishes every complete burst for the
	// nodes that Observe.
	Observed bool
}

// Runtime runs one brain's areas of this node as actors.
type Runtime struct {
	cfg       Config
	plan      *cortical.Plan
	log       *slog.Logger
	system    *actor.ActorSystem
	placement Placement
	nodes     []NodeID       // participants of the lock step
	nodeIndex map[NodeID]int // participant index by node
	nodeDone  []atomic.Uint64
	ignored   ignoredCounts

	sensors Sensors
	motors  Motors
	bus     *natsBus

	window      int
	doneBatch   int             // completions a follower may send in one message: max(1, window/2)
	points      [][][]npu.Point // sensory points by burst (a ring of at least window, pointsOf), then area index
	coordinator *actor.PID
	areas       []*actor.PID // by area index; nil when not on this node
	local       []int        // indices of the areas on this node

	// Completion of the burst in progress: each area writes its report
	// (slot by area index) and its doneBurst, then counts remaining down.
	reports   []completed
	doneBurst []atomic.Uint64
	remaining atomic.Int64
	// seen, by area index, then by incoming connection and inbox slot
	// (slots*pos + slot), is the last burst whose batch arrived (for the
	// stall check's report of what is missing).
	seen    [][]atomic.Uint64
	slots   int          // inboxes per area (inboxSlots)
	inSrc   [][]int      // by area index and incoming connection: the source area
	allDone [2]burstDone // by burst parity

	// The burst in progress (on the coordinator, the oldest one in flight;
	// 0: none) and when it was ticked, for the stall check, which runs on
	// a timer goroutine so that it works even when the coordinator's
	// goroutine is stuck in an inline area's step.
	current  atomic.Uint64
	tickAtNs atomic.Int64
	// lastTick is the last burst ticked (coordinator) or whose tick
	// arrived (other nodes).
	lastTick atomic.Uint64
	stalled  chan error
	// The stall check's timer, re-armed by the coordinator at every tick
	// and by the check itself while a run lasts.
	stallMu    sync.Mutex
	stallTimer *time.Timer
	stallOn    bool

	paused     atomic.Bool
	interval   atomic.Int64 // the pacing last asked for, in ns (0: free)
	badControl atomic.Uint64

	result    chan error
	completed atomic.Uint64
	next      npu.Burst // first burst of the next Run
	closeOnce sync.Once
	pinned    *pinnedDispatcher

	// dropBatch, set by tests before Run, loses the batches it selects.
	dropBatch func(src, dst int, node NodeID, burst npu.Burst) bool
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
	if cfg.Run == 0 {
		cfg.Run = rand.Uint64() | 1
	}
	if cfg.Epoch == 0 {
		cfg.Epoch = 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runtime{cfg: cfg, plan: cfg.Plan, log: log, sensors: cfg.Sensors, motors: cfg.Motors,
		result: make(chan error, 1), stalled: make(chan error, 1), next: max(cfg.FirstBurst, 1), window: max(cfg.Window, 1)}
	r.doneBatch = max(1, r.window/2)
	r.points = make([][][]npu.Point, ringSize(r.window))
	for i := range r.points {
		r.points[i] = make([][]npu.Point, len(cfg.Plan.Areas))
	}
	r.slots = inboxSlots(r.window)
	if err := r.setNodes(); err != nil {
		return nil, err
	}
	r.completed.Store(r.next - 1)
	r.interval.Store(int64(max(cfg.Interval, 0)))
	r.areas = make([]*actor.PID, len(cfg.Plan.Areas))
	r.reports = make([]completed, len(cfg.Plan.Areas))
	r.doneBurst = make([]atomic.Uint64, len(cfg.Plan.Areas))
	r.seen = make([][]atomic.Uint64, len(cfg.Plan.Areas))
	r.inSrc = make([][]int, len(cfg.Plan.Areas))
	for i := range cfg.Plan.Areas {
		if cfg.Placement.Node(i) != cfg.Node {
			continue
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

// setNodes checks the cluster description against the placement and
// numbers the participants of the lock step.
func (r *Runtime) setNodes() error {
	cfg := &r.cfg
	r.placement = cfg.Placement
	if cfg.Cluster == nil {
		r.nodes = []NodeID{cfg.Node}
	} else {
		r.nodes = cfg.Cluster.Nodes
	}
	r.nodeIndex = make(map[NodeID]int, len(r.nodes))
	for i, n := range r.nodes {
		if _, dup := r.nodeIndex[n]; dup || n == "" {
			return fmt.Errorf("actors: node %q listed twice or empty in Cluster.Nodes", n)
		}
		r.nodeIndex[n] = i
	}
	if _, ok := r.nodeIndex[cfg.Node]; !ok {
		return fmt.Errorf("actors: this node %q is not among the cluster's nodes %v", cfg.Node, r.nodes)
	}
	if cfg.Cluster != nil {
		if _, ok := r.nodeIndex[cfg.Cluster.Coordinator]; !ok {
			return fmt.Errorf("actors: coordinator %q is not among the cluster's nodes %v", cfg.Cluster.Coordinator, r.nodes)
		}
	}
	for i := range cfg.Plan.Areas {
		if _, ok := r.nodeIndex[cfg.Placement.Node(i)]; !ok {
			return fmt.Errorf("actors: area %d (%s) is placed on node %q, which is not among the cluster's nodes %v",
				i, r.areaName(i), cfg.Placement.Node(i), r.nodes)
		}
	}
	r.nodeDone = make([]atomic.Uint64, len(r.nodes))
	return nil
}

// pointsOf is the sensory points of burst, by area index.
func (r *Runtime) pointsOf(burst npu.Burst) [][]npu.Point {
	return *ringAt(r.points, burst)
}

// leader reports whether this node paces the brain.
func (r *Runtime) leader() bool {
	return r.cfg.Cluster == nil || r.cfg.Cluster.Coordinator == r.cfg.Node
}

func (r *Runtime) participant(n NodeID) int { return r.nodeIndex[n] }
func (r *Runtime) participants() int        { return len(r.nodes) }

// observesAll reports whether this node's observer sees the whole brain.
func (r *Runtime) observesAll() bool {
	return r.leader() || r.cfg.Cluster.Observe
}

// needsFired reports whether this node, as the leader, must have the fired
// indices of every area: it records the brain, or publishes it to nodes
// that do. A completion without them is then refused.
func (r *Runtime) needsFired() bool {
	c := r.cfg.Cluster
	return c != nil && (c.Observe || c.Observed)
}

// wantsFired reports whether the leader asks the other nodes for their
// areas' fired indices in the bursts it ticks now (Config.WantFired).
func (r *Runtime) wantsFired() bool {
	return r.needsFired() || r.cfg.WantFired != nil && r.cfg.WantFired()
}

// progress notes that the lock step moved (follower stall check).
func (r *Runtime) progress() { r.tickAtNs.Store(time.Now().UnixNano()) }

// wire builds every area's downstream routes and, where batches travel over
// NATS, connects and subscribes. A batch to areas of another node travels
// as one message per (source area, destination node).
func (r *Runtime) wire(areas []*area) error {
	overNATS := func(src, dst int) bool {
		return r.cfg.SpikesViaNATS || r.placement.Node(src) != r.placement.Node(dst)
	}
	fanout := make([][]*actor.PID, len(areas)) // by source: local destinations reached over NATS
	remoteIn := make([][]*npu.Connection, len(areas))
	for _, c := range r.plan.Connections {
		if c.Src < 0 || c.Src >= len(areas) || c.Dst < 0 || c.Dst >= len(areas) {
			return fmt.Errorf("actors: connection %d→%d outside the plan's %d areas", c.Src, c.Dst, len(areas))
		}
		nats := overNATS(c.Src, c.Dst)
		if a := areas[c.Src]; a != nil {
			if !nats {
				a.routes = append(a.routes, route{dst: c.Dst, local: r.areas[c.Dst], potentials: c.MPDrivenPSP})
			} else {
				a.addNodeRoute(r.placement.Node(c.Dst), r.spikeSubject(r.placement.Node(c.Dst)), c.MPDrivenPSP)
			}
		}
		if nats && r.areas[c.Dst] != nil {
			fanout[c.Src] = append(fanout[c.Src], r.areas[c.Dst])
			remoteIn[c.Dst] = append(remoteIn[c.Dst], c)
		}
	}
	if r.cfg.Cluster == nil && !r.cfg.SpikesViaNATS {
		return nil
	}
	if r.cfg.Dial == nil {
		return errors.New("actors: spikes or the lock step must travel over NATS but Config.Dial is nil")
	}
	bus, err := newBus(r, fanout, remoteIn)
	if err != nil {
		return err
	}
	r.bus = bus
	return bus.start()
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

// subject is <prefix>.<brain>.<rest>.
func (r *Runtime) subject(rest string) string {
	return r.cfg.SubjectPrefix + "." + r.cfg.Brain + "." + rest
}

// spikeSubject is <prefix>.<brain>.spikes.<token of node>: every batch to
// the areas of one node.
func (r *Runtime) spikeSubject(n NodeID) string { return r.subject("spikes." + NodeToken(n)) }

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

// ErrAborted is returned by Run after Abort.
var ErrAborted = errors.New("actors: run aborted")

// Abort ends Run at once with ErrAborted, even in the middle of a burst
// that cannot complete (a node of the lock step died): the engines of
// this node may then be part way through that burst. The Runtime cannot
// run again.
func (r *Runtime) Abort() {
	select {
	case r.stalled <- ErrAborted:
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

// seenAt is where the arrival of area's batch of burst from its incoming
// connection pos is noted (seen).
func (r *Runtime) seenAt(area, pos int, burst npu.Burst) *atomic.Uint64 {
	return &r.seen[area][r.slots*pos+int(burst&npu.Burst(r.slots-1))]
}
