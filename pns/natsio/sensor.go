package natsio

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/pns"
)

// SensorBridge subscribes to <prefix>.<brain>.sensor.* and feeds every
// message to a pns.Intake.
type SensorBridge struct {
	in  *pns.Intake
	sub *nats.Subscription
	log *rateLog
}

// SubscribeSensors starts the sensor bridge of a brain on nc. Frames are
// decoded, resolved and stored in in (latest per area wins); rejected ones
// are counted there and logged with a rate limit. Options used:
// WithLogger, WithLogInterval, WithPendingLimits.
func SubscribeSensors(nc *nats.Conn, subjects pns.Subjects, in *pns.Intake, opts ...Option) (*SensorBridge, error) {
	if err := subjects.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	b := &SensorBridge{in: in, log: newRateLog(o.log, o.logEvery)}
	sub, err := nc.Subscribe(subjects.SensorAll(), func(m *nats.Msg) {
		if err := HandleSensor(in, pns.LastToken(m.Subject), m.Data); err != nil {
			b.report(m.Subject, err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("natsio: subscribing to %s: %w", subjects.SensorAll(), err)
	}
	if err := sub.SetPendingLimits(o.pendingMsgs, o.pendingBytes); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("natsio: pending limits of %s: %w", subjects.SensorAll(), err)
	}
	b.sub = sub
	return b, nil
}

// report logs each kind found in err (a container may mix kinds).
func (b *SensorBridge) report(subject string, err error) {
	var seen [pns.NumKinds]bool
	for _, e := range flatten(err) {
		k, _ := pns.KindOf(e)
		if !seen[k] {
			seen[k] = true
			b.log.report(k, subject, e)
		}
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// SlowConsumerDrops is the number of sensor messages NATS dropped because
// the bridge fell behind its pending limits; they never reached the intake.
func (b *SensorBridge) SlowConsumerDrops() uint64 {
	n, err := b.sub.Dropped()
	if err != nil || n < 0 {
		return 0
	}
	return uint64(n)
}

// Close unsubscribes. Messages already delivered may still be offered while
// Close returns.
func (b *SensorBridge) Close() error {
	if err := b.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsio: closing sensor bridge: %w", err)
	}
	return nil
}

// HandleSensor offers one sensor message to in, exactly as the bridge does:
// token is the last token of its subject, data its payload. Every outcome is
// counted in the intake; the error says what was rejected.
func HandleSensor(in *pns.Intake, token string, data []byte) error {
	lim := in.Limits()
	if len(data) > lim.MaxFrameBytes {
		err := fmt.Errorf("%w: sensor message of %d bytes on token %q exceeds the limit of %d",
			pns.ErrOversized, len(data), token, lim.MaxFrameBytes)
		in.Reject(err)
		return err
	}
	if pns.IsContainer(data) {
		return in.OfferContainer(data)
	}
	var f pns.Frame
	if err := DecodeSensorFrame(data, lim, &f); err != nil {
		in.Reject(err)
		return err
	}
	if f.Area == "" {
		return in.Offer(token, f.Burst, &f.Points)
	}
	i, ok := in.Resolve(f.Area)
	if !ok {
		err := fmt.Errorf("%w: %q (subject token %q)", pns.ErrUnknownArea, f.Area, token)
		in.Reject(err)
		return err
	}
	if j, ok := in.Resolve(token); ok && j != i {
		err := fmt.Errorf("%w: frame for area %q sent on the subject of area %q", pns.ErrMalformed, f.Area, token)
		in.Reject(err)
		return err
	}
	return in.OfferIndex(i, f.Burst, &f.Points)
}
