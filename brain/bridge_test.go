package brain

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// TestBridgesEndToEnd runs node run against a NATS server, sends sensor
// frames to an IPU area in both encodings after a flood of garbage, and
// waits for the motor frames of the OPU area it drives.
func TestBridgesEndToEnd(t *testing.T) {
	const genome = "community_webots_pioneer2.json"
	const flood = 100_000
	plan := loadPlan(t, genome)
	ipu, ok1 := plan.AreaIndex("i__pro")
	opu, ok2 := plan.AreaIndex("o__mot")
	if !ok1 || !ok2 {
		t.Fatal("genome lacks i__pro or o__mot")
	}
	ipuID, opuID := plan.Areas[ipu].ID.String(), plan.Areas[opu].ID.String()
	var points pns.Points
	a := &plan.Areas[ipu]
	p := a.Params.Threshold * 1.5
	if a.Params.ThresholdLimit > 0 && p > a.Params.ThresholdLimit {
		p = (a.Params.Threshold + a.Params.ThresholdLimit) / 2
	}
	for x := range a.Dims[0] {
		for z := range a.Dims[2] {
			points.Append(x, 0, z, p)
		}
	}

	ns, err := actors.EmbeddedNATS("127.0.0.1:-1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	subjects := pns.Subjects{Prefix: "spikemesh", Brain: "e2e"}
	protoClient, err := natsio.Dial(ns.ClientURL(), subjects)
	if err != nil {
		t.Fatal(err)
	}
	defer protoClient.Close()
	feagiClient, err := natsio.Dial(ns.ClientURL(), subjects, natsio.WithFormat(natsio.FormatFEAGI))
	if err != nil {
		t.Fatal(err)
	}
	defer feagiClient.Close()
	frames := make(chan pns.Frame, 64)
	if _, err := protoClient.WatchMotor(opuID, func(f pns.Frame) {
		select {
		case frames <- f:
		default: // the test reads on; a missed frame is followed by the next
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := protoClient.Flush(); err != nil {
		t.Fatal(err)
	}

	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		sum *Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := Run(ctx, Config{Genome: genome, Rate: 500, NATS: ns.ClientURL(),
			SubjectPrefix: subjects.Prefix, Brain: subjects.Brain, Quiet: true,
			Ready: func() { close(ready) }})
		done <- result{sum, err}
	}()
	select {
	case <-ready:
	case r := <-done:
		t.Fatalf("run ended before it started: %v", r.err)
	}

	// Garbage first: one publisher's messages reach the bridge in order, so
	// once a later valid frame has acted, every bad one has been counted.
	nc := protoClient.Conn()
	for i := range flood {
		if err := nc.Publish(subjects.Sensor(pns.ID(plan.Areas[ipu].ID).Token()), []byte{0xff, byte(i), 0x07}); err != nil {
			t.Fatal(err)
		}
	}
	if err := protoClient.SendSensor("nope", points); err != nil {
		t.Fatal(err)
	}

	deadline := time.After(2 * time.Minute) // a hang guard, not a measurement
	await := func(send func() error, what string) uint64 {
		t.Helper()
		quiet := 0
		sent := false
		for {
			select {
			case f := <-frames:
				if f.Points.Len() > 0 && sent {
					return f.Burst
				}
				if f.Points.Len() == 0 {
					quiet++
				} else {
					quiet = 0
				}
				// Send once the area is quiet, and again at every quiet
				// frame until it fires (a flood may drop a frame).
				if quiet >= 3 {
					sent = true
					if err := send(); err != nil {
						t.Fatal(err)
					}
				}
			case r := <-done:
				t.Fatalf("run ended: %v", r.err)
			case <-deadline:
				t.Fatalf("no motor activity from %s frames", what)
			}
		}
	}
	b1 := await(func() error { return protoClient.SendSensor(ipuID, points) }, "protobuf")
	b2 := await(func() error { return feagiClient.SendSensor(ipuID, points) }, "FEAGI container")
	if b2 <= b1 {
		t.Fatalf("motor bursts %d then %d: not increasing", b1, b2)
	}
	// The control subject answers with the brain's stats. A motor frame of
	// burst b leaves its area before the coordinator has heard from every
	// area of burst b, so the brain's completed burst may still be b-1 when
	// the frame arrives: ask again until burst b is complete (the brain runs
	// on at 500 Hz, so the second answer already has it).
	req, _ := proto.Marshal(&brainv1.Control{Command: &brainv1.Control_Stats{Stats: &brainv1.StatsRequest{}}})
	var st brainv1.Stats
	for attempt := 0; ; attempt++ {
		reply, err := nc.Request(subjects.Prefix+"."+subjects.Brain+".ctl", req, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(reply.Data, &st); err != nil {
			t.Fatal(err)
		}
		if st.Burst+1 < b2 {
			t.Fatalf("stats %v: completed burst is behind motor burst %d by more than one", &st, b2)
		}
		if st.Burst >= b2 || attempt == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Burst < b2 || st.SensorDropped < flood+1 || st.SensorFrames < 2 || st.Spikes == 0 || !(st.BurstsPerSecond > 0) {
		t.Fatalf("stats %v: want burst ≥ %d, ≥ %d sensor frames dropped, ≥ 2 taken, spikes, a burst rate", &st, b2, flood+1)
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.sum.SensorDropped < flood+1 {
		t.Fatalf("%d sensor frames counted as dropped, want at least %d (server slow consumers %d, intake %+v)",
			r.sum.SensorDropped, flood+1, ns.NumSlowConsumers(), r.sum.Intake)
	}
	t.Logf("%d bursts in %v; %d sensor frames dropped; motor activity at bursts %d and %d",
		r.sum.Bursts, r.sum.Wall, r.sum.SensorDropped, b1, b2)
}
