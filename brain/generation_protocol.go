package brain

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cluster"
	"github.com/spikemesh/spikemesh/cluster/ckpt"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// The generation protocol: halting the members, choosing the checkpoint
// and the placement, starting the next epoch (see generation.go).

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
	resp := &brainv1.Halted{Run: s.run, Epoch: h.Epoch, Node: string(s.self), Completed: end.completed, Leaving: s.leaving,
		Observed: s.observed.Load()}
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
	// A node that sees no more than half of its generation (cut off from
	// the others) does not try: it would only start epochs that nobody
	// else can join.
	seen := 0
	for _, m := range members {
		if slices.Contains(s.gen.members, actors.NodeID(m.Name)) {
			seen++
		}
	}
	if 2*seen < len(s.gen.members) {
		if s.phase() != "waiting for a majority" {
			s.log.Warn("cluster: fewer than half of the generation's members answer; waiting for the others",
				"epoch", s.gen.epoch, "members", s.gen.members, "seen", seen)
		}
		s.setPhase("waiting for a majority")
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
	s.storeMu.Lock()
	held := s.store.Complete()
	s.storeMu.Unlock()
	resume, from, wait := chooseResume(prev, l.answers, held, s.self, true)
	switch {
	case wait && now.Before(l.deadline.Add(s.fail)):
		return // the boundary's parts are on their way
	case wait:
		resume, from, _ = chooseResume(prev, l.answers, held, s.self, false)
	}
	if from != "" {
		if now.Before(l.deadline.Add(2 * s.fail)) {
			s.fetch(from, resume)
			return
		}
		resume = 0
		floor := observedFloor(prev, l.answers)
		for _, b := range held {
			if b <= floor {
				resume = max(resume, b)
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

// observedFloor is the last burst every member of prev that answered
// handed to its record (MaxUint64 without prev).
func observedFloor(prev *generation, answers map[actors.NodeID]*brainv1.Halted) uint64 {
	floor := uint64(math.MaxUint64)
	if prev != nil {
		for _, n := range prev.members {
			if h := answers[n]; h != nil {
				floor = min(floor, h.Observed)
			}
		}
	}
	return floor
}

// chooseResume picks the checkpoint the next generation resumes from,
// given the generation it replaces (nil: not known), the members' answers
// and the complete checkpoints this node (self) holds: the halt boundary,
// if boundaryOK, when
// every area's owner stopped there and sent its state (wait: not every part
// of it is here yet); otherwise the newest checkpoint any member holds (from:
// the node to fetch it from when this one lacks it). Either way no later
// than the last burst every member of prev recorded, so that a node that
// missed the last record of a dying coordinator gets it in the replay; if
// no checkpoint is that old, the newest one.
func chooseResume(prev *generation, answers map[actors.NodeID]*brainv1.Halted, held []uint64, self actors.NodeID, boundaryOK bool) (resume uint64, from actors.NodeID, wait bool) {
	floor := observedFloor(prev, answers)
	if prev != nil && boundaryOK {
		var x uint64
		boundary := true
		for _, n := range prev.placement {
			h := answers[n]
			if h == nil || h.HaltBurst == 0 || (x != 0 && h.HaltBurst != x) {
				boundary = false
				break
			}
			x = h.HaltBurst
		}
		if boundary && x <= floor {
			return x, "", !slices.Contains(held, x)
		}
	}
	pick := func(limit uint64) uint64 {
		var r uint64
		for _, b := range held {
			if b <= limit {
				r = max(r, b)
			}
		}
		for _, h := range answers {
			for _, b := range h.Checkpoints {
				if b <= limit {
					r = max(r, b)
				}
			}
		}
		return r
	}
	if resume = pick(floor); resume == 0 {
		resume = pick(math.MaxUint64)
	}
	if resume > 0 && !slices.Contains(held, resume) {
		names := make([]actors.NodeID, 0, len(answers))
		for n := range answers {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if n != self && slices.Contains(answers[n].Checkpoints, resume) {
				return resume, n, false
			}
		}
	}
	return resume, "", false
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
