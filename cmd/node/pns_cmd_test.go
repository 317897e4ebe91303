package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
)

// The IPU area of community_webots_pioneer2 (i__pro), in base64 and token form.
const testArea = "aW1pcwoAAAA="

func TestSensorSendPublishesFrame(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	subjects := pns.DefaultSubjects()
	id, err := pns.ParseID(testArea)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"proto", "feagi"} {
		t.Run(format, func(t *testing.T) {
			sub, err := nc.SubscribeSync(subjects.Sensor(id.Token()))
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			// A bare subscriber answers no request: --no-ack only publishes.
			code := dispatch([]string{"sensor", "send", "--nats", s.ClientURL(), "--format", format, "--no-ack",
				"--area", testArea, "--points", "1,0,2,5.5 3,0,4,7"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("sensor send exited %d: %s", code, stderr.String())
			}
			msg, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatalf("no sensor frame on %s: %v", subjects.Sensor(id.Token()), err)
			}
			var got pns.Points
			switch format {
			case "proto":
				var f pns.Frame
				if err := natsio.DecodeSensorFrame(msg.Data, pns.DefaultLimits(), &f); err != nil {
					t.Fatal(err)
				}
				got = f.Points
			case "feagi":
				if !pns.IsContainer(msg.Data) {
					t.Fatalf("payload is not a FEAGI container: % x", msg.Data[:min(16, len(msg.Data))])
				}
				in := pns.NewIntake([]pns.Area{{ID: id, Geometry: pns.Geometry{Dims: [3]uint32{16, 1, 10}, PerVoxel: 1}}},
					func(string) (int, bool) { return 0, true }, pns.DefaultLimits())
				if err := in.OfferContainer(msg.Data); err != nil {
					t.Fatal(err)
				}
				frames := in.Take(1)
				if len(frames) != 1 || len(frames[0].Injections) != 2 {
					t.Fatalf("container decoded to %+v, want one frame with two points", frames)
				}
				// Voxel (1,0,2) of a 16x1x10 area is local 12; (3,0,4) is 34.
				want := []pns.Injection{{Local: 12, P: 5.5}, {Local: 34, P: 7}}
				for i, w := range want {
					if frames[0].Injections[i] != w {
						t.Errorf("injection %d = %+v, want %+v", i, frames[0].Injections[i], w)
					}
				}
				return
			}
			want := pns.Points{X: []uint32{1, 3}, Y: []uint32{0, 0}, Z: []uint32{2, 4}, P: []float32{5.5, 7}}
			if got.Len() != 2 {
				t.Fatalf("got %d points, want 2", got.Len())
			}
			for i := 0; i < 2; i++ {
				if got.X[i] != want.X[i] || got.Y[i] != want.Y[i] || got.Z[i] != want.Z[i] || got.P[i] != want.P[i] {
					t.Errorf("point %d = (%d,%d,%d,%g), want (%d,%d,%d,%g)", i,
						got.X[i], got.Y[i], got.Z[i], got.P[i], want.X[i], want.Y[i], want.Z[i], want.P[i])
				}
			}
		})
	}
}

func TestSensorSendRejectsBadPoints(t *testing.T) {
	s := natstest.Start(t)
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"sensor", "send", "--nats", s.ClientURL(), "--area", testArea,
		"--points", "1,0,x,5"}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("sensor send accepted a non-numeric coordinate")
	}
	if !strings.Contains(stderr.String(), "1,0,x,5") {
		t.Errorf("error does not name the bad point: %q", stderr.String())
	}
}

// TestMotorWatchPrintsFrames: motor watch prints the frames of the area
// asked for, skipping those where nothing fired unless --all is given.
func TestMotorWatchPrintsFrames(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	id, err := pns.ParseID("b21pcwoAAAA=") // o__mot of community_webots_pioneer2, 4x1x10
	if err != nil {
		t.Fatal(err)
	}
	pub, err := natsio.NewMotorPublisher(nc, pns.DefaultSubjects(),
		[]pns.Area{{ID: id, Geometry: pns.Geometry{Dims: [3]uint32{4, 1, 10}, PerVoxel: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// Publish until the watcher has what it needs: it may subscribe after the
	// first frames went out, and core NATS keeps nothing for late subscribers.
	// Odd bursts fire local 13 (voxel (1,0,3) of a 4x1x10 area), even ones
	// nothing.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for burst := uint64(1); ; burst++ {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if burst%2 == 1 {
				_ = pub.Publish(burst, 0, []uint32{13}, []float32{2.5})
			} else {
				_ = pub.Publish(burst, 0, nil, nil)
			}
		}
	}()
	type frame struct {
		Area   string       `json:"area"`
		Burst  uint64       `json:"burst"`
		Points [][4]float64 `json:"points"`
	}
	watch := func(extra ...string) []frame {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"motor", "watch", "--nats", s.ClientURL(), id.String(), "--count", "4", "--timeout", "20s"}, extra...)
		if code := dispatch(args, &stdout, &stderr); code != 0 {
			t.Fatalf("motor watch %v exited %d: %s", extra, code, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if len(lines) != 4 {
			t.Fatalf("motor watch %v printed %d lines, want 4:\n%s", extra, len(lines), stdout.String())
		}
		var out []frame
		var prev uint64
		for _, l := range lines {
			var f frame
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if f.Area != id.String() {
				t.Errorf("frame %q: want area %s", l, id)
			}
			if f.Burst <= prev {
				t.Errorf("bursts not increasing: %d after %d", f.Burst, prev)
			}
			prev = f.Burst
			out = append(out, f)
		}
		return out
	}
	for _, f := range watch() {
		if len(f.Points) != 1 || f.Points[0] != [4]float64{1, 0, 3, 2.5} {
			t.Errorf("burst %d: points %v, want only non-empty frames with [1,0,3,2.5]", f.Burst, f.Points)
		}
	}
	empty := 0
	for _, f := range watch("--all") {
		if len(f.Points) == 0 {
			empty++
		}
	}
	if empty != 2 {
		t.Errorf("--all printed %d empty frames of 4 consecutive bursts, want 2", empty)
	}
}

// TestNATSErrorsHideCredentials: sensor send and motor watch name the
// server they cannot reach without the user, password or token of its URL.
func TestNATSErrorsHideCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, args := range [][]string{
		{"sensor", "send", "--nats", "nats://alice:s3cret@" + addr, "--area", testArea, "--points", "0,0,0,1"},
		{"motor", "watch", "--nats", "nats://t0ken@" + addr, "--timeout", "5s", "--log-format", "json"},
	} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(args, &stdout, &stderr); code != 1 {
			t.Fatalf("%v: exit %d, want 1: %s", args, code, stderr.String())
		}
		msg := stderr.String()
		if !strings.Contains(msg, addr) || strings.Contains(msg, "s3cret") || strings.Contains(msg, "t0ken") || strings.Contains(msg, "alice") {
			t.Fatalf("%v: error %q: want the address without credentials", args[:2], msg)
		}
	}
}

// TestSensorSendFileCap: sensor send reads at most --max-file-size bytes of
// --file, even from an endless file, and says which flag raises the cap.
func TestSensorSendFileCap(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"sensor", "send", "--area", "i__pro", "--file", "/dev/zero", "--max-file-size", "1KiB",
		"--nats", "nats://127.0.0.1:1"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "--max-file-size") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming --max-file-size", code, stderr.String())
	}
}
