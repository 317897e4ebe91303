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
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/actors"
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
	rt     *actors.Runtime
	cn     *clusterNode         // nil outside cluster mode
	rtt    time.Duration        // median round trip to another node, measured before burst 1
	bridge *natsio.SensorBridge // nil on a cluster node that does not coordinate
	ns     *server.Server       // the embedded NATS server; nil with an external one
	undo   []func()

	// The connection of sensors, motors and control, the control subject,
	// and whether this node coordinates (for the HTTP API).
	nc         *nats.Conn
	ctlSubject string
	leader     bool
}

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
	observe actors.Observer, ctlStats func(*brainv1.Stats)) (_ *actorRunner, err error) {
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
	leader := cn == nil || cn.coordinator == cn.self
	// One brain per name on one NATS: ask whether one runs before taking
	// any of its subjects; the coordinator answers from now on.
	run := rand.Uint64() | 1
	self := actors.LocalNode
	if cn != nil {
		run, self = cn.run, cn.self
	}
	presenceSubject := natsauth.Base(subjects) + ".presence"
	if err := actors.CheckPresence(ctx, nc, presenceSubject, run, 2*time.Second); err != nil {
		return nil, err
	}
	if leader {
		ps, err := actors.ServePresence(nc, presenceSubject, run, self)
		if err != nil {
			return nil, err
		}
		a.undo = append(a.undo, func() { _ = ps.Unsubscribe() })
	}
	// The HTTP API's changes go through the control subject of its own
	// name, so that the log says where they came from.
	a.nc, a.ctlSubject, a.leader = nc, natsauth.ControlSubject(subjects, "http"), leader
	if leader {
		// Sensory input lands on the coordinator, which fixes every burst's
		// points for every node.
		a.bridge, err = natsio.SubscribeSensors(nc, subjects, feed.Intake, natsio.WithLogger(log))
		if err != nil {
			return nil, err
		}
		a.undo = append(a.undo, func() { _ = a.bridge.Close() })
		tables, err := natsio.ServeAreas(nc, subjects, areaTable(plan))
		if err != nil {
			return nil, err
		}
		a.undo = append(a.undo, func() { _ = tables.Unsubscribe() })
	}
	pub, err := natsio.NewMotorPublisher(nc, subjects, areas)
	if err != nil {
		return nil, err
	}
	cfg := actors.Config{
		Plan: plan, Dial: dial, SpikesViaNATS: c.SpikesViaNATS, Run: run,
		SubjectPrefix: subjects.Prefix, Brain: subjects.Brain,
		Interval: interval(c, plan), StallTimeout: c.StallTimeout, InlineWork: InlineWork,
		Motors: motors{pub}, Observer: observe, Logger: log,
	}
	keep := func(int) bool { return true }
	if cn != nil {
		cfg.Placement, cfg.Node, cfg.Run = cn.placement, cn.self, cn.run
		cfg.Cluster = &actors.Cluster{Nodes: cn.nodes, Coordinator: cn.coordinator, Observe: c.Record != "", Observed: cn.observed}
		keep = func(i int) bool { return cn.placement[i] == cn.self }
	}
	if leader {
		cfg.Sensors = feed
	}
	engs, closeEngines, err := EnginesFor(plan, keep, drives, c.Threads)
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, closeEngines)
	cfg.Engines = engs
	if a.rt, err = actors.New(cfg); err != nil {
		return nil, err
	}
	a.undo = append(a.undo, a.rt.Close)
	if leader {
		stats := func(s *brainv1.Stats) {
			ctlStats(s)
			s.SensorDropped += a.bridge.SlowConsumerDrops()
			s.SlowConsumers += a.slowConsumers()
		}
		ctl, err := a.rt.ServeControl(nc, natsauth.ControlSubject(subjects, ""), stats)
		if err != nil {
			return nil, err
		}
		a.undo = append(a.undo, func() { _ = ctl.Unsubscribe() })
		st, err := a.rt.ServeStats(nc, natsauth.StatsSubject(subjects), stats)
		if err != nil {
			return nil, err
		}
		a.undo = append(a.undo, func() { _ = st.Unsubscribe() })
	}
	// The server must know the sensor and control subscriptions before
	// anyone is told the brain is ready: core NATS delivers only to known
	// subscribers.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return nil, fmt.Errorf("flushing subscriptions to %s: %w", where, err)
	}
	if leader {
		// Two brains of one name that started together both see each
		// other now, and both stop.
		if err := actors.ConfirmPresence(nc, presenceSubject, run); err != nil {
			return nil, err
		}
	}
	if cn != nil {
		hctx, cancel := context.WithTimeout(ctx, c.Cluster.JoinTimeout)
		defer cancel()
		t0 := time.Now()
		if err := a.rt.Handshake(hctx); err != nil {
			return nil, fmt.Errorf("cluster handshake: %w", err)
		}
		log.Info("every node reachable over NATS", "node", cn.self, "took", time.Since(t0).Round(time.Millisecond))
		if c.SummaryJSON != "" && cn.coordinator == cn.self && len(cn.nodes) > 1 {
			// The floor of any lock step: 200 round trips to another node
			// over the same NATS path, before burst 1.
			if rtts, err := a.rt.PingNode(hctx, cn.nodes[1], 200); err == nil && len(rtts) > 0 {
				slices.Sort(rtts)
				a.rtt = rtts[len(rtts)/2]
			}
		}
	}
	return a, nil
}

func (a *actorRunner) run(ctx context.Context, bursts uint64) error { return a.rt.Run(ctx, bursts) }

// measure reports this node's NATS traffic and, on a cluster's
// coordinator, the median of 200 round trips to another node.
func (a *actorRunner) measure(context.Context) measures {
	var m measures
	m.msgs, m.bytes = a.rt.BusStats()
	m.ignored, m.slow = a.rt.Ignored(), a.slowConsumers()
	m.nodes = 1
	if cn := a.cn; cn != nil {
		m.node, m.nodes = string(cn.self), len(cn.nodes)
		m.rttP50 = a.rtt
	}
	return m
}

func (a *actorRunner) dropped() (uint64, uint64) {
	if a.bridge == nil {
		return a.rt.Dropped(), 0
	}
	return a.rt.Dropped(), a.bridge.SlowConsumerDrops()
}

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
type motors struct{ pub *natsio.MotorPublisher }

func (m motors) Publish(area int, burst npu.Burst, fired []uint32, potentials []float32) error {
	return m.pub.Publish(burst, area, fired, potentials)
}
