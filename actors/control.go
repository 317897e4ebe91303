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

// ServeControl answers brainv1.Control requests on subject (normally
// <prefix>.<brain>.ctl): set_rate, pause, resume and stats. Every request
// with a reply subject is answered with a brainv1.Stats, filled by stats
// and then with the runtime's own fields (burst, paused, dropped spike
// batches). Commands take effect in order, at the next burst boundary, so
// the reply to a pause may still show the brain running. A request that
// does not decode is counted (BadControl) and dropped.
func (r *Runtime) ServeControl(nc *nats.Conn, subject string, stats func(*brainv1.Stats)) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var c brainv1.Control
		if err := proto.Unmarshal(m.Data, &c); err != nil {
			if r.badControl.Add(1) == 1 {
				r.log.Warn("bad control message dropped (warned once)", "subject", m.Subject, "err", err)
			}
			return
		}
		switch cmd := c.Command.(type) {
		case *brainv1.Control_SetRate:
			hz := cmd.SetRate.GetHz()
			switch {
			case cmd.SetRate.GetFree():
				r.SetInterval(0)
			case hz > 0 && !math.IsInf(hz, 0):
				r.SetInterval(time.Duration(float64(time.Second) / hz))
			}
		case *brainv1.Control_Pause:
			r.Pause()
		case *brainv1.Control_Resume:
			r.Resume()
		}
		if m.Reply == "" {
			return
		}
		var s brainv1.Stats
		if stats != nil {
			stats(&s)
		}
		s.Burst, s.Paused, s.DroppedMessages = r.Completed(), r.Paused(), s.DroppedMessages+r.Dropped()
		data, err := proto.Marshal(&s)
		if err == nil {
			err = m.Respond(data)
		}
		if err != nil {
			r.log.Warn("control reply failed", "subject", m.Reply, "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("actors: subscribing to %s: %w", subject, err)
	}
	return sub, nil
}

// BadControl is the number of control messages that did not decode.
func (r *Runtime) BadControl() uint64 { return r.badControl.Load() }
