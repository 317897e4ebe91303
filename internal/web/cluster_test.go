package web_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/web"
)

// TestClusterNodes runs a brain over two nodes in this process (real
// memberlist and NATS over loopback), each with its HTTP API: both
// describe the same brain and its placement, and a change sent to the node
// that does not coordinate reaches the coordinator.
func TestClusterNodes(t *testing.T) {
	// startNode returns once HTTP listens, before the node grows and joins.
	cfgA, cfgB := pairConfigs(t, "webtest", 0)
	a := startNode(t, cfgA)
	b := startNode(t, cfgB)
	// The coordinator stops first and ends the run on both nodes (a node
	// that leaves first leaves the coordinator waiting for its areas).
	t.Cleanup(func() { a.close(); b.close() })
	a.waitReady()
	b.waitReady()

	var ia, ib web.BrainInfo
	a.getJSON("/v1/brain", http.StatusOK, &ia)
	b.getJSON("/v1/brain", http.StatusOK, &ib)
	if ia.Node != "a" || ib.Node != "b" || ia.Coordinator != "a" || ib.Coordinator != "a" || len(ib.Nodes) != 2 {
		t.Fatalf("nodes: a says %s/%s, b says %s/%s %v", ia.Node, ia.Coordinator, ib.Node, ib.Coordinator, ib.Nodes)
	}
	if ia.RateHz == nil || ib.RateHz != nil {
		t.Fatalf("only the coordinator knows the rate: a %v, b %v", ia.RateHz, ib.RateHz)
	}
	var aa, ab web.AreasInfo
	a.getJSON("/v1/areas", http.StatusOK, &aa)
	b.getJSON("/v1/areas", http.StatusOK, &ab)
	owned := map[string]int{}
	for i, x := range aa.Areas {
		y := ab.Areas[i]
		if x.Owner != y.Owner || x.ID != y.ID || (x.Owner != "a" && x.Owner != "b") {
			t.Fatalf("area %d: a says %+v, b says %+v", i, x.Area, y.Area)
		}
		owned[x.Owner]++
		if !x.Observed || y.Observed != (y.Owner == "b") {
			t.Errorf("area %d on %s: observed by a %v, by b %v", i, x.Owner, x.Observed, y.Observed)
		}
	}
	for name, n := range map[string]*node{"a": a, "b": b} {
		m := n.scrape()
		if v, _ := value(m, "spikemesh_cluster_members"); v != 2 {
			t.Errorf("node %s: %v members", name, v)
		}
		if v, _ := value(m, "spikemesh_areas_owned"); int(v) != owned[name] {
			t.Errorf("node %s: owns %v areas, the placement says %d", name, v, owned[name])
		}
		if v, _ := value(m, "spikemesh_nats_messages_sent_total", "conn", "runtime"); v == 0 {
			t.Errorf("node %s: no lock step messages counted", name)
		}
	}

	// A pause sent to b pauses the brain: a, the coordinator, says so.
	code, _, data := b.do(http.MethodPost, "/v1/pause", "")
	var st web.Stats
	if code != http.StatusOK || jsonDecode(data, &st) != nil || !st.Paused {
		t.Fatalf("POST /v1/pause to b: %d %s", code, data)
	}
	a.getJSON("/v1/brain", http.StatusOK, &ia)
	if !ia.Paused || ia.State != "paused" {
		t.Fatalf("after a pause through b, a says paused %v, state %s", ia.Paused, ia.State)
	}
	b.getJSON("/v1/stats", http.StatusOK, &st) // answered by the coordinator
	if !st.Paused {
		t.Fatalf("b's /v1/stats: %+v", st)
	}
	code, _, data = b.do(http.MethodPost, "/v1/rate", `{"hz": 25}`)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/rate to b: %d %s", code, data)
	}
	a.getJSON("/v1/brain", http.StatusOK, &ia)
	if ia.RateHz == nil || *ia.RateHz != 25 {
		t.Fatalf("after rate 25 through b, a says %v", ia.RateHz)
	}
	if code, _, data = b.do(http.MethodPost, "/v1/resume", ""); code != http.StatusOK {
		t.Fatalf("POST /v1/resume to b: %d %s", code, data)
	}
	b.waitBurst(st.Burst + 5)
}

// TestClusterNodesAfterLeave: when the coordinator of a two-node brain
// leaves, the other node runs the next generation with every area, and its
// HTTP API says so: coordinator, members, epoch, the owner of every area.
func TestClusterNodesAfterLeave(t *testing.T) {
	cfgA, cfgB := pairConfigs(t, "webleave", 2*time.Second)
	a := startNode(t, cfgA)
	b := startNode(t, cfgB)
	t.Cleanup(func() { b.close() })
	a.waitReady()
	b.waitReady()
	var ib web.BrainInfo
	b.getJSON("/v1/brain", http.StatusOK, &ib)
	if ib.Coordinator != "a" || ib.Epoch != 1 || len(ib.Nodes) != 2 {
		t.Fatalf("before: b says coordinator %s, epoch %d, nodes %v", ib.Coordinator, ib.Epoch, ib.Nodes)
	}
	a.close() // a leaves: its areas move to b
	deadline := time.Now().Add(time.Minute)
	for ib.Coordinator != "b" || ib.Epoch < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a minute after a left, b says coordinator %s, epoch %d, nodes %v\n%s", ib.Coordinator, ib.Epoch, ib.Nodes, b.log)
		}
		time.Sleep(50 * time.Millisecond)
		b.getJSON("/v1/brain", http.StatusOK, &ib)
	}
	if len(ib.Nodes) != 1 || ib.Nodes[0] != "b" {
		t.Fatalf("after a left, b lists the nodes %v", ib.Nodes)
	}
	var ab web.AreasInfo
	b.getJSON("/v1/areas", http.StatusOK, &ab)
	for i, x := range ab.Areas {
		if x.Owner != "b" || !x.Observed {
			t.Fatalf("area %d after a left: owner %q, observed %v", i, x.Owner, x.Observed)
		}
	}
	b.waitBurst(ib.Burst + 5)
}

// pairConfigs returns the settings of nodes a and b of one two-node
// cluster on loopback with cluster label label and failure timeout
// failure (0: the default).
func pairConfigs(t *testing.T, label string, failure time.Duration) (a, b func(*brain.Config)) {
	mlA, mlB, rtA, rtB := freePort(t), freePort(t), freePort(t), freePort(t)
	creds, _ := nodeCreds(t)
	cfg := func(name string, ml, route int) func(*brain.Config) {
		return func(c *brain.Config) {
			c.NATSCreds = creds
			c.Cluster = brain.ClusterConfig{Bind: fmt.Sprintf("127.0.0.1:%d", ml), NodeName: name,
				Join: []string{fmt.Sprintf("127.0.0.1:%d", mlA), fmt.Sprintf("127.0.0.1:%d", mlB)}, ExpectNodes: 2,
				NATSCluster: fmt.Sprintf("127.0.0.1:%d", route), JoinTimeout: time.Minute, Label: label,
				FailureTimeout: failure}
		}
	}
	return cfg("a", mlA, rtA), cfg("b", mlB, rtB)
}
