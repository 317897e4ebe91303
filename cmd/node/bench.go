package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// benchOptions are the flags shared by every workload of node bench.
type benchOptions struct {
	Workload  string
	Neurons   int
	Precision string
	Bursts    int
	Seed      uint64
	Fanout    int
	Areas     int
	Threads   int
	Nodes     string // node counts (cluster)
	Genome    string // genome instead of the synthetic brain (cluster)
	// Extra holds workload-specific flags as given (key=value), for workloads
	// that need more than the shared ones.
	Extra map[string]string
}

// benchWorkload runs one benchmark and emits one JSON object per result.
type benchWorkload struct {
	summary string
	run     func(o benchOptions, emit func(result any)) error
}

// benchWorkloads maps a workload name to its implementation; files register
// with init (registerBench).
var benchWorkloads = map[string]benchWorkload{}

func registerBench(name string, w benchWorkload) {
	if _, dup := benchWorkloads[name]; dup {
		panic("node: bench workload registered twice: " + name)
	}
	benchWorkloads[name] = w
}

func init() {
	register("bench", command{summary: "run a benchmark workload, one JSON object per result", run: runBench})
}

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o benchOptions
	var extra string
	fs.StringVar(&o.Workload, "workload", "", "workload name (see below)")
	fs.IntVar(&o.Neurons, "neurons", 10000, "neurons in the workload")
	fs.StringVar(&o.Precision, "precision", "fp32", "fp32 or int8")
	fs.IntVar(&o.Bursts, "bursts", 0, "bursts to time (0: the workload's default)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of every random choice")
	fs.IntVar(&o.Fanout, "fanout", 10, "outgoing synapses per neuron (lif-random)")
	fs.IntVar(&o.Areas, "areas", 16, "number of areas (actors)")
	fs.StringVar(&o.Nodes, "nodes", "1,2,3", "node counts to run, comma-separated (cluster)")
	fs.StringVar(&o.Genome, "genome", "", "run this genome instead of the synthetic brain (cluster)")
	fs.IntVar(&o.Threads, "threads", 0, "worker goroutines inside one engine (0: the fastest of 1…GOMAXPROCS, timed first)")
	fs.StringVar(&extra, "extra", "", "workload-specific settings, key=value[,key=value]")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: node bench [--workload] NAME [flags]")
		fs.PrintDefaults()
		fmt.Fprintln(w, "\nWorkloads:")
		names := make([]string, 0, len(benchWorkloads))
		for n := range benchWorkloads {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-12s %s\n", n, benchWorkloads[n].summary)
		}
	}
	pos, code, ok := parseArgs(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) == 1 && o.Workload == "" {
		o.Workload = pos[0] // node bench NAME
	} else if len(pos) > 0 {
		usageError(stderr, "bench", fmt.Sprintf("unexpected argument %q", pos[0]))
		return 2
	}
	o.Extra = map[string]string{}
	for _, kv := range strings.Split(extra, ",") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		o.Extra[k] = v
	}
	w, ok := benchWorkloads[o.Workload]
	if !ok {
		names := make([]string, 0, len(benchWorkloads))
		for n := range benchWorkloads {
			names = append(names, n)
		}
		sort.Strings(names)
		usageError(stderr, "bench", fmt.Sprintf("unknown workload %q (workloads: %s)", o.Workload, strings.Join(names, ", ")))
		return 2
	}
	enc := json.NewEncoder(stdout)
	emit := func(r any) { _ = enc.Encode(r) }
	if err := w.run(o, emit); err != nil {
		fmt.Fprintf(stderr, "node bench: %s: %v\n", o.Workload, err)
		return 1
	}
	return 0
}
