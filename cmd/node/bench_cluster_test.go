package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/brain"
)

// The cluster harness runs real node processes for each node count and
// prints one line per count with the figures the README lists; each node
// gets its share of the cores (and CPUs of its own, where there are
// enough), and --extra checkpoint-every and lockstep-window reach the nodes.
func TestBenchCluster(t *testing.T) {
	cmd := exec.Command(nodeBinary(t), "bench", "--workload", "cluster", "--nodes", "1,2", "--areas", "2",
		"--neurons", "3000", "--fanout", "4", "--bursts", "40", "--extra", "checkpoint-every=0,lockstep-window=4")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node bench: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per node count, got:\n%s", out)
	}
	for i, l := range lines {
		var r clusterResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		n := i + 1
		if r.Workload != "cluster" || r.Nodes != n || r.Bursts != 40 || r.Areas != 2 || r.BurstsPerS <= 0 {
			t.Errorf("line %d: %s", i, l)
		}
		if r.CheckpointEvery == nil || *r.CheckpointEvery != 0 {
			t.Errorf("%d nodes: checkpoint_every %v, want 0", n, r.CheckpointEvery)
		}
		if want := max(1, runtime.NumCPU()/n); r.ProcsPerNode != want {
			t.Errorf("%d nodes: gomaxprocs_per_node %d, want %d", n, r.ProcsPerNode, want)
		}
		if n > 1 && (r.MsgsPerBurst <= 0 || r.BytesPerBurst <= 0 || r.RTTP50 <= 0) {
			t.Errorf("%d nodes: no traffic or round trip measured: %s", n, l)
		}
		if want := map[bool]int{true: 4, false: 0}[n > 1]; r.Window != want {
			t.Errorf("%d nodes ran with a lock-step window of %d, want %d", n, r.Window, want)
		}
		if want := n > 1 && runtime.GOOS == "linux" && len(allowedCPUs()) >= n*max(1, runtime.NumCPU()/n); r.Pinned != want {
			t.Errorf("%d nodes: pinned %v, want %v", n, r.Pinned, want)
		}
		if runtime.GOOS == "linux" && r.CPUPerBurst <= 0 {
			t.Errorf("%d nodes: no CPU time measured: %s", n, l)
		}
		if r.StartupS <= 0 {
			t.Errorf("%d nodes: no start-up time: %s", n, l)
		}
		if want := brain.WithMonitorAwake(os.Getenv("GODEBUG")); r.Godebug != want {
			t.Errorf("%d nodes ran with GODEBUG %q, want %q", n, r.Godebug, want)
		}
	}
}
