package actors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

// realEngines builds npu engines of precision prec for every area of p.
func realEngines(t *testing.T, p *cortical.Plan, prec quant.Precision) []npu.Engine {
	t.Helper()
	out := make([]npu.Engine, len(p.Areas))
	for i := range p.Areas {
		var inc []*npu.Connection
		for _, c := range p.Connections {
			if c.Dst == i {
				inc = append(inc, c)
			}
		}
		e, err := npu.NewEngine(p.Areas[i].AreaSpec, prec, inc)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// TestResumeFromSavedState: a brain stopped after burst C, its engines'
// state saved and restored into fresh engines, resumed by a new Runtime
// with FirstBurst C+1, fires exactly as a run that never stopped — locally
// and with every batch over NATS (the restored areas send their last
// output as burst C's batches).
func TestResumeFromSavedState(t *testing.T) {
	const bursts, neurons, at = 40, 24, 17
	ns := startNATS(t)
	plan := fakePlan(5, 9, neurons)
	for i := range plan.Areas {
		plan.Areas[i].Params.Excitability = 1 // the fake engines ignore it; npu's fire with it
	}
	var want recorder
	r := newRuntime(t, Config{Plan: plan, Engines: realEngines(t, plan, quant.FP32), Sensors: pulses{neurons}, Observer: want.observe})
	if err := r.Run(context.Background(), bursts); err != nil {
		t.Fatal(err)
	}
	for _, viaNATS := range []bool{false, true} {
		t.Run(fmt.Sprintf("nats=%v", viaNATS), func(t *testing.T) {
			var got recorder
			var inputs []npu.Burst
			first := newRuntime(t, Config{Plan: plan, Engines: realEngines(t, plan, quant.FP32), Sensors: pulses{neurons}, Observer: got.observe,
				SpikesViaNATS: viaNATS, Dial: dialer(ns), Brain: fmt.Sprintf("r%v", viaNATS)})
			if err := first.Run(context.Background(), at); err != nil {
				t.Fatal(err)
			}
			states := make([][]byte, len(plan.Areas))
			for i, e := range first.cfg.Engines {
				var err error
				if states[i], err = e.(npu.StateSaver).SaveState(); err != nil {
					t.Fatal(err)
				}
			}
			first.Close()
			engines := realEngines(t, plan, quant.FP32)
			for i, e := range engines {
				if err := e.(npu.StateSaver).RestoreState(states[i]); err != nil {
					t.Fatal(err)
				}
			}
			second := newRuntime(t, Config{Plan: plan, Engines: engines, Sensors: pulses{neurons}, Observer: got.observe,
				SpikesViaNATS: viaNATS, Dial: dialer(ns), Brain: fmt.Sprintf("r%v", viaNATS), FirstBurst: at + 1,
				StallTimeout: 20 * time.Second, // a missing batch fails the test instead of hanging it
				Inputs:       func(b npu.Burst, _ [][]npu.Point) { inputs = append(inputs, b) }})
			if err := second.Run(context.Background(), bursts-at); err != nil {
				t.Fatal(err)
			}
			if second.Completed() != bursts {
				t.Fatalf("completed %d, want %d", second.Completed(), bursts)
			}
			compareRuns(t, want.bursts, got.bursts)
			if len(inputs) != bursts-at || inputs[0] != at+1 {
				t.Fatalf("Inputs saw bursts %v, want %d..%d", inputs, at+1, bursts)
			}
		})
	}
}
