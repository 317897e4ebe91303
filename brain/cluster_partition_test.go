package brain

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// netns is a network namespace of the test's own, joined to this host by a
// veth pair: hostIP on the host's end, nsIP inside. Its link can go down
// and up again: a partition.
type netns struct {
	name, hostDev, nsDev, hostIP, nsIP string
}

// newNetns creates the namespace; it needs root (CAP_NET_ADMIN), as the
// machines this project's tests run on have.
func newNetns(t *testing.T) *netns {
	t.Helper()
	id := os.Getpid() % 100000
	n := &netns{name: fmt.Sprintf("smpart%d", id), hostDev: fmt.Sprintf("smh%d", id), nsDev: fmt.Sprintf("smn%d", id),
		hostIP: fmt.Sprintf("10.231.%d.1", id%250), nsIP: fmt.Sprintf("10.231.%d.2", id%250)}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	_ = exec.Command("ip", "netns", "del", n.name).Run() // a leftover of a killed test
	run("netns", "add", n.name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.name).Run() })
	run("link", "add", n.hostDev, "type", "veth", "peer", "name", n.nsDev)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", n.hostDev).Run() })
	run("link", "set", n.nsDev, "netns", n.name)
	run("addr", "add", n.hostIP+"/30", "dev", n.hostDev)
	run("link", "set", n.hostDev, "up")
	run("netns", "exec", n.name, "ip", "addr", "add", n.nsIP+"/30", "dev", n.nsDev)
	run("netns", "exec", n.name, "ip", "link", "set", n.nsDev, "up")
	run("netns", "exec", n.name, "ip", "link", "set", "lo", "up")
	return n
}

// link takes the host's end of the pair up or down.
func (n *netns) link(t *testing.T, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "link", "set", n.hostDev, state).CombinedOutput(); err != nil {
		t.Fatalf("ip link set %s %s: %v\n%s", n.hostDev, state, err, out)
	}
}

// TestClusterPartition: n2 runs in a network namespace of its own whose
// link goes down mid-run. The two nodes that still see each other (a
// majority) go on with the whole brain; n2, alone, does not start a
// brain of its own. When the link comes back, n2 is fenced off by its old
// epoch and taken into the next generation. Records of n0 and n1 equal the
// reference; what n2 recorded is the reference's, with a gap.
func TestClusterPartition(t *testing.T) {
	ns := newNetns(t)
	const bursts = 2 * faultBursts
	plan := loadPlan(t, faultGenome)
	inputs := writeSchedule(t, plan, faultBursts)
	ref := referenceRecord(t, faultGenome, "fp32", inputs, bursts)
	hostAddr := func() string { return ns.hostIP + ":" + strconv.Itoa(freePort(t)) }
	seed := hostAddr()
	fc := &faultCluster{t: t, dir: t.TempDir(), seed: seed, creds: writeNodeCreds(t), nodes: map[string]*faultNode{}}
	fc.common = []string{"--genome", faultGenome, "--precision", "fp32", "--inputs", inputs, "--bursts", strconv.Itoa(bursts),
		"--join", seed, "--join-timeout", "90s", "--stall-timeout", "90s", "--failure-timeout", "1s",
		"--rate", faultRate, "--checkpoint-every", "25", "--expect-nodes", "3"}
	fc.start("n0", seed, "--nats-cluster", hostAddr())
	fc.start("n1", hostAddr(), "--nats-cluster", hostAddr())
	// n2 inside the namespace: `ip netns exec NS node run ...`.
	fc.startIn(ns.name, "n2", ns.nsIP+":"+strconv.Itoa(freePort(t)), "--nats-cluster", ns.nsIP+":"+strconv.Itoa(freePort(t)))
	fc.waitBurst("n0", 80)
	ns.link(t, false)
	fc.waitOutput("n0", "new generation")
	fc.waitBurst("n0", fc.lines("n0")+60)
	fc.waitOutput("n2", "fewer than half")
	ns.link(t, true)
	for deadline := time.Now().Add(2 * time.Minute); strings.Count(fc.nodes["n2"].out.String(), "generation started") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("n2 did not rejoin:\n%s", fc.nodes["n2"].out.String())
		}
	}
	fc.finish(ref, "n0", "n1")
	if err := fc.wait("n2"); err != nil {
		t.Fatalf("n2: %v\n%s", err, fc.nodes["n2"].out.String())
	}
	linesOf(t, ref, fc.nodes["n2"].record)
}
