package cluster

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// genNodes draws 1..maxNodes nodes with distinct names and mixed capacities
// (including 0 and negative ones, which count as 1).
func genNodes(t *rapid.T, maxNodes int) []Node {
	ids := rapid.SliceOfNDistinct(rapid.IntRange(0, 99), 1, maxNodes, rapid.ID).Draw(t, "node ids")
	nodes := make([]Node, len(ids))
	for i, id := range ids {
		nodes[i] = Node{
			Name:     fmt.Sprintf("node-%02d", id),
			Capacity: rapid.SampledFrom([]float64{-1, 0, 0.5, 1, 1, 1, 1.5, 2, 3, 4}).Draw(t, "capacity"),
		}
	}
	return nodes
}

// genWeights draws area weights of mixed scales, zeros included.
func genWeights(t *rapid.T, maxAreas int) []int64 {
	w := rapid.OneOf(
		rapid.Int64Range(0, 10),
		rapid.Int64Range(0, 1000),
		rapid.Int64Range(1, 1_000_000),
	)
	return rapid.SliceOfN(w, 0, maxAreas).Draw(t, "weights")
}

// genPrev draws a previous placement: owners among the nodes, unknown
// names and "".
func genPrev(t *rapid.T, n int, nodes []Node) []string {
	names := []string{"", "gone"}
	for _, nd := range nodes {
		names = append(names, nd.Name)
	}
	return rapid.SliceOfN(rapid.SampledFrom(names), n, n).Draw(t, "prev")
}

func capOf(n Node) float64 {
	if n.Capacity <= 0 {
		return 1
	}
	return n.Capacity
}

type loads struct {
	total, capTotal float64
	load, cap       map[string]float64
	areas           map[string][]int
}

func measure(t interface{ Fatalf(string, ...any) }, weights []int64, nodes []Node, owners []string) loads {
	l := loads{load: map[string]float64{}, cap: map[string]float64{}, areas: map[string][]int{}}
	for _, n := range nodes {
		l.cap[n.Name] = capOf(n)
		l.capTotal += capOf(n)
	}
	if len(owners) != len(weights) {
		t.Fatalf("placement has %d owners for %d areas", len(owners), len(weights))
	}
	for a, o := range owners {
		if _, ok := l.cap[o]; !ok {
			t.Fatalf("area %d placed on %q, not a node", a, o)
		}
		l.load[o] += float64(weights[a])
		l.total += float64(weights[a])
		l.areas[o] = append(l.areas[o], a)
	}
	return l
}

func (l loads) share(name string) float64 { return l.total * l.cap[name] / l.capTotal }

// checkBalanced asserts the balance guarantee of Place: a node above 1.25×
// its share has no area that another node could take while ending below
// the node's current relative load. The tolerance covers the integer
// rounding of capacities inside Place.
func checkBalanced(t interface{ Fatalf(string, ...any) }, weights []int64, nodes []Node, owners []string) {
	const tol = 1e-4
	l := measure(t, weights, nodes, owners)
	for _, n := range nodes {
		i := n.Name
		if l.load[i] <= Balance*l.share(i)*(1+tol) {
			continue
		}
		ri := l.load[i] / l.cap[i]
		for _, a := range l.areas[i] {
			w := float64(weights[a])
			if w == 0 {
				continue
			}
			for _, m := range nodes {
				j := m.Name
				if j == i {
					continue
				}
				if rj := (l.load[j] + w) / l.cap[j]; rj < ri*(1-tol) {
					t.Fatalf("node %s carries %.0f, above %.2f× its share %.1f, yet area %d (weight %.0f) could go to %s (relative load %.4g < %.4g)",
						i, l.load[i], Balance, l.share(i), a, w, j, rj, ri)
				}
			}
		}
	}
}

func movedWeight(weights []int64, prev, next []string, skip func(a int) bool) int64 {
	var s int64
	for _, m := range Moves(prev, next) {
		if skip == nil || !skip(m.Area) {
			s += weights[m.Area]
		}
	}
	return s
}

func TestPlaceIsDeterministicWhateverTheNodeOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := genNodes(t, 7)
		weights := genWeights(t, 40)
		var prev []string
		if rapid.Bool().Draw(t, "with prev") {
			prev = genPrev(t, len(weights), nodes)
		}
		a, err := Place(weights, nodes, prev)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		shuffled := rapid.Permutation(nodes).Draw(t, "shuffled nodes")
		b, err := Place(weights, shuffled, slices.Clone(prev))
		if err != nil {
			t.Fatalf("Place (shuffled): %v", err)
		}
		if !slices.Equal(a, b) {
			t.Fatalf("node order changed the placement:\n%v\n%v", a, b)
		}
	})
}

func TestPlaceIsBalanced(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := genNodes(t, 7)
		weights := genWeights(t, 40)
		var prev []string
		if rapid.Bool().Draw(t, "with prev") {
			prev = genPrev(t, len(weights), nodes)
		}
		owners, err := Place(weights, nodes, prev)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		checkBalanced(t, weights, nodes, owners)
	})
}

// With areas small next to every node's share, no node ends above 1.25×
// its share, whatever the previous placement.
func TestPlaceKeepsEveryNodeWithinTheBoundWhenAreasAreSmall(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		weights, nodes := genSmallAreas(t)
		requireSmallAreas(t, weights, nodes)
		var prev []string
		if rapid.Bool().Draw(t, "with prev") {
			prev = genPrev(t, len(weights), nodes)
		}
		owners, err := Place(weights, nodes, prev)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		l := measure(t, weights, nodes, owners)
		for _, n := range nodes {
			if got, bound := l.load[n.Name], Balance*l.share(n.Name); got > bound*(1+1e-4) {
				t.Fatalf("node %s carries %.0f, above the bound %.1f", n.Name, got, bound)
			}
		}
	})
}

// Placing again from a placement's own output moves nothing.
func TestPlaceIsStableOnItsOwnOutput(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := genNodes(t, 7)
		weights := genWeights(t, 40)
		var prev []string
		if rapid.Bool().Draw(t, "with prev") {
			prev = genPrev(t, len(weights), nodes)
		}
		first, err := Place(weights, nodes, prev)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		again, err := Place(weights, nodes, first)
		if err != nil {
			t.Fatalf("Place again: %v", err)
		}
		if moves := Moves(first, again); len(moves) > 0 {
			t.Fatalf("placing again moved %v", moves)
		}
	})
}

// genSmallAreas draws a cluster whose areas are all small next to every
// node's share (at most a quarter of it), also after one more node of
// capacity up to 3 joins: at most 6 nodes of capacity 1..3, 200..300 areas
// of weight 50..100.
func genSmallAreas(t *rapid.T) ([]int64, []Node) {
	ids := rapid.SliceOfNDistinct(rapid.IntRange(0, 99), 1, 6, rapid.ID).Draw(t, "node ids")
	nodes := make([]Node, len(ids))
	for i, id := range ids {
		nodes[i] = Node{Name: fmt.Sprintf("node-%02d", id), Capacity: rapid.SampledFrom([]float64{0, 1, 1.5, 2, 3}).Draw(t, "capacity")}
	}
	weights := rapid.SliceOfN(rapid.Int64Range(50, 100), 200, 300).Draw(t, "weights")
	return weights, nodes
}

func requireSmallAreas(t *rapid.T, weights []int64, nodes []Node) {
	var total, capTotal float64
	for _, w := range weights {
		total += float64(w)
	}
	for _, n := range nodes {
		capTotal += capOf(n)
	}
	for _, n := range nodes {
		share := total * capOf(n) / capTotal
		if 4*float64(slices.Max(weights)) > share {
			t.Fatalf("test setup: area of weight %d is not small next to the share %.1f of %s", slices.Max(weights), share, n.Name)
		}
	}
}

// When a node leaves, its areas go to the survivors and, while the
// departed node held no weight, nothing else moves.
func TestPlaceMovesTheDepartedAreasWhenANodeLeaves(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := genNodes(t, 7)
		if len(nodes) < 2 {
			nodes = append(nodes, Node{Name: "extra", Capacity: 1})
		}
		weights := genWeights(t, 40)
		prev, err := Place(weights, nodes, nil)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		gone := rapid.IntRange(0, len(nodes)-1).Draw(t, "leaving node")
		left := nodes[gone].Name
		if rapid.Bool().Draw(t, "departed node held no weight") {
			// Zero the departed node's areas, then let the placement settle
			// on those weights before the node leaves.
			weights = slices.Clone(weights)
			for a, o := range prev {
				if o == left {
					weights[a] = 0
				}
			}
			if prev, err = Place(weights, nodes, prev); err != nil {
				t.Fatalf("Place (zeroed): %v", err)
			}
		}
		survivors := slices.Delete(slices.Clone(nodes), gone, gone+1)
		next, err := Place(weights, survivors, prev)
		if err != nil {
			t.Fatalf("Place after leave: %v", err)
		}
		checkBalanced(t, weights, survivors, next)
		var departed int64
		for a, o := range prev {
			if o == left {
				departed += weights[a]
				if next[a] == left {
					t.Fatalf("area %d stays on departed node %s", a, left)
				}
			}
		}
		others := movedWeight(weights, prev, next, func(a int) bool { return prev[a] == left })
		if departed == 0 && others > 0 {
			t.Fatalf("departed node held no weight, yet survivors' areas moved: %v", Moves(prev, next))
		}
	})
}

// With small areas, a departure moves the departed node's areas and no
// other.
func TestPlaceMovesOnlyTheDepartedAreasWhenAreasAreSmall(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		weights, nodes := genSmallAreas(t)
		if len(nodes) < 2 {
			nodes = append(nodes, Node{Name: "extra", Capacity: 1})
		}
		prev, err := Place(weights, nodes, nil)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		gone := rapid.IntRange(0, len(nodes)-1).Draw(t, "leaving node")
		left := nodes[gone].Name
		survivors := slices.Delete(slices.Clone(nodes), gone, gone+1)
		requireSmallAreas(t, weights, survivors)
		next, err := Place(weights, survivors, prev)
		if err != nil {
			t.Fatalf("Place after leave: %v", err)
		}
		checkBalanced(t, weights, survivors, next)
		for _, m := range Moves(prev, next) {
			if m.From != left {
				t.Fatalf("area %d moved from surviving node %s to %s", m.Area, m.From, m.To)
			}
		}
	})
}

// With small areas, a join moves areas only off nodes that are over the
// bound once the new node counts, and less weight than the new node's share
// plus one area per such node.
func TestPlaceMovesLittleWhenANodeJoins(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		weights, nodes := genSmallAreas(t)
		prev, err := Place(weights, nodes, nil)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		joiner := Node{Name: "node-new", Capacity: rapid.SampledFrom([]float64{0, 1, 2, 3}).Draw(t, "joiner capacity")}
		grown := append(slices.Clone(nodes), joiner)
		requireSmallAreas(t, weights, grown)
		next, err := Place(weights, grown, prev)
		if err != nil {
			t.Fatalf("Place after join: %v", err)
		}
		checkBalanced(t, weights, grown, next)
		before := measure(t, weights, grown, prev)
		over := 0
		for _, n := range nodes {
			if before.load[n.Name] > Balance*before.share(n.Name) {
				over++
			}
		}
		for _, m := range Moves(prev, next) {
			if before.load[m.From] <= Balance*before.share(m.From)*(1-1e-4) {
				t.Fatalf("area %d moved off %s, which was within the bound (%.0f of %.1f)", m.Area, m.From, before.load[m.From], Balance*before.share(m.From))
			}
		}
		moved := movedWeight(weights, prev, next, nil)
		if limit := before.share(joiner.Name) + float64(over)*float64(slices.Max(weights)); float64(moved) > limit {
			t.Fatalf("moved weight %d, more than the joiner's share %.1f plus %d areas", moved, before.share(joiner.Name), over)
		}
		if over > 0 && moved == 0 {
			t.Fatalf("%d nodes over the bound, nothing moved", over)
		}
	})
}

// Hand-worked cases.
func TestPlaceExamples(t *testing.T) {
	// Capacity 3 against 1: four equal areas go three and one.
	owners, err := Place([]int64{5, 5, 5, 5}, []Node{{Name: "small", Capacity: 1}, {Name: "big", Capacity: 3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range owners {
		count[o]++
	}
	if count["big"] != 3 || count["small"] != 1 {
		t.Fatalf("capacity 3:1 with four equal areas gave %v", count)
	}

	// Three equal areas on two nodes cannot be within 1.25× (15 each is the
	// share, one node must carry 20): allowed, since no move helps.
	owners, err = Place([]int64{10, 10, 10}, []Node{{Name: "a"}, {Name: "b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	count = map[string]int{}
	for _, o := range owners {
		count[o]++
	}
	if count["a"]+count["b"] != 3 || count["a"] == 0 || count["b"] == 0 {
		t.Fatalf("three areas on two nodes gave %v", count)
	}

	// A joining node takes areas from the loaded node only, and just
	// enough: 8 areas of 1 on one node, 4 on the other; the newcomer's share
	// is 4 and the old nodes must come within 1.25 × 4 = 5.
	weights := make([]int64, 12)
	prev := make([]string, 12)
	for a := range weights {
		weights[a] = 1
		prev[a] = "a"
		if a >= 8 {
			prev[a] = "b"
		}
	}
	next, err := Place(weights, []Node{{Name: "a"}, {Name: "b"}, {Name: "c"}}, prev)
	if err != nil {
		t.Fatal(err)
	}
	moves := Moves(prev, next)
	if len(moves) != 3 {
		t.Fatalf("want 3 areas moved (8 → 5 on a), got %v", moves)
	}
	for _, m := range moves {
		if m.From != "a" || m.To != "c" {
			t.Fatalf("unexpected move %+v", m)
		}
	}
}

func TestPlaceErrors(t *testing.T) {
	ok := []Node{{Name: "a"}}
	cases := []struct {
		name    string
		weights []int64
		nodes   []Node
		prev    []string
		want    string
	}{
		{"no nodes", []int64{1}, nil, nil, "no nodes"},
		{"negative weight", []int64{1, -3}, ok, nil, "area 1 has negative weight -3"},
		{"empty name", []int64{1}, []Node{{Name: ""}}, nil, "empty name"},
		{"duplicate name", []int64{1}, []Node{{Name: "a"}, {Name: "b"}, {Name: "a"}}, nil, `"a" is given twice`},
		{"NaN capacity", []int64{1}, []Node{{Name: "a", Capacity: math.NaN()}}, nil, `node "a" has capacity NaN`},
		{"infinite capacity", []int64{1}, []Node{{Name: "a", Capacity: math.Inf(1)}}, nil, `node "a" has capacity +Inf`},
		{"prev length", []int64{1, 2}, ok, []string{"a"}, "previous placement has 1 areas, weights have 2"},
		{"overflow", []int64{math.MaxInt64 / 2, math.MaxInt64 / 2}, ok, nil, "total weight exceeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Place(c.weights, c.nodes, c.prev)
			if err == nil {
				t.Fatalf("no error; placement %v", got)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestPlaceNoAreas(t *testing.T) {
	owners, err := Place(nil, []Node{{Name: "a"}}, nil)
	if err != nil || len(owners) != 0 {
		t.Fatalf("Place(no areas) = %v, %v", owners, err)
	}
}

func TestMoves(t *testing.T) {
	prev := []string{"a", "b", "", "c"}
	next := []string{"a", "c", "b", "c", "d"}
	want := []Move{{Area: 1, From: "b", To: "c"}, {Area: 2, From: "", To: "b"}, {Area: 4, From: "", To: "d"}}
	if got := Moves(prev, next); !slices.Equal(got, want) {
		t.Fatalf("Moves = %v, want %v", got, want)
	}
	if got := Moves(next, prev); len(got) != 3 || got[2] != (Move{Area: 4, From: "d", To: ""}) {
		t.Fatalf("Moves backwards = %v", got)
	}
	if got := Moves(prev, prev); got != nil {
		t.Fatalf("Moves(same) = %v", got)
	}
}

func BenchmarkPlace(b *testing.B) {
	weights := make([]int64, 256)
	for a := range weights {
		weights[a] = int64(1000 + (a*7919)%5000)
	}
	nodes := make([]Node, 10)
	for i := range nodes {
		nodes[i] = Node{Name: fmt.Sprintf("node-%d", i), Capacity: float64(1 + i%3)}
	}
	prev, err := Place(weights, nodes[:9], nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Place(weights, nodes, prev); err != nil {
			b.Fatal(err)
		}
	}
}
