package actors

import (
	"context"
	"github.com/spikemesh/spikemesh/internal/syncbuf"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/internal/natsauth/natsauthtest"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/pns"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// TestControlIdentityLogged: every change through control is logged with
// the name of the control subject it came on (the bare subject: Unnamed);
// a refused rate is logged as refused; the stats subject changes nothing.
func TestControlIdentityLogged(t *testing.T) {
	ns := startNATS(t)
	plan := fakePlan(12, 6, 8)
	engines, _ := fakeEngines(plan)
	var logs syncbuf.Buffer
	r := newRuntime(t, Config{Plan: plan, Engines: engines, Interval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	nc := natsConn(t, ns)
	ctl, err := r.ServeControl(nc, "p.b.ctl", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Unsubscribe()
	st, err := r.ServeStats(nc, "p.b.stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Unsubscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 0) }()
	request := func(subject string, c *brainv1.Control) *brainv1.Stats {
		t.Helper()
		data, _ := proto.Marshal(c)
		m, err := nc.Request(subject, data, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var s brainv1.Stats
		if err := proto.Unmarshal(m.Data, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	pause := &brainv1.Control{Command: &brainv1.Control_Pause{Pause: &brainv1.Pause{}}}
	request("p.b.ctl.alice", &brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Hz: 250}}})
	request("p.b.ctl.bob", &brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Hz: -1}}})
	request("p.b.stats", pause)
	request("p.b.ctl", &brainv1.Control{Command: &brainv1.Control_SetRate{SetRate: &brainv1.SetRate{Free: true}}})
	if r.Paused() {
		t.Fatal("a pause on the stats subject paused the brain")
	}
	request("p.b.ctl.carol", pause)
	request("p.b.ctl.carol", &brainv1.Control{Command: &brainv1.Control_Resume{Resume: &brainv1.Resume{}}})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{
		`msg="control: rate set" hz=250 by=alice`,
		`msg="control: rate refused (want a positive finite rate)" hz=-1 by=bob`,
		`msg="control: free running" by="` + Unnamed + `"`,
		`msg="control: pause" by=carol`,
		`msg="control: resume" by=carol`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "msg=\"control: "); n != 5 {
		t.Errorf("%d control lines, want 5 (the stats request changes nothing):\n%s", n, out)
	}
}

// TestEmbeddedClusterSecured: two embedded servers with users, TLS on the
// client listener and on routes (certificates signed by one CA), and the
// shared route password form one cluster: a message crosses it, and an
// in-process client presents credentials like any other. A server with
// another route password is not let into the cluster, and a client
// without TLS is refused.
func TestEmbeddedClusterSecured(t *testing.T) {
	cert, key, ca := natsauthtest.WriteCert(t)
	tlsFiles := natsauth.TLS{Cert: cert, Key: key, CA: ca}
	clientTLS, routeTLS, err := tlsFiles.ServerConfigs()
	if err != nil {
		t.Fatal(err)
	}
	node := natsauth.RandomCreds("node")
	s := pns.Subjects{Prefix: "p", Brain: "b"}
	users, nkeys, err := natsauth.ServerUsers(nil, node, s)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	start := func(name, routePassword string, routes ...string) *server.Server {
		o := NATSServer{Name: name, Listen: "127.0.0.1:-1", Cluster: "127.0.0.1:-1", ClusterName: "c", Routes: routes,
			Users: users, Nkeys: nkeys, RouteUser: "node", RoutePassword: routePassword, TLS: clientTLS, RouteTLS: routeTLS,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Secrets: []string{routePassword}}
		ns, err := StartNATS(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		return ns
	}
	a := start("a", node.Password)
	route := "nats-route://" + a.ClusterAddr().String()
	b := start("b", node.Password, route)
	intruder := start("x", "guessed", route)

	clientOpts, err := tlsFiles.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nats.Connect(b.ClientURL(), append(clientOpts, node.Options()...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	inbox, err := sub.SubscribeSync("p.b.x")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	pub, err := nats.Connect("", append(node.Options(), nats.InProcessServer(a))...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		// Interest crosses the route asynchronously: publish until it lands.
		if err := pub.Publish("p.b.x", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if m, err := inbox.NextMsg(100 * time.Millisecond); err == nil {
			if string(m.Data) != "hi" {
				t.Fatalf("got %q", m.Data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message across the route within a minute")
		}
	}
	waitUntil(t, "the intruder's route refused in the log", func() bool {
		return strings.Contains(logs.String(), "Authorization Error") || strings.Contains(logs.String(), "authentication error")
	})
	if n := intruder.NumRoutes(); n != 0 {
		t.Errorf("a server with another route password has %d routes", n)
	}
	if strings.Contains(logs.String(), node.Password) || strings.Contains(logs.String(), "guessed") {
		t.Errorf("the log shows a route password:\n%s", logs.String())
	}
	if nc, err := nats.Connect(a.ClientURL(), append(node.Options(), nats.NoReconnect())...); err == nil {
		nc.Close()
		t.Fatal("a client without TLS was let in")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMaxPayloadFor(t *testing.T) {
	plan := func(neurons ...uint32) *cortical.Plan {
		p := &cortical.Plan{}
		for i, n := range neurons {
			p.Areas = append(p.Areas, cortical.Area{AreaSpec: npu.AreaSpec{Index: i, Dims: [3]uint32{n, 1, 1}, PerVoxel: 1}})
		}
		return p
	}
	if got, capped := MaxPayloadFor(plan(1000, 2000)); got != DefaultMaxPayload || capped {
		t.Errorf("small brain: %d %v, want the default", got, capped)
	}
	big := plan(1_000_000)
	if got, capped := MaxPayloadFor(big); int64(got) != MaxMessageBytes(big) || got <= DefaultMaxPayload || capped {
		t.Errorf("one area of a million neurons: %d %v, want %d", got, capped, MaxMessageBytes(big))
	}
	if got, capped := MaxPayloadFor(plan(10_000_000)); got != MaxPayloadCap || !capped {
		t.Errorf("ten million neurons: %d %v, want the cap", got, capped)
	}
	if _, err := StartNATS(NATSServer{MaxPayload: MaxPayloadCap + 1}); err == nil {
		t.Error("a payload over the cap was accepted")
	}
}
