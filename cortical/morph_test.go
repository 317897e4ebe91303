package cortical

import (
	"strings"
	"testing"
)

// Hand-computed synapse lists on small areas, one case per behaviour of
// docs/semantics.md §5.7. Local index = ((x·H + y)·D + z)·n + k; synapses
// reach copy n−1 of a destination voxel. Lists are "src>dst" in CSR order.
func TestMorphologies(t *testing.T) {
	vec := func(v ...[]int) obj { return obj{"type": "vectors", "parameters": obj{"vectors": v}} }
	pat := func(p ...[]any) obj { return obj{"type": "patterns", "parameters": obj{"patterns": p}} }
	fn := obj{"type": "functions", "parameters": obj{}}
	tests := []struct {
		name     string
		src, dst obj
		morph    string
		table    obj
		want     []string
	}{
		// projector (docs/semantics.md §5.7): S > D one target trunc(f32(loc / f32(S/D))).
		{"projector down 4->2", area(4, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "1>0", "2>1", "3>1"}},
		// S < D: every v with trunc(f32(v / f32(D/S))) == loc.
		{"projector up 2->4", area(2, 1, 1, 1, nil), area(4, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "0>1", "1>2", "1>3"}},
		// r = 1.5: 0/1.5 = 0, 1/1.5 = 0.67, 2/1.5 = 1.33.
		{"projector down 3->2", area(3, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "1>0", "2>1"}},
		{"projector up 2->3", area(2, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "0>1", "1>2"}},
		// r = f32(7/3) = 2.3333333: quotients 0, .43, .86, 1.29, 1.71, 2.14, 2.57.
		{"projector down 7->3", area(7, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "1>0", "2>0", "3>1", "4>1", "5>2", "6>2"}},
		{"projector up 3->7", area(3, 1, 1, 1, nil), area(7, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "0>1", "0>2", "1>3", "1>4", "2>5", "2>6"}},
		// x, y, z nested; destination copy k = 1 of 2: local·2 + 1.
		{"projector 3-D, per-voxel copies", area(1, 1, 1, 1, nil), area(2, 2, 2, 2, nil), "projector", nil,
			[]string{"0>1", "0>3", "0>5", "0>7", "0>9", "0>11", "0>13", "0>15"}},
		{"projector source copies", area(2, 1, 1, 2, nil), area(2, 1, 1, 1, nil), "projector", nil,
			[]string{"0>0", "1>0", "2>1", "3>1"}},
		// vectors (docs/semantics.md §5.7): kept only inside the destination, no clamping.
		{"lateral_+x at the edge", area(3, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "lateral_+x", nil,
			[]string{"0>1", "1>2"}},
		{"block_to_block vectors onto smaller", area(3, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "block_to_block", nil,
			[]string{"0>0", "1>1"}},
		// A repeated vector repeats no pair (docs/semantics.md §5.7); list order kept.
		{"vectors both ways, repeated", area(3, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "v",
			obj{"v": vec([]int{1, 0, 0}, []int{-1, 0, 0}, []int{1, 0, 0})},
			[]string{"0>1", "1>2", "1>0", "2>1"}},
		// (0,1,0) + (1,-1,0) = (1,0,0): local 1 → local 2.
		{"vectors 2-D edge", area(2, 2, 1, 1, nil), area(2, 2, 1, 1, nil), "v",
			obj{"v": vec([]int{1, -1, 0})}, []string{"1>2"}},
		// patterns (docs/semantics.md §5.7).
		{"all_to_0-0-0", area(2, 1, 1, 1, nil), area(2, 2, 1, 1, nil), "all_to_0-0-0", nil,
			[]string{"0>0", "1>0"}},
		{"0-0-0_to_all in x, y, z order", area(1, 1, 1, 1, nil), area(2, 1, 2, 1, nil), "0-0-0_to_all", nil,
			[]string{"0>0", "0>1", "0>2", "0>3"}},
		{"? keeps the coordinate inside the destination", area(3, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "p",
			obj{"p": pat([]any{[]any{"?", "?", "?"}, []any{"?", "?", "?"}})}, []string{"0>0", "1>1"}},
		{"! excludes the source coordinate", area(2, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "p",
			obj{"p": pat([]any{[]any{0, 0, 0}, []any{"!", 0, 0}})}, []string{"0>1", "0>2"}},
		{"! in a source pattern matches anything", area(2, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "p",
			obj{"p": pat([]any{[]any{"!", 0, 0}, []any{"*", 0, 0}})}, []string{"0>0", "0>1", "1>0", "1>1"}},
		{"union sorted and de-duplicated", area(2, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "p",
			obj{"p": pat([]any{[]any{0, 0, 0}, []any{2, 0, 0}}, []any{[]any{0, 0, 0}, []any{1, 0, 0}},
				[]any{[]any{"*", 0, 0}, []any{1, 0, 0}})},
			[]string{"0>1", "0>2", "1>1"}},
		{"out-of-range pattern coordinate", area(2, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "p",
			obj{"p": pat([]any{[]any{0, 0, 0}, []any{5, 0, 0}})}, nil},
		// docs/semantics.md §5.7 functions.
		{"expander_x up: f32(5/2) = 2.5", area(2, 1, 1, 1, nil), area(5, 1, 1, 1, nil), "expander_x",
			obj{"expander_x": fn}, []string{"0>0", "1>2"}},
		{"expander_x down: 2·0.667 = 1.33", area(3, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "expander_x",
			obj{"expander_x": fn}, []string{"0>0", "1>0", "2>1"}},
		{"reducer_x: bit i of x to (i,0,0)", area(8, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "reducer_x",
			obj{"reducer_x": fn},
			[]string{"1>0", "2>1", "3>0", "3>1", "4>2", "5>0", "5>2", "6>1", "6>2", "7>0", "7>1", "7>2"}},
		{"lateral_pairs_x: odd width", area(5, 1, 1, 1, nil), area(5, 1, 1, 1, nil), "lateral_pairs_x",
			obj{"lateral_pairs_x": fn}, []string{"0>1", "1>0", "2>3", "3>2"}},
		{"lateral_pairs_x: narrower destination", area(5, 1, 1, 1, nil), area(3, 1, 1, 1, nil), "lateral_pairs_x",
			obj{"lateral_pairs_x": fn}, []string{"0>1", "1>0", "3>2"}},
		// Last voxel (1,1,0) of 2x2x1, n = 2: locals 6 and 7.
		{"last_to_first", area(2, 2, 1, 2, nil), area(2, 1, 1, 1, nil), "last_to_first",
			obj{"last_to_first": fn}, []string{"6>0", "7>0"}},
		// Per voxel, highest copy (1, 3, 5), clamped to the destination.
		{"block_to_block as a function", area(3, 1, 1, 2, nil), area(2, 1, 1, 1, nil), "block_to_block",
			obj{"block_to_block": fn}, []string{"1>0", "3>1", "5>1"}},
		{"episodic_memory creates nothing", area(2, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "episodic_memory", nil, nil},
		{"composite creates nothing", area(2, 1, 1, 1, nil), area(2, 1, 1, 1, nil), "tile",
			obj{"tile": obj{"type": "composite", "parameters": obj{"src_seed": []int{1, 1, 1}}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := growPairs(t, tc.src, tc.dst, []any{rule8(tc.morph, 1)}, tc.table)
			if !equalStrings(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestRulesInOneConnection checks creation order (docs/semantics.md §3.4) and the vectors
// de-duplication against earlier rules (docs/semantics.md §5.7).
func TestRulesInOneConnection(t *testing.T) {
	// Rule 0 block_to_block: 0>0, 1>1. Rule 1 vectors (0,0,0), (1,0,0):
	// 0>0 and 1>1 exist already, 1>2 is outside: only 0>1.
	table := obj{"v": obj{"type": "vectors", "parameters": obj{"vectors": [][]int{{0, 0, 0}, {1, 0, 0}}}}}
	src := area(2, 1, 1, 1, obj{"c_dst": []any{rule8("block_to_block", 1), rule8("v", 1)}})
	p := mustLoad(t, hierGenome(t, obj{"c_src": src, "c_dst": area(2, 1, 1, 1, nil)}, table), Options{})
	if got, want := pairs(connection(t, p, "c_src", "c_dst")), []string{"0>0", "0>1", "1>1"}; !equalStrings(got, want) {
		t.Errorf("docs/semantics.md §5.7: got %v, want %v", got, want)
	}
	if len(p.Rules) != 2 || p.Rules[0].Synapses != 2 || p.Rules[1].Synapses != 1 || p.Rules[1].Rule != 1 {
		t.Errorf("rule stats %+v", p.Rules)
	}

	// Rule 0 block_to_block (multiplier −2), rule 1 pattern (*,0,0) →
	// (2,0,0): each source neuron lists rule 0's synapse first. Patterns do
	// not de-duplicate against earlier rules, so 2>2 appears twice.
	pat := obj{"p": obj{"type": "patterns", "parameters": obj{"patterns": []any{[]any{[]any{"*", 0, 0}, []any{2, 0, 0}}}}}}
	src = area(3, 1, 1, 1, obj{"c_dst": []any{rule8("block_to_block", -2), rule8("p", 1)}})
	p = mustLoad(t, hierGenome(t, obj{"c_src": src, "c_dst": area(3, 1, 1, 1, nil)}, pat), Options{})
	c := connection(t, p, "c_src", "c_dst")
	if got, want := pairs(c), []string{"0>0", "0>2", "1>1", "1>2", "2>2", "2>2"}; !equalStrings(got, want) {
		t.Fatalf("creation order: got %v, want %v", got, want)
	}
	// Rule 0 is inhibitory with weight 2.
	wantW := []uint8{2, 1, 2, 1, 2, 1}
	wantI := []bool{true, false, true, false, true, false}
	for i := range wantW {
		if c.Weight[i] != wantW[i] || c.Inhibitory[i] != wantI[i] {
			t.Errorf("synapse %d: weight %d inhibitory %v, want %d %v", i, c.Weight[i], c.Inhibitory[i], wantW[i], wantI[i])
		}
	}
	// The same rules the other way round: the vectors rule (block_to_block)
	// now comes second and skips 2>2, which the pattern made (docs/semantics.md §5.7).
	src = area(3, 1, 1, 1, obj{"c_dst": []any{rule8("p", 1), rule8("block_to_block", -2)}})
	p2 := mustLoad(t, hierGenome(t, obj{"c_src": src, "c_dst": area(3, 1, 1, 1, nil)}, pat), Options{})
	if got, want := pairs(connection(t, p2, "c_src", "c_dst")), []string{"0>2", "0>0", "1>2", "1>1", "2>2"}; !equalStrings(got, want) {
		t.Errorf("vectors after patterns: got %v, want %v", got, want)
	}
	for s, want := range []uint32{2, 2, 2} {
		if c.OutDegree[s] != want {
			t.Errorf("out-degree of %d: %d, want %d", s, c.OutDegree[s], want)
		}
	}
}

// TestSynapseParameters checks docs/semantics.md §5.3: weight from the multiplier, PSP from
// the source area, inhibitory when negative, out-degree over every
// destination (docs/semantics.md §3.2).
func TestSynapseParameters(t *testing.T) {
	src := area(2, 1, 1, 1, obj{
		"c_a": []any{rule8("block_to_block", -300)},
		"c_b": []any{rule8("all_to_0-0-0", 2.5)},
	})
	src["postsynaptic_current"] = 600
	src["psp_uniform_distribution"] = true
	other := area(1, 1, 1, 1, obj{"c_b": []any{rule8("block_to_block", 7)}})
	other["postsynaptic_current"] = 2.7
	p := mustLoad(t, hierGenome(t, obj{"c_src": src, "c_oth": other, "c_a": area(2, 1, 1, 1, nil), "c_b": area(1, 1, 1, 1, nil)}, nil), Options{})
	a := connection(t, p, "c_src", "c_a")
	if a.PSP != 255 || !a.PSPUniform || a.Weight[0] != 255 || !a.Inhibitory[0] {
		t.Errorf("c_src->c_a: psp %d uniform %v weight %d inhibitory %v; want 255 true 255 true", a.PSP, a.PSPUniform, a.Weight[0], a.Inhibitory[0])
	}
	b := connection(t, p, "c_src", "c_b")
	if b.Weight[0] != 1 || b.Inhibitory[0] {
		t.Errorf("non-integral multiplier: weight %d inhibitory %v, want 1 false", b.Weight[0], b.Inhibitory[0])
	}
	if !hasWarning(p, "non-integral multiplier 2.5 gives weight 1") {
		t.Errorf("no warning for the non-integral multiplier: %q", p.Warnings)
	}
	// Each source neuron of c_src has one synapse to c_a and one to c_b.
	if &a.OutDegree[0] != &b.OutDegree[0] || a.OutDegree[0] != 2 || a.OutDegree[1] != 2 {
		t.Errorf("out-degree %v / %v: want one shared [2 2]", a.OutDegree, b.OutDegree)
	}
	o := connection(t, p, "c_oth", "c_b")
	if o.PSP != 2 || o.PSPUniform || o.Weight[0] != 7 || o.OutDegree[0] != 1 {
		t.Errorf("c_oth->c_b: psp %d uniform %v weight %d out-degree %v", o.PSP, o.PSPUniform, o.Weight[0], o.OutDegree)
	}
}

func hasWarning(p *Plan, sub string) bool {
	for _, w := range p.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestPlasticity checks docs/semantics.md §3.5: the last plastic rule in creation order sets
// the mapping, 7-element rules take physiology's plasticity_queue_depth,
// and a plastic rule that grows nothing still registers its mapping.
func TestPlasticity(t *testing.T) {
	src := area(2, 1, 1, 1, obj{
		"c_a": []any{
			[]any{"block_to_block", []int{1, 1, 1}, 1, true, 2, 3, 200, 5}, // ltd 2·200 → 255
			[]any{"lateral_+x", []int{1, 1, 1}, 1, false, 1, 1, 1, 9},
			[]any{"all_to_0-0-0", []int{1, 1, 1}, 1, true, 1, 7, 1}, // window: queue depth 6
		},
		"c_b": []any{[]any{"lateral_+x", []int{1, 1, 1}, 1, true, 1, 4, 5, 2}}, // 1x1x1: nothing grows
		"c_c": []any{rule8("block_to_block", 1)},
	})
	data := hierGenome(t, obj{"c_src": src, "c_a": area(2, 1, 1, 1, nil), "c_b": area(1, 1, 1, 1, nil), "c_c": area(2, 1, 1, 1, nil)}, nil)
	data = []byte(strings.Replace(string(data), `"version"`, `"physiology":{"plasticity_queue_depth":6},"version"`, 1))
	p := mustLoad(t, data, Options{})
	if got := connection(t, p, "c_src", "c_a").Plasticity; got == nil || *got != (npuPlasticity{Window: 6, LTP: 7, LTD: 1}) {
		t.Errorf("c_a plasticity %+v, want window 6 ltp 7 ltd 1", got)
	}
	b := connection(t, p, "c_src", "c_b")
	if b.Synapses() != 0 || b.Plasticity == nil || *b.Plasticity != (npuPlasticity{Window: 2, LTP: 4, LTD: 5}) {
		t.Errorf("c_b: %d synapses, plasticity %+v; want 0 and window 2 ltp 4 ltd 5", b.Synapses(), b.Plasticity)
	}
	if c := connection(t, p, "c_src", "c_c"); c.Plasticity != nil {
		t.Errorf("c_c plastic: %+v", c.Plasticity)
	}
}

// TestAttractivity checks docs/semantics.md §5.3: ≥ 100 creates every candidate, ≤ 0 none, in
// between a seeded draw per candidate.
func TestAttractivity(t *testing.T) {
	grow := func(attract float64, seed uint64) []string {
		r := obj{"morphology_id": "block_to_block", "postSynapticCurrent_multiplier": 1, "plasticity_flag": false,
			"synapse_attractivity": attract}
		src := area(10, 10, 1, 1, obj{"c_dst": []any{r}})
		p := mustLoad(t, hierGenome(t, obj{"c_src": src, "c_dst": area(10, 10, 1, 1, nil)}, nil), Options{Seed: &seed})
		return pairs(connection(t, p, "c_src", "c_dst"))
	}
	if n := len(grow(100, 1)); n != 100 {
		t.Errorf("attractivity 100: %d synapses, want 100", n)
	}
	if n := len(grow(250, 1)); n != 100 {
		t.Errorf("attractivity 250: %d synapses, want 100", n)
	}
	if n := len(grow(0, 1)); n != 0 {
		t.Errorf("attractivity 0: %d synapses, want 0", n)
	}
	half1, half1again, half2 := grow(50, 1), grow(50, 1), grow(50, 2)
	// 100 Bernoulli(0.5) draws: 20..80 holds with probability 1 − 1e-9.
	if n := len(half1); n < 20 || n > 80 {
		t.Errorf("attractivity 50: %d synapses of 100", n)
	}
	if !equalStrings(half1, half1again) {
		t.Error("same seed, different synapses")
	}
	if equalStrings(half1, half2) {
		t.Error("seeds 1 and 2 chose the same 50% of synapses")
	}
}

// TestRandomizer checks the seeded randomizer: one synapse per source
// neuron inside the destination, the same for the same seed.
func TestRandomizer(t *testing.T) {
	grow := func(seed uint64) []string {
		src := area(4, 4, 1, 2, obj{"c_dst": []any{rule8("randomizer", 1)}})
		table := obj{"randomizer": obj{"type": "functions", "parameters": obj{}}}
		p := mustLoad(t, hierGenome(t, obj{"c_src": src, "c_dst": area(3, 3, 3, 2, nil)}, table), Options{Seed: &seed})
		c := connection(t, p, "c_src", "c_dst")
		for s := 0; s < 32; s++ {
			if c.Start[s+1]-c.Start[s] != 1 {
				t.Fatalf("source %d has %d synapses", s, c.Start[s+1]-c.Start[s])
			}
			if tg := c.Target[c.Start[s]]; tg >= 54 || tg%2 != 1 {
				t.Fatalf("target %d is not the top copy of a destination voxel", tg)
			}
		}
		return pairs(c)
	}
	a, b, c := grow(7), grow(7), grow(8)
	if !equalStrings(a, b) {
		t.Error("same seed, different randomizer synapses")
	}
	if equalStrings(a, c) {
		t.Error("seeds 7 and 8 gave the same 32 random targets")
	}
}
