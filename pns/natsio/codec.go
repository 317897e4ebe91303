package natsio

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/pns"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// AppendSensorFrame appends the protobuf SensorFrame of f to dst.
func AppendSensorFrame(dst []byte, f *pns.Frame) ([]byte, error) {
	if err := f.Points.Check(); err != nil {
		return dst, fmt.Errorf("natsio: encoding sensor frame of %q: %w", f.Area, err)
	}
	m := brainv1.SensorFrame{Area: f.Area, Burst: f.Burst, Points: toXYZP(&f.Points)}
	return proto.MarshalOptions{}.MarshalAppend(dst, &m)
}

// AppendMotorFrame appends the protobuf MotorFrame of f to dst.
func AppendMotorFrame(dst []byte, f *pns.Frame) ([]byte, error) {
	if err := f.Points.Check(); err != nil {
		return dst, fmt.Errorf("natsio: encoding motor frame of %q: %w", f.Area, err)
	}
	m := brainv1.MotorFrame{Area: f.Area, Burst: f.Burst, Points: toXYZP(&f.Points)}
	return proto.MarshalOptions{}.MarshalAppend(dst, &m)
}

// DecodeSensorFrame decodes a protobuf SensorFrame into f, whose arrays are
// replaced. Errors wrap pns.ErrMalformed or pns.ErrOversized; lim's zero
// fields take their defaults. It never panics.
func DecodeSensorFrame(data []byte, lim pns.Limits, f *pns.Frame) error {
	var m brainv1.SensorFrame
	if err := unmarshal("sensor", data, lim, &m); err != nil {
		return err
	}
	f.Area, f.Burst = m.GetArea(), m.GetBurst()
	return fromXYZP("sensor", m.GetPoints(), lim, f)
}

// DecodeMotorFrame decodes a protobuf MotorFrame into f, like
// DecodeSensorFrame.
func DecodeMotorFrame(data []byte, lim pns.Limits, f *pns.Frame) error {
	var m brainv1.MotorFrame
	if err := unmarshal("motor", data, lim, &m); err != nil {
		return err
	}
	f.Area, f.Burst = m.GetArea(), m.GetBurst()
	return fromXYZP("motor", m.GetPoints(), lim, f)
}

func unmarshal(what string, data []byte, lim pns.Limits, m proto.Message) error {
	lim = lim.OrDefaults()
	if len(data) > lim.MaxFrameBytes {
		return fmt.Errorf("%w: %s frame of %d bytes exceeds the limit of %d", pns.ErrOversized, what, len(data), lim.MaxFrameBytes)
	}
	if pns.IsContainer(data) {
		return fmt.Errorf("%w: %s frame is a FEAGI container, not protobuf", pns.ErrMalformed, what)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("%w: %s frame of %d bytes: %v", pns.ErrMalformed, what, len(data), err)
	}
	return nil
}

func fromXYZP(what string, x *brainv1.XYZP, lim pns.Limits, f *pns.Frame) error {
	f.Points = pns.Points{X: x.GetX(), Y: x.GetY(), Z: x.GetZ(), P: x.GetP()}
	if err := f.Points.Check(); err != nil {
		return fmt.Errorf("%s frame of %q: %w", what, f.Area, err)
	}
	if n, max := f.Points.Len(), lim.OrDefaults().MaxPoints; n > max {
		return fmt.Errorf("%w: %s frame of %q has %d points, more than %d", pns.ErrOversized, what, f.Area, n, max)
	}
	return nil
}

// toXYZP wraps the arrays of p without copying them.
func toXYZP(p *pns.Points) *brainv1.XYZP {
	return &brainv1.XYZP{X: p.X, Y: p.Y, Z: p.Z, P: p.P}
}
