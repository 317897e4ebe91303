package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

func init() {
	registerBench("actors", benchWorkload{
		summary: "coordination cost per burst of --areas small area actors in a ring (p50/p99); --extra nats=1 sends spikes via NATS, inline=0 gives every area its own goroutines",
		run:     benchActors,
	})
	registerBench("nats-spikes", benchWorkload{
		summary: "spike ids per second through NATS from a publisher process to this one; --extra ids=N (per batch),batches=N",
		run:     benchNATSSpikes,
	})
}

// ringPlan is k areas of n neurons each (area 1 is the power area), each
// neuron wired to the same neuron of the next area, the last area to the
// first, so the power neuron's spike keeps travelling round the ring.
func ringPlan(k, n int) *cortical.Plan {
	p := &cortical.Plan{Precision: quant.FP32}
	first := uint32(0)
	for i := range k {
		var id cortical.ID
		copy(id[:], fmt.Sprintf("r%07d", i))
		p.Areas = append(p.Areas, cortical.Area{
			AreaSpec: npu.AreaSpec{Index: i, Dims: [3]uint32{uint32(n), 1, 1}, PerVoxel: 1, FirstID: first,
				Params: npu.Params{Threshold: 0.5, Excitability: 1, PSP: 1, PSPUniform: true}},
			ID: id, Kind: cortical.KindCustom,
		})
		first += uint32(n)
	}
	for dst := range k {
		src := (dst + k - 1) % k
		c := &npu.Connection{Src: src, Dst: dst, Start: make([]uint32, n+1), Target: make([]uint32, n),
			Weight: make([]uint8, n), Inhibitory: make([]bool, n), OutDegree: make([]uint32, n), PSP: 1, PSPUniform: true}
		for s := range n {
			c.Start[s+1], c.Target[s], c.Weight[s], c.OutDegree[s] = uint32(s+1), uint32(s), 1, 1
		}
		p.Connections = append(p.Connections, c)
	}
	return p
}

func benchActors(o benchOptions, emit func(any)) error {
	k := o.Areas
	if k < 2 {
		return fmt.Errorf("--areas %d: want at least 2", k)
	}
	bursts := o.Bursts
	if bursts <= 0 {
		bursts = 20000
	}
	const neurons = 8
	viaNATS := o.Extra["nats"] == "1"
	plan := ringPlan(k, neurons)
	engs, closeEngines, err := engines(plan, o.Threads)
	if err != nil {
		return err
	}
	defer closeEngines()
	cfg := actors.Config{Plan: plan, Engines: engs, SpikesViaNATS: viaNATS, InlineWork: inlineWork}
	if v, err := strconv.Atoi(o.Extra["inline"]); err == nil {
		cfg.InlineWork = v // 0: every area on goroutines of its own
	}
	if viaNATS {
		ns, err := actors.EmbeddedNATS("")
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		cfg.Dial = func(opts ...nats.Option) (*nats.Conn, error) {
			return nats.Connect("", append(opts, nats.InProcessServer(ns))...)
		}
	}
	warmup := bursts / 10
	stats := actors.NewStats(k)
	var steps actors.Histogram
	var spikes uint64
	cfg.Observer = func(r *actors.BurstResult) error {
		if r.Burst > npu.Burst(warmup) {
			stats.Add(r)
			steps.Add(r.SlowestStep)
			spikes += uint64(r.Spikes)
		}
		return nil
	}
	rt, err := actors.New(cfg)
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.Run(context.Background(), uint64(warmup)); err != nil {
		return err
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	if err := rt.Run(context.Background(), uint64(bursts)); err != nil {
		return err
	}
	wall := time.Since(start)
	runtime.ReadMemStats(&m1)
	emit(map[string]any{
		"workload": "actors", "areas": k, "neurons_per_area": neurons, "spikes_via_nats": viaNATS, "inline_work": cfg.InlineWork,
		"bursts": bursts, "burst_p50_us": us(stats.Quantile(0.5)), "burst_p99_us": us(stats.Quantile(0.99)),
		"slowest_step_p50_us": us(steps.Quantile(0.5)), "wall_per_burst_us": us(wall / time.Duration(bursts)),
		"bursts_per_s": float64(bursts) / wall.Seconds(), "spikes_per_burst": float64(spikes) / float64(bursts),
		"allocs_per_burst": float64(m1.Mallocs-m0.Mallocs) / float64(bursts),
	})
	return nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// benchNATSSpikes measures spike ids per second through NATS between two
// processes: this one (the destination area: subscribes and decodes every
// batch) and a child it starts from its own binary (the source area:
// encodes and publishes). As in the runtime, at most two batches are in
// flight: the publisher sends batch b once the receiver acknowledged b−2.
func benchNATSSpikes(o benchOptions, emit func(any)) error {
	if o.Extra["role"] == "publisher" {
		return natsSpikesPublisher(o)
	}
	ids := extraInt(o, "ids", 1_000_000)
	batches := extraInt(o, "batches", 200)
	ns, err := actors.EmbeddedNATS("127.0.0.1:-1")
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()

	const subject, acks = "spikemesh.bench.spikes.dst", "spikemesh.bench.ack"
	var fired []uint32
	var total atomic.Int64
	var first, last time.Time
	done := make(chan error, 1)
	count := 0
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		if count == 0 {
			first = time.Now()
		}
		var err error
		_, fired, _, err = actors.DecodeSpikeBatch(m.Data, fired[:0], nil)
		if err != nil {
			done <- err
			return
		}
		total.Add(int64(len(fired)))
		count++
		if err := nc.Publish(acks, strconv.AppendInt(nil, int64(count), 10)); err != nil {
			done <- err
			return
		}
		if count == batches {
			last = time.Now()
			done <- nil
		}
	})
	if err != nil {
		return err
	}
	if err := sub.SetPendingLimits(16, 1<<30); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "bench", "--workload", "nats-spikes", "--extra",
		fmt.Sprintf("role=publisher,url=%s,ids=%d,batches=%d", ns.ClientURL(), ids, batches))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return err
	}
	err = <-done
	if werr := child.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	// The first batch starts the clock, so it is not counted.
	counted := total.Load() - int64(ids)
	elapsed := last.Sub(first)
	dropped, _ := sub.Dropped()
	emit(map[string]any{
		"workload": "nats-spikes", "ids_per_batch": ids, "batches": batches, "bytes_per_batch": len(actors.AppendSpikeBatch(nil, "brain", 1, 3, 4, denseFired(ids), nil)),
		"seconds": elapsed.Seconds(), "mids_per_s": float64(counted) / elapsed.Seconds() / 1e6, "dropped": dropped,
	})
	return nil
}

// denseFired is a quarter of the neurons of an area of 4·n firing.
func denseFired(n int) []uint32 {
	f := make([]uint32, n)
	x := uint32(0)
	for i := range f {
		x += 1 + uint32(i%7) // deltas 1…7: one byte each
		f[i] = x
	}
	return f
}

func natsSpikesPublisher(o benchOptions) error {
	ids := extraInt(o, "ids", 1_000_000)
	batches := extraInt(o, "batches", 200)
	nc, err := nats.Connect(o.Extra["url"])
	if err != nil {
		return err
	}
	defer nc.Close()
	acked := make(chan int, batches)
	if _, err := nc.Subscribe("spikemesh.bench.ack", func(m *nats.Msg) {
		n, _ := strconv.Atoi(string(m.Data))
		acked <- n
	}); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	fired := denseFired(ids)
	var buf []byte
	w := bufio.NewWriter(os.Stderr)
	defer w.Flush()
	ackedN := 0
	for b := 1; b <= batches; b++ {
		for b > 2 && ackedN < b-2 {
			ackedN = max(ackedN, <-acked)
		}
		buf = actors.AppendSpikeBatch(buf[:0], "brain", npu.Burst(b), 3, 4, fired, nil)
		if err := nc.Publish("spikemesh.bench.spikes.dst", buf); err != nil {
			return err
		}
	}
	if err := nc.Flush(); err != nil {
		return errors.Join(err, errors.New("publisher flush"))
	}
	return nil
}

func extraInt(o benchOptions, key string, def int) int {
	if v, err := strconv.Atoi(o.Extra[key]); err == nil && v > 0 {
		return v
	}
	return def
}
