package brain

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cluster"
	"github.com/spikemesh/spikemesh/cluster/ckpt"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// A cluster brain runs in generations (docs/cluster.md, "Faults and
// changes"). A generation is one epoch: its members, the placement of the
// areas over them, the checkpoint it resumed from and the coordinator. When
// the members change — a node joins, leaves on SIGTERM, dies or hangs — the
// coordinator-elect (the lowest-named live member of the newest generation)
// halts every member at a burst boundary, gathers what each completed and
// which checkpoints it holds, picks the newest checkpoint the brain can
// resume from, places the areas over the new members and starts the next
// epoch. Every node builds a fresh runtime for it, restores its areas from
// the checkpoint and goes on; bursts that ran before are replayed from the
// input log, without motor frames and without being counted again.
//
// The generation protocol travels on <prefix>.<brain>.gen.*, all of it on
// one subscription per node so that a node's checkpoint parts are handled
// before its Halted answer (NATS keeps one publisher's order):
//
//	gen.halt                 Halt, from the coordinator-elect to every member
//	gen.halted.<elect>       Halted, the answer once the node's runtime stopped
//	gen.start                Generation, from the elect
//	gen.ckpt                 CheckpointPart, every node's areas every K bursts
//	gen.fetch.<node>         CheckpointRequest: send me checkpoint B
//	gen.parts.<node>         CheckpointPart, the answer to a fetch

// partMax is the largest checkpoint part sent in one message.
const partMax = 256 << 10

// DefaultCheckpointEvery is --checkpoint-every in cluster mode.
const DefaultCheckpointEvery = 100

// DefaultFailureTimeout is --failure-timeout.
const DefaultFailureTimeout = 5 * time.Second

// generation is one epoch of a cluster run.
type generation struct {
	epoch       uint64
	coordinator actors.NodeID
	members     []actors.NodeID // sorted
	placement   actors.Table
	resume      uint64 // checkpoint burst (0: the start)
	replayUntil uint64
	interval    time.Duration
	paused      bool
	startedAt   time.Time
}

func (g *generation) proto(run uint64) *brainv1.Generation {
	m := &brainv1.Generation{Run: run, Epoch: g.epoch, Coordinator: string(g.coordinator), Resume: g.resume,
		ReplayUntil: g.replayUntil, IntervalNs: int64(g.interval), Paused: g.paused}
	for _, n := range g.members {
		m.Members = append(m.Members, string(n))
	}
	for _, n := range g.placement {
		m.Placement = append(m.Placement, string(n))
	}
	return m
}

func generationFrom(m *brainv1.Generation, areas int) (*generation, error) {
	if len(m.Placement) != areas {
		return nil, fmt.Errorf("generation %d places %d areas, the brain has %d", m.Epoch, len(m.Placement), areas)
	}
	g := &generation{epoch: m.Epoch, coordinator: actors.NodeID(m.Coordinator), resume: m.Resume,
		replayUntil: m.ReplayUntil, interval: time.Duration(max(m.IntervalNs, 0)), paused: m.Paused}
	for _, n := range m.Members {
		g.members = append(g.members, actors.NodeID(n))
	}
	g.placement = make(actors.Table, areas)
	for i, n := range m.Placement {
		if !slices.Contains(g.members, actors.NodeID(n)) {
			return nil, fmt.Errorf("generation %d places area %d on %q, not a member", m.Epoch, i, n)
		}
		g.placement[i] = actors.NodeID(n)
	}
	if !slices.Contains(g.members, g.coordinator) {
		return nil, fmt.Errorf("generation %d: coordinator %q is not a member", m.Epoch, m.Coordinator)
	}
	return g, nil
}

// stateSaver is an engine that saves only the state that changes while it
// runs (not its synapse tables); others are checkpointed whole.
type stateSaver interface {
	SaveState() ([]byte, error)
	RestoreState([]byte) error
}

func saveState(e npu.Engine) ([]byte, error) {
	if s, ok := e.(stateSaver); ok {
		return s.SaveState()
	}
	return e.Snapshot()
}

func restoreState(e npu.Engine, data []byte) error {
	if s, ok := e.(stateSaver); ok {
		return s.RestoreState(data)
	}
	return e.Restore(data)
}

// runEnd is a runtime's Run returning.
type runEnd struct {
	rt        *actors.Runtime
	epoch     uint64
	err       error
	completed uint64
	graceful  bool // stopped at a burst boundary (every local area completed `completed`)
}

// supervisor runs this node's part of a cluster brain through its
// generations. Its loop is the only goroutine that touches its fields
// below mu; the checkpoint store and input log are shared with the
// runtime's goroutines under their own locks.
type supervisor struct {
	c     *Config
	plan  *cortical.Plan
	log   *slog.Logger
	cn    *clusterNode
	nc    *nats.Conn
	base  string // <prefix>.<brain>.gen
	self  actors.NodeID
	run   uint64
	every uint64
	fail  time.Duration

	// start builds the runtime of a generation over engines (and, on its
	// coordinator, the services a coordinator offers); undo releases them.
	start func(g *generation, engines []npu.Engine) (rt *actors.Runtime, undo func(), err error)

	// handshook, when set, runs once a generation's handshake succeeded.
	handshook func(rt *actors.Runtime, g *generation)

	drives  [][]npu.Drive
	engines []npu.Engine // by area index; nil where not here

	storeMu sync.Mutex
	store   *ckpt.Store
	inMu    sync.Mutex
	inputs  *ckpt.InputLog

	msgs chan *nats.Msg
	sub  *nats.Subscription

	epoch     uint64 // highest epoch seen
	gen       *generation
	rt        *actors.Runtime
	rtUndo    func()
	rtCancel  context.CancelFunc
	runDone   chan runEnd
	halting   *brainv1.Halt // answer it once the runtime ended
	lead      *leading
	leadAfter time.Time // no new generation before this (after one that could not start)
	fetching  uint64    // checkpoint burst being fetched for pending
	pending   *generation
	pendingAt time.Time
	lastEnd   runEnd // the last runtime's end
	// answered is this node's answer to the newest Halt, from answeredTo.
	answered   *brainv1.Halted
	answeredTo string
	leaving    bool
	done       bool

	// Read by the observer, the motors and status, from other goroutines.
	replayUntil atomic.Uint64
	observed    atomic.Uint64 // last burst handed on to the brain's observer
	// Digests of the bursts observed since the oldest kept checkpoint, to
	// check a replay against.
	histMu         sync.Mutex
	hist           map[uint64]uint64
	replayMatched  uint64
	replayDiverged uint64
	replaying      bool       // a replay is under way: report when it ends
	mu             sync.Mutex // guards status and shown
	status         clusterStatus
	shown          *generation // the newest generation begun here
}

// clusterStatus is what node cluster status shows, kept by the loop.
type clusterStatus struct {
	phase          string
	ckptBurst      uint64
	ckptAt         time.Time
	ckptBytes      int
	recoveries     uint64
	rollbackBursts uint64
}

// leading is the elect's collection of Halted answers.
type leading struct {
	epoch    uint64
	asked    []actors.NodeID
	answers  map[actors.NodeID]*brainv1.Halted
	deadline time.Time
	prev     *generation // the generation being replaced (nil: none known)
	halt     *brainv1.Halt
	sentAt   time.Time
}

func (s *supervisor) subject(rest string) string { return s.base + "." + rest }

// listen subscribes to the generation subjects.
func (s *supervisor) listen() error {
	s.msgs = make(chan *nats.Msg, 1<<14)
	sub, err := s.nc.ChanSubscribe(s.base+".>", s.msgs)
	if err != nil {
		return fmt.Errorf("subscribing to %s.>: %w", s.base, err)
	}
	_ = sub.SetPendingLimits(-1, 1<<30)
	s.sub = sub
	return s.nc.FlushTimeout(10 * time.Second)
}

// checkpoint saves the local areas' state after burst b and sends it to
// every node (called on the runtime's coordinator goroutine).
func (s *supervisor) checkpoint(rt func() *actors.Runtime, leader bool) func(npu.Burst) error {
	return func(b npu.Burst) error {
		for i, e := range s.engines {
			if e == nil {
				continue
			}
			data, err := saveState(e)
			if err != nil {
				return fmt.Errorf("area %d (%s): %w", i, s.plan.Areas[i].ID, err)
			}
			if err := s.publishState(b, i, data); err != nil {
				return err
			}
		}
		if leader {
			st := &brainv1.CoordinatorState{}
			if r := rt(); r != nil {
				st.IntervalNs, st.Paused = int64(r.Interval()), r.Paused()
			}
			data, _ := proto.Marshal(st)
			if err := s.publishState(b, ckpt.Coordinator, data); err != nil {
				return err
			}
		}
		return nil
	}
}

// publishState stores one blob of checkpoint b here and sends it to every
// node.
func (s *supervisor) publishState(b uint64, area int, data []byte) error {
	s.storeMu.Lock()
	done, err := s.store.PutLocal(b, area, data)
	s.storeMu.Unlock()
	if err != nil {
		return fmt.Errorf("checkpoint %d, area %d: %w", b, area, err)
	}
	if done {
		s.checkpointDone(b)
	}
	parts, err := ckpt.Split(b, area, data, partMax)
	if err != nil {
		return fmt.Errorf("checkpoint %d, area %d: %w", b, area, err)
	}
	for _, p := range parts {
		if err := s.sendPart(s.subject("ckpt"), &p); err != nil {
			return err
		}
	}
	return nil
}

func (s *supervisor) sendPart(subject string, p *ckpt.Part) error {
	data, err := proto.Marshal(&brainv1.CheckpointPart{Run: s.run, Burst: p.Burst, Area: int32(p.Area), Offset: p.Offset,
		Total: p.Total, Data: p.Data, Node: string(s.self)})
	if err != nil {
		return err
	}
	if err := s.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("sending checkpoint %d to %s: %w", p.Burst, subject, err)
	}
	return nil
}

// checkpointDone: checkpoint b is complete here; the input log before the
// oldest kept checkpoint can go.
func (s *supervisor) checkpointDone(b uint64) {
	s.storeMu.Lock()
	kept := s.store.Complete()
	cp, _ := s.store.Get(b)
	s.storeMu.Unlock()
	if len(kept) > 0 {
		s.inMu.Lock()
		s.inputs.Prune(kept[0])
		s.inMu.Unlock()
		s.histMu.Lock()
		for b := range s.hist {
			if b <= kept[0] {
				delete(s.hist, b)
			}
		}
		s.histMu.Unlock()
	}
	s.mu.Lock()
	if b > s.status.ckptBurst {
		s.status.ckptBurst, s.status.ckptAt = b, time.Now()
		if cp != nil {
			s.status.ckptBytes = cp.Bytes
		}
	}
	s.mu.Unlock()
}

// logInputs keeps every burst's sensory points (the runtime's Inputs hook).
func (s *supervisor) logInputs(b npu.Burst, points [][]npu.Point) {
	for _, p := range points {
		if len(p) > 0 {
			s.inMu.Lock()
			s.inputs.Put(b, points)
			s.inMu.Unlock()
			return
		}
	}
}

// replaySensors feeds a resumed coordinator: the logged points up to the
// last burst that ran before, then the live feed.
type replaySensors struct {
	s    *supervisor
	feed actors.Sensors
}

func (r replaySensors) Points(b npu.Burst, points [][]npu.Point) {
	if b <= r.s.replayUntil.Load() {
		r.s.inMu.Lock()
		r.s.inputs.Points(b, points)
		r.s.inMu.Unlock()
		return
	}
	if r.feed != nil {
		r.feed.Points(b, points)
	}
}

// observe hands each burst on once: a replayed burst was observed before.
// A replayed burst is checked against a digest of its first run instead:
// the brain is deterministic, so a difference means lost or altered input
// (or a bug), and is logged as an error.
func (s *supervisor) observe(next actors.Observer) actors.Observer {
	return func(r *actors.BurstResult) error {
		h := firedDigest(r.Fired)
		s.histMu.Lock()
		if r.Burst <= s.observed.Load() {
			if want, ok := s.hist[r.Burst]; ok {
				if want == h {
					s.replayMatched++
				} else {
					s.replayDiverged++
					s.log.Error("a replayed burst differs from its first run", "burst", r.Burst)
				}
			}
			s.replayReport(r.Burst)
			s.histMu.Unlock()
			return nil
		}
		s.hist[r.Burst] = h
		if r.Burst > histMax {
			delete(s.hist, r.Burst-histMax) // bounded without checkpoints to prune it
		}
		s.replayReport(r.Burst)
		s.histMu.Unlock()
		s.observed.Store(r.Burst)
		if next == nil {
			return nil
		}
		return next(r)
	}
}

// replayReport logs the outcome of a replay once it reached its last
// burst (histMu held).
func (s *supervisor) replayReport(b uint64) {
	if s.replaying && b >= s.replayUntil.Load() {
		s.replaying = false
		s.log.Info("replay checked against the first run", "until", s.replayUntil.Load(), "matched", s.replayMatched, "diverged", s.replayDiverged)
	}
}

// histMax bounds the digests kept for replay checks (bursts).
const histMax = 1 << 16

// firedDigest sums up what fired in a burst (FNV-1a over area and index).
func firedDigest(fired [][]uint32) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint32) {
		for k := 0; k < 4; k++ {
			h ^= uint64(byte(v >> (8 * k)))
			h *= 1099511628211
		}
	}
	for a, f := range fired {
		if len(f) == 0 {
			continue
		}
		mix(uint32(a))
		mix(uint32(len(f)))
		for _, v := range f {
			mix(v)
		}
	}
	return h
}

// view is the live members that may take part in a generation: alive,
// listening for generations and not leaving, sorted by name; and the
// elect, the lowest-named of them among those in the newest generation.
func (s *supervisor) view() (members []cluster.Member, elect actors.NodeID) {
	all := s.cn.ml.Members()
	var newest uint64
	for _, m := range all {
		if m.Meta.State != "" && m.Meta.State != cluster.StateLeaving {
			newest = max(newest, m.Meta.Epoch)
		}
	}
	newest = max(newest, s.epochOf(s.gen))
	for _, m := range all {
		inGen := s.gen != nil && slices.Contains(s.gen.members, actors.NodeID(m.Name))
		if m.Meta.State == cluster.StateLeaving || m.Meta.State == cluster.StateDone || m.Meta.State == "" || (m.Meta.State == cluster.StateForming && !inGen) ||
			(m.Meta.Run != 0 && m.Meta.Run != s.run) {
			continue // leaving, not listening yet, or another run of the brain
		}
		if m.Name == string(s.self) && s.leaving {
			continue
		}
		members = append(members, m)
	}
	for _, m := range members {
		ep := m.Meta.Epoch
		if m.Name == string(s.self) {
			ep = s.epochOf(s.gen)
		}
		if ep == newest {
			return members, actors.NodeID(m.Name)
		}
	}
	if len(members) > 0 {
		return members, actors.NodeID(members[0].Name)
	}
	return nil, ""
}

func (s *supervisor) epochOf(g *generation) uint64 {
	if g == nil {
		return 0
	}
	return g.epoch
}

// setMeta tells the other nodes this node's state and epoch.
func (s *supervisor) setMeta(state string) { s.setMetaWait(state, 0) }

// setMetaWait is setMeta, waiting up to wait for the news to be sent.
func (s *supervisor) setMetaWait(state string, wait time.Duration) {
	meta := s.cn.meta
	meta.State, meta.Epoch, meta.Run = state, s.epochOf(s.gen), s.run
	s.cn.meta = meta
	if err := s.cn.ml.UpdateMeta(meta, wait); err != nil {
		s.log.Warn("cluster: updating this node's metadata", "err", err)
	}
}

// finishedElsewhere reports whether another node ran the brain's last
// burst.
func (s *supervisor) finishedElsewhere() bool {
	for _, m := range s.cn.ml.Members() {
		if m.Name != string(s.self) && m.Meta.State == cluster.StateDone && (m.Meta.Run == s.run || s.run == 0) {
			return true
		}
	}
	return false
}

func (s *supervisor) phase() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.phase
}

func (s *supervisor) setPhase(p string) {
	s.mu.Lock()
	s.status.phase = p
	s.mu.Unlock()
}

// loop runs generations until the brain's last burst, ctx's end (this node
// leaves) or a fault it cannot recover from. first is the generation the
// nodes formed together (nil for a node that joins a running brain).
func (s *supervisor) loop(ctx context.Context, first *generation) error {
	s.runDone = make(chan runEnd, 4)
	s.engines = make([]npu.Engine, len(s.plan.Areas))
	defer s.closeEngines()
	if first != nil {
		s.epoch = first.epoch
		if err := s.begin(first); err != nil {
			return err
		}
	} else {
		s.setMeta(cluster.StateStandby)
		s.setPhase("standby")
		s.log.Info("joined a running brain; waiting for the next generation", "node", s.self)
	}
	tick := time.NewTicker(max(s.fail/10, 50*time.Millisecond))
	defer tick.Stop()
	events := s.cn.ml.Events()
	var leaveBy time.Time
	ctxDone := ctx.Done()
	for !s.done {
		select {
		case <-ctxDone:
			ctxDone = nil
			if err := s.startLeaving(); err != nil || s.done {
				s.stopRuntime()
				return err
			}
			leaveBy = time.Now().Add(max(4*s.fail, 10*time.Second))
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			s.log.Debug("cluster: membership", "event", e.Kind, "member", e.Member.Name, "state", e.Member.Meta.State)
		case m := <-s.msgs:
			if err := s.handle(m); err != nil {
				s.stopRuntime()
				return err
			}
		case end := <-s.runDone:
			if err := s.ended(end); err != nil {
				return err
			}
		case <-tick.C:
			if s.leaving && s.othersStaying() == 0 {
				s.log.Info("leaving: every other node leaves too; stopping", "node", s.self)
				s.stopRuntime()
				return nil
			}
			if s.leaving && !leaveBy.IsZero() && time.Now().After(leaveBy) {
				s.log.Warn("cluster: leaving without handing the areas over (no generation came in time)")
				s.stopRuntime()
				return nil
			}
			if s.rt == nil && s.halting == nil && s.lead == nil && s.finishedElsewhere() {
				s.log.Info("the brain ran its last burst on the other nodes; stopping", "node", s.self)
				return nil
			}
			if s.pending != nil && time.Since(s.pendingAt) > 2*s.fail {
				s.pendingAt = time.Now()
				s.fetch(s.pending.coordinator, s.pending.resume)
			}
			s.maybeLead()
			s.leadTimeout()
		}
	}
	return nil
}

// othersStaying counts the other live members that do not leave.
func (s *supervisor) othersStaying() int {
	n := 0
	for _, m := range s.cn.ml.Members() {
		if m.Name != string(s.self) && m.Meta.State != cluster.StateLeaving {
			n++
		}
	}
	return n
}

// startLeaving: SIGTERM. With other members, tell them and wait for the
// generation without this node; alone, just stop.
func (s *supervisor) startLeaving() error {
	s.leaving = true
	if s.othersStaying() == 0 || s.gen == nil {
		s.done = true
		return nil
	}
	s.log.Info("leaving: handing this node's areas to the others", "node", s.self)
	s.setPhase("leaving")
	s.setMeta(cluster.StateLeaving)
	return nil
}

// begin builds and starts this node's runtime for generation g.
func (s *supervisor) begin(g *generation) error {
	s.gen, s.pending = g, nil
	s.epoch = max(s.epoch, g.epoch)
	s.mu.Lock()
	s.shown = g
	s.mu.Unlock()
	s.replayUntil.Store(g.replayUntil)
	s.histMu.Lock()
	s.replaying = g.replayUntil > g.resume
	s.histMu.Unlock()
	if !slices.Contains(g.members, s.self) {
		s.rt = nil
		if s.leaving {
			s.log.Info("areas handed over; leaving", "node", s.self, "epoch", g.epoch)
			s.done = true
			return nil
		}
		s.closeEngines()
		s.setMeta(cluster.StateStandby)
		s.setPhase("standby")
		return nil
	}
	var cp *ckpt.Checkpoint
	if g.resume > 0 {
		s.storeMu.Lock()
		cp, _ = s.store.Get(g.resume)
		s.storeMu.Unlock()
		if cp == nil {
			return fmt.Errorf("generation %d resumes from checkpoint %d, which this node lacks", g.epoch, g.resume)
		}
	}
	// Engines: keep those of areas that stay, build the others, and bring
	// every one to the checkpoint.
	keep := func(i int) bool { return g.placement[i] == s.self }
	for i, e := range s.engines {
		if e != nil && (!keep(i) || g.resume == 0) {
			closeEngine(e)
			s.engines[i] = nil
		}
	}
	fresh, _, err := EnginesFor(s.plan, func(i int) bool { return keep(i) && s.engines[i] == nil }, s.drives, s.c.Threads)
	if err != nil {
		return err
	}
	for i, e := range fresh {
		if e != nil {
			s.engines[i] = e
		}
	}
	if cp != nil {
		for i, e := range s.engines {
			if e == nil {
				continue
			}
			if err := restoreState(e, cp.Areas[i]); err != nil {
				return fmt.Errorf("restoring area %d (%s) from checkpoint %d: %w", i, s.plan.Areas[i].ID, g.resume, err)
			}
		}
	}
	rt, undo, err := s.start(g, slices.Clone(s.engines))
	if err != nil {
		return err
	}
	s.rt, s.rtUndo = rt, undo
	ctx, cancel := context.WithCancel(context.Background())
	s.rtCancel = cancel
	g.startedAt = time.Now()
	s.setMeta(cluster.StateRunning)
	s.setPhase("running")
	local := 0
	for _, n := range g.placement {
		if n == s.self {
			local++
		}
	}
	s.log.Info("generation started", "node", s.self, "epoch", g.epoch, "coordinator", g.coordinator,
		"members", len(g.members), "areas_here", local, "resume", g.resume, "replay_until", g.replayUntil)
	bursts := uint64(0)
	if s.c.Bursts > 0 {
		if s.c.Bursts <= g.resume {
			bursts = 0
		} else {
			bursts = s.c.Bursts - g.resume
		}
	}
	hto := s.c.Cluster.JoinTimeout
	if g.epoch > 1 {
		hto = max(4*s.fail, 5*time.Second)
	}
	epoch := g.epoch
	go func() {
		hctx, hcancel := context.WithTimeout(ctx, hto)
		err := rt.Handshake(hctx)
		hcancel()
		if err != nil {
			err = fmt.Errorf("cluster handshake of epoch %d: %w", epoch, err)
		} else {
			if s.handshook != nil {
				s.handshook(rt, g)
			}
			if epoch > 1 {
				s.log.Info("generation running", "node", s.self, "epoch", epoch, "after", time.Since(g.startedAt).Round(time.Millisecond))
			}
			err = rt.Run(ctx, bursts)
		}
		s.runDone <- runEnd{rt: rt, epoch: epoch, err: err, completed: rt.Completed(),
			graceful: err == nil}
	}()
	return nil
}

func closeEngine(e npu.Engine) {
	if c, ok := e.(interface{ Close() }); ok {
		c.Close()
	}
}

func (s *supervisor) closeEngines() {
	for i, e := range s.engines {
		if e != nil {
			closeEngine(e)
			s.engines[i] = nil
		}
	}
}

// stopRuntime stops the current runtime at once (this node is ending).
func (s *supervisor) stopRuntime() {
	if s.rt == nil {
		return
	}
	s.rtCancel()
	select {
	case <-s.runDone:
	case <-time.After(s.fail):
		s.rt.Abort()
		<-s.runDone
	}
	s.rtUndo()
	s.rt = nil
}

// ended: the runtime's Run returned.
func (s *supervisor) ended(end runEnd) error {
	if end.rt != s.rt {
		return nil
	}
	s.rtUndo()
	s.rt, s.rtUndo = nil, nil
	s.rtCancel()
	last := s.c.Bursts > 0 && end.completed >= s.c.Bursts
	switch {
	case last && end.err == nil:
		s.done = true
		// A node that is not running now (it was fenced off, or joined
		// late) learns from this that the brain has ended.
		s.setMetaWait(cluster.StateDone, 500*time.Millisecond)
		return nil
	case s.halting != nil:
		return s.answerHalt(end)
	case end.err == nil:
		// The coordinator stopped the lock step for a new generation.
		s.setPhase("halted")
		return nil
	}
	if s.gen != nil && s.gen.coordinator == s.self && len(s.gen.members) == 1 {
		return end.err // alone: nobody to recover with
	}
	s.log.Warn("the lock step broke; waiting for the next generation", "node", s.self, "epoch", end.epoch,
		"completed", end.completed, "err", end.err)
	s.setPhase("recovering")
	s.lastEnd = end
	return nil
}

// handle takes one message of the generation protocol.
func (s *supervisor) handle(m *nats.Msg) error {
	rest := strings.TrimPrefix(m.Subject, s.base+".")
	kind, to, _ := strings.Cut(rest, ".")
	switch kind {
	case "ckpt", "parts":
		if kind == "parts" && to != actors.NodeToken(s.self) {
			return nil
		}
		var p brainv1.CheckpointPart
		if err := proto.Unmarshal(m.Data, &p); err != nil || p.Run != s.run {
			return nil
		}
		if p.Node == string(s.self) && kind == "ckpt" {
			return nil
		}
		s.storeMu.Lock()
		done, err := s.store.Add(ckpt.Part{Burst: p.Burst, Area: int(p.Area), Offset: p.Offset, Total: p.Total, Data: p.Data})
		s.storeMu.Unlock()
		if err != nil {
			s.log.Warn("cluster: bad checkpoint part", "from", p.Node, "err", err)
			return nil
		}
		if done {
			s.checkpointDone(p.Burst)
			if s.pending != nil && s.fetching == p.Burst {
				s.fetching = 0
				return s.begin(s.pending)
			}
			s.leadTimeout()
		}
	case "fetch":
		if to != actors.NodeToken(s.self) {
			return nil
		}
		var q brainv1.CheckpointRequest
		if err := proto.Unmarshal(m.Data, &q); err != nil || q.Run != s.run {
			return nil
		}
		s.storeMu.Lock()
		parts, err := s.store.Parts(q.Burst, partMax)
		s.storeMu.Unlock()
		if err != nil || m.Reply == "" {
			return nil
		}
		for i := range parts {
			if err := s.sendPart(m.Reply, &parts[i]); err != nil {
				s.log.Warn("cluster: sending a checkpoint", "err", err)
				return nil
			}
		}
	case "halt":
		var h brainv1.Halt
		if err := proto.Unmarshal(m.Data, &h); err != nil || h.Run != s.run {
			return nil
		}
		return s.onHalt(&h)
	case "halted":
		if to != actors.NodeToken(s.self) {
			return nil
		}
		var h brainv1.Halted
		if err := proto.Unmarshal(m.Data, &h); err != nil || h.Run != s.run {
			return nil
		}
		s.onHalted(&h)
	case "start":
		var g brainv1.Generation
		if err := proto.Unmarshal(m.Data, &g); err != nil || g.Run != s.run {
			return nil
		}
		return s.onGeneration(&g)
	}
	return nil
}

// reply publishes m on subject.
func (s *supervisor) reply(subject string, m proto.Message) {
	data, err := proto.Marshal(m)
	if err == nil {
		err = s.nc.Publish(subject, data)
	}
	if err != nil {
		s.log.Warn("cluster: sending on "+subject, "err", err)
	}
}

// onHalt: the elect of the next epoch asks this node to stop. The elect
// sends its Halt again until every member answered; a node answers a
// repeat with the answer it gave.
func (s *supervisor) onHalt(h *brainv1.Halt) error {
	to := s.subject("halted." + actors.NodeToken(actors.NodeID(h.From)))
	if a := s.answered; a != nil && a.Epoch == h.Epoch && s.answeredTo == h.From {
		s.reply(to, a)
		return nil
	}
	if s.halting != nil && s.halting.Epoch == h.Epoch && s.halting.From == h.From {
		return nil
	}
	if h.Epoch <= s.epoch {
		s.reply(to, &brainv1.Halted{Run: s.run, Epoch: s.epoch, Node: string(s.self),
			Error: fmt.Sprintf("epoch %d is not newer than this node's %d", h.Epoch, s.epoch)})
		return nil
	}
	s.epoch = h.Epoch
	s.pending, s.fetching = nil, 0
	if s.lead != nil && s.lead.epoch < h.Epoch {
		s.lead = nil
	}
	s.halting = h
	s.setPhase("halting")
	if s.rt == nil {
		return s.answerHalt(runEnd{completed: s.lastEnd.completed})
	}
	cancel, rt := s.rtCancel, s.rt
	for _, n := range s.gen.members {
		if !slices.Contains(h.Members, string(n)) {
			// A member of this generation is gone: the burst in progress
			// may never complete, and the brain rolls back anyway.
			cancel()
			rt.Abort()
			return nil
		}
	}
	if s.gen.coordinator == s.self {
		// The lock step stops at a burst boundary and tells the other
		// nodes where.
		cancel()
	}
	// A follower waits for the coordinator's stop; if none comes (the
	// coordinator is gone), it stops between bursts itself, and failing
	// that, where it is.
	w := min(max(s.fail/2, 200*time.Millisecond), 2*time.Second)
	time.AfterFunc(w, cancel)
	time.AfterFunc(max(2*w, s.fail), rt.Abort)
	return nil
}

// answerHalt sends the elect this node's halt state once its runtime
// stopped: its areas' state when it stopped at a burst boundary, then what
// it completed and the checkpoints it holds.
func (s *supervisor) answerHalt(end runEnd) error {
	h := s.halting
	s.halting = nil
	s.lastEnd = end
	resp := &brainv1.Halted{Run: s.run, Epoch: h.Epoch, Node: string(s.self), Completed: end.completed, Leaving: s.leaving}
	if end.graceful && end.completed > 0 && s.gen != nil && end.epoch == s.gen.epoch {
		s.storeMu.Lock()
		_, have := s.store.Get(end.completed)
		s.storeMu.Unlock()
		ok := true
		if !have {
			for i, e := range s.engines {
				if e == nil || s.gen.placement[i] != s.self {
					continue
				}
				data, err := saveState(e)
				if err == nil {
					err = s.publishState(end.completed, i, data)
				}
				if err != nil {
					s.log.Warn("cluster: saving the halt state", "area", i, "err", err)
					ok = false
					break
				}
			}
		}
		if ok {
			resp.HaltBurst = end.completed
		}
	}
	s.storeMu.Lock()
	resp.Checkpoints = s.store.Complete()
	s.storeMu.Unlock()
	s.answered, s.answeredTo = resp, h.From
	s.reply(s.subject("halted."+actors.NodeToken(actors.NodeID(h.From))), resp)
	s.setPhase("halted")
	return nil
}

// onHalted: a member stopped (elect).
func (s *supervisor) onHalted(h *brainv1.Halted) {
	l := s.lead
	if h.Error != "" {
		s.epoch = max(s.epoch, h.Epoch)
		if l != nil && h.Epoch >= l.epoch {
			s.log.Info("cluster: a newer epoch exists; trying again", "node", h.Node, "answer", h.Error)
			s.lead = nil
		}
		return
	}
	if l == nil || h.Epoch != l.epoch {
		return
	}
	l.answers[actors.NodeID(h.Node)] = h
	s.leadTimeout()
}

// maybeLead starts a new generation when this node is the elect and the
// live members are not those of the running generation.
func (s *supervisor) maybeLead() {
	if s.done || s.lead != nil || s.pending != nil || s.halting != nil || s.gen == nil || time.Now().Before(s.leadAfter) {
		return
	}
	members, elect := s.view()
	if elect != s.self {
		return
	}
	need := s.rt == nil
	if !need {
		if len(members) != len(s.gen.members) {
			need = true
		} else {
			for k, m := range members {
				if actors.NodeID(m.Name) != s.gen.members[k] {
					need = true
				}
			}
		}
	}
	if !need {
		return
	}
	var asked []actors.NodeID
	for _, m := range s.cn.ml.Members() {
		if m.Meta.State != "" && (m.Meta.State != cluster.StateForming || slices.Contains(s.gen.members, actors.NodeID(m.Name))) {
			asked = append(asked, actors.NodeID(m.Name))
		}
	}
	if !slices.Contains(asked, s.self) {
		asked = append(asked, s.self)
	}
	e := s.epoch + 1
	s.lead = &leading{epoch: e, asked: asked, answers: map[actors.NodeID]*brainv1.Halted{},
		deadline: time.Now().Add(max(2*s.fail, 2*time.Second)), prev: s.gen}
	s.log.Info("cluster: members changed; halting for a new generation", "node", s.self, "epoch", e, "members", asked)
	s.setPhase("reconfiguring")
	s.lead.halt = &brainv1.Halt{Run: s.run, Epoch: e, From: string(s.self), Members: names(asked)}
	s.lead.sentAt = time.Now()
	s.reply(s.subject("halt"), s.lead.halt)
}

func names(ns []actors.NodeID) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n)
	}
	return out
}

// leadTimeout decides the next generation once every member asked has
// answered, or the time is up (elect).
func (s *supervisor) leadTimeout() {
	l := s.lead
	if l == nil {
		return
	}
	now := time.Now()
	if len(l.answers) < len(l.asked) && now.Before(l.deadline) {
		if now.Sub(l.sentAt) >= 250*time.Millisecond {
			l.sentAt = now
			s.reply(s.subject("halt"), l.halt) // for members that missed it
		}
		return
	}
	if _, ok := l.answers[s.self]; !ok {
		if now.After(l.deadline.Add(s.fail)) {
			s.lead = nil // this node's own answer never came: try again
		}
		return
	}
	var answered []actors.NodeID
	var members []actors.NodeID
	for n, h := range l.answers {
		answered = append(answered, n)
		if !h.Leaving {
			members = append(members, n)
		}
	}
	slices.Sort(answered)
	slices.Sort(members)
	prev := l.prev
	lost := 0
	if prev != nil {
		alive := 0
		for _, n := range prev.members {
			if l.answers[n] != nil {
				alive++
			}
		}
		lost = len(prev.members) - alive
		if 2*alive < len(prev.members) {
			if s.phase() != "waiting for a majority" {
				s.log.Warn("cluster: fewer than half of the generation's members answer; waiting for the others",
					"epoch", prev.epoch, "members", prev.members, "answered", answered)
			}
			s.lead = nil
			s.leadAfter = now.Add(s.fail)
			s.setPhase("waiting for a majority")
			return
		}
	}
	if len(members) == 0 || !slices.Contains(members, s.self) {
		s.lead = nil
		return
	}
	// Resume from the halt boundary when every area's owner stopped there
	// and sent its state; else from the newest checkpoint anyone holds.
	var resume uint64
	boundary := prev != nil
	var x uint64
	if prev != nil {
		for _, n := range prev.placement {
			h := l.answers[n]
			if h == nil || h.HaltBurst == 0 || (x != 0 && h.HaltBurst != x) {
				boundary = false
				break
			}
			x = h.HaltBurst
		}
	}
	s.storeMu.Lock()
	held := s.store.Complete()
	s.storeMu.Unlock()
	if boundary {
		if !slices.Contains(held, x) {
			if now.Before(l.deadline.Add(s.fail)) {
				return // its parts are on their way
			}
			boundary = false
		} else {
			resume = x
		}
	}
	if !boundary {
		if len(held) > 0 {
			resume = held[len(held)-1]
		}
		for _, h := range l.answers {
			for _, b := range h.Checkpoints {
				if b > resume {
					resume = b
				}
			}
		}
		if resume > 0 && !slices.Contains(held, resume) {
			// Another node holds a newer checkpoint: fetch it first.
			for n, h := range l.answers {
				if slices.Contains(h.Checkpoints, resume) && n != s.self {
					if l.deadline.After(now) || now.Before(l.deadline.Add(2*s.fail)) {
						s.fetch(n, resume)
						return
					}
				}
			}
			resume = 0
			if len(held) > 0 {
				resume = held[len(held)-1]
			}
		}
	}
	until := s.lastEnd.completed
	for _, h := range l.answers {
		until = max(until, h.Completed)
	}
	s.inMu.Lock()
	whole := s.inputs.Replayable(resume)
	s.inMu.Unlock()
	if !whole && until > resume {
		s.log.Error("the input log no longer reaches back to the checkpoint: the replay lacks some sensory input",
			"checkpoint", resume, "replay_until", until)
	}
	nodes := make([]cluster.Node, len(members))
	caps := map[string]float64{}
	for _, m := range s.cn.ml.Members() {
		caps[m.Name] = m.Meta.Capacity
	}
	for i, n := range members {
		nodes[i] = cluster.Node{Name: string(n), Capacity: caps[string(n)]}
	}
	var prevOwners []string
	if prev != nil {
		prevOwners = make([]string, len(prev.placement))
		for i, n := range prev.placement {
			prevOwners[i] = string(n)
		}
	}
	owners, err := cluster.Place(areaWeights(s.plan), nodes, prevOwners)
	if err != nil {
		s.log.Error("cluster: placing the areas", "err", err)
		s.lead = nil
		return
	}
	g := &generation{epoch: l.epoch, coordinator: s.self, members: members, placement: make(actors.Table, len(owners)),
		resume: resume, replayUntil: until, interval: interval(s.c, s.plan)}
	for i, o := range owners {
		g.placement[i] = actors.NodeID(o)
	}
	if resume > 0 {
		s.storeMu.Lock()
		cp, _ := s.store.Get(resume)
		s.storeMu.Unlock()
		var st brainv1.CoordinatorState
		if cp != nil && cp.Coordinator != nil && proto.Unmarshal(cp.Coordinator, &st) == nil {
			g.interval, g.paused = time.Duration(max(st.IntervalNs, 0)), st.Paused
		}
	}
	if lost > 0 {
		s.mu.Lock()
		s.status.recoveries++
		s.status.rollbackBursts += until - min(until, resume)
		s.mu.Unlock()
	}
	s.log.Info("cluster: new generation", "epoch", g.epoch, "members", members, "resume", resume,
		"replay_until", until, "lost", lost)
	s.lead = nil
	s.reply(s.subject("start"), g.proto(s.run))
}

// fetch asks node n for checkpoint b; its parts come back on
// gen.parts.<this node>.
func (s *supervisor) fetch(n actors.NodeID, b uint64) {
	data, _ := proto.Marshal(&brainv1.CheckpointRequest{Run: s.run, Burst: b})
	if err := s.nc.PublishRequest(s.subject("fetch."+actors.NodeToken(n)), s.subject("parts."+actors.NodeToken(s.self)), data); err != nil {
		s.log.Warn("cluster: asking for a checkpoint", "node", n, "burst", b, "err", err)
	}
}

// onGeneration: the elect started an epoch.
func (s *supervisor) onGeneration(m *brainv1.Generation) error {
	if m.Epoch < s.epoch || (s.gen != nil && m.Epoch <= s.gen.epoch) {
		return nil
	}
	g, err := generationFrom(m, len(s.plan.Areas))
	if err != nil {
		s.log.Warn("cluster: ignoring a bad generation", "err", err)
		return nil
	}
	if s.rt != nil {
		s.stopRuntime()
	}
	s.halting, s.lead, s.epoch = nil, nil, m.Epoch
	if slices.Contains(g.members, s.self) && g.resume > 0 {
		s.storeMu.Lock()
		_, have := s.store.Get(g.resume)
		s.storeMu.Unlock()
		if !have {
			s.pending, s.fetching = g, g.resume
			s.pendingAt = time.Now()
			s.fetch(g.coordinator, g.resume)
			return nil
		}
	}
	return s.begin(g)
}

// clusterStatus is what node cluster status shows, from this node's view
// (safe from any goroutine).
func (s *supervisor) clusterStatus(completed uint64) *brainv1.ClusterStatus {
	s.mu.Lock()
	st := s.status
	g := s.shown
	s.mu.Unlock()
	out := &brainv1.ClusterStatus{Brain: s.c.Brain, Run: s.run, Burst: max(completed, s.observed.Load()), Phase: st.phase,
		CheckpointBurst: st.ckptBurst, CheckpointBytes: uint64(st.ckptBytes), CheckpointEvery: s.every,
		Recoveries: st.recoveries, RollbackBursts: st.rollbackBursts, Node: string(s.self)}
	if !st.ckptAt.IsZero() {
		out.CheckpointUnixNs = st.ckptAt.UnixNano()
	}
	areas := map[actors.NodeID]uint32{}
	if g != nil {
		out.Epoch, out.Coordinator = g.epoch, string(g.coordinator)
		for i, n := range g.placement {
			a := &s.plan.Areas[i]
			out.Placement = append(out.Placement, &brainv1.AreaPlacement{Index: uint32(i), Id: a.ID.String(), Name: a.Name, Node: string(n)})
			areas[n]++
		}
	}
	for _, m := range s.cn.ml.Members() {
		state := m.Meta.State
		if state == "" {
			state = "alive"
		}
		out.Members = append(out.Members, &brainv1.ClusterMember{Name: m.Name, State: state,
			Coordinator: g != nil && actors.NodeID(m.Name) == g.coordinator, Areas: areas[actors.NodeID(m.Name)],
			Capacity: m.Meta.Capacity, Address: m.Addr})
	}
	return out
}
