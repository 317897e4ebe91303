package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Node is a member that can own areas, as placement sees it.
type Node struct {
	// Name identifies the node; names are unique among the nodes given.
	Name string
	// Capacity is the node's relative weight: a node of capacity 2 is given
	// about twice the load of a node of capacity 1. Zero or less means 1.
	Capacity float64
}

// Move is one area changing hands between two placements.
type Move struct {
	Area int
	From string // "" when the area had no owner
	To   string // "" when the area has no owner any more
}

// Balance is the factor of its fair share that a node may carry: no node
// holds more than Balance times its share of the total weight unless
// single areas are too big to spread any better (see Place).
const Balance = 1.25

const (
	// maxTotalWeight bounds the summed weight so that the integer
	// comparisons below (5 × total, 4 × load) cannot overflow.
	maxTotalWeight = int64(1) << 60
	// capScale is the integer resolution of capacities: the largest
	// capacity becomes capScale, the others proportionally less (at
	// least 1).
	capScale = float64(1 << 20)
)

// Place gives an owner, a node name, to every area. weights[i] is the
// weight of area i (its neurons plus synapses, >= 0).
//
// prev, when non-nil, is the placement in force (same length as weights;
// "" or a name not among nodes means the area has no owner). Areas whose
// owner is still among nodes stay where they are unless the balance needs
// them elsewhere; areas without an owner are spread first, heaviest first,
// each onto the node where it leaves the lowest relative load.
//
// Balance: let share(n) = total weight × capacity(n) / total capacity. After
// Place, a node whose load exceeds Balance × share(n) holds only areas that
// no other node could take without ending at least as loaded, relative to
// its capacity, as n is now; so a node is over the bound only when single
// areas are too big (an area heavier than a quarter of some node's share).
// To get there, Place moves one area at a time from the most loaded node
// that is over the bound to the node that ends least loaded, preferring the
// lightest area that brings the node within the bound, and takers that stay
// within it. A new, empty node thus receives just enough areas to bring the
// others within the bound, and a departed node's areas are spread over the
// rest without disturbing them more than the balance needs: when areas are
// small next to every node's share (at most a quarter of it), a departure
// moves only the departed node's areas, and a join moves less than the new
// node's share plus one area per node that was over the bound.
//
// The result depends only on the weights, the set of nodes (not their order)
// and prev: ties are broken by node name and area index, and all arithmetic
// is on integers, so every node computes the same placement.
func Place(weights []int64, nodes []Node, prev []string) ([]string, error) {
	p, err := newPlacer(weights, nodes, prev)
	if err != nil {
		return nil, err
	}
	p.spreadUnowned()
	p.rebalance()
	out := make([]string, len(weights))
	for a, o := range p.owner {
		out[a] = p.names[o]
	}
	return out, nil
}

// Moves lists the areas whose owner differs between prev and next, in
// increasing area order. A slice shorter than the other counts as "" (no
// owner) for the missing areas.
func Moves(prev, next []string) []Move {
	n := max(len(prev), len(next))
	var out []Move
	for a := range n {
		var from, to string
		if a < len(prev) {
			from = prev[a]
		}
		if a < len(next) {
			to = next[a]
		}
		if from != to {
			out = append(out, Move{Area: a, From: from, To: to})
		}
	}
	return out
}

// placer holds one run of Place. Nodes are indexed in name order.
type placer struct {
	weights []int64
	names   []string
	q       []uint64 // integer capacities
	qTotal  uint64
	total   uint64 // summed weight
	load    []uint64
	owner   []int   // node index per area, -1 while unowned
	areas   [][]int // areas per node
}

func newPlacer(weights []int64, nodes []Node, prev []string) (*placer, error) {
	if len(nodes) == 0 {
		return nil, errors.New("placement: no nodes to place areas on")
	}
	if prev != nil && len(prev) != len(weights) {
		return nil, fmt.Errorf("placement: previous placement has %d areas, weights have %d", len(prev), len(weights))
	}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	p := &placer{
		weights: weights,
		names:   make([]string, len(sorted)),
		q:       make([]uint64, len(sorted)),
		load:    make([]uint64, len(sorted)),
		owner:   make([]int, len(weights)),
		areas:   make([][]int, len(sorted)),
	}
	index := make(map[string]int, len(sorted))
	maxCap := 0.0
	caps := make([]float64, len(sorted))
	for i, n := range sorted {
		if n.Name == "" {
			return nil, errors.New("placement: a node has an empty name")
		}
		if i > 0 && sorted[i-1].Name == n.Name {
			return nil, fmt.Errorf("placement: node name %q is given twice", n.Name)
		}
		c := n.Capacity
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("placement: node %q has capacity %v; want a finite number", n.Name, c)
		}
		if c <= 0 {
			c = 1
		}
		caps[i] = c
		maxCap = max(maxCap, c)
		p.names[i] = n.Name
		index[n.Name] = i
	}
	for i, c := range caps {
		p.q[i] = uint64(max(1, math.Round(c/maxCap*capScale)))
		p.qTotal += p.q[i]
	}
	var total int64
	for a, w := range weights {
		if w < 0 {
			return nil, fmt.Errorf("placement: area %d has negative weight %d", a, w)
		}
		if w > maxTotalWeight-total {
			return nil, fmt.Errorf("placement: total weight exceeds %d at area %d", maxTotalWeight, a)
		}
		total += w
	}
	p.total = uint64(total)
	for a := range weights {
		p.owner[a] = -1
		if prev == nil {
			continue
		}
		if i, ok := index[prev[a]]; ok {
			p.assign(a, i)
		}
	}
	return p, nil
}

func (p *placer) assign(a, node int) {
	p.owner[a] = node
	p.areas[node] = append(p.areas[node], a)
	p.load[node] += uint64(p.weights[a])
}

func (p *placer) unassign(a int) {
	node := p.owner[a]
	p.owner[a] = -1
	p.areas[node] = slices.DeleteFunc(p.areas[node], func(x int) bool { return x == a })
	p.load[node] -= uint64(p.weights[a])
}

// spreadUnowned gives every unowned area, heaviest first (then lowest
// index), to the node where it ends with the lowest relative load.
func (p *placer) spreadUnowned() {
	var pool []int
	for a, o := range p.owner {
		if o < 0 {
			pool = append(pool, a)
		}
	}
	slices.SortStableFunc(pool, func(a, b int) int {
		switch wa, wb := p.weights[a], p.weights[b]; {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return a - b
	})
	for _, a := range pool {
		p.assign(a, p.leastLoadedWith(uint64(p.weights[a]), -1))
	}
}

// leastLoadedWith is the node other than skip whose relative load is lowest
// once w is added to it; ties go to the first name.
func (p *placer) leastLoadedWith(w uint64, skip int) int {
	best := -1
	for j := range p.names {
		if j == skip {
			continue
		}
		if best < 0 || ratioLess(p.load[j]+w, p.q[j], p.load[best]+w, p.q[best]) {
			best = j
		}
	}
	return best
}

// over reports whether node i carries more than Balance times its share:
// load/q > 1.25 × total/qTotal, i.e. 4·load·qTotal > 5·total·q.
func (p *placer) over(i int, load uint64) bool {
	return cmp128(4*load, p.qTotal, 5*p.total, p.q[i]) > 0
}

// rebalance moves areas off nodes over the bound, one at a time, until no
// node over the bound has a move that helps. Every move leaves both nodes it
// touches below the relative load the source had, so the list of relative
// loads sorted in decreasing order decreases at each move: the loop ends.
func (p *placer) rebalance() {
	order := make([]int, len(p.names))
	for {
		order = order[:0]
		for i := range p.names {
			if p.over(i, p.load[i]) {
				order = append(order, i)
			}
		}
		// Most loaded first; ties by name (the index order).
		slices.SortStableFunc(order, func(a, b int) int {
			if ratioLess(p.load[b], p.q[b], p.load[a], p.q[a]) {
				return -1
			}
			if ratioLess(p.load[a], p.q[a], p.load[b], p.q[b]) {
				return 1
			}
			return a - b
		})
		moved := false
		for _, i := range order {
			if a, j, ok := p.bestMove(i); ok {
				p.unassign(a)
				p.assign(a, j)
				moved = true
				break
			}
		}
		if !moved {
			return
		}
	}
}

// bestMove picks the move off node i. A move is a candidate when the area
// weighs something and the node that would take it (the one that ends least
// loaded) ends below i's current relative load. Preferred, in order: the
// lightest area that brings i within the bound while its taker stays within
// the bound; the heaviest area whose taker stays within the bound; the
// lightest area that brings i within the bound; the heaviest area. Ties go
// to the lower area index.
func (p *placer) bestMove(i int) (area, to int, ok bool) {
	type pick struct{ area, to int }
	var best [4]pick
	for k := range best {
		best[k] = pick{-1, -1}
	}
	lighter := func(a, b int) bool {
		wa, wb := p.weights[a], p.weights[b]
		return wa < wb || (wa == wb && a < b)
	}
	heavier := func(a, b int) bool {
		wa, wb := p.weights[a], p.weights[b]
		return wa > wb || (wa == wb && a < b)
	}
	for _, a := range p.areas[i] {
		w := uint64(p.weights[a])
		if w == 0 {
			continue
		}
		j := p.leastLoadedWith(w, i)
		if j < 0 || !ratioLess(p.load[j]+w, p.q[j], p.load[i], p.q[i]) {
			continue
		}
		fits := !p.over(i, p.load[i]-w)
		takerOK := !p.over(j, p.load[j]+w)
		var k int
		var better func(a, b int) bool
		switch {
		case fits && takerOK:
			k, better = 0, lighter
		case takerOK:
			k, better = 1, heavier
		case fits:
			k, better = 2, lighter
		default:
			k, better = 3, heavier
		}
		if best[k].area < 0 || better(a, best[k].area) {
			best[k] = pick{a, j}
		}
	}
	for _, b := range best {
		if b.area >= 0 {
			return b.area, b.to, true
		}
	}
	return 0, 0, false
}

// ratioLess reports whether l1/q1 < l2/q2 (q1, q2 > 0).
func ratioLess(l1, q1, l2, q2 uint64) bool {
	return cmp128(l1, q2, l2, q1) < 0
}

// cmp128 compares a·b with c·d without overflow.
func cmp128(a, b, c, d uint64) int {
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d)
	switch {
	case h1 < h2:
		return -1
	case h1 > h2:
		return 1
	case l1 < l2:
		return -1
	case l1 > l2:
		return 1
	}
	return 0
}
