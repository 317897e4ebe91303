package actors

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// natsBus is the node's one NATS connection for everything between areas
// and nodes: spike batches (one subscription for every batch to this
// node's areas, fanned out to the destination areas by source), and in a
// cluster the lock step's ticks, completions, complete bursts and the
// start-up handshake (lockstep_nats.go). Core NATS drops messages when a
// subscriber falls behind; the pending limits below hold at least four
// bursts of the largest possible traffic, so a drop means something is
// badly wrong, and is a fault. A message that is malformed or belongs to
// another run or epoch is ignored and counted, never a fault.
type natsBus struct {
	rt       *Runtime
	nc       *nats.Conn
	fanout   [][]*actor.PID      // by source area: local destinations reached over NATS
	remoteIn [][]*npu.Connection // by destination area: connections reached over NATS
	mu       sync.Mutex
	subs     []*nats.Subscription
	spikes   *nats.Subscription
	dropped  atomic.Uint64 // messages reported lost by slow-consumer errors
	probed   atomic.Bool   // every other node's subscriptions are visible
	tickBuf  []byte
	tick     *brainv1.Tick     // reused; ticked bursts gathered (leader)
	done     *brainv1.NodeDone // reused; doneN completions gathered (follower)
	ticked   int
	doneN    int
	// digests of the bursts digestsFrom, … complete since the last Tick
	// published (leader), at most maxDigests.
	digests     []uint64
	digestsFrom npu.Burst
	// unflushed: a tick or completion was published and not flushed yet
	// (coordinator goroutine only).
	unflushed bool
	ticks     map[NodeID]string // tick subject by node
}

func newBus(r *Runtime, fanout [][]*actor.PID, remoteIn [][]*npu.Connection) (*natsBus, error) {
	b := &natsBus{rt: r, fanout: fanout, remoteIn: remoteIn}
	nc, err := r.cfg.Dial(
		nats.Name("spikemesh-spikes-"+string(r.cfg.Node)),
		nats.ErrorHandler(b.onError),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.fault(fmt.Errorf("actors: NATS connection for spikes lost: %w", err))
			}
		}),
		// Batches are small and many: no reconnect buffering (a lost
		// connection is a fault, not a pause).
		nats.ReconnectBufSize(-1),
	)
	if err != nil {
		return nil, fmt.Errorf("actors: connecting to NATS for spikes: %w", err)
	}
	b.nc = nc
	return b, nil
}

// start subscribes everything this node receives, the probe subject last
// (see Handshake), and waits until the server has seen the subscriptions.
func (b *natsBus) start() error {
	r := b.rt
	var msgs, bytes int
	for _, conns := range b.remoteIn {
		for _, c := range conns {
			msgs += 4
			bytes += 4 * maxBatchBytes(uint32(len(c.Start)-1), c.MPDrivenPSP)
		}
	}
	if msgs > 0 {
		// Two bursts are in flight at most (see doc.go); allow four.
		sub, err := b.subscribe(r.spikeSubject(r.cfg.Node), b.onSpikes, 64+msgs, 1<<20+bytes)
		if err != nil {
			return err
		}
		b.spikes = sub
	}
	if err := b.subscribeLockstep(); err != nil {
		return err
	}
	return b.flush()
}

// subscribe subscribes handler to subject with pending limits.
func (b *natsBus) subscribe(subject string, handler nats.MsgHandler, msgs, bytes int) (*nats.Subscription, error) {
	sub, err := b.nc.Subscribe(subject, handler)
	if err != nil {
		return nil, fmt.Errorf("actors: subscribing to %s: %w", subject, err)
	}
	if err := sub.SetPendingLimits(msgs, bytes); err != nil {
		return nil, fmt.Errorf("actors: pending limits of %s: %w", subject, err)
	}
	b.mu.Lock()
	b.subs = append(b.subs, sub)
	b.mu.Unlock()
	return sub, nil
}

// onSpikes takes a batch for this node's areas: the header is checked once
// here, the body is decoded by each destination area.
func (b *natsBus) onSpikes(m *nats.Msg) {
	r := b.rt
	h, err := decodeHeader(m.Data)
	switch {
	case err != nil:
		r.ignore(&r.ignored.malformed)
	case h.run != r.cfg.Run:
		r.ignore(&r.ignored.run)
	case h.epoch != r.cfg.Epoch:
		r.ignore(&r.ignored.epoch)
	case int(h.src) >= len(b.fanout) || len(b.fanout[h.src]) == 0 || h.burst == 0:
		r.ignore(&r.ignored.unknown)
	default:
		root := r.system.Root
		for _, pid := range b.fanout[h.src] {
			root.Send(pid, &wireBatch{data: m.Data, src: int(h.src), burst: h.burst})
		}
	}
}

// maxBatchBytes bounds the encoding of one batch from an area of n neurons.
func maxBatchBytes(n uint32, potentials bool) int {
	size := 64 + 5*int(n)
	if potentials {
		size += 4 * int(n)
	}
	return size
}

// flush waits until the server has seen every subscription, so no message
// published by this node's server after it returns can miss a subscriber.
func (b *natsBus) flush() error {
	if err := b.nc.FlushTimeout(10 * time.Second); err != nil {
		return fmt.Errorf("actors: NATS flush: %w", err)
	}
	return nil
}

func (b *natsBus) publish(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}

func (b *natsBus) onError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
		n, _ := sub.Dropped()
		b.dropped.Store(uint64(n)) // cumulative per subscription; one subscription reports at a time
		b.fault(fmt.Errorf("%w: slow consumer on %s (%d dropped so far): %v", ErrDropped, sub.Subject, n, err))
		return
	}
	b.fault(fmt.Errorf("actors: NATS error: %w", err))
}

// fault stops the run.
func (b *natsBus) fault(err error) {
	b.rt.system.Root.Send(b.rt.coordinator, &fault{err: err})
}

// droppedTotal sums the messages every subscription dropped.
func (b *natsBus) droppedTotal() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var total uint64
	for _, s := range b.subs {
		if n, err := s.Dropped(); err == nil {
			total += uint64(n)
		}
	}
	return max(total, b.dropped.Load())
}

func (b *natsBus) close() {
	if b == nil {
		return
	}
	// Count drops before the subscriptions go away.
	b.dropped.Store(b.droppedTotal())
	b.mu.Lock()
	b.subs = nil
	b.mu.Unlock()
	b.nc.SetDisconnectErrHandler(nil)
	b.nc.Close()
}

// EmbeddedNATS starts a NATS server inside this process. With listen ""
// it opens no port and is reachable only in process (nats.InProcessServer);
// otherwise it listens on listen (host:port; port -1 picks a free one, see
// ClientURL). Shut it down with Shutdown.
func EmbeddedNATS(listen string) (*server.Server, error) {
	return StartNATS(NATSServer{Listen: listen})
}

// NATSServer configures an embedded NATS server.
type NATSServer struct {
	// Name names the server among its routed peers (default
	// "spikemesh-embedded").
	Name string
	// Listen is the client listener (host:port, port -1: a free one); ""
	// opens none (in-process clients only), unless Cluster is set, which
	// needs one: then 127.0.0.1:-1.
	Listen string
	// Cluster is the route listener (host:port) of a NATS cluster formed by
	// the embedded servers of several nodes; "" for none.
	Cluster string
	// ClusterName must be the same on every routed server.
	ClusterName string
	// Routes are the peers' route URLs (nats-route://host:port); the
	// server keeps trying to reach them.
	Routes []string

	// Users and Nkeys, when any is set, are the only clients the server
	// accepts (in-process ones included), each with its permissions.
	Users []*server.User
	Nkeys []*server.NkeyUser
	// RouteUser and RoutePassword authenticate the routes between the
	// servers of a cluster, both ways: every server must be given the
	// same. Required with Cluster and Users or Nkeys.
	RouteUser, RoutePassword string
	// TLS secures the client listener, RouteTLS the routes (nil: none).
	TLS, RouteTLS *tls.Config

	// MaxPayload is the largest message the server takes; 0 gives
	// DefaultMaxPayload, and more than MaxPayloadCap is refused.
	MaxPayload int32
	// Logger receives the server's warnings and errors (slow consumers,
	// refused clients), rate-limited, with Secrets blanked out; nil
	// discards them.
	Logger  *slog.Logger
	Secrets []string
}

// Limits of the embedded server. They follow a stand-alone NATS server's
// defaults (1 MB payloads, 64 MB pending bytes per client) with a cap on
// connections and subscriptions, so that clients that subscribe to much
// and never read cost at most MaxPending each before the server cuts them
// off as slow consumers.
const (
	DefaultMaxPayload = 1 << 20
	MaxPayloadCap     = 64 << 20
	MaxPending        = 64 << 20
	MaxConnections    = 1024
	MaxSubscriptions  = 1024
)

// StartNATS starts an embedded NATS server as o says and waits until it
// accepts connections.
func StartNATS(o NATSServer) (*server.Server, error) {
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.MaxPayload < 0 || o.MaxPayload > MaxPayloadCap {
		return nil, fmt.Errorf("actors: embedded NATS server: max payload %d outside 1..%d", o.MaxPayload, MaxPayloadCap)
	}
	auth := len(o.Users) > 0 || len(o.Nkeys) > 0
	opts := &server.Options{
		ServerName: o.Name,
		DontListen: o.Listen == "" && o.Cluster == "",
		NoSigs:     true,
		NoLog:      o.Logger == nil,
		MaxPayload: o.MaxPayload,
		MaxPending: MaxPending,
		MaxConn:    MaxConnections,
		MaxSubs:    MaxSubscriptions,
		Users:      o.Users,
		Nkeys:      o.Nkeys,
		TLSConfig:  o.TLS,
	}
	if o.TLS != nil {
		opts.TLS, opts.TLSTimeout = true, 2
	}
	if opts.ServerName == "" {
		opts.ServerName = "spikemesh-embedded"
	}
	listen := o.Listen
	if listen == "" && o.Cluster != "" {
		// A server that does not listen for clients never starts routing.
		listen = "127.0.0.1:-1"
	}
	if listen != "" {
		host, port, err := splitHostPort(listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	if o.Cluster != "" {
		host, port, err := splitHostPort(o.Cluster)
		if err != nil {
			return nil, err
		}
		if auth && o.RoutePassword == "" {
			return nil, errors.New("actors: embedded NATS cluster with users: the routes need a shared user and password")
		}
		opts.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: host, Port: port,
			Username: o.RouteUser, Password: o.RoutePassword, TLSConfig: o.RouteTLS}
		if o.RouteTLS != nil {
			opts.Cluster.TLSTimeout = 2
		}
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "spikemesh"
		}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("actors: NATS route %q: want nats-route://host:port", RedactRoute(r))
			}
			if o.RoutePassword != "" {
				u.User = url.UserPassword(o.RouteUser, o.RoutePassword)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("actors: embedded NATS server: %s", redact(err.Error(), o.Secrets))
	}
	if o.Logger != nil {
		ns.SetLoggerV2(newServerLog(o.Logger, append(o.Secrets, o.RoutePassword)), false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("actors: embedded NATS server not ready after 10s")
	}
	return ns, nil
}

// RedactRoute hides the user information of a route URL.
func RedactRoute(r string) string {
	if u, err := url.Parse(r); err == nil && u.User != nil {
		u.User = url.User("REDACTED")
		return u.String()
	}
	return r
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("actors: NATS listen address %q: %w", hp, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 { // -1: a random free port
		return "", 0, fmt.Errorf("actors: NATS listen address %q: bad port", hp)
	}
	return host, port, nil
}

// MaxMessageBytes bounds the largest message a brain of plan puts on NATS
// or takes from it when every neuron fires: a spike batch or motor frame
// of its largest area (every fired neuron with its coordinates and
// potential), a sensor frame that touches every neuron of its largest
// area, and the lock step's messages that carry a whole burst (the record
// of every area's fired neurons, a tick with sensory points).
func MaxMessageBytes(plan *cortical.Plan) int64 {
	var largest, total int64
	for i := range plan.Areas {
		n := int64(plan.Areas[i].Neurons())
		largest = max(largest, n)
		total += n + 2 // two varint bytes of per-area framing
	}
	perArea := 24*largest + 256 // 3 coordinate varints, a potential, framing
	wholeBurst := 9*total + 256 // index varint and potential per neuron
	return max(perArea, wholeBurst)
}

// MaxPayloadFor is the embedded server's max payload for plan: the NATS
// default of 1 MiB, raised to MaxMessageBytes when the plan needs more, up
// to MaxPayloadCap; capped reports that the plan would need more than the
// cap (a burst in which nearly every neuron fires would then be refused).
func MaxPayloadFor(plan *cortical.Plan) (payload int32, capped bool) {
	need := MaxMessageBytes(plan)
	switch {
	case need <= DefaultMaxPayload:
		return DefaultMaxPayload, false
	case need > MaxPayloadCap:
		return MaxPayloadCap, true
	}
	return int32(need), false
}
