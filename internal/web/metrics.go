package web

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/spikemesh/spikemesh/actors"
)

// Metric names, all in one place for the docs and the tests.
const (
	metricBursts         = "spikemesh_bursts_total"
	metricBurstDuration  = "spikemesh_burst_duration_seconds"
	metricSpikes         = "spikemesh_spikes_total"
	metricLastBurst      = "spikemesh_last_burst"
	metricNATSMsgs       = "spikemesh_nats_messages_sent_total"
	metricNATSBytes      = "spikemesh_nats_bytes_sent_total"
	metricNATSMsgsIn     = "spikemesh_nats_messages_received_total"
	metricNATSBytesIn    = "spikemesh_nats_bytes_received_total"
	metricIgnored        = "spikemesh_nats_messages_ignored_total"
	metricDropped        = "spikemesh_nats_messages_dropped_total"
	metricBadControl     = "spikemesh_control_malformed_total"
	metricSensorReceived = "spikemesh_sensor_frames_received_total"
	metricSensorTaken    = "spikemesh_sensor_frames_taken_total"
	metricSensorDropped  = "spikemesh_sensor_frames_dropped_total"
	metricSensorLate     = "spikemesh_sensor_frames_late_total"
	metricSensorPoints   = "spikemesh_sensor_points_dropped_total"
	metricMembers        = "spikemesh_cluster_members"
	metricAreasOwned     = "spikemesh_areas_owned"
	metricAreas          = "spikemesh_areas"
	metricEpoch          = "spikemesh_placement_epoch"
	metricPaused         = "spikemesh_paused"
	metricReady          = "spikemesh_ready"
	metricInterval       = "spikemesh_burst_interval_seconds"
	metricInfo           = "spikemesh_brain_info"
)

// burstBuckets are the burst duration histogram's upper bounds, 10 µs to
// about 10 s.
var burstBuckets = prometheus.ExponentialBuckets(10e-6, 2.5, 16)

// metrics is the node's Prometheus registry. The observer updates atomics
// and the histogram; everything else is read when scraped.
type metrics struct {
	reg      *prometheus.Registry
	duration prometheus.Histogram
	bursts   atomic.Uint64
	last     atomic.Uint64
	srv      *Server
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), srv: s}
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    metricBurstDuration,
		Help:    "Time from a burst's tick to the completion of its last area, in seconds.",
		Buckets: burstBuckets,
	})
	m.reg.MustRegister(m.duration, (*collector)(m),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// collector exports what the metrics read at scrape time.
type collector metrics

var (
	descBursts     = prometheus.NewDesc(metricBursts, "Bursts this node has seen complete.", nil, nil)
	descLastBurst  = prometheus.NewDesc(metricLastBurst, "Number of the last burst this node has seen complete.", nil, nil)
	descSpikes     = prometheus.NewDesc(metricSpikes, "Neurons fired, by cortical area (name and canonical ID), as this node sees them.", []string{"area", "id"}, nil)
	descNATSMsgs   = prometheus.NewDesc(metricNATSMsgs, "NATS messages published, by connection (runtime: spike batches and lock step; io: sensors, motors, control).", []string{"conn"}, nil)
	descNATSBytes  = prometheus.NewDesc(metricNATSBytes, "NATS payload bytes published, by connection.", []string{"conn"}, nil)
	descNATSMsgsI  = prometheus.NewDesc(metricNATSMsgsIn, "NATS messages received on the io connection (sensors, control).", []string{"conn"}, nil)
	descNATSBytesI = prometheus.NewDesc(metricNATSBytesIn, "NATS payload bytes received on the io connection.", []string{"conn"}, nil)
	descIgnored    = prometheus.NewDesc(metricIgnored, "Messages between nodes ignored, by reason.", []string{"reason"}, nil)
	descDropped    = prometheus.NewDesc(metricDropped, "Messages NATS dropped before this node read them (slow consumer), by kind.", []string{"kind"}, nil)
	descBadControl = prometheus.NewDesc(metricBadControl, "Control requests that did not decode.", nil, nil)
	descSensorRecv = prometheus.NewDesc(metricSensorReceived, "Sensor frames offered to the intake, rejected ones included.", nil, nil)
	descSensorTake = prometheus.NewDesc(metricSensorTaken, "Sensor frames injected into a burst.", nil, nil)
	descSensorDrop = prometheus.NewDesc(metricSensorDropped, "Sensor frames not injected, by reason.", []string{"reason"}, nil)
	descSensorLate = prometheus.NewDesc(metricSensorLate, "Sensor frames injected later than the burst they were stamped for.", nil, nil)
	descSensorPts  = prometheus.NewDesc(metricSensorPoints, "Points of accepted sensor frames dropped (outside the area, zero or non-finite potential).", nil, nil)
	descMembers    = prometheus.NewDesc(metricMembers, "Live members of the cluster (1 outside cluster mode).", nil, nil)
	descOwned      = prometheus.NewDesc(metricAreasOwned, "Cortical areas this node runs.", nil, nil)
	descAreas      = prometheus.NewDesc(metricAreas, "Cortical areas of the brain.", nil, nil)
	descEpoch      = prometheus.NewDesc(metricEpoch, "Version of the placement of areas over nodes.", nil, nil)
	descPaused     = prometheus.NewDesc(metricPaused, "1 while the brain is paused.", nil, nil)
	descReady      = prometheus.NewDesc(metricReady, "1 once the node is grown, joined and bursting (as /readyz).", nil, nil)
	descInterval   = prometheus.NewDesc(metricInterval, "Time between bursts asked for (0: free running); absent where this node does not pace the brain.", nil, nil)
	descInfo       = prometheus.NewDesc(metricInfo, "Always 1; the labels describe the brain and this node.", []string{"genome", "precision", "runner", "node", "coordinator"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s := c.srv
	ready, _ := s.ready()
	gauge(descReady, b2f(ready))
	counter(descBursts, c.bursts.Load())
	gauge(descLastBurst, float64(c.last.Load()))
	at := s.attached.Load()
	if at == nil {
		return
	}
	b := at.brain
	for i := range b.Areas {
		counter(descSpikes, at.spikes[i].Load(), at.labels[i], b.Areas[i].ID)
	}
	gauge(descInfo, 1, b.Genome, b.Precision, b.Runner, b.Node, b.Coordinator)
	gauge(descAreas, float64(len(b.Areas)))
	gauge(descOwned, float64(at.owned))
	gauge(descEpoch, float64(b.Epoch))
	if b.Source == nil {
		return
	}
	gauge(descPaused, b2f(b.Source.Paused()))
	if d, ok := b.Source.Interval(); ok {
		gauge(descInterval, d.Seconds())
	}
	k := b.Source.Counters()
	counter(descNATSMsgs, k.RuntimeMsgsOut, "runtime")
	counter(descNATSMsgs, k.IOMsgsOut, "io")
	counter(descNATSBytes, k.RuntimeBytesOut, "runtime")
	counter(descNATSBytes, k.IOBytesOut, "io")
	counter(descNATSMsgsI, k.IOMsgsIn, "io")
	counter(descNATSBytesI, k.IOBytesIn, "io")
	for _, r := range ignoredReasons(k.Ignored) {
		counter(descIgnored, r.n, r.reason)
	}
	counter(descDropped, k.SpikeBatchesDropped, "spike_batch")
	counter(descDropped, k.SensorSlowConsumer, "sensor_frame")
	counter(descBadControl, k.BadControl)
	in := k.Intake
	counter(descSensorRecv, in.Received)
	counter(descSensorTake, in.Taken)
	counter(descSensorDrop, in.Replaced, "replaced")
	counter(descSensorDrop, in.Malformed, "malformed")
	counter(descSensorDrop, in.Oversized, "oversized")
	counter(descSensorDrop, in.UnknownArea, "unknown_area")
	counter(descSensorDrop, k.SensorSlowConsumer, "slow_consumer")
	counter(descSensorLate, in.Late)
	counter(descSensorPts, in.PointsDropped)
	gauge(descMembers, float64(max(k.Members, 1)))
}

type reasonCount struct {
	reason string
	n      uint64
}

func ignoredReasons(ig actors.Ignored) [6]reasonCount {
	return [6]reasonCount{{"another_run", ig.Run}, {"another_epoch", ig.Epoch}, {"malformed", ig.Malformed},
		{"unknown_source", ig.Unknown}, {"stale", ig.Stale}, {"duplicate", ig.Duplicate}}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
