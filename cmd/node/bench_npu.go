package main

import (
	"fmt"
	"github.com/spikemesh/spikemesh/brain"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

// The engine workloads of node bench (npu/workload.go defines them).

func init() {
	registerBench("feagi-a1", benchWorkload{
		summary: "FEAGI's int8/fp32 validation: one area of N neurons all driven with 1.0, no synapses (default 1 warm-up + 1000 bursts)",
		run:     func(o benchOptions, emit func(any)) error { return benchEngine(o, emit, "feagi-a1") },
	})
	registerBench("lif-random", benchWorkload{
		summary: "brian2_lif.py ×20: N LIF neurons, --fanout random synapses each, 5% driven (default 1000 bursts)",
		run:     func(o benchOptions, emit func(any)) error { return benchEngine(o, emit, "lif-random") },
	})
}

// engineResult is one JSON line of an engine workload.
type engineResult struct {
	Workload  string `json:"workload"`
	Precision string `json:"precision"`
	Neurons   int    `json:"neurons"`
	Synapses  int    `json:"synapses"`
	Bursts    int    `json:"bursts"`
	Threads   int    `json:"threads"`
	// ThreadTrials: when --threads is not given, the median µs per burst of
	// each thread count tried before choosing (chooseThreads).
	ThreadTrials      string  `json:"thread_trials,omitempty"`
	USPerBurst        float64 `json:"us_per_burst"` // median
	USMean            float64 `json:"us_mean"`
	USP99             float64 `json:"us_p99"`
	USMin             float64 `json:"us_min"`
	Spikes            int     `json:"spikes"`
	SpikesPerBurst    float64 `json:"spikes_per_burst"`
	FiringRate        float64 `json:"firing_rate"`
	SynapticEvents    int     `json:"synaptic_events"`
	EventsPerSecond   float64 `json:"events_per_s"`
	HotBytesPerNeuron int     `json:"hot_bytes_per_neuron"`
	ScratchBytes      float64 `json:"scratch_bytes_per_neuron"`
	AllocsPerBurst    float64 `json:"allocs_per_burst"`
	Seed              uint64  `json:"seed,omitempty"`
	GoMaxProcs        int     `json:"gomaxprocs"`
}

func benchEngine(o benchOptions, emit func(any), name string) error {
	prec, warn, err := quant.ParsePrecision(o.Precision)
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintf(os.Stderr, "node bench: %s\n", warn)
	}
	build := func(threads int) (*npu.Workload, error) {
		if name == "feagi-a1" {
			return npu.NewFeagiA1Workload(o.Neurons, prec, threads)
		}
		return npu.NewLIFRandomWorkload(o.Neurons, o.Fanout, o.Seed, prec, threads)
	}
	if o.Neurons <= 0 {
		return fmt.Errorf("--neurons must be positive")
	}
	threads, chosen := o.Threads, ""
	if threads <= 0 {
		var trials map[int]float64
		threads, trials, err = chooseThreads(runtime.GOMAXPROCS(0), build)
		if err != nil {
			return err
		}
		chosen = fmt.Sprint(trials)
	}
	bursts := o.Bursts
	if bursts <= 0 {
		bursts = 1000
	}
	warmup := 1
	if name == "lif-random" {
		warmup = 0 // brian2_lif.py times every step from the start
	}
	w, err := build(threads)
	if err != nil {
		return err
	}
	defer w.Close()
	for range warmup {
		w.Step()
	}
	times := make([]time.Duration, bursts)
	spikes, events := 0, 0
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for b := range times {
		t0 := time.Now()
		out := w.Step()
		times[b] = time.Since(t0)
		spikes += len(out.Fired)
		events += w.Events(out) // counted as brian2_lif.py does: spikes × fanout
	}
	total := time.Since(start)
	runtime.ReadMemStats(&ms1)
	slices.Sort(times)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	n := int(w.Engine.Spec().Neurons())
	sc := w.Engine.ScratchBytesPerNeuron()
	r := engineResult{
		Workload: name, Precision: prec.String(), Neurons: n, Synapses: w.Synapses, Bursts: bursts, Threads: threads,
		USPerBurst: us(times[len(times)/2]), USMean: us(total) / float64(bursts),
		USP99: us(times[min(len(times)-1, len(times)*99/100)]), USMin: us(times[0]),
		Spikes: spikes, SpikesPerBurst: float64(spikes) / float64(bursts),
		FiringRate:     float64(spikes) / float64(bursts) / float64(n),
		SynapticEvents: events, EventsPerSecond: float64(events) / total.Seconds(),
		HotBytesPerNeuron: w.Engine.HotBytesPerNeuron(), ScratchBytes: sc,
		AllocsPerBurst: float64(ms1.Mallocs-ms0.Mallocs) / float64(bursts),
		GoMaxProcs:     runtime.GOMAXPROCS(0), ThreadTrials: chosen,
	}
	if name == "lif-random" {
		r.Seed = o.Seed
	}
	emit(r)
	return nil
}

// Thread choice: node bench (and node run, for its areas) pick the number of
// worker goroutines of an engine themselves unless --threads is given.

// threadTrialBursts is how many bursts each candidate runs per round, and
// threadTrialRounds how many rounds alternate between the candidates (a busy
// machine slows whichever candidate is running; alternating spreads that).
const (
	threadTrialBursts = 40
	threadTrialRounds = 5
	// threadGain: more threads must be this much faster (median) to be
	// chosen, so that noise never picks a slower count.
	threadGain = 0.9
)

// chooseThreads times fresh workloads with 1…maxThreads workers, in
// alternating rounds, and returns the count with the lowest median burst time
// — more than one only if it beats one thread's median by the margin
// threadGain — and the median of each count in µs.
func chooseThreads(maxThreads int, build func(threads int) (*npu.Workload, error)) (int, map[int]float64, error) {
	maxThreads = max(maxThreads, 1)
	ws := make([]*npu.Workload, maxThreads+1)
	defer func() {
		for _, w := range ws {
			if w != nil {
				w.Close()
			}
		}
	}()
	times := make([][]time.Duration, maxThreads+1)
	for t := 1; t <= maxThreads; t++ {
		w, err := build(t)
		if err != nil {
			return 0, nil, err
		}
		ws[t] = w
	}
	for range threadTrialRounds {
		for t := 1; t <= maxThreads; t++ {
			for range threadTrialBursts {
				t0 := time.Now()
				ws[t].Step()
				times[t] = append(times[t], time.Since(t0))
			}
		}
	}
	med := map[int]float64{}
	for t := 1; t <= maxThreads; t++ {
		slices.Sort(times[t])
		med[t] = float64(times[t][len(times[t])/2].Nanoseconds()) / 1000
	}
	return pickThreads(med), med, nil
}

// pickThreads returns the thread count with the lowest median, counting more
// than one thread only when it is below threadGain × one thread's median.
func pickThreads(med map[int]float64) int {
	best := 1
	for t, m := range med {
		if t > 1 && m < threadGain*med[1] && (best == 1 || m < med[best] || m == med[best] && t < best) {
			best = t
		}
	}
	return best
}

// areaThreads is brain.AreaWorkers of the one area of an engine workload
// (node run and node bench choose alike).
func areaThreads(threads int, spec *npu.AreaSpec, incoming []*npu.Connection) int {
	return brain.AreaWorkers(threads, spec, incoming, 1)
}
