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

const motorUsage = `Usage: node motor watch [--area ID] [flags]

Prints the motor frames of a running brain, one JSON line per frame:
{"area":"<base64 ID>","burst":n,"points":[[x,y,z,p],...]}, the voxels of the
neurons an OPU area fired in that burst with their firing-time potentials.
Without --area, every area's frames are printed. Motor subjects carry the
canonical ID, so give legacy genome IDs (omot00, o__mot) in base64. Both
protobuf and FEAGI-container motor frames are read. Stops on SIGINT/SIGTERM,
after --count frames, or after --timeout.

Flags:
`

type motorOptions struct {
	nats    natsFlags
	logs    logFlags
	area    string
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
	fs.StringVar(&o.area, "area", "", "watch only this area (default: every area)")
	fs.IntVar(&o.count, "count", 0, "exit after this many frames (0: no limit)")
	fs.DurationVar(&o.timeout, "timeout", 0, "exit after this long (0: no limit)")
	return fs
}

func runMotor(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "watch" {
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			fmt.Fprintf(stderr, "node motor: unknown subcommand %q\n", args[0])
			motorFlags(stderr, new(motorOptions)).Usage()
			return 2
		}
		motorFlags(stdout, new(motorOptions)).Usage()
		return 0
	}
	var o motorOptions
	fs := motorFlags(stderr, &o)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "node motor watch: unexpected arguments %q\n", fs.Args())
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
	Burst  uint64           `json:"burst"`
	Points [][4]json.Number `json:"points"`
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
		return o.nats.redact(err)
	}
	defer c.Close()

	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	seen := 0
	var writeErr error
	sub, err := c.WatchMotor(o.area, func(f pns.Frame) {
		line := motorLine{Area: f.Area, Burst: f.Burst, Points: make([][4]json.Number, f.Points.Len())}
		for i := range line.Points {
			line.Points[i] = [4]json.Number{u32(f.Points.X[i]), u32(f.Points.Y[i]), u32(f.Points.Z[i]), f32(f.Points.P[i])}
		}
		mu.Lock()
		defer mu.Unlock()
		if o.count > 0 && seen >= o.count {
			return
		}
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
