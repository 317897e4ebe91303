package cortical

import (
	"testing"

	"github.com/spikemesh/spikemesh/genomes"
)

// TestPinnedTotals pins each shipped genome's areas, neurons and synapses,
// with how each number follows from the genome.
func TestPinnedTotals(t *testing.T) {
	tests := []struct {
		genome            string
		areas             int
		neurons, synapses int64
	}{
		// _power and _death in the file, _fatigue added (docs/semantics.md §2.6); one neuron per
		// core area; both dstmaps empty.
		{"barebones_genome.json", 3, 3, 0},
		// _power and iic400 (64×64×3 = 12 288) in the file, _death and
		// _fatigue added: 12 288 + 3; no dstmap.
		{"test_genome.json", 4, 12291, 0},
		// 24 areas in the file + _death + _fatigue. Neurons: iic400
		// 128×128×3 = 49 152, eight 16×16×3 tiles = 6 144, ogaz00 4×1×10 =
		// 40, omot00 8×1×1 = 8, twelve 1×1×1 areas, three core neurons.
		// Synapses: iic100→c__bac and iic700→c__for project 16×16×3 onto
		// 1×1×1 (one synapse per tile neuron, 2×768), c__for and c__bac
		// project onto four relays each (8), relay k → omot00 voxel k (8).
		{"essential_genome.json", 26, 55359, 1552},
		// 17 areas + _fatigue. Neurons: i__acc 63, i__pro 10, iv00CC 6 144,
		// eight 16×8×1 tiles 1 024, iv00_C 256×64×3 = 49 152, o__mot 20,
		// o_mctl 120, ovtune 20, three core. Synapses: nine projectors onto
		// iv00_C of 49 152 each (16×8×1 → ×16·×8·×3 = 384 per neuron × 128;
		// 64×32×3 → ×4·×2·×1 = 8 per neuron × 6 144), the power self-loop
		// (1), motor_forward/backward reach only x = 0 and x = 1 of o__mot's
		// width 2 (1 + 1), move_left maps o__mot z = 1..9 to i__acc (9),
		// move_right's sources z = 11..21 lie outside o__mot (0).
		{"community_brain_pong.json", 18, 56556, 442380},
		// 29 areas + _death + _fatigue. Neurons: 8 relays, i__gyr 63, i__pro
		// 30, i_pres 3 654, i_spos 441, eight 8×8×3 tiles 1 536, iv00_C
		// 64×64×3 = 12 288, four m__ areas, o__mot 8, o__ser 420, o_spos 210,
		// three core. Synapses: iv00BM→m__bac and iv00TM→m__for 8×8×3 → 1×1×1
		// (2×192), m__for/m__bac → four relays each (8), relay k → o__mot
		// voxel k (8).
		{"community_mujoco_essential.json", 31, 18665, 400},
		// 5 areas + _fatigue. Neurons: i__pro 16×1×10 = 160, i_spos 21, o__mot
		// 40, three core. Synapses: 56 pattern rules i__pro → o__mot, each
		// one source voxel to (0,0,z) and (3,0,z), both inside 4×1×10.
		{"community_webots_pioneer2.json", 6, 224, 112},
		// sens_1 10×10×1 and motor_1 10×5×1 + three core areas; motor_1 →
		// sens_1 fully_connected: 50 × 100 (docs/semantics.md §5.2).
		{"example_fp32_genome.json", 5, 153, 5000},
		{"example_int8_genome.json", 5, 153, 5000},
	}
	if len(tests) != len(genomes.Names()) {
		t.Errorf("%d pinned genomes, %d embedded", len(tests), len(genomes.Names()))
	}
	for _, tc := range tests {
		p := mustLoad(t, []byte(readGenome(t, tc.genome)), Options{})
		areas, neurons, synapses := p.Totals()
		if areas != tc.areas || neurons != tc.neurons || synapses != tc.synapses {
			t.Errorf("%s: %d areas, %d neurons, %d synapses; want %d, %d, %d",
				tc.genome, areas, neurons, synapses, tc.areas, tc.neurons, tc.synapses)
		}
		checkInvariants(t, tc.genome, p)
	}
}

// checkInvariants verifies the structure a plan promises: contiguous neuron
// ids in index order, connections sorted by (Dst, Src), well-formed rows,
// targets inside the destination, out-degrees summing every connection of a
// source area (docs/semantics.md §3.2), PSP copied from the source.
func checkInvariants(t *testing.T, name string, p *Plan) {
	t.Helper()
	var next uint32
	for i := range p.Areas {
		a := &p.Areas[i]
		if a.Index != i || a.FirstID != next {
			t.Errorf("%s: area %d index %d first id %d, want %d", name, i, a.Index, a.FirstID, next)
		}
		next += a.Neurons()
		if i < 3 && (a.ID != coreIDs[i] || a.Neurons() != 1) {
			t.Errorf("%s: area %d is %s with %d neurons, want core %s", name, i, a.ID, a.Neurons(), coreIDs[i])
		}
		if i > 3 && !areaLess(p.Areas[i-1].ID, a.ID) {
			t.Errorf("%s: areas %d and %d out of order", name, i-1, i)
		}
	}
	sum := map[int][]uint32{}
	for i, c := range p.Connections {
		if i > 0 {
			prev := p.Connections[i-1]
			if prev.Dst > c.Dst || prev.Dst == c.Dst && prev.Src >= c.Src {
				t.Errorf("%s: connections %d and %d out of (Dst, Src) order", name, i-1, i)
			}
		}
		src, dst := &p.Areas[c.Src], &p.Areas[c.Dst]
		if len(c.Start) != int(src.Neurons())+1 || c.Start[0] != 0 || int(c.Start[len(c.Start)-1]) != len(c.Target) ||
			len(c.Weight) != len(c.Target) || len(c.Inhibitory) != len(c.Target) || len(c.OutDegree) != int(src.Neurons()) {
			t.Fatalf("%s: connection %d->%d malformed", name, c.Src, c.Dst)
		}
		for s := 0; s+1 < len(c.Start); s++ {
			if c.Start[s] > c.Start[s+1] {
				t.Fatalf("%s: connection %d->%d Start not monotone", name, c.Src, c.Dst)
			}
		}
		for _, tg := range c.Target {
			if tg >= dst.Neurons() || tg%dst.PerVoxel != dst.PerVoxel-1 {
				t.Fatalf("%s: target %d not the top copy of a voxel of area %d", name, tg, c.Dst)
			}
		}
		if c.PSP != src.Params.PSP || c.PSPUniform != src.Params.PSPUniform || c.MPDrivenPSP != src.Params.MPDrivenPSP {
			t.Errorf("%s: connection %d->%d PSP settings differ from the source area", name, c.Src, c.Dst)
		}
		if sum[c.Src] == nil {
			sum[c.Src] = make([]uint32, src.Neurons())
		}
		for s := range sum[c.Src] {
			sum[c.Src][s] += c.Start[s+1] - c.Start[s]
		}
	}
	for _, c := range p.Connections {
		for s, n := range sum[c.Src] {
			if c.OutDegree[s] != n {
				t.Fatalf("%s: out-degree of area %d neuron %d is %d, want %d", name, c.Src, s, c.OutDegree[s], n)
			}
		}
	}
	ruleSum := 0
	for _, r := range p.Rules {
		ruleSum += r.Synapses
	}
	if _, _, total := p.Totals(); int64(ruleSum) != total {
		t.Errorf("%s: rules grew %d synapses, connections hold %d", name, ruleSum, total)
	}
}

// TestDeterminism: the same genome and seed give the same plan, byte for
// byte; another seed changes only what randomness decides (docs/semantics.md §5.6).
func TestDeterminism(t *testing.T) {
	for _, name := range genomes.Names() {
		data := []byte(readGenome(t, name))
		a, b := mustLoad(t, data, Options{}), mustLoad(t, data, Options{})
		if a.Digest() != b.Digest() || a.Seed != b.Seed {
			t.Errorf("%s: two loads differ", name)
		}
		// No shipped genome draws randomly (every rule has attractivity
		// 100 and none uses randomizer), so the seed changes nothing.
		s1, s2 := uint64(1), uint64(2)
		if mustLoad(t, data, Options{Seed: &s1}).Digest() != mustLoad(t, data, Options{Seed: &s2}).Digest() {
			t.Errorf("%s: the seed changed a plan that draws nothing", name)
		}
	}
	// The default seed follows the genome's bytes.
	x := mustLoad(t, []byte(`{"version":"2.1","blueprint":{}}`), Options{})
	y := mustLoad(t, []byte(`{"version":"2.1", "blueprint":{}}`), Options{})
	if x.Seed == y.Seed {
		t.Error("different genome bytes gave the same default seed")
	}

	// A genome with one random rule (randomizer) among deterministic ones:
	// another seed changes that connection and nothing else.
	table := obj{"randomizer": obj{"type": "functions", "parameters": obj{}}}
	genome := hierGenome(t, obj{
		"c__src": area(8, 8, 2, 1, obj{"c__dst": []any{rule8("randomizer", 1)}, "c__oth": []any{rule8("projector", 1)}}),
		"c__dst": area(5, 5, 5, 1, nil),
		"c__oth": area(3, 3, 3, 1, nil),
	}, table)
	s1, s2 := uint64(1), uint64(2)
	p1, p1again, p2 := mustLoad(t, genome, Options{Seed: &s1}), mustLoad(t, genome, Options{Seed: &s1}), mustLoad(t, genome, Options{Seed: &s2})
	if p1.Digest() != p1again.Digest() {
		t.Error("same seed, different digest")
	}
	if p1.Digest() == p2.Digest() {
		t.Error("another seed left a randomizer plan unchanged")
	}
	for _, pair := range [][2]string{{"c__src", "c__dst"}, {"c__src", "c__oth"}} {
		c1, c2 := connection(t, p1, pair[0], pair[1]), connection(t, p2, pair[0], pair[1])
		same := equalStrings(pairs(c1), pairs(c2))
		if random := pair[1] == "c__dst"; same == random {
			t.Errorf("%s -> %s: unchanged %v across seeds, random %v", pair[0], pair[1], same, random)
		}
	}
	checkInvariants(t, "randomizer genome", p1)
}

// TestProgress: growth reports areas done and synapses so far, ending
// with every area and the total.
func TestProgress(t *testing.T) {
	type call struct {
		done, total int
		synapses    int64
	}
	var calls []call
	p := mustLoad(t, []byte(readGenome(t, "essential_genome.json")), Options{
		Progress: func(done, total int, synapses int64) { calls = append(calls, call{done, total, synapses}) },
	})
	if len(calls) < 2 {
		t.Fatalf("%d progress calls", len(calls))
	}
	for i, c := range calls {
		if c.total != len(p.Areas) || i > 0 && (c.done < calls[i-1].done || c.synapses < calls[i-1].synapses) {
			t.Fatalf("call %d: %+v after %+v", i, c, calls[max(i-1, 0)])
		}
	}
	if last := calls[len(calls)-1]; last != (call{26, 26, 1552}) {
		t.Errorf("last call %+v, want {26 26 1552}", last)
	}
}
