package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// startNATS starts an embedded server for one test.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := EmbeddedNATS("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

func dialer(ns *server.Server) func(...nats.Option) (*nats.Conn, error) {
	return func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect("", append(opts, nats.InProcessServer(ns))...)
	}
}

// recorder collects the fired neurons of every burst.
type recorder struct {
	bursts [][][]uint32
	onB    func(b npu.Burst)
}

func (r *recorder) observe(res *BurstResult) error {
	if want := npu.Burst(len(r.bursts) + 1); res.Burst != want {
		return fmt.Errorf("observer saw burst %d, want %d", res.Burst, want)
	}
	rec := make([][]uint32, len(res.Fired))
	for i, f := range res.Fired {
		if f != nil {
			rec[i] = slices.Clone(f)
		}
	}
	r.bursts = append(r.bursts, rec)
	if r.onB != nil {
		r.onB(res.Burst)
	}
	return nil
}

func newRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func compareRuns(t *testing.T, want, got [][][]uint32) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("ran %d bursts, want %d", len(got), len(want))
	}
	spikes := 0
	for b := range want {
		for a := range want[b] {
			spikes += len(want[b][a])
			if !slices.Equal(want[b][a], got[b][a]) {
				t.Fatalf("burst %d area %d: fired %v, want %v", b+1, a, got[b][a], want[b][a])
			}
		}
	}
	if spikes == 0 {
		t.Fatal("no area fired: the test drives nothing")
	}
}

func TestRuntimeMatchesSequential(t *testing.T) {
	const bursts, neurons = 40, 24
	ns := startNATS(t)
	for _, seed := range []uint64{1, 2, 3} {
		plan := fakePlan(seed, 9, neurons)
		want := sequential(plan, bursts, pulses{neurons})
		for _, mode := range []struct {
			viaNATS bool
			inline  int
		}{{false, 0}, {true, 0}, {false, 60}, {true, 1 << 20}} {
			viaNATS := mode.viaNATS
			t.Run(fmt.Sprintf("seed%d/nats=%v/inline=%d", seed, viaNATS, mode.inline), func(t *testing.T) {
				engines, _ := fakeEngines(plan)
				var rec recorder
				r := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{neurons}, InlineWork: mode.inline,
					Observer: rec.observe, SpikesViaNATS: viaNATS, Dial: dialer(ns), Brain: fmt.Sprintf("b%d", seed)})
				// Two runs back to back continue where the first stopped.
				if err := r.Run(context.Background(), bursts/2); err != nil {
					t.Fatal(err)
				}
				if err := r.Run(context.Background(), bursts-bursts/2); err != nil {
					t.Fatal(err)
				}
				if r.Completed() != bursts {
					t.Fatalf("completed %d bursts, want %d", r.Completed(), bursts)
				}
				compareRuns(t, want, rec.bursts)
				if d := r.Dropped(); d != 0 {
					t.Fatalf("%d NATS messages dropped", d)
				}
			})
		}
	}
}

func TestRuntimePacedByInterval(t *testing.T) {
	plan := fakePlan(4, 6, 8)
	want := sequential(plan, 5, pulses{8})
	engines, _ := fakeEngines(plan)
	var rec recorder
	r := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe,
		Interval: time.Millisecond})
	if err := r.Run(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	compareRuns(t, want, rec.bursts)
}

func TestAreaPanicStopsRun(t *testing.T) {
	plan := fakePlan(5, 7, 8)
	engines, fakes := fakeEngines(plan)
	fakes[5].panicAt = 7
	var rec recorder
	r := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe})
	err := r.Run(context.Background(), 20)
	var ae *AreaError
	if !errors.As(err, &ae) || ae.Area != 5 || ae.Burst != 7 {
		t.Fatalf("Run = %v, want an AreaError for area 5 burst 7", err)
	}
	for _, s := range []string{"area 5 (" + plan.Areas[5].ID.String() + ")", "burst 7", "fake engine failure"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if r.Completed() != 6 || len(rec.bursts) != 6 {
		t.Fatalf("completed %d bursts, observed %d; want 6", r.Completed(), len(rec.bursts))
	}
}

// connection returns some connection of p between two different non-core areas.
func someConnection(t *testing.T, p *cortical.Plan) *npu.Connection {
	for _, c := range p.Connections {
		if c.Src != c.Dst && c.Src >= 3 {
			return c
		}
	}
	t.Fatal("plan has no connection between two areas")
	return nil
}

// isDst reports whether area is c.Dst or, when batches travel over NATS (one
// message per source and node), any destination of src.
func isDst(p *cortical.Plan, src, area int, viaNATS bool, dst int) bool {
	if area == dst {
		return true
	}
	for _, c := range p.Connections {
		if viaNATS && c.Src == src && c.Dst == area {
			return true
		}
	}
	return false
}

// A second batch for a (source, burst) already received, over NATS or in
// process, is ignored and counted; the run goes on with the same record.
func TestDuplicateBatchIgnored(t *testing.T) {
	ns := startNATS(t)
	for _, viaNATS := range []bool{false, true} {
		t.Run(fmt.Sprintf("nats=%v", viaNATS), func(t *testing.T) {
			plan := fakePlan(6, 8, 8)
			c := someConnection(t, plan)
			clean := func() [][][]uint32 {
				engines, _ := fakeEngines(plan)
				var rec recorder
				// A brain of another name: none of its batches can reach the
				// run below, whose ignored messages are counted.
				r := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe,
					SpikesViaNATS: viaNATS, Dial: dialer(ns), Brain: "clean"})
				if err := r.Run(context.Background(), 20); err != nil {
					t.Fatal(err)
				}
				r.Close()
				return rec.bursts
			}()
			engines, _ := fakeEngines(plan)
			var r *Runtime
			rec := recorder{onB: func(b npu.Burst) {
				if b != 4 && b != 9 {
					return
				}
				// Every area is idle; the real batch of burst b is queued
				// before this one.
				if viaNATS {
					data := appendBatch(nil, batchHeader{brain: "brain", burst: b, src: uint32(c.Src), run: r.cfg.Run, epoch: r.cfg.Epoch}, nil, nil)
					if err := r.bus.publish(r.spikeSubject(r.cfg.Node), data); err != nil {
						t.Error(err)
					}
					return
				}
				r.system.Root.Send(r.areas[c.Dst], &localBatch{burst: b, src: c.Src})
			}}
			r = newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe,
				SpikesViaNATS: viaNATS, Dial: dialer(ns)})
			if err := r.Run(context.Background(), 20); err != nil {
				t.Fatalf("Run = %v, want the duplicates ignored", err)
			}
			compareRuns(t, clean, rec.bursts)
			// Over NATS one message reaches every destination of the source
			// on the node, and each counts it.
			dsts := uint64(1)
			if viaNATS {
				dsts = uint64(len(r.bus.fanout[c.Src]))
			}
			if ig := r.Ignored(); ig.Duplicate != 2*dsts || ig.Total() != ig.Duplicate {
				t.Fatalf("ignored %+v, want %d duplicates and nothing else", ig, 2*dsts)
			}
		})
	}
}

// A batch that never arrives stalls the burst that needs it; the stall
// names the batch's source area and the node that should have sent it.
func TestMissingBatchReportedByStall(t *testing.T) {
	ns := startNATS(t)
	for _, viaNATS := range []bool{false, true} {
		t.Run(fmt.Sprintf("nats=%v", viaNATS), func(t *testing.T) {
			plan := fakePlan(6, 8, 8)
			c := someConnection(t, plan)
			engines, _ := fakeEngines(plan)
			// Long enough that a loaded machine never stalls a healthy burst.
			r := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8},
				SpikesViaNATS: viaNATS, Dial: dialer(ns), StallTimeout: 3 * time.Second})
			r.dropBatch = func(src, dst int, _ NodeID, burst npu.Burst) bool {
				// Over NATS, the one batch to the node (dst -1).
				return src == c.Src && (dst == c.Dst || dst < 0) && burst == 6
			}
			err := r.Run(context.Background(), 20)
			if !errors.Is(err, ErrStalled) || !errors.Is(err, ErrMissingBatch) {
				t.Fatalf("Run = %v, want a stall for a missing batch", err)
			}
			want := fmt.Sprintf("area %d (%s) lacks the batch of burst 6 from area %d (%s) on node %s",
				c.Dst, plan.Areas[c.Dst].ID, c.Src, plan.Areas[c.Src].ID, LocalNode)
			if !strings.Contains(err.Error(), "burst 7") || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if r.Completed() != 6 {
				t.Errorf("completed %d bursts, want 6", r.Completed())
			}
		})
	}
}

// Forged batches over NATS (another run, a malformed body under a good
// header, neurons outside the source area, bytes that are no batch at all,
// a batch from an area with no connection here, one for a far burst) are
// counted by reason; the run completes with the record of a clean run.
func TestForgedBatchesIgnored(t *testing.T) {
	ns := startNATS(t)
	plan := fakePlan(6, 8, 8)
	c := someConnection(t, plan)
	run := func(forge func(r *Runtime, b npu.Burst)) ([][][]uint32, *Runtime) {
		engines, _ := fakeEngines(plan)
		var r *Runtime
		rec := recorder{onB: func(b npu.Burst) {
			if forge != nil {
				forge(r, b)
			}
		}}
		r = newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe,
			SpikesViaNATS: true, Dial: dialer(ns)})
		if err := r.Run(context.Background(), 20); err != nil {
			t.Fatalf("Run = %v, want the forged batches ignored", err)
		}
		return rec.bursts, r
	}
	clean, _ := run(nil)
	// A source with no connection into some area of the node.
	noConn := -1
	for s := range plan.Areas {
		if _, ok := connectedFrom(plan, s); !ok {
			noConn = s
			break
		}
	}
	spy := natsConn(t, ns)
	got, r := run(func(r *Runtime, b npu.Burst) {
		if b != 5 {
			return
		}
		h := batchHeader{brain: "brain", burst: 6, src: uint32(c.Src), run: r.cfg.Run, epoch: r.cfg.Epoch}
		subject := r.spikeSubject(r.cfg.Node)
		pub := func(data []byte) {
			if err := spy.Publish(subject, data); err != nil {
				t.Error(err)
			}
		}
		other := h
		other.run++
		pub(appendBatch(nil, other, []uint32{0, 1, 2}, nil)) // another run
		pub([]byte{0xff})                                    // no batch at all
		bad := appendBatch(nil, h, nil, nil)
		pub(append(bad, 0x0a, 0x05, 0x01)) // a field cut short
		bad = protowire.AppendTag(appendBatch(nil, h, nil, nil), fieldFiredDelta, protowire.BytesType)
		pub(protowire.AppendBytes(bad, []byte{0x80}))    // a varint cut short inside the fired indices
		pub(appendBatch(nil, h, []uint32{1 << 30}, nil)) // outside the area
		pub(appendBatch(nil, h, []uint32{5, 4}, nil))    // not ascending
		far := h
		far.burst = 1000
		pub(appendBatch(nil, far, []uint32{0}, nil)) // not the burst in progress
		if noConn >= 0 {
			nc := h
			nc.src = uint32(noConn)
			pub(appendBatch(nil, nc, []uint32{0}, nil))
		}
		if err := spy.Flush(); err != nil {
			t.Error(err)
		}
	})
	compareRuns(t, clean, got)
	ig := r.Ignored()
	dsts := uint64(len(r.bus.fanout[c.Src]))
	if ig.Run != 1 || ig.Malformed != 2+3*dsts || ig.Stale != dsts || ig.Duplicate != 0 {
		t.Errorf("ignored %+v, want run 1, malformed %d, stale %d", ig, 2+3*dsts, dsts)
	}
	if noConn >= 0 && ig.Unknown != 1 {
		t.Errorf("ignored %+v, want 1 unknown source", ig)
	}
}

// connectedFrom returns a connection from src, if any.
func connectedFrom(p *cortical.Plan, src int) (*npu.Connection, bool) {
	for _, c := range p.Connections {
		if c.Src == src {
			return c, true
		}
	}
	return nil, false
}

func natsConn(t *testing.T, ns *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestSlowConsumerStopsRun(t *testing.T) {
	ns := startNATS(t)
	plan := fakePlan(7, 6, 8)
	engines, _ := fakeEngines(plan)
	var r *Runtime
	rec := recorder{onB: func(b npu.Burst) {
		if b == 3 {
			// What nats.go reports when a subscription's pending limit is hit.
			r.bus.onError(r.bus.nc, r.bus.subs[0], nats.ErrSlowConsumer)
		}
	}}
	r = newRuntime(t, Config{Plan: plan, Engines: engines, Observer: rec.observe, SpikesViaNATS: true, Dial: dialer(ns)})
	err := r.Run(context.Background(), 0)
	if !errors.Is(err, ErrDropped) {
		t.Fatalf("Run = %v, want ErrDropped", err)
	}
}

func TestCancelFinishesBurst(t *testing.T) {
	plan := fakePlan(8, 6, 8)
	engines, _ := fakeEngines(plan)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec recorder
	rec.onB = func(b npu.Burst) {
		if b == 5 {
			cancel()
		}
	}
	r := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe})
	if err := r.Run(ctx, 0); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if r.Completed() < 5 || int(r.Completed()) != len(rec.bursts) {
		t.Fatalf("completed %d bursts, observed %d; want ≥ 5 and equal", r.Completed(), len(rec.bursts))
	}
}

func TestObserverErrorStopsRun(t *testing.T) {
	plan := fakePlan(9, 5, 4)
	engines, _ := fakeEngines(plan)
	boom := errors.New("disk full")
	r := newRuntime(t, Config{Plan: plan, Engines: engines, Observer: func(res *BurstResult) error {
		if res.Burst == 3 {
			return boom
		}
		return nil
	}})
	if err := r.Run(context.Background(), 10); !errors.Is(err, boom) || !strings.Contains(err.Error(), "burst 3") {
		t.Fatalf("Run = %v, want the observer's error at burst 3", err)
	}
}

func TestStallReported(t *testing.T) {
	// Inline, the blocked step holds the coordinator's goroutine too.
	for _, inline := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("inline=%d", inline), func(t *testing.T) {
			plan := fakePlan(10, 6, 8)
			engines, fakes := fakeEngines(plan)
			fakes[4].blockAt, fakes[4].block = 3, make(chan struct{})
			r, err := New(Config{Plan: plan, Engines: engines, StallTimeout: 50 * time.Millisecond, InlineWork: inline})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Run(context.Background(), 10)
			close(fakes[4].block) // let the step return so Close can stop the actor
			r.Close()
			if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "burst 3") ||
				!strings.Contains(err.Error(), "4 ("+plan.Areas[4].ID.String()+")") {
				t.Fatalf("Run = %v, want a stall of burst 3 naming area 4", err)
			}
		})
	}
}

func TestControlOverNATS(t *testing.T) {
	ns := startNATS(t)
	plan := fakePlan(12, 6, 8)
	engines, _ := fakeEngines(plan)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reached := make(chan struct{})
	var r *Runtime
	rec := recorder{onB: func(b npu.Burst) {
		switch b {
		case 3:
			// Queued before burst 4 completes: the brain holds after 4.
			r.Pause()
		case 4:
			close(reached)
		case 8:
			cancel()
		}
	}}
	r = newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{8}, Observer: rec.observe})
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := r.ServeControl(nc, "spikemesh.brain.ctl", func(s *brainv1.Stats) { s.Spikes = 42 })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 0) }()

	request := func(c *brainv1.Control) *brainv1.Stats {
		t.Helper()
		data, _ := proto.Marshal(c)
		m, err := nc.Request("spikemesh.brain.ctl", data, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var s brainv1.Stats
		if err := proto.Unmarshal(m.Data, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	<-reached
	s := request(&brainv1.Control{Command: &brainv1.Control_Stats{Stats: &brainv1.StatsRequest{}}})
	if !s.Paused || s.Burst != 4 || s.Spikes != 42 {
		t.Fatalf("stats while paused: %v", s)
	}
	if err := nc.Publish("spikemesh.brain.ctl", []byte{0xff, 0xff}); err != nil { // garbage: counted, dropped
		t.Fatal(err)
	}
	request(&brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Hz: 1000}}})
	request(&brainv1.Control{Command: &brainv1.Control_Resume{Resume: &brainv1.Resume{}}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Completed() < 8 || int(r.Completed()) != len(rec.bursts) || r.BadControl() != 1 {
		t.Fatalf("completed %d, observed %d, bad control %d", r.Completed(), len(rec.bursts), r.BadControl())
	}
}
