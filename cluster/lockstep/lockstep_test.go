package lockstep

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// checker returns a function that fails t on an error and passes the
// Output through.
func checker(t *testing.T) func(Output, error) Output {
	return func(out Output, err error) Output {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// TestFreeRunning: without an interval every completion ticks the next
// burst at once, and the run finishes after the last burst.
func TestFreeRunning(t *testing.T) {
	must := checker(t)
	m := New(2, 0)
	out := must(m.Start(t0, 1, 3))
	if out != (Output{Tick: 1}) {
		t.Fatalf("start: %+v", out)
	}
	for b := Burst(1); b <= 3; b++ {
		out = must(m.Done(t0, 1, b))
		if out != (Output{}) {
			t.Fatalf("burst %d after one of two: %+v", b, out)
		}
		out = must(m.Done(t0, 0, b))
		want := Output{Complete: b, Tick: b + 1}
		if b == 3 {
			want = Output{Complete: 3, Finished: true}
		}
		if out != want {
			t.Fatalf("burst %d: %+v, want %+v", b, out, want)
		}
	}
	if m.Running() || m.Completed() != 3 {
		t.Fatalf("running %v completed %d", m.Running(), m.Completed())
	}
	// A second run continues where the first ended.
	if _, err := m.Start(t0, 1, 0); err == nil {
		t.Fatal("restart at burst 1 accepted after burst 3")
	}
	if out := must(m.Start(t0, 4, 0)); out.Tick != 4 {
		t.Fatalf("second run: %+v", out)
	}
}

// TestPacing: with an interval, burst b is ticked at start + (b-1)*interval
// however fast the bursts complete, and a burst that overruns its slot is
// followed at once, without a race to catch up.
func TestPacing(t *testing.T) {
	must := checker(t)
	iv := ms(100)
	m := New(1, iv)
	var ticks []time.Duration
	now := t0
	out := must(m.Start(now, 1, 6))
	for !out.Finished {
		if out.Tick != 0 {
			ticks = append(ticks, now.Sub(t0))
			// Bursts take 10 ms, except burst 3 which takes 250 ms.
			took := ms(10)
			if out.Tick == 3 {
				took = ms(250)
			}
			now = now.Add(took)
			out = must(m.Done(now, 0, out.Tick))
			continue
		}
		if out.Wake.IsZero() {
			t.Fatalf("neither tick, wake nor finish: %+v", out)
		}
		if early := m.Wake(out.Wake.Add(-time.Millisecond)); early.Tick != 0 || early.Wake != out.Wake {
			t.Fatalf("a wake before its time ticked or moved the wake: %+v", early)
		}
		now = out.Wake
		out = m.Wake(now)
	}
	// 1, 2, 3 on the grid; 3 overruns to 450 ms, more than one interval
	// past burst 4's slot (300): 4 ticks at once and the grid restarts there.
	want := []time.Duration{0, ms(100), ms(200), ms(450), ms(550), ms(650)}
	if !slices.Equal(ticks, want) {
		t.Fatalf("ticks at %v, want %v", ticks, want)
	}
}

// TestPauseResumeStop: a pause lets the burst in progress finish and holds
// the next; resume ticks it at once; stop ends after the burst in progress.
func TestPauseResumeStop(t *testing.T) {
	must := checker(t)
	m := New(1, 0)
	must(m.Start(t0, 1, 0))
	m.Pause()
	if out := must(m.Done(t0, 0, 1)); out != (Output{Complete: 1}) {
		t.Fatalf("paused completion: %+v", out)
	}
	if !m.Paused() {
		t.Fatal("not paused")
	}
	if out := m.Resume(t0.Add(time.Second)); out != (Output{Tick: 2}) {
		t.Fatalf("resume: %+v", out)
	}
	if out := m.Stop(); out != (Output{}) {
		t.Fatalf("stop during a burst: %+v", out)
	}
	if out := must(m.Done(t0, 0, 2)); out != (Output{Complete: 2, Finished: true}) {
		t.Fatalf("completion after stop: %+v", out)
	}
	// Stop while paused between bursts ends at once.
	must(m.Start(t0, 3, 0))
	m.Pause()
	must(m.Done(t0, 0, 3))
	if out := m.Stop(); !out.Finished {
		t.Fatalf("stop while paused: %+v", out)
	}
}

// TestPacedResume: the pacing grid restarts at the resumed burst.
func TestPacedResume(t *testing.T) {
	must := checker(t)
	m := New(1, ms(100))
	must(m.Start(t0, 1, 0))
	m.Pause()
	must(m.Done(t0.Add(ms(5)), 0, 1))
	out := m.Resume(t0.Add(ms(1000)))
	if out.Tick != 2 {
		t.Fatalf("resume: %+v", out)
	}
	out = must(m.Done(t0.Add(ms(1010)), 0, 2))
	if out.Wake != t0.Add(ms(1100)) {
		t.Fatalf("after resume, burst 3 due at %v, want 1100ms", out.Wake.Sub(t0))
	}
}

// TestSetInterval re-times a waiting burst.
func TestSetInterval(t *testing.T) {
	must := checker(t)
	m := New(1, time.Second)
	must(m.Start(t0, 1, 0))
	out := must(m.Done(t0.Add(ms(1)), 0, 1))
	if out.Wake != t0.Add(time.Second) {
		t.Fatalf("wake %v", out.Wake)
	}
	out = m.SetInterval(t0.Add(ms(2)), 0)
	if out.Tick != 2 {
		t.Fatalf("free running after SetInterval(0): %+v", out)
	}
	// The old timer firing later is stale.
	if out := m.Wake(t0.Add(time.Second)); out != (Output{}) {
		t.Fatalf("stale wake: %+v", out)
	}
}

// TestBadCompletions: wrong bursts, duplicates, unknown participants and
// completions outside a run are errors that change nothing.
func TestBadCompletions(t *testing.T) {
	must := checker(t)
	m := New(2, 0)
	if _, err := m.Done(t0, 0, 1); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("before start: %v", err)
	}
	must(m.Start(t0, 1, 0))
	if _, err := m.Done(t0, 0, 2); !errors.Is(err, ErrWrongBurst) {
		t.Fatalf("future burst: %v", err)
	}
	if _, err := m.Done(t0, 2, 1); !errors.Is(err, ErrParticipant) {
		t.Fatalf("participant 2 of 2: %v", err)
	}
	must(m.Done(t0, 0, 1))
	if _, err := m.Done(t0, 0, 1); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if got := m.Missing(nil); !slices.Equal(got, []int{1}) {
		t.Fatalf("missing %v", got)
	}
	if out := must(m.Done(t0, 1, 1)); out.Complete != 1 || out.Tick != 2 {
		t.Fatalf("%+v", out)
	}
}

// TestLate: the burst in progress is late once it is older than the timeout.
func TestLate(t *testing.T) {
	must := checker(t)
	m := New(3, 0)
	must(m.Start(t0, 1, 0))
	must(m.Done(t0, 1, 1))
	if m.Late(t0.Add(ms(99)), ms(100)) {
		t.Fatal("late before the timeout")
	}
	if !m.Late(t0.Add(ms(100)), ms(100)) || m.Late(t0.Add(time.Hour), 0) {
		t.Fatal("Late wrong at or without the timeout")
	}
	if got := m.Missing(nil); !slices.Equal(got, []int{0, 2}) {
		t.Fatalf("missing %v", got)
	}
}

// TestReconfigure: a new participant count takes effect at the burst
// boundary; completions of the burst in progress count against the old set.
func TestReconfigure(t *testing.T) {
	must := checker(t)
	m := New(2, 0)
	must(m.Start(t0, 1, 0))
	if err := m.Reconfigure(3); err != nil {
		t.Fatal(err)
	}
	must(m.Done(t0, 0, 1))
	out := must(m.Done(t0, 1, 1))
	if out.Complete != 1 || out.Tick != 2 || m.Participants() != 3 {
		t.Fatalf("%+v, %d participants", out, m.Participants())
	}
	must(m.Done(t0, 0, 2))
	if out := must(m.Done(t0, 1, 2)); out.Complete != 0 {
		t.Fatal("burst 2 complete without participant 2")
	}
	if out := must(m.Done(t0, 2, 2)); out.Complete != 2 {
		t.Fatalf("%+v", out)
	}
	if err := m.Reconfigure(0); err == nil {
		t.Fatal("zero participants accepted")
	}
}

// driver runs a Machine with real timers, as a runtime does: ticks go to
// participants that answer after work, wakes arm a time.AfterFunc.
type driver struct {
	mu    sync.Mutex
	m     *Machine
	timer *time.Timer
	ticks []time.Time
	done  chan struct{}
	work  time.Duration
}

func (d *driver) apply(out Output) {
	if out.Finished {
		close(d.done)
		return
	}
	if !out.Wake.IsZero() {
		at := out.Wake
		d.timer = time.AfterFunc(time.Until(at), func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.apply(d.m.Wake(time.Now()))
		})
	}
	if b := out.Tick; b != 0 {
		d.ticks = append(d.ticks, time.Now())
		for p := range d.m.Participants() {
			time.AfterFunc(d.work*time.Duration(p+1), func() {
				d.mu.Lock()
				defer d.mu.Unlock()
				out, err := d.m.Done(time.Now(), p, b)
				if err != nil {
					panic(err)
				}
				d.apply(out)
			})
		}
	}
}

// TestPacingWithTimers drives the machine with real timers in a synctest
// bubble (fake time): 5 bursts at 50 ms, two participants working 3 and 6 ms,
// tick exactly on the grid and finish at 200 ms + the last burst's work.
func TestPacingWithTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &driver{m: New(2, ms(50)), done: make(chan struct{}), work: ms(3)}
		d.mu.Lock()
		out, err := d.m.Start(start, 1, 5)
		if err != nil {
			t.Fatal(err)
		}
		d.apply(out)
		d.mu.Unlock()
		<-d.done
		if got := time.Since(start); got != ms(206) {
			t.Fatalf("run took %v, want 206ms", got)
		}
		for i, at := range d.ticks {
			if got := at.Sub(start); got != time.Duration(i)*ms(50) {
				t.Fatalf("burst %d ticked at %v, want %v", i+1, got, time.Duration(i)*ms(50))
			}
		}
		if len(d.ticks) != 5 {
			t.Fatalf("%d ticks", len(d.ticks))
		}
	})
}

// TestAwaits: only a completion that would count is awaited.
func TestAwaits(t *testing.T) {
	must := checker(t)
	m := New(2, 0)
	if m.Awaits(0, 1) {
		t.Fatal("awaits before start")
	}
	must(m.Start(t0, 1, 0))
	if !m.Awaits(0, 1) || !m.Awaits(1, 1) || m.Awaits(0, 2) || m.Awaits(2, 1) {
		t.Fatal("wrong burst or participant awaited")
	}
	must(m.Done(t0, 0, 1))
	if m.Awaits(0, 1) || !m.Awaits(1, 1) {
		t.Fatal("a participant that finished is still awaited")
	}
}

// TestWindow: with a window of 2 the start ticks two bursts, each
// completion ticks the burst two after it, a participant may run ahead by
// the window but reports in order, and a stop lets the bursts in flight
// complete.
func TestWindow(t *testing.T) {
	must := checker(t)
	m := New(2, 0)
	if err := m.SetWindow(2); err != nil {
		t.Fatal(err)
	}
	if out := must(m.Start(t0, 1, 0)); out != (Output{Tick: 1, Through: 2}) {
		t.Fatalf("start: %+v", out)
	}
	if err := m.SetWindow(1); err == nil {
		t.Fatal("window changed with bursts in flight")
	}
	// Participant 0 finishes 1 and 2; burst 3 is not ticked before 1 is
	// complete everywhere.
	if out := must(m.Done(t0, 0, 1)); out != (Output{}) {
		t.Fatalf("%+v", out)
	}
	if out := must(m.Done(t0, 0, 2)); out != (Output{}) {
		t.Fatalf("%+v", out)
	}
	if _, err := m.Done(t0, 0, 3); !errors.Is(err, ErrWrongBurst) {
		t.Fatalf("a burst not ticked: %v", err)
	}
	if _, err := m.Done(t0, 1, 2); !errors.Is(err, ErrWrongBurst) {
		t.Fatalf("out of order: %v", err)
	}
	if m.Awaits(0, 2) || !m.Awaits(1, 1) || m.Awaits(1, 2) {
		t.Fatal("Awaits: participant 1 owes burst 1, participant 0 nothing")
	}
	if got := m.Missing(nil); !slices.Equal(got, []int{1}) {
		t.Fatalf("missing %v", got)
	}
	if b, at := m.InProgress(); b != 1 || at != t0 {
		t.Fatalf("in progress %d at %v", b, at)
	}
	if out := must(m.Done(t0, 1, 1)); out != (Output{Complete: 1, Tick: 3}) {
		t.Fatalf("%+v", out)
	}
	if out := must(m.Done(t0, 1, 2)); out != (Output{Complete: 2, Tick: 4}) {
		t.Fatalf("%+v", out)
	}
	if _, err := m.Done(t0, 1, 2); !errors.Is(err, ErrWrongBurst) {
		t.Fatalf("a completion of a complete burst: %v", err)
	}
	// Stop with 3 and 4 in flight: nothing more is ticked, the run ends
	// when both are complete.
	if out := m.Stop(); out != (Output{}) {
		t.Fatalf("stop: %+v", out)
	}
	must(m.Done(t0, 0, 3))
	if out := must(m.Done(t0, 1, 3)); out != (Output{Complete: 3}) {
		t.Fatalf("%+v", out)
	}
	must(m.Done(t0, 1, 4))
	if out := must(m.Done(t0, 0, 4)); out != (Output{Complete: 4, Finished: true}) {
		t.Fatalf("%+v", out)
	}
	if m.Completed() != 4 || m.Ticked() != 4 || m.Running() {
		t.Fatalf("completed %d ticked %d running %v", m.Completed(), m.Ticked(), m.Running())
	}
}

// TestWindowPacing: paced bursts keep their grid while earlier ones are
// still in flight, up to the window.
func TestWindowPacing(t *testing.T) {
	must := checker(t)
	m := New(1, ms(10))
	if err := m.SetWindow(3); err != nil {
		t.Fatal(err)
	}
	out := must(m.Start(t0, 1, 0))
	if out.Tick != 1 || out.Wake != t0.Add(ms(10)) {
		t.Fatalf("start: %+v", out)
	}
	// Burst 1 takes 35 ms: 2 and 3 tick on the grid; 4 waits for room.
	if out = m.Wake(t0.Add(ms(10))); out.Tick != 2 || out.Wake != t0.Add(ms(20)) {
		t.Fatalf("at 10ms: %+v", out)
	}
	if out = m.Wake(t0.Add(ms(20))); out.Tick != 3 || !out.Wake.IsZero() {
		t.Fatalf("at 20ms, window full: %+v", out)
	}
	if out = must(m.Done(t0.Add(ms(35)), 0, 1)); out != (Output{Complete: 1, Tick: 4}) {
		t.Fatalf("at 35ms (4 was due at 30): %+v", out)
	}
}

// TestWindowProperties drives machines of random windows, participants
// and limits with completions in random order (each participant in its
// own order) and checks what any caller relies on: bursts are ticked once
// each, in order, never more than the window past the last complete one;
// a burst completes once, in order, only after every participant finished
// it; the run finishes exactly at its last burst.
func TestWindowProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "participants")
		w := rapid.IntRange(1, 4).Draw(t, "window")
		last := Burst(rapid.IntRange(1, 30).Draw(t, "last"))
		m := New(n, 0)
		if err := m.SetWindow(w); err != nil {
			t.Fatal(err)
		}
		var ticked, completed Burst
		finished := make([]Burst, n)
		done := false
		take := func(out Output) {
			if b := out.Complete; b != 0 {
				if b != completed+1 {
					t.Fatalf("burst %d complete after %d", b, completed)
				}
				for p, f := range finished {
					if f < b {
						t.Fatalf("burst %d complete before participant %d finished it", b, p)
					}
				}
				completed = b
			}
			first, through := out.Ticks()
			if first != 0 {
				if first != ticked+1 || through < first {
					t.Fatalf("ticks %d..%d after %d", first, through, ticked)
				}
				ticked = through
			}
			if ticked > completed+Burst(w) {
				t.Fatalf("burst %d ticked with %d complete, window %d", ticked, completed, w)
			}
			if out.Finished {
				if done || completed != last {
					t.Fatalf("finished at burst %d of %d (again: %v)", completed, last, done)
				}
				done = true
			}
		}
		out, err := m.Start(t0, 1, last)
		if err != nil {
			t.Fatal(err)
		}
		take(out)
		for !done {
			var ready []int
			for p, f := range finished {
				if f < ticked {
					ready = append(ready, p)
				}
			}
			if len(ready) == 0 {
				t.Fatalf("stuck: ticked %d, completed %d, finished %v", ticked, completed, finished)
			}
			p := rapid.SampledFrom(ready).Draw(t, "participant")
			if rapid.Bool().Draw(t, "wrong") {
				// A completion out of order changes nothing.
				if _, err := m.Done(t0, p, finished[p]+2); err == nil {
					t.Fatalf("participant %d skipped burst %d", p, finished[p]+1)
				}
			}
			finished[p]++
			out, err := m.Done(t0, p, finished[p])
			if err != nil {
				t.Fatal(err)
			}
			take(out)
		}
	})
}
