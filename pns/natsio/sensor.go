package natsio

import (
	"encoding/json"
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

	// receipts is scratch for the acknowledgement of one message; the
	// subscription's callbacks run one at a time.
	receipts []pns.Receipt
}

// SubscribeSensors starts the sensor bridge of a brain on nc. Frames are
// decoded, resolved and stored in in (latest per area wins); rejected ones
// are counted there and logged with a rate limit. A message sent with a
// reply subject (a NATS request) is answered with an [Ack]. Options used:
// WithLogger, WithLogInterval, WithPendingLimits.
func SubscribeSensors(nc *nats.Conn, subjects pns.Subjects, in *pns.Intake, opts ...Option) (*SensorBridge, error) {
	if err := subjects.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	b := &SensorBridge{in: in, log: newRateLog(o.log, o.logEvery)}
	sub, err := nc.Subscribe(subjects.SensorAll(), func(m *nats.Msg) {
		var err error
		b.receipts, err = AcceptSensor(in, pns.LastToken(m.Subject), m.Data, b.receipts[:0])
		if err != nil {
			b.report(m.Subject, err)
		}
		if m.Reply != "" {
			b.ack(m, err)
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

// ack answers a request with the receipts of its frames or its error.
func (b *SensorBridge) ack(m *nats.Msg, err error) {
	a := Ack{OK: err == nil, Frames: make([]AckFrame, len(b.receipts))}
	if err != nil {
		a.Error = err.Error()
		if k, ok := pns.KindOf(err); ok {
			a.Kind = k.String()
		}
	}
	areas := b.in.Areas()
	for i, r := range b.receipts {
		ar := &areas[r.Area]
		a.Frames[i] = AckFrame{Area: ar.ID.String(), Name: ar.Name, Burst: r.Burst, Points: r.Points, Dropped: r.Dropped}
	}
	data, jerr := json.Marshal(a)
	if jerr == nil {
		jerr = m.Respond(data)
	}
	if jerr != nil {
		b.log.log.Debug("sensor acknowledgement not sent", "subject", m.Subject, "err", jerr)
	}
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
	_, err := AcceptSensor(in, token, data, nil)
	return err
}

// AcceptSensor is HandleSensor, also appending to dst the receipt of every
// frame the intake accepted (one for a protobuf frame, one per accepted area
// of a FEAGI container). The token pns.AnyToken names no area: a frame on it
// must name its own.
func AcceptSensor(in *pns.Intake, token string, data []byte, dst []pns.Receipt) ([]pns.Receipt, error) {
	lim := in.Limits()
	if len(data) > lim.MaxFrameBytes {
		err := fmt.Errorf("%w: sensor message of %d bytes on token %q exceeds the limit of %d",
			pns.ErrOversized, len(data), token, lim.MaxFrameBytes)
		in.Reject(err)
		return dst, err
	}
	if pns.IsContainer(data) {
		return in.OfferContainerReceipts(data, dst)
	}
	var f pns.Frame
	if err := DecodeSensorFrame(data, lim, &f); err != nil {
		in.Reject(err)
		return dst, err
	}
	if f.Area == "" {
		if token == pns.AnyToken {
			err := fmt.Errorf("%w: a frame on subject token %q must name its area", pns.ErrUnknownArea, token)
			in.Reject(err)
			return dst, err
		}
		r, err := in.OfferReceipt(token, f.Burst, &f.Points)
		if err != nil {
			return dst, err
		}
		return append(dst, r), nil
	}
	i, ok := in.Resolve(f.Area)
	if !ok {
		err := fmt.Errorf("%w: %q", pns.ErrUnknownArea, f.Area)
		if token != f.Area && token != pns.AnyToken {
			err = fmt.Errorf("%w: %q (subject token %q)", pns.ErrUnknownArea, f.Area, token)
		}
		in.Reject(err)
		return dst, err
	}
	if token != pns.AnyToken {
		if j, ok := in.Resolve(token); ok && j != i {
			err := fmt.Errorf("%w: frame for area %q sent on the subject of area %q", pns.ErrMalformed, f.Area, token)
			in.Reject(err)
			return dst, err
		}
	}
	r, err := in.OfferIndexReceipt(i, f.Burst, &f.Points)
	if err != nil {
		return dst, err
	}
	return append(dst, r), nil
}
