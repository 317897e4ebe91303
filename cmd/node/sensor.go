package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

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

// redact hides the credentials of the NATS URL in err's text.
func (n *natsFlags) redact(err error) error {
	if err == nil || !strings.Contains(err.Error(), n.url) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), n.url, brain.RedactURL(n.url)))
}

const sensorUsage = `Usage: node sensor send --area ID (--points "x,y,z,p ..." | --file F | x,y,z,p ...) [flags]

Sends one sensor frame (a list of XYZP points) to area ID of a running brain
on <prefix>.<brain>.sensor.<area>. ID is the canonical base64 cortical ID, its
subject-safe token (base64 URL alphabet, no padding), or the ID as written in
the genome. Points are x,y,z,p with x, y, z voxel coordinates inside the area
and p the potential added to the neuron as-is; the latest frame per area wins
per burst. --file reads points from a file ("-" for stdin): a JSON array
[[x,y,z,p], ...] or one x,y,z,p per line ('#' starts a comment).

Flags:
`

func runSensor(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "send" {
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			fmt.Fprintf(stderr, "node sensor: unknown subcommand %q\n", args[0])
			sensorFlags(stderr, new(sensorOptions)).Usage()
			return 2
		}
		fs := sensorFlags(stdout, new(sensorOptions))
		fs.Usage()
		return 0
	}
	var o sensorOptions
	fs := sensorFlags(stderr, &o)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := sendSensor(&o, fs.Args(), stdout); err != nil {
		fmt.Fprintf(stderr, "node sensor send: %v\n", err)
		return 1
	}
	return 0
}

type sensorOptions struct {
	nats   natsFlags
	area   string
	points []string
	file   string
	max    *sizeValue // --max-file-size
	burst  uint64
	format string
	quiet  bool
}

func sensorFlags(out io.Writer, o *sensorOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("sensor send", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sensorUsage)
		fs.PrintDefaults()
	}
	o.nats.register(fs)
	fs.StringVar(&o.area, "area", "", "area to send to (required)")
	fs.Func("points", "points \"x,y,z,p x,y,z,p ...\" (repeatable)", func(s string) error {
		o.points = append(o.points, s)
		return nil
	})
	fs.StringVar(&o.file, "file", "", "read points from this file (JSON [[x,y,z,p],...] or x,y,z,p lines; - for stdin)")
	o.max = addFileSizeFlag(fs)
	fs.Uint64Var(&o.burst, "burst", 0, "burst the frame is meant for (0: the next; proto format only)")
	fs.StringVar(&o.format, "format", "proto", "wire format: proto or feagi (FEAGI byte container v4)")
	fs.BoolVar(&o.quiet, "quiet", false, "print nothing on success")
	return fs
}

func sendSensor(o *sensorOptions, rest []string, stdout io.Writer) error {
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
		return o.nats.redact(err)
	}
	defer c.Close()
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
		token, _ := pns.AreaToken(o.area)
		fmt.Fprintf(stdout, "sent %d points to %s (%s)\n", pts.Len(), o.nats.subjects.Sensor(token), format)
	}
	return nil
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
