package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/freeport"
	"github.com/spikemesh/spikemesh/internal/natsauth"
)

func init() {
	registerBench("cluster", benchWorkload{
		summary: "one brain on 1, 2, 3… local node processes (--nodes): bursts/s once running, lock-step overhead, NATS traffic; --extra checkpoint-every=K and lockstep-window=W set node run's --checkpoint-every and --lockstep-window (default: node run's); the nodes run with GODEBUG=" + brain.MonitorAwake + " (--extra monitor=0: without)",
		run:     benchCluster,
	})
}

// runFigures are the figures of one run, as node run --summary-json writes
// them and as the cluster workload reports them (from the coordinator).
type runFigures struct {
	Areas      int     `json:"areas"`
	Neurons    int64   `json:"neurons"`
	Synapses   int64   `json:"synapses"`
	Bursts     uint64  `json:"bursts"`
	BurstsPerS float64 `json:"bursts_per_s"` // once running: start-up is StartupS
	StartupS   float64 `json:"startup_s"`
	BurstP50   float64 `json:"burst_p50_us"`
	BurstP99   float64 `json:"burst_p99_us"`
	ComputeP50 float64 `json:"compute_p50_us"`
	RTTP50     float64 `json:"nats_rtt_p50_us"`
}

// clusterResult is one line of the cluster workload.
type clusterResult struct {
	Workload string `json:"workload"`
	Nodes    int    `json:"nodes"`
	runFigures
	MsgsPerBurst  float64 `json:"msgs_per_burst"`
	BytesPerBurst float64 `json:"bytes_per_burst"`
	RSSPerNode    float64 `json:"rss_mb_per_node"`
	// CPUPerBurst is the CPU time, user and system, a node used per burst
	// while the bursts ran (mean over the nodes; --summary-json's cpu_s).
	CPUPerBurst float64 `json:"cpu_us_per_burst_per_node"`
	// CheckpointEvery is --extra checkpoint-every when given.
	CheckpointEvery *int `json:"checkpoint_every,omitempty"`
	// ProcsPerNode is the GOMAXPROCS the node processes ran with (nodeProcs;
	// the coordinator's, as it reports it).
	ProcsPerNode int `json:"gomaxprocs_per_node"`
	// Pinned: each node process was kept on CPUs of its own (nodeCPUs).
	Pinned bool `json:"pinned"`
	// Window is the lock step's window the nodes ran with (the
	// coordinator's, as it reports it; 0 for one node).
	Window int `json:"lockstep_window"`
	// Godebug is the GODEBUG the nodes ran with (the coordinator's, as it
	// reports it): brain.MonitorAwake added unless --extra monitor=0.
	Godebug string `json:"godebug"`
}

// nodeSummary is what node run --summary-json writes.
type nodeSummary struct {
	Node string `json:"node"`
	runFigures
	MsgsOut  uint64  `json:"msgs_out"`
	BytesOut uint64  `json:"bytes_out"`
	RSSMB    float64 `json:"rss_mb"`
	Procs    int     `json:"gomaxprocs"`
	Window   int     `json:"lockstep_window"`
	CPUS     float64 `json:"cpu_s"`
	Godebug  string  `json:"godebug"`
}

// benchCluster starts, for each node count, that many node run processes
// on 127.0.0.1 forming one cluster (embedded NATS servers routed together),
// runs the synthetic brain (--areas, --neurons, --fanout) or --genome free
// for --bursts bursts, and reports the coordinator's burst times, the
// slowest area's step, a NATS round trip between two of the processes and
// the traffic of all of them. The same flags run on real machines, one
// process per machine, by giving node run the cluster flags by hand.
func benchCluster(o benchOptions, emit func(any)) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bursts := o.Bursts
	if bursts == 0 {
		bursts = 5000
	}
	var every *int
	if v, ok := o.Extra["checkpoint-every"]; ok {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			return fmt.Errorf("--extra checkpoint-every=%q: want a count of bursts, 0 for none", v)
		}
		every = &k
	}
	if v, ok := o.Extra["lockstep-window"]; ok {
		if w, err := strconv.Atoi(v); err != nil || w < 1 {
			return fmt.Errorf("--extra lockstep-window=%q: want a count of bursts, 1 or more", v)
		}
	}
	pin := o.Extra["pin"] != "0"
	var counts []int
	for _, f := range strings.Split(o.Nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return fmt.Errorf("--nodes %q: want counts from 1 to 16, comma-separated", o.Nodes)
		}
		counts = append(counts, n)
	}
	dir, err := os.MkdirTemp("", "spikemesh-bench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, n := range counts {
		var cpus [][]int
		if pin {
			cpus = nodeCPUs(n, allowedCPUs())
		}
		sums, err := runClusterOnce(self, dir, o, n, bursts, cpus)
		if err != nil {
			return fmt.Errorf("%d nodes: %w", n, err)
		}
		lead := sums[0]
		res := clusterResult{Workload: "cluster", Nodes: n, runFigures: lead.runFigures, CheckpointEvery: every,
			ProcsPerNode: lead.Procs, Pinned: cpus != nil, Window: lead.Window, Godebug: lead.Godebug}
		if o.Genome == "" {
			res.Areas -= 3 // the synthetic brain's core areas do nothing
		}
		for _, s := range sums {
			res.MsgsPerBurst += float64(s.MsgsOut)
			res.BytesPerBurst += float64(s.BytesOut)
			res.RSSPerNode += s.RSSMB
			if s.Bursts > 0 {
				res.CPUPerBurst += s.CPUS * 1e6 / float64(s.Bursts)
			}
		}
		res.CPUPerBurst /= float64(len(sums))
		if lead.Bursts > 0 {
			res.MsgsPerBurst /= float64(lead.Bursts)
			res.BytesPerBurst /= float64(lead.Bursts)
		}
		res.RSSPerNode /= float64(len(sums))
		emit(res)
	}
	return nil
}

// nodeProcs is the GOMAXPROCS of each of n local node processes: the
// machine's cores shared out between them, as n machines would each have
// their own (on 2 cores, 2 nodes with 2 each ran about 20 % fewer bursts
// per second than with 1 each, their threads crowding each other's), or
// what GOMAXPROCS in the environment says.
func nodeProcs(n int) int {
	if v, err := strconv.Atoi(os.Getenv("GOMAXPROCS")); err == nil && v > 0 {
		return v
	}
	return max(1, runtime.NumCPU()/n)
}

// nodeCPUs shares the CPUs out between n local node processes, nodeProcs(n)
// each, as n machines would each have their own: on 2 cores, 2 nodes ran
// 15–30 % more bursts per second each kept on its own core than with both
// floating over both. nil (no pinning) for one node, when the CPUs are not
// known or too few, or when GOMAXPROCS is set.
func nodeCPUs(n int, allowed []int) [][]int {
	p := nodeProcs(n)
	if n < 2 || os.Getenv("GOMAXPROCS") != "" || len(allowed) < n*p {
		return nil
	}
	out := make([][]int, n)
	for k := range out {
		out[k] = allowed[k*p : (k+1)*p]
	}
	return out
}

// runClusterOnce runs one cluster of n processes, node k on cpus[k] when
// cpus is not nil, and returns their summaries, the coordinator's (n0)
// first.
func runClusterOnce(self, dir string, o benchOptions, n, bursts int, cpus [][]int) ([]nodeSummary, error) {
	ports, err := freeLocalPorts(2 * n)
	if err != nil {
		return nil, err
	}
	seed := ports[0]
	// The nodes' NATS servers authenticate each other with a shared secret.
	creds := filepath.Join(dir, fmt.Sprintf("node-of-%d.creds", n))
	if err := os.WriteFile(creds, []byte("user: bench\npassword: "+natsauth.RandomSecret()+"\n"), 0o600); err != nil {
		return nil, err
	}
	type proc struct {
		cmd     *exec.Cmd
		out     bytes.Buffer
		summary string
	}
	procs := make([]*proc, n)
	for k := range n {
		p := &proc{summary: filepath.Join(dir, fmt.Sprintf("n%d-of-%d.json", k, n))}
		args := []string{"run", "--free", "--quiet", "--bursts", strconv.Itoa(bursts), "--precision", o.Precision,
			"--summary-json", p.summary, "--stall-timeout", "5m"}
		if o.Threads > 0 {
			args = append(args, "--threads", strconv.Itoa(o.Threads))
		}
		if cpus != nil {
			l := cpuList(cpus[k])
			args = append(args, "--cpus", l.String())
		}
		if v, ok := o.Extra["checkpoint-every"]; ok {
			args = append(args, "--checkpoint-every", v)
		}
		if v, ok := o.Extra["lockstep-window"]; ok && n > 1 {
			args = append(args, "--lockstep-window", v)
		}
		if o.Genome != "" {
			args = append(args, "--genome", o.Genome)
		} else {
			args = append(args, "--synthetic", fmt.Sprintf("%d,%d,%d", o.Areas, o.Neurons, o.Fanout))
		}
		if n > 1 {
			bind, route := ports[2*k], ports[2*k+1]
			args = append(args, "--node-name", fmt.Sprintf("n%d", k), "--cluster-bind", bind, "--join", seed,
				"--expect-nodes", strconv.Itoa(n), "--nats-cluster", route, "--nats-creds", creds, "--join-timeout", "2m")
		}
		p.cmd = exec.Command(self, args...)
		p.cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(nodeProcs(n)))
		if o.Extra["monitor"] != "0" {
			p.cmd.Env = append(p.cmd.Env, "GODEBUG="+brain.WithMonitorAwake(os.Getenv("GODEBUG")))
		}
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		if err := p.cmd.Start(); err != nil {
			return nil, err
		}
		procs[k] = p
	}
	var firstErr error
	for k, p := range procs {
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("node n%d: %v\n%s", k, err, p.out.String())
			}
		case <-time.After(10 * time.Minute):
			for _, q := range procs {
				_ = q.cmd.Process.Kill()
			}
			<-done
			if firstErr == nil {
				firstErr = fmt.Errorf("node n%d did not finish within 10 minutes", k)
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	out := make([]nodeSummary, n)
	for k, p := range procs {
		data, err := os.ReadFile(p.summary)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &out[k]); err != nil {
			return nil, fmt.Errorf("summary of n%d: %w", k, err)
		}
	}
	return out, nil
}

// freeLocalPorts returns n distinct addresses 127.0.0.1:PORT, each free for
// TCP and UDP (memberlist uses both) when it returns, from below the
// ephemeral range (package freeport: no other process's outgoing
// connection takes one before the node listens).
func freeLocalPorts(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		p, err := freeport.Get()
		if err != nil {
			return nil, err
		}
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return out, nil
}
