package actors

import (
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// setInterval changes the pacing (0: free) from the next burst on.
type setInterval struct {
	d time.Duration
}

// pause holds (on) or releases (off) the next tick.
type pause struct {
	on bool
}

// SetInterval changes the time between ticks from the next burst on; 0
// runs free.
func (r *Runtime) SetInterval(d time.Duration) {
	r.interval.Store(int64(max(d, 0)))
	r.system.Root.Send(r.coordinator, &setInterval{d: max(d, 0)})
}

// Interval is the time between ticks last asked for (Config.Interval or
// the latest SetInterval, which takes effect at the next burst); 0 runs
// free. Only the coordinating node paces the brain: elsewhere it is the
// configured value.
func (r *Runtime) Interval() time.Duration { return time.Duration(r.interval.Load()) }

// Pause holds the brain after the burst in progress; Resume continues it.
// Cancelling Run's context while paused ends the run at once.
func (r *Runtime) Pause() { r.system.Root.Send(r.coordinator, &pause{on: true}) }

// Resume continues a paused brain.
func (r *Runtime) Resume() { r.system.Root.Send(r.coordinator, &pause{on: false}) }

// Paused reports whether the coordinator holds the next tick.
func (r *Runtime) Paused() bool { return r.paused.Load() }

// ControlService is the subscriptions of ServeControl or ServeStats.
type ControlService struct {
	subs []*nats.Subscription
}

// Unsubscribe stops answering.
func (c *ControlService) Unsubscribe() error {
	var first error
	for _, s := range c.subs {
		if err := s.Unsubscribe(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Unnamed is the identity logged for a change made on the bare control
// subject: on a server with per-user permissions only nodes may publish
// there; on a server without users (in process only), anyone in process.
const Unnamed = "unnamed (bare control subject)"

// ServeControl answers brainv1.Control requests on subject (normally
// <prefix>.<brain>.ctl) and on subject.<name>: set_rate, pause, resume and
// stats. <name> is the identity of the operator who asks: on a server with
// per-user permissions, only that operator may publish there, so the name
// is vouched for by the server, and every change is logged with it (Unnamed
// on the bare subject). Every request with a reply subject is answered
// with a brainv1.Stats, filled by stats and then with the runtime's own
// fields (burst, paused, dropped spike batches, ignored messages).
// Commands take effect in order, at the next burst boundary, so the reply
// to a pause may still show the brain running. A request that does not
// decode is counted (BadControl) and dropped.
func (r *Runtime) ServeControl(nc *nats.Conn, subject string, stats func(*brainv1.Stats)) (*ControlService, error) {
	cs := &ControlService{}
	for _, subj := range []string{subject, subject + ".*"} {
		sub, err := nc.Subscribe(subj, func(m *nats.Msg) {
			who := Unnamed
			if m.Subject != subject {
				who = m.Subject[len(subject)+1:]
			}
			r.control(m, who, stats)
		})
		if err != nil {
			_ = cs.Unsubscribe()
			return nil, fmt.Errorf("actors: subscribing to %s: %w", subj, err)
		}
		cs.subs = append(cs.subs, sub)
	}
	return cs, nil
}

// ServeStats answers every request on subject (normally
// <prefix>.<brain>.stats) with a brainv1.Stats, as ServeControl does, and
// changes nothing, whatever the request holds: observers may ask here and
// nowhere else.
func (r *Runtime) ServeStats(nc *nats.Conn, subject string, stats func(*brainv1.Stats)) (*ControlService, error) {
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) { r.replyStats(m, stats) })
	if err != nil {
		return nil, fmt.Errorf("actors: subscribing to %s: %w", subject, err)
	}
	return &ControlService{subs: []*nats.Subscription{sub}}, nil
}

// control carries out one control request made by who.
func (r *Runtime) control(m *nats.Msg, who string, stats func(*brainv1.Stats)) {
	var c brainv1.Control
	if err := proto.Unmarshal(m.Data, &c); err != nil {
		if r.badControl.Add(1) == 1 {
			r.log.Warn("bad control message dropped (warned once)", "subject", m.Subject, "by", who, "err", err)
		}
		return
	}
	switch cmd := c.Command.(type) {
	case *brainv1.Control_SetRate:
		hz := cmd.SetRate.GetHz()
		switch {
		case cmd.SetRate.GetFree():
			r.log.Info("control: free running", "by", who, "burst", r.Completed())
			r.SetInterval(0)
		case hz > 0 && !math.IsInf(hz, 0):
			r.log.Info("control: rate set", "hz", hz, "by", who, "burst", r.Completed())
			r.SetInterval(time.Duration(float64(time.Second) / hz))
		default:
			r.log.Warn("control: rate refused (want a positive finite rate)", "hz", hz, "by", who)
		}
	case *brainv1.Control_Pause:
		r.log.Info("control: pause", "by", who, "burst", r.Completed())
		r.Pause()
	case *brainv1.Control_Resume:
		r.log.Info("control: resume", "by", who, "burst", r.Completed())
		r.Resume()
	}
	r.replyStats(m, stats)
}

// replyStats answers m, when it has a reply subject, with the statistics.
func (r *Runtime) replyStats(m *nats.Msg, stats func(*brainv1.Stats)) {
	if m.Reply == "" {
		return
	}
	var s brainv1.Stats
	if stats != nil {
		stats(&s)
	}
	s.Burst, s.Paused, s.DroppedMessages = r.Completed(), r.Paused(), s.DroppedMessages+r.Dropped()
	s.IgnoredMessages += r.Ignored().Total()
	data, err := proto.Marshal(&s)
	if err == nil {
		err = m.Respond(data)
	}
	if err != nil {
		r.log.Warn("control reply failed", "subject", m.Reply, "err", err)
	}
}

// BadControl is the number of control messages that did not decode.
func (r *Runtime) BadControl() uint64 { return r.badControl.Load() }
