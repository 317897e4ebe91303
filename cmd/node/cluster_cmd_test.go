package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// clusterTestStatus is a three-node cluster after one recovery, its last
// checkpoint taken at checkpoint.
func clusterTestStatus(checkpoint time.Time) *brainv1.ClusterStatus {
	return &brainv1.ClusterStatus{
		Brain: "pioneer", Run: 0x1f2e3d4c5b6a7988, Epoch: 4, Burst: 12873, Coordinator: "node-a", Phase: "running", Node: "node-b",
		Members: []*brainv1.ClusterMember{
			{Name: "node-a", State: "alive", Coordinator: true, Areas: 5, Capacity: 1, Address: "10.0.0.11:7946"},
			{Name: "node-b", State: "alive", Areas: 4, Capacity: 1, Address: "10.0.0.12:7946"},
			{Name: "node-c", State: "suspect", Areas: 2, Capacity: 0.5, Address: "10.0.0.13:7946"},
		},
		Placement: []*brainv1.AreaPlacement{
			{Index: 0, Id: "aV9fcHJvAAA=", Name: "Proximity sensor", Node: "node-a"},
			{Index: 1, Id: "b19fbW90AAA=", Name: "Motor", Node: "node-b"},
			{Index: 2, Id: "X19fcG93AAA=", Name: "", Node: "node-c"},
		},
		CheckpointBurst: 12800, CheckpointUnixNs: checkpoint.UnixNano(), CheckpointBytes: 3<<20 + 1<<19, CheckpointEvery: 200,
		Recoveries: 1, RollbackBursts: 137,
	}
}

// TestRenderClusterStatus: the header, members and placement for a fixed
// now, aligned in columns.
func TestRenderClusterStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := clusterTestStatus(now.Add(-(2*time.Minute + 5*time.Second + 300*time.Millisecond)))
	var b bytes.Buffer
	if err := renderClusterStatus(&b, st, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"brain            pioneer\n",
		"run              1f2e3d4c5b6a7988\n",
		"epoch            4\n",
		"phase            running\n",
		"last burst       12873\n",
		"coordinator      node-a\n",
		"last checkpoint  burst 12800, 2m5s ago, 3.5 MiB, every 200 bursts\n",
		"recoveries       1 (137 bursts replayed)\n",
		"answered by      node-b\n",
		"MEMBER  STATE    AREAS  CAPACITY  ADDRESS         COORDINATOR\n",
		"node-a  alive    5      1         10.0.0.11:7946  *\n",
		"node-c  suspect  2      0.5       10.0.0.13:7946\n",
		"AREA  ID            NAME              NODE\n",
		"0     aV9fcHJvAAA=  Proximity sensor  node-a\n",
		"2     X19fcG93AAA=  -                 node-c\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)

	for _, c := range []struct {
		burst, every uint64
		at           time.Time
		want         string
	}{
		{0, 200, now, "last checkpoint  none yet (every 200 bursts)\n"},
		{0, 0, now, "last checkpoint  none (checkpoints off)\n"},
		{7, 0, now.Add(-400 * time.Millisecond), "last checkpoint  burst 7, just now, 3.5 MiB\n"},
		{7, 5, now.Add(90 * time.Second), "burst 7, 1m30s in the future (the clocks differ), 3.5 MiB, every 5 bursts\n"},
		{7, 5, time.Unix(0, 0), "burst 7, time unknown,"},
	} {
		st := clusterTestStatus(c.at)
		st.CheckpointBurst, st.CheckpointEvery = c.burst, c.every
		if c.at.Equal(time.Unix(0, 0)) {
			st.CheckpointUnixNs = 0
		}
		var b bytes.Buffer
		if err := renderClusterStatus(&b, st, now); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("burst %d every %d at %v: want %q in\n%s", c.burst, c.every, c.at, c.want, b.String())
		}
	}

	// A name with a tab cannot break the columns; empty tables say so.
	b.Reset()
	if err := renderClusterStatus(&b, &brainv1.ClusterStatus{Brain: "a\tb", Coordinator: ""}, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"brain            \"a\\tb\"\n", "coordinator      -\n", "MEMBER  STATE  AREAS  CAPACITY  ADDRESS  COORDINATOR\n(none)\n", "AREA  ID  NAME  NODE\n(none)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("want %q in\n%s", want, b.String())
		}
	}
}

// clusterCmd runs node cluster with args.
func clusterCmd(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := dispatch(append([]string{"cluster"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestClusterStatusCommand: node cluster status asks a real NATS server
// on the brain's subject, prints the status for people or as JSON that
// reads back to the same message.
func TestClusterStatusCommand(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	subjects := pns.Subjects{Prefix: "lab", Brain: "pioneer"}
	checkpoint := time.Now().Add(-90 * time.Minute)
	want := clusterTestStatus(checkpoint)
	sub, err := natsio.ServeClusterStatus(nc, natsauth.ClusterStatusSubject(subjects), func() *brainv1.ClusterStatus { return want })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	flags := []string{"status", "--nats", s.ClientURL(), "--brain", "pioneer", "--subject-prefix", "lab"}

	code, out, errs := clusterCmd(flags...)
	done := time.Now()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, row := range []string{
		"node-a  alive    5      1         10.0.0.11:7946  *\n",
		"node-b  alive    4      1         10.0.0.12:7946\n",
		"node-c  suspect  2      0.5       10.0.0.13:7946\n",
		"0     aV9fcHJvAAA=  Proximity sensor  node-a\n",
		"1     b19fbW90AAA=  Motor             node-b\n",
		"2     X19fcG93AAA=  -                 node-c\n",
	} {
		if !strings.Contains(out, row) {
			t.Errorf("output lacks %q:\n%s", row, out)
		}
	}
	m := regexp.MustCompile(`last checkpoint  burst 12800, (\S+) ago, 3\.5 MiB, every 200 bursts\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no checkpoint line in\n%s", out)
	}
	ago, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("age %q: %v", m[1], err)
	}
	if lo, hi := 90*time.Minute-time.Second, done.Sub(checkpoint)+time.Second; ago < lo || ago > hi {
		t.Fatalf("checkpoint age %v, want between %v and %v", ago, lo, hi)
	}

	code, out, errs = clusterCmd(append(flags, "--json")...)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errs)
	}
	var got brainv1.ClusterStatus
	if err := protojson.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output does not read back: %v\n%s", err, out)
	}
	if !proto.Equal(&got, want) {
		t.Fatalf("--json read back as %v, want %v", &got, want)
	}
	if !strings.Contains(out, `"rollback_bursts": "137"`) {
		t.Errorf("--json: want protobuf field names:\n%s", out)
	}
}

// TestClusterStatusNoBrain: nobody serving the subject, or a subscriber
// that never answers, gives exit status 1 and an error naming the subject
// and the server.
func TestClusterStatusNoBrain(t *testing.T) {
	s := natstest.Start(t)
	code, out, errs := clusterCmd("status", "--nats", s.ClientURL(), "--brain", "ghost", "--timeout", "2s")
	if code != 1 || out != "" || !strings.Contains(errs, "no brain answers on spikemesh.ghost.cluster.status at "+s.ClientURL()) {
		t.Fatalf("no responders: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if strings.Contains(errs, "goroutine") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("want one line of error, got %q", errs)
	}

	nc := natstest.Connect(t, s)
	mute, err := nc.Subscribe("spikemesh.mute.cluster.status", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	code, _, errs = clusterCmd("status", "--nats", s.ClientURL(), "--brain", "mute", "--timeout", "300ms")
	if code != 1 || !strings.Contains(errs, "no brain answered on spikemesh.mute.cluster.status at "+s.ClientURL()+" within 300ms") {
		t.Fatalf("silent subscriber: exit %d, stderr %q", code, errs)
	}

	code, _, errs = clusterCmd("status", "--nats", "nats://127.0.0.1:1", "--timeout", "1s")
	if code != 1 || !strings.Contains(errs, "connecting to NATS at nats://127.0.0.1:1") {
		t.Fatalf("no server: exit %d, stderr %q", code, errs)
	}
}

// TestClusterStatusRoles: on a server with users, the node answers,
// observers and operators may ask, sensors may not.
func TestClusterStatusRoles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"nats-creds", "--dir", dir, "--user", "node:node,op:operator,obs:observer,eye:sensor"}, &stdout, &stderr); code != 0 {
		t.Fatalf("nats-creds: %s", stderr.String())
	}
	s := securedServer(t, dir)
	node, err := natsauth.LoadCreds(filepath.Join(dir, "node.creds"), "test")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL(), node.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	want := clusterTestStatus(time.Now())
	sub, err := natsio.ServeClusterStatus(nc, natsauth.ClusterStatusSubject(pns.DefaultSubjects()), func() *brainv1.ClusterStatus { return want })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nc.LastError(); err != nil {
		t.Fatalf("the node may not serve the cluster status: %v", err)
	}
	for _, user := range []string{"op", "obs"} {
		code, out, errs := clusterCmd("status", "--nats", s.ClientURL(), "--nats-creds", filepath.Join(dir, user+".creds"), "--json")
		var got brainv1.ClusterStatus
		if code != 0 || protojson.Unmarshal([]byte(out), &got) != nil || !proto.Equal(&got, want) {
			t.Fatalf("as %s: exit %d, %s %s", user, code, out, errs)
		}
	}
	code, _, errs := clusterCmd("status", "--nats", s.ClientURL(), "--nats-creds", filepath.Join(dir, "eye.creds"), "--timeout", "1s")
	if code != 1 || !strings.Contains(errs, "Permissions Violation") {
		t.Fatalf("as a sensor: exit %d, stderr %q", code, errs)
	}
}

// TestClusterUsage: help, and mistakes on the command line exit 2.
func TestClusterUsage(t *testing.T) {
	if code, out, _ := clusterCmd("status", "-h"); code != 0 || !strings.Contains(out, "Usage: node cluster status") || !strings.Contains(out, "-json") {
		t.Fatalf("status -h: %d %q", code, out)
	}
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"help", "cluster"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage: node cluster status") {
		t.Fatalf("help cluster: %d %q", code, stdout.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "missing subcommand"},
		{[]string{"stats"}, `unknown subcommand "stats"`},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--timeout", "0s"}, "--timeout"},
		{[]string{"status", "--brain", "a.b"}, "--brain or --subject-prefix"},
	} {
		if code, _, errs := clusterCmd(c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}
