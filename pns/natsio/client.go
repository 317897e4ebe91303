package natsio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/pns"
)

// Client sends sensor frames to a brain and watches its motor frames, for
// programs that attach to spikemesh over NATS.
type Client struct {
	nc       *nats.Conn
	own      bool // Close closes nc
	subjects pns.Subjects
	o        options
	log      *rateLog

	mu      sync.Mutex
	counter uint16 // FEAGI container increment counter
	buf     []byte
}

// Connect is nats.Connect, tried again (up to three times in all) when the
// server's first keep-alive PING overtook its answer to the client's
// handshake, which happens when checking the credentials took the server
// longer than its first ping interval (a loaded machine, bcrypt).
//
// The handshake may take up to 10s unless opts set another nats.Timeout
// (nats.go's default of 2s is short for a credential check on a loaded
// machine).
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	var nc *nats.Conn
	var err error
	opts = append([]nats.Option{nats.Timeout(10 * time.Second)}, opts...)
	for range 3 {
		if nc, err = nats.Connect(url, opts...); err == nil || !strings.Contains(err.Error(), "expected 'PONG'") {
			break
		}
	}
	return nc, err
}

// Dial connects to the NATS server at url (e.g. nats://127.0.0.1:4222) and
// returns a client of the brain named by subjects; Close closes the
// connection. Options used: WithFormat, WithSession, WithLimits, WithLogger,
// WithLogInterval, WithPendingLimits, WithNATSOptions.
func Dial(url string, subjects pns.Subjects, opts ...Option) (*Client, error) {
	nc, err := Connect(url, append([]nats.Option{nats.Name("spikemesh-client")}, buildOptions(opts).natsOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsio: connecting to %s: %w", url, err)
	}
	c, err := NewClient(nc, subjects, opts...)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.own = true
	return c, nil
}

// NewClient returns a client using an existing connection; Close leaves the
// connection open.
func NewClient(nc *nats.Conn, subjects pns.Subjects, opts ...Option) (*Client, error) {
	if err := subjects.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	return &Client{nc: nc, subjects: subjects, o: o, log: newRateLog(o.log, o.logEvery)}, nil
}

// Conn returns the client's NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// SendSensor sends points as the sensor frame of area for the next burst.
// area is a canonical base64 ID, its token form, the ID as written in the
// genome, or the area's name.
func (c *Client) SendSensor(area string, points pns.Points) error {
	return c.SendSensorAt(area, 0, points)
}

// SendSensorAt sends points as the sensor frame of area for a given burst
// (0: the next one). The brain holds a frame stamped for a later burst until
// that burst, unless a newer frame of the area replaces it. FEAGI containers
// carry no burst stamp, so with FormatFEAGI burst must be 0.
func (c *Client) SendSensorAt(area string, burst uint64, points pns.Points) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	subject, err := c.encodeSensor(area, burst, points)
	if err != nil {
		return err
	}
	if err := c.nc.Publish(subject, c.buf); err != nil {
		return fmt.Errorf("natsio: sending sensor frame of %q on %s: %w", area, subject, err)
	}
	return nil
}

// ErrNoBrain is wrapped by the errors of requests that no brain answered:
// nothing subscribes to the subject on this NATS server (no brain runs
// there, or it runs under another --brain or --subject-prefix).
var ErrNoBrain = errors.New("no brain answers")

// RequestSensor sends a sensor frame like SendSensorAt, as a NATS request,
// and returns the brain's acknowledgement: where the frame landed or why it
// was refused. A refusal returns the ack and an error wrapping the pns error
// of its kind (pns.ErrUnknownArea, ...); no answer returns an error wrapping
// ErrNoBrain, or the context's error when the brain does not answer in time.
// Besides the forms SendSensorAt takes, area may be the area's name.
func (c *Client) RequestSensor(ctx context.Context, area string, burst uint64, points pns.Points) (*Ack, error) {
	c.mu.Lock()
	subject, err := c.encodeSensor(area, burst, points)
	data := slices.Clone(c.buf)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	m, err := c.nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return nil, c.requestError(subject, err)
	}
	var ack Ack
	if err := json.Unmarshal(m.Data, &ack); err != nil {
		return nil, fmt.Errorf("natsio: the answer on %s is not an acknowledgement: %w", subject, err)
	}
	return &ack, ack.Err()
}

// Areas asks the brain for its table of areas (see ServeAreas).
func (c *Client) Areas(ctx context.Context) (*AreaTable, error) {
	subject := c.subjects.Areas()
	m, err := c.nc.RequestWithContext(ctx, subject, nil)
	if err != nil {
		return nil, c.requestError(subject, err)
	}
	var t AreaTable
	if err := json.Unmarshal(m.Data, &t); err != nil {
		return nil, fmt.Errorf("natsio: the answer on %s is not an area table: %w", subject, err)
	}
	return &t, nil
}

func (c *Client) requestError(subject string, err error) error {
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("natsio: %w on %s", ErrNoBrain, subject)
	}
	return fmt.Errorf("natsio: request on %s: %w", subject, err)
}

// encodeSensor encodes a sensor frame into c.buf and returns its subject;
// c.mu must be held. An area named in a way that cannot be a subject token
// (a name with spaces) goes on the token pns.AnyToken, named in the frame.
func (c *Client) encodeSensor(area string, burst uint64, points pns.Points) (string, error) {
	token, err := pns.AreaToken(area)
	if err != nil {
		if c.o.format == FormatFEAGI || area == "" {
			return "", err
		}
		token = pns.AnyToken
	}
	switch c.o.format {
	case FormatFEAGI:
		if burst != 0 {
			return "", fmt.Errorf("natsio: sensor frame of %q for burst %d: FEAGI containers carry no burst stamp", area, burst)
		}
		id, err := ContainerID(area)
		if err != nil {
			return "", err
		}
		c.counter++
		h := pns.ContainerHeader{Counter: c.counter, Session: c.o.session}
		c.buf, err = pns.AppendContainer(c.buf[:0], h, []pns.AreaPoints{{ID: id, Points: points}})
		if err != nil {
			return "", err
		}
	default:
		c.buf, err = AppendSensorFrame(c.buf[:0], &pns.Frame{Area: area, Burst: burst, Points: points})
		if err != nil {
			return "", err
		}
	}
	return c.subjects.Sensor(token), nil
}

// ContainerID returns the 8-byte ID a FEAGI container carries for an area
// name: a base64 ID or token decoded; an ASCII name of 8 bytes as is; a
// shorter one right-padded with '_' (docs/semantics.md §5.4) unless it starts with 'i', 'o'
// or '_' (legacy sensor, motor and core IDs whose 8-byte form depends on the
// genome: give those in canonical base64).
func ContainerID(area string) (pns.ID, error) {
	if id, err := pns.ParseID(area); err == nil {
		return id, nil
	}
	var id pns.ID
	if len(area) == 0 || len(area) > len(id) {
		return id, fmt.Errorf("natsio: area %q has no 8-byte FEAGI ID; give the canonical base64 ID", area)
	}
	for i := 0; i < len(area); i++ {
		if area[i] < 0x21 || area[i] > 0x7e {
			return id, fmt.Errorf("natsio: area %q is not printable ASCII; give the canonical base64 ID", area)
		}
	}
	if len(area) < len(id) && (area[0] == 'i' || area[0] == 'o' || area[0] == '_') {
		return id, fmt.Errorf("natsio: legacy area ID %q maps to 8 bytes through the genome; give the canonical base64 ID", area)
	}
	copy(id[:], area)
	for i := len(area); i < len(id); i++ {
		id[i] = '_'
	}
	return id, nil
}

// WatchMotor calls handler with every motor frame of area ("" for every
// area), in both encodings. Motor subjects carry the canonical ID, so area is
// a base64 ID or token, or a name whose 8 bytes follow from it (see
// ContainerID); legacy IDs such as "omot00" and names must be given in
// base64 (AreaTable.Find resolves them with the brain's table). Each call
// gets its own Frame (its arrays are the handler's to keep). Undecodable messages are skipped and logged with a
// rate limit. Handler calls are serialized; stop with the returned
// subscription's Unsubscribe or Drain.
func (c *Client) WatchMotor(area string, handler func(pns.Frame)) (*nats.Subscription, error) {
	subject := c.subjects.MotorAll()
	if area != "" {
		id, err := ContainerID(area)
		if err != nil {
			return nil, fmt.Errorf("natsio: motor subjects use canonical IDs: %w", err)
		}
		subject = c.subjects.Motor(id.Token())
	}
	sub, err := c.nc.Subscribe(subject, func(m *nats.Msg) {
		if err := decodeMotor(m, c.o.limits, handler); err != nil {
			k, _ := pns.KindOf(err)
			c.log.report(k, m.Subject, err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("natsio: subscribing to %s: %w", subject, err)
	}
	if err := sub.SetPendingLimits(c.o.pendingMsgs, c.o.pendingBytes); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("natsio: pending limits of %s: %w", subject, err)
	}
	return sub, nil
}

// decodeMotor decodes a motor message in either encoding and calls handler
// once per area in it.
func decodeMotor(m *nats.Msg, lim pns.Limits, handler func(pns.Frame)) error {
	if !pns.IsContainer(m.Data) {
		var f pns.Frame
		if err := DecodeMotorFrame(m.Data, lim, &f); err != nil {
			return err
		}
		handler(f)
		return nil
	}
	h, areas, err := pns.DecodeContainer(m.Data, lim, nil)
	if err != nil {
		return err
	}
	burst := uint64(h.Counter)
	if v := m.Header.Get(BurstHeader); v != "" {
		b, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: header %s: %q is not a burst number", pns.ErrMalformed, BurstHeader, v)
		}
		burst = b
	}
	for _, a := range areas {
		handler(pns.Frame{Area: a.ID.String(), Burst: burst, Points: a.Points})
	}
	return nil
}

// Flush waits until the server has processed everything sent so far.
func (c *Client) Flush() error { return c.nc.Flush() }

// Close flushes what was sent and, when the client dialled the connection,
// closes it.
func (c *Client) Close() error {
	err := c.nc.Flush()
	if c.own {
		c.nc.Close()
	}
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsio: closing client: %w", err)
	}
	return nil
}
