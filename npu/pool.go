package npu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// pool runs fn(0..n−1) once per round with workers−1 persistent goroutines
// and the caller's. Shards are claimed from an atomic counter, by whoever
// gets there first: the caller keeps claiming until none is left, so a worker
// that is slow to be scheduled (a busy machine) delays nothing — the caller
// runs its shard too. Which goroutine runs a shard never changes its result.
// run returns when every fn has returned, so everything fn wrote
// happens-before run returns.
//
// Parked workers cost nothing, and a round whose workers are slow to wake (a
// busy machine) is simply done by the caller.
type pool struct {
	n      int
	fn     func(int)
	round  atomic.Uint64 // incremented to start a round
	next   atomic.Int32  // next shard to claim
	done   atomic.Int32  // shards finished in this round
	wake   []chan struct{}
	finish chan struct{}
	// waiting is set by run when it stops spinning and blocks on finish; the
	// goroutine that finishes the last shard sends on finish only if it
	// clears waiting.
	waiting atomic.Bool
	parked  []atomic.Bool
	once    sync.Once
	closed  atomic.Bool
}

// Spin budgets (iterations of an atomic load, yielding every 64) before
// parking. A worker spins a little longer than the gap between two
// free-running bursts (tens of µs), so back-to-back rounds need no futex
// wake; the caller, once no shard is left to claim, spins for as long as a
// shard takes to run (the others are running), since parking and being woken
// costs more than a small burst. Engines default to one worker (no pool);
// runtimes that set more accept this spinning.
const (
	workerSpin = 20000
	callerSpin = 20000
)

func newPool(n, workers int, fn func(int)) *pool {
	p := &pool{n: n, fn: fn, wake: make([]chan struct{}, workers), finish: make(chan struct{}, 1), parked: make([]atomic.Bool, workers)}
	p.next.Store(int32(n)) // nothing to claim before the first round
	for k := 1; k < workers; k++ {
		p.wake[k] = make(chan struct{}, 1)
		go p.worker(k)
	}
	return p
}

// claim runs shards until none is left.
func (p *pool) claim() {
	for {
		k := int(p.next.Add(1) - 1)
		if k >= p.n {
			return
		}
		p.fn(k)
		if p.done.Add(1) == int32(p.n) && p.waiting.CompareAndSwap(true, false) {
			p.finish <- struct{}{}
		}
	}
}

func (p *pool) worker(k int) {
	seen := uint64(0)
	for {
		// Wait for the next round: spin, then park.
		for i := 0; p.round.Load() == seen; i++ {
			if p.closed.Load() {
				return
			}
			if i < workerSpin {
				if i%64 == 63 {
					runtime.Gosched()
				}
				continue
			}
			p.parked[k].Store(true)
			if p.round.Load() != seen || p.closed.Load() {
				p.parked[k].Store(false)
				continue
			}
			_, ok := <-p.wake[k]
			p.parked[k].Store(false)
			if !ok {
				return
			}
		}
		seen = p.round.Load()
		p.claim()
	}
}

// run executes one round. The caller has written everything fn reads.
func (p *pool) run() {
	p.done.Store(0)
	p.next.Store(0)
	p.round.Add(1)
	for k := 1; k < len(p.wake); k++ {
		if p.parked[k].Load() {
			select {
			case p.wake[k] <- struct{}{}:
			default:
			}
		}
	}
	p.claim()
	all := int32(p.n)
	for i := 0; i < callerSpin; i++ {
		if p.done.Load() == all {
			return
		}
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	p.waiting.Store(true)
	if p.done.Load() == all && p.waiting.CompareAndSwap(true, false) {
		return // the last shard finished before its runner saw waiting
	}
	<-p.finish
}

func (p *pool) close() {
	p.once.Do(func() {
		p.closed.Store(true)
		for k := 1; k < len(p.wake); k++ {
			close(p.wake[k])
		}
	})
}
