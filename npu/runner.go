package npu

import (
	"fmt"
	"sort"

	"github.com/spikemesh/spikemesh/quant"
)

// Runner is the single-process whole-brain reference: every area's engine in
// one goroutine, stepped in ascending area index, each fed the previous
// burst's fired lists of its upstream connections. The distributed runtime
// must produce the same outputs, bit for bit; it can, because an engine's
// Step depends only on its own state and its Input.
//
// A Runner is not safe for concurrent use.
type Runner struct {
	engines []Engine // by area index
	inputs  []Input  // by area index; Fired/Potentials alias prev
	srcs    [][]int  // by area index: source area of each incoming connection
	prev    []Output // copies of the last burst's outputs, by area index
	outs    []Output // the last burst's outputs (engine-owned)
	burst   Burst
}

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// Workers is Options.Workers of every engine.
	Workers int
	// Drive is Options.Drive per area index (benchmarks only).
	Drive map[int][]Drive
}

// NewRunner builds the engines of a whole brain. areas must hold each index
// 0…len(areas)−1 exactly once; conns are all the connections of the brain,
// each source's table sized to its area. The runner takes ownership of conns.
func NewRunner(areas []AreaSpec, conns []*Connection, prec quant.Precision, opts RunnerOptions) (*Runner, error) {
	n := len(areas)
	byIndex := make([]*AreaSpec, n)
	for i := range areas {
		a := &areas[i]
		if a.Index < 0 || a.Index >= n {
			return nil, fmt.Errorf("%w: area index %d outside 0…%d", ErrPlan, a.Index, n-1)
		}
		if byIndex[a.Index] != nil {
			return nil, fmt.Errorf("%w: area index %d appears twice", ErrPlan, a.Index)
		}
		byIndex[a.Index] = a
	}
	in := make([][]*Connection, n)
	for k, c := range conns {
		if c == nil {
			return nil, fmt.Errorf("%w: connection %d is nil", ErrPlan, k)
		}
		if c.Src < 0 || c.Src >= n || c.Dst < 0 || c.Dst >= n {
			return nil, fmt.Errorf("%w: connection %d→%d names an unknown area", ErrPlan, c.Src, c.Dst)
		}
		if len(c.Start) != int(byIndex[c.Src].Neurons())+1 {
			return nil, fmt.Errorf("%w: connection %d→%d: %d Start entries for a source of %d neurons",
				ErrPlan, c.Src, c.Dst, len(c.Start), byIndex[c.Src].Neurons())
		}
		in[c.Dst] = append(in[c.Dst], c)
	}
	r := &Runner{
		engines: make([]Engine, n), inputs: make([]Input, n), srcs: make([][]int, n),
		prev: make([]Output, n), outs: make([]Output, n),
	}
	for a := 0; a < n; a++ {
		sort.SliceStable(in[a], func(i, j int) bool { return in[a][i].Src < in[a][j].Src })
		e, err := NewEngineWithOptions(*byIndex[a], prec, in[a], Options{Workers: opts.Workers, Drive: opts.Drive[a]})
		if err != nil {
			r.Close()
			return nil, err
		}
		r.engines[a] = e
		for _, c := range in[a] {
			r.srcs[a] = append(r.srcs[a], c.Src)
		}
		r.inputs[a].Fired = make([][]uint32, len(in[a]))
		r.inputs[a].Potentials = make([][]float32, len(in[a]))
		r.prev[a].Fired = make([]uint32, 0, byIndex[a].Neurons())
		r.prev[a].Potentials = make([]float32, 0, byIndex[a].Neurons())
	}
	return r, nil
}

// Step runs the next burst. points[a] are the sensory points of area a (nil
// or missing: none). It returns each area's Output by area index; the slices
// stay valid until the next Step.
func (r *Runner) Step(points [][]Point) []Output {
	r.burst++
	for a, e := range r.engines {
		in := &r.inputs[a]
		in.Points = nil
		if a < len(points) {
			in.Points = points[a]
		}
		for k, s := range r.srcs[a] {
			in.Fired[k] = r.prev[s].Fired
			in.Potentials[k] = r.prev[s].Potentials
		}
		r.outs[a] = e.Step(r.burst, in)
	}
	for a, o := range r.outs {
		r.prev[a].Fired = append(r.prev[a].Fired[:0], o.Fired...)
		r.prev[a].Potentials = append(r.prev[a].Potentials[:0], o.Potentials...)
	}
	return r.outs
}

// Burst is the last burst stepped (0 before the first Step).
func (r *Runner) Burst() Burst { return r.burst }

// Engine returns the engine of area a.
func (r *Runner) Engine(a int) Engine { return r.engines[a] }

// Engines returns the engines by area index.
func (r *Runner) Engines() []Engine { return r.engines }

// Close stops the engines' worker goroutines.
func (r *Runner) Close() {
	for _, e := range r.engines {
		if c, ok := e.(Closer); ok {
			c.Close()
		}
	}
}
