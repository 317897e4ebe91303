package npu

// Mapping-level plasticity (docs/semantics.md §3.5).
//
// FEAGI updates a plastic mapping at the end of burst t, once t ≥ window,
// from the fired sets of bursts t−window+1 … t (history starts at burst 1),
// and the new weights are used from burst t+1. The destination engine holds
// the connection, and it learns the source's fired list of burst t only at
// the start of burst t+1 (with the spikes). So the engine applies the update
// of burst t at the start of Step(t+1), before any propagation: the weights
// every propagation sees are exactly FEAGI's. For every synapse of the
// connection: when neither end fired in the window, unchanged; when both fired
// in every burst of the window, weight := min(255, weight + LTP); otherwise
// weight := max(0, weight − LTD). Skipped when LTP and LTD are both 0.

// ledger counts, per neuron, the bursts of the last `window` in which it
// fired, keeping the fired lists of the window in a ring.
type ledger struct {
	window int
	ring   [][]uint32
	head   int
	filled int
	count  []uint32
	last   Burst // burst of the newest entry
}

func newLedger(window int, n uint32) *ledger {
	return &ledger{window: window, ring: make([][]uint32, window), count: make([]uint32, n)}
}

// push adds the fired list of burst b. Indices out of range or not strictly
// ascending are ignored (they cannot come from an engine).
func (l *ledger) push(b Burst, fired []uint32) {
	old := l.ring[l.head]
	for _, s := range old {
		l.count[s]--
	}
	cur := old[:0]
	n := uint32(len(l.count))
	for k, s := range fired {
		if s >= n || (k > 0 && s <= fired[k-1]) {
			continue
		}
		l.count[s]++
		cur = append(cur, s)
	}
	l.ring[l.head] = cur
	l.head = (l.head + 1) % l.window
	l.filled = min(l.filled+1, l.window)
	l.last = b
}

type plasticState struct {
	src, dst *ledger
}

func newPlasticState(c *Connection, n uint32) *plasticState {
	w := int(c.Plasticity.Window)
	return &plasticState{src: newLedger(w, uint32(len(c.Start)-1)), dst: newLedger(w, n)}
}

// applyPlasticity runs, at the start of burst b, the update of burst b−1.
func (e *engine) applyPlasticity(b Burst, in *Input) {
	if b < 2 {
		return
	}
	for k, ps := range e.plast {
		if ps == nil {
			continue
		}
		var fired []uint32
		if k < len(in.Fired) {
			fired = in.Fired[k]
		}
		ps.src.push(b-1, fired)
		c := e.incoming[k]
		pl := c.Plasticity
		if b-1 < Burst(pl.Window) || ps.src.filled < ps.src.window || ps.dst.filled < ps.dst.window || (pl.LTP == 0 && pl.LTD == 0) {
			continue
		}
		if e.updateWeights(c, ps) {
			e.refreshWeights(k)
		}
	}
}

func (e *engine) updateWeights(c *Connection, ps *plasticState) bool {
	w := uint32(c.Plasticity.Window)
	ltp, ltd := c.Plasticity.LTP, c.Plasticity.LTD
	changed := false
	for s := 0; s+1 < len(c.Start); s++ {
		sc := ps.src.count[s]
		for j := c.Start[s]; j < c.Start[s+1]; j++ {
			tc := ps.dst.count[c.Target[j]]
			if sc == 0 && tc == 0 {
				continue
			}
			old := c.Weight[j]
			if sc == w && tc == w {
				c.Weight[j] = uint8(min(255, uint32(old)+uint32(ltp)))
			} else {
				c.Weight[j] = uint8(max(0, int32(old)-int32(ltd)))
			}
			changed = changed || c.Weight[j] != old
		}
	}
	return changed
}

// recordOwnFiring adds this burst's fired list to the destination ledgers.
func (e *engine) recordOwnFiring() {
	for _, ps := range e.plast {
		if ps != nil {
			ps.dst.push(e.burst, e.out.Fired)
		}
	}
}
