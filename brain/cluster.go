package brain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cluster"
	"github.com/spikemesh/spikemesh/cortical"
)

// ClusterConfig is the part of Config that spreads one brain over several
// node processes (cluster mode). Every node grows the whole plan, finds the
// others with memberlist, computes the same placement of areas over the
// nodes and runs its own areas; the node with the lowest name coordinates
// (paces the bursts, takes the sensory input, answers control requests).
type ClusterConfig struct {
	// Bind is the memberlist address, HOST:PORT (--cluster-bind); set, it
	// enables cluster mode.
	Bind string
	// Advertise is the address peers reach this node's memberlist at, when
	// Bind's is not (--cluster-advertise).
	Advertise string
	// NodeName names this node; default the host name (--node-name).
	NodeName string
	// Join lists seed nodes' memberlist addresses (--join); the first node
	// of a cluster may list none, or itself.
	Join []string
	// Label must be the same on every node of one cluster; nodes of another
	// label are not let in (--cluster-label).
	Label string
	// ExpectNodes is how many nodes run the brain: each waits for that many
	// before burst 1 (--expect-nodes; default 1).
	ExpectNodes int
	// JoinTimeout bounds joining the seeds, waiting for ExpectNodes nodes
	// and the handshake before burst 1 (--join-timeout; default 1m).
	JoinTimeout time.Duration
	// NATSCluster is the route listener of the embedded NATS server,
	// HOST:PORT (--nats-cluster): the nodes' embedded servers form one NATS
	// cluster. Without it, every node uses the external Config.NATS.
	NATSCluster string
	// Placement is a file that maps every area (its ID as the genome writes
	// it, or base64) to a node name, instead of the computed placement
	// (--placement; for tests and experiments).
	Placement string
	// Capacity is this node's relative weight in the placement (--capacity;
	// default 1).
	Capacity float64
	// FailureTimeout bounds how long a dead, hung or unreachable node goes
	// unnoticed (--failure-timeout; default 5s): memberlist's probes are
	// tuned to it, and the other waits of a change of generation follow it.
	FailureTimeout time.Duration
	// Window is how many bursts the coordinator may tick ahead of the last
	// one every node completed (--lockstep-window; default
	// DefaultLockstepWindow). Every node must be given the same; the spike
	// trains do not depend on it.
	Window int
}

// DefaultLockstepWindow is the lock step's window in cluster mode: with 2,
// a node starts burst b+1 as soon as its areas finish b while its
// completion of b travels to the coordinator, which then ticks b+2.
const DefaultLockstepWindow = 2

// MaxLockstepWindow bounds --lockstep-window: every area keeps window+1
// bursts of incoming batches.
const MaxLockstepWindow = 8

// Enabled reports whether the brain runs in cluster mode.
func (k *ClusterConfig) Enabled() bool { return k.Bind != "" }

func (k *ClusterConfig) validate(c *Config) error {
	if !k.Enabled() {
		for _, f := range []struct {
			set  bool
			flag string
		}{{k.Advertise != "", "--cluster-advertise"}, {len(k.Join) > 0, "--join"}, {k.Label != "", "--cluster-label"},
			{k.ExpectNodes > 1, "--expect-nodes"}, {k.NATSCluster != "", "--nats-cluster"}, {k.Placement != "", "--placement"},
			{k.Window != 0, "--lockstep-window"}} {
			if f.set {
				return fmt.Errorf("%s: only in cluster mode; add --cluster-bind HOST:PORT", f.flag)
			}
		}
		return nil
	}
	if _, _, err := clusterHostPort(k.Bind, "--cluster-bind"); err != nil {
		return err
	}
	if k.Advertise != "" {
		if _, _, err := clusterHostPort(k.Advertise, "--cluster-advertise"); err != nil {
			return err
		}
	}
	for _, j := range k.Join {
		if _, _, err := clusterHostPort(j, "--join"); err != nil {
			return err
		}
	}
	if k.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return errors.New("--node-name: required (the host name is unknown)")
		}
		k.NodeName = h
	}
	if k.ExpectNodes == 0 {
		k.ExpectNodes = 1
	}
	if k.ExpectNodes < 0 {
		return fmt.Errorf("--expect-nodes: want 1 or more, got %d", k.ExpectNodes)
	}
	if k.JoinTimeout == 0 {
		k.JoinTimeout = time.Minute
	}
	if k.JoinTimeout < 0 {
		return fmt.Errorf("--join-timeout: want a positive duration, got %v", k.JoinTimeout)
	}
	if k.FailureTimeout == 0 {
		k.FailureTimeout = DefaultFailureTimeout
	}
	if k.FailureTimeout < 50*time.Millisecond {
		return fmt.Errorf("--failure-timeout: want at least 50ms, got %v", k.FailureTimeout)
	}
	if k.Capacity < 0 {
		return fmt.Errorf("--capacity: want a positive number, got %v", k.Capacity)
	}
	if k.Window == 0 {
		k.Window = DefaultLockstepWindow
	}
	if k.Window < 1 || k.Window > MaxLockstepWindow {
		return fmt.Errorf("--lockstep-window: want 1 to %d bursts, got %d", MaxLockstepWindow, k.Window)
	}
	if c.Runner != RunnerActors {
		return errors.New("--runner reference runs in one process: drop --cluster-bind")
	}
	switch {
	case c.NATS != "" && k.NATSCluster != "":
		return errors.New("--nats-cluster: only for the embedded server; with --nats, every node uses the external servers")
	case c.NATS == "" && k.NATSCluster == "" && k.ExpectNodes > 1:
		return errors.New("--nats-cluster HOST:PORT or --nats URL: the nodes need a NATS cluster to talk over")
	case k.NATSCluster != "":
		if _, _, err := clusterHostPort(k.NATSCluster, "--nats-cluster"); err != nil {
			return err
		}
	}
	if k.Placement != "" {
		if _, err := os.Stat(k.Placement); err != nil {
			return fmt.Errorf("--placement: %w", err)
		}
	}
	return nil
}

func clusterHostPort(hp, flag string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: want HOST:PORT: %w", flag, hp, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s %q: port %q: want 0 to 65535", flag, hp, p)
	}
	return host, port, nil
}

// clusterNode is this process's part of a brain spread over several nodes:
// its membership, the nodes of the run, the placement and the run's
// identity.
type clusterNode struct {
	ml          *cluster.Membership
	self        actors.NodeID
	nodes       []actors.NodeID // sorted by name
	members     []cluster.Member
	coordinator actors.NodeID
	placement   actors.Table
	run         uint64
	observed    bool // some other node records
	routes      []string
	meta        cluster.Meta // what this node tells the others
	joining     bool         // joined a running brain: no placement yet
}

// joinCluster joins the cluster and waits for the expected nodes, then
// decides the placement and the run's identity, as every node does.
func joinCluster(ctx context.Context, c *Config, plan *cortical.Plan, genome []byte, log *slog.Logger) (_ *clusterNode, err error) {
	if godebug := os.Getenv("GODEBUG"); !monitorAwake(godebug) {
		log.Info("the Go runtime's monitor thread will sleep and be woken at every burst; "+
			"GODEBUG="+MonitorAwake+" avoids it (docs/cluster.md, \"The Go runtime's monitor thread\")", "GODEBUG", godebug)
	}
	k := &c.Cluster
	meta := cluster.Meta{
		Digest: cluster.Digest{Genome: cluster.GenomeDigest(genome), Seed: plan.Seed,
			Precision: plan.Precision.String(), Bursts: c.Bursts, Window: k.Window},
		Capacity: k.Capacity,
		Boot:     rand.Uint64(),
		Records:  c.Record != "",
		State:    cluster.StateForming,
	}
	if k.NATSCluster != "" {
		meta.NATSRouteURL = "nats-route://" + advertised(k.NATSCluster, k.Advertise, k.Bind)
	}
	if c.NATSListen != "" {
		meta.NATSClientURL = "nats://" + advertised(c.NATSListen, k.Advertise, k.Bind)
	}
	// memberlist suspects a node after a failed probe and declares it dead
	// when the suspicion is not refuted: about FailureTimeout in all.
	ft := k.FailureTimeout
	ml, err := cluster.Start(cluster.Config{Name: k.NodeName, Bind: k.Bind, Advertise: k.Advertise, Join: k.Join,
		Label: k.Label, JoinTimeout: k.JoinTimeout, Meta: meta, Logger: log.With("lib", "memberlist"),
		ProbeInterval: ft / 4, ProbeTimeout: max(ft/8, 20*time.Millisecond), SuspicionMult: 2})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = ml.Shutdown()
		}
	}()
	// A brain that already runs takes this node in at its next generation;
	// unless this node is one of those that formed it (they started
	// together and the others began first): the run's identity then
	// follows from the members this node sees.
	all := ml.Members()
	formed := runIdentity(meta.Digest, c, all)
	for _, m := range all {
		if m.Name != k.NodeName && m.Meta.Epoch > 0 && m.Meta.Run != 0 && m.Meta.Run != formed && m.Meta.State != cluster.StateForming {
			cn := &clusterNode{ml: ml, self: actors.NodeID(k.NodeName), run: m.Meta.Run, meta: meta, joining: true,
				routes: peerRoutes(all, k.NodeName)}
			log.Info("joining a running brain", "node", k.NodeName, "via", m.Name, "epoch", m.Meta.Epoch)
			return cn, nil
		}
	}
	wctx, cancel := context.WithTimeout(ctx, k.JoinTimeout)
	defer cancel()
	if k.ExpectNodes > 1 {
		log.Info("waiting for the cluster's nodes", "node", k.NodeName, "expect", k.ExpectNodes)
	}
	members, err := ml.WaitFor(wctx, k.ExpectNodes)
	if err != nil {
		return nil, fmt.Errorf("--expect-nodes %d: %w", k.ExpectNodes, err)
	}
	cn := &clusterNode{ml: ml, self: actors.NodeID(k.NodeName), members: members, meta: meta}
	slices.SortFunc(cn.members, func(a, b cluster.Member) int { return strings.Compare(a.Name, b.Name) })
	nodes := make([]cluster.Node, len(cn.members))
	for i, m := range cn.members {
		cn.nodes = append(cn.nodes, actors.NodeID(m.Name))
		nodes[i] = cluster.Node{Name: m.Name, Capacity: m.Meta.Capacity}
		if m.Name != k.NodeName {
			cn.observed = cn.observed || m.Meta.Records
		}
	}
	cn.routes = peerRoutes(cn.members, k.NodeName)
	cn.run = runIdentity(meta.Digest, c, cn.members)
	cn.coordinator = cn.nodes[0]

	var owners []string
	if k.Placement != "" {
		data, err := os.ReadFile(k.Placement)
		if err != nil {
			return nil, fmt.Errorf("--placement: %w", err)
		}
		owners, err = cluster.ParsePlacementFile(data, plan.FindArea, len(plan.Areas))
		if err != nil {
			return nil, fmt.Errorf("--placement %s: %w", k.Placement, err)
		}
		for i, o := range owners {
			if !slices.Contains(cn.nodes, actors.NodeID(o)) {
				return nil, fmt.Errorf("--placement %s: area %s is placed on node %q, which is not a member (members: %v)",
					k.Placement, plan.Areas[i].ID, o, cn.nodes)
			}
		}
	} else {
		owners, err = cluster.Place(areaWeights(plan), nodes, nil)
		if err != nil {
			return nil, err
		}
	}
	cn.placement = make(actors.Table, len(owners))
	for i, o := range owners {
		cn.placement[i] = actors.NodeID(o)
	}
	local := 0
	for _, o := range cn.placement {
		if o == cn.self {
			local++
		}
	}
	log.Info("cluster formed", "node", k.NodeName, "nodes", len(cn.nodes), "coordinator", cn.coordinator,
		"areas_here", local, "run", fmt.Sprintf("%016x", cn.run))
	return cn, nil
}

// peerRoutes is the NATS route URLs of the members other than self.
func peerRoutes(members []cluster.Member, self string) []string {
	var out []string
	for _, m := range members {
		if m.Name != self && m.Meta.NATSRouteURL != "" {
			out = append(out, m.Meta.NATSRouteURL)
		}
	}
	return out
}

// runIdentity is the identity of the run that members form together: a
// hash of what must agree and of every member's name and boot number (so
// a restarted cluster is a new run).
func runIdentity(d cluster.Digest, c *Config, members []cluster.Member) uint64 {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b cluster.Member) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	fmt.Fprintf(h, "%s/%s/%d/%s/%d\n", d.Genome, d.Precision, d.Seed, c.Brain, c.Bursts)
	for _, m := range ms {
		fmt.Fprintf(h, "%s/%d\n", m.Name, m.Meta.Boot)
	}
	return binary.BigEndian.Uint64(h.Sum(nil)) | 1
}

// advertised is the HOST:PORT peers use for a listener bound to listen:
// listen itself, unless its host is unspecified (0.0.0.0, ::, ""), when the
// host of the memberlist advertise (or bind) address stands in.
func advertised(listen, advertise, bind string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return listen
	}
	for _, a := range []string{advertise, bind} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
				return net.JoinHostPort(h, port)
			}
		}
	}
	if h, err := os.Hostname(); err == nil {
		return net.JoinHostPort(h, port)
	}
	return listen
}

// areaWeights is each area's share of the work: neurons plus incoming
// synapses.
func areaWeights(plan *cortical.Plan) []int64 {
	w := make([]int64, len(plan.Areas))
	for i := range plan.Areas {
		w[i] = int64(plan.Areas[i].Neurons())
	}
	for _, c := range plan.Connections {
		w[c.Dst] += int64(c.Synapses())
	}
	return w
}

// close leaves the cluster.
func (cn *clusterNode) close() {
	if cn == nil {
		return
	}
	_ = cn.ml.Leave(500 * time.Millisecond)
	_ = cn.ml.Shutdown()
}
