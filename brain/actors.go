package brain

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cluster/ckpt"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// InlineWork is actors.Config.InlineWork for node run: areas with fewer
// neurons plus incoming synapses step on the goroutine that sends them a
// message (the ring benchmark of 16 such areas coordinates a burst in about
// 7 µs this way, 8–9 µs with a goroutine per message).
const InlineWork = 4096

// actorRunner runs a brain with the actor runtime, one actor per area, with
// its NATS connection (embedded server or external), the sensor bridge, the
// motor publisher and the control subject. close undoes, in reverse order,
// whatever was set up.
type actorRunner struct {
	cur    atomic.Pointer[actors.Runtime]      // the runtime of the current generation
	cn     *clusterNode                        // nil outside cluster mode
	sup    *supervisor                         // nil outside cluster mode
	first  *generation                         // the generation the nodes formed (nil: joined a running brain)
	rtt    atomic.Int64                        // median round trip to another node, measured before burst 1 (ns)
	bridge atomic.Pointer[natsio.SensorBridge] // nil on a cluster node that does not coordinate
	ns     *server.Server                      // the embedded NATS server; nil with an external one
	undo   []func()

	// The connection of sensors, motors and control, the control subject,
	// and whether this node coordinates (for the HTTP API).
	nc         *nats.Conn
	ctlSubject string
	leader     atomic.Bool
}

// rt is the runtime of the current generation (nil between generations).
func (a *actorRunner) rt() *actors.Runtime { return a.cur.Load() }

// slowConsumers is the number of clients the embedded server cut off for
// not reading fast enough (0 with an external server).
func (a *actorRunner) slowConsumers() uint64 {
	if a.ns == nil {
		return 0
	}
	return a.ns.NumSlowConsumersClients()
}

// newActorRunner sets up the actor runtime of this node: in cluster mode it
// joins the cluster first, runs only the areas placed here, takes sensory
// input and control requests only on the coordinating node, and returns
// once every node can reach every other.
func newActorRunner(ctx context.Context, c *Config, plan *cortical.Plan, drives [][]npu.Drive, genome []byte, areas []pns.Area, feed *actors.SensorFeed,
	observe actors.Observer, wantFired func() bool, ctlStats func(*brainv1.Stats)) (_ *actorRunner, err error) {
	log := c.Logger
	a := &actorRunner{}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	var cn *clusterNode
	if c.Cluster.Enabled() {
		if cn, err = joinCluster(ctx, c, plan, genome, log); err != nil {
			return nil, err
		}
		a.undo = append(a.undo, cn.close)
		a.cn = cn
	}
	subjects := pns.Subjects{Prefix: c.SubjectPrefix, Brain: c.Brain}
	where := "NATS at " + RedactURL(c.NATS)
	clientOpts, err := c.clientOptions()
	if err != nil {
		return nil, err
	}
	dial := func(opts ...nats.Option) (*nats.Conn, error) {
		nc, err := nats.Connect(c.NATS, append(opts, clientOpts...)...)
		return nc, c.redactSecrets(err)
	}
	if c.NATS == "" {
		opts, creds, err := c.embeddedServer(plan, subjects, log)
		if err != nil {
			return nil, err
		}
		if cn != nil && c.Cluster.NATSCluster != "" {
			opts.Name, opts.Cluster, opts.Routes = c.Cluster.NodeName, c.Cluster.NATSCluster, cn.routes
			opts.ClusterName = "spikemesh-" + c.Brain
		}
		ns, err := startEmbedded(opts)
		if err != nil {
			return nil, err
		}
		a.ns = ns
		a.undo = append(a.undo, func() { ns.Shutdown(); ns.WaitForShutdown() })
		where = "the embedded NATS server"
		if c.NATSListen != "" {
			log.Info("NATS listening; sensors and motors connect with --nats URL", "url", clientURL(ns.ClientURL()),
				"auth", creds != nil, "tls", opts.TLS != nil, "max_payload", opts.MaxPayload)
		}
		own := creds.Options()
		dial = func(opts ...nats.Option) (*nats.Conn, error) {
			return nats.Connect("", append(append(opts, own...), nats.InProcessServer(ns))...)
		}
	}
	connect := func() (*nats.Conn, error) {
		return dial(nats.Name("spikemesh-pns"), natsio.LogErrors(log),
			nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
				if err != nil {
					log.Warn("NATS connection lost; reconnecting", "url", nc.ConnectedUrlRedacted(), "err", err)
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
			}),
		)
	}
	nc, err := connect()
	if err != nil && cn != nil && c.NATS != "" {
		// A cluster node started beside its external NATS (pods of one
		// deployment) waits for it, within --join-timeout, rather than
		// failing at once and being restarted.
		log.Warn("NATS not reachable yet; retrying", "url", RedactURL(c.NATS), "err", err, "within", c.Cluster.JoinTimeout)
		deadline := time.Now().Add(c.Cluster.JoinTimeout)
		for wait := 100 * time.Millisecond; err != nil && time.Now().Before(deadline) && ctx.Err() == nil; wait = min(2*wait, 2*time.Second) {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			nc, err = connect()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", where, err)
	}
	a.undo = append(a.undo, nc.Close)
	a.nc, a.ctlSubject = nc, natsauth.ControlSubject(subjects, "http")
	pub, err := natsio.NewMotorPublisher(nc, subjects, areas)
	if err != nil {
		return nil, err
	}
	cfg := actors.Config{
		Plan: plan, Dial: dial, SpikesViaNATS: c.SpikesViaNATS,
		SubjectPrefix: subjects.Prefix, Brain: subjects.Brain,
		Interval: interval(c, plan), StallTimeout: c.StallTimeout, InlineWork: InlineWork,
		Motors: motors{pub: pub}, Observer: observe, WantFired: wantFired, Logger: log,
	}
	presenceSubject := natsauth.Base(subjects) + ".presence"
	// leaderServices subscribes what the coordinating node serves: sensory
	// input, the area table, control, stats and presence.
	leaderServices := func(rt *actors.Runtime, run uint64, self actors.NodeID) (func(), error) {
		var undo []func()
		release := func() {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
		fail := func(err error) (func(), error) { release(); return nil, err }
		ps, err := actors.ServePresence(nc, presenceSubject, run, self)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, func() { _ = ps.Unsubscribe() })
		// Sensory input lands on the coordinator, which fixes every burst's
		// points for every node.
		bridge, err := natsio.SubscribeSensors(nc, subjects, feed.Intake, natsio.WithLogger(log))
		if err != nil {
			return fail(err)
		}
		a.bridge.Store(bridge)
		undo = append(undo, func() { _ = bridge.Close() })
		tables, err := natsio.ServeAreas(nc, subjects, areaTable(plan))
		if err != nil {
			return fail(err)
		}
		undo = append(undo, func() { _ = tables.Unsubscribe() })
		stats := func(s *brainv1.Stats) {
			ctlStats(s)
			s.SensorDropped += bridge.SlowConsumerDrops()
			s.SlowConsumers += a.slowConsumers()
		}
		ctl, err := rt.ServeControl(nc, natsauth.ControlSubject(subjects, ""), stats)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, func() { _ = ctl.Unsubscribe() })
		st, err := rt.ServeStats(nc, natsauth.StatsSubject(subjects), stats)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, func() { _ = st.Unsubscribe() })
		return release, nil
	}
	if cn != nil {
		if err := a.cluster(ctx, c, plan, drives, cfg, cn, feed, leaderServices, presenceSubject, subjects); err != nil {
			return nil, err
		}
		return a, nil
	}
	// One brain per name on one NATS: ask whether one runs before taking
	// any of its subjects; the coordinator answers from now on.
	run := rand.Uint64() | 1
	if err := actors.CheckPresence(ctx, nc, presenceSubject, run, 2*time.Second); err != nil {
		return nil, err
	}
	cfg.Run, cfg.Sensors = run, feed
	engs, closeEngines, err := EnginesFor(plan, func(int) bool { return true }, drives, c.Threads)
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, closeEngines)
	cfg.Engines = engs
	rt, err := actors.New(cfg)
	if err != nil {
		return nil, err
	}
	a.cur.Store(rt)
	a.leader.Store(true)
	a.undo = append(a.undo, rt.Close)
	release, err := leaderServices(rt, run, actors.LocalNode)
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, release)
	// The server must know the sensor and control subscriptions before
	// anyone is told the brain is ready: core NATS delivers only to known
	// subscribers.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return nil, fmt.Errorf("flushing subscriptions to %s: %w", where, err)
	}
	// Two brains of one name that started together both see each other
	// now, and both stop.
	if err := actors.ConfirmPresence(nc, presenceSubject, run); err != nil {
		return nil, err
	}
	return a, nil
}

// cluster sets up this node's part of a cluster brain: the supervisor that
// runs it through its generations, and the first generation when the nodes
// form the brain together.
func (a *actorRunner) cluster(ctx context.Context, c *Config, plan *cortical.Plan, drives [][]npu.Drive, cfg actors.Config,
	cn *clusterNode, feed *actors.SensorFeed, leaderServices func(*actors.Runtime, uint64, actors.NodeID) (func(), error),
	presenceSubject string, subjects pns.Subjects) error {
	log := c.Logger
	nc := a.nc
	if !cn.joining {
		if err := actors.CheckPresence(ctx, nc, presenceSubject, cn.run, 2*time.Second); err != nil {
			return err
		}
	}
	every := c.CheckpointEvery
	if every == 0 {
		every = DefaultCheckpointEvery
	}
	if every < 0 {
		every = 0
	}
	store, err := ckpt.NewStore(len(plan.Areas), ckpt.Limits{})
	if err != nil {
		return err
	}
	s := &supervisor{c: c, plan: plan, log: log, cn: cn, nc: nc, base: natsauth.Base(subjects) + ".gen", self: cn.self,
		run: cn.run, every: uint64(every), fail: c.Cluster.FailureTimeout, drives: drives,
		store: store, inputs: ckpt.NewInputLog(0), hist: map[uint64]uint64{}}
	a.sup = s
	mot := cfg.Motors.(motors)
	mot.until = &s.replayUntil
	cfg.Motors = mot
	cfg.Observer = s.observe(cfg.Observer)
	cfg.Completed = s.completed
	cfg.Inputs = s.logInputs
	cfg.Node, cfg.Run = cn.self, cn.run
	confirmed := false
	s.start = func(g *generation, engines []npu.Engine) (*actors.Runtime, func(), error) {
		gc := cfg
		leader := g.coordinator == cn.self
		observed := false
		for _, m := range cn.ml.Members() {
			if m.Name != string(cn.self) && slices.Contains(g.members, actors.NodeID(m.Name)) && m.Meta.Records {
				observed = true
			}
		}
		gc.Engines, gc.Placement, gc.Epoch, gc.FirstBurst = engines, g.placement, g.epoch, g.resume+1
		gc.Interval = g.interval
		gc.Window = c.Cluster.Window
		gc.Cluster = &actors.Cluster{Nodes: g.members, Coordinator: g.coordinator, Observe: c.Record != "", Observed: observed}
		gc.CheckpointEvery = s.every
		gc.Checkpoint = s.checkpoint(a.rt, leader)
		if leader {
			gc.Sensors = replaySensors{s: s, feed: feed}
		}
		rt, err := actors.New(gc)
		if err != nil {
			return nil, nil, err
		}
		release := func() {}
		if leader {
			if release, err = leaderServices(rt, cn.run, cn.self); err != nil {
				rt.Close()
				return nil, nil, err
			}
			if g.paused {
				rt.Pause()
			}
		}
		if err := nc.FlushTimeout(10 * time.Second); err != nil {
			release()
			rt.Close()
			return nil, nil, fmt.Errorf("flushing subscriptions to NATS: %w", err)
		}
		if leader && !confirmed && !cn.joining {
			confirmed = true
			if err := actors.ConfirmPresence(nc, presenceSubject, cn.run); err != nil {
				release()
				rt.Close()
				return nil, nil, err
			}
		}
		a.cur.Store(rt)
		a.leader.Store(leader)
		return rt, func() {
			a.leader.Store(false)
			release()
			a.bridge.Store(nil)
			rt.Close()
		}, nil
	}
	if c.SummaryJSON != "" {
		s.handshook = func(rt *actors.Runtime, g *generation) {
			if g.epoch != 1 || g.coordinator != cn.self || len(g.members) < 2 {
				return
			}
			// The floor of any lock step: 200 round trips to another node
			// over the same NATS path, before burst 1.
			hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if rtts, err := rt.PingNode(hctx, g.members[1], 200); err == nil && len(rtts) > 0 {
				slices.Sort(rtts)
				a.rtt.Store(int64(rtts[len(rtts)/2]))
			}
		}
	}
	if err := s.listen(); err != nil {
		return err
	}
	a.undo = append(a.undo, func() { _ = s.sub.Unsubscribe() })
	status, err := natsio.ServeClusterStatus(nc, natsauth.ClusterStatusSubject(subjects), func() *brainv1.ClusterStatus {
		var completed uint64
		if rt := a.rt(); rt != nil {
			completed = rt.Completed()
		}
		return s.clusterStatus(completed)
	})
	if err != nil {
		return err
	}
	a.undo = append(a.undo, func() { _ = status.Unsubscribe() })
	if !cn.joining {
		a.first = &generation{epoch: 1, coordinator: cn.coordinator, members: cn.nodes, placement: cn.placement,
			interval: interval(c, plan)}
	}
	return nil
}

func (a *actorRunner) run(ctx context.Context, bursts uint64) error {
	if a.sup != nil {
		return a.sup.loop(ctx, a.first)
	}
	return a.rt().Run(ctx, bursts)
}

// measure reports this node's NATS traffic and, on a cluster's
// coordinator, the median of 200 round trips to another node.
func (a *actorRunner) measure(context.Context) measures {
	var m measures
	if rt := a.lastRT(); rt != nil {
		m.msgs, m.bytes = rt.BusStats()
		m.ignored = rt.Ignored()
	}
	m.slow = a.slowConsumers()
	m.nodes = 1
	if cn := a.cn; cn != nil {
		m.node, m.nodes = string(cn.self), len(cn.nodes)
		m.rttP50 = time.Duration(a.rtt.Load())
	}
	return m
}

func (a *actorRunner) dropped() (uint64, uint64) {
	var spikes, sensors uint64
	if rt := a.lastRT(); rt != nil {
		spikes = rt.Dropped()
	}
	if b := a.bridge.Load(); b != nil {
		sensors = b.SlowConsumerDrops()
	}
	return spikes, sensors
}

// lastRT is the runtime of the last generation, for figures after the run.
func (a *actorRunner) lastRT() *actors.Runtime { return a.cur.Load() }

func (a *actorRunner) close() {
	for i := len(a.undo) - 1; i >= 0; i-- {
		a.undo[i]()
	}
	a.undo = nil
}

// startEmbedded starts the embedded NATS server. A listen address whose
// port is taken is refused at once, naming it, rather than after the
// server's readiness timeout.
func startEmbedded(o actors.NATSServer) (*server.Server, error) {
	listen := o.Listen
	if o.Cluster != "" {
		if err := checkFree(o.Cluster, "--nats-cluster"); err != nil {
			return nil, err
		}
	}
	if listen != "" {
		host, port, err := splitListen(listen)
		if err != nil {
			return nil, err
		}
		if port > 0 {
			l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					return nil, fmt.Errorf("--nats-listen %s: address in use (another process listens there; pick another port, or -1 for a free one)", listen)
				}
				return nil, fmt.Errorf("--nats-listen %s: %w", listen, err)
			}
			l.Close()
		}
	}
	ns, err := actors.StartNATS(o)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	return ns, nil
}

// checkFree refuses a listen address whose port another process holds.
func checkFree(hp, flag string) error {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, hp, err)
	}
	if p == "0" || p == "-1" {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, p))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s %s: address in use (another process listens there)", flag, hp)
		}
		return fmt.Errorf("%s %s: %w", flag, hp, err)
	}
	return l.Close()
}

// clientURL is the URL a client on this machine uses for a server that
// reports u: a wildcard listen address (0.0.0.0, ::) becomes the loopback
// address.
func clientURL(u string) string {
	for _, any := range []string{"0.0.0.0", "[::]"} {
		if h, ok := strings.CutPrefix(u, "nats://"+any+":"); ok {
			return "nats://127.0.0.1:" + h
		}
	}
	return u
}

// areaTable is the table of areas the brain serves to clients.
func areaTable(plan *cortical.Plan) natsio.AreaTable {
	t := natsio.AreaTable{Areas: make([]natsio.AreaInfo, len(plan.Areas))}
	for i := range plan.Areas {
		a := &plan.Areas[i]
		t.Areas[i] = natsio.AreaInfo{ID: a.ID.String(), LegacyID: a.LegacyID, Name: a.Name, Kind: a.Kind.String(), Dims: a.Dims, PerVoxel: a.PerVoxel}
	}
	return t
}

// motors adapts the pns motor publisher to actors.Motors.
// A burst up to until ran before a rollback: its frames went out then.
type motors struct {
	pub   *natsio.MotorPublisher
	until *atomic.Uint64 // nil: no replay
}

func (m motors) Publish(area int, burst npu.Burst, fired []uint32, potentials []float32) error {
	if m.until != nil && burst <= m.until.Load() {
		return nil
	}
	return m.pub.Publish(burst, area, fired, potentials)
}
