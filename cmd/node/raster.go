package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/internal/raster"
)

func init() {
	register("raster", command{
		summary: "draw a spike record as a raster plot (SVG or PNG) and print per-area firing rates",
		run:     runRaster,
	})
}

func rasterUsage(w io.Writer, fl *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: node raster --record FILE --out FILE.svg|FILE.png [--genome G] [--from B] [--to B]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Draws the record that node run --record wrote: bursts across, one band per area (named")
	fmt.Fprintln(w, "when --genome is given, which also draws the silent areas), one mark per fire, and each")
	fmt.Fprintln(w, "area's firing rate beside its band. Long records and large areas are binned: a mark then")
	fmt.Fprintln(w, "stands for several bursts or neurons and is darker the more of them fired. The rates are")
	fmt.Fprintln(w, "printed as a table on stdout (in Hz when the genome gives the burst rate).")
	fmt.Fprintln(w)
	fl.SetOutput(w)
	fl.PrintDefaults()
	fl.SetOutput(io.Discard)
}

func runRaster(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("raster", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	record := fl.String("record", "", "the spike record `FILE` (JSON lines, as node run --record writes it)")
	out := fl.String("out", "", "write the plot to `FILE`: .svg or .png")
	genome := fl.String("genome", "", "genome `FILE` or embedded genome name the record was run on: area names, sizes and the burst rate")
	limits := addLimitFlags(fl)
	from := fl.Uint64("from", 0, "first burst `B` to draw (default: the record's first)")
	to := fl.Uint64("to", 0, "last burst `B` to draw (default: the record's last)")
	maxLine := fl.Int("max-line", raster.DefaultMaxLine, "refuse record lines longer than `BYTES`")
	fl.Usage = func() { rasterUsage(fl.Output(), fl) }
	pos, code, ok := parseArgs(fl, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		usageError(stderr, "raster", fmt.Sprintf("unexpected argument %q", pos[0]))
		return 2
	}
	if *record == "" || *out == "" {
		fmt.Fprintln(stderr, "node raster: --record FILE and --out FILE are required")
		fmt.Fprintln(stderr)
		rasterUsage(stderr, fl)
		return 2
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if ext != ".svg" && ext != ".png" {
		fmt.Fprintf(stderr, "node raster: --out %s: the name must end in .svg or .png\n", *out)
		return 2
	}
	if *to != 0 && *from > *to {
		fmt.Fprintf(stderr, "node raster: --from %d is after --to %d\n", *from, *to)
		return 2
	}
	if *maxLine <= 0 {
		fmt.Fprintf(stderr, "node raster: --max-line %d: want a positive number of bytes\n", *maxLine)
		return 2
	}

	opt := raster.Options{From: *from, To: *to, Title: "spike raster of " + filepath.Base(*record)}
	if *genome != "" {
		data, err := limits.readGenome(*genome)
		if err != nil {
			fmt.Fprintf(stderr, "node raster: %v\n", err)
			return 1
		}
		plan, err := cortical.Load(data, *genome, limits.options(cortical.Options{}))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		opt.Areas = rasterAreas(plan)
		opt.BurstRateHz = plan.Genome.BurstRateHz
		opt.Title += " (genome " + filepath.Base(*genome) + ")"
	}
	p, err := raster.New(opt)
	if err != nil {
		fmt.Fprintf(stderr, "node raster: %v\n", err)
		return 1
	}
	if err := rasterRead(*record, *maxLine, p); err != nil {
		if errors.Is(err, raster.ErrLineTooLong) {
			fmt.Fprintf(stderr, "node raster: %v (raise it with --max-line)\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "node raster: %v\n", err)
		return 1
	}
	if err := rasterWrite(*out, ext, p); err != nil {
		fmt.Fprintf(stderr, "node raster: %v\n", err)
		return 1
	}
	lo, hi := p.Range()
	fmt.Fprintf(stdout, "wrote %s: bursts %d to %d, %d in the record\n\n", *out, lo, hi, p.Bursts())
	writeRates(stdout, p.Rates(), opt.BurstRateHz > 0)
	return 0
}

// rasterAreas lists the areas of a grown brain for the plot, labelled with
// their name beside the ID the genome gives them.
func rasterAreas(plan *cortical.Plan) []raster.Area {
	out := make([]raster.Area, len(plan.Areas))
	for i := range plan.Areas {
		a := &plan.Areas[i]
		id := a.LegacyID
		if id == "" {
			id = raster.DefaultLabel(a.ID.String())
		}
		label := id
		if a.Name != "" {
			label = a.Name + " " + id
		}
		out[i] = raster.Area{ID: a.ID.String(), Label: label, Neurons: a.Neurons()}
	}
	return out
}

func rasterRead(path string, maxLine int, p *raster.Plot) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := raster.NewReader(bufio.NewReaderSize(f, 1<<20), path, maxLine)
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.Past(l.Burst) {
			return nil
		}
		if err := p.Add(l); err != nil {
			return fmt.Errorf("record %s line %d: %w", path, r.Line(), err)
		}
	}
}

func rasterWrite(path, ext string, p *raster.Plot) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if ext == ".png" {
		err = p.WritePNG(w)
	} else {
		err = p.WriteSVG(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeRates(w io.Writer, rates []raster.Rate, hz bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "area\tneurons\tfires\tfires/burst\tfires/neuron/burst\t"
	if hz {
		head += "Hz\t"
	}
	fmt.Fprintln(tw, head+"id")
	for _, r := range rates {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4g\t%.4g\t", r.Label, r.Neurons, r.Fires, r.PerBurst, r.PerNeuron)
		if hz {
			fmt.Fprintf(tw, "%.4g\t", r.Hz)
		}
		fmt.Fprintln(tw, r.ID)
	}
	tw.Flush()
}
