package actors

import (
	"fmt"
	"strings"
	"time"

	"github.com/spikemesh/spikemesh/npu"
)

// The stall check: a timer that ends Run with ErrStalled when the burst in
// progress is older than Config.StallTimeout. It runs on the timer's own
// goroutine, so that it works even when the coordinator's goroutine is
// stuck in an inline area's step.

// armStall (re)starts the stall check to run after d (d <= 0: no check).
func (r *Runtime) armStall(d time.Duration) {
	if d <= 0 {
		return
	}
	r.stallMu.Lock()
	defer r.stallMu.Unlock()
	r.stallOn = true
	if r.stallTimer == nil {
		r.stallTimer = time.AfterFunc(d, r.checkStall)
	} else {
		r.stallTimer.Reset(d)
	}
}

// stopStall ends the stall check (the run is over).
func (r *Runtime) stopStall() {
	r.stallMu.Lock()
	defer r.stallMu.Unlock()
	r.stallOn = false
	if r.stallTimer != nil {
		r.stallTimer.Stop()
	}
}

// rearmStall runs the stall check again after d, unless the run is over.
func (r *Runtime) rearmStall(d time.Duration) {
	r.stallMu.Lock()
	defer r.stallMu.Unlock()
	if r.stallOn {
		r.stallTimer.Reset(d)
	}
}

// checkStall runs on the stall timer's goroutine: when the burst in
// progress is older than StallTimeout it ends Run with ErrStalled, naming
// the nodes and local areas that have not completed it; on a follower, also
// when no tick came from the coordinator for that long.
func (r *Runtime) checkStall() {
	burst := r.current.Load()
	age := time.Since(time.Unix(0, r.tickAtNs.Load()))
	if age < r.cfg.StallTimeout || burst == 0 && r.leader() {
		// Not (yet) late: look again when it could be.
		r.rearmStall(max(r.cfg.StallTimeout-age, r.cfg.StallTimeout/4))
		return
	}
	var err error
	switch {
	case burst == 0:
		err = fmt.Errorf("%w: no tick for burst %d from the coordinator (node %s) within %v",
			ErrStalled, r.Completed()+1, r.cfg.Cluster.Coordinator, age.Round(time.Millisecond))
	default:
		var names []string
		for _, i := range r.local {
			if r.doneBurst[i].Load() < burst {
				names = append(names, fmt.Sprintf("%d (%s)", i, r.areaName(i)))
			}
		}
		if r.leader() {
			for p, n := range r.nodes {
				if p != r.participant(r.cfg.Node) && r.nodeDone[p].Load() < burst {
					names = append(names, fmt.Sprintf("node %s", n))
				}
			}
		}
		if len(names) == 0 {
			// Everything completed the burst just now; the coordinator
			// has not taken it in yet.
			r.rearmStall(r.cfg.StallTimeout / 4)
			return
		}
		err = fmt.Errorf("%w: burst %d not complete after %v; waiting for areas %s",
			ErrStalled, burst, age.Round(time.Millisecond), strings.Join(names, ", "))
		if missing := r.missingBatches(npu.Burst(burst)); len(missing) > 0 {
			err = fmt.Errorf("%w; %w: %s", err, ErrMissingBatch, strings.Join(missing, "; "))
		}
	}
	// The coordinator stops too, as soon as its goroutine is free: a burst
	// that completes late must not start the next.
	r.system.Root.Send(r.coordinator, &fault{err: err})
	select {
	case r.stalled <- err:
	default:
	}
}

// missingBatches names the spike batches the local areas still wait for to
// run burst: the source area and the node that should have sent each.
func (r *Runtime) missingBatches(burst npu.Burst) []string {
	if burst < 2 {
		return nil
	}
	var out []string
	for _, i := range r.local {
		if r.doneBurst[i].Load() >= uint64(burst) {
			continue
		}
		for pos, src := range r.inSrc[i] {
			if r.seenAt(i, pos, burst-1).Load() != uint64(burst-1) {
				out = append(out, fmt.Sprintf("area %d (%s) lacks the batch of burst %d from area %d (%s) on node %s",
					i, r.areaName(i), burst-1, src, r.areaName(src), r.placement.Node(src)))
			}
		}
	}
	return out
}
