package brain

import (
	"time"

	"github.com/spikemesh/spikemesh/actors"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// What node cluster status shows (see generation.go).

// clusterStatus is what node cluster status shows, kept by the loop.
type clusterStatus struct {
	phase          string
	ckptBurst      uint64
	ckptAt         time.Time
	ckptBytes      int
	recoveries     uint64
	rollbackBursts uint64
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
