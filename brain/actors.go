package brain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
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
	bridge *natsio.SensorBridge
	undo   []func()
}

func newActorRunner(c *Config, plan *cortical.Plan, areas []pns.Area, feed *actors.SensorFeed,
	observe actors.Observer, ctlStats func(*brainv1.Stats)) (_ *actorRunner, err error) {
	log := c.Logger
	a := &actorRunner{}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	where := "NATS at " + RedactURL(c.NATS)
	dial := func(opts ...nats.Option) (*nats.Conn, error) { return nats.Connect(c.NATS, opts...) }
	if c.NATS == "" {
		ns, err := startEmbedded(c.NATSListen)
		if err != nil {
			return nil, err
		}
		a.undo = append(a.undo, func() { ns.Shutdown(); ns.WaitForShutdown() })
		where = "the embedded NATS server"
		if c.NATSListen != "" {
			log.Info("embedded NATS server listening", "url", ns.ClientURL())
		}
		dial = func(opts ...nats.Option) (*nats.Conn, error) {
			return nats.Connect("", append(opts, nats.InProcessServer(ns))...)
		}
	}
	nc, err := dial(nats.Name("spikemesh-pns"),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS connection lost; reconnecting", "url", nc.ConnectedUrlRedacted(), "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", where, err)
	}
	a.undo = append(a.undo, nc.Close)
	subjects := pns.Subjects{Prefix: c.SubjectPrefix, Brain: c.Brain}
	a.bridge, err = natsio.SubscribeSensors(nc, subjects, feed.Intake, natsio.WithLogger(log))
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, func() { _ = a.bridge.Close() })
	pub, err := natsio.NewMotorPublisher(nc, subjects, areas)
	if err != nil {
		return nil, err
	}
	engs, closeEngines, err := Engines(plan)
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, closeEngines)
	a.rt, err = actors.New(actors.Config{
		Plan: plan, Engines: engs, Dial: dial, SpikesViaNATS: c.SpikesViaNATS,
		SubjectPrefix: subjects.Prefix, Brain: subjects.Brain,
		Interval: interval(c, plan), StallTimeout: c.StallTimeout, InlineWork: InlineWork,
		Sensors: feed, Motors: motors{pub}, Observer: observe, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, a.rt.Close)
	ctl, err := a.rt.ServeControl(nc, subjects.Prefix+"."+subjects.Brain+".ctl", func(s *brainv1.Stats) {
		ctlStats(s)
		s.SensorDropped += a.bridge.SlowConsumerDrops()
	})
	if err != nil {
		return nil, err
	}
	a.undo = append(a.undo, func() { _ = ctl.Unsubscribe() })
	// The server must know the sensor and control subscriptions before
	// anyone is told the brain is ready: core NATS delivers only to known
	// subscribers.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return nil, fmt.Errorf("flushing subscriptions to %s: %w", where, err)
	}
	return a, nil
}

func (a *actorRunner) run(ctx context.Context, bursts uint64) error { return a.rt.Run(ctx, bursts) }

func (a *actorRunner) dropped() (uint64, uint64) { return a.rt.Dropped(), a.bridge.SlowConsumerDrops() }

func (a *actorRunner) close() {
	for i := len(a.undo) - 1; i >= 0; i-- {
		a.undo[i]()
	}
	a.undo = nil
}

// startEmbedded starts the embedded NATS server. A listen address whose
// port is taken is refused at once, naming it, rather than after the
// server's readiness timeout.
func startEmbedded(listen string) (*server.Server, error) {
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
	ns, err := actors.EmbeddedNATS(listen)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen %s: %w", listen, err)
	}
	return ns, nil
}

// motors adapts the pns motor publisher to actors.Motors.
type motors struct{ pub *natsio.MotorPublisher }

func (m motors) Publish(area int, burst npu.Burst, fired []uint32, potentials []float32) error {
	return m.pub.Publish(burst, area, fired, potentials)
}
