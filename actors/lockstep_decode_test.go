package actors

import (
	"slices"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// decoder is a runtime with only what decoding the lock step's messages
// reads: 6 areas alternating on nodes a and b (3 to 5 of 16 neurons), run 7,
// epoch 2.
func decoder(window int) *Runtime {
	plan := fakePlan(3, 6, 16)
	r := &Runtime{plan: plan, placement: alternating(plan, []NodeID{"a", "b"}), window: window,
		nodeIndex: map[NodeID]int{"a": 0, "b": 1}}
	r.cfg.Run, r.cfg.Epoch = 7, 2
	return r
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tickOf3 starts bursts 5, 6 and 7, with points for area 3 in 5 and area 4
// in 7.
func tickOf3() *brainv1.Tick {
	return &brainv1.Tick{Run: 7, Epoch: 2, Burst: 5,
		Points: []*brainv1.AreaPoints{{Area: 3, Local: []uint32{3, 15}, P: []float32{1, 2}}},
		Later:  []*brainv1.BurstPoints{{}, {Points: []*brainv1.AreaPoints{{Area: 4, Local: []uint32{0}, P: []float32{4}}}}}}
}

// doneOf2 reports bursts 9 and 10 of node b (areas 3 and 5).
func doneOf2() *brainv1.NodeDone {
	return &brainv1.NodeDone{Run: 7, Epoch: 2, Burst: 9, Node: "b",
		Areas: []*brainv1.AreaFired{{Area: 3, FiredDelta: []uint32{2, 3}, Count: 2, StepNs: 40}, {Area: 5}},
		Later: []*brainv1.BurstFired{{Areas: []*brainv1.AreaFired{{Area: 5, FiredDelta: []uint32{0, 15}, Count: 2}}}}}
}

func TestDecodeTick(t *testing.T) {
	r := decoder(4)
	ticks, why := r.decodeTick(marshal(t, tickOf3()))
	if why != nil || len(ticks) != 3 {
		t.Fatalf("decodeTick: %d ticks, refused %v", len(ticks), why != nil)
	}
	for k, tk := range ticks {
		if tk.burst != uint64(5+k) || tk.stop {
			t.Errorf("tick %d is burst %d (stop %v)", k, tk.burst, tk.stop)
		}
	}
	if !slices.Equal(ticks[0].areas, []int{3}) || ticks[0].points[0][1].Local != 15 || ticks[0].points[0][1].P != 2 ||
		len(ticks[1].areas) != 0 || !slices.Equal(ticks[2].areas, []int{4}) || ticks[2].points[0][0].P != 4 {
		t.Errorf("points: %+v %+v %+v", ticks[0], ticks[1], ticks[2])
	}
	refused := map[string]struct {
		edit func(*brainv1.Tick)
		why  *atomic.Uint64
	}{
		"another run":      {func(t *brainv1.Tick) { t.Run = 8 }, &r.ignored.run},
		"another epoch":    {func(t *brainv1.Tick) { t.Epoch = 1 }, &r.ignored.epoch},
		"burst 0":          {func(t *brainv1.Tick) { t.Burst = 0 }, &r.ignored.malformed},
		"past the window":  {func(t *brainv1.Tick) { t.Later = append(t.Later, nil, nil) }, &r.ignored.malformed},
		"neuron too high":  {func(t *brainv1.Tick) { t.Later[1].Points[0].Local[0] = 16 }, &r.ignored.malformed},
		"unknown area":     {func(t *brainv1.Tick) { t.Points[0].Area = 6 }, &r.ignored.malformed},
		"points unpaired":  {func(t *brainv1.Tick) { t.Points[0].P = t.Points[0].P[:1] }, &r.ignored.malformed},
		"burst overflows":  {func(t *brainv1.Tick) { t.Burst = 1<<64 - 2 }, &r.ignored.malformed},
		"not the protocol": {nil, &r.ignored.malformed},
	}
	for name, c := range refused {
		data := []byte{0xff, 0x01}
		if c.edit != nil {
			tk := tickOf3()
			c.edit(tk)
			data = marshal(t, tk)
		}
		if ticks, why := r.decodeTick(data); why != c.why {
			t.Errorf("%s: %d ticks, refused under the wrong count (%v)", name, len(ticks), why != nil)
		}
	}
	withDigests := tickOf3()
	withDigests.Digests, withDigests.DigestsFrom = []uint64{11, 12}, 3
	if ticks, why := r.decodeTick(marshal(t, withDigests)); why != nil || ticks[0].digestsFrom != 3 ||
		!slices.Equal(ticks[0].digests, []uint64{11, 12}) || ticks[1].digests != nil {
		t.Errorf("digests: %+v, refused %v", ticks, why != nil)
	}
	for name, edit := range map[string]func(*brainv1.Tick){
		"digests from 0":        func(t *brainv1.Tick) { t.DigestsFrom = 0 },
		"digests of the future": func(t *brainv1.Tick) { t.DigestsFrom = 5 },
		"digests run into it":   func(t *brainv1.Tick) { t.DigestsFrom = 4 },
		"too many digests":      func(t *brainv1.Tick) { t.Digests = make([]uint64, maxDigests+1) },
	} {
		tk := tickOf3()
		tk.Digests, tk.DigestsFrom = []uint64{11, 12}, 3
		edit(tk)
		if _, why := r.decodeTick(marshal(t, tk)); why != &r.ignored.malformed {
			t.Errorf("%s: not refused as malformed", name)
		}
	}
	if ticks, why := r.decodeTick(marshal(t, &brainv1.Tick{Run: 7, Epoch: 2, Stop: true, Last: 30})); why != nil ||
		len(ticks) != 1 || !ticks[0].stop || ticks[0].last != 30 {
		t.Errorf("stop: %+v", ticks)
	}
}

func TestDecodeDone(t *testing.T) {
	r := decoder(4)
	rd, why := r.decodeDone(marshal(t, doneOf2()))
	if why != nil {
		t.Fatal("decodeDone refused a good completion")
	}
	if rd.participant != 1 || rd.first != 9 || len(rd.bursts) != 2 {
		t.Fatalf("decodeDone: node %d, bursts %d+%d", rd.participant, rd.first, len(rd.bursts))
	}
	b0, b1 := rd.bursts[0], rd.bursts[1]
	if !slices.Equal(b0.areas, []int{3, 5}) || !slices.Equal(b0.fired[0], []uint32{2, 5}) || len(b0.fired[1]) != 0 ||
		b0.stepNs[0] != 40 || !slices.Equal(b1.areas, []int{5}) || !slices.Equal(b1.fired[0], []uint32{0, 15}) {
		t.Errorf("decodeDone: %+v %+v", b0, b1)
	}
	refused := map[string]struct {
		edit func(*brainv1.NodeDone)
		why  *atomic.Uint64
	}{
		"another run":     {func(d *brainv1.NodeDone) { d.Run = 8 }, &r.ignored.run},
		"unknown node":    {func(d *brainv1.NodeDone) { d.Node = "mallory" }, &r.ignored.unknown},
		"another's area":  {func(d *brainv1.NodeDone) { d.Later[0].Areas[0].Area = 4 }, &r.ignored.unknown},
		"not ascending":   {func(d *brainv1.NodeDone) { d.Later[0].Areas[0].FiredDelta = []uint32{4, 0} }, &r.ignored.malformed},
		"neuron too high": {func(d *brainv1.NodeDone) { d.Areas[0].FiredDelta = []uint32{2, 14} }, &r.ignored.malformed},
		"past the window": {func(d *brainv1.NodeDone) { d.Later = append(d.Later, nil, nil, nil) }, &r.ignored.malformed},
		"burst 0":         {func(d *brainv1.NodeDone) { d.Burst = 0 }, &r.ignored.malformed},
		"count not len":   {func(d *brainv1.NodeDone) { d.Areas[0].Count = 3 }, &r.ignored.malformed},
		"count too high":  {func(d *brainv1.NodeDone) { d.Areas[0].FiredDelta, d.Areas[0].Count = nil, 17 }, &r.ignored.malformed},
	}
	for name, c := range refused {
		d := doneOf2()
		c.edit(d)
		if _, why := r.decodeDone(marshal(t, d)); why != c.why {
			t.Errorf("%s: refused under the wrong count (%v)", name, why != nil)
		}
	}
}

// A completion may leave the indices out (its Tick said counts_only): the
// count and digest are taken instead, unless this leader records the brain
// and so never asked for that.
func TestDecodeDoneCountsOnly(t *testing.T) {
	r := decoder(4)
	d := doneOf2()
	d.Areas[0].FiredDelta, d.Areas[0].Digest = nil, 0xfeed
	rd, why := r.decodeDone(marshal(t, d))
	if why != nil {
		t.Fatal("decodeDone refused a completion with counts only")
	}
	b0 := rd.bursts[0]
	if b0.fired[0] != nil || b0.counts[0] != 2 || b0.digests[0] != 0xfeed || b0.counts[1] != 0 ||
		!slices.Equal(rd.bursts[1].fired[0], []uint32{0, 15}) || rd.bursts[1].counts[0] != 2 {
		t.Errorf("decodeDone: %+v %+v", b0, rd.bursts[1])
	}
	for name, cl := range map[string]*Cluster{"records": {Observe: true}, "observed": {Observed: true}} {
		r.cfg.Cluster = cl
		if _, why := r.decodeDone(marshal(t, d)); why != &r.ignored.malformed {
			t.Errorf("a leader that %s took a completion without indices", name)
		}
		if _, why := r.decodeDone(marshal(t, doneOf2())); why != nil {
			t.Errorf("a leader that %s refused a completion with indices", name)
		}
	}
}

// FuzzDecodeLockstep: whatever arrives on the lock step's subjects, the
// decoders do not panic, and what they accept is within the brain and the
// window: consecutive bursts from 1 on, at most the window of them, known
// areas and neurons, completions only of the sender's areas with ascending
// indices.
func FuzzDecodeLockstep(f *testing.F) {
	f.Add(marshal(f, tickOf3()))
	f.Add(marshal(f, doneOf2()))
	f.Add(marshal(f, &brainv1.Tick{Run: 7, Epoch: 2, Stop: true, Last: 3}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := decoder(3)
		if ticks, why := r.decodeTick(data); why == nil {
			if len(ticks) == 0 || len(ticks) > r.window {
				t.Fatalf("%d ticks from one message", len(ticks))
			}
			for k, tk := range ticks {
				if tk.stop {
					if len(ticks) != 1 {
						t.Fatal("a stop among ticks")
					}
					continue
				}
				if tk.burst == 0 || tk.burst != ticks[0].burst+uint64(k) || len(tk.areas) != len(tk.points) {
					t.Fatalf("tick %d: burst %d after %d", k, tk.burst, ticks[0].burst)
				}
				for j, a := range tk.areas {
					for _, p := range tk.points[j] {
						if a >= len(r.plan.Areas) || p.Local >= r.plan.Areas[a].Neurons() {
							t.Fatalf("burst %d: area %d neuron %d", tk.burst, a, p.Local)
						}
					}
				}
			}
		}
		if rd, why := r.decodeDone(data); why == nil {
			if rd.first == 0 || len(rd.bursts) == 0 || len(rd.bursts) > r.window {
				t.Fatalf("completions %d+%d", rd.first, len(rd.bursts))
			}
			node := []NodeID{"a", "b"}[rd.participant]
			for _, f := range rd.bursts {
				for j, a := range f.areas {
					if r.placement.Node(a) != node || !slices.IsSorted(f.fired[j]) {
						t.Fatalf("node %s: area %d fired %v", node, a, f.fired[j])
					}
					for k, n := range f.fired[j] {
						if n >= r.plan.Areas[a].Neurons() || (k > 0 && n == f.fired[j][k-1]) {
							t.Fatalf("area %d fired %v", a, f.fired[j])
						}
					}
				}
			}
		}
	})
}
