package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/quant"
)

func init() {
	register("inspect", command{
		summary: "grow a genome and list its areas, neurons and synapses",
		run:     runInspect,
	})
}

// inspectReport is the --json output of node inspect.
type inspectReport struct {
	Genome struct {
		ID          string  `json:"id"`
		Title       string  `json:"title"`
		Version     string  `json:"version"`
		Precision   string  `json:"precision"`
		BurstRateHz float64 `json:"burst_rate_hz"`
	} `json:"genome"`
	Areas       []inspectArea       `json:"areas"`
	Connections []inspectConnection `json:"connections"`
	Totals      struct {
		Areas    int   `json:"areas"`
		Neurons  int64 `json:"neurons"`
		Synapses int64 `json:"synapses"`
	} `json:"totals"`
	Warnings []string `json:"warnings"`
}

type inspectArea struct {
	ID              string    `json:"id"`
	LegacyID        string    `json:"legacy_id"`
	Name            string    `json:"name"`
	Type            string    `json:"type"`
	Dims            [3]uint32 `json:"dims"`
	NeuronsPerVoxel uint32    `json:"neurons_per_voxel"`
	Neurons         uint32    `json:"neurons"`
}

type inspectConnection struct {
	Src        string `json:"src"`
	Dst        string `json:"dst"`
	Morphology string `json:"morphology"`
	Synapses   int    `json:"synapses"`
}

func runInspect(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fl.SetOutput(stderr)
	genome := fl.String("genome", "", "genome `FILE`, or the name of an embedded genome (e.g. "+genomes.Default+")")
	asJSON := fl.Bool("json", false, "print one JSON object instead of tables")
	seed := fl.String("seed", "", "seed of every random choice of growth (default: derived from the genome's content)")
	precision := fl.String("precision", "", "override the genome's precision (fp32 or int8)")
	quiet := fl.Bool("quiet", false, "no progress on the terminal")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: node inspect --genome FILE [--json] [--seed S] [--precision P] [--quiet]")
		fmt.Fprintln(stderr, "\nGrows the brain of a genome and lists its areas, neurons and synapses per area and")
		fmt.Fprintln(stderr, "per mapping rule, with the loader's warnings. Exit status 1 when the genome does not load.")
		fmt.Fprintln(stderr)
		fl.PrintDefaults()
		fmt.Fprintf(stderr, "\nEmbedded genomes: %v\n", genomes.Names())
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *genome == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "node inspect: --genome FILE is required (and takes no other arguments)")
		fl.Usage()
		return 2
	}
	var opts cortical.Options
	if *seed != "" {
		s, err := strconv.ParseUint(*seed, 0, 64)
		if err != nil {
			fmt.Fprintf(stderr, "node inspect: --seed %q: want an unsigned 64-bit integer\n", *seed)
			return 2
		}
		opts.Seed = &s
	}
	if *precision != "" {
		p, warning, err := quant.ParsePrecision(*precision)
		if err != nil {
			fmt.Fprintf(stderr, "node inspect: --precision: %v\n", err)
			return 2
		}
		if warning != "" {
			fmt.Fprintf(stderr, "node inspect: %s\n", warning)
		}
		opts.Precision = &p
	}
	data, name, err := inspectReadGenome(*genome)
	if err != nil {
		fmt.Fprintf(stderr, "node inspect: %v\n", err)
		return 1
	}
	var progress *inspectProgress
	if !*quiet && inspectIsTerminal(stderr) {
		progress = &inspectProgress{w: stderr}
		opts.Progress = progress.report
	}
	plan, err := cortical.Load(data, name, opts)
	progress.done()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep := newInspectReport(plan)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "node inspect: %v\n", err)
			return 1
		}
		return 0
	}
	writeInspectTables(stdout, name, plan, rep)
	return 0
}

// inspectReadGenome reads a genome file, or an embedded genome when no
// file of that name exists.
func inspectReadGenome(name string) ([]byte, string, error) {
	data, err := os.ReadFile(name)
	if err == nil {
		return data, name, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, name, fmt.Errorf("genome %s: %w", name, err)
	}
	if emb, embErr := genomes.Read(name); embErr == nil {
		return emb, name, nil
	}
	return nil, name, fmt.Errorf("genome %s: no such file, nor an embedded genome (embedded: %v)", name, genomes.Names())
}

func newInspectReport(p *cortical.Plan) *inspectReport {
	rep := &inspectReport{Warnings: append([]string{}, p.Warnings...)}
	rep.Genome.ID = p.Genome.ID
	rep.Genome.Title = p.Genome.Title
	rep.Genome.Version = p.Genome.Version
	rep.Genome.Precision = p.Precision.String()
	rep.Genome.BurstRateHz = p.Genome.BurstRateHz
	rep.Areas = make([]inspectArea, len(p.Areas))
	for i := range p.Areas {
		a := &p.Areas[i]
		rep.Areas[i] = inspectArea{
			ID: a.ID.String(), LegacyID: a.LegacyID, Name: a.Name, Type: a.Kind.String(),
			Dims: a.Dims, NeuronsPerVoxel: a.PerVoxel, Neurons: a.Neurons(),
		}
	}
	rep.Connections = make([]inspectConnection, len(p.Rules))
	for i, r := range p.Rules {
		rep.Connections[i] = inspectConnection{
			Src: p.Areas[r.Src].ID.String(), Dst: p.Areas[r.Dst].ID.String(),
			Morphology: r.Morphology, Synapses: r.Synapses,
		}
	}
	rep.Totals.Areas, rep.Totals.Neurons, rep.Totals.Synapses = p.Totals()
	return rep
}

func writeInspectTables(w io.Writer, name string, p *cortical.Plan, rep *inspectReport) {
	fmt.Fprintf(w, "genome     %s (%s layout, version %s)\n", name, p.Genome.Format, p.Genome.Version)
	fmt.Fprintf(w, "id, title  %s, %s\n", p.Genome.ID, p.Genome.Title)
	fmt.Fprintf(w, "precision  %s   burst rate %.4g Hz   seed %d\n", p.Precision, p.Genome.BurstRateHz, p.Seed)
	fmt.Fprintf(w, "totals     %d areas, %d neurons, %d synapses\n\n", rep.Totals.Areas, rep.Totals.Neurons, rep.Totals.Synapses)

	in := make([]int64, len(p.Areas))
	out := make([]int64, len(p.Areas))
	for _, c := range p.Connections {
		in[c.Dst] += int64(c.Synapses())
		out[c.Src] += int64(c.Synapses())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "idx\tid\tlegacy\ttype\tdims\tn\tneurons\tfirst id\tsyn in\tsyn out\tname")
	for i := range p.Areas {
		a := &p.Areas[i]
		legacy := a.LegacyID
		if legacy == "" {
			legacy = "(added)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%dx%dx%d\t%d\t%d\t%d\t%d\t%d\t%s\n", i, a.ID, legacy, a.Kind,
			a.Dims[0], a.Dims[1], a.Dims[2], a.PerVoxel, a.Neurons(), a.FirstID, in[i], out[i], a.Name)
	}
	tw.Flush()
	if len(p.Rules) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "src\tdst\trule\tmorphology\tsynapses\tplastic")
		plastic := map[[2]int]string{}
		for _, c := range p.Connections {
			if c.Plasticity != nil {
				plastic[[2]int{c.Src, c.Dst}] = fmt.Sprintf("window %d, ltp %d, ltd %d", c.Plasticity.Window, c.Plasticity.LTP, c.Plasticity.LTD)
			}
		}
		for _, r := range p.Rules {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", inspectAreaLabel(p, r.Src), inspectAreaLabel(p, r.Dst), r.Rule, r.Morphology, r.Synapses, plastic[[2]int{r.Src, r.Dst}])
		}
		tw.Flush()
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, s := range p.Warnings {
			fmt.Fprintf(w, "warning: %s\n", s)
		}
	}
}

func inspectAreaLabel(p *cortical.Plan, i int) string {
	a := &p.Areas[i]
	if a.LegacyID != "" && a.LegacyID != a.ID.String() {
		return a.LegacyID
	}
	return a.ID.String()
}

// inspectIsTerminal reports whether w is a character device (a terminal).
func inspectIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// inspectProgress prints growth progress on one terminal line, at most ten
// times a second.
type inspectProgress struct {
	w     io.Writer
	last  time.Time
	shown bool
}

func (p *inspectProgress) report(done, total int, synapses int64) {
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || done == total {
		p.last = now
		p.shown = true
		fmt.Fprintf(p.w, "\rgrowing: %d/%d areas, %d synapses ", done, total, synapses)
	}
}

func (p *inspectProgress) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
