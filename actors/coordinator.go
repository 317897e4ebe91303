package actors

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"

	"github.com/spikemesh/spikemesh/cortical"
)

func areaToken(id cortical.ID) string { return pns.ID(id).Token() }

// coordinator sends the ticks, gathers completions and paces bursts. It is
// only touched by its own mailbox goroutine.
type coordinator struct {
	rt *Runtime

	running  bool
	stopping bool
	burst    npu.Burst // burst in progress (ticked, not complete); 0: none
	last     npu.Burst // last burst to run; 0: until stopped
	waiting  bool      // a pacing timer is armed

	ticks  [2]tick // by burst parity
	result BurstResult
	tickAt time.Time

	epoch      time.Time // pacing reference: burst epochBurst ticks at epoch
	epochBurst npu.Burst
	stall      *time.Timer
	failed     error // a fault that arrived between runs

	interval time.Duration // between ticks; 0: free
	paused   bool
	held     npu.Burst // the burst a pause holds back (0: none)
}

func newCoordinator(r *Runtime) *coordinator {
	n := len(r.plan.Areas)
	return &coordinator{
		rt:       r,
		interval: r.cfg.Interval,
		result:   BurstResult{Fired: make([][]uint32, n)},
	}
}

// Receive implements actor.Actor.
func (c *coordinator) Receive(ctx actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.rt.log.Error("coordinator panicked", "burst", c.burst, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.finish(fmt.Errorf("actors: coordinator panic in burst %d: %v", c.burst, r))
		}
	}()
	switch m := ctx.Message().(type) {
	case *start:
		if c.running {
			c.finish(fmt.Errorf("actors: Run called while running"))
			return
		}
		c.running, c.stopping, c.last = true, false, m.last
		if c.failed != nil {
			c.finish(c.failed)
			return
		}
		c.epoch, c.epochBurst = time.Now(), m.first
		if c.paused {
			c.held = m.first
			return
		}
		c.tick(ctx, m.first)
	case *burstDone:
		c.onDone(ctx, m.burst)
	case *nextTick:
		if c.running && c.waiting && m.burst == c.rt.Completed()+1 {
			c.waiting = false
			if c.paused {
				c.held = m.burst
				return
			}
			c.tick(ctx, m.burst)
		}
	case *setInterval:
		c.interval = m.d
		c.epoch, c.epochBurst = time.Now(), c.rt.Completed()+1
	case *pause:
		c.paused = m.on
		c.rt.paused.Store(m.on)
		if !m.on && c.held != 0 {
			b := c.held
			c.held = 0
			c.epoch, c.epochBurst = time.Now(), b
			if c.running {
				c.tick(ctx, b)
			}
		}
	case *stop:
		c.stopping = true
		if c.running && c.burst == 0 {
			c.finish(nil)
		}
	case *fault:
		if !c.running && c.failed == nil {
			c.failed = m.err
		}
		c.finish(m.err)
	}
}

// tick starts burst: sensory input, then Tick to every area.
func (c *coordinator) tick(ctx actor.Context, burst npu.Burst) {
	if c.last != 0 && burst > c.last || c.stopping {
		c.finish(nil)
		return
	}
	// Every area finished the previous burst, so none reads points now.
	clear(c.rt.points)
	if c.rt.sensors != nil {
		c.rt.sensors.Points(burst, c.rt.points)
	}
	c.burst = burst
	c.rt.remaining.Store(int64(len(c.rt.local)))
	c.rt.allDone[burst&1].burst = burst
	t := &c.ticks[burst&1]
	t.burst = burst
	c.tickAt = time.Now()
	c.rt.current.Store(burst)
	c.rt.tickAtNs.Store(c.tickAt.UnixNano())
	if d := c.rt.cfg.StallTimeout; d > 0 {
		if c.stall == nil {
			c.stall = time.AfterFunc(d, c.rt.checkStall)
		} else {
			c.stall.Reset(d)
		}
	}
	for _, i := range c.rt.local {
		ctx.Send(c.rt.areas[i], t)
	}
}

func (c *coordinator) onDone(ctx actor.Context, burst npu.Burst) {
	if !c.running {
		return
	}
	if burst != c.burst {
		c.finish(fmt.Errorf("actors: completion of burst %d during burst %d", burst, c.burst))
		return
	}
	res := &c.result
	res.Spikes, res.Slowest, res.SlowestStep = 0, -1, -1
	for _, i := range c.rt.local {
		m := &c.rt.reports[i]
		if m.burst != burst || m.area != i {
			c.finish(fmt.Errorf("actors: area %d (%s) reported burst %d as area %d during burst %d",
				i, c.rt.areaName(i), m.burst, m.area, burst))
			return
		}
		res.Fired[i] = nil
		if len(m.fired) > 0 {
			res.Fired[i] = m.fired
		}
		res.Spikes += len(m.fired)
		if d := time.Duration(m.stepNs); d > res.SlowestStep {
			res.Slowest, res.SlowestStep = i, d
		}
	}

	c.burst = 0
	c.rt.current.Store(0)
	res.Burst = burst
	res.Elapsed = time.Since(c.tickAt)
	c.rt.completed.Store(burst)
	if obs := c.rt.cfg.Observer; obs != nil {
		if err := obs(res); err != nil {
			c.finish(fmt.Errorf("actors: burst %d: %w", burst, err))
			return
		}
	}
	next := burst + 1
	if c.stopping || c.last != 0 && next > c.last {
		c.finish(nil)
		return
	}
	if c.paused {
		c.held = next
		return
	}
	iv := c.interval
	if iv <= 0 {
		c.tick(ctx, next)
		return
	}
	due := c.epoch.Add(time.Duration(next-c.epochBurst) * iv)
	wait := time.Until(due)
	if wait <= 0 {
		if -wait > iv {
			// Behind by more than one interval: do not race to catch up.
			c.epoch, c.epochBurst = time.Now(), next
		}
		c.tick(ctx, next)
		return
	}
	c.waiting = true
	self := ctx.Self()
	time.AfterFunc(wait, func() { c.rt.system.Root.Send(self, &nextTick{burst: next}) })
}

// finish ends the run with err (nil: success). Later messages are ignored.
func (c *coordinator) finish(err error) {
	if !c.running {
		return
	}
	c.running = false
	c.waiting = false
	c.held = 0
	if c.stall != nil {
		c.stall.Stop()
	}
	c.rt.result <- err
}
