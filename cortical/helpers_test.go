package cortical

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/npu"
)

// obj is a JSON object under construction in tests.
type obj = map[string]any

// hierGenome builds a hierarchical 2.1 genome from areas and morphologies.
func hierGenome(t testing.TB, areas obj, morphs obj) []byte {
	t.Helper()
	g := obj{"version": "2.1", "genome_id": "test", "blueprint": areas}
	if morphs != nil {
		g["neuron_morphologies"] = morphs
	}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// area describes a hierarchical area of w×h×d voxels with n neurons each.
func area(w, h, d, n int, dst obj) obj {
	a := obj{"block_boundaries": []int{w, h, d}, "per_voxel_neuron_cnt": n}
	if dst != nil {
		a["cortical_mapping_dst"] = dst
	}
	return a
}

// rule8 is an 8-element rule: morphology, weight multiplier, plastic.
func rule8(morph string, mult float64) []any {
	return []any{morph, []int{1, 1, 1}, mult, false, 1, 1, 1, 3}
}

func mustLoad(t testing.TB, data []byte, opts Options) *Plan {
	t.Helper()
	p, err := Load(data, "test", opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pairs lists a connection's synapses as "src>dst" local indices in CSR
// order (source neuron, then creation order).
func pairs(c *npu.Connection) []string {
	var out []string
	for s := 0; s+1 < len(c.Start); s++ {
		for i := c.Start[s]; i < c.Start[s+1]; i++ {
			out = append(out, fmt.Sprintf("%d>%d", s, c.Target[i]))
		}
	}
	return out
}

// connection returns the connection between two areas named as written.
func connection(t testing.TB, p *Plan, src, dst string) *npu.Connection {
	t.Helper()
	si, ok1 := p.AreaIndex(src)
	di, ok2 := p.AreaIndex(dst)
	if !ok1 || !ok2 {
		t.Fatalf("areas %s, %s not found", src, dst)
	}
	for _, c := range p.Connections {
		if c.Src == si && c.Dst == di {
			return c
		}
	}
	t.Fatalf("no connection %s -> %s", src, dst)
	return nil
}

// growPairs grows a two-area genome (source "c_src", destination "c_dst")
// with the given rules and morphology table and returns the synapse list.
func growPairs(t testing.TB, src, dst obj, rules []any, morphs obj) []string {
	t.Helper()
	src["cortical_mapping_dst"] = obj{"c_dst": rules}
	p := mustLoad(t, hierGenome(t, obj{"c_src": src, "c_dst": dst}, morphs), Options{})
	return pairs(connection(t, p, "c_src", "c_dst"))
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type npuPlasticity = npu.Plasticity

// readGenome returns an embedded genome as text.
func readGenome(t testing.TB, name string) string {
	t.Helper()
	data, err := genomes.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
