package actors

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spikemesh/spikemesh/npu"
)

// inboxSlots is how many bursts of batches an area holds at once when the
// coordinator ticks up to window bursts ahead: the batches of the burst it
// needs now and of the window bursts after it, which a source on another
// node may already have run (see doc.go, Message order); rounded up to a
// power of two (ringSize).
func inboxSlots(window int) int { return ringSize(max(window, 1) + 1) }

// ringSize is the smallest power of two at least n (n >= 1): rings indexed
// by burst use a mask, not a division, in the per-burst path.
func ringSize(n int) int { return 1 << bits.Len(uint(max(n, 1)-1)) }

// ringAt is the entry of ring (of ringSize length) that holds burst b.
func ringAt[T any](ring []T, b npu.Burst) *T { return &ring[b&npu.Burst(len(ring)-1)] }

// inbox holds the batches of one burst, one entry per incoming connection.
type inbox struct {
	burst      npu.Burst  // the burst whose batches the slot holds
	count      int        // batches received
	got        []bool     // per incoming connection
	fired      [][]uint32 // the batch, by reference (local) or wire*
	potentials [][]float32
	wireFired  [][]uint32 // decode buffers for batches from NATS
	wirePot    [][]float32
}

func (b *inbox) reset(burst npu.Burst) {
	b.burst = burst
	b.count = 0
	clear(b.got)
}

// outbox is an area's published copy of one burst's output, shared
// read-only by every local destination and the coordinator. An area keeps
// max(2, window) of them, by burst: a local destination reads burst b's
// until it has run b+1, and the coordinator until burst b is complete
// everywhere, which is before the area can run b+window.
type outbox struct {
	fired      []uint32
	potentials []float32
	batches    []localBatch // one per local destination route
}

// route is one downstream destination of an area: another area of this
// node, or every destination area of another node (one NATS message).
type route struct {
	dst        int        // destination area (local route)
	local      *actor.PID // nil: over NATS
	node       NodeID     // destination node when local is nil
	subject    string     // NATS subject when local is nil
	potentials bool       // a destination needs firing-time potentials
}

// addNodeRoute makes sure one NATS route leads to node, carrying
// potentials when any destination there needs them.
func (a *area) addNodeRoute(node NodeID, subject string, potentials bool) {
	for i := range a.routes {
		if r := &a.routes[i]; r.local == nil && r.node == node {
			r.potentials = r.potentials || potentials
			return
		}
	}
	a.routes = append(a.routes, route{dst: -1, node: node, subject: subject, potentials: potentials})
}

// area is the actor of one cortical area. It is only touched by its own
// mailbox goroutine.
type area struct {
	rt     *Runtime
	index  int
	name   string // for errors: base64 ID
	engine npu.Engine
	opu    bool

	slotOf  []int // area index → incoming connection position, -1 if none
	srcOf   []int // incoming connection position → source area index
	needMP  []bool
	srcSize []uint32 // neurons of each source area

	in     []inbox  // by burst modulo their number (inboxSlots)
	out    []outbox // by burst modulo their number
	routes []route

	input npu.Input

	done    npu.Burst // last completed burst
	pending npu.Burst // tick received and not yet run (0: none)
	failed  bool
	// resend: the area resumed from a saved state and sends its last
	// output downstream, as that burst's batch, at its first tick.
	resend bool

	enc []byte // NATS encode buffer
}

func newArea(rt *Runtime, index int, eng npu.Engine) *area {
	a := &area{rt: rt, index: index, engine: eng, name: rt.areaName(index)}
	inc := eng.Incoming()
	rt.seen[index] = make([]atomic.Uint64, rt.slots*len(inc))
	a.slotOf = make([]int, len(rt.plan.Areas))
	for i := range a.slotOf {
		a.slotOf[i] = -1
	}
	a.srcOf = make([]int, len(inc))
	a.needMP = make([]bool, len(inc))
	a.srcSize = make([]uint32, len(inc))
	for i, c := range inc {
		a.srcSize[i] = uint32(len(c.Start) - 1)
		a.slotOf[c.Src] = i
		a.srcOf[i] = c.Src
		a.needMP[i] = c.MPDrivenPSP
	}
	rt.inSrc[index] = a.srcOf
	a.in = make([]inbox, rt.slots)
	a.out = make([]outbox, ringSize(max(2, rt.window)))
	for p := range a.in {
		a.in[p] = inbox{
			got:        make([]bool, len(inc)),
			fired:      make([][]uint32, len(inc)),
			potentials: make([][]float32, len(inc)),
			wireFired:  make([][]uint32, len(inc)),
			wirePot:    make([][]float32, len(inc)),
		}
	}
	// Burst 0 carries no batches: the slots wait for bursts 1, 2, …; resumed
	// after burst first-1, for first-1 (the batches come first), first, ….
	lo := npu.Burst(1)
	if first := rt.next; first > 1 {
		a.done, a.resend = first-1, true
		lo = first - 1
	}
	for b := lo; b < lo+npu.Burst(len(a.in)); b++ {
		a.inbox(b).reset(b)
	}
	a.input.Fired = make([][]uint32, len(inc))
	a.input.Potentials = make([][]float32, len(inc))
	return a
}

// Receive implements actor.Actor. Every failure, including a panic, is turned
// into a fault for the coordinator; the actor is never restarted.
func (a *area) Receive(ctx actor.Context) {
	if a.failed {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			a.rt.log.Error("area panicked", "area", a.index, "id", a.name, "burst", a.pending, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			a.fail(ctx, fmt.Errorf("panic: %v", r))
		}
	}()
	var err error
	switch m := ctx.Message().(type) {
	case *tick:
		err = a.onTick(ctx, m.burst)
	case *localBatch:
		err = a.onBatch(ctx, m.burst, m.src, m.fired, m.potentials)
	case *wireBatch:
		err = a.onWire(ctx, m)
	}
	if err != nil {
		a.fail(ctx, err)
	}
}

func (a *area) fail(ctx actor.Context, err error) {
	a.failed = true
	burst := a.pending
	if burst == 0 {
		burst = a.done + 1
	}
	var ae *AreaError
	if !errors.As(err, &ae) {
		err = &AreaError{Area: a.index, ID: a.name, Burst: burst, Err: err}
	}
	ctx.Send(a.rt.coordinator, &fault{err: err})
}

func (a *area) onTick(ctx actor.Context, burst npu.Burst) error {
	if burst != a.done+1 || a.pending != 0 {
		return fmt.Errorf("tick for burst %d while at burst %d", burst, a.done)
	}
	a.pending = burst
	if a.resend {
		a.resend = false
		lo, ok := a.engine.(interface{ LastOutput() npu.Output })
		if !ok {
			return fmt.Errorf("resuming at burst %d: the engine cannot tell its last output", burst)
		}
		out := lo.LastOutput()
		ob := a.outbox(burst - 1)
		ob.fired = append(ob.fired[:0], out.Fired...)
		ob.potentials = append(ob.potentials[:0], out.Potentials...)
		if err := a.send(ctx, burst-1, ob); err != nil {
			return err
		}
	}
	return a.maybeStep(ctx)
}

func (a *area) inbox(b npu.Burst) *inbox   { return ringAt(a.in, b) }
func (a *area) outbox(b npu.Burst) *outbox { return ringAt(a.out, b) }

// slotFor finds the inbox for a batch of burst from the source at position
// pos. A batch that has no place (from an area with no connection here,
// for a burst outside the bursts being gathered, or a second one for the
// same source and burst) gets no inbox: it is counted under the reason
// returned and ignored, never a fault. A batch that is really missing is
// caught by the stall check, which names the source and its node.
func (a *area) slotFor(pos int, burst npu.Burst) (*inbox, *atomic.Uint64) {
	ig := &a.rt.ignored
	switch {
	case pos < 0:
		return nil, &ig.unknown
	case burst == 0 || burst >= a.done+npu.Burst(len(a.in)):
		return nil, &ig.stale
	case burst < a.done:
		return nil, &ig.duplicate // burst+1 ran, so its batches were all here
	}
	box := a.inbox(burst)
	switch {
	case box.burst != burst:
		return nil, &ig.stale
	case box.got[pos]:
		return nil, &ig.duplicate
	}
	return box, nil
}

// take stores a batch in box and notes its arrival for the stall check.
func (a *area) take(box *inbox, pos int, burst npu.Burst, fired []uint32, pot []float32) {
	box.fired[pos], box.potentials[pos] = fired, pot
	box.got[pos] = true
	box.count++
	a.rt.seenAt(a.index, pos, burst).Store(uint64(burst))
}

func (a *area) onBatch(ctx actor.Context, burst npu.Burst, src int, fired []uint32, pot []float32) error {
	pos := -1
	if src >= 0 && src < len(a.slotOf) {
		pos = a.slotOf[src]
	}
	box, reason := a.slotFor(pos, burst)
	if box == nil {
		a.rt.ignore(reason)
		return nil
	}
	if a.needMP[pos] && len(pot) != len(fired) {
		// Local batches come from this process: a mismatch is a bug.
		return fmt.Errorf("batch from area %d for burst %d: %d potentials for %d fired neurons", src, burst, len(pot), len(fired))
	}
	// The source leaves its published copy untouched until we have run the
	// next burst (see outbox), so the batch is used in place.
	a.take(box, pos, burst, fired, pot)
	return a.maybeStep(ctx)
}

// onWire takes a batch that came over NATS; the bus checked its header. A
// body that does not decode, or does not fit the source area, is counted
// as malformed and ignored: the real batch may still come.
func (a *area) onWire(ctx actor.Context, m *wireBatch) error {
	src := m.src
	pos := -1
	if src >= 0 && src < len(a.slotOf) {
		pos = a.slotOf[src]
	}
	box, reason := a.slotFor(pos, m.burst)
	if box == nil {
		a.rt.ignore(reason)
		return nil
	}
	fired, pot, err := decodeBody(m.data, box.wireFired[pos][:0], box.wirePot[pos][:0])
	// decodeBody checked that the indices ascend: the last is the highest.
	if err != nil || a.needMP[pos] && len(pot) != len(fired) || len(fired) > 0 && fired[len(fired)-1] >= a.srcSize[pos] {
		a.rt.ignore(&a.rt.ignored.malformed)
		return nil
	}
	box.wireFired[pos], box.wirePot[pos] = fired, pot
	a.take(box, pos, m.burst, fired, pot)
	return a.maybeStep(ctx)
}

// maybeStep runs the pending burst once every batch it needs is here.
func (a *area) maybeStep(ctx actor.Context) error {
	burst := a.pending
	if burst == 0 {
		return nil
	}
	var box *inbox
	if burst > 1 {
		box = a.inbox(burst - 1)
		if box.count < len(box.got) {
			return nil
		}
	}
	for i := range a.input.Fired {
		if box != nil {
			a.input.Fired[i] = box.fired[i]
			if a.needMP[i] {
				a.input.Potentials[i] = box.potentials[i]
			} else {
				a.input.Potentials[i] = nil
			}
		} else {
			a.input.Fired[i], a.input.Potentials[i] = nil, nil
		}
	}
	a.input.Points = a.rt.pointsOf(burst)[a.index] // set by the coordinator before the tick

	start := time.Now()
	out := a.engine.Step(burst, &a.input)
	stepNs := time.Since(start)

	ob := a.outbox(burst)
	ob.fired = append(ob.fired[:0], out.Fired...)
	ob.potentials = append(ob.potentials[:0], out.Potentials...)
	if box != nil {
		box.reset(burst - 1 + npu.Burst(len(a.in)))
	}
	a.pending = 0
	a.done = burst

	if err := a.send(ctx, burst, ob); err != nil {
		return err
	}
	if a.opu && a.rt.motors != nil {
		if err := a.rt.motors.Publish(a.index, burst, ob.fired, ob.potentials); err != nil {
			return fmt.Errorf("motor output: %w", err)
		}
	}
	// Report: the own slot, then the countdown; the last area to finish
	// tells the coordinator (one message per burst instead of one per area).
	a.rt.reports[a.index] = completed{burst: burst, area: a.index, fired: ob.fired,
		stepNs: int64(stepNs)}
	a.rt.doneBurst[a.index].Store(burst)
	if a.rt.remaining.Add(-1) == 0 {
		ctx.Send(a.rt.coordinator, &a.rt.allDone[burst&1])
	}
	return nil
}

// send delivers one batch of burst to every downstream area.
func (a *area) send(ctx actor.Context, burst npu.Burst, ob *outbox) error {
	if ob.batches == nil {
		ob.batches = make([]localBatch, len(a.routes))
	}
	for i := range a.routes {
		r := &a.routes[i]
		if a.rt.dropBatch != nil && a.rt.dropBatch(a.index, r.dst, r.node, burst) {
			continue
		}
		var pot []float32
		if r.potentials {
			pot = ob.potentials
		}
		if r.local != nil {
			b := &ob.batches[i]
			*b = localBatch{burst: burst, src: a.index, fired: ob.fired, potentials: pot}
			ctx.Send(r.local, b)
			continue
		}
		a.enc = appendBatch(a.enc[:0], batchHeader{burst: burst, src: uint32(a.index), brain: a.rt.cfg.Brain,
			run: a.rt.cfg.Run, epoch: a.rt.cfg.Epoch}, ob.fired, pot)
		if err := a.rt.bus.publish(r.subject, a.enc); err != nil {
			return fmt.Errorf("spike batch to node %s: %w", r.node, err)
		}
	}
	return nil
}
