package npu

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/quant"
)

func benchWorkload(b *testing.B, w *Workload) {
	defer w.Close()
	for range 20 {
		w.Step()
	}
	spikes, events := 0, 0
	b.ResetTimer()
	for b.Loop() {
		out := w.Step()
		spikes += len(out.Fired)
		events += w.Events(out)
	}
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/n, "µs/burst")
	b.ReportMetric(float64(spikes)/n, "spikes/burst")
	if events > 0 {
		b.ReportMetric(float64(events)/b.Elapsed().Seconds()/1e6, "Mevents/s")
	}
	b.ReportMetric(float64(w.Engine.HotBytesPerNeuron()), "hotB/neuron")
}

func BenchmarkFeagiA1(b *testing.B) {
	for _, prec := range precisions {
		for _, n := range []int{10_000, 50_000, 1_000_000} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/n=%d/w=%d", prec, n, workers), func(b *testing.B) {
					w, err := NewFeagiA1Workload(n, prec, workers)
					if err != nil {
						b.Fatal(err)
					}
					benchWorkload(b, w)
				})
			}
		}
	}
}

func BenchmarkLIFRandom(b *testing.B) {
	for _, prec := range precisions {
		for _, n := range []int{10_000, 50_000} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/n=%d/w=%d", prec, n, workers), func(b *testing.B) {
					w, err := NewLIFRandomWorkload(n, 10, 1, prec, workers)
					if err != nil {
						b.Fatal(err)
					}
					benchWorkload(b, w)
				})
			}
		}
	}
}

// BenchmarkDispatch compares Step through the Engine interface with a direct
// call on the concrete engine: the interface is crossed once per burst, so
// the difference is noise (< 2 %).
func BenchmarkDispatch(b *testing.B) {
	for _, direct := range []bool{false, true} {
		b.Run(fmt.Sprintf("direct=%v", direct), func(b *testing.B) {
			spec, opts := FeagiA1(10_000)
			e, err := NewEngineWithOptions(spec, quant.FP32, nil, opts)
			if err != nil {
				b.Fatal(err)
			}
			h := e.engine
			var burst Burst
			for b.Loop() {
				burst++
				if direct {
					h.Step(burst, nil)
				} else {
					e.Step(burst, nil)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/burst")
		})
	}
}

// BenchmarkBurstPercentiles times every burst of the workloads separately and
// reports the minimum, median and 99th percentile: on a shared machine the
// minimum shows what the engine does when it has the cores to itself.
func BenchmarkBurstPercentiles(b *testing.B) {
	for _, prec := range precisions {
		for _, wl := range []string{"feagi-a1", "lif-random"} {
			for _, n := range []int{10_000, 50_000} {
				for _, workers := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%v/n=%d/w=%d", wl, prec, n, workers), func(b *testing.B) {
						var w *Workload
						var err error
						if wl == "feagi-a1" {
							w, err = NewFeagiA1Workload(n, prec, workers)
						} else {
							w, err = NewLIFRandomWorkload(n, 10, 1, prec, workers)
						}
						if err != nil {
							b.Fatal(err)
						}
						defer w.Close()
						for range 20 {
							w.Step()
						}
						ts := make([]time.Duration, 0, b.N)
						for b.Loop() {
							t0 := time.Now()
							w.Step()
							ts = append(ts, time.Since(t0))
						}
						slices.Sort(ts)
						us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
						b.ReportMetric(us(ts[0]), "min-µs")
						b.ReportMetric(us(ts[len(ts)/2]), "p50-µs")
						b.ReportMetric(us(ts[len(ts)*99/100]), "p99-µs")
					})
				}
			}
		}
	}
}

// BenchmarkTwoEngines is the ceiling of any split of one area between two
// workers on this machine: two independent lif-random engines of n neurons
// (one worker each, different seeds) stepped together once per burst by the
// engines' own pool (one on the caller, one on the pool's goroutine), against
// one engine stepped alone. It reports the time per round and each engine's
// step; with two cores that run such loops side by side, a round of two
// costs little more than one engine alone.
func BenchmarkTwoEngines(b *testing.B) {
	for _, n := range []int{10_000, 50_000} {
		for _, two := range []bool{false, true} {
			b.Run(fmt.Sprintf("n=%d/engines=%d", n, map[bool]int{false: 1, true: 2}[two]), func(b *testing.B) {
				ws := make([]*Workload, 2)
				for k := range ws {
					w, err := NewLIFRandomWorkload(n, 10, uint64(k+1), quant.FP32, 1)
					if err != nil {
						b.Fatal(err)
					}
					defer w.Close()
					ws[k] = w
				}
				var spent [2]time.Duration
				step := func(k int) {
					t0 := time.Now()
					ws[k].Step()
					spent[k] += time.Since(t0)
				}
				for range 20 {
					step(0)
					step(1)
				}
				spent = [2]time.Duration{}
				if !two {
					for b.Loop() {
						step(0)
					}
					b.ReportMetric(float64(spent[0].Nanoseconds())/1000/float64(b.N), "step-µs")
					return
				}
				p := newPool(2, 2, step)
				defer p.close()
				for b.Loop() {
					p.run()
				}
				b.ReportMetric(float64(spent[0].Nanoseconds())/1000/float64(b.N), "step0-µs")
				b.ReportMetric(float64(spent[1].Nanoseconds())/1000/float64(b.N), "step1-µs")
			})
		}
	}
}
