package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/pns"
)

func init() {
	register("run", command{summary: "grow a brain from a genome and run it", run: runCommand})
}

// processFlags are node run's flags about the process rather than the
// brain.
type processFlags struct {
	logs logFlags
	cpus cpuList
}

// parseRunFlags parses node run's arguments into a brain.Config. It returns the
// exit status to use when it fails (0 after -h, which prints on stdout).
func parseRunFlags(args []string, stdout, stderr io.Writer) (c brain.Config, p processFlags, code int, ok bool) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	logs := &p.logs
	fs.Var(&p.cpus, "cpus", "keep this process on CPUs `LIST` (\"0,2\", \"0-3\"; Linux), as node bench's cluster workload does to give each local node its own cores")
	var seed string
	fs.StringVar(&c.Genome, "genome", genomes.Default, "genome file, or the name of an embedded genome ("+strings.Join(genomes.Names(), ", ")+")")
	fs.Uint64Var(&c.Bursts, "bursts", 0, "stop after N bursts (0: run until interrupted)")
	fs.StringVar(&c.Record, "record", "", "write the fired neurons of every burst to `FILE`, one JSON line per burst (flushed at least every second)")
	fs.BoolVar(&c.RecordSync, "record-sync", false, "fsync the record at every flush, so that it survives a crash of the machine")
	fs.StringVar(&c.Inputs, "inputs", "", "replay the sensor schedule in `FILE` (JSON lines {\"burst\":n,\"area\":id,\"points\":[[x,y,z,p],...]})")
	fs.StringVar(&c.Precision, "precision", "", "override the genome's precision: fp32 or int8")
	fs.StringVar(&seed, "seed", "", "seed of every random choice of growth (default: derived from the genome)")
	fs.Float64Var(&c.Rate, "rate", 0, "bursts per second (default: the genome's simulation_timestep)")
	fs.BoolVar(&c.Free, "free", false, "run as fast as possible")
	fs.StringVar(&c.NATS, "nats", "", "NATS server `URL` (default: an embedded server, in process)")
	fs.StringVar(&c.NATSListen, "nats-listen", "", "let the embedded NATS server listen on `HOST:PORT` for sensors and motors of other processes")
	registerNATSAuth(fs, &c.NATSCreds, &c.NATSTLSCert, &c.NATSTLSKey, &c.NATSTLSCA, true)
	fs.StringVar(&c.NATSUsers, "nats-users", os.Getenv(envNATSUsers), "users `FILE` of the embedded NATS server: name, role (node, sensor, observer, operator) and a bcrypt password hash or nkey public key each (env "+envNATSUsers+")")
	fs.BoolVar(&c.SpikesViaNATS, "spikes-via-nats", false, "send every spike batch through NATS, even between areas of this node")
	fs.StringVar(&c.SubjectPrefix, "subject-prefix", pns.DefaultPrefix, "first tokens of every NATS subject")
	fs.StringVar(&c.Brain, "brain", pns.DefaultBrain, "name of this brain in NATS subjects")
	fs.StringVar(&c.Runner, "runner", brain.RunnerActors, "actors (one actor per area) or reference (npu's single-process runner; --inputs only, no NATS)")
	fs.DurationVar(&c.StallTimeout, "stall-timeout", 2*time.Minute, "fail when one burst takes longer (0: never)")
	fs.BoolVar(&c.Quiet, "quiet", false, "print only errors and the summary")
	logs.register(fs)
	fs.IntVar(&c.Threads, "threads", 0, "worker goroutines inside each engine (0: chosen per area)")
	registerClusterFlags(fs, &c.Cluster)
	registerCheckpointFlags(fs, &c)
	registerHTTPFlags(fs, &c)
	limits := addLimitFlags(fs)
	maxLine := addInputLineFlag(fs)
	registerBenchRunFlags(fs, &c)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: node run [--genome FILE|NAME] [--bursts N] [--record FILE] [--inputs FILE] [flags]")
		fmt.Fprintln(w, "\nGrows the brain and runs it burst by burst. Output goes to stderr; SIGINT or SIGTERM")
		fmt.Fprintln(w, "finish the current burst, flush the record and exit 0; a second one exits at once")
		fmt.Fprintln(w, "(status 130 or 143). NATS subjects (actors runner):")
		fmt.Fprintln(w, "<prefix>.<brain>.sensor.<area> in, .motor.<area> out, .spikes.<area> between areas,")
		fmt.Fprintln(w, ".areas request-reply (the table of areas as JSON), .ctl and .ctl.<operator> request-reply")
		fmt.Fprintln(w, "(brain.v1.Control: set_rate, pause, resume, stats → brain.v1.Stats; changes are logged with")
		fmt.Fprintln(w, "the operator's name), .stats (statistics only). With --nats-listen, the log names the URL")
		fmt.Fprintln(w, "that node sensor send and node motor watch take as --nats; a listening embedded server")
		fmt.Fprintln(w, "takes only users with credentials (--nats-users, --nats-creds; see docs/security.md).")
		fmt.Fprintln(w, "Areas (in --inputs and --placement) are named by their ID as the genome writes it, in")
		fmt.Fprintln(w, "base64 (standard or URL-safe), or by their name.")
		fmt.Fprintln(w)
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, args, stdout, stderr)
	if !ok {
		return c, p, code, false
	}
	if len(pos) > 0 {
		usageError(stderr, "run", fmt.Sprintf("unexpected argument %q", pos[0]))
		return c, p, 2, false
	}
	if seed != "" {
		var s uint64
		if _, err := fmt.Sscan(seed, &s); err != nil {
			fmt.Fprintf(stderr, "node run: --seed %q: want an unsigned integer\n", seed)
			return c, p, 2, false
		}
		c.Seed = &s
	}
	var bad error
	fs.Visit(func(f *flag.Flag) {
		// Unset, --rate means the genome's rate; given, it must be a rate.
		if f.Name == "rate" && bad == nil {
			bad = brain.CheckRate(c.Rate)
		}
	})
	if bad != nil {
		fmt.Fprintf(stderr, "node run: %v\n", bad)
		return c, p, 2, false
	}
	c.Limits, c.GenomeCap, c.MaxInputLine = limits.limits(), int64(limits.genome), int64(*maxLine)
	return c, p, 0, true
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	c, pf, code, ok := parseRunFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	c.Terminal = isTerminal(stderr)
	console := brain.NewConsole(stderr, c.Terminal)
	log, err := pf.logs.logger(console, c.Quiet)
	if err != nil {
		fmt.Fprintf(stderr, "node run: %v\n", err)
		return 2
	}
	c.Stderr, c.Logger = console, log
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "node run: %v\n", err)
		return 2
	}
	if len(pf.cpus) > 0 {
		if err := pinCPUs(pf.cpus); err != nil {
			fmt.Fprintf(stderr, "node run: %v\n", err)
			return 2
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go watchSignals(sigs, stopWatch, cancel, log, console, os.Exit)

	if _, err := brain.Run(ctx, c); err != nil {
		fmt.Fprintf(console, "node run: %v\n", err)
		return 1
	}
	return 0
}

// watchSignals handles SIGINT and SIGTERM for node run: the first one
// cancels the run (which finishes the burst in progress and flushes the
// record), a second one exits at once with status 128 + the signal's
// number, after saying so on w.
func watchSignals(sigs <-chan os.Signal, done <-chan struct{}, cancel func(), log *slog.Logger, w io.Writer, exit func(int)) {
	var first os.Signal
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if first == nil {
				first = s
				log.Info("stopping after the burst in progress; signal again to stop at once", "signal", s.String())
				cancel()
				continue
			}
			code := 1
			if n, ok := s.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			fmt.Fprintf(w, "node run: second signal (%v): exiting at once, without the summary; the record may lack its last second\n", s)
			exit(code)
			return
		}
	}
}
