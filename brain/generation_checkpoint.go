package brain

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cluster/ckpt"
	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// Checkpoints, the input log and the replay of a cluster brain (see
// generation.go).

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

// completed keeps the digest of a burst's first run, as the coordinator
// computed it (actors.Config.Completed): every node keeps them, whichever
// areas it runs, so that the node that coordinates after a failure can
// check the bursts it replays. A digest already kept is not replaced: a
// replayed burst is compared with its first run, not with itself.
func (s *supervisor) completed(b, d uint64) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if _, ok := s.hist[b]; ok {
		return
	}
	s.hist[b] = d
	if b > histMax {
		delete(s.hist, b-histMax) // bounded without checkpoints to prune it
	}
}

// observe hands each burst on once: a replayed burst was observed before.
// A replayed burst is checked against the digest of its first run instead
// (completed), where the result covers the whole brain: the brain is
// deterministic, so a difference means lost or altered input (or a bug),
// and is logged as an error.
func (s *supervisor) observe(next actors.Observer) actors.Observer {
	return func(r *actors.BurstResult) error {
		s.histMu.Lock()
		if r.Burst <= s.observed.Load() {
			switch want, ok := s.hist[r.Burst]; {
			case !ok || !r.Whole:
				s.replayUnchecked++
			case want == r.Digest():
				s.replayMatched++
			default:
				s.replayDiverged++
				s.log.Error("a replayed burst differs from its first run", "burst", r.Burst)
			}
			s.replayReport(r.Burst)
			s.histMu.Unlock()
			return nil
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
		s.log.Info("replay checked against the first run", "until", s.replayUntil.Load(), "matched", s.replayMatched, "diverged", s.replayDiverged, "unchecked", s.replayUnchecked)
	}
}

// histMax bounds the digests kept for replay checks (bursts).
const histMax = 1 << 16
