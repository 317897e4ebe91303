package actors

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// The lock step between nodes travels on these subjects, below
// <prefix>.<brain>.lockstep:
//
//	tick.<node>   Tick: the leader starts a burst on a node (with the
//	              sensory points of its areas), or ends the run
//	done          NodeDone: a node finished a burst (what its areas fired)
//	burst         BurstRecord: a complete burst, for nodes that observe
//	probe.<node>  request-reply: the node's subscriptions are visible
//	ready.<node>  request-reply (Ready): the node sees every other node and
//	              agrees on the run, the epoch and the placement
//
// Every message carries the run and the epoch; one of another run or epoch
// is ignored and counted.

var tokenSafe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NodeToken is the form of a node name in NATS subjects: the name itself
// when it is made of letters, digits, '-' and '_', else "b64-" and its
// URL-safe base64.
func NodeToken(n NodeID) string {
	if tokenSafe.MatchString(string(n)) {
		return string(n)
	}
	return "b64-" + base64.RawURLEncoding.EncodeToString([]byte(n))
}

// Ignored counts messages between nodes that were ignored, by reason.
type Ignored struct {
	Run       uint64 // another run of a brain with the same subjects
	Epoch     uint64 // another placement version
	Malformed uint64 // did not decode
	Unknown   uint64 // from an area or node this node does not expect
	Stale     uint64 // for a burst that is not the one in progress
	Duplicate uint64 // a second spike batch for the same source and burst
}

// Total is the number of messages ignored for any reason.
func (i Ignored) Total() uint64 {
	return i.Run + i.Epoch + i.Malformed + i.Unknown + i.Stale + i.Duplicate
}

type ignoredCounts struct {
	run, epoch, malformed, unknown, stale, duplicate atomic.Uint64
}

// Ignored returns the messages ignored so far.
func (r *Runtime) Ignored() Ignored {
	c := &r.ignored
	return Ignored{Run: c.run.Load(), Epoch: c.epoch.Load(), Malformed: c.malformed.Load(),
		Unknown: c.unknown.Load(), Stale: c.stale.Load(), Duplicate: c.duplicate.Load()}
}

// ignore counts one ignored message; the first of each reason is logged.
func (r *Runtime) ignore(c *atomic.Uint64) {
	if c.Add(1) != 1 {
		return
	}
	reason := map[*atomic.Uint64]string{&r.ignored.run: "another run", &r.ignored.epoch: "another epoch",
		&r.ignored.malformed: "malformed", &r.ignored.unknown: "unknown source", &r.ignored.stale: "stale",
		&r.ignored.duplicate: "duplicate spike batch"}[c]
	r.log.Warn("message from NATS ignored (logged once per reason; see the ignored counts)", "reason", reason)
}

// PlacementDigest is a short digest of which node runs each area; nodes
// compare it before the first burst.
func (r *Runtime) PlacementDigest() string {
	h := sha256.New()
	for i := range r.plan.Areas {
		fmt.Fprintf(h, "%d=%s\n", i, r.placement.Node(i))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (b *natsBus) lockstepSubject(rest string) string { return b.rt.subject("lockstep." + rest) }

// tickSubject is where node n takes its ticks.
func (b *natsBus) tickSubject(n NodeID) string {
	s, ok := b.ticks[n]
	if !ok {
		if b.ticks == nil {
			b.ticks = map[NodeID]string{}
		}
		s = b.lockstepSubject("tick." + NodeToken(n))
		b.ticks[n] = s
	}
	return s
}

// subscribeLockstep subscribes what this node's role receives; the probe
// subject comes last, so that a peer that sees it sees the others too.
func (b *natsBus) subscribeLockstep() error {
	r := b.rt
	cl := r.cfg.Cluster
	if cl == nil {
		return nil
	}
	self := NodeToken(r.cfg.Node)
	const msgs, bytes = 1 << 12, 256 << 20
	if r.leader() {
		if _, err := b.subscribe(b.lockstepSubject("done"), b.onDone, msgs, bytes); err != nil {
			return err
		}
	} else {
		if _, err := b.subscribe(b.lockstepSubject("tick."+self), b.onTick, msgs, bytes); err != nil {
			return err
		}
		if cl.Observe {
			if _, err := b.subscribe(b.lockstepSubject("burst"), b.onRecord, msgs, bytes); err != nil {
				return err
			}
		}
		if _, err := b.subscribe(b.lockstepSubject("ready."+self), b.onReady, 64, 1<<20); err != nil {
			return err
		}
	}
	_, err := b.subscribe(b.lockstepSubject("probe."+self), func(m *nats.Msg) { _ = m.Respond(nil) }, 64, 1<<20)
	return err
}

// Handshake returns once every node of the cluster can reach every other:
// this node sees every other node's subscriptions (a reply on its probe
// subject, subscribed last), and on the coordinator, every other node says
// it sees all the others and agrees on the run, the epoch and the
// placement. Interest spreads between routed NATS servers asynchronously,
// so without this a first batch could find no subscriber and be lost.
// Single-process runtimes return at once.
func (r *Runtime) Handshake(ctx context.Context) error {
	b := r.bus
	if r.cfg.Cluster == nil || b == nil {
		return nil
	}
	for _, n := range r.nodes {
		if n == r.cfg.Node {
			continue
		}
		if _, err := b.retry(ctx, b.lockstepSubject("probe."+NodeToken(n)), nil, func(*nats.Msg) (bool, error) { return true, nil }); err != nil {
			return fmt.Errorf("actors: node %s does not answer on NATS: %w", n, err)
		}
	}
	b.probed.Store(true)
	if !r.leader() {
		return nil
	}
	ask, err := proto.Marshal(&brainv1.Ready{Run: r.cfg.Run, Epoch: r.cfg.Epoch, Placement: r.PlacementDigest()})
	if err != nil {
		return err
	}
	for _, n := range r.nodes {
		if n == r.cfg.Node {
			continue
		}
		_, err := b.retry(ctx, b.lockstepSubject("ready."+NodeToken(n)), ask, func(m *nats.Msg) (bool, error) {
			var rd brainv1.Ready
			if err := proto.Unmarshal(m.Data, &rd); err != nil {
				return false, fmt.Errorf("bad answer: %w", err)
			}
			if rd.Error != "" {
				return false, errors.New(rd.Error)
			}
			return rd.Ok, nil
		})
		if err != nil {
			return fmt.Errorf("actors: node %s is not ready: %w", n, err)
		}
	}
	return nil
}

// retry sends a request to subject until accept takes an answer, accept
// fails, or ctx ends.
func (b *natsBus) retry(ctx context.Context, subject string, data []byte, accept func(*nats.Msg) (bool, error)) (*nats.Msg, error) {
	wait := 5 * time.Millisecond
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		m, err := b.nc.RequestWithContext(rctx, subject, data)
		cancel()
		if err == nil {
			ok, aerr := accept(m)
			if aerr != nil {
				return nil, aerr
			}
			if ok {
				return m, nil
			}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("it never said it was ready")
			}
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// onReady answers the coordinator's Ready (follower).
func (b *natsBus) onReady(m *nats.Msg) {
	r := b.rt
	var ask brainv1.Ready
	reply := &brainv1.Ready{Run: r.cfg.Run, Epoch: r.cfg.Epoch, Placement: r.PlacementDigest()}
	if err := proto.Unmarshal(m.Data, &ask); err != nil {
		r.ignore(&r.ignored.malformed)
		return
	}
	switch {
	case ask.Run != reply.Run:
		reply.Error = fmt.Sprintf("node %s runs run %x, the coordinator %x", r.cfg.Node, reply.Run, ask.Run)
	case ask.Epoch != reply.Epoch:
		reply.Error = fmt.Sprintf("node %s is at epoch %d, the coordinator at %d", r.cfg.Node, reply.Epoch, ask.Epoch)
	case ask.Placement != reply.Placement:
		reply.Error = fmt.Sprintf("node %s computed another placement of the areas (digest %s, the coordinator's %s)",
			r.cfg.Node, reply.Placement, ask.Placement)
	default:
		reply.Ok = b.probed.Load()
	}
	data, err := proto.Marshal(reply)
	if err == nil {
		err = m.Respond(data)
	}
	if err != nil {
		r.log.Warn("ready reply failed", "err", err)
	}
}

// addTick adds the Tick of burst, with the sensory points of every area,
// to the ticks publishTicks sends next (leader): a follower steps its own
// areas with them and keeps the rest in its input log, so that any node can
// replay the burst after a failure. Bursts started together travel in one
// message.
func (b *natsBus) addTick(burst npu.Burst, points [][]npu.Point) error {
	if b == nil || b.rt.cfg.Cluster == nil {
		return nil
	}
	r := b.rt
	if b.tick == nil {
		b.tick = &brainv1.Tick{}
	}
	t := b.tick
	var aps []*brainv1.AreaPoints
	for a, pts := range points {
		if len(pts) == 0 {
			continue
		}
		ap := &brainv1.AreaPoints{Area: uint32(a), Local: make([]uint32, len(pts)), P: make([]float32, len(pts))}
		for k, pt := range pts {
			ap.Local[k], ap.P[k] = pt.Local, pt.P
		}
		aps = append(aps, ap)
	}
	switch {
	case b.ticked == 0:
		t.Burst, t.Run, t.Epoch, t.Stop, t.Last = burst, r.cfg.Run, r.cfg.Epoch, false, 0
		t.CountsOnly = !r.wantsFired()
		t.Points, t.Later = aps, t.Later[:0]
	case burst == t.Burst+npu.Burst(b.ticked):
		t.Later = append(t.Later, &brainv1.BurstPoints{Points: aps})
	default:
		return fmt.Errorf("actors: tick of burst %d after ticks %d to %d", burst, t.Burst, t.Burst+npu.Burst(b.ticked)-1)
	}
	b.ticked++
	return nil
}

// maxDigests bounds the burst digests one Tick carries; a leader that
// gathered more (it ticked nothing for a while) sends the latest.
const maxDigests = 64

// addDigest adds the digest of burst, complete everywhere, to those the next
// Tick carries (leader).
func (b *natsBus) addDigest(burst npu.Burst, d uint64) {
	if b == nil || b.rt.cfg.Cluster == nil || len(b.rt.nodes) < 2 {
		return
	}
	if len(b.digests) == 0 || burst != b.digestsFrom+npu.Burst(len(b.digests)) {
		b.digests, b.digestsFrom = b.digests[:0], burst
	}
	if len(b.digests) == maxDigests {
		b.digests = append(b.digests[:0], b.digests[1:]...)
		b.digestsFrom++
	}
	b.digests = append(b.digests, d)
}

// publishTicks publishes the ticks addTick gathered to every other node,
// in one message (leader), with the digests addDigest gathered.
func (b *natsBus) publishTicks() error {
	if b == nil || b.ticked == 0 {
		return nil
	}
	r, t := b.rt, b.tick
	b.ticked = 0
	t.Digests, t.DigestsFrom = b.digests, b.digestsFrom
	b.digests = b.digests[:0]
	var err error
	b.tickBuf, err = proto.MarshalOptions{}.MarshalAppend(b.tickBuf[:0], t)
	if err != nil {
		return fmt.Errorf("actors: tick of burst %d: %w", t.Burst, err)
	}
	for _, n := range r.nodes {
		if n == r.cfg.Node {
			continue
		}
		if err := b.publish(b.tickSubject(n), b.tickBuf); err != nil {
			return fmt.Errorf("actors: tick of burst %d to node %s: %w", t.Burst, n, err)
		}
	}
	b.unflushed = len(r.nodes) > 1
	return nil
}

// flushLockstep makes sure the ticks and completions published since the
// last call have reached the NATS server before the local areas start a
// burst: a step may hold every core of this process for its whole length,
// while the NATS client's flusher and the server's goroutines wait their
// turn, and the other nodes wait for those messages.
func (b *natsBus) flushLockstep() error {
	if b == nil || !b.unflushed {
		return nil
	}
	b.unflushed = false
	return b.nc.FlushTimeout(10 * time.Second)
}

// sendStop tells every other node that the run ended after burst last.
func (b *natsBus) sendStop(last npu.Burst) {
	if b == nil || b.rt.cfg.Cluster == nil {
		return
	}
	r := b.rt
	t := &brainv1.Tick{Run: r.cfg.Run, Epoch: r.cfg.Epoch, Stop: true, Last: last}
	for _, n := range r.nodes {
		if n != r.cfg.Node {
			if err := b.publishProto(b.lockstepSubject("tick."+NodeToken(n)), t); err != nil {
				r.log.Warn("stop to node failed", "node", n, "err", err)
			}
		}
	}
	_ = b.nc.Flush()
}

func (b *natsBus) publishProto(subject string, m proto.Message) error {
	var err error
	b.tickBuf, err = proto.MarshalOptions{}.MarshalAppend(b.tickBuf[:0], m)
	if err != nil {
		return err
	}
	return b.nc.Publish(subject, b.tickBuf)
}

// extend adds an entry to s: the one past its end when it has one (a
// message reused, its old entry with it), else a new one.
func extend[T any](s []*T) []*T {
	if len(s) < cap(s) && s[:len(s)+1][len(s)] != nil {
		return s[:len(s)+1]
	}
	return append(s, new(T))
}

// appendFired appends the AreaFired of area, reusing the entry past the end
// of dst when it has one: with lists, the indices fired (ascending,
// delta-encoded); without, their AreaDigest in their place.
func appendFired(dst []*brainv1.AreaFired, area int, fired []uint32, lists bool, stepNs int64) []*brainv1.AreaFired {
	dst = extend(dst)
	af := dst[len(dst)-1]
	af.Area, af.StepNs, af.Count, af.Digest = uint32(area), uint64(max(stepNs, 0)), uint32(len(fired)), 0
	af.FiredDelta = af.FiredDelta[:0]
	if !lists {
		if len(fired) > 0 {
			af.Digest = AreaDigest(fired)
		}
		return dst
	}
	af.FiredDelta = slices.Grow(af.FiredDelta, len(fired))
	prev := uint32(0)
	for _, f := range fired {
		af.FiredDelta = append(af.FiredDelta, f-prev)
		prev = f
	}
	return dst
}

// addDone adds what this node's areas fired in burst to the completions
// publishDone reports next (follower): the indices with lists, else only
// their count and digest.
func (b *natsBus) addDone(burst npu.Burst, local []int, reports []completed, lists bool) error {
	r := b.rt
	if b.done == nil {
		b.done = &brainv1.NodeDone{}
	}
	m := b.done // reused, with its entries
	var areas *[]*brainv1.AreaFired
	switch {
	case b.doneN == 0:
		m.Run, m.Epoch, m.Burst, m.Node = r.cfg.Run, r.cfg.Epoch, burst, string(r.cfg.Node)
		m.Later = m.Later[:0]
		areas = &m.Areas
	case burst == m.Burst+npu.Burst(b.doneN):
		m.Later = extend(m.Later)
		areas = &m.Later[len(m.Later)-1].Areas
	default:
		return fmt.Errorf("actors: completion of burst %d after completions %d to %d", burst, m.Burst, m.Burst+npu.Burst(b.doneN)-1)
	}
	*areas = (*areas)[:0]
	for _, a := range local {
		*areas = appendFired(*areas, a, reports[a].fired, lists, reports[a].stepNs)
	}
	b.doneN++
	return nil
}

// publishDone reports the completions addDone gathered to the leader, in
// one message (follower).
func (b *natsBus) publishDone() error {
	if b.doneN == 0 {
		return nil
	}
	b.doneN = 0
	if err := b.publishProto(b.lockstepSubject("done"), b.done); err != nil {
		return fmt.Errorf("actors: completion of burst %d: %w", b.done.Burst, err)
	}
	b.unflushed = true
	return nil
}

// sendRecord publishes a complete burst for the nodes that observe (leader).
func (b *natsBus) sendRecord(res *BurstResult) error {
	if b == nil || b.rt.cfg.Cluster == nil || !b.rt.cfg.Cluster.Observed {
		return nil
	}
	r := b.rt
	m := &brainv1.BurstRecord{Run: r.cfg.Run, Epoch: r.cfg.Epoch, Burst: res.Burst, ElapsedNs: uint64(max(res.Elapsed, 0))}
	for a, f := range res.Fired {
		if len(f) > 0 {
			m.Areas = appendFired(m.Areas, a, f, true, 0)
		}
	}
	if err := b.publishProto(b.lockstepSubject("burst"), m); err != nil {
		return fmt.Errorf("actors: record of burst %d: %w", res.Burst, err)
	}
	return nil
}

// currentRun checks a message's run and epoch, counting it when it is not of
// this run and epoch.
func (r *Runtime) currentRun(run, epoch uint64) bool {
	if why := r.runOf(run, epoch); why != nil {
		r.ignore(why)
		return false
	}
	return true
}

// onTick decodes the leader's Tick (follower) and hands its bursts to the
// coordinator, in order.
func (b *natsBus) onTick(m *nats.Msg) {
	r := b.rt
	ticks, why := r.decodeTick(m.Data)
	if why != nil {
		r.ignore(why)
		return
	}
	if c, t := r.cfg.Completed, ticks[0]; c != nil {
		for k, d := range t.digests {
			c(t.digestsFrom+npu.Burst(k), d)
		}
	}
	for _, rt := range ticks {
		r.system.Root.Send(r.coordinator, rt)
	}
}

// onDone decodes another node's NodeDone (leader) and hands it to the
// coordinator.
func (b *natsBus) onDone(m *nats.Msg) {
	r := b.rt
	rd, why := r.decodeDone(m.Data)
	if why != nil {
		r.ignore(why)
		return
	}
	r.system.Root.Send(r.coordinator, rd)
}

// onRecord decodes a complete burst from the leader (observing follower).
func (b *natsBus) onRecord(m *nats.Msg) {
	r := b.rt
	var rec brainv1.BurstRecord
	if err := proto.Unmarshal(m.Data, &rec); err != nil {
		r.ignore(&r.ignored.malformed)
		return
	}
	if !r.currentRun(rec.Run, rec.Epoch) {
		return
	}
	br := &burstRecord{burst: rec.Burst, fired: make([][]uint32, len(r.plan.Areas)), elapsed: time.Duration(min(rec.ElapsedNs, 1<<62))}
	whole := true // a record always has the indices
	if why := r.eachFired(rec.Areas, func(int) bool { return true }, func(a int, fired []uint32, count int, _ uint64, _ int64) {
		br.fired[a], whole = fired, whole && len(fired) == count
	}); why != nil || !whole {
		r.ignore(cmp.Or(why, &r.ignored.malformed))
		return
	}
	r.system.Root.Send(r.coordinator, br)
}

// BusStats returns the messages and bytes this node has published on NATS
// (spike batches and the lock step; 0 when nothing travels over NATS).
func (r *Runtime) BusStats() (msgs, bytes uint64) {
	if r.bus == nil {
		return 0, 0
	}
	s := r.bus.nc.Stats()
	return s.OutMsgs, s.OutBytes
}

// PingNode measures n request-reply round trips to another node over the
// lock step's NATS path (its probe subject) and returns them.
func (r *Runtime) PingNode(ctx context.Context, node NodeID, n int) ([]time.Duration, error) {
	if r.bus == nil {
		return nil, errors.New("actors: no NATS connection")
	}
	subject := r.bus.lockstepSubject("probe." + NodeToken(node))
	out := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := r.bus.nc.RequestWithContext(ctx, subject, nil); err != nil {
			return out, fmt.Errorf("actors: ping node %s: %w", node, err)
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}
