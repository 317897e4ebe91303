package actors

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spikemesh/spikemesh/cluster/lockstep"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
)

func areaToken(id cortical.ID) string { return pns.ID(id).Token() }

// coordinator is the node's burst agent, the one actor that talks to the
// lock step. On the brain's coordinator node (the leader, and the only node
// of a single-process brain) it drives a lockstep.Machine whose
// participants are the nodes: it fixes each burst's sensory input, ticks
// the local areas and every other node, gathers completions and paces. On
// any other node (a follower) it ticks the local areas when the leader's
// Tick arrives and reports their completion back. It is only touched by its
// own mailbox goroutine.
//
// The machine may tick up to Config.Window bursts ahead of the last
// complete one; the local areas still run one burst at a time, in order: a
// burst ticked while they run the one before waits here (leader: the
// machine's Ticked; follower: queue) and starts the moment they finish.
type coordinator struct {
	rt     *Runtime
	leader bool
	m      *lockstep.Machine // leader only
	self   int               // this node's participant index

	running  bool
	stopping bool
	last     npu.Burst // last burst to run (0: until stopped)
	burst    npu.Burst // burst ticked to the local areas, not yet done locally (0: none)
	local    npu.Burst // last burst the local areas completed

	ticks   [2]tick       // by burst parity
	results []BurstResult // by burst modulo the window (leader: the bursts in flight)
	tickAt  []time.Time   // by burst modulo the window
	failed  error         // a fault that arrived between runs

	wakeGen uint64 // generation of the armed pacing timer
	// batching: apply leaves the ticks it gathers, and the start of the
	// local areas, to the caller (leader, while it takes several
	// completions of one message).
	batching bool

	// Follower: the leader's ticks not started yet (before Run, or while
	// the local areas run the burst before), oldest first, at most
	// Config.Window; and where the leader said the run ends.
	queued []*remoteTick
	// countsOnly: the leader's tick of the burst the local areas run asked
	// for counts and digests, not indices.
	countsOnly bool
	stopAt     npu.Burst
	stopped    bool
	seen       npu.Burst // last BurstRecord handed to the observer
}

func newCoordinator(r *Runtime) *coordinator {
	n := len(r.plan.Areas)
	c := &coordinator{
		rt:      r,
		leader:  r.leader(),
		self:    r.participant(r.cfg.Node),
		results: make([]BurstResult, ringSize(r.window)),
		tickAt:  make([]time.Time, ringSize(r.window)),
		local:   r.next - 1,
		seen:    r.next - 1,
	}
	for i := range c.results {
		c.results[i].Fired = make([][]uint32, n)
		c.results[i].Counts = make([]int, n)
		c.results[i].digests = make([]uint64, n)
	}
	if c.leader {
		c.m = lockstep.New(r.participants(), r.cfg.Interval)
		_ = c.m.ResumeAfter(r.next - 1) // a new machine: cannot fail
		_ = c.m.SetWindow(r.window)     // nothing in flight: cannot fail
	}
	return c
}

func (c *coordinator) result(b npu.Burst) *BurstResult { return ringAt(c.results, b) }

func (c *coordinator) tickTime(b npu.Burst) *time.Time { return ringAt(c.tickAt, b) }

// Receive implements actor.Actor.
func (c *coordinator) Receive(ctx actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.rt.log.Error("coordinator panicked", "burst", c.burst, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.finish(fmt.Errorf("actors: coordinator panic in burst %d: %v", c.burst, r))
		}
	}()
	switch m := ctx.Message().(type) {
	case *start:
		c.onStart(ctx, m)
	case *burstDone:
		c.onLocalDone(ctx, m.burst)
	case *remoteDone:
		c.onRemoteDone(ctx, m)
	case *remoteTick:
		c.onRemoteTick(ctx, m)
	case *burstRecord:
		c.onRecord(m)
	case *wake:
		if c.leader && m.gen == c.wakeGen {
			c.apply(ctx, c.m.Wake(time.Now()))
		}
	case *setInterval:
		if c.leader {
			c.apply(ctx, c.m.SetInterval(time.Now(), m.d))
		}
	case *pause:
		if !c.leader {
			return
		}
		c.rt.paused.Store(m.on)
		if m.on {
			c.m.Pause()
		} else {
			c.apply(ctx, c.m.Resume(time.Now()))
		}
	case *stop:
		c.stopping = true
		if !c.running {
			return
		}
		if c.leader {
			c.apply(ctx, c.m.Stop())
		} else if c.burst == 0 {
			// A follower stopped on its own (its process is ending): it
			// leaves the lock step; the leader notices the missing node.
			c.finish(nil)
		}
	case *fault:
		if !c.running && c.failed == nil {
			c.failed = m.err
		}
		c.finish(m.err)
	}
}

func (c *coordinator) onStart(ctx actor.Context, m *start) {
	if c.running {
		c.finish(fmt.Errorf("actors: Run called while running"))
		return
	}
	c.running, c.stopping, c.last = true, false, m.last
	if c.failed != nil {
		c.finish(c.failed)
		return
	}
	if !c.leader {
		c.rt.progress()
		c.armStall()
		c.startQueued(ctx)
		if c.burst == 0 {
			c.maybeEnd() // the leader may have said stop before this Run
		}
		return
	}
	out, err := c.m.Start(time.Now(), m.first, m.last)
	if err != nil {
		c.finish(err)
		return
	}
	c.apply(ctx, out)
}

// apply carries out what the lock step decided (leader).
func (c *coordinator) apply(ctx actor.Context, out lockstep.Output) {
	if b := out.Complete; b != 0 {
		if err := c.complete(b); err != nil {
			c.finish(err)
			return
		}
	}
	first, last := out.Ticks()
	for b := first; b != 0 && b <= last && c.running; b++ {
		c.tickAll(b)
	}
	// Before any local step (release): an area that runs inline holds this
	// goroutine.
	c.setCurrent()
	if !out.Wake.IsZero() {
		c.wakeGen++
		gen, self := c.wakeGen, ctx.Self()
		time.AfterFunc(time.Until(out.Wake), func() { c.rt.system.Root.Send(self, &wake{gen: gen}) })
	}
	if out.Finished {
		if err := c.rt.bus.publishTicks(); err != nil {
			c.finish(err)
			return
		}
		c.rt.bus.sendStop(c.m.Completed())
		c.finish(nil)
		return
	}
	if !c.batching {
		c.release(ctx)
	}
}

// release publishes the ticks gathered for the other nodes, then starts the
// next burst ticked on the local areas when they are free (else they start
// it when they finish the burst before) (leader).
func (c *coordinator) release(ctx actor.Context) {
	if err := c.rt.bus.publishTicks(); err != nil {
		c.finish(err)
		return
	}
	if c.running && c.burst == 0 && c.m.Ticked() > c.local {
		c.tickLocal(ctx, c.local+1)
	}
}

// tickAll starts burst everywhere (leader): it fixes the sensory input and
// adds the Tick of every other node to those release publishes.
func (c *coordinator) tickAll(burst npu.Burst) {
	// Burst-window is complete everywhere, so no area reads these points.
	pts := c.rt.pointsOf(burst)
	clear(pts)
	if c.rt.sensors != nil {
		c.rt.sensors.Points(burst, pts)
		if c.rt.window > 1 {
			// Sensors keep their slices only until the next call; the
			// local areas may run this burst after the next tick.
			for a, p := range pts {
				if p != nil {
					pts[a] = append([]npu.Point(nil), p...)
				}
			}
		}
	}
	if in := c.rt.cfg.Inputs; in != nil {
		in(burst, pts)
	}
	res := c.result(burst)
	res.reset()
	*c.tickTime(burst) = time.Now()
	c.rt.lastTick.Store(burst)
	if err := c.rt.bus.addTick(burst, pts); err != nil {
		c.finish(err)
	}
}

// setCurrent publishes the oldest burst in flight for the stall check
// (leader).
func (c *coordinator) setCurrent() {
	b, at := c.m.InProgress()
	if b != 0 && c.rt.current.Load() != b {
		c.rt.tickAtNs.Store(at.UnixNano())
		c.armStall()
	}
	c.rt.current.Store(b)
}

// tickLocal sends Tick to every area of this node; a node without areas is
// done at once.
func (c *coordinator) tickLocal(ctx actor.Context, burst npu.Burst) {
	if err := c.rt.bus.flushLockstep(); err != nil {
		c.finish(fmt.Errorf("actors: lock step before burst %d: %w", burst, err))
		return
	}
	c.burst = burst
	if len(c.rt.local) == 0 {
		c.onLocalDone(ctx, burst)
		return
	}
	c.rt.remaining.Store(int64(len(c.rt.local)))
	c.rt.allDone[burst&1].burst = burst
	t := &c.ticks[burst&1]
	t.burst = burst
	for _, i := range c.rt.local {
		ctx.Send(c.rt.areas[i], t)
	}
}

func (c *coordinator) armStall() { c.rt.armStall(c.rt.cfg.StallTimeout) }

// onLocalDone: every local area finished burst.
func (c *coordinator) onLocalDone(ctx actor.Context, burst npu.Burst) {
	if !c.running {
		return
	}
	if burst != c.burst {
		c.finish(fmt.Errorf("actors: completion of burst %d during burst %d", burst, c.burst))
		return
	}
	for _, i := range c.rt.local {
		m := &c.rt.reports[i]
		if m.burst != burst || m.area != i {
			c.finish(fmt.Errorf("actors: area %d (%s) reported burst %d as area %d during burst %d",
				i, c.rt.areaName(i), m.burst, m.area, burst))
			return
		}
	}
	c.burst = 0
	c.local = burst
	if k := c.rt.cfg.CheckpointEvery; k > 0 && burst%k == 0 && c.rt.cfg.Checkpoint != nil {
		if err := c.rt.cfg.Checkpoint(burst); err != nil {
			c.finish(fmt.Errorf("actors: checkpoint of burst %d: %w", burst, err))
			return
		}
	}
	if !c.leader {
		c.rt.completed.Store(burst)
		c.rt.current.Store(0)
		c.rt.progress()
		if err := c.report(burst); err != nil {
			c.finish(err)
			return
		}
		if !c.rt.observesAll() && c.rt.cfg.Observer != nil {
			// Without the whole brain's record, the observer sees this
			// node's areas.
			res := c.result(burst)
			res.reset()
			c.fillLocal(res)
			res.Burst, res.Elapsed = burst, time.Since(*c.tickTime(burst))
			res.sumSpikes()
			if err := c.rt.cfg.Observer(res); err != nil {
				c.finish(fmt.Errorf("actors: burst %d: %w", burst, err))
				return
			}
		}
		c.maybeEnd()
		c.startQueued(ctx)
		return
	}
	c.fillLocal(c.result(burst))
	c.rt.nodeDone[c.self].Store(burst)
	out, err := c.m.Done(time.Now(), c.self, burst)
	if err != nil {
		c.finish(err)
		return
	}
	c.apply(ctx, out)
}

// report adds the local areas' completion of burst to those the leader gets
// next, and sends them unless it holds them back (follower): while the
// leader's next tick is already here, the areas go on at once, and up to
// Runtime.doneBatch completions travel in one message. The leader's window
// leaves room for those held: it ticks at least one burst more than a
// follower holds back.
func (c *coordinator) report(burst npu.Burst) error {
	b := c.rt.bus
	if err := b.addDone(burst, c.rt.local, c.rt.reports, !c.countsOnly); err != nil {
		return err
	}
	if len(c.queued) > 0 && b.doneN < c.rt.doneBatch && !c.stopping {
		return nil
	}
	return b.publishDone()
}

// fillLocal copies the local areas' reports into res.
func (c *coordinator) fillLocal(res *BurstResult) {
	for _, i := range c.rt.local {
		m := &c.rt.reports[i]
		res.Fired[i], res.Counts[i] = nil, len(m.fired)
		if len(m.fired) > 0 {
			res.Fired[i] = m.fired
		}
		if d := time.Duration(m.stepNs); d > res.SlowestStep {
			res.Slowest, res.SlowestStep = i, d
		}
	}
}

// onRemoteDone: another node finished a burst (leader).
func (c *coordinator) onRemoteDone(ctx actor.Context, m *remoteDone) {
	if !c.leader || !c.running {
		c.rt.ignore(&c.rt.ignored.stale)
		return
	}
	c.batching = true
	for k := range m.bursts {
		if !c.running {
			break
		}
		c.remoteDone(ctx, m.participant, m.first+npu.Burst(k), &m.bursts[k])
	}
	c.batching = false
	if c.running {
		c.release(ctx)
	}
}

// remoteDone takes one burst of another node's completion (leader).
func (c *coordinator) remoteDone(ctx actor.Context, participant int, burst npu.Burst, f *firedIn) {
	if participant == c.self || !c.m.Awaits(participant, burst) {
		// Not a burst in progress, or a second completion: what it says
		// must not touch the burst's result.
		c.rt.ignore(&c.rt.ignored.stale)
		return
	}
	res := c.result(burst)
	for k, a := range f.areas {
		res.Fired[a], res.Counts[a], res.digests[a] = f.fired[k], f.counts[k], f.digests[k]
		if d := time.Duration(f.stepNs[k]); d > res.SlowestStep {
			res.Slowest, res.SlowestStep = a, d
		}
	}
	out, err := c.m.Done(time.Now(), participant, burst)
	if err != nil {
		c.finish(err)
		return
	}
	c.rt.nodeDone[participant].Store(burst)
	c.apply(ctx, out)
}

// complete hands burst, complete on every node, to the observer (leader).
func (c *coordinator) complete(burst npu.Burst) error {
	res := c.result(burst)
	res.Burst = burst
	res.Elapsed = time.Since(*c.tickTime(burst))
	res.Whole = true
	res.sumSpikes()
	if c.rt.cfg.Completed != nil || len(c.rt.nodes) > 1 {
		d := res.Digest()
		c.rt.bus.addDigest(burst, d)
		if c.rt.cfg.Completed != nil {
			c.rt.cfg.Completed(burst, d)
		}
	}
	c.rt.completed.Store(burst)
	if err := c.rt.bus.sendRecord(res); err != nil {
		return err
	}
	if obs := c.rt.cfg.Observer; obs != nil {
		if err := obs(res); err != nil {
			return fmt.Errorf("actors: burst %d: %w", burst, err)
		}
	}
	return nil
}

// onRemoteTick: the leader's Tick (follower).
func (c *coordinator) onRemoteTick(ctx actor.Context, m *remoteTick) {
	if c.leader {
		c.rt.ignore(&c.rt.ignored.stale)
		return
	}
	if m.stop {
		if !c.stopped {
			c.stopAt, c.stopped = m.last, true
		}
		if c.running {
			c.maybeEnd()
		}
		return
	}
	// The next burst expected: after the one running, or the last done,
	// and those waiting.
	next := max(c.burst, c.local) + 1 + npu.Burst(len(c.queued))
	if m.burst != next || len(c.queued) >= c.rt.window || c.stopped {
		c.rt.ignore(&c.rt.ignored.stale)
		return
	}
	c.queued = append(c.queued, m)
	c.rt.lastTick.Store(m.burst)
	if c.running {
		c.rt.progress()
		c.armStall()
		c.startQueued(ctx)
	}
}

// startQueued starts the oldest waiting tick when the local areas are free
// (follower).
func (c *coordinator) startQueued(ctx actor.Context) {
	if !c.running || c.burst != 0 || len(c.queued) == 0 {
		return
	}
	m := c.queued[0]
	c.queued[0] = nil
	c.queued = c.queued[1:]
	c.countsOnly = m.countsOnly
	pts := c.rt.pointsOf(m.burst)
	clear(pts)
	for k, a := range m.areas {
		pts[a] = m.points[k]
	}
	if in := c.rt.cfg.Inputs; in != nil {
		in(m.burst, pts)
	}
	*c.tickTime(m.burst) = time.Now()
	c.rt.current.Store(m.burst)
	c.rt.progress()
	c.armStall()
	c.tickLocal(ctx, m.burst)
}

// onRecord: a complete burst of the whole brain from the leader (follower
// that observes).
func (c *coordinator) onRecord(m *burstRecord) {
	if c.leader || !c.running || m.burst != c.seen+1 {
		c.rt.ignore(&c.rt.ignored.stale)
		return
	}
	c.seen = m.burst
	res := &BurstResult{Burst: m.burst, Fired: m.fired, Counts: make([]int, len(m.fired)), Elapsed: m.elapsed, Slowest: -1, Whole: true}
	for a, f := range m.fired {
		res.Counts[a] = len(f)
	}
	res.sumSpikes()
	if obs := c.rt.cfg.Observer; obs != nil {
		if err := obs(res); err != nil {
			c.finish(fmt.Errorf("actors: burst %d: %w", m.burst, err))
			return
		}
	}
	c.maybeEnd()
}

// maybeEnd ends a follower's run between bursts when its own Run was
// stopped, or once the leader said stop and everything up to the leader's
// last burst is done here (and observed, when observing).
func (c *coordinator) maybeEnd() {
	switch {
	case c.burst != 0:
	case c.stopping:
		c.finish(nil)
	case !c.stopped || c.local < c.stopAt:
	case c.rt.observesAll() && c.seen < c.stopAt:
	default:
		c.finish(nil)
	}
}

// finish ends the run with err (nil: success). Later messages are ignored.
func (c *coordinator) finish(err error) {
	if !c.running {
		return
	}
	c.running = false
	c.wakeGen++
	c.rt.stopStall()
	c.rt.result <- err
}
