package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
)

func init() {
	register("sensor", command{summary: "send sensor frames to a running brain over NATS (sensor send)", run: runSensor})
}

// defaultNATS is where sensor and motor commands look for the brain's NATS
// server: the loopback listener of node run's embedded server.
const defaultNATS = "nats://127.0.0.1:4222"

// natsFlags are the connection flags shared by sensor send and motor watch.
type natsFlags struct {
	url      string
	subjects pns.Subjects
	auth     natsAuthFlags
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", natsURLDefault(), "NATS server URL (env "+envNATSURL+")")
	n.auth.register(fs)
	fs.StringVar(&n.subjects.Brain, "brain", pns.DefaultBrain, "name of the brain in NATS subjects")
	fs.StringVar(&n.subjects.Prefix, "subject-prefix", pns.DefaultPrefix, "first tokens of every NATS subject")
}

// unreachable adds to a connection error the hint that fits it: nothing
// listens at the URL, so the brain is not running there or not listening.
func (n *natsFlags) unreachable(err error) error {
	if errors.Is(err, nats.ErrAuthorization) {
		return fmt.Errorf("%w\nThe NATS server at %s takes only users with credentials: give --nats-creds FILE (or %s)",
			err, brain.RedactURL(n.url), envNATSCreds)
	}
	if !errors.Is(err, nats.ErrNoServers) {
		return err
	}
	return fmt.Errorf("%w\nIs the brain running? Start it with node run --genome G --nats-listen 127.0.0.1:4222"+
		" --nats-users FILE --nats-creds FILE; its log names the URL to give here as --nats (now %s)", err, brain.RedactURL(n.url))
}

// noBrain explains a request no brain answered: the NATS server is up but no
// brain of this name and prefix uses it.
func (n *natsFlags) noBrain(err error) error {
	return fmt.Errorf("%w\nThe NATS server at %s is up, but no brain named %q uses it: start the brain with"+
		" node run --nats-listen HOST:PORT and give its URL as --nats, or check --brain and --subject-prefix",
		err, brain.RedactURL(n.url), n.subjects.Brain)
}

// redact hides the credentials of the NATS URL in err's text.
func (n *natsFlags) redact(err error) error {
	if err == nil || !strings.Contains(err.Error(), n.url) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), n.url, brain.RedactURL(n.url)))
}

const sensorUsage = `Usage: node sensor send [--area] AREA [x,y,z,p ...] [--points "x,y,z,p ..."] [--file F] [flags]

Sends one sensor frame (a list of XYZP points) to an area of a running brain
on <prefix>.<brain>.sensor.<area> and reports where the brain put it: the
area and the burst the frame lands in, or why the brain refused it (no such
area, ...). AREA is the area's ID as the genome writes it (i__pro, c__lef,
legacy 6-character IDs included), its base64 ID (canonical aW1pcwoAAAA= or
URL-safe aW1pcwoAAAA), or its name ("Proximity sensor"). Points are x,y,z,p
with x, y, z voxel coordinates inside the area and p the potential added to
the neuron as-is; the latest frame per area wins per burst. --file reads
points from a file ("-" for stdin): a JSON array [[x,y,z,p], ...] or one
x,y,z,p per line ('#' starts a comment). Flags may come after AREA and the
points.

The brain must listen where --nats points: start it with
  node run --genome G --nats-listen 127.0.0.1:4222
(its log names the URL). With --no-ack the frame is only published, without
waiting for the brain's answer (for brains that do not answer, or scripts
that send many frames).

Flags:
`

func runSensor(args []string, stdout, stderr io.Writer) int {
	if code, ok := oneSubcommand(args, "sensor", "send", stdout, stderr, func(w io.Writer) { sensorFlags(w, new(sensorOptions)).Usage() }); !ok {
		return code
	}
	var o sensorOptions
	fs := sensorFlags(stderr, &o)
	pos, code, ok := parseArgs(fs, args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if o.area == "" && len(pos) > 0 {
		o.area, pos = pos[0], pos[1:]
	}
	if o.area == "" {
		usageError(stderr, "sensor send", "name the area: node sensor send AREA (or --area AREA)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := sendSensor(ctx, &o, pos, stdout); err != nil {
		fmt.Fprintf(stderr, "node sensor send: %v\n", err)
		return 1
	}
	return 0
}

type sensorOptions struct {
	nats    natsFlags
	area    string
	points  []string
	file    string
	max     *sizeValue // --max-file-size
	burst   uint64
	format  string
	quiet   bool
	noAck   bool
	timeout time.Duration
}

func sensorFlags(out io.Writer, o *sensorOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("sensor send", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sensorUsage)
		fs.PrintDefaults()
	}
	o.nats.register(fs)
	fs.StringVar(&o.area, "area", "", "area to send to (or the first argument)")
	fs.Func("points", "points \"x,y,z,p x,y,z,p ...\" (repeatable)", func(s string) error {
		o.points = append(o.points, s)
		return nil
	})
	fs.StringVar(&o.file, "file", "", "read points from this file (JSON [[x,y,z,p],...] or x,y,z,p lines; - for stdin)")
	o.max = addFileSizeFlag(fs)
	fs.Uint64Var(&o.burst, "burst", 0, "burst the frame is meant for (0: the next; proto format only)")
	fs.StringVar(&o.format, "format", "proto", "wire format: proto or feagi (FEAGI byte container v4)")
	fs.BoolVar(&o.quiet, "quiet", false, "print nothing on success")
	fs.BoolVar(&o.noAck, "no-ack", false, "publish without waiting for the brain's acknowledgement")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the brain's acknowledgement")
	return fs
}

func sendSensor(ctx context.Context, o *sensorOptions, rest []string, stdout io.Writer) error {
	if o.area == "" {
		return errors.New("--area is required")
	}
	format, err := natsio.ParseFormat(o.format)
	if err != nil {
		return err
	}
	var pts pns.Points
	for _, s := range append(o.points, rest...) {
		if err := parsePointList(&pts, s, "--points"); err != nil {
			return err
		}
	}
	if o.file != "" {
		if err := readPointsFile(&pts, o.file, int64(*o.max)); err != nil {
			return err
		}
	}
	auth, err := o.nats.auth.options()
	if err != nil {
		return err
	}
	c, err := natsio.Dial(o.nats.url, o.nats.subjects, natsio.WithFormat(format), natsio.WithNATSOptions(auth...))
	if err != nil {
		return o.nats.redact(o.nats.unreachable(err))
	}
	defer c.Close()
	if o.noAck {
		if err := c.SendSensorAt(o.area, o.burst, pts); err != nil {
			return err
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("flushing to %s: %w", brain.RedactURL(o.nats.url), err)
		}
		if err := c.Conn().LastError(); err != nil {
			return err // a permission the server refused
		}
		if !o.quiet {
			token, err := pns.AreaToken(o.area)
			if err != nil {
				token = pns.AnyToken
			}
			fmt.Fprintf(stdout, "sent %d points to %s (%s)\n", pts.Len(), o.nats.subjects.Sensor(token), format)
		}
		return nil
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	area := o.area
	if _, err := natsio.ContainerID(area); err != nil && format == natsio.FormatFEAGI {
		// A FEAGI container carries the 8-byte ID: ask the brain for it.
		t, terr := c.Areas(ctx)
		if errors.Is(terr, natsio.ErrNoBrain) {
			return o.nats.noBrain(terr)
		} else if terr != nil {
			return fmt.Errorf("asking the brain for the ID of %q: %w", area, terr)
		}
		a, ferr := t.Find(area)
		if ferr != nil {
			return ferr
		}
		area = a.ID
	}
	ack, err := c.RequestSensor(ctx, area, o.burst, pts)
	switch {
	case errors.Is(err, natsio.ErrNoBrain):
		return o.nats.noBrain(err)
	case errors.Is(err, pns.ErrUnknownArea):
		if t, terr := c.Areas(ctx); terr == nil {
			if _, ferr := t.Find(o.area); ferr != nil {
				return fmt.Errorf("the brain refused the frame: %w", ferr)
			}
		}
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no acknowledgement from the brain within %v (is it overloaded? --timeout waits longer, --no-ack does not wait): %w", o.timeout, err)
	case err != nil:
		return err
	}
	if !o.quiet {
		for _, f := range ack.Frames {
			label := f.Area
			if f.Name != "" {
				label = fmt.Sprintf("%q (%s)", f.Name, f.Area)
			}
			fmt.Fprintf(stdout, "sent %s to %s: lands in burst %d\n", plural(f.Points+f.Dropped, "point"), label, f.Burst)
			if f.Dropped > 0 {
				fmt.Fprintf(stdout, "  %d of them dropped: outside the area, or p = 0\n", f.Dropped)
			}
		}
	}
	return nil
}

// plural returns "1 point", "2 points".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// parsePointList appends the points of s: x,y,z,p groups separated by
// whitespace or ';'.
func parsePointList(pts *pns.Points, s, where string) error {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		parts := strings.Split(f, ",")
		if len(parts) != 4 {
			return fmt.Errorf("%s: point %q: want x,y,z,p", where, f)
		}
		if err := appendPoint(pts, parts[0], parts[1], parts[2], parts[3]); err != nil {
			return fmt.Errorf("%s: point %q: %w", where, f, err)
		}
	}
	return nil
}

func appendPoint(pts *pns.Points, xs, ys, zs, ps string) error {
	var c [3]uint32
	for i, s := range [3]string{xs, ys, zs} {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return fmt.Errorf("coordinate %q is not a voxel index (a non-negative integer)", s)
		}
		c[i] = uint32(v)
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(ps), 32)
	if err != nil {
		return fmt.Errorf("potential %q is not a number", ps)
	}
	pts.Append(c[0], c[1], c[2], float32(p))
	return nil
}

// readPointsFile reads a JSON array of [x,y,z,p] or x,y,z,p lines.
// At most maxBytes are read (--max-file-size).
func readPointsFile(pts *pns.Points, name string, maxBytes int64) error {
	data, err := readCapped(name, maxBytes, flagMaxFileSize)
	if err != nil {
		return fmt.Errorf("reading points: %w", err)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		var rows [][]json.Number
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.UseNumber()
		if err := dec.Decode(&rows); err != nil {
			return fmt.Errorf("%s: want a JSON array of [x,y,z,p]: %w", name, err)
		}
		for i, r := range rows {
			if len(r) != 4 {
				return fmt.Errorf("%s: point %d has %d values, want [x,y,z,p]", name, i, len(r))
			}
			if err := appendPoint(pts, r[0].String(), r[1].String(), r[2].String(), r[3].String()); err != nil {
				return fmt.Errorf("%s: point %d: %w", name, i, err)
			}
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		if err := parsePointList(pts, text, fmt.Sprintf("%s:%d", name, line)); err != nil {
			return err
		}
	}
	return sc.Err()
}
