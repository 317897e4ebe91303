package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
)

func init() {
	register("motor", command{summary: "watch a running brain's motor frames over NATS (motor watch)", run: runMotor})
}

const motorUsage = `Usage: node motor watch [[--area] AREA] [--all] [--count N] [--timeout D] [flags]

Prints the motor frames of a running brain, one JSON line per frame:
{"area":"<base64 ID>","name":"<area name>","burst":n,"points":[[x,y,z,p],...]},
the voxels of the neurons an OPU area fired in that burst with their
firing-time potentials. The brain publishes a frame for every OPU area after
every burst; frames where nothing fired are skipped unless --all is given.
Without AREA, every area's frames are printed. AREA is the area's ID as the
genome writes it (o__mot, legacy 6-character IDs included), its base64 ID
(canonical or URL-safe), or its name ("Motor control"); IDs as the genome
writes them and names are looked up in the brain's table of areas, so the
brain must be running. Both protobuf and FEAGI-container motor frames are
read. Stops on SIGINT/SIGTERM, after --count printed frames, or after
--timeout. A line on stderr says when the watch has begun.

Flags:
`

type motorOptions struct {
	nats    natsFlags
	logs    logFlags
	area    string
	all     bool
	count   int
	timeout time.Duration
}

func motorFlags(out io.Writer, o *motorOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("motor watch", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), motorUsage)
		fs.PrintDefaults()
	}
	o.nats.register(fs)
	o.logs.register(fs)
	fs.StringVar(&o.area, "area", "", "watch only this area (or the first argument; default: every area)")
	fs.BoolVar(&o.all, "all", false, "print every frame, also those where nothing fired")
	fs.IntVar(&o.count, "count", 0, "exit after printing this many frames (0: no limit)")
	fs.DurationVar(&o.timeout, "timeout", 0, "exit after this long (0: no limit)")
	return fs
}

func runMotor(args []string, stdout, stderr io.Writer) int {
	if code, ok := oneSubcommand(args, "motor", "watch", stdout, stderr, func(w io.Writer) { motorFlags(w, new(motorOptions)).Usage() }); !ok {
		return code
	}
	var o motorOptions
	fs := motorFlags(stderr, &o)
	pos, code, ok := parseArgs(fs, args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if o.area == "" && len(pos) > 0 {
		o.area, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		usageError(stderr, "motor watch", fmt.Sprintf("unexpected arguments %q", pos))
		return 2
	}
	if o.count < 0 {
		usageError(stderr, "motor watch", fmt.Sprintf("--count %d: want 0 (no limit) or more", o.count))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := watchMotor(ctx, &o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "node motor watch: %v\n", err)
		return 1
	}
	return 0
}

// motorLine is the JSON form of one motor frame.
type motorLine struct {
	Area   string           `json:"area"`
	Name   string           `json:"name,omitempty"`
	Burst  uint64           `json:"burst"`
	Points [][4]json.Number `json:"points"`
}

// areaNames keeps the brain's table of areas for naming frames, asking the
// brain again (at most once a second) when a frame comes from an area it
// does not know, such as when the watch began before the brain.
type areaNames struct {
	c     *natsio.Client
	table *natsio.AreaTable
	asked time.Time
}

func (n *areaNames) fetch(ctx context.Context) error {
	n.asked = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	t, err := n.c.Areas(ctx)
	if err == nil {
		n.table = t
	}
	return err
}

func (n *areaNames) name(ctx context.Context, id string) string {
	if n.table != nil {
		if a, ok := n.table.ByID(id); ok {
			return a.Name
		}
	}
	if time.Since(n.asked) >= time.Second {
		if n.fetch(ctx) == nil {
			if a, ok := n.table.ByID(id); ok {
				return a.Name
			}
		}
	}
	return ""
}

func watchMotor(ctx context.Context, o *motorOptions, stdout, stderr io.Writer) error {
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log, err := o.logs.logger(stderr, false)
	if err != nil {
		return err
	}
	auth, err := o.nats.auth.options()
	if err != nil {
		return err
	}
	c, err := natsio.Dial(o.nats.url, o.nats.subjects, natsio.WithLogger(log), natsio.WithNATSOptions(auth...))
	if err != nil {
		return o.nats.redact(o.nats.unreachable(err))
	}
	defer c.Close()

	names := &areaNames{c: c}
	tableErr := names.fetch(ctx)
	area := o.area
	if area != "" {
		switch {
		case tableErr == nil:
			a, err := names.table.Find(area)
			if err != nil {
				return fmt.Errorf("--area: %w", err)
			}
			area = a.ID
		case errors.Is(tableErr, natsio.ErrNoBrain):
			if _, err := natsio.ContainerID(area); err != nil {
				return fmt.Errorf("--area %q: only a running brain knows this area's ID; %w", o.area, o.nats.noBrain(tableErr))
			}
		default:
			if _, err := natsio.ContainerID(area); err != nil {
				return fmt.Errorf("--area %q: asking the brain for its areas: %w", o.area, tableErr)
			}
		}
	}
	if errors.Is(tableErr, natsio.ErrNoBrain) {
		log.Warn("no brain answers yet; watching anyway", "nats", brain.RedactURL(o.nats.url), "brain", o.nats.subjects.Brain)
	}

	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	seen := 0
	var writeErr error
	sub, err := c.WatchMotor(area, func(f pns.Frame) {
		if f.Points.Len() == 0 && !o.all {
			return
		}
		line := motorLine{Area: f.Area, Burst: f.Burst, Points: make([][4]json.Number, f.Points.Len())}
		for i := range line.Points {
			line.Points[i] = [4]json.Number{u32(f.Points.X[i]), u32(f.Points.Y[i]), u32(f.Points.Z[i]), f32(f.Points.P[i])}
		}
		mu.Lock()
		defer mu.Unlock()
		if o.count > 0 && seen >= o.count {
			return
		}
		line.Name = names.name(ctx, f.Area)
		if err := enc.Encode(line); err != nil && writeErr == nil {
			writeErr = err
			cancel()
		}
		seen++
		if o.count > 0 && seen >= o.count {
			cancel()
		}
	})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.Flush(); err != nil {
		return fmt.Errorf("subscribing at %s: %w", brain.RedactURL(o.nats.url), err)
	}
	what := "every area"
	if o.area != "" {
		what = o.area
	}
	skip := "frames where nothing fired are skipped (--all prints them)"
	if o.all {
		skip = "every frame is printed"
	}
	log.Info("watching motor frames", "area", what, "nats", brain.RedactURL(o.nats.url), "note", skip)
	<-ctx.Done()
	mu.Lock()
	defer mu.Unlock()
	if writeErr != nil {
		return fmt.Errorf("writing frames: %w", writeErr)
	}
	return nil
}

func u32(v uint32) json.Number { return json.Number(strconv.FormatUint(uint64(v), 10)) }

// f32 formats a potential with the fewest digits that read back as the same
// float32; non-finite values (never published, but a foreign publisher may)
// become 0 so the line stays valid JSON.
func f32(v float32) json.Number {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return "0"
	}
	return json.Number(strconv.FormatFloat(float64(v), 'g', -1, 32))
}
