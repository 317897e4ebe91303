package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/internal/units"
	"github.com/spikemesh/spikemesh/pns/natsio"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

func init() {
	register("cluster", command{summary: "show the state of a brain's cluster over NATS (cluster status)", run: runCluster})
}

const clusterUsage = `Usage: node cluster status [--nats URL] [--brain NAME] [--subject-prefix P] [--json] [flags]

Asks a running brain on <prefix>.<brain>.cluster.status for the state of
its cluster and prints it: the run, its epoch and phase, the last burst,
the coordinator, the last checkpoint (burst, age, size) and the recoveries
so far; then one line per member node (state, areas, capacity, address; *
marks the coordinator) and one line per area with the node it runs on.
Any node of the cluster answers. --json prints the brain.v1.ClusterStatus
as JSON instead (protobuf field names; 64-bit numbers as strings).

Observers and operators may ask (their credentials via --nats-creds or
` + envNATSCreds + `). When no brain answers within --timeout the command
fails with exit status 1.

Flags:
`

type clusterOptions struct {
	nats    natsFlags
	timeout time.Duration
	json    bool
}

func clusterFlags(w io.Writer, o *clusterOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	fs.SetOutput(w)
	o.nats.register(fs)
	fs.DurationVar(&o.timeout, "timeout", 2*time.Second, "give up when no brain answers within this long (connecting to NATS may take up to 10s)")
	fs.BoolVar(&o.json, "json", false, "print the status as JSON (brain.v1.ClusterStatus)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), clusterUsage)
		fs.PrintDefaults()
	}
	return fs
}

func runCluster(args []string, stdout, stderr io.Writer) int {
	if code, ok := oneSubcommand(args, "cluster", "status", stdout, stderr, func(w io.Writer) { clusterFlags(w, new(clusterOptions)).Usage() }); !ok {
		return code
	}
	var o clusterOptions
	fs := clusterFlags(stderr, &o)
	pos, code, ok := parseArgs(fs, args[1:], stdout, stderr)
	if !ok {
		return code
	}
	switch {
	case len(pos) > 0:
		usageError(stderr, "cluster status", fmt.Sprintf("unexpected argument %q", pos[0]))
		return 2
	case o.timeout <= 0:
		usageError(stderr, "cluster status", fmt.Sprintf("--timeout: want a positive duration, got %v", o.timeout))
		return 2
	}
	if err := o.nats.subjects.Validate(); err != nil {
		usageError(stderr, "cluster status", "--brain or --subject-prefix: "+err.Error())
		return 2
	}
	st, err := clusterStatus(&o)
	if err == nil {
		if o.json {
			err = writeClusterJSON(stdout, st)
		} else {
			err = renderClusterStatus(stdout, st, time.Now())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "node cluster status: %v\n", err)
		return 1
	}
	return 0
}

// connectTimeout is the least time node cluster status gives the NATS
// handshake.
const connectTimeout = 10 * time.Second

// clusterStatus asks the brain for its cluster status.
func clusterStatus(o *clusterOptions) (*brainv1.ClusterStatus, error) {
	auth, err := o.nats.auth.options()
	if err != nil {
		return nil, err
	}
	redacted := brain.RedactURL(o.nats.url)
	// The handshake gets at least connectTimeout: checking credentials
	// can be slow on a busy server, and --timeout is for the answer.
	nc, err := natsio.Connect(o.nats.url, append([]nats.Option{nats.Name("spikemesh-cluster-status"), nats.Timeout(max(o.timeout, connectTimeout))}, auth...)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", redacted, o.nats.redact(o.nats.unreachable(err)))
	}
	defer nc.Close()
	subject := natsauth.ClusterStatusSubject(o.nats.subjects)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	st, err := natsio.RequestClusterStatus(ctx, nc, subject)
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("no brain answers on %s at %s (is a node of brain %q running there with --subject-prefix %s?)",
			subject, redacted, o.nats.subjects.Brain, o.nats.subjects.Prefix)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		if perr := nc.LastError(); perr != nil && strings.Contains(perr.Error(), "Permissions Violation") {
			return nil, fmt.Errorf("request on %s at %s: the server refused it (%v): the credentials' role may not ask for the cluster status", subject, redacted, perr)
		}
		return nil, fmt.Errorf("no brain answered on %s at %s within %v", subject, redacted, o.timeout)
	}
	var se *natsio.ServiceError
	if errors.As(err, &se) {
		return nil, err
	}
	return nil, fmt.Errorf("request on %s at %s: %w", subject, redacted, o.nats.redact(err))
}

// writeClusterJSON writes st as indented protojson with protobuf field
// names and every field, also the unset ones.
func writeClusterJSON(w io.Writer, st *brainv1.ClusterStatus) error {
	data, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(st)
	if err != nil {
		return err
	}
	// protojson varies its spacing on purpose; indent it the same way
	// every time.
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// renderClusterStatus writes st for people: a header, the members and the
// placement of areas, aligned. now dates the last checkpoint.
func renderClusterStatus(w io.Writer, st *brainv1.ClusterStatus, now time.Time) error {
	var b bytes.Buffer
	if err := renderClusterTables(&b, st, now); err != nil {
		return err
	}
	// tabwriter pads an empty last cell (a member that does not
	// coordinate); no line ends in blanks.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func renderClusterTables(w io.Writer, st *brainv1.ClusterStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("brain", cell(st.GetBrain()))
	row("run", fmt.Sprintf("%016x", st.GetRun()))
	row("epoch", strconv.FormatUint(st.GetEpoch(), 10))
	row("phase", cell(st.GetPhase()))
	row("last burst", strconv.FormatUint(st.GetBurst(), 10))
	row("coordinator", cell(st.GetCoordinator()))
	row("last checkpoint", checkpointLine(st, now))
	row("recoveries", fmt.Sprintf("%d (%d bursts replayed)", st.GetRecoveries(), st.GetRollbackBursts()))
	if st.GetNode() != "" {
		row("answered by", cell(st.GetNode()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row("MEMBER", "STATE", "AREAS", "CAPACITY", "ADDRESS", "COORDINATOR")
	for _, m := range st.GetMembers() {
		mark := ""
		if m.GetCoordinator() {
			mark = "*"
		}
		row(cell(m.GetName()), cell(m.GetState()), strconv.FormatUint(uint64(m.GetAreas()), 10),
			strconv.FormatFloat(m.GetCapacity(), 'g', -1, 64), cell(m.GetAddress()), mark)
	}
	if len(st.GetMembers()) == 0 {
		row("(none)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row("AREA", "ID", "NAME", "NODE")
	for _, p := range st.GetPlacement() {
		row(strconv.FormatUint(uint64(p.GetIndex()), 10), cell(p.GetId()), cell(p.GetName()), cell(p.GetNode()))
	}
	if len(st.GetPlacement()) == 0 {
		row("(none)")
	}
	return tw.Flush()
}

// checkpointLine describes the last checkpoint: "burst 1100, 1m40s ago,
// 3 MiB, every 100 bursts", or that there is none.
func checkpointLine(st *brainv1.ClusterStatus, now time.Time) string {
	every := ""
	if k := st.GetCheckpointEvery(); k > 0 {
		every = fmt.Sprintf("every %d bursts", k)
	}
	if st.GetCheckpointBurst() == 0 {
		if every == "" {
			return "none (checkpoints off)"
		}
		return "none yet (" + every + ")"
	}
	parts := []string{fmt.Sprintf("burst %d", st.GetCheckpointBurst()), age(st.GetCheckpointUnixNs(), now),
		units.Bytes(int64(min(st.GetCheckpointBytes(), 1<<63-1)))}
	if every != "" {
		parts = append(parts, every)
	}
	return strings.Join(parts, ", ")
}

// age says how long before now the time unixNs was, to the second ("just
// now" under a second); a time after now means the clocks of the node and
// this machine differ.
func age(unixNs int64, now time.Time) string {
	if unixNs == 0 {
		return "time unknown"
	}
	d := now.Sub(time.Unix(0, unixNs))
	switch {
	case d < -time.Second:
		return fmt.Sprintf("%v in the future (the clocks differ)", (-d).Round(time.Second))
	case d < time.Second:
		return "just now"
	}
	return d.Round(time.Second).String() + " ago"
}

// cell is s for a table cell: "-" when empty, quoted when it holds
// anything unprintable (a tab or newline would break the alignment).
func cell(s string) string {
	if s == "" {
		return "-"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
