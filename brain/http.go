package brain

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/internal/web"
	"github.com/spikemesh/spikemesh/pns"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// validateHTTP checks --http and --http-token-file.
func (c *Config) validateHTTP() error {
	if c.HTTP == "" {
		if c.OperatorToken != "" {
			return errors.New("--http-token-file: only with --http ADDR")
		}
		return nil
	}
	return web.CheckAddr(c.HTTP)
}

// startHTTP starts the server of --http; nil without it.
func startHTTP(c *Config) (*web.Server, error) {
	if c.HTTP == "" {
		return nil, nil
	}
	s, err := web.Start(web.Options{Addr: c.HTTP, Token: c.OperatorToken, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	if c.HTTPStarted != nil {
		c.HTTPStarted(s.Addr())
	}
	return s, nil
}

// httpBrain describes the grown, connected brain to the HTTP server.
// bursts counts the bursts this node observed.
func httpBrain(c *Config, plan *cortical.Plan, r runner, intake *pns.Intake, ctlStats func(*brainv1.Stats), bursts *atomic.Uint64) web.Brain {
	_, neurons, synapses := plan.Totals()
	b := web.Brain{Genome: c.Genome, GenomeID: plan.Genome.ID, Title: plan.Genome.Title, Precision: plan.Precision.String(),
		Seed: plan.Seed, Runner: c.Runner, Node: string(actors.LocalNode), Coordinator: string(actors.LocalNode),
		Nodes: []string{string(actors.LocalNode)}, Epoch: 1, Neurons: neurons, Synapses: synapses, ObservesAll: true}
	src := &httpSource{intake: intake, ctlStats: ctlStats, bursts: bursts, every: interval(c, plan)}
	var owners []string
	if a, ok := r.(*actorRunner); ok {
		src.a = a
		if cn := a.cn; cn != nil {
			// The cluster as formed: the first generation, as began will
			// show the next ones.
			p := httpPlacement(c, cn.self, &generation{epoch: 1, coordinator: cn.coordinator, members: cn.nodes, placement: cn.placement})
			b.Node, b.Coordinator, b.Nodes, b.ObservesAll, owners = string(cn.self), p.Coordinator, p.Nodes, p.ObservesAll, p.Owners
		}
	}
	b.Source = src
	b.Areas = make([]web.Area, len(plan.Areas))
	for i := range plan.Areas {
		a := &plan.Areas[i]
		owner := b.Node
		if i < len(owners) {
			owner = owners[i]
		}
		b.Areas[i] = web.Area{Index: i, ID: a.ID.String(), LegacyID: a.LegacyID, Name: a.Name, Kind: a.Kind.String(),
			Dims: a.Dims, PerVoxel: a.PerVoxel, Neurons: a.Neurons(), Owner: owner}
	}
	return b
}

// httpPlacement is generation g as the HTTP server shows it on node self.
func httpPlacement(c *Config, self actors.NodeID, g *generation) web.Placement {
	p := web.Placement{Coordinator: string(g.coordinator), Epoch: g.epoch,
		ObservesAll: g.coordinator == self || c.Record != ""}
	for _, n := range g.members {
		p.Nodes = append(p.Nodes, string(n))
	}
	for _, n := range g.placement {
		p.Owners = append(p.Owners, string(n))
	}
	return p
}

// httpSource is web.Source for a running brain: counters read from the
// runtime, its NATS connections and the sensor intake, and control
// requests sent to the coordinator's control subject (the same path as
// node ctl --nats, so every node of a cluster can take them).
type httpSource struct {
	a        *actorRunner // nil: the reference runner
	intake   *pns.Intake
	ctlStats func(*brainv1.Stats)
	bursts   *atomic.Uint64
	every    time.Duration // the reference runner's fixed pacing
}

func (h *httpSource) Control(ctx context.Context, c *brainv1.Control) (*brainv1.Stats, error) {
	if h.a == nil {
		if _, ok := c.Command.(*brainv1.Control_Stats); !ok {
			return nil, web.ErrNoControl
		}
		var s brainv1.Stats
		h.ctlStats(&s)
		s.Burst = h.bursts.Load()
		return &s, nil
	}
	data, err := proto.Marshal(c)
	if err != nil {
		return nil, err
	}
	m, err := h.a.nc.RequestWithContext(ctx, h.a.ctlSubject, data)
	if err != nil {
		return nil, fmt.Errorf("control request on %s: %w", h.a.ctlSubject, err)
	}
	var s brainv1.Stats
	if err := proto.Unmarshal(m.Data, &s); err != nil {
		return nil, fmt.Errorf("control answer on %s: %w", h.a.ctlSubject, err)
	}
	return &s, nil
}

func (h *httpSource) Interval() (time.Duration, bool) {
	switch {
	case h.a == nil:
		return h.every, true
	case h.a.leader.Load() && h.a.rt() != nil:
		return h.a.rt().Interval(), true
	}
	return 0, false
}

func (h *httpSource) Paused() bool {
	if h.a == nil {
		return false
	}
	rt := h.a.rt()
	return rt != nil && rt.Paused()
}

func (h *httpSource) Counters() web.Counters {
	k := web.Counters{Intake: h.intake.Stats(), Members: 1}
	a := h.a
	if a == nil {
		return k
	}
	st := a.nc.Stats()
	k.IOMsgsIn, k.IOMsgsOut, k.IOBytesIn, k.IOBytesOut = st.InMsgs, st.OutMsgs, st.InBytes, st.OutBytes
	if rt := a.rt(); rt != nil {
		k.RuntimeMsgsOut, k.RuntimeBytesOut = rt.BusStats()
		k.Ignored, k.SpikeBatchesDropped, k.BadControl = rt.Ignored(), rt.Dropped(), rt.BadControl()
	}
	if b := a.bridge.Load(); b != nil {
		k.SensorSlowConsumer = b.SlowConsumerDrops()
	}
	if a.cn != nil {
		k.Members = len(a.cn.ml.Members())
	}
	return k
}
