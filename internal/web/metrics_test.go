package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
)

func waitABit()  { time.Sleep(10 * time.Millisecond) }
func waitFrame() { time.Sleep(250 * time.Millisecond) }

// scrape reads /metrics and parses it as Prometheus' text format.
func (n *node) scrape() map[string]*dto.MetricFamily {
	n.t.Helper()
	code, h, data := n.do(http.MethodGet, "/metrics", "")
	if code != http.StatusOK {
		n.t.Fatalf("/metrics: %d %s", code, data)
	}
	if ct := h.Get("Content-Type"); !bytes.HasPrefix([]byte(ct), []byte("text/plain")) {
		n.t.Fatalf("/metrics: Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		n.t.Fatalf("/metrics does not parse: %v\n%s", err, data)
	}
	return fams
}

// value returns the value of the series of name whose labels include
// labels (name, value pairs); ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics scrapes a node whose spikes travel over NATS and that takes
// sensor frames, twice, and checks that what should move moved.
func TestMetrics(t *testing.T) {
	port := freePort(t)
	creds, credOpts := nodeCreds(t)
	n := startNode(t, func(c *brain.Config) {
		c.SpikesViaNATS = true
		c.NATSListen = fmt.Sprintf("127.0.0.1:%d", port)
		c.NATSCreds = creds
	})
	n.waitReady()
	n.waitBurst(5)
	m1 := n.scrape()

	cl, err := natsio.Dial(fmt.Sprintf("nats://127.0.0.1:%d", port), pns.Subjects{Prefix: pns.DefaultPrefix, Brain: pns.DefaultBrain},
		natsio.WithNATSOptions(credOpts...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pts := pns.Points{X: []uint32{1}, Y: []uint32{0}, Z: []uint32{2}, P: []float32{5}}
	if err := cl.SendSensor("i__pro", pts); err != nil {
		t.Fatal(err)
	}
	if err := cl.SendSensor("nosuch", pts); err != nil {
		t.Fatal(err)
	}
	// Wait until both frames are counted and a few bursts later.
	for deadline := time.Now().Add(time.Minute); ; {
		taken, _ := value(n.scrape(), "spikemesh_sensor_frames_taken_total")
		unknown, _ := value(n.scrape(), "spikemesh_sensor_frames_dropped_total", "reason", "unknown_area")
		if taken >= 1 && unknown >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sensor frames not counted after a minute: taken %v, unknown area %v", taken, unknown)
		}
		waitABit()
	}
	var last float64
	for v, _ := value(m1, "spikemesh_last_burst"); ; waitABit() {
		if last, _ = value(n.scrape(), "spikemesh_last_burst"); last >= v+10 {
			break
		}
	}
	m2 := n.scrape()

	moved := []struct {
		name   string
		labels []string
	}{
		{"spikemesh_bursts_total", nil},
		{"spikemesh_burst_duration_seconds", nil},
		{"spikemesh_spikes_total", []string{"area", "Brain_Power", "id", "X19fcG93ZXI="}},
		{"spikemesh_nats_messages_sent_total", []string{"conn", "runtime"}},
		{"spikemesh_nats_bytes_sent_total", []string{"conn", "runtime"}},
		{"spikemesh_nats_messages_received_total", []string{"conn", "io"}},
		{"spikemesh_sensor_frames_received_total", nil},
		{"spikemesh_sensor_frames_taken_total", nil},
		{"spikemesh_sensor_frames_dropped_total", []string{"reason", "unknown_area"}},
		{"spikemesh_last_burst", nil},
		{"go_goroutines", nil},
	}
	for _, c := range moved {
		v1, ok1 := value(m1, c.name, c.labels...)
		v2, ok2 := value(m2, c.name, c.labels...)
		if !ok1 || !ok2 || v2 <= v1 {
			t.Errorf("%s%v: %v (%v) → %v (%v); want it present and growing", c.name, c.labels, v1, ok1, v2, ok2)
		}
	}
	fixed := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"spikemesh_areas", nil, 6},
		{"spikemesh_areas_owned", nil, 6},
		{"spikemesh_cluster_members", nil, 1},
		{"spikemesh_placement_epoch", nil, 1},
		{"spikemesh_ready", nil, 1},
		{"spikemesh_paused", nil, 0},
		{"spikemesh_burst_interval_seconds", nil, 0.01},
		{"spikemesh_brain_info", []string{"genome", testGenome, "node", "local", "coordinator", "local", "runner", "actors"}, 1},
		{"spikemesh_nats_messages_ignored_total", []string{"reason", "another_run"}, 0},
		{"spikemesh_nats_messages_dropped_total", []string{"kind", "spike_batch"}, 0},
		{"spikemesh_spikes_total", []string{"area", "Brain_Death"}, 0},
	}
	for _, c := range fixed {
		if v, ok := value(m2, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	// One spike series per area, each with its name and ID.
	if f := m2["spikemesh_spikes_total"]; f == nil || len(f.Metric) != 6 || f.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("spikemesh_spikes_total: %v", f)
	}
	// Paused (no burst between the reads of one scrape), the bursts counted
	// match the histogram's count and the last burst's number.
	if code, _, data := n.do(http.MethodPost, "/v1/pause", ""); code != http.StatusOK {
		t.Fatalf("POST /v1/pause: %d %s", code, data)
	}
	// The burst in progress when the pause arrived may still complete.
	for deadline := time.Now().Add(time.Minute); ; waitABit() {
		m3 := n.scrape()
		b, _ := value(m3, "spikemesh_bursts_total")
		h, _ := value(m3, "spikemesh_burst_duration_seconds")
		l, _ := value(m3, "spikemesh_last_burst")
		p, _ := value(m3, "spikemesh_paused")
		if h == b && b == l && b >= last && p == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("paused %v: bursts_total %v, histogram count %v, last burst %v (earlier %v)", p, b, h, l, last)
		}
	}
}
