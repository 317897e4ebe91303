package natsio_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
)

var (
	idLeft  = pns.ID{'c', '_', '_', 'l', 'e', 'f', '_', '_'}
	idMotor = pns.ID{'o', 'm', 'o', 't', 5, 0, 0, 0}
)

// brainAreas: 0 c__lef (3×2×1, 1 per voxel), 1 omot00 (2×2×2, 2 per voxel).
func brainAreas() []pns.Area {
	return []pns.Area{
		{ID: idLeft, Geometry: pns.Geometry{Dims: [3]uint32{3, 2, 1}, PerVoxel: 1}},
		{ID: idMotor, Geometry: pns.Geometry{Dims: [3]uint32{2, 2, 2}, PerVoxel: 2}},
	}
}

func resolver(name string) (int, bool) {
	switch name {
	case "c__lef":
		return 0, true
	case "omot00":
		return 1, true
	}
	return 0, false
}

// waitFor polls cond until it holds; the test's own timeout bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(time.Millisecond):
		}
	}
}

// recv receives one frame; the bound only keeps a broken test from hanging.
func recv(t *testing.T, ch <-chan pns.Frame) pns.Frame {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("no frame received")
		return pns.Frame{}
	}
}

func points(xyzp ...float32) pns.Points {
	var p pns.Points
	for i := 0; i+3 < len(xyzp); i += 4 {
		p.Append(uint32(xyzp[i]), uint32(xyzp[i+1]), uint32(xyzp[i+2]), xyzp[i+3])
	}
	return p
}

type rig struct {
	in     *pns.Intake
	bridge *natsio.SensorBridge
	url    string
	logs   *logBuffer
}

func newRig(t *testing.T, lim pns.Limits) *rig {
	t.Helper()
	s := natstest.Start(t)
	nc := natstest.ConnectInProcess(t, s)
	r := &rig{in: pns.NewIntake(brainAreas(), resolver, lim), url: s.ClientURL(), logs: &logBuffer{}}
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	b, err := natsio.SubscribeSensors(nc, pns.DefaultSubjects(), r.in, natsio.WithLogger(log), natsio.WithLogInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := nc.Flush(); err != nil { // the subscription is registered
		t.Fatal(err)
	}
	r.bridge = b
	return r
}

func (r *rig) client(t *testing.T, opts ...natsio.Option) *natsio.Client {
	t.Helper()
	c, err := natsio.Dial(r.url, pns.DefaultSubjects(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (r *rig) waitReceived(t *testing.T, n uint64) {
	t.Helper()
	waitFor(t, "frames to reach the intake", func() bool { return r.in.Stats().Received+r.bridge.SlowConsumerDrops() >= n })
}

func TestSensorBothEncodingsEndToEnd(t *testing.T) {
	r := newRig(t, pns.Limits{})
	proto := r.client(t)
	feagi := r.client(t, natsio.WithFormat(natsio.FormatFEAGI))
	must(t, proto.SendSensor("c__lef", points(2, 1, 0, 200, 0, 0, 0, 1.5)))
	must(t, feagi.SendSensor(idMotor.String(), points(1, 1, 1, 0.25)))
	must(t, proto.Flush())
	must(t, feagi.Flush())
	r.waitReceived(t, 2)

	got := r.in.Take(1)
	if len(got) != 2 {
		t.Fatalf("Take = %+v, want two frames", got)
	}
	// c__lef 3×2×1: (2,1,0) → (2·2+1)·1+0 = 5; (0,0,0) → 0.
	if got[0].Area != 0 || !equalInj(got[0].Injections, []pns.Injection{{Local: 5, P: 200}, {Local: 0, P: 1.5}}) {
		t.Errorf("proto frame = %+v", got[0])
	}
	// omot00 2×2×2×2: voxel (1,1,1) → ((1·2+1)·2+1)·2 + 1 = 15.
	if got[1].Area != 1 || !equalInj(got[1].Injections, []pns.Injection{{Local: 15, P: 0.25}}) {
		t.Errorf("FEAGI frame = %+v", got[1])
	}
	if s := r.in.Stats(); s.Dropped() != 0 || s.Taken != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestSensorLatestWins(t *testing.T) {
	r := newRig(t, pns.Limits{})
	c := r.client(t)
	for i := 1; i <= 10; i++ {
		must(t, c.SendSensor(idLeft.Token(), points(0, 0, 0, float32(i))))
	}
	must(t, c.Flush())
	r.waitReceived(t, 10)
	got := r.in.Take(1)
	if len(got) != 1 || !equalInj(got[0].Injections, []pns.Injection{{Local: 0, P: 10}}) {
		t.Fatalf("Take = %+v, want the tenth frame only", got)
	}
	s := r.in.Stats()
	if s.Replaced != 9 || s.Taken != 1 || s.Received != 10 {
		t.Errorf("stats = %+v, want 10 received, 9 replaced, 1 taken", s)
	}
}

func TestSensorBadInputCountedAndLoggedOnce(t *testing.T) {
	r := newRig(t, pns.Limits{MaxFrameBytes: 1024})
	c := r.client(t)
	nc := c.Conn()
	subj := pns.DefaultSubjects()
	for range 3 {
		must(t, nc.Publish(subj.Sensor("c__lef"), []byte("\xff\xfegarbage")))                  // malformed
		must(t, c.SendSensor("nope", points(0, 0, 0, 1)))                                      // unknown area
		must(t, nc.Publish(subj.Sensor("c__lef"), bytes.Repeat([]byte{0x0a}, 2000)))           // oversized
		must(t, nc.Publish(subj.Sensor("c__lef"), []byte{4, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0})) // bad container
	}
	unknownID := pns.ID{'c', 'z', 'z', 'z', 'z', 'z', 'z', 'z'}
	feagi := r.client(t, natsio.WithFormat(natsio.FormatFEAGI))
	must(t, feagi.SendSensor(unknownID.String(), points(0, 0, 0, 1))) // unknown area in a container
	// A protobuf frame naming one area on the subject of another.
	data, err := natsio.AppendSensorFrame(nil, &pns.Frame{Area: "omot00", Points: points(0, 0, 0, 1)})
	must(t, err)
	must(t, nc.Publish(subj.Sensor("c__lef"), data))
	must(t, c.SendSensor("c__lef", points(0, 0, 0, 1))) // one good frame
	must(t, c.Flush())
	must(t, feagi.Flush())
	r.waitReceived(t, 15)

	s := r.in.Stats()
	if s.Malformed != 7 || s.UnknownArea != 4 || s.Oversized != 3 || s.Pending != 1 {
		t.Errorf("stats = %+v, want 7 malformed, 4 unknown, 3 oversized, 1 pending", s)
	}
	if s.Received != s.Taken+s.Replaced+s.Pending+s.Dropped() {
		t.Errorf("counters inconsistent: %+v", s)
	}
	logs := r.logs.String()
	for _, kind := range []string{"malformed", "unknown-area", "oversized"} {
		if n := strings.Count(logs, "kind="+kind); n != 1 {
			t.Errorf("%d log lines of kind %s, want 1 (rate limit)\n%s", n, kind, logs)
		}
	}
}

// TestSensorFlood: 100,000 frames (1% garbage) while a burst loop takes;
// every frame is accounted for and memory stays bounded.
func TestSensorFlood(t *testing.T) {
	const total = 100_000
	r := newRig(t, pns.Limits{})
	c := r.client(t)
	nc := c.Conn()
	garbageSubject := pns.DefaultSubjects().Sensor("c__lef")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	stop := make(chan struct{})
	var taken uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the runtime's burst loop
		defer wg.Done()
		for b := uint64(1); ; b++ {
			taken += uint64(len(r.in.Take(b)))
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond): // a fast burst rate
			}
		}
	}()
	pts := points(0, 0, 0, 1, 1, 1, 0, 2, 2, 0, 0, 3)
	areas := []string{"c__lef", "omot00"}
	for i := range total {
		if i%100 == 99 {
			must(t, nc.Publish(garbageSubject, []byte("garbage")))
			continue
		}
		must(t, c.SendSensor(areas[i%2], pts))
	}
	must(t, c.Flush())
	r.waitReceived(t, total)
	close(stop)
	wg.Wait()
	taken += uint64(len(r.in.Take(^uint64(0))))

	s := r.in.Stats()
	drops := r.bridge.SlowConsumerDrops()
	t.Logf("flood: %+v, slow-consumer drops %d", s, drops)
	if s.Received+drops != total {
		t.Errorf("received %d + NATS drops %d != %d sent", s.Received, drops, total)
	}
	if s.Received != s.Taken+s.Replaced+s.Pending+s.Dropped() || s.Pending != 0 || s.Taken != taken {
		t.Errorf("counters inconsistent: %+v (taken by the loop %d)", s, taken)
	}
	if s.Malformed != total/100 && drops == 0 {
		t.Errorf("malformed = %d, want %d", s.Malformed, total/100)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth after the flood: %d bytes", growth)
	// 100,000 frames of 3 points held at once would be far above this; the
	// intake keeps at most a few small buffers per area.
	if growth > 16<<20 {
		t.Errorf("heap grew by %d bytes over the flood", growth)
	}
}

func TestMotorPublishAndWatch(t *testing.T) {
	for _, format := range []natsio.Format{natsio.FormatProto, natsio.FormatFEAGI} {
		t.Run(format.String(), func(t *testing.T) {
			s := natstest.Start(t)
			nc := natstest.ConnectInProcess(t, s)
			pub, err := natsio.NewMotorPublisher(nc, pns.DefaultSubjects(), brainAreas(), natsio.WithFormat(format))
			must(t, err)
			c, err := natsio.Dial(s.ClientURL(), pns.DefaultSubjects())
			must(t, err)
			defer c.Close()
			all := make(chan pns.Frame, 16)
			one := make(chan pns.Frame, 16)
			_, err = c.WatchMotor("", func(f pns.Frame) { all <- f })
			must(t, err)
			if _, err := c.WatchMotor("omot00", func(pns.Frame) {}); err == nil {
				t.Error("WatchMotor(omot00): legacy ID accepted without the genome")
			}
			_, err = c.WatchMotor(idMotor.Token(), func(f pns.Frame) { one <- f })
			must(t, err)
			must(t, c.Flush())

			// omot00 2×2×2×2: neuron 15 is voxel (1,1,1) copy 1, neuron 4 is (0,1,0) copy 0.
			must(t, pub.Publish(70000, 1, []uint32{4, 15}, []float32{1.25, 3}))
			must(t, pub.Publish(70001, 1, nil, nil)) // nothing fired: empty frame
			must(t, pub.Publish(70001, 0, []uint32{5}, []float32{2}))
			must(t, nc.Flush())

			want := pns.Frame{Area: idMotor.String(), Burst: 70000, Points: points(0, 1, 0, 1.25, 1, 1, 1, 3)}
			if f := recv(t, one); !sameFrame(f, want) {
				t.Errorf("first omot00 frame = %+v, want %+v", f, want)
			}
			if f := recv(t, one); f.Burst != 70001 || f.Points.Len() != 0 {
				t.Errorf("second omot00 frame = %+v, want empty at 70001", f)
			}
			got := []pns.Frame{recv(t, all), recv(t, all), recv(t, all)}
			if !sameFrame(got[0], want) || got[2].Area != idLeft.String() || got[2].Burst != 70001 {
				t.Errorf("frames of every area = %+v", got)
			}
		})
	}
}

func TestMotorPublishErrors(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.ConnectInProcess(t, s)
	pub, err := natsio.NewMotorPublisher(nc, pns.DefaultSubjects(), brainAreas())
	must(t, err)
	if err := pub.Publish(1, 2, nil, nil); err == nil {
		t.Error("area index 2 of 2: no error")
	}
	if err := pub.Publish(1, 0, []uint32{1}, nil); err == nil || !strings.Contains(err.Error(), idLeft.String()) {
		t.Errorf("mismatched slices: err = %v, want one naming the area", err)
	}
	if err := pub.Publish(1, 0, []uint32{6}, []float32{1}); err == nil || !strings.Contains(err.Error(), "burst 1") {
		t.Errorf("neuron 6 of 6: err = %v, want one naming the burst", err)
	}
	nc.Close()
	if err := pub.Publish(1, 0, nil, nil); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("closed connection: err = %v, want nats.ErrConnectionClosed", err)
	}
}

func TestHandleSensorMismatch(t *testing.T) {
	in := pns.NewIntake(brainAreas(), resolver, pns.Limits{})
	data, _ := natsio.AppendSensorFrame(nil, &pns.Frame{Area: "omot00", Points: points(0, 0, 0, 1)})
	if err := natsio.HandleSensor(in, "c__lef", data); !errors.Is(err, pns.ErrMalformed) {
		t.Errorf("mismatched area and token: %v", err)
	}
	// A token naming no area ("all") is fine when the frame names its area.
	if err := natsio.HandleSensor(in, "all", data); err != nil {
		t.Errorf("frame with area on token all: %v", err)
	}
	// An empty payload is an empty protobuf frame; its area is the token's.
	if err := natsio.HandleSensor(in, idLeft.Token(), nil); err != nil {
		t.Errorf("empty frame: %v", err)
	}
	if got := in.Take(1); len(got) != 2 {
		t.Errorf("Take = %+v, want two frames", got)
	}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func sameFrame(a, b pns.Frame) bool {
	if a.Area != b.Area || a.Burst != b.Burst || a.Points.Len() != b.Points.Len() {
		return false
	}
	for i := range a.Points.X {
		if a.Points.X[i] != b.Points.X[i] || a.Points.Y[i] != b.Points.Y[i] || a.Points.Z[i] != b.Points.Z[i] || a.Points.P[i] != b.Points.P[i] {
			return false
		}
	}
	return true
}

func equalInj(a, b []pns.Injection) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
