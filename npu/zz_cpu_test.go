package npu

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func BenchmarkZZMin(b *testing.B) {
	for _, prec := range precisions {
		for _, wl := range []string{"a1", "lif"} {
			for _, n := range []int{10_000, 50_000} {
				for _, wk := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%v/%d/w%d", wl, prec, n, wk), func(b *testing.B) {
						var w *Workload
						if wl == "a1" {
							w, _ = NewFeagiA1Workload(n, prec, wk)
						} else {
							w, _ = NewLIFRandomWorkload(n, 10, 1, prec, wk)
						}
						defer w.Close()
						for range 50 {
							w.Step()
						}
						ts := make([]time.Duration, 3000)
						for k := range ts {
							t0 := time.Now()
							w.Step()
							ts[k] = time.Since(t0)
						}
						slices.Sort(ts)
						b.ReportMetric(float64(ts[0].Nanoseconds())/1000, "minµs")
						b.ReportMetric(float64(ts[len(ts)/10].Nanoseconds())/1000, "p10µs")
						b.ReportMetric(float64(ts[len(ts)/2].Nanoseconds())/1000, "p50µs")
					})
				}
			}
		}
	}
}
