// Package lockstep is the burst barrier of a brain as a pure state machine:
// which burst to tick next, when every participant has finished it, when the
// pacing clock allows the next tick, and who is late. It does no I/O, starts
// no goroutine and reads no clock: every call takes the current time, and
// every decision comes back as an Output for the caller to carry out (send
// the tick, report the burst, arm a timer). The same machine drives one
// process (one participant: the local areas) and a cluster (one participant
// per node), so the protocol is tested once, by scripted interactions.
//
// A participant is an index 0..n-1 fixed for one epoch (one placement of the
// areas over nodes). The participant set changes only between bursts
// (Reconfigure), which is where membership changes take effect.
package lockstep

import (
	"errors"
	"fmt"
	"time"
)

// Burst numbers bursts from 1.
type Burst = uint64

// Output is what the caller must do after a call, in this order: report
// Complete (when non-zero) to the observer, send Tick (when non-zero) to
// every participant, arm a timer for Wake (when non-zero; it replaces any
// earlier one) and stop when Finished.
type Output struct {
	Complete Burst     // every participant finished this burst
	Tick     Burst     // start this burst now
	Wake     time.Time // call Wake at this time
	Finished bool      // the run is over (last burst done, or stopped)
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

	running  bool
	stopping bool
	paused   bool
	last     Burst // last burst to run; 0: until stopped

	burst     Burst // ticked and not complete; 0: none
	done      []bool
	remaining int
	tickAt    time.Time

	completed Burst // last complete burst
	due       Burst // burst waiting for its pacing time (0: none)
	held      Burst // burst a pause holds back (0: none)

	// Pacing reference: burst epochBurst is due at epoch, burst b at
	// epoch + (b-epochBurst)*interval.
	epoch      time.Time
	epochBurst Burst

	pendingN int // participants after the current burst (Reconfigure); 0: unchanged
}

// New returns a machine for n participants ticking every interval (0: as
// soon as a burst completes). The first burst to run is given to Start.
func New(n int, interval time.Duration) *Machine {
	if n < 1 {
		n = 1
	}
	return &Machine{n: n, interval: max(interval, 0), done: make([]bool, n)}
}

// ResumeAfter makes a machine that has not started yet take burst as
// completed, so that it starts at burst+1 (a brain resumed from a
// checkpoint of that burst).
func (m *Machine) ResumeAfter(burst Burst) error {
	if m.running || m.completed != 0 {
		return fmt.Errorf("lockstep: resume after burst %d on a machine that ran", burst)
	}
	m.completed = burst
	return nil
}

// Participants is the number of participants of the current epoch.
func (m *Machine) Participants() int { return m.n }

// Interval is the time between ticks (0: free running).
func (m *Machine) Interval() time.Duration { return m.interval }

// Completed is the last burst every participant finished.
func (m *Machine) Completed() Burst { return m.completed }

// InProgress is the burst ticked and not yet complete (0: none) and when it
// was ticked.
func (m *Machine) InProgress() (Burst, time.Time) { return m.burst, m.tickAt }

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
	m.epoch, m.epochBurst = now, first
	return m.advance(now, first), nil
}

// Done records that participant p finished burst.
func (m *Machine) Done(now time.Time, p int, burst Burst) (Output, error) {
	switch {
	case !m.running:
		return Output{}, ErrNotRunning
	case p < 0 || p >= m.n:
		return Output{}, fmt.Errorf("%w: %d of %d", ErrParticipant, p, m.n)
	case burst != m.burst || m.burst == 0:
		return Output{}, fmt.Errorf("%w: burst %d from participant %d during burst %d", ErrWrongBurst, burst, p, m.burst)
	case m.done[p]:
		return Output{}, fmt.Errorf("%w: burst %d from participant %d", ErrDuplicate, burst, p)
	}
	m.done[p] = true
	m.remaining--
	if m.remaining > 0 {
		return Output{}, nil
	}
	m.burst = 0
	m.completed = burst
	if m.pendingN > 0 {
		m.n, m.pendingN = m.pendingN, 0
		m.done = make([]bool, m.n)
	}
	out := m.advance(now, burst+1)
	out.Complete = burst
	return out, nil
}

// Wake is the pacing timer firing. A stale wake (the timer of a burst that
// was ticked another way, or re-armed since) does nothing.
func (m *Machine) Wake(now time.Time) Output {
	if !m.running || m.due == 0 || m.burst != 0 {
		return Output{}
	}
	if now.Before(m.dueAt(m.due)) {
		return Output{Wake: m.dueAt(m.due)}
	}
	b := m.due
	m.due = 0
	return m.tick(now, b)
}

// SetInterval changes the time between ticks from the next tick on (0:
// free). A waiting burst is re-timed from now.
func (m *Machine) SetInterval(now time.Time, d time.Duration) Output {
	m.interval = max(d, 0)
	next := m.completed + 1
	m.epoch, m.epochBurst = now, next
	if m.running && m.due != 0 {
		b := m.due
		m.due = 0
		return m.advance(now, b)
	}
	return Output{}
}

// Pause holds the next tick; the burst in progress completes.
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
	return m.advance(now, b)
}

// Stop ends the run after the burst in progress; with none in progress it
// ends at once.
func (m *Machine) Stop() Output {
	if !m.running {
		return Output{}
	}
	m.stopping = true
	if m.burst == 0 {
		return m.finish()
	}
	return Output{}
}

// Reconfigure sets the number of participants from the next burst on. With
// no burst in progress it applies at once; otherwise when the current burst
// completes (its completions are still counted against the old set).
func (m *Machine) Reconfigure(n int) error {
	if n < 1 {
		return fmt.Errorf("lockstep: %d participants", n)
	}
	if m.burst != 0 {
		m.pendingN = n
		return nil
	}
	m.n, m.pendingN = n, 0
	m.done = make([]bool, n)
	return nil
}

// Awaits reports whether burst is in progress and participant p has not
// finished it yet: whether a completion from p for burst would count.
func (m *Machine) Awaits(p int, burst Burst) bool {
	return m.running && burst != 0 && burst == m.burst && p >= 0 && p < m.n && !m.done[p]
}

// Missing appends to dst the participants that have not finished the burst
// in progress.
func (m *Machine) Missing(dst []int) []int {
	if m.burst == 0 {
		return dst
	}
	for p, d := range m.done {
		if !d {
			dst = append(dst, p)
		}
	}
	return dst
}

// Late reports whether the burst in progress has run longer than timeout
// (timeout <= 0: never).
func (m *Machine) Late(now time.Time, timeout time.Duration) bool {
	return timeout > 0 && m.burst != 0 && now.Sub(m.tickAt) >= timeout
}

// advance decides what happens to burst b, the next one: stop, hold, wait
// for its time, or tick it now.
func (m *Machine) advance(now time.Time, b Burst) Output {
	if m.stopping || m.last != 0 && b > m.last {
		return m.finish()
	}
	if m.paused {
		m.held = b
		return Output{}
	}
	if m.interval > 0 {
		at := m.dueAt(b)
		if wait := at.Sub(now); wait > 0 {
			m.due = b
			return Output{Wake: at}
		} else if -wait > m.interval {
			// Behind by more than one interval: do not race to catch up.
			m.epoch, m.epochBurst = now, b
		}
	}
	return m.tick(now, b)
}

func (m *Machine) dueAt(b Burst) time.Time {
	return m.epoch.Add(time.Duration(b-m.epochBurst) * m.interval)
}

func (m *Machine) tick(now time.Time, b Burst) Output {
	m.burst, m.tickAt, m.due = b, now, 0
	m.remaining = m.n
	clear(m.done)
	return Output{Tick: b}
}

func (m *Machine) finish() Output {
	m.running, m.stopping = false, false
	m.due, m.held = 0, 0
	return Output{Finished: true}
}
