package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/spikemesh/spikemesh/internal/freeport"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every test here runs real memberlist nodes over 127.0.0.1. Deadlines are
// upper bounds against hanging, never measurements.
const patience = 60 * time.Second

// logBuffer collects a node's log for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var testDigest = Digest{Genome: GenomeDigest([]byte("genome one")), Seed: 7, Precision: "fp32", Bursts: 100}

// nodeConfig is a node on 127.0.0.1 with a log kept for the test. It keeps
// memberlist's LAN failure detection: faster settings make a loaded machine
// (CI runs every package's tests at once) see live nodes as dead.
func nodeConfig(name string, seeds ...string) (Config, *logBuffer) {
	logs := &logBuffer{}
	return Config{
		Name:        name,
		Bind:        "127.0.0.1:0",
		Join:        seeds,
		JoinTimeout: patience,
		Meta: Meta{
			NATSClientURL: "nats://127.0.0.1:4222/" + name,
			NATSRouteURL:  "nats://127.0.0.1:6222/" + name,
			HTTP:          "127.0.0.1:8080/" + name,
			Digest:        testDigest,
			Capacity:      float64(len(name)),
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, logs
}

func start(t *testing.T, cfg Config) *Membership {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// freePort is a port of 127.0.0.1 nothing listens on (at the time of the
// call), from below the ephemeral range (package freeport).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t *testing.T, m *Membership, n int) []Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	ms, err := m.WaitFor(ctx, n)
	if err != nil {
		t.Fatalf("%s: %v", m.Self().Name, err)
	}
	return ms
}

// eventually polls cond until it holds, failing after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func names(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func TestThreeNodesConvergeAndSeeEachOthersMeta(t *testing.T) {
	cfgA, _ := nodeConfig("node-a")
	a := start(t, cfgA)
	cfgB, _ := nodeConfig("node-b", a.Self().Addr)
	b := start(t, cfgB)
	// C knows only B: it learns of A through gossip.
	cfgC, _ := nodeConfig("node-c", b.Self().Addr)
	c := start(t, cfgC)

	want := map[string]Meta{"node-a": cfgA.Meta, "node-b": cfgB.Meta, "node-c": cfgC.Meta}
	for _, m := range []*Membership{a, b, c} {
		ms := waitFor(t, m, 3)
		if got := names(ms); !slices.Equal(got, []string{"node-a", "node-b", "node-c"}) {
			t.Fatalf("%s sees members %v", m.Self().Name, got)
		}
		for _, mb := range ms {
			if mb.Meta != want[mb.Name] {
				t.Fatalf("%s sees %s with meta %+v, want %+v", m.Self().Name, mb.Name, mb.Meta, want[mb.Name])
			}
			if mb.Addr == "" {
				t.Fatalf("%s sees %s without an address", m.Self().Name, mb.Name)
			}
		}
	}

	// A's events: its own join first, then B's and C's (a loaded machine
	// may add a false death and a return, which are skipped).
	var got []string
	for !slices.Contains(got, "node-b") || !slices.Contains(got, "node-c") {
		select {
		case e := <-a.Events():
			if e.Kind == EventJoin {
				got = append(got, e.Member.Name)
			}
		case <-time.After(patience):
			t.Fatalf("join events so far %v", got)
		}
	}
	if got[0] != "node-a" {
		t.Fatalf("A's join events: %v, its own not first", got)
	}
}

func TestJoinRetriesUntilTheSeedIsUp(t *testing.T) {
	port := freePort(t)
	seed := fmt.Sprintf("127.0.0.1:%d", port)
	cfgB, logsB := nodeConfig("node-b", seed)
	type result struct {
		m   *Membership
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := Start(cfgB)
		done <- result{m, err}
	}()
	// Start the seed only once B has failed to reach it.
	eventually(t, "B's first failed round", func() bool { return strings.Contains(logsB.String(), "no seed joined yet") })
	if !strings.Contains(logsB.String(), "no answer from seed "+seed) {
		t.Fatalf("B's log does not say the seed gave no answer:\n%s", logsB)
	}
	cfgA, _ := nodeConfig("node-a")
	cfgA.Bind = seed
	a := start(t, cfgA)
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * patience):
		t.Fatal("B's Start did not return")
	}
	if r.err != nil {
		t.Fatalf("B's Start: %v", r.err)
	}
	t.Cleanup(func() { _ = r.m.Shutdown() })
	waitFor(t, a, 2)
	waitFor(t, r.m, 2)
}

// Every node may be given the same seed list, itself included.
func TestSeedListMayNameTheNodeItself(t *testing.T) {
	portA, portB := freePort(t), freePort(t)
	seeds := []string{fmt.Sprintf("127.0.0.1:%d", portA), fmt.Sprintf("localhost:%d", portB)}
	cfgA, _ := nodeConfig("node-a", seeds...)
	cfgA.Bind = seeds[0]
	cfgA.JoinTimeout = 2 * time.Second
	// A's only other seed is B, not up yet: A cannot join alone.
	if _, err := Start(cfgA); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("A alone with B as its other seed: %v, want no answer", err)
	}
	// B and A, started together, find each other.
	cfgB, _ := nodeConfig("node-b", seeds...)
	cfgB.Bind = fmt.Sprintf("127.0.0.1:%d", portB)
	cfgA.JoinTimeout = patience
	var wg sync.WaitGroup
	ms := make([]*Membership, 2)
	errs := make([]error, 2)
	for i, cfg := range []Config{cfgA, cfgB} {
		wg.Go(func() { ms[i], errs[i] = Start(cfg) })
	}
	wg.Wait()
	for i := range ms {
		if errs[i] != nil {
			t.Fatalf("Start: %v", errs[i])
		}
		t.Cleanup(func() { _ = ms[i].Shutdown() })
	}
	for _, m := range ms {
		if got := names(waitFor(t, m, 2)); !slices.Equal(got, []string{"node-a", "node-b"}) {
			t.Fatalf("members %v", got)
		}
	}
}

func TestNodeOfAnotherBrainIsRefused(t *testing.T) {
	cfgA, logsA := nodeConfig("node-a")
	a := start(t, cfgA)
	cfgX, _ := nodeConfig("node-x", a.Self().Addr)
	cfgX.Meta.Digest.Genome = GenomeDigest([]byte("genome two"))
	cfgX.Meta.Digest.Seed = 8
	x, err := Start(cfgX)
	if err == nil {
		_ = x.Shutdown()
		t.Fatal("a node with another genome and seed joined")
	}
	if !errors.Is(err, ErrDifferentBrain) {
		t.Fatalf("error %v does not wrap ErrDifferentBrain", err)
	}
	msg := err.Error()
	for _, want := range []string{`"node-x"`, `"node-a"`, "genome differs (sha256 " + cfgX.Meta.Digest.Genome[:12] + "… here, " + testDigest.Genome[:12] + "… on node-a)", "seed differs (8 here, 7 on node-a)"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "precision") || strings.Contains(msg, "burst") || strings.Contains(msg, "within") {
		t.Fatalf("error %q names fields that agree, or waited for the timeout", msg)
	}
	// The seed refused the newcomer too.
	eventually(t, "A's refusal", func() bool { return strings.Contains(logsA.String(), "runs a different brain") })
	if got := names(a.Members()); !slices.Equal(got, []string{"node-a"}) {
		t.Fatalf("A's members after the refusal: %v", got)
	}
}

func TestWrongLabelIsToldApartFromNoAnswer(t *testing.T) {
	cfgA, _ := nodeConfig("node-a")
	cfgA.Label = "brain-1"
	a := start(t, cfgA)
	cfgU, _ := nodeConfig("node-u")
	u := start(t, cfgU) // no label

	cases := []struct {
		label, seed string
		want        string
	}{
		{"brain-2", a.Self().Addr, `seed ` + a.Self().Addr + ` answered but its cluster label differs (ours is "brain-2")`},
		{"", a.Self().Addr, `seed ` + a.Self().Addr + ` answered but its cluster label differs (ours is "")`},
		{"brain-2", u.Self().Addr, `seed ` + u.Self().Addr + ` answered but its cluster label differs (it has none, ours is "brain-2")`},
	}
	for _, c := range cases {
		cfgB, _ := nodeConfig("node-b", c.seed)
		cfgB.Label = c.label
		cfgB.JoinTimeout = 3 * time.Second
		b, err := Start(cfgB)
		if err == nil {
			_ = b.Shutdown()
			t.Fatalf("label %q joined %s", c.label, c.seed)
		}
		if !errors.Is(err, ErrLabelDiffers) || errors.Is(err, ErrNoAnswer) {
			t.Fatalf("label %q: error %v is not (only) a label mismatch", c.label, err)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `node "node-b"`) {
			t.Fatalf("error %q does not say %q", err, c.want)
		}
	}
	// The right label joins.
	cfgB, _ := nodeConfig("node-b", a.Self().Addr)
	cfgB.Label = "brain-1"
	b := start(t, cfgB)
	waitFor(t, b, 2)
}

func TestUnreachableSeedEndsTheJoin(t *testing.T) {
	seed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfgB, _ := nodeConfig("node-b", seed)
	cfgB.JoinTimeout = time.Second
	b, err := Start(cfgB)
	if err == nil {
		_ = b.Shutdown()
		t.Fatal("joined a seed nobody runs")
	}
	if !errors.Is(err, ErrNoAnswer) || errors.Is(err, ErrLabelDiffers) {
		t.Fatalf("error %v is not (only) no answer", err)
	}
	for _, want := range []string{`node "node-b" could not join within 1s`, "no answer from seed " + seed} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}

func TestDuplicateNameIsRefused(t *testing.T) {
	cfgA, _ := nodeConfig("node-a")
	a := start(t, cfgA)
	cfgB, _ := nodeConfig("node-a", a.Self().Addr)
	cfgB.JoinTimeout = 2 * time.Second
	b, err := Start(cfgB)
	if err == nil {
		_ = b.Shutdown()
		t.Fatal("a second node-a joined")
	}
	if !errors.Is(err, ErrNameTaken) {
		t.Fatalf("error %v does not wrap ErrNameTaken", err)
	}
	if want := `node name "node-a" is already taken by the live member at ` + a.Self().Addr; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestNodeThatStopsIsSeenDead(t *testing.T) {
	fast := func(c Config) Config {
		c.ProbeInterval = 200 * time.Millisecond
		c.ProbeTimeout = 150 * time.Millisecond
		c.SuspicionMult = 3
		return c
	}
	cfgA, _ := nodeConfig("node-a")
	a := start(t, fast(cfgA))
	cfgB, _ := nodeConfig("node-b", a.Self().Addr)
	b := start(t, fast(cfgB))
	cfgC, _ := nodeConfig("node-c", a.Self().Addr)
	c := start(t, fast(cfgC))
	for _, m := range []*Membership{a, b, c} {
		waitFor(t, m, 3)
	}
	// C stops without a word.
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	timeout := time.After(patience)
	for left := false; !left; {
		select {
		case e := <-a.Events():
			left = e.Kind == EventLeave && e.Member.Name == "node-c"
		case <-timeout:
			t.Fatal("A never reported C gone")
		}
	}
	eventually(t, "A's members to be A and B", func() bool { return slices.Equal(names(a.Members()), []string{"node-a", "node-b"}) })
	// C's events channel is closed.
	for range c.Events() {
	}
}

func TestLeaveAndUpdateReachPeers(t *testing.T) {
	cfgA, _ := nodeConfig("node-a")
	a := start(t, cfgA)
	cfgB, _ := nodeConfig("node-b", a.Self().Addr)
	b := start(t, cfgB)
	waitFor(t, a, 2)

	changed := cfgB.Meta
	changed.HTTP = "127.0.0.1:9999"
	changed.Capacity = 4
	if err := b.UpdateMeta(changed, patience); err != nil {
		t.Fatalf("UpdateMeta: %v", err)
	}
	wantEvent(t, a, EventUpdate, "node-b", func(m Member) bool { return m.Meta == changed })
	if i := slices.IndexFunc(a.Members(), func(m Member) bool { return m.Name == "node-b" }); i < 0 || a.Members()[i].Meta != changed {
		t.Fatalf("A's view of B after the update: %+v", a.Members())
	}

	other := changed
	other.Digest.Precision = "int8"
	if err := b.UpdateMeta(other, patience); err == nil || !strings.Contains(err.Error(), "precision differs (fp32 here, int8 there)") {
		t.Fatalf("UpdateMeta with another digest: %v", err)
	}

	if err := b.Leave(patience); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	wantEvent(t, a, EventLeave, "node-b", nil)
	eventually(t, "A alone", func() bool { return slices.Equal(names(a.Members()), []string{"node-a"}) })
}

func wantEvent(t *testing.T, m *Membership, kind EventKind, name string, check func(Member) bool) {
	t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case e := <-m.Events():
			if e.Kind == kind && e.Member.Name == name && (check == nil || check(e.Member)) {
				return
			}
		case <-timeout:
			t.Fatalf("no %v event for %s", kind, name)
		}
	}
}

func TestWaitForEndsWithTheContext(t *testing.T) {
	cfgA, _ := nodeConfig("node-a")
	a := start(t, cfgA)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ms, err := a.WaitFor(ctx, 2)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 of 2 members (node-a)") || len(ms) != 1 {
		t.Fatalf("WaitFor on a cancelled context: %v, %v", ms, err)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	base, _ := nodeConfig("node-a")
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "node name is empty"},
		{"no bind", func(c *Config) { c.Bind = "" }, "no bind address"},
		{"bad bind", func(c *Config) { c.Bind = "127.0.0.1" }, `bind address "127.0.0.1"`},
		{"bad port", func(c *Config) { c.Bind = "127.0.0.1:99999" }, `port "99999"`},
		{"long label", func(c *Config) { c.Label = strings.Repeat("x", 300) }, "label is 300 bytes"},
		{"huge meta", func(c *Config) { c.Meta.HTTP = strings.Repeat("h", 600) }, "more than the 512 memberlist carries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.edit(&cfg)
			m, err := Start(cfg)
			if err == nil {
				_ = m.Shutdown()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestJoinSucceedsThroughAnyLiveSeed(t *testing.T) {
	cfgA, _ := nodeConfig("node-a")
	a := start(t, cfgA)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfgB, logsB := nodeConfig("node-b", dead, a.Self().Addr)
	b := start(t, cfgB)
	if got := names(waitFor(t, b, 2)); !slices.Equal(got, []string{"node-a", "node-b"}) {
		t.Fatalf("members %v", got)
	}
	if !strings.Contains(logsB.String(), "no answer from seed "+dead) {
		t.Fatalf("B's log does not mention the dead seed:\n%s", logsB)
	}
}
