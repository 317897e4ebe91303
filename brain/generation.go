package brain

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

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
	// began, when set, runs when this node takes up a generation (as a
	// member or on standby), on the supervisor's goroutine.
	began func(g *generation)

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
	// Digests of the bursts completed since the oldest kept checkpoint, as
	// the coordinator computed them (completed), to check a replay against.
	histMu          sync.Mutex
	hist            map[uint64]uint64
	replayMatched   uint64
	replayDiverged  uint64
	replayUnchecked uint64     // no first-run digest here, or only this node's areas seen
	replaying       bool       // a replay is under way: report when it ends
	mu              sync.Mutex // guards status and shown
	status          clusterStatus
	shown           *generation // the newest generation begun here
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
	if s.began != nil {
		s.began(g)
	}
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
