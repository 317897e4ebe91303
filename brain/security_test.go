package brain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/internal/natsauth/natsauthtest"
	"github.com/spikemesh/spikemesh/pns"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// credSet is a users file and one credentials file per role, written for
// one test.
type credSet struct {
	users string
	creds map[natsauth.Role]string
	pass  map[natsauth.Role]string // the passwords, to check that no log shows them
}

func writeCredSet(t *testing.T) credSet {
	t.Helper()
	dir := t.TempDir()
	cs := credSet{users: filepath.Join(dir, "users.yaml"), creds: map[natsauth.Role]string{}, pass: map[natsauth.Role]string{}}
	var users []natsauth.User
	for _, r := range natsauth.Roles {
		u, data, err := natsauth.Generate(string(r)+"1", r, false)
		if err != nil {
			t.Fatal(err)
		}
		c, err := natsauth.ParseCreds(data, "test")
		if err != nil {
			t.Fatal(err)
		}
		cs.pass[r] = c.Password
		path := filepath.Join(dir, string(r)+".creds")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cs.creds[r] = path
		if r != natsauth.RoleNode { // the node's user comes from --nats-creds
			users = append(users, u)
		}
	}
	data, err := natsauth.MarshalUsers(users)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cs.users, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return cs
}

// connectAs connects to url with the credentials of role ("" none).
func connectAs(t *testing.T, url string, cs credSet, role natsauth.Role) (*nats.Conn, error) {
	t.Helper()
	var opts []nats.Option
	opts = append(opts, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}), nats.NoReconnect())
	if role != "" {
		c, err := natsauth.LoadCreds(cs.creds[role], "test")
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, c.Options()...)
	}
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// refused publishes on subject and reports whether the server refused it
// (a permission violation, seen once the publish is flushed).
func refused(t *testing.T, nc *nats.Conn, subject string) bool {
	t.Helper()
	before := nc.LastError()
	if err := nc.Publish(subject, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	err := nc.LastError()
	return err != nil && err != before && strings.Contains(strings.ToLower(err.Error()), "permissions violation")
}

// startSecured runs a brain whose embedded server listens on loopback with
// cs's users, until the test ends; it returns the client URL, the log and
// a channel with Run's result.
func startSecured(t *testing.T, cs credSet, extra func(*Config)) (string, *syncBuffer, <-chan error, context.CancelFunc) {
	t.Helper()
	listen := addr(freePort(t))
	var logs syncBuffer
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := Config{Genome: genomes.Default, Rate: 100, NATSListen: listen, NATSUsers: cs.users, NATSCreds: cs.creds[natsauth.RoleNode],
		Stderr: &logs, Ready: func() { close(ready) }}
	if extra != nil {
		extra(&c)
	}
	go func() {
		_, err := Run(ctx, c)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("run ended before it started: %v\n%s", err, logs.String())
	}
	return "nats://" + listen, &logs, done, cancel
}

// TestRolesEnforced: anonymous and wrong credentials are refused; each
// role may do what it is for and nothing else, as the server enforces; a
// change through control is logged with the operator's name; no log line
// shows a password.
func TestRolesEnforced(t *testing.T) {
	cs := writeCredSet(t)
	url, logs, _, _ := startSecured(t, cs, nil)
	s := pns.Subjects{Prefix: pns.DefaultPrefix, Brain: pns.DefaultBrain}
	base := natsauth.Base(s)

	if _, err := connectAs(t, url, cs, ""); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Fatalf("anonymous client: %v, want an authorization violation", err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.creds")
	if err := os.WriteFile(wrong, []byte("user: sensor1\npassword: guessed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := natsauth.LoadCreds(wrong, "test")
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(url, append(c.Options(), nats.NoReconnect())...); err == nil {
		nc.Close()
		t.Fatal("a wrong password was let in")
	}

	sensor, err := connectAs(t, url, cs, natsauth.RoleSensor)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{base + ".spikes.local", base + ".ctl", base + ".ctl.operator1", base + ".lockstep.done", base + ".motor.x", "other.subject"} {
		if !refused(t, sensor, subj) {
			t.Errorf("sensor client may publish on %s", subj)
		}
	}
	if refused(t, sensor, s.Sensor("aV9fcHJv")) {
		t.Errorf("sensor client may not publish a sensor frame: %v", sensor.LastError())
	}
	motor, err := sensor.SubscribeSync(s.MotorAll())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := motor.NextMsg(time.Minute); err != nil {
		t.Fatalf("the sensor client received no motor frame: %v", err)
	}
	_ = motor.Unsubscribe()
	if _, err := sensor.SubscribeSync(">"); err != nil {
		t.Fatal(err)
	}
	if err := sensor.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := sensor.LastError(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "permissions violation for subscription") {
		t.Errorf("sensor client subscribed to everything: %v", err)
	}

	observer, err := connectAs(t, url, cs, natsauth.RoleObserver)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{s.Sensor("aV9fcHJv"), base + ".ctl", base + ".ctl.observer1", base + ".spikes.local"} {
		if !refused(t, observer, subj) {
			t.Errorf("observer may publish on %s", subj)
		}
	}
	stats := func(nc *nats.Conn, subject string, c *brainv1.Control) *brainv1.Stats {
		t.Helper()
		data, _ := proto.Marshal(c)
		m, err := nc.Request(subject, data, time.Minute)
		if err != nil {
			t.Fatalf("request on %s: %v", subject, err)
		}
		var st brainv1.Stats
		if err := proto.Unmarshal(m.Data, &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	pause := &brainv1.Control{Command: &brainv1.Control_Pause{Pause: &brainv1.Pause{}}}
	// The stats subject answers and changes nothing, even when asked to.
	if st := stats(observer, natsauth.StatsSubject(s), pause); st.Burst == 0 || st.Paused {
		t.Errorf("observer's stats: %v, want bursts and not paused", st)
	}

	operator, err := connectAs(t, url, cs, natsauth.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{base + ".ctl", base + ".ctl.someone", s.Sensor("aV9fcHJv")} {
		if !refused(t, operator, subj) {
			t.Errorf("operator may publish on %s", subj)
		}
	}
	rate := &brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Hz: 77}}}
	stats(operator, natsauth.ControlSubject(s, "operator1"), rate)
	waitFor(t, "the control change in the log", nil, func() bool {
		return strings.Contains(logs.String(), `msg="control: rate set" hz=77 by=operator1`)
	})

	// Node credentials from outside the process may do what a node does.
	node, err := connectAs(t, url, cs, natsauth.RoleNode)
	if err != nil {
		t.Fatal(err)
	}
	if refused(t, node, base+".lockstep.anything") {
		t.Errorf("node refused: %v", node.LastError())
	}
	if !refused(t, node, "elsewhere.subject") {
		t.Error("node may publish outside its brain's subjects")
	}
	for r, p := range cs.pass {
		if strings.Contains(logs.String(), p) {
			t.Errorf("the log shows the %s password", r)
		}
	}
	if !strings.Contains(logs.String(), "Publish Violation") {
		t.Errorf("the refused publishes are not in the log:\n%s", logs.String())
	}
}

// TestListenNeedsCredentials: an embedded server that would listen beyond
// the process without any credentials is refused before anything starts,
// and so is a NATS cluster without the shared node credentials.
func TestListenNeedsCredentials(t *testing.T) {
	_, err := Run(context.Background(), Config{Genome: genomes.Default, Bursts: 1, NATSListen: "127.0.0.1:-1", Quiet: true})
	if err == nil || !strings.Contains(err.Error(), "--nats-users") || !strings.Contains(err.Error(), "--nats-creds") {
		t.Fatalf("--nats-listen without credentials: %v", err)
	}
	err = (&Config{Genome: genomes.Default, Cluster: ClusterConfig{Bind: "127.0.0.1:0", NodeName: "a", NATSCluster: "127.0.0.1:0"}}).Validate()
	if err == nil || !strings.Contains(err.Error(), "--nats-creds") {
		t.Fatalf("--nats-cluster without credentials: %v", err)
	}
}

// TestSameNameRefused: a second brain of the same name on the same NATS
// refuses to start, naming the running one; under another name it runs.
func TestSameNameRefused(t *testing.T) {
	cs := writeCredSet(t)
	url, _, _, _ := startSecured(t, cs, nil)
	_, err := Run(context.Background(), Config{Genome: genomes.Default, Bursts: 3, Free: true, NATS: url,
		NATSCreds: cs.creds[natsauth.RoleNode], Quiet: true})
	if !errors.Is(err, actors.ErrBrainRunning) || !strings.Contains(err.Error(), "--brain") {
		t.Fatalf("second brain of the same name: %v", err)
	}

	// On an open external server, the same, and another name runs.
	ns, err := actors.StartNATS(actors.NATSServer{Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	first := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Genome: genomes.Default, Rate: 100, NATS: ns.ClientURL(), Quiet: true, Ready: func() { close(first) }})
		done <- err
	}()
	select {
	case <-first:
	case err := <-done:
		t.Fatalf("first brain: %v", err)
	}
	_, err = Run(context.Background(), Config{Genome: genomes.Default, Bursts: 3, Free: true, NATS: ns.ClientURL(), Quiet: true})
	if !errors.Is(err, actors.ErrBrainRunning) {
		t.Fatalf("second brain of the same name on an open server: %v", err)
	}
	sum, err := Run(context.Background(), Config{Genome: genomes.Default, Bursts: 3, Free: true, NATS: ns.ClientURL(), Brain: "other", Quiet: true})
	if err != nil || sum.Bursts != 3 {
		t.Fatalf("brain of another name: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Once the first has stopped, the name is free again.
	if _, err := Run(context.Background(), Config{Genome: genomes.Default, Bursts: 3, Free: true, NATS: ns.ClientURL(), Quiet: true}); err != nil {
		t.Fatalf("after the first brain stopped: %v", err)
	}
}

// TestForgedBatchesCounted: with spikes over NATS on a listening server,
// a node-credentialed client that sends one byte, a batch of another run,
// and a replay of every real batch (duplicates) does not stop the brain:
// they are counted, and the record is the record of a clean run.
func TestForgedBatchesCounted(t *testing.T) {
	cs := writeCredSet(t)
	dir := t.TempDir()
	const bursts = 120
	run := func(name string, forge bool) (string, *Summary) {
		listen := addr(freePort(t))
		url := "nats://" + listen
		c := Config{Genome: genomes.Default, Bursts: bursts, Free: true, SpikesViaNATS: true, NATSListen: listen,
			NATSUsers: cs.users, NATSCreds: cs.creds[natsauth.RoleNode], Record: filepath.Join(dir, name), Quiet: true}
		subject := natsauth.Base(pns.Subjects{}) + ".spikes." + actors.NodeToken(actors.LocalNode)
		if forge {
			c.Ready = func() {
				spy, err := connectAs(t, url, cs, natsauth.RoleNode)
				if err != nil {
					t.Error(err)
					return
				}
				other, _ := proto.Marshal(&brainv1.SpikeBatch{Burst: 1, SrcArea: 1, Brain: "brain", Run: 12345, Epoch: 1, FiredDelta: []uint32{0}})
				for _, data := range [][]byte{{0xff}, other} {
					if err := spy.Publish(subject, data); err != nil {
						t.Error(err)
					}
				}
				// Real batches, once more (NoEcho: not our own replays).
				echo, err := nats.Connect(url, append(mustCreds(t, cs.creds[natsauth.RoleNode]), nats.NoEcho())...)
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(echo.Close)
				// A few: a flood of them would overrun the brain's pending
				// limit on the spike subject, a fault of its own (node
				// credentials are trusted not to flood).
				replays := 0
				if _, err := echo.Subscribe(subject, func(m *nats.Msg) {
					if replays < 30 {
						replays++
						_ = echo.Publish(subject, m.Data)
					}
				}); err != nil {
					t.Error(err)
				}
				if err := echo.Flush(); err != nil {
					t.Error(err)
				}
				if err := spy.Flush(); err != nil {
					t.Error(err)
				}
			}
		}
		sum, err := Run(context.Background(), c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return mustRead(t, filepath.Join(dir, name)), sum
	}
	clean, _ := run("clean.jsonl", false)
	forged, sum := run("forged.jsonl", true)
	if forged != clean {
		t.Fatalf("the record differs from a clean run's:\n%s", firstDiff(clean, forged))
	}
	t.Logf("ignored: %+v", sum.Ignored)
	if ig := sum.Ignored; ig.Malformed < 1 || ig.Run < 1 || ig.Duplicate < 1 {
		t.Fatalf("ignored %+v, want the malformed message, the other run's batch and duplicates counted", ig)
	}
}

func mustCreds(t *testing.T, path string) []nats.Option {
	t.Helper()
	c, err := natsauth.LoadCreds(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c.Options()
}

// vmHWM is the peak resident set of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil {
				return kb << 10
			}
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestSlowSubscribersBounded: clients that subscribe to every subject of
// the brain and never read, while another publishes hundreds of
// megabytes, cost the brain's process (a node run of its own, measured by
// its peak resident set) at most the server's pending limit each: the
// server cuts them off as slow consumers, counts them in the stats and the
// log, and the brain keeps bursting.
func TestSlowSubscribersBounded(t *testing.T) {
	cs := writeCredSet(t)
	listen := addr(freePort(t))
	url := "nats://" + listen
	p := startNode(t, "brain", "--genome", genomes.Default, "--rate", "100", "--nats-listen", listen,
		"--nats-users", cs.users, "--nats-creds", cs.creds[natsauth.RoleNode])
	s := pns.Subjects{}
	var node *nats.Conn
	deadline := time.Now().Add(time.Minute)
	for {
		var err error
		if node, err = connectAs(t, url, cs, natsauth.RoleNode); err == nil {
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("node run ended: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no NATS at %s within a minute: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tryStats := func() (*brainv1.Stats, error) {
		m, err := node.Request(natsauth.StatsSubject(s), nil, time.Minute)
		if err != nil {
			return nil, err
		}
		var st brainv1.Stats
		return &st, proto.Unmarshal(m.Data, &st)
	}
	stats := func() *brainv1.Stats {
		t.Helper()
		st, err := tryStats()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// The server listens before the brain subscribes its subjects.
	waitFor(t, "the first bursts", nil, func() bool { st, err := tryStats(); return err == nil && st.Burst > 10 })
	before := vmHWM(t, p.cmd.Process.Pid)
	const slow = 4
	for range slow {
		conn, err := net.Dial("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		connect := fmt.Sprintf("CONNECT {\"user\":\"node1\",\"pass\":%q,\"verbose\":false,\"pedantic\":false}\r\nSUB %s.> 1\r\nPING\r\n",
			cs.pass[natsauth.RoleNode], natsauth.Base(s))
		if _, err := conn.Write([]byte(connect)); err != nil {
			t.Fatal(err)
		}
		// ... and never read.
	}
	payload := make([]byte, 1000*1000)
	const publishes = 400 // 400 MB in all, 1.6 GB towards the slow clients
	for i := range publishes {
		if err := node.Publish(natsauth.Base(s)+".junk", payload); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if i%20 == 19 {
			if err := node.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := node.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slow consumers cut off", nil, func() bool { return stats().SlowConsumers >= slow })
	b0 := stats().Burst
	waitFor(t, "bursts after the flood", nil, func() bool { return stats().Burst > b0+10 })
	grew := vmHWM(t, p.cmd.Process.Pid) - before
	// Each slow client may hold up to actors.MaxPending in the server
	// before it is cut off; the garbage collector may keep as much again,
	// plus some for the publishes in flight.
	bound := int64(2*slow*actors.MaxPending + 128<<20)
	t.Logf("the brain's peak RSS grew by %d MB (bound %d MB)", grew>>20, bound>>20)
	if grew > bound {
		t.Fatalf("the brain's peak RSS grew by %d MB, over the bound of %d MB", grew>>20, bound>>20)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t, time.Minute); err != nil {
		t.Fatalf("node run: %v\n%s", err, p.out.String())
	}
	out := p.out.String()
	if !strings.Contains(out, "Slow Consumer") || !strings.Contains(out, "slow-consumer events: ") {
		t.Errorf("the slow consumers are not in the log and the summary:\n%s", out)
	}
}

// TestClusterSecured: three node processes whose embedded NATS servers
// take only users (the nodes' shared credentials, nkey or password, and a
// users file), with TLS on their client listeners and routes, give the
// reference record.
func TestClusterSecured(t *testing.T) {
	const bursts = 25
	name := "essential_genome.json"
	plan := loadPlan(t, name)
	inputs := writeSchedule(t, plan, bursts)
	ref := referenceRecord(t, name, "fp32", inputs, bursts)
	cert, key, ca := natsauthtest.WriteCert(t)
	cs := writeCredSet(t)
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "node.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, creds := range []string{cs.creds[natsauth.RoleNode], seedFile} {
		t.Run(filepath.Base(creds), func(t *testing.T) {
			spec := clusterSpec{genome: name, precision: "fp32", inputs: inputs, bursts: bursts, nodes: 3,
				creds: creds, extra: []string{"--nats-users", cs.users, "--nats-listen", "127.0.0.1:-1",
					"--nats-tls-cert", cert, "--nats-tls-key", key, "--nats-tls-ca", ca}}
			for k, rec := range runCluster(t, spec) {
				if rec != ref {
					t.Fatalf("node n%d's record differs from the reference:\n%s", k, firstDiff(ref, rec))
				}
			}
		})
	}
}
