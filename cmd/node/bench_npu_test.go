package main

import (
	"testing"

	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

func TestPickThreads(t *testing.T) {
	for _, c := range []struct {
		med  map[int]float64
		want int
	}{
		{map[int]float64{1: 100, 2: 60}, 2},
		{map[int]float64{1: 100, 2: 95}, 1},  // within the margin: one thread
		{map[int]float64{1: 100, 2: 180}, 1}, // slower
		{map[int]float64{1: 100, 2: 60, 3: 50, 4: 50}, 3},
		{map[int]float64{1: 10}, 1},
	} {
		if got := pickThreads(c.med); got != c.want {
			t.Errorf("%v: picked %d, want %d", c.med, got, c.want)
		}
	}
}

// chooseThreads tries every count up to the maximum on real workloads and
// returns one of them with a median for each.
func TestChooseThreads(t *testing.T) {
	build := func(th int) (*npu.Workload, error) { return npu.NewLIFRandomWorkload(2000, 10, 1, quant.INT8, th) }
	got, med, err := chooseThreads(2, build)
	if err != nil {
		t.Fatal(err)
	}
	if got < 1 || got > 2 || len(med) != 2 || !(med[1] > 0) || !(med[2] > 0) {
		t.Fatalf("chose %d from %v", got, med)
	}
	if got != pickThreads(med) {
		t.Fatalf("chose %d, the medians %v give %d", got, med, pickThreads(med))
	}
}

func TestAreaThreads(t *testing.T) {
	small := npu.AreaSpec{Dims: [3]uint32{10, 10, 10}, PerVoxel: 1}
	big := npu.AreaSpec{Dims: [3]uint32{1 << 20, 1, 1}, PerVoxel: 1}
	if got := areaThreads(3, &small, nil); got != 3 {
		t.Errorf("--threads 3 gave %d", got)
	}
	if got := areaThreads(0, &small, nil); got != 1 {
		t.Errorf("a small area got %d workers", got)
	}
	if got := areaThreads(0, &big, nil); got < 1 || got > 2 {
		t.Errorf("a big area got %d workers", got)
	}
}
