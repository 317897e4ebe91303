package brain

import (
	"runtime"
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
)

// An area gets a second engine worker only when it is heavy and fewer heavy
// areas than cores share the process (the areas of a burst already run in
// parallel); --threads wins.
func TestPlanWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	area := func(neurons uint32) cortical.Area {
		return cortical.Area{AreaSpec: npu.AreaSpec{Dims: [3]uint32{neurons, 1, 1}, PerVoxel: 1}}
	}
	heavy, light := area(areaWork), area(areaWork-1)
	all := func(int) bool { return true }
	cases := []struct {
		name    string
		areas   []cortical.Area
		keep    func(int) bool
		threads int
		procs   int
		want    []int
	}{
		{"one heavy area", []cortical.Area{heavy, light}, all, 0, 2, []int{2, 1}},
		{"as many heavy areas as cores", []cortical.Area{heavy, light, heavy}, all, 0, 2, []int{1, 1, 1}},
		{"the other heavy area elsewhere", []cortical.Area{heavy, light, heavy}, func(i int) bool { return i < 2 }, 0, 2, []int{2, 1, 0}},
		{"more cores than heavy areas", []cortical.Area{heavy, heavy, heavy}, all, 0, 4, []int{2, 2, 2}},
		{"one core", []cortical.Area{heavy}, all, 0, 1, []int{1}},
		{"--threads", []cortical.Area{heavy, light, heavy}, all, 3, 2, []int{3, 3, 3}},
	}
	for _, c := range cases {
		runtime.GOMAXPROCS(c.procs)
		p := &cortical.Plan{Areas: c.areas}
		if got := planWorkers(p, incomingByArea(p), c.keep, c.threads); !slices.Equal(got, c.want) {
			t.Errorf("%s: workers %v, want %v", c.name, got, c.want)
		}
	}
}
