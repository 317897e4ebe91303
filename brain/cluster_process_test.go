package brain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/spikemesh/spikemesh/internal/freeport"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/internal/syncbuf"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/internal/web"
)

// The tests in this file run real node processes on 127.0.0.1, one cluster
// at a time, each process bounded in time.

var (
	nodeBinOnce sync.Once
	nodeBin     string
	nodeBinErr  error
)

// nodeBinary builds cmd/node once per test binary.
func nodeBinary(t *testing.T) string {
	t.Helper()
	nodeBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spikemesh-node-")
		if err != nil {
			nodeBinErr = err
			return
		}
		nodeBin = filepath.Join(dir, "node")
		out, err := exec.Command("go", "build", "-o", nodeBin, "github.com/spikemesh/spikemesh/cmd/node").CombinedOutput()
		if err != nil {
			nodeBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if nodeBinErr != nil {
		t.Fatal(nodeBinErr)
	}
	return nodeBin
}

// freePort returns a port of 127.0.0.1 free for TCP and UDP (memberlist
// uses both), never the same twice in one test binary, from below the
// ephemeral range (package freeport).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// proc is one node process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func startNode(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(nodeBinary(t), append([]string{"run"}, args...)...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait returns the process's exit error, killing it after limit.
func (p *proc) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("node %s still running after %v; its output:\n%s", p.name, limit, p.out.String())
		return nil
	}
}

// clusterSpec is one cluster run: nodes named n0.. on fresh ports.
type clusterSpec struct {
	genome, precision, inputs string
	bursts                    int
	nodes                     int
	placement                 string // file; "" computed
	nats                      []string
	extra                     []string
	creds                     string // the nodes' shared --nats-creds; "" writes one
}

// runCluster runs spec's nodes to completion and returns each node's record.
func runCluster(t *testing.T, spec clusterSpec) []string {
	t.Helper()
	dir := t.TempDir()
	seed := addr(freePort(t))
	creds := spec.creds
	if creds == "" {
		creds = writeNodeCreds(t)
	}
	procs := make([]*proc, spec.nodes)
	for k := range spec.nodes {
		bind := seed
		if k > 0 {
			bind = addr(freePort(t))
		}
		args := []string{"--genome", spec.genome, "--precision", spec.precision, "--free", "--quiet",
			"--bursts", strconv.Itoa(spec.bursts), "--record", filepath.Join(dir, fmt.Sprintf("n%d.jsonl", k)),
			"--node-name", fmt.Sprintf("n%d", k), "--cluster-bind", bind, "--join", seed,
			"--expect-nodes", strconv.Itoa(spec.nodes), "--join-timeout", "90s", "--stall-timeout", "90s"}
		if spec.inputs != "" {
			args = append(args, "--inputs", spec.inputs)
		}
		if spec.placement != "" {
			args = append(args, "--placement", spec.placement)
		}
		if spec.nats != nil {
			args = append(args, "--nats", spec.nats[k%len(spec.nats)])
		} else {
			args = append(args, "--nats-cluster", addr(freePort(t)), "--nats-creds", creds)
		}
		procs[k] = startNode(t, fmt.Sprintf("n%d", k), append(args, spec.extra...)...)
	}
	var recs []string
	for k, p := range procs {
		if err := p.wait(t, 3*time.Minute); err != nil {
			t.Fatalf("node n%d: %v\n%s", k, err, p.out.String())
		}
		recs = append(recs, mustRead(t, filepath.Join(dir, fmt.Sprintf("n%d.jsonl", k))))
	}
	return recs
}

// referenceRecord runs the single-process reference runner.
func referenceRecord(t *testing.T, genome, precision, inputs string, bursts int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ref.jsonl")
	var log bytes.Buffer
	if _, err := Run(context.Background(), Config{Genome: genome, Bursts: uint64(bursts), Inputs: inputs, Record: path,
		Precision: precision, Free: true, Runner: RunnerReference, Stderr: &log}); err != nil {
		t.Fatalf("reference: %v\n%s", err, log.String())
	}
	return mustRead(t, path)
}

// writePlacement writes a placement file that puts area i on owner(i).
func writePlacement(t *testing.T, plan *cortical.Plan, owner func(i int) string) string {
	t.Helper()
	var b strings.Builder
	for i := range plan.Areas {
		fmt.Fprintf(&b, "%q: %s\n", plan.Areas[i].ID.String(), owner(i))
	}
	path := filepath.Join(t.TempDir(), "placement.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClusterRecordsEqualReference is the defining test of cluster mode:
// three node processes on 127.0.0.1, each shipped genome with a schedule
// that makes downstream areas fire, fp32 and int8, the computed placement
// and three forced ones: every node's record equals the single-process
// reference runner's, byte for byte.
func TestClusterRecordsEqualReference(t *testing.T) {
	const bursts = 25
	for _, name := range genomes.Names() {
		plan := loadPlan(t, name)
		inputs := writeSchedule(t, plan, bursts)
		places := []struct {
			name  string
			owner func(i int) string
		}{
			{"computed", nil},
			{"round-robin", func(i int) string { return fmt.Sprintf("n%d", i%3) }},
			{"coordinator-idle", func(i int) string { return fmt.Sprintf("n%d", 1+i%2) }},
			{"all-on-one", func(int) string { return "n2" }},
		}
		for _, prec := range []string{"fp32", "int8"} {
			ref := referenceRecord(t, name, prec, inputs, bursts)
			for _, pl := range places {
				t.Run(name+"/"+prec+"/"+pl.name, func(t *testing.T) {
					spec := clusterSpec{genome: name, precision: prec, inputs: inputs, bursts: bursts, nodes: 3}
					if pl.owner != nil {
						spec.placement = writePlacement(t, plan, pl.owner)
					}
					for k, rec := range runCluster(t, spec) {
						if rec != ref {
							t.Fatalf("node n%d's record differs from the reference:\n%s", k, firstDiff(ref, rec))
						}
					}
				})
			}
		}
	}
}

// TestClusterOnExternalNATS: two nodes, each connected to its own server of
// an external NATS cluster of two (started here): the same records; the
// second genome with a lock-step window of 4, where several bursts share a
// tick or a completion.
func TestClusterOnExternalNATS(t *testing.T) {
	urls := externalNATS(t, 2)
	const bursts = 40
	for _, name := range []string{"essential_genome.json", "community_brain_pong.json"} {
		plan := loadPlan(t, name)
		inputs := writeSchedule(t, plan, bursts)
		for _, prec := range []string{"fp32", "int8"} {
			t.Run(name+"/"+prec, func(t *testing.T) {
				ref := referenceRecord(t, name, prec, inputs, bursts)
				spec := clusterSpec{genome: name, precision: prec, inputs: inputs, bursts: bursts, nodes: 2, nats: urls,
					extra: []string{"--brain", "ext" + strings.ReplaceAll(strings.TrimSuffix(name, ".json"), "_", "") + prec}}
				if name == "community_brain_pong.json" {
					spec.extra = append(spec.extra, "--lockstep-window", "4")
				}
				for k, rec := range runCluster(t, spec) {
					if rec != ref {
						t.Fatalf("node n%d's record differs from the reference:\n%s", k, firstDiff(ref, rec))
					}
				}
			})
		}
	}
}

// externalNATS starts a NATS cluster of n servers on 127.0.0.1, stopped at
// the test's end, and returns their client URLs.
func externalNATS(t *testing.T, n int) []string {
	t.Helper()
	var urls []string
	var first string
	for k := range n {
		o := actors.NATSServer{Name: fmt.Sprintf("ext%d", k), Listen: "127.0.0.1:-1", Cluster: "127.0.0.1:-1", ClusterName: "ext"}
		if k > 0 {
			o.Routes = []string{first}
		}
		ns, err := actors.StartNATS(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		if k == 0 {
			first = "nats-route://" + ns.ClusterAddr().String()
		}
		urls = append(urls, ns.ClientURL())
	}
	return urls
}

// TestClusterJoinRefusals: a node with another genome, another label or an
// unreachable seed ends with an error that says which, within its join
// timeout.
func TestClusterJoinRefusals(t *testing.T) {
	seedPort := freePort(t)
	creds := writeNodeCreds(t)
	seed := startNode(t, "seed", "--genome", "essential_genome.json", "--quiet", "--free",
		"--node-name", "seed", "--cluster-bind", addr(seedPort), "--cluster-label", "lab",
		"--expect-nodes", "2", "--nats-cluster", addr(freePort(t)), "--nats-creds", creds, "--join-timeout", "2m")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"genome", []string{"--genome", "community_webots_pioneer2.json", "--cluster-label", "lab", "--join", addr(seedPort)},
			[]string{"genome differs"}},
		{"label", []string{"--genome", "essential_genome.json", "--cluster-label", "other", "--join", addr(seedPort)},
			[]string{"label"}},
		{"unreachable", []string{"--genome", "essential_genome.json", "--cluster-label", "lab", "--join", addr(freePort(t))},
			[]string{"no answer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--quiet", "--free", "--node-name", "late", "--cluster-bind", addr(freePort(t)),
				"--expect-nodes", "2", "--nats-cluster", addr(freePort(t)), "--nats-creds", creds, "--join-timeout", "3s"}, c.args...)
			p := startNode(t, "late", args...)
			err := p.wait(t, time.Minute)
			if err == nil {
				t.Fatalf("joined; output:\n%s", p.out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(p.out.String(), w) {
					t.Fatalf("output does not say %q:\n%s", w, p.out.String())
				}
			}
		})
	}
	_ = seed.cmd.Process.Kill()
	<-seed.done
}

// writeNodeCreds writes the node credentials every node of one test's
// cluster shares (the routes' secret) and returns the file.
func writeNodeCreds(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.creds")
	if err := os.WriteFile(path, []byte("user: node\npassword: "+natsauth.RandomSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClusterNodeWaitsForNATS: a cluster node whose external NATS is not
// up yet waits for it (within --join-timeout) instead of failing, and runs
// once it is there.
func TestClusterNodeWaitsForNATS(t *testing.T) {
	natsPort := freePort(t)
	var out syncbuf.Buffer
	cmd := exec.Command(nodeBinary(t), "run", "--genome", "community_webots_pioneer2.json", "--free", "--bursts", "20",
		"--node-name", "n0", "--cluster-bind", addr(freePort(t)), "--expect-nodes", "1", "--join-timeout", "2m",
		"--nats", "nats://"+addr(natsPort), "--nats-creds", writeNodeCreds(t))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "NATS not reachable yet"); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("node run ended before NATS was up (%v):\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node run did not say it waits for NATS:\n%s", out.String())
		}
	}
	ns, err := actors.StartNATS(actors.NATSServer{Name: "late", Listen: addr(natsPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("node run: %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("node run did not finish once NATS was up:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "summary: 20 bursts") {
		t.Fatalf("no summary of 20 bursts:\n%s", out.String())
	}
}

// TestClusterLiveViewSeesEveryNode: the coordinator's HTTP API shows the
// firing of areas that run on another node. Until someone watches the
// live view, completions carry only counts (/v1/areas counts them); once
// /v1/activity is asked for, they carry the indices again and the frames
// count every area's cells, the other node's too.
func TestClusterLiveViewSeesEveryNode(t *testing.T) {
	const areas, neurons = 4, 8000
	creds, seed, api := writeNodeCreds(t), addr(freePort(t)), addr(freePort(t))
	for k := range 2 {
		bind, args := seed, []string{}
		if k > 0 {
			bind = addr(freePort(t))
		} else {
			args = []string{"--http", api}
		}
		args = append(args, "--synthetic", fmt.Sprintf("%d,%d,10", areas, neurons), "--rate", "200", "--quiet",
			"--node-name", fmt.Sprintf("n%d", k), "--cluster-bind", bind, "--join", seed, "--expect-nodes", "2",
			"--join-timeout", "90s", "--nats-cluster", addr(freePort(t)), "--nats-creds", creds)
		startNode(t, fmt.Sprintf("n%d", k), args...)
	}
	get := func(path string, v any) bool {
		resp, err := http.Get("http://" + api + path)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	// The synthetic areas, each of neurons/areas neurons, and their owners.
	deadline := time.Now().Add(2 * time.Minute)
	var info web.AreasInfo
	synthetic := func() (idx []int, remote int, fired int) {
		for _, a := range info.Areas {
			if a.Neurons == neurons/areas {
				idx = append(idx, a.Index)
				if a.Owner != "n0" {
					remote++
				}
				if a.SpikesTotal > 0 {
					fired++
				}
			}
		}
		return idx, remote, fired
	}
	for {
		if get("/v1/areas", &info) {
			if idx, remote, fired := synthetic(); len(idx) == areas && fired == areas {
				if remote == 0 {
					t.Fatalf("every synthetic area runs on the coordinator: %+v", info.Areas)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the coordinator never counted every area's spikes: %+v", info.Areas)
		}
		time.Sleep(100 * time.Millisecond)
	}
	idx, _, _ := synthetic()
	var frame web.Activity
	for {
		if get("/v1/activity", &frame) && frame.Bursts > 0 {
			lit := 0
			for _, g := range frame.Areas {
				var sum uint64
				for _, c := range g.Cells {
					sum += uint64(c)
				}
				if sum > 0 && slices.Contains(idx, g.Index) {
					lit++
				}
			}
			if lit == areas {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live view never showed every synthetic area firing (areas %v): %+v", idx, frame)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
