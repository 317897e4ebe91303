package main

import (
	"fmt"
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
	Workload          string  `json:"workload"`
	Precision         string  `json:"precision"`
	Neurons           int     `json:"neurons"`
	Synapses          int     `json:"synapses"`
	Bursts            int     `json:"bursts"`
	Threads           int     `json:"threads"`
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
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	bursts := o.Bursts
	if bursts <= 0 {
		bursts = 1000
	}
	if o.Neurons <= 0 {
		return fmt.Errorf("--neurons must be positive")
	}
	var w *npu.Workload
	warmup := 1
	switch name {
	case "feagi-a1":
		w, err = npu.NewFeagiA1Workload(o.Neurons, prec, threads)
	default:
		w, err = npu.NewLIFRandomWorkload(o.Neurons, o.Fanout, o.Seed, prec, threads)
		warmup = 0 // brian2_lif.py times every step from the start
	}
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
	sc := 0.0
	if s, ok := w.Engine.(interface{ ScratchBytesPerNeuron() float64 }); ok {
		sc = s.ScratchBytesPerNeuron()
	}
	r := engineResult{
		Workload: name, Precision: prec.String(), Neurons: n, Synapses: w.Synapses, Bursts: bursts, Threads: threads,
		USPerBurst: us(times[len(times)/2]), USMean: us(total) / float64(bursts),
		USP99: us(times[min(len(times)-1, len(times)*99/100)]), USMin: us(times[0]),
		Spikes: spikes, SpikesPerBurst: float64(spikes) / float64(bursts),
		FiringRate:     float64(spikes) / float64(bursts) / float64(n),
		SynapticEvents: events, EventsPerSecond: float64(events) / total.Seconds(),
		HotBytesPerNeuron: w.Engine.HotBytesPerNeuron(), ScratchBytes: sc,
		AllocsPerBurst: float64(ms1.Mallocs-ms0.Mallocs) / float64(bursts),
		GoMaxProcs:     runtime.GOMAXPROCS(0),
	}
	if name == "lif-random" {
		r.Seed = o.Seed
	}
	emit(r)
	return nil
}
