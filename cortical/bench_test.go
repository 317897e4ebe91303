package cortical

import (
	"fmt"
	"os"
	"testing"
)

// generatedGenome is a hierarchical genome of ten width×100×10 areas
// (width 100: 1 000 000 neurons + 3 core). Each area i connects to area i+1 (mod 10)
// with rules that give every source neuron exactly ten synapses, so the
// brain of width 100 has 10 000 000 synapses:
//
//   - mixed: projector (1 per neuron, equal dims) then the pattern
//     [?,?,?]→[?,?,!] (the nine other z of the column); two rules per
//     connection exercise the merge into rows.
//   - vectors: ten offsets (0,0,0) … (9,0,0) along x, wrapping being
//     absent, reach fewer than ten voxels near the edge (9 550 000).
func generatedGenome(tb testing.TB, kind string, width int) []byte {
	tb.Helper()
	var table obj
	var rules []any
	switch kind {
	case "mixed":
		table = obj{"column": obj{"type": "patterns", "parameters": obj{"patterns": []any{
			[]any{[]any{"?", "?", "?"}, []any{"?", "?", "!"}}}}}}
		rules = []any{rule8("projector", 1), rule8("column", 1)}
	case "vectors":
		var vecs [][]int
		for x := 0; x < 10; x++ {
			vecs = append(vecs, []int{x, 0, 0})
		}
		table = obj{"row": obj{"type": "vectors", "parameters": obj{"vectors": vecs}}}
		rules = []any{rule8("row", 1)}
	}
	areas := obj{}
	for i := 0; i < 10; i++ {
		areas[fmt.Sprintf("c_a%d", i)] = area(width, 100, 10, 1, obj{fmt.Sprintf("c_a%d", (i+1)%10): rules})
	}
	return hierGenome(tb, areas, table)
}

func benchmarkGrow(b *testing.B, data []byte, wantSynapses int64) {
	b.Helper()
	var neurons, synapses int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Load(data, "bench", Options{})
		if err != nil {
			b.Fatal(err)
		}
		_, neurons, synapses = p.Totals()
	}
	if wantSynapses >= 0 && synapses != wantSynapses {
		b.Fatalf("%d synapses, want %d", synapses, wantSynapses)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(neurons)*float64(b.N)/sec, "neurons/s")
	b.ReportMetric(float64(synapses)*float64(b.N)/sec, "synapses/s")
}

// BenchmarkGrow measures parsing plus growth: the essential genome, and a
// generated brain of 1 M neurons and 10 M synapses (target ≤ 5 s, ≤ 1.5 GB).
func BenchmarkGrow(b *testing.B) {
	b.Run("essential", func(b *testing.B) {
		benchmarkGrow(b, []byte(readGenome(b, "essential_genome.json")), 1552)
	})
	b.Run("1M-10M-mixed", func(b *testing.B) {
		benchmarkGrow(b, generatedGenome(b, "mixed", 100), 10_000_000)
	})
	b.Run("1M-vectors", func(b *testing.B) {
		benchmarkGrow(b, generatedGenome(b, "vectors", 100), 9_550_000)
	})
}

// TestGeneratedGenome checks the benchmark genome's figures once, quickly,
// at a tenth of the size: ten 100×10×10 areas.
func TestGeneratedGenome(t *testing.T) {
	p := mustLoad(t, generatedGenome(t, "mixed", 10), Options{})
	if _, n, s := p.Totals(); n != 100_003 || s != 1_000_000 {
		t.Fatalf("%d neurons, %d synapses", n, s)
	}
	c := p.Connections[0]
	// Neuron 0 at (0,0,0): projector to (0,0,0), then the column z = 1..9.
	want := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i, w := range want {
		if c.Target[c.Start[0]+uint32(i)] != w {
			t.Fatalf("row 0: %v, want %v", c.Target[c.Start[0]:c.Start[1]], want)
		}
	}
}

// BenchmarkLimits measures the genomes of findings 3 and 7: refusing the
// 500 M-synapse genome from its estimate, and growing the 3.6 G-pair
// all-to-all rule of attractivity 0 (no work).
func BenchmarkLimits(b *testing.B) {
	for _, c := range []struct {
		name, file string
		refused    bool
	}{{"refuse-500M-synapses", "sensor_500m.json", true}, {"attractivity0-3.6G-pairs", "all_to_all_attractivity0.json", false}} {
		data, err := os.ReadFile("testdata/limits/" + c.file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Load(data, c.file, Options{MaxMemory: 1 << 30}); (err != nil) != c.refused {
					b.Fatal(err)
				}
			}
		})
	}
}
