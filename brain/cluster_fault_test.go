package brain

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/internal/syncbuf"
)

// The tests in this file break a running cluster brain — kill -9 a node,
// stop one (SIGSTOP) and wake it, add a node and take one away — and check
// that the run completes with every surviving node's record equal to the
// reference runner's, byte for byte. Real node processes on 127.0.0.1, one
// cluster at a time, paced so that the faults land mid-run.

// faultNode is one node process whose output can be read while it runs.
type faultNode struct {
	name   string
	record string
	cmd    *exec.Cmd
	out    syncbuf.Buffer
	done   chan error
	exited bool
	err    error
}

// faultCluster is a running cluster of a test.
type faultCluster struct {
	t      *testing.T
	dir    string
	seed   string
	creds  string
	common []string
	nodes  map[string]*faultNode
	nats   []string // external NATS servers, given out in turn ("": embedded servers)
	// unrecorded names the nodes started without --record.
	unrecorded map[string]bool
}

// newFaultCluster starts n nodes n0.., each recording, of genome for
// bursts bursts with inputs, on the embedded NATS servers or, given, on
// the external ones.
func newFaultCluster(t *testing.T, genome, precision, inputs string, bursts, n int, extra ...string) *faultCluster {
	return newFaultClusterOn(t, nil, genome, precision, inputs, bursts, n, extra...)
}

func newFaultClusterOn(t *testing.T, nats []string, genome, precision, inputs string, bursts, n int, extra ...string) *faultCluster {
	t.Helper()
	fc := &faultCluster{t: t, dir: t.TempDir(), seed: addr(freePort(t)), creds: writeNodeCreds(t), nodes: map[string]*faultNode{}, nats: nats}
	fc.common = append([]string{"--genome", genome, "--precision", precision, "--inputs", inputs,
		"--bursts", strconv.Itoa(bursts), "--join", fc.seed, "--join-timeout", "90s", "--stall-timeout", "90s",
		"--failure-timeout", "1s"}, extra...)
	for k := range n {
		bind := fc.seed
		if k > 0 {
			bind = addr(freePort(t))
		}
		fc.start(fmt.Sprintf("n%d", k), bind, "--expect-nodes", strconv.Itoa(n))
	}
	return fc
}

// start starts node name with memberlist on bind.
func (fc *faultCluster) start(name, bind string, args ...string) *faultNode {
	fc.t.Helper()
	return fc.startIn("", name, bind, args...)
}

// startIn starts node name in network namespace netns ("": this one).
func (fc *faultCluster) startIn(netns, name, bind string, args ...string) *faultNode {
	t := fc.t
	t.Helper()
	nd := &faultNode{name: name, record: filepath.Join(fc.dir, name+".jsonl"), done: make(chan error, 1)}
	all := append(append([]string{"run"}, fc.common...), "--node-name", name, "--cluster-bind", bind)
	if !fc.unrecorded[name] {
		all = append(all, "--record", nd.record)
	}
	switch {
	case len(fc.nats) > 0:
		all = append(all, "--nats", fc.nats[len(fc.nodes)%len(fc.nats)])
	case !slices.Contains(args, "--nats-cluster"):
		all = append(all, "--nats-cluster", addr(freePort(t)), "--nats-creds", fc.creds)
	default:
		all = append(all, "--nats-creds", fc.creds)
	}
	nd.cmd = exec.Command(nodeBinary(t), append(all, args...)...)
	if netns != "" {
		nd.cmd = exec.Command("ip", append([]string{"netns", "exec", netns, nodeBinary(t)}, append(all, args...)...)...)
	}
	nd.cmd.Stdout, nd.cmd.Stderr = &nd.out, &nd.out
	if err := nd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { nd.done <- nd.cmd.Wait() }()
	t.Cleanup(func() {
		if !nd.exited {
			_ = nd.cmd.Process.Signal(syscall.SIGCONT)
			_ = nd.cmd.Process.Kill()
			<-nd.done
		}
	})
	fc.nodes[name] = nd
	return nd
}

// lines is the number of complete lines in node name's record so far.
func (fc *faultCluster) lines(name string) int {
	data, _ := os.ReadFile(fc.nodes[name].record)
	return strings.Count(string(data), "\n")
}

// waitBurst waits until node name's record holds at least b bursts.
func (fc *faultCluster) waitBurst(name string, b int) {
	t := fc.t
	t.Helper()
	nd := fc.nodes[name]
	deadline := time.Now().Add(2 * time.Minute)
	for fc.lines(name) < b {
		select {
		case err := <-nd.done:
			nd.exited, nd.err = true, err
			t.Fatalf("node %s ended (%v) before burst %d:\n%s", name, err, b, nd.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not reach burst %d (at %d):\n%s", name, b, fc.lines(name), nd.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutput waits until node name says want.
func (fc *faultCluster) waitOutput(name, want string) {
	t := fc.t
	t.Helper()
	nd := fc.nodes[name]
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(nd.out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("node %s never said %q:\n%s", name, want, nd.out.String())
		}
	}
}

// kill sends node name a signal.
func (fc *faultCluster) signal(name string, sig syscall.Signal) {
	if err := fc.nodes[name].cmd.Process.Signal(sig); err != nil {
		fc.t.Fatalf("signal %v to %s: %v", sig, name, err)
	}
}

// wait waits for node name to exit and returns its error.
func (fc *faultCluster) wait(name string) error {
	t := fc.t
	t.Helper()
	nd := fc.nodes[name]
	if nd.exited {
		return nd.err
	}
	select {
	case nd.err = <-nd.done:
	case <-time.After(3 * time.Minute):
		_ = nd.cmd.Process.Kill()
		nd.err = <-nd.done
		nd.exited = true
		t.Fatalf("node %s still running after 3 minutes:\n%s", name, nd.out.String())
	}
	nd.exited = true
	return nd.err
}

// finish waits for the named nodes to exit 0 and checks their records
// against ref.
func (fc *faultCluster) finish(ref string, names ...string) {
	t := fc.t
	t.Helper()
	for _, name := range names {
		if err := fc.wait(name); err != nil {
			t.Fatalf("node %s: %v\n%s", name, err, fc.nodes[name].out.String())
		}
	}
	for _, name := range names {
		if rec := mustRead(t, fc.nodes[name].record); rec != ref {
			t.Fatalf("node %s's record differs from the reference:\n%s\nits output:\n%s", name, firstDiff(ref, rec), fc.nodes[name].out.String())
		}
	}
}

const (
	faultGenome = "community_brain_pong.json"
	faultBursts = 600
	faultRate   = "100"
)

// TestClusterSurvivesKill: kill -9 a node that is not the coordinator, then
// (another run) the coordinator's node; fp32 and int8. The survivors roll
// back to the last checkpoint, replay the logged input and finish; their
// records equal the reference.
func TestClusterSurvivesKill(t *testing.T) {
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, faultBursts)
	for _, prec := range []string{"fp32", "int8"} {
		ref := referenceRecord(t, faultGenome, prec, inputs, faultBursts)
		for _, victim := range []string{"n1", "n0"} {
			t.Run(prec+"/kill-"+victim, func(t *testing.T) {
				fc := newFaultCluster(t, faultGenome, prec, inputs, faultBursts, 3, "--rate", faultRate, "--checkpoint-every", "25",
					"--nats-listen", "127.0.0.1:-1")
				survivors := []string{"n0", "n1", "n2"}
				survivors = slicesDelete(survivors, victim)
				// A motor client on a survivor's server sees every burst's
				// frame once: a replayed burst publishes none.
				var watch *motorWatch
				if victim == "n1" {
					watch = fc.watchMotors("n0")
				}
				fc.waitBurst(survivors[0], 120)
				fc.signal(victim, syscall.SIGKILL)
				_ = fc.wait(victim)
				fc.finish(ref, survivors...)
				if watch != nil {
					watch.check(t, faultBursts)
				}
				if out := fc.nodes[survivors[0]].out.String(); !strings.Contains(out, "new generation") && !strings.Contains(fc.nodes[survivors[1]].out.String(), "new generation") {
					t.Fatalf("no node started a new generation:\n%s", out)
				}
			})
		}
	}
}

// TestClusterReplaysInputLog: only the coordinator reads the input
// schedule, whose input ends at burst 250; checkpoints come every 200
// bursts. Killing the coordinator after burst 250 makes the next one roll
// the brain back to burst 200 and replay 201.. with the input it never read
// itself, from the log every node keeps: the record is the reference's.
func TestClusterReplaysInputLog(t *testing.T) {
	fc, ref := killCoordinatorAfterInput(t, nil)
	fc.finish(ref, "n1", "n2")
	if out := fc.nodes["n1"].out.String(); !strings.Contains(out, "resume=200") {
		t.Fatalf("n1 did not resume from the checkpoint of burst 200:\n%s", out)
	}
	// The replayed bursts (they hold input, and their records were written
	// before the crash) are checked against their first run.
	if out := fc.nodes["n1"].out.String(); !strings.Contains(out, "replay checked") || !strings.Contains(out, "diverged=0") ||
		strings.Contains(out, "differs from its first run") {
		t.Fatalf("n1's replay was not checked, or differed from the first run:\n%s", out)
	}
}

// killCoordinatorAfterInput runs three nodes, n0..n2, of 500 bursts whose
// input, read by n0 alone, ends at burst 250, with a checkpoint every 200
// bursts, and kills n0 once n2 recorded 260 bursts. Nodes named in
// unrecorded record nothing.
func killCoordinatorAfterInput(t *testing.T, unrecorded map[string]bool) (*faultCluster, string) {
	t.Helper()
	const bursts = 500
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, 250)
	ref := referenceRecord(t, faultGenome, "fp32", inputs, bursts)
	fc := &faultCluster{t: t, dir: t.TempDir(), seed: addr(freePort(t)), creds: writeNodeCreds(t), nodes: map[string]*faultNode{},
		unrecorded: unrecorded}
	fc.common = []string{"--genome", faultGenome, "--precision", "fp32", "--bursts", strconv.Itoa(bursts),
		"--join", fc.seed, "--join-timeout", "90s", "--stall-timeout", "90s", "--failure-timeout", "1s",
		"--rate", "50", "--checkpoint-every", "200", "--expect-nodes", "3"}
	fc.start("n0", fc.seed, "--inputs", inputs)
	fc.start("n1", addr(freePort(t)))
	fc.start("n2", addr(freePort(t)))
	fc.waitBurst("n2", 260)
	fc.signal("n0", syscall.SIGKILL)
	_ = fc.wait("n0")
	return fc, ref
}

// TestClusterReplayCheckedWithoutRecord: as TestClusterReplaysInputLog, but
// n1, which coordinates after n0's node is killed, records nothing: until
// then it saw only its own areas' spikes. It checks the bursts it replays
// against the digests of their first run that n0 sent every node with its
// ticks: every one matches (n1 used to compare its own areas' digests with
// the whole brain's and report each replayed burst as different).
func TestClusterReplayCheckedWithoutRecord(t *testing.T) {
	fc, ref := killCoordinatorAfterInput(t, map[string]bool{"n0": true, "n1": true})
	fc.finish(ref, "n2")
	if err := fc.wait("n1"); err != nil {
		t.Fatalf("node n1: %v\n%s", err, fc.nodes["n1"].out.String())
	}
	out := fc.nodes["n1"].out.String()
	m := regexp.MustCompile(`replay checked.* matched=(\d+) diverged=(\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || m[2] != "0" || strings.Contains(out, "differs from its first run") ||
		!strings.Contains(out, "coordinator=n1") {
		t.Fatalf("n1 did not coordinate and check its replay against the first run, every burst matching:\n%s", out)
	}
}

// TestClusterSurvivesKillOnExternalNATS: three nodes on an external NATS
// cluster of two servers (started here); kill -9 the coordinator's node.
func TestClusterSurvivesKillOnExternalNATS(t *testing.T) {
	urls := externalNATS(t, 2)
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, faultBursts)
	ref := referenceRecord(t, faultGenome, "fp32", inputs, faultBursts)
	fc := newFaultClusterOn(t, urls, faultGenome, "fp32", inputs, faultBursts, 3, "--rate", faultRate, "--checkpoint-every", "25")
	fc.waitBurst("n1", 120)
	fc.signal("n0", syscall.SIGKILL)
	_ = fc.wait("n0")
	fc.finish(ref, "n1", "n2")
	if out := fc.nodes["n1"].out.String(); !strings.Contains(out, "new generation") {
		t.Fatalf("n1 did not start a new generation:\n%s", out)
	}
}

// TestClusterFencesHungNode: a node stopped with SIGSTOP is treated as dead;
// woken, it finds its epoch old, takes no part in what it missed, rejoins
// at the next generation and finishes with the others.
func TestClusterFencesHungNode(t *testing.T) {
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, faultBursts)
	const bursts = 2 * faultBursts // time to rejoin before the end
	ref := referenceRecord(t, faultGenome, "fp32", inputs, bursts)
	fc := newFaultCluster(t, faultGenome, "fp32", inputs, bursts, 3, "--rate", faultRate, "--checkpoint-every", "25")
	fc.waitBurst("n0", 80)
	fc.signal("n2", syscall.SIGSTOP)
	fc.waitOutput("n0", "new generation")
	before := fc.lines("n0")
	fc.waitBurst("n0", before+40) // the brain goes on without n2
	fc.signal("n2", syscall.SIGCONT)
	// Woken, n2 is taken into a new generation (its second start).
	for deadline := time.Now().Add(2 * time.Minute); strings.Count(fc.nodes["n2"].out.String(), "generation started") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("n2 did not rejoin:\n%s\nn0:\n%s\nn1:\n%s", fc.nodes["n2"].out.String(),
				fc.nodes["n0"].out.String(), fc.nodes["n1"].out.String())
		}
	}
	fc.finish(ref, "n0", "n1")
	if err := fc.wait("n2"); err != nil {
		t.Fatalf("woken node n2: %v\n%s", err, fc.nodes["n2"].out.String())
	}
	// What n2 recorded is the reference's, burst for burst, with the gap
	// of its sleep.
	linesOf(t, ref, fc.nodes["n2"].record)
}

// TestClusterJoinAndLeave: a fourth node joins mid-run and takes an area
// from another node; then n1 leaves on SIGTERM and exits 0 after handing
// its area over. No burst is
// lost or repeated: the records of the nodes there from start to end equal
// the reference, and the newcomer's is the reference's tail.
func TestClusterJoinAndLeave(t *testing.T) {
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, faultBursts)
	// Long enough for a newcomer to start and join, and a node to leave,
	// on a loaded machine, before the last burst.
	const bursts = 1500
	ref := referenceRecord(t, faultGenome, "fp32", inputs, bursts)
	fc := newFaultCluster(t, faultGenome, "fp32", inputs, bursts, 3, "--rate", faultRate, "--checkpoint-every", "25")
	fc.waitBurst("n0", 60)
	// With four times the capacity, the newcomer takes the brain's largest
	// area from the node that ran it (this genome's placement otherwise
	// leaves a newcomer idle: that one area outweighs all the others).
	fc.start("n3", addr(freePort(t)), "--capacity", "4")
	fc.waitOutput("n3", "generation started")
	if out := fc.nodes["n3"].out.String(); strings.Contains(out, "areas_here=0 ") {
		t.Fatalf("the newcomer took no area:\n%s", out)
	}
	at := fc.lines("n0")
	fc.waitBurst("n0", at+30)
	fc.signal("n1", syscall.SIGTERM)
	if err := fc.wait("n1"); err != nil {
		t.Fatalf("n1 did not leave cleanly: %v\n%s", err, fc.nodes["n1"].out.String())
	}
	fc.finish(ref, "n0", "n2")
	if err := fc.wait("n3"); err != nil {
		t.Fatalf("n3: %v\n%s", err, fc.nodes["n3"].out.String())
	}
	rec := mustRead(t, fc.nodes["n3"].record)
	if rec == "" || !strings.HasSuffix(ref, rec) {
		t.Fatalf("the newcomer's record is not the reference's tail (%d bytes):\n%s", len(rec), fc.nodes["n3"].out.String())
	}
}

// motorWatch is a node motor watch process printing every motor frame.
type motorWatch struct {
	cmd *exec.Cmd
	out syncbuf.Buffer
}

// watchMotors starts node motor watch --all on node name's NATS server
// (the node runs with --nats-listen) and waits until it subscribed.
func (fc *faultCluster) watchMotors(name string) *motorWatch {
	t := fc.t
	t.Helper()
	fc.waitOutput(name, "NATS listening")
	out := fc.nodes[name].out.String()
	i := strings.Index(out, "url=nats://")
	if i < 0 {
		t.Fatalf("node %s does not say where NATS listens:\n%s", name, out)
	}
	url := strings.Fields(out[i+len("url="):])[0]
	w := &motorWatch{}
	w.cmd = exec.Command(nodeBinary(t), "motor", "watch", "--all", "--nats", url, "--nats-creds", fc.creds, "--timeout", "3m")
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = w.cmd.Process.Kill(); <-done })
	return w
}

// check stops the watch and checks that every area's frames name
// consecutive bursts — no burst twice, none missing — up to the last.
func (w *motorWatch) check(t *testing.T, last int) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	byArea := map[string][]int{}
	for _, line := range strings.Split(w.out.String(), "\n") {
		var f struct {
			Area  string `json:"area"`
			Burst int    `json:"burst"`
		}
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &f) != nil {
			continue
		}
		byArea[f.Area] = append(byArea[f.Area], f.Burst)
	}
	if len(byArea) == 0 {
		t.Fatalf("no motor frame seen:\n%s", w.out.String())
	}
	for area, bs := range byArea {
		for k := 1; k < len(bs); k++ {
			if bs[k] != bs[k-1]+1 {
				t.Fatalf("area %s: motor frame of burst %d follows burst %d (a frame twice, or one lost)", area, bs[k], bs[k-1])
			}
		}
		if bs[len(bs)-1] != last {
			t.Fatalf("area %s: last motor frame of burst %d, want %d", area, bs[len(bs)-1], last)
		}
	}
}

// linesOf checks that every line of the record at path is a line of ref.
func linesOf(t *testing.T, ref, path string) {
	t.Helper()
	refLines := map[string]bool{}
	for _, l := range strings.Split(ref, "\n") {
		refLines[l] = true
	}
	for _, l := range strings.Split(mustRead(t, path), "\n") {
		if !refLines[l] {
			t.Fatalf("%s holds a burst the reference does not have:\n%.300s", path, l)
		}
	}
}

func slicesDelete(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// TestClusterTwoNodesLoseOne: a two-node cluster whose coordinator dies goes
// on with the survivor running the whole brain; node cluster status, asked
// meanwhile, shows the new epoch, the survivor owning every area, the last
// checkpoint and the recovery.
func TestClusterTwoNodesLoseOne(t *testing.T) {
	const bursts = 700
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, bursts)
	ref := referenceRecord(t, faultGenome, "int8", inputs, bursts)
	fc := newFaultCluster(t, faultGenome, "int8", inputs, bursts, 1, "--rate", faultRate, "--checkpoint-every", "25")
	natsPort := freePort(t)
	// n0 was started alone with --expect-nodes 1: once its brain runs, n1
	// joins it.
	fc.waitOutput("n0", "generation started")
	fc.start("n1", addr(freePort(t)), "--nats-listen", addr(natsPort))
	fc.waitOutput("n1", "generation started")
	fc.waitBurst("n1", 200)
	fc.signal("n0", syscall.SIGKILL)
	_ = fc.wait("n0")
	fc.waitOutput("n1", "replay checked")
	cmd := exec.Command(nodeBinary(t), "cluster", "status", "--nats", "nats://"+addr(natsPort), "--nats-creds", fc.creds, "--timeout", "10s")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node cluster status: %v\n%s", err, out)
	}
	st := string(out)
	for _, want := range []string{"coordinator      n1", "recoveries       1", "phase            running"} {
		if !strings.Contains(st, want) {
			t.Fatalf("status does not show %q:\n%s", want, st)
		}
	}
	if strings.Count(st, " n1\n") < len(plan.Areas) {
		t.Fatalf("status does not place all %d areas on n1:\n%s", len(plan.Areas), st)
	}
	// n1 joined mid-run: its record is the reference's tail.
	if err := fc.wait("n1"); err != nil {
		t.Fatalf("n1: %v\n%s", err, fc.nodes["n1"].out.String())
	}
	rec := mustRead(t, fc.nodes["n1"].record)
	if rec == "" || !strings.HasSuffix(ref, rec) {
		t.Fatalf("n1's record is not the reference's tail (%d bytes):\n%s", len(rec), fc.nodes["n1"].out.String())
	}
}
