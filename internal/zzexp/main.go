package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

func main() {
	w, err := npu.NewLIFRandomWorkload(50000, 10, 1, quant.FP32, 1)
	if err != nil {
		panic(err)
	}
	for r := 0; r < 4; r++ {
		times := make([]time.Duration, 500)
		sp := 0
		for b := range times {
			t0 := time.Now()
			out := w.Step()
			times[b] = time.Since(t0)
			sp += len(out.Fired)
		}
		slices.Sort(times)
		fmt.Println("bursts", r*500, "p50", times[250], "spikes/burst", sp/500)
	}
}
