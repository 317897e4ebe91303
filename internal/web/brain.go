package web

import (
	"context"
	"errors"
	"time"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/pns"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// ErrNoControl is returned by Source.Control when the brain takes no
// control requests (npu's reference runner).
var ErrNoControl = errors.New("this brain takes no control requests (the reference runner has no pacing to change)")

// Area describes one cortical area, as GET /v1/areas shows it.
type Area struct {
	Index    int       `json:"index"`
	ID       string    `json:"id"`                  // canonical base64 ID
	LegacyID string    `json:"legacy_id,omitempty"` // the ID as the genome writes it
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Dims     [3]uint32 `json:"dims"` // x, y, z in voxels
	PerVoxel uint32    `json:"per_voxel"`
	Neurons  uint32    `json:"neurons"`
	Owner    string    `json:"owner"` // the node that runs it
}

// Brain is a grown brain as the server shows it. The package brain builds
// it once the brain is grown and connected and hands it to Server.Attach.
type Brain struct {
	Genome    string // the genome as named on the command line
	GenomeID  string // the genome's own ID
	Title     string
	Precision string
	Seed      uint64
	Runner    string
	// Node is this node's name ("local" outside cluster mode), Coordinator
	// the node that paces the brain and answers control, Nodes every node
	// of the run.
	Node        string
	Coordinator string
	Nodes       []string
	Epoch       uint64
	Neurons     int64
	Synapses    int64
	Areas       []Area
	// ObservesAll says that this node's bursts show every area; false on a
	// cluster node that sees only its own areas.
	ObservesAll bool
	Source      Source
}

// Source is what the server reads from, and asks of, a running brain. Its
// methods are called concurrently with the bursts; they must be cheap and
// safe for concurrent use.
type Source interface {
	// Control sends one control request to the brain's coordinator and
	// returns its answer (ErrNoControl when the brain takes none).
	Control(ctx context.Context, c *brainv1.Control) (*brainv1.Stats, error)
	// Interval is the pacing the coordinator was last asked for (0: free);
	// known is false where this node cannot tell (a cluster node that does
	// not coordinate).
	Interval() (d time.Duration, known bool)
	// Paused reports whether the brain is held between bursts, as this
	// node knows it.
	Paused() bool
	// Counters reads the running totals that /metrics exports.
	Counters() Counters
}

// Counters are running totals of a node, read at scrape time.
type Counters struct {
	// Runtime is the actor runtime's NATS traffic: spike batches and the
	// lock step between nodes.
	RuntimeMsgsOut, RuntimeBytesOut uint64
	// IO is the NATS connection of sensors, motors and control.
	IOMsgsIn, IOMsgsOut, IOBytesIn, IOBytesOut uint64
	// Ignored counts messages between nodes ignored by reason.
	Ignored actors.Ignored
	// SpikeBatchesDropped counts spike batches NATS dropped (slow
	// consumer).
	SpikeBatchesDropped uint64
	// BadControl counts control messages that did not decode.
	BadControl uint64
	// Intake is the sensor intake's frame counts, SensorSlowConsumer the
	// sensor frames NATS dropped before the intake saw them.
	Intake             pns.IntakeStats
	SensorSlowConsumer uint64
	// Members is the number of live cluster members (1 outside a cluster).
	Members int
}

// Stats is the answer of POST /v1/rate, /v1/pause, /v1/resume and GET
// /v1/stats, and what `node ctl` prints: the fields of brain.v1.Stats.
type Stats struct {
	Burst           uint64  `json:"burst"`
	BurstsPerSecond float64 `json:"bursts_per_second"`
	Spikes          uint64  `json:"spikes"`
	DroppedMessages uint64  `json:"dropped_messages"`
	SensorFrames    uint64  `json:"sensor_frames"`
	SensorDropped   uint64  `json:"sensor_dropped"`
	Paused          bool    `json:"paused"`
}

// StatsFromProto converts a control answer.
func StatsFromProto(s *brainv1.Stats) Stats {
	return Stats{Burst: s.GetBurst(), BurstsPerSecond: s.GetBurstsPerSecond(), Spikes: s.GetSpikes(),
		DroppedMessages: s.GetDroppedMessages(), SensorFrames: s.GetSensorFrames(), SensorDropped: s.GetSensorDropped(),
		Paused: s.GetPaused()}
}
