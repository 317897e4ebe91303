package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// nodeEngines builds the fake engines of the areas table places on node n
// (nil for the others).
func nodeEngines(plan *cortical.Plan, table Table, n NodeID) ([]npu.Engine, []*fakeEngine) {
	engines, fakes := fakeEngines(plan)
	for i := range engines {
		if table[i] != n {
			engines[i] = nil
		}
	}
	return engines, fakes
}

// alternating places area i on nodes[i mod len(nodes)].
func alternating(plan *cortical.Plan, nodes []NodeID) Table {
	table := make(Table, len(plan.Areas))
	for i := range table {
		table[i] = nodes[i%len(nodes)]
	}
	return table
}

// leadSensors is the sensory input of the k-th node: pulses of areas of n
// neurons on the coordinator (k = 0); none on the others, which get their
// points with the ticks.
func leadSensors(k, n int) Sensors {
	if k == 0 {
		return pulses{n}
	}
	return nil
}

// runNodes runs every runtime (handshake, then bursts bursts) on its own
// goroutine; each one's error comes on the channel.
func runNodes(ctx context.Context, rts []*Runtime, bursts uint64) <-chan error {
	errs := make(chan error, len(rts))
	for _, r := range rts {
		go func() {
			err := r.Handshake(ctx)
			if err == nil {
				err = r.Run(ctx, bursts)
			}
			errs <- err
		}()
	}
	return errs
}

// clusterRun runs plan on len(nodes) runtimes of one process that talk only
// over NATS, placed by place, with the lock step's window, and returns the
// records of the coordinator and of an observing follower.
func clusterRun(t *testing.T, seed uint64, nodes []NodeID, place func(area int) NodeID, bursts uint64, interval time.Duration, window int) (lead, follow [][][]uint32, rts []*Runtime) {
	t.Helper()
	ns := startNATS(t)
	plan := fakePlan(seed, 9, 24)
	table := make(Table, len(plan.Areas))
	for i := range table {
		table[i] = place(i)
	}
	recs := make([]recorder, len(nodes))
	for k, n := range nodes {
		engines, _ := nodeEngines(plan, table, n)
		cl := &Cluster{Nodes: nodes, Coordinator: nodes[0], Observe: k == 1, Observed: true}
		sensors := leadSensors(k, 24)
		rts = append(rts, newRuntime(t, Config{Plan: plan, Engines: engines, Placement: table, Node: n, Cluster: cl,
			Run: 77, Epoch: 3, Dial: dialer(ns), Sensors: sensors, Observer: recs[k].observe,
			StallTimeout: time.Minute, Interval: interval, Window: window}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(rts))
	for k, r := range rts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[k] = r.Handshake(ctx); errs[k] == nil {
				errs[k] = r.Run(ctx, bursts)
			}
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("node %s: %v", nodes[k], err)
		}
	}
	return recs[0].bursts, recs[1].bursts, rts
}

// TestClusterMatchesSequential: a brain whose areas are spread over three
// runtimes that talk only over NATS gives the sequential spike trains, bit
// for bit, for several placements (one node holding nothing, every area on
// its own node's neighbour, all areas on a follower) and lock-step windows.
func TestClusterMatchesSequential(t *testing.T) {
	nodes := []NodeID{"n0", "n1", "n2"}
	places := map[string]func(int) NodeID{
		"round-robin":      func(i int) NodeID { return nodes[i%3] },
		"coordinator-idle": func(i int) NodeID { return nodes[1+i%2] },
		"all-on-n2":        func(int) NodeID { return "n2" },
		"blocks":           func(i int) NodeID { return nodes[min(i/3, 2)] },
	}
	for name, place := range places {
		for _, window := range []int{1, 2, 3, 4, 6} {
			t.Run(fmt.Sprintf("%s/window=%d", name, window), func(t *testing.T) {
				clusterMatches(t, nodes, place, window)
			})
		}
	}
}

// clusterMatches runs one placement and window and compares both records
// with the sequential run.
func clusterMatches(t *testing.T, nodes []NodeID, place func(int) NodeID, window int) {
	const bursts = 40
	plan := fakePlan(5, 9, 24)
	want := sequential(plan, bursts, pulses{24})
	lead, follow, rts := clusterRun(t, 5, nodes, place, bursts, 0, window)
	compareRuns(t, want, lead)
	compareRuns(t, want, follow)
	for _, r := range rts {
		if ig := r.Ignored(); ig != (Ignored{}) {
			t.Errorf("node %s ignored %+v", r.cfg.Node, ig)
		}
		if r.Completed() != bursts {
			t.Errorf("node %s completed %d", r.cfg.Node, r.Completed())
		}
	}
}

// TestClusterWindowOverlaps: with a window of W the coordinator ticks up
// to burst b+W while a node still runs b+1, and that node holds the ticks
// until its areas are free; never more than the window ahead of the last
// complete burst. Bursts ticked together travel in one Tick, and with W ≥ 4
// a follower whose next tick is already there reports two completions in
// one NodeDone. The spike trains stay the sequential ones.
func TestClusterWindowOverlaps(t *testing.T) {
	for _, window := range []int{2, 4} {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) { windowOverlaps(t, window) })
	}
}

func windowOverlaps(t *testing.T, window int) {
	ns := startNATS(t)
	plan := fakePlan(8, 6, 8)
	nodes := []NodeID{"a", "b"}
	table := alternating(plan, nodes)
	const bursts = 12
	want := sequential(plan, bursts, pulses{8})
	// What travels on the lock step's subjects, in order: the first burst
	// and the number of bursts of every Tick and NodeDone.
	type span struct{ first, n uint64 }
	spy, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	// A channel subscription: the client puts each message in it before it
	// reads what follows, so once a Flush returns every message the server
	// sent before its answer is in the channel.
	seen := make(chan *nats.Msg, 1024)
	if _, err := spy.ChanSubscribe("spikemesh.brain.lockstep.>", seen); err != nil {
		t.Fatal(err)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	recs := make([]recorder, 2)
	block := make(chan struct{})
	var rts []*Runtime
	for k, n := range nodes {
		engines, fakes := nodeEngines(plan, table, n)
		sensors := leadSensors(k, 8)
		if k == 1 {
			fakes[5].blockAt, fakes[5].block = 3, block
		}
		rts = append(rts, newRuntime(t, Config{Plan: plan, Engines: engines, Placement: table, Node: n,
			Cluster: &Cluster{Nodes: nodes, Coordinator: "a", Observe: true, Observed: true}, Run: 1, Dial: dialer(ns),
			Sensors: sensors, Observer: recs[k].observe, StallTimeout: time.Minute, Window: window}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := runNodes(ctx, rts, bursts)
	// Area 5 on b is stuck in burst 3; the ticks through 2+W reach b anyway.
	top := npu.Burst(2 + window)
	for rts[1].lastTick.Load() < top && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	lead, follow := rts[0].lastTick.Load(), rts[1].lastTick.Load()
	done := rts[1].doneBurst[5].Load()
	close(block)
	if follow != top || done != 2 {
		t.Errorf("node b holds the ticks through burst %d while its area 5 finished burst %d; want %d while at 2", follow, done, top)
	}
	if lead != top {
		t.Errorf("the coordinator ticked burst %d with burst 3 incomplete; the window allows %d", lead, top)
	}
	for range rts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	compareRuns(t, want, recs[0].bursts)
	compareRuns(t, want, recs[1].bursts)
	// The coordinator took the last completion, so the server had sent it
	// to the spy as well.
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	var ticks, dones []span
	for len(seen) > 0 {
		m := <-seen
		switch {
		case strings.HasSuffix(m.Subject, ".done"):
			var d brainv1.NodeDone
			if proto.Unmarshal(m.Data, &d) == nil {
				dones = append(dones, span{d.Burst, 1 + uint64(len(d.Later))})
			}
		case strings.Contains(m.Subject, ".tick."):
			var tk brainv1.Tick
			if proto.Unmarshal(m.Data, &tk) == nil && !tk.Stop {
				ticks = append(ticks, span{tk.Burst, 1 + uint64(len(tk.Later))})
			}
		}
	}
	// Every burst ticked and reported exactly once, in order.
	limit := map[string]uint64{"ticks": uint64(window), "completions": uint64(max(1, window/2))}
	for name, spans := range map[string][]span{"ticks": ticks, "completions": dones} {
		next := uint64(1)
		for _, s := range spans {
			if s.first != next || s.n < 1 || s.n > limit[name] {
				t.Fatalf("%s: bursts %d+%d after %d: %v", name, s.first, s.n, next-1, spans)
			}
			next += s.n
		}
		if next != bursts+1 {
			t.Errorf("%s end at burst %d, not %d: %v", name, next-1, bursts, spans)
		}
	}
	if len(ticks) == 0 || ticks[0] != (span{1, uint64(window)}) {
		t.Errorf("the first Tick started bursts %v; want 1 to %d in one message", ticks, window)
	}
	// b finished burst 3 with the ticks of 4 and on waiting: with W ≥ 4 it
	// holds the completion of 3 back and reports 3 and 4 together.
	want34 := span{3, 1}
	if window >= 4 {
		want34 = span{3, 2}
	}
	if !slices.Contains(dones, want34) {
		t.Errorf("completions %v: want bursts %d+%d in one message", dones, want34.first, want34.n)
	}
}

// TestClusterIgnoresForeignTraffic: batches, ticks and completions of
// another run or epoch, malformed ones and ones from unknown nodes are
// counted and ignored; the record is unchanged.
func TestClusterIgnoresForeignTraffic(t *testing.T) {
	ns := startNATS(t)
	nodes := []NodeID{"a", "b"}
	plan := fakePlan(6, 9, 24)
	const bursts = 30
	want := sequential(plan, bursts, pulses{24})
	table := alternating(plan, nodes)
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	forge := func() {
		// Another run, another epoch, garbage, an unknown node.
		pub := func(subj string, m proto.Message) {
			data, _ := proto.Marshal(m)
			_ = nc.Publish(subj, data)
		}
		for _, n := range []string{"a", "b"} {
			_ = nc.Publish("spikemesh.brain.spikes."+n, appendBatch(nil, batchHeader{burst: 3, src: 4, run: 78, epoch: 3}, []uint32{1}, nil))
			_ = nc.Publish("spikemesh.brain.spikes."+n, appendBatch(nil, batchHeader{burst: 3, src: 4, run: 77, epoch: 2}, []uint32{1}, nil))
			_ = nc.Publish("spikemesh.brain.spikes."+n, []byte{0xff, 0xff, 0xff})
		}
		pub("spikemesh.brain.lockstep.tick.b", &brainv1.Tick{Run: 78, Epoch: 3, Burst: 2})
		pub("spikemesh.brain.lockstep.done", &brainv1.NodeDone{Run: 77, Epoch: 3, Burst: 2, Node: "mallory"})
		// A second completion of the burst just done, claiming b fired.
		pub("spikemesh.brain.lockstep.done", &brainv1.NodeDone{Run: 77, Epoch: 3, Burst: 5, Node: "b",
			Areas: []*brainv1.AreaFired{{Area: 3, FiredDelta: []uint32{0, 1}, Count: 2}}})
		_ = nc.Publish("spikemesh.brain.lockstep.done", []byte{0x0a})
		_ = nc.Flush()
	}
	var recs [2]recorder
	recs[0].onB = func(b npu.Burst) {
		if b == 5 {
			forge()
		}
	}
	var rts []*Runtime
	for k, n := range nodes {
		engines, _ := nodeEngines(plan, table, n)
		sensors := leadSensors(k, 24)
		rts = append(rts, newRuntime(t, Config{Plan: plan, Engines: engines, Placement: table, Node: n,
			Cluster: &Cluster{Nodes: nodes, Coordinator: "a"}, Run: 77, Epoch: 3, Dial: dialer(ns),
			Sensors: sensors, Observer: recs[k].observe, WantFired: func() bool { return true }, StallTimeout: time.Minute}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := runNodes(ctx, rts, bursts)
	for range rts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	compareRuns(t, want, recs[0].bursts)
	var total Ignored
	for _, r := range rts {
		ig := r.Ignored()
		total.Run += ig.Run
		total.Epoch += ig.Epoch
		total.Malformed += ig.Malformed
		total.Unknown += ig.Unknown
		total.Stale += ig.Stale
	}
	if total.Run != 3 || total.Epoch != 2 || total.Malformed != 3 || total.Unknown != 1 || total.Stale != 1 {
		t.Fatalf("ignored %+v, want run 3, epoch 2, malformed 3, unknown 1, stale 1", total)
	}
}

// TestClusterHandshakeRefusesOtherPlacement: a follower that computed
// another placement is named by the coordinator's handshake.
func TestClusterHandshakeRefusesOtherPlacement(t *testing.T) {
	ns := startNATS(t)
	plan := fakePlan(7, 6, 8)
	nodes := []NodeID{"a", "b"}
	var rts []*Runtime
	for k, n := range nodes {
		table := make(Table, len(plan.Areas))
		for i := range table {
			table[i] = nodes[(i+k*(i%2))%2] // b disagrees on odd areas
		}
		engines, _ := nodeEngines(plan, table, n)
		rts = append(rts, newRuntime(t, Config{Plan: plan, Engines: engines, Placement: table, Node: n,
			Cluster: &Cluster{Nodes: nodes, Coordinator: "a"}, Run: 1, Dial: dialer(ns)}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _ = rts[1].Handshake(ctx) }()
	err := rts[0].Handshake(ctx)
	if err == nil || !strings.Contains(err.Error(), "node b") || !strings.Contains(err.Error(), "placement") {
		t.Fatalf("handshake = %v, want node b's other placement", err)
	}
}

// TestClusterStallNamesNode: when a follower never completes a burst, the
// coordinator's stall error names it.
func TestClusterStallNamesNode(t *testing.T) {
	ns := startNATS(t)
	plan := fakePlan(8, 6, 8)
	nodes := []NodeID{"a", "b"}
	table := alternating(plan, nodes)
	var rts []*Runtime
	var block chan struct{}
	for _, n := range nodes {
		engines, fakes := nodeEngines(plan, table, n)
		if n == "b" {
			block = make(chan struct{})
			fakes[5].blockAt, fakes[5].block = 4, block
		}
		rts = append(rts, newRuntime(t, Config{Plan: plan, Engines: engines, Placement: table, Node: n,
			Cluster: &Cluster{Nodes: nodes, Coordinator: "a"}, Run: 1, Dial: dialer(ns), StallTimeout: 200 * time.Millisecond}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lead, follower := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(follower)
		err := rts[1].Handshake(ctx)
		if err == nil {
			err = rts[1].Run(ctx, 10)
		}
		// The follower stalls on its own blocked area, or, when the
		// coordinator gave up first and its step was let go, waits in
		// vain for the next tick; never does the brain go on.
		own := err != nil && strings.Contains(err.Error(), "burst 4") && strings.Contains(err.Error(), fmt.Sprintf("5 (%s)", plan.Areas[5].ID))
		orphan := err != nil && strings.Contains(err.Error(), "no tick for burst 5 from the coordinator (node a)")
		if !errors.Is(err, ErrStalled) || !own && !orphan {
			t.Errorf("follower: %v, want its own stall of burst 4 naming area 5, or no tick for burst 5", err)
		}
	}()
	go func() {
		err := rts[0].Handshake(ctx)
		if err == nil {
			err = rts[0].Run(ctx, 10)
		}
		lead <- err
	}()
	err := <-lead
	close(block)
	<-follower
	if err == nil || !strings.Contains(err.Error(), "burst 4") || !strings.Contains(err.Error(), "node b") {
		t.Fatalf("coordinator: %v, want a stall of burst 4 naming node b", err)
	}
}

// TestClusterOverRoutedServers: three runtimes, each connected to its own
// embedded server, the servers routed into one NATS cluster: the handshake
// waits for interest to spread, and the spike trains are the sequential
// ones.
func TestClusterOverRoutedServers(t *testing.T) {
	var servers []*server.Server
	for k := range 3 {
		o := NATSServer{Name: fmt.Sprintf("s%d", k), Cluster: "127.0.0.1:-1", ClusterName: "test"}
		if k > 0 {
			o.Routes = []string{"nats-route://" + servers[0].ClusterAddr().String()}
		}
		ns, err := StartNATS(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		servers = append(servers, ns)
	}
	nodes := []NodeID{"n0", "n1", "n2"}
	plan := fakePlan(11, 9, 24)
	const bursts = 30
	want := sequential(plan, bursts, pulses{24})
	table := make(Table, len(plan.Areas))
	for i := range table {
		table[i] = nodes[(i*7)%3]
	}
	recs := make([]recorder, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, 3)
	// Each node starts running as soon as it exists, the coordinator first:
	// only the handshake keeps its first tick from going to nodes that do
	// not listen yet.
	for k, n := range nodes {
		engines, _ := nodeEngines(plan, table, n)
		sensors := leadSensors(k, 24)
		url := servers[k].ClientURL()
		r := newRuntime(t, Config{Plan: plan, Engines: engines, Placement: table, Node: n,
			Cluster: &Cluster{Nodes: nodes, Coordinator: "n0", Observe: true, Observed: true}, Run: 5,
			Dial:    func(opts ...nats.Option) (*nats.Conn, error) { return nats.Connect(url, opts...) },
			Sensors: sensors, Observer: recs[k].observe, StallTimeout: 10 * time.Second})
		go func() {
			err := r.Handshake(ctx)
			if err == nil {
				err = r.Run(ctx, bursts)
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for k := range recs {
		compareRuns(t, want, recs[k].bursts)
	}
}

// TestClusterCountsOnly: while nothing on the coordinator records or
// watches the brain, the other nodes report how many neurons each area
// fired and a digest of which, not the indices; counts and digests equal
// the sequential run's. Once the observer wants the indices (WantFired),
// they come for every burst ticked after, equal to the sequential run's.
// Every node is told the whole brain's digest of each complete burst
// (Completed): the coordinator at once, the others by its next Tick.
func TestClusterCountsOnly(t *testing.T) {
	const bursts, on, window = 40, 15, 2
	ns := startNATS(t)
	plan := fakePlan(5, 9, 24)
	want := sequential(plan, bursts, pulses{24})
	nodes := []NodeID{"n0", "n1", "n2"}
	table := make(Table, len(plan.Areas))
	for i := range table {
		table[i] = nodes[i%3]
	}
	var wanted atomic.Bool
	type seen struct {
		fired  [][]uint32
		counts []int
		digest uint64
	}
	var got []seen
	observe := func(r *BurstResult) error {
		s := seen{counts: slices.Clone(r.Counts), digest: r.Digest()}
		for _, f := range r.Fired {
			s.fired = append(s.fired, slices.Clone(f))
		}
		got = append(got, s)
		if r.Burst == on {
			wanted.Store(true)
		}
		return nil
	}
	told := make([]map[npu.Burst]uint64, len(nodes)) // Completed, by node
	var toldMu sync.Mutex
	var rts []*Runtime
	for k, n := range nodes {
		engines, _ := nodeEngines(plan, table, n)
		told[k] = map[npu.Burst]uint64{}
		cfg := Config{Plan: plan, Engines: engines, Placement: table, Node: n, Run: 77, Epoch: 3, Dial: dialer(ns),
			Cluster: &Cluster{Nodes: nodes, Coordinator: "n0"}, Sensors: leadSensors(k, 24),
			StallTimeout: time.Minute, Window: window, Completed: func(b npu.Burst, d uint64) {
				toldMu.Lock()
				defer toldMu.Unlock()
				if _, again := told[k][b]; again {
					t.Errorf("node %s told burst %d twice", n, b)
				}
				told[k][b] = d
			}}
		if k == 0 {
			cfg.Observer, cfg.WantFired = observe, wanted.Load
		}
		rts = append(rts, newRuntime(t, cfg))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := runNodes(ctx, rts, bursts)
	for range rts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != bursts {
		t.Fatalf("observed %d bursts, want %d", len(got), bursts)
	}
	left := 0
	for b, s := range got {
		ref := &BurstResult{Fired: want[b]}
		if s.digest != ref.Digest() {
			t.Fatalf("burst %d: digest %x, want %x", b+1, s.digest, ref.Digest())
		}
		for a, f := range want[b] {
			if s.counts[a] != len(f) {
				t.Fatalf("burst %d area %d: count %d, want %d", b+1, a, s.counts[a], len(f))
			}
			switch {
			case s.fired[a] == nil && len(f) > 0:
				if table[a] == "n0" || b+1 > on+window {
					t.Fatalf("burst %d area %d (on %s): no indices", b+1, a, table[a])
				}
				left++
			case !slices.Equal(s.fired[a], f) && len(f) > 0:
				t.Fatalf("burst %d area %d: fired %v, want %v", b+1, a, s.fired[a], f)
			}
		}
	}
	if left == 0 {
		t.Fatal("every completion carried its indices before the observer asked for them")
	}
	// The coordinator is told every burst; the others every burst whose
	// completion a later Tick followed (all but the last window).
	toldMu.Lock()
	defer toldMu.Unlock()
	for k, n := range nodes {
		last := npu.Burst(bursts)
		if k > 0 {
			last -= window
		}
		for b := npu.Burst(1); b <= last; b++ {
			want := (&BurstResult{Fired: want[b-1]}).Digest()
			if d, ok := told[k][b]; !ok || d != want {
				t.Fatalf("node %s: told burst %d's digest %x (%v), want %x", n, b, d, ok, want)
			}
		}
	}
}
