package npu

import (
	"fmt"
	"math/rand/v2"

	"github.com/spikemesh/spikemesh/quant"
)

// Benchmark workloads shared by the go test benchmarks and `node bench`.

// WorkloadArea is the index given to a workload's single area (a regular
// area, so the engine adds no power input).
const WorkloadArea = 3

// FeagiA1 is FEAGI's int8/fp32 validation workload (docs/semantics.md §7):
// one area of 10×10×(n/100) voxels, one neuron each (n rounded down to a
// multiple of 100, at least 100), no synapses, every neuron driven with 1.0
// every burst; threshold 1, leak 0.97, refractory 3, excitability 0.5,
// consecutive-fire limit 5, snooze 10, no charge accumulation. Global ids
// start at 0, as in FEAGI's program, so the excitability draws, and hence the
// spike counts, are FEAGI's.
func FeagiA1(n int) (AreaSpec, Options) {
	d := uint32(max(n/100, 1))
	spec := AreaSpec{
		Index: WorkloadArea, Dims: [3]uint32{10, 10, d}, PerVoxel: 1,
		Params: Params{
			Threshold: 1, LeakPerBurst: 0.97, RefractoryBursts: 3, Excitability: 0.5,
			ConsecutiveLimit: 5, SnoozeBursts: 10, ChargeAccumulation: false, PSP: 1,
		},
	}
	return spec, Options{Drive: []Drive{{From: 0, To: spec.Neurons(), P: 1}}}
}

// LIFRandom is the lif-random workload (docs/semantics.md §7): the network
// of a Brian2 benchmark script, scaled by 20. n neurons in one area; each
// has fanout outgoing synapses (excitatory, weight 3, PSP 1, no out-degree
// division) to targets drawn uniformly with replacement from a PCG seeded with
// seed; every burst neurons 0…⌊0.05·n⌋−1 receive 20.2 and the others 0.2;
// threshold 20, no limit, leak 0.03, refractory 2, no consecutive limit,
// excitability 1, charge accumulation on.
func LIFRandom(n, fanout int, seed uint64) (AreaSpec, *Connection, Options, error) {
	if n < 1 || fanout < 0 || int64(n)*int64(fanout) > 1<<31 {
		return AreaSpec{}, nil, Options{}, fmt.Errorf("npu: lif-random: bad size %d neurons × %d synapses", n, fanout)
	}
	spec := AreaSpec{
		Index: WorkloadArea, Dims: [3]uint32{uint32(n), 1, 1}, PerVoxel: 1,
		Params: Params{
			Threshold: 20, LeakPerBurst: 0.03, RefractoryBursts: 2, Excitability: 1,
			ChargeAccumulation: true, PSP: 1, PSPUniform: true,
		},
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	m := n * fanout
	c := &Connection{
		Src: WorkloadArea, Dst: WorkloadArea,
		Start: make([]uint32, n+1), Target: make([]uint32, m), Weight: make([]uint8, m),
		Inhibitory: make([]bool, m), OutDegree: make([]uint32, n), PSP: 1, PSPUniform: true,
	}
	for s := 0; s < n; s++ {
		c.Start[s+1] = uint32((s + 1) * fanout)
		c.OutDegree[s] = uint32(fanout)
		for j := s * fanout; j < (s+1)*fanout; j++ {
			c.Target[j] = uint32(rng.IntN(n))
			c.Weight[j] = 3
		}
	}
	driven := uint32(n / 20)
	var drive []Drive
	if driven > 0 {
		drive = append(drive, Drive{From: 0, To: driven, P: 20.2})
	}
	if driven < uint32(n) {
		drive = append(drive, Drive{From: driven, To: uint32(n), P: 0.2})
	}
	return spec, c, Options{Drive: drive}, nil
}

// Workload is a ready-to-step benchmark brain of one area: the engine, its
// input, and (for recurrent workloads) its own fired list fed back as the
// input of the next burst, as Runner would do.
type Workload struct {
	Name     string
	Engine   *AreaEngine
	Synapses int // synapses of the area
	recur    bool
	in       Input
	fired    []uint32
	burst    Burst
}

// NewFeagiA1Workload builds FeagiA1(n) at precision prec with workers workers.
func NewFeagiA1Workload(n int, prec quant.Precision, workers int) (*Workload, error) {
	spec, opts := FeagiA1(n)
	opts.Workers = workers
	e, err := NewEngineWithOptions(spec, prec, nil, opts)
	if err != nil {
		return nil, err
	}
	return &Workload{Name: "feagi-a1", Engine: e}, nil
}

// NewLIFRandomWorkload builds LIFRandom(n, fanout, seed) at precision prec
// with workers workers.
func NewLIFRandomWorkload(n, fanout int, seed uint64, prec quant.Precision, workers int) (*Workload, error) {
	spec, conn, opts, err := LIFRandom(n, fanout, seed)
	if err != nil {
		return nil, err
	}
	opts.Workers = workers
	e, err := NewEngineWithOptions(spec, prec, []*Connection{conn}, opts)
	if err != nil {
		return nil, err
	}
	w := &Workload{Name: "lif-random", Engine: e, Synapses: conn.Synapses(), recur: true, fired: make([]uint32, 0, n)}
	w.in.Fired = make([][]uint32, 1)
	return w, nil
}

// Step runs the next burst and returns the area's output.
func (w *Workload) Step() Output {
	w.burst++
	if w.recur {
		w.in.Fired[0] = w.fired
	}
	out := w.Engine.Step(w.burst, &w.in)
	if w.recur {
		w.fired = append(w.fired[:0], out.Fired...)
	}
	return out
}

// Events is the number of synaptic events the last burst's output causes in
// the next burst.
func (w *Workload) Events(out Output) int {
	if !w.recur {
		return 0
	}
	n := int(w.Engine.Spec().Neurons())
	if n == 0 {
		return 0
	}
	return len(out.Fired) * (w.Synapses / n)
}

// Close stops the engine's workers.
func (w *Workload) Close() { w.Engine.Close() }
