package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/internal/capread"
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
	Estimate *inspectEstimate `json:"estimate"`
	Warnings []string         `json:"warnings"`
}

// inspectEstimate is the size of the brain estimated before growing, with
// the limits it was checked against.
type inspectEstimate struct {
	Neurons  int64              `json:"neurons"`
	Synapses int64              `json:"synapses"`
	Bytes    int64              `json:"bytes"`
	Pairs    int64              `json:"pairs"`
	Limits   inspectLimits      `json:"limits"`
	Rules    []inspectRuleEstim `json:"rules"`
	Refused  string             `json:"refused,omitempty"` // the refusal, when a limit is passed
}

type inspectLimits struct {
	Neurons  int64 `json:"neurons"`
	Synapses int64 `json:"synapses"`
	Bytes    int64 `json:"bytes"`
	Pairs    int64 `json:"pairs"`
}

type inspectRuleEstim struct {
	Src        string `json:"src"`
	Dst        string `json:"dst"`
	Rule       int    `json:"rule"`
	Morphology string `json:"morphology"`
	Synapses   int64  `json:"synapses"`
	Pairs      int64  `json:"pairs"`
	Bytes      int64  `json:"bytes"`
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
	genome := fl.String("genome", "", "genome `FILE`, or the name of an embedded genome (e.g. "+genomes.Default+")")
	asJSON := fl.Bool("json", false, "print one JSON object instead of tables")
	seed := fl.String("seed", "", "seed of every random choice of growth (default: derived from the genome's content)")
	precision := fl.String("precision", "", "override the genome's precision (fp32 or int8)")
	quiet := fl.Bool("quiet", false, "no progress on the terminal")
	limits := addLimitFlags(fl)
	fl.Usage = func() {
		w := fl.Output()
		fmt.Fprintln(w, "Usage: node inspect [--genome] FILE|NAME [--json] [--seed S] [--precision P] [--quiet] [--max-... limits]")
		fmt.Fprintln(w, "\nGrows the brain of a genome and lists its areas, neurons and synapses per area and")
		fmt.Fprintln(w, "per mapping rule, with the loader's warnings and the size estimated before growing")
		fmt.Fprintln(w, "(neurons, synapses, memory, candidate pairs). Exit status 1 when the genome does not")
		fmt.Fprintln(w, "load or passes a limit; the estimate is still shown. SIGINT stops a long growth.")
		fmt.Fprintln(w)
		fl.PrintDefaults()
		fmt.Fprintf(w, "\nEmbedded genomes: %v\n", genomes.Names())
	}
	pos, code, ok := parseArgs(fl, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) == 1 && *genome == "" {
		*genome = pos[0] // node inspect GENOME
	} else if len(pos) > 0 {
		usageError(stderr, "inspect", fmt.Sprintf("unexpected argument %q", pos[0]))
		return 2
	}
	if *genome == "" {
		usageError(stderr, "inspect", "--genome FILE is required")
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
	name := *genome
	data, err := limits.readGenome(name)
	if err != nil {
		fmt.Fprintf(stderr, "node inspect: %v\n", err)
		return 1
	}
	opts = limits.options(opts)
	var progress *inspectProgress
	if !*quiet && inspectIsTerminal(stderr) {
		progress = &inspectProgress{w: stderr}
		opts.Progress = progress.report
		opts.WorkProgress = progress.work
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	plan, err := cortical.LoadContext(ctx, data, name, opts)
	progress.done()
	var refused *cortical.LimitError
	if errors.As(err, &refused) && refused.Estimate != nil {
		est := newInspectEstimate(refused.Estimate, opts, err)
		if *asJSON {
			inspectJSON(stdout, stderr, struct {
				Estimate *inspectEstimate `json:"estimate"`
			}{est})
		} else {
			writeInspectEstimate(stdout, est)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep := newInspectReport(plan)
	rep.Estimate = newInspectEstimate(plan.Estimate, opts, nil)
	if *asJSON {
		return inspectJSON(stdout, stderr, rep)
	}
	writeInspectTables(stdout, name, plan, rep)
	return 0
}

func inspectJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "node inspect: %v\n", err)
		return 1
	}
	return 0
}

// newInspectEstimate reports an estimate with the limits of opts; refused
// is the refusal, nil when the genome grew.
func newInspectEstimate(e *cortical.Estimate, opts cortical.Options, refused error) *inspectEstimate {
	pick := func(v, def int64) int64 {
		if v > 0 {
			return v
		}
		return def
	}
	out := &inspectEstimate{Neurons: e.Neurons, Synapses: e.Synapses, Bytes: e.Bytes, Pairs: e.Pairs,
		Limits: inspectLimits{
			Neurons:  pick(opts.MaxNeurons, cortical.DefaultMaxNeurons),
			Synapses: pick(opts.MaxSynapses, cortical.DefaultMaxSynapses),
			Bytes:    pick(opts.MaxMemory, cortical.DefaultMaxMemory),
			Pairs:    pick(opts.MaxPairs, cortical.DefaultMaxPairs),
		},
		Rules: make([]inspectRuleEstim, len(e.Rules)),
	}
	if refused != nil {
		out.Refused = refused.Error()
	}
	for i, r := range e.Rules {
		out.Rules[i] = inspectRuleEstim{Src: r.SrcName, Dst: r.DstName, Rule: r.Rule, Morphology: r.Morphology,
			Synapses: r.Synapses, Pairs: r.Pairs, Bytes: r.Bytes}
	}
	return out
}

// writeInspectEstimate prints the estimate of a refused genome: totals,
// limits and the rules up to the one that passes a limit.
func writeInspectEstimate(w io.Writer, e *inspectEstimate) {
	writeEstimateTotals(w, e)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "src\tdst\trule\tmorphology\test. synapses\tpairs\tbytes")
	for _, r := range e.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", r.Src, r.Dst, r.Rule, r.Morphology, r.Synapses, r.Pairs, capread.FormatSize(r.Bytes))
	}
	tw.Flush()
}

func writeEstimateTotals(w io.Writer, e *inspectEstimate) {
	fmt.Fprintf(w, "estimate   %d neurons, %d synapses, %s, %d candidate pairs\n", e.Neurons, e.Synapses, capread.FormatSize(e.Bytes), e.Pairs)
	fmt.Fprintf(w, "limits     %d neurons, %d synapses, %s, %d candidate pairs\n", e.Limits.Neurons, e.Limits.Synapses,
		capread.FormatSize(e.Limits.Bytes), e.Limits.Pairs)
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
	fmt.Fprintf(w, "totals     %d areas, %d neurons, %d synapses\n", rep.Totals.Areas, rep.Totals.Neurons, rep.Totals.Synapses)
	writeEstimateTotals(w, rep.Estimate)
	fmt.Fprintln(w)

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
		fmt.Fprintln(tw, "src\tdst\trule\tmorphology\tsynapses\test. synapses\tpairs\test. bytes\tplastic")
		plastic := map[[2]int]string{}
		for _, c := range p.Connections {
			if c.Plasticity != nil {
				plastic[[2]int{c.Src, c.Dst}] = fmt.Sprintf("window %d, ltp %d, ltd %d", c.Plasticity.Window, c.Plasticity.LTP, c.Plasticity.LTD)
			}
		}
		for i, r := range p.Rules {
			e := rep.Estimate.Rules[i]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", inspectAreaLabel(p, r.Src), inspectAreaLabel(p, r.Dst), r.Rule, r.Morphology,
				r.Synapses, e.Synapses, e.Pairs, capread.FormatSize(e.Bytes), plastic[[2]int{r.Src, r.Dst}])
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
	w                         io.Writer
	last                      time.Time
	shown                     bool
	areas, areasTotal         int
	synapses, pairs, pairsAll int64
}

func (p *inspectProgress) report(done, total int, synapses int64) {
	p.areas, p.areasTotal, p.synapses = done, total, synapses
	p.show(done == total)
}

func (p *inspectProgress) work(done, total int64) {
	p.pairs, p.pairsAll = done, total
	p.show(false)
}

func (p *inspectProgress) show(force bool) {
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || force {
		p.last = now
		p.shown = true
		pct := 100.0
		if p.pairsAll > 0 {
			pct = 100 * float64(p.pairs) / float64(p.pairsAll)
		}
		fmt.Fprintf(p.w, "\rgrowing: %d/%d areas, %d synapses, %.0f%% of %d candidate pairs ", p.areas, p.areasTotal, p.synapses, pct, p.pairsAll)
	}
}

func (p *inspectProgress) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
