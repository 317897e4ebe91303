package actors

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

// npuPlan is fakePlan with parameters the real engine fires with, and
// plasticity on some connections: what no shipped genome exercises
// (mp-driven PSP and plastic mappings), so that the runtime is checked
// against npu's reference runner with them too.
func npuPlan(seed uint64) *cortical.Plan {
	p := fakePlan(seed, 8, 20)
	for i := range p.Areas {
		a := &p.Areas[i].Params
		a.Threshold, a.Excitability, a.LeakPerBurst, a.ChargeAccumulation = 0.8, 1, 0.2, i%2 == 0
		a.PSP = 3
		a.RefractoryBursts = uint16(i % 3)
	}
	for k, c := range p.Connections {
		c.PSP = 3
		if k%3 == 0 {
			c.Plasticity = &npu.Plasticity{Window: 2, LTP: 5, LTD: 1}
		}
	}
	return p
}

func TestRuntimeMatchesNPURunner(t *testing.T) {
	const bursts, neurons = 40, 20
	ns := startNATS(t)
	for _, prec := range []quant.Precision{quant.FP32, quant.INT8} {
		for _, viaNATS := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/nats=%v", prec, viaNATS), func(t *testing.T) {
				// The reference: each run gets its own plan, since engines
				// own (and plasticity changes) the connection weights.
				ref := npuPlan(11)
				specs := make([]npu.AreaSpec, len(ref.Areas))
				for i := range ref.Areas {
					specs[i] = ref.Areas[i].AreaSpec
				}
				runner, err := npu.NewRunner(specs, ref.Connections, prec, npu.RunnerOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer runner.Close()
				var want [][][]uint32
				points := make([][]npu.Point, len(specs))
				mp := 0
				for b := npu.Burst(1); b <= bursts; b++ {
					clear(points)
					pulses{neurons}.Points(b, points)
					rec := make([][]uint32, len(specs))
					for i, o := range runner.Step(points) {
						if len(o.Fired) > 0 {
							rec[i] = slices.Clone(o.Fired)
							if ref.Areas[i].Params.MPDrivenPSP {
								mp += len(o.Fired)
							}
						}
					}
					want = append(want, rec)
				}
				if mp == 0 {
					t.Fatal("no mp-driven area fired: the test does not exercise potentials")
				}

				plan := npuPlan(11)
				var rec recorder
				r := newRuntime(t, Config{Plan: plan, Engines: realEngines(t, plan, prec), Sensors: pulses{neurons}, Observer: rec.observe,
					SpikesViaNATS: viaNATS, Dial: dialer(ns), InlineWork: 50})
				if err := r.Run(context.Background(), bursts); err != nil {
					t.Fatal(err)
				}
				compareRuns(t, want, rec.bursts)
			})
		}
	}
}
