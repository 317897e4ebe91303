package natsio

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/pns"
)

// MotorPublisher publishes the motor frames of a brain's areas: after each
// burst, the voxels of the neurons an area fired with their firing-time
// potentials, stamped with the burst (docs/semantics.md §6.2). Publish is safe for
// concurrent use; calls for different areas do not contend.
type MotorPublisher struct {
	nc      *nats.Conn
	format  Format
	session [8]byte
	areas   []motorArea
}

// motorArea holds one area's subject and reusable buffers.
type motorArea struct {
	mu      sync.Mutex
	area    pns.Area
	name    string // canonical base64 ID
	subject string
	frame   pns.Frame
	one     [1]pns.AreaPoints // the container's single area
	buf     []byte
	msg     nats.Msg
}

// NewMotorPublisher returns a publisher for areas (indexed like the brain
// plan; Publish takes that index). Options used: WithFormat, WithSession.
func NewMotorPublisher(nc *nats.Conn, subjects pns.Subjects, areas []pns.Area, opts ...Option) (*MotorPublisher, error) {
	if err := subjects.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	p := &MotorPublisher{nc: nc, format: o.format, session: o.session, areas: make([]motorArea, len(areas))}
	for i, a := range areas {
		m := &p.areas[i]
		m.area = a
		m.name = a.ID.String()
		m.subject = subjects.Motor(a.ID.Token())
		m.frame.Area = m.name
		m.one[0].ID = a.ID
		if p.format == FormatFEAGI {
			m.msg = nats.Msg{Subject: m.subject, Header: nats.Header{}}
		}
	}
	return p, nil
}

// Publish sends the motor frame of area (an index) for burst: fired are the
// local indices of the neurons that fired, potentials their firing-time
// potentials (parallel to fired). An area that fired nothing publishes an
// empty frame. Errors name the area and burst: an index out of range,
// slices of different lengths, a neuron outside the area, or NATS refusing
// the message (connection closed, payload over the server's maximum).
func (p *MotorPublisher) Publish(burst uint64, area int, fired []uint32, potentials []float32) error {
	if area < 0 || area >= len(p.areas) {
		return fmt.Errorf("natsio: motor frame of burst %d: area index %d out of range [0, %d)", burst, area, len(p.areas))
	}
	m := &p.areas[area]
	if len(fired) != len(potentials) {
		return fmt.Errorf("natsio: motor frame of %s, burst %d: %d fired neurons but %d potentials", m.name, burst, len(fired), len(potentials))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frame.Burst = burst
	pts := &m.frame.Points
	pts.Reset()
	g := m.area.Geometry
	for k, local := range fired {
		x, y, z, ok := g.Voxel(local)
		if !ok {
			return fmt.Errorf("natsio: motor frame of %s, burst %d: neuron %d outside the area's %d neurons", m.name, burst, local, g.Neurons())
		}
		pts.Append(x, y, z, potentials[k])
	}
	var err error
	switch p.format {
	case FormatFEAGI:
		h := pns.ContainerHeader{Counter: uint16(burst), Session: p.session}
		m.one[0].Points = *pts
		m.buf, err = pns.AppendContainer(m.buf[:0], h, m.one[:])
		if err == nil {
			m.msg.Data = m.buf
			m.msg.Header.Set(BurstHeader, strconv.FormatUint(burst, 10))
			err = p.nc.PublishMsg(&m.msg)
		}
	default:
		m.buf, err = AppendMotorFrame(m.buf[:0], &m.frame)
		if err == nil {
			err = p.nc.Publish(m.subject, m.buf)
		}
	}
	if err != nil {
		return fmt.Errorf("natsio: motor frame of %s, burst %d on %s: %w", m.name, burst, m.subject, err)
	}
	return nil
}
