package brain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/internal/natsauth"
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
