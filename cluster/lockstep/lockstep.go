// Package lockstep is the burst barrier of a brain as a pure state machine:
// which bursts to tick next, when every participant has finished one, when
// the pacing clock allows the next tick, and who is late. It does no I/O,
// starts no goroutine and reads no clock: every call takes the current time,
// and every decision comes back as an Output for the caller to carry out
// (send the ticks, report the burst, arm a timer). The same machine drives
// one process (one participant: the local areas) and a cluster (one
// participant per node), so the protocol is tested once, by scripted
// interactions.
//
// A participant is an index 0..n-1 fixed for one epoch (one placement of the
// areas over nodes). The participant set changes only between bursts
// (Reconfigure), which is where membership changes take effect.
//
// # The window
//
// With a window of 1 a burst is ticked once the one before it is complete
// everywhere: every burst costs a full round trip between the machine and
// its slowest participant. A window of w lets bursts up to w past the last
// complete one be ticked: a participant that receives tick b+1 while it is
// still running b starts b+1 as soon as it finishes b, so the round trip
// of the completion and the next tick overlaps the participants' work.
// What a burst computes does not change: burst b still takes the output of
// b-1 and the sensory input fixed when b was ticked. Every participant
// reports its bursts in order.
package lockstep

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Burst numbers bursts from 1.
type Burst = uint64

// Output is what the caller must do after a call, in this order: report
// Complete (when non-zero) to the observer, send the ticks (when Tick is
// non-zero) to every participant, arm a timer for Wake (when non-zero; it
// replaces any earlier one) and stop when Finished.
type Output struct {
	Complete Burst // every participant finished this burst
	// Tick is the first burst to start now; Through, when non-zero, the
	// last (every burst from Tick to Through starts, in order). Through
	// is 0 when only Tick starts.
	Tick     Burst
	Through  Burst
	Wake     time.Time // call Wake at this time
	Finished bool      // the run is over (last burst done, or stopped)
}

// Ticks returns the first and last burst to start (0, 0: none).
func (o Output) Ticks() (first, last Burst) {
	if o.Tick == 0 {
		return 0, 0
	}
	return o.Tick, max(o.Tick, o.Through)
}

// Errors of Done.
var (
	ErrNotRunning  = errors.New("lockstep: not running")
	ErrWrongBurst  = errors.New("lockstep: completion of a burst that is not in progress")
	ErrDuplicate   = errors.New("lockstep: duplicate completion")
	ErrParticipant = errors.New("lockstep: no such participant")
)

// Machine is one brain's barrier. The zero value is not usable; see New.
type Machine struct {
	n        int
	interval time.Duration // between ticks; 0: free
	window   int           // bursts ticked and not complete, at most

	running  bool
	stopping bool
	paused   bool
	last     Burst // last burst to run; 0: until stopped

	ticked    Burst       // last burst ticked (= completed when none is in flight)
	completed Burst       // last complete burst
	finished  []Burst     // by participant: the last burst it finished
	tickAt    []time.Time // by burst modulo the window: when an in-flight burst was ticked

	due  Burst // burst waiting for its pacing time (0: none)
	held Burst // burst a pause holds back (0: none)

	// Pacing reference: burst epochBurst is due at epoch, burst b at
	// epoch + (b-epochBurst)*interval.
	epoch      time.Time
	epochBurst Burst

	pendingN int // participants once the bursts in flight complete (Reconfigure); 0: unchanged
}

// New returns a machine for n participants ticking every interval (0: as
// soon as a burst completes), with a window of 1. The first burst to run is
// given to Start.
func New(n int, interval time.Duration) *Machine {
	if n < 1 {
		n = 1
	}
	return &Machine{n: n, interval: max(interval, 0), window: 1, finished: make([]Burst, n), tickAt: make([]time.Time, 1)}
}

// SetWindow sets how many bursts may be in flight at once (at least 1).
// It can change only while no burst is in flight.
func (m *Machine) SetWindow(w int) error {
	switch {
	case w < 1:
		return fmt.Errorf("lockstep: window of %d bursts", w)
	case m.ticked != m.completed:
		return fmt.Errorf("lockstep: window changed with bursts %d to %d in flight", m.completed+1, m.ticked)
	}
	m.window = w
	m.tickAt = make([]time.Time, w)
	return nil
}

// Window is the number of bursts that may be in flight at once.
func (m *Machine) Window() int { return m.window }

// ResumeAfter makes a machine that has not started yet take burst as
// completed, so that it starts at burst+1 (a brain resumed from a
// checkpoint of that burst).
func (m *Machine) ResumeAfter(burst Burst) error {
	if m.running || m.completed != 0 {
		return fmt.Errorf("lockstep: resume after burst %d on a machine that ran", burst)
	}
	m.completed, m.ticked = burst, burst
	m.allFinished(m.n)
	return nil
}

// Participants is the number of participants of the current epoch.
func (m *Machine) Participants() int { return m.n }

// Interval is the time between ticks (0: free running).
func (m *Machine) Interval() time.Duration { return m.interval }

// Completed is the last burst every participant finished.
func (m *Machine) Completed() Burst { return m.completed }

// Ticked is the last burst ticked.
func (m *Machine) Ticked() Burst { return m.ticked }

// InProgress is the oldest burst ticked and not yet complete (0: none) and
// when it was ticked.
func (m *Machine) InProgress() (Burst, time.Time) {
	if m.ticked == m.completed {
		return 0, time.Time{}
	}
	b := m.completed + 1
	return b, m.tickAt[b%Burst(m.window)]
}

// Running reports whether a run is under way (between Start and Finished).
func (m *Machine) Running() bool { return m.running }

// Paused reports whether ticks are held.
func (m *Machine) Paused() bool { return m.paused }

// Start begins a run at burst first (normally Completed()+1) up to last
// (0: until Stop).
func (m *Machine) Start(now time.Time, first, last Burst) (Output, error) {
	if m.running {
		return Output{}, errors.New("lockstep: Start while running")
	}
	if first == 0 || first != m.completed+1 {
		return Output{}, fmt.Errorf("lockstep: Start at burst %d after burst %d", first, m.completed)
	}
	m.running, m.stopping, m.last = true, false, last
	m.ticked = m.completed
	m.allFinished(m.n)
	m.epoch, m.epochBurst = now, first
	return m.advance(now), nil
}

// Done records that participant p finished burst. A participant finishes
// its bursts in order.
func (m *Machine) Done(now time.Time, p int, burst Burst) (Output, error) {
	switch {
	case !m.running:
		return Output{}, ErrNotRunning
	case p < 0 || p >= m.n:
		return Output{}, fmt.Errorf("%w: %d of %d", ErrParticipant, p, m.n)
	case burst != 0 && burst <= m.finished[p] && burst > m.completed:
		return Output{}, fmt.Errorf("%w: burst %d from participant %d", ErrDuplicate, burst, p)
	case burst != m.finished[p]+1 || burst > m.ticked:
		return Output{}, fmt.Errorf("%w: burst %d from participant %d, which finished burst %d; bursts %d to %d in flight",
			ErrWrongBurst, burst, p, m.finished[p], m.completed+1, m.ticked)
	}
	m.finished[p] = burst
	if burst != m.completed+1 {
		return Output{}, nil
	}
	for _, f := range m.finished {
		if f < burst {
			return Output{}, nil
		}
	}
	m.completed = burst
	if m.pendingN > 0 && m.ticked == m.completed {
		m.n, m.pendingN = m.pendingN, 0
		m.allFinished(m.n)
	}
	out := m.advance(now)
	out.Complete = burst
	return out, nil
}

// Wake is the pacing timer firing. A stale wake (the timer of a burst that
// was ticked another way, or re-armed since) does nothing.
func (m *Machine) Wake(now time.Time) Output {
	if !m.running || m.due == 0 {
		return Output{}
	}
	if now.Before(m.dueAt(m.due)) {
		return Output{Wake: m.dueAt(m.due)}
	}
	m.due = 0
	return m.advance(now)
}

// SetInterval changes the time between ticks from the next tick on (0:
// free). A waiting burst is re-timed from now.
func (m *Machine) SetInterval(now time.Time, d time.Duration) Output {
	m.interval = max(d, 0)
	m.epoch, m.epochBurst = now, m.completed+1
	if m.running && m.due != 0 {
		m.due = 0
		return m.advance(now)
	}
	return Output{}
}

// Pause holds the next tick; the bursts in flight complete.
func (m *Machine) Pause() { m.paused = true }

// Resume releases a held tick at once and restarts the pacing clock there.
func (m *Machine) Resume(now time.Time) Output {
	if !m.paused {
		return Output{}
	}
	m.paused = false
	b := m.held
	m.held = 0
	if b == 0 || !m.running {
		return Output{}
	}
	m.epoch, m.epochBurst = now, b
	return m.advance(now)
}

// Stop ends the run once the bursts in flight complete; with none in
// flight it ends at once.
func (m *Machine) Stop() Output {
	if !m.running {
		return Output{}
	}
	m.stopping = true
	m.due, m.held = 0, 0
	if m.ticked == m.completed {
		return m.finish()
	}
	return Output{}
}

// Reconfigure sets the number of participants from the next burst on. With
// no burst in flight it applies at once; otherwise no burst is ticked until
// those in flight complete (their completions are still counted against
// the old set), and it applies then.
func (m *Machine) Reconfigure(n int) error {
	if n < 1 {
		return fmt.Errorf("lockstep: %d participants", n)
	}
	if m.ticked != m.completed {
		m.pendingN = n
		return nil
	}
	m.n, m.pendingN = n, 0
	m.allFinished(n)
	return nil
}

// allFinished makes n participants, each having finished the last complete
// burst and owing the next.
func (m *Machine) allFinished(n int) {
	m.finished = slices.Repeat([]Burst{m.completed}, n)
}

// Awaits reports whether participant p has burst in flight and it is the
// next p owes: whether a completion from p for burst would count.
func (m *Machine) Awaits(p int, burst Burst) bool {
	return m.running && burst != 0 && burst <= m.ticked && p >= 0 && p < m.n && burst == m.finished[p]+1
}

// Missing appends to dst the participants that have not finished the
// oldest burst in flight.
func (m *Machine) Missing(dst []int) []int {
	if m.ticked == m.completed {
		return dst
	}
	for p, f := range m.finished {
		if f <= m.completed {
			dst = append(dst, p)
		}
	}
	return dst
}

// Late reports whether the oldest burst in flight has run longer than
// timeout (timeout <= 0: never).
func (m *Machine) Late(now time.Time, timeout time.Duration) bool {
	b, at := m.InProgress()
	return timeout > 0 && b != 0 && now.Sub(at) >= timeout
}

// advance ticks what may start now: the bursts after the last one ticked,
// while the window has room and their pacing time has come; or it stops,
// holds a burst for a pause, or asks to be woken for the next one.
func (m *Machine) advance(now time.Time) Output {
	var out Output
	for {
		b := m.ticked + 1
		if m.stopping || m.last != 0 && b > m.last {
			if m.ticked == m.completed {
				f := m.finish()
				out.Finished = f.Finished
			}
			return out
		}
		if b-m.completed > Burst(m.window) || m.pendingN > 0 {
			return out
		}
		if m.paused {
			m.held = b
			return out
		}
		if m.interval > 0 {
			at := m.dueAt(b)
			if wait := at.Sub(now); wait > 0 {
				m.due = b
				out.Wake = at
				return out
			} else if -wait > m.interval {
				// Behind by more than one interval: do not race to catch up.
				m.epoch, m.epochBurst = now, b
			}
		}
		m.ticked, m.due = b, 0
		m.tickAt[b%Burst(m.window)] = now
		if out.Tick == 0 {
			out.Tick = b
		} else {
			out.Through = b
		}
	}
}

func (m *Machine) dueAt(b Burst) time.Time {
	return m.epoch.Add(time.Duration(b-m.epochBurst) * m.interval)
}

func (m *Machine) finish() Output {
	m.running, m.stopping = false, false
	m.due, m.held = 0, 0
	return Output{Finished: true}
}
