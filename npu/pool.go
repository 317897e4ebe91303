package npu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// pool runs fn(0..n−1) once per round: fn(0) on the caller's goroutine, the
// others on n−1 persistent workers. A round is a fork-join: run returns when
// every fn has returned, so everything fn wrote happens-before run returns.
//
// Workers spin briefly on an atomic round counter before parking on a
// channel, since bursts follow each other within microseconds when the
// engine runs free; parked workers cost nothing.
type pool struct {
	n      int
	fn     func(int)
	round  atomic.Uint64 // incremented to start a round
	done   atomic.Int32  // workers finished in this round
	wake   []chan struct{}
	finish chan struct{}
	// waiting is set by run when it stops spinning and blocks on finish; the
	// last worker to finish sends on finish only if it clears waiting.
	waiting atomic.Bool
	parked  []atomic.Bool
	once    sync.Once
	closed  atomic.Bool
}

const spinRounds = 2000

func newPool(n int, fn func(int)) *pool {
	p := &pool{n: n, fn: fn, wake: make([]chan struct{}, n), finish: make(chan struct{}, 1), parked: make([]atomic.Bool, n)}
	for k := 1; k < n; k++ {
		p.wake[k] = make(chan struct{}, 1)
		go p.worker(k)
	}
	return p
}

func (p *pool) worker(k int) {
	seen := uint64(0)
	for {
		// Wait for the next round: spin, then park.
		for i := 0; p.round.Load() == seen; i++ {
			if p.closed.Load() {
				return
			}
			if i < spinRounds {
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
		seen++
		p.fn(k)
		if p.done.Add(1) == int32(p.n-1) && p.waiting.CompareAndSwap(true, false) {
			p.finish <- struct{}{}
		}
	}
}

// run executes one round.
func (p *pool) run() {
	p.done.Store(0)
	p.round.Add(1)
	for k := 1; k < p.n; k++ {
		if p.parked[k].Load() {
			select {
			case p.wake[k] <- struct{}{}:
			default:
			}
		}
	}
	p.fn(0)
	last := int32(p.n - 1)
	for i := 0; i < spinRounds; i++ {
		if p.done.Load() == last {
			return
		}
	}
	p.waiting.Store(true)
	if p.done.Load() == last && p.waiting.CompareAndSwap(true, false) {
		return // the last worker finished before seeing waiting
	}
	<-p.finish
}

func (p *pool) close() {
	p.once.Do(func() {
		p.closed.Store(true)
		for k := 1; k < p.n; k++ {
			close(p.wake[k])
		}
	})
}
