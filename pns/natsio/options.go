package natsio

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/pns"
)

// Format is an encoding of sensor and motor frames on the wire.
type Format uint8

const (
	// FormatProto is protobuf brain.v1.SensorFrame / MotorFrame (the default).
	FormatProto Format = iota
	// FormatFEAGI is FEAGI's byte container v4 with an XYZP structure.
	FormatFEAGI
)

// String returns "proto" or "feagi".
func (f Format) String() string {
	if f == FormatFEAGI {
		return "feagi"
	}
	return "proto"
}

// ParseFormat reads "proto" (or "protobuf") and "feagi".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "proto", "protobuf", "":
		return FormatProto, nil
	case "feagi":
		return FormatFEAGI, nil
	}
	return 0, fmt.Errorf("natsio: unknown format %q (want proto or feagi)", s)
}

// BurstHeader is the NATS header that carries the burst number of a motor
// frame sent as a FEAGI container.
const BurstHeader = "Spikemesh-Burst"

// Option configures a SensorBridge, MotorPublisher or Client; each uses the
// options that concern it.
type Option func(*options)

type options struct {
	log          *slog.Logger
	logEvery     time.Duration
	format       Format
	limits       pns.Limits
	session      [8]byte
	pendingMsgs  int
	pendingBytes int
	natsOpts     []nats.Option
}

func buildOptions(opts []Option) options {
	o := options{
		log:          slog.New(slog.DiscardHandler),
		logEvery:     10 * time.Second,
		pendingMsgs:  512 * 1024,
		pendingBytes: 64 << 20,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithLogger sets the logger of rejected messages (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithLogInterval sets how often at most one line per kind of rejected
// message is logged (default 10 s).
func WithLogInterval(d time.Duration) Option { return func(o *options) { o.logEvery = d } }

// WithFormat sets the encoding of frames sent (default FormatProto).
func WithFormat(f Format) Option { return func(o *options) { o.format = f } }

// WithLimits sets the size limits for frames a Client receives (the bridge
// uses its intake's limits).
func WithLimits(l pns.Limits) Option { return func(o *options) { o.limits = l } }

// WithSession sets the 8-byte session identifier written into FEAGI
// containers (default zero).
func WithSession(s [8]byte) Option { return func(o *options) { o.session = s } }

// WithPendingLimits sets the NATS pending limits of subscriptions: messages
// and bytes buffered before NATS drops (defaults 524,288 and 64 MiB).
func WithPendingLimits(msgs, bytes int) Option {
	return func(o *options) { o.pendingMsgs, o.pendingBytes = msgs, bytes }
}

// WithNATSOptions adds options to the connection Dial opens: credentials,
// TLS (see nats.UserInfo, nats.Nkey, nats.Secure).
func WithNATSOptions(opts ...nats.Option) Option {
	return func(o *options) { o.natsOpts = append(o.natsOpts, opts...) }
}
