package brain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
)

// writeSchedule writes a deterministic --inputs schedule for plan that drives
// activity: every third burst, points on up to 64 voxels of every IPU area
// (of the undriven non-core areas when the genome has no IPU area), plus a few
// points the runtime must drop (outside the area, p = 0, non-integral, an
// unknown area, a line that is not JSON).
func writeSchedule(t *testing.T, plan *cortical.Plan, bursts int) string {
	t.Helper()
	var targets []int
	for i, a := range plan.Areas {
		if a.Kind == cortical.KindIPU {
			targets = append(targets, i)
		}
	}
	if len(targets) == 0 {
		// No IPU area: drive the sources of connections that nothing else
		// drives, so their destinations fire through synapses only.
		driven := map[int]bool{}
		for _, c := range plan.Connections {
			if c.Src >= 3 && c.Src != c.Dst {
				driven[c.Dst] = true
			}
		}
		for i := 3; i < len(plan.Areas); i++ {
			if !driven[i] {
				targets = append(targets, i)
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for b := 1; b <= bursts; b += 3 {
		for k, i := range targets {
			a := &plan.Areas[i]
			// Above the threshold, below the limit.
			th, lim := float64(a.Params.Threshold), float64(a.Params.ThresholdLimit)
			var pts [][4]float64
			n := 0
			for x := uint32(0); x < a.Dims[0] && n < 64; x++ {
				for y := uint32(0); y < a.Dims[1] && n < 64; y++ {
					for z := uint32(0); z < a.Dims[2] && n < 64; z++ {
						if (x+y+z+uint32(b))%2 == 0 {
							p := th * (1.5 + 0.1*float64((b+k)%5))
							if lim > 0 && p > lim {
								p = (th + lim) / 2
							}
							pts = append(pts, [4]float64{float64(x), float64(y), float64(z), p})
							n++
						}
					}
				}
			}
			// Dropped by E12: outside, p = 0, non-integral.
			pts = append(pts, [4]float64{float64(a.Dims[0]), 0, 0, 3}, [4]float64{0, 0, 0, 0}, [4]float64{0.5, 0, 0, 3})
			name := a.ID.String()
			if a.LegacyID != "" && k%2 == 1 {
				name = a.LegacyID
			}
			_ = enc.Encode(map[string]any{"burst": b, "area": name, "points": pts})
		}
		if b%9 == 1 {
			fmt.Fprintf(&buf, "{\"burst\": %d, \"area\": \"nope\", \"points\": [[0,0,0,1]]}\nnot json\n", b)
		}
	}
	path := filepath.Join(t.TempDir(), "inputs.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadPlan(t *testing.T, name string) *cortical.Plan {
	t.Helper()
	data, err := genomes.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := cortical.Load(data, name, cortical.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestRunnersAgree is the defining test of the runtime: for every embedded
// genome and a schedule that drives activity, the spike records of npu's
// reference runner, of the actor runtime and of the actor runtime with every
// batch through NATS are identical, byte for byte, in fp32 and in int8.
func TestRunnersAgree(t *testing.T) {
	const bursts = 30
	for _, name := range genomes.Names() {
		plan := loadPlan(t, name)
		inputs := writeSchedule(t, plan, bursts)
		injected := map[string]bool{}
		for _, line := range strings.Split(mustRead(t, inputs), "\n") {
			var f struct{ Area string }
			if json.Unmarshal([]byte(line), &f) == nil {
				if i, ok := plan.AreaIndex(f.Area); ok {
					injected[plan.Areas[i].ID.String()] = true
				}
			}
		}
		for _, prec := range []string{"fp32", "int8"} {
			t.Run(name+"/"+prec, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				var ref string
				for _, v := range []struct {
					runner  string
					viaNATS bool
				}{{"reference", false}, {"actors", false}, {"actors", true}} {
					path := filepath.Join(dir, fmt.Sprintf("%s-%v.jsonl", v.runner, v.viaNATS))
					var log bytes.Buffer
					sum, err := Run(context.Background(), Config{Genome: name, Bursts: bursts, Inputs: inputs,
						Record: path, Precision: prec, Free: true, Runner: v.runner, SpikesViaNATS: v.viaNATS, Stderr: &log})
					if err != nil {
						t.Fatalf("%s (spikes via NATS %v): %v\n%s", v.runner, v.viaNATS, err, log.String())
					}
					if sum.Bursts != bursts || sum.Dropped != 0 {
						t.Fatalf("%s: %d bursts, %d dropped batches", v.runner, sum.Bursts, sum.Dropped)
					}
					// The schedule's bad frames and points were dropped and
					// counted, and the run went on (docs/semantics.md §6.1, §6.3).
					if sum.SensorDropped == 0 || len(plan.Areas) > 3 && sum.PointsDropped == 0 {
						t.Fatalf("%s: dropped %d frames and %d points; the schedule has bad ones",
							v.runner, sum.SensorDropped, sum.PointsDropped)
					}
					got := mustRead(t, path)
					if ref == "" {
						ref = got
						checkActivity(t, plan, got, injected)
						continue
					}
					if got != ref {
						t.Fatalf("record of %s (spikes via NATS %v) differs from the reference runner's:\n%s",
							v.runner, v.viaNATS, firstDiff(ref, got))
					}
				}
			})
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkActivity makes sure the comparison is not vacuous: every genome with
// areas beyond the core ones fires in them, and where synapses connect them,
// an area that received no sensory input fires too.
func checkActivity(t *testing.T, plan *cortical.Plan, record string, injected map[string]bool) {
	t.Helper()
	fired := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(record), "\n") {
		var r struct{ Fired map[string][]uint32 }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("record line %q: %v", line, err)
		}
		for id, f := range r.Fired {
			fired[id] += len(f)
		}
	}
	injectedFired, downstream := 0, 0
	for id, n := range fired {
		switch {
		case injected[id]:
			injectedFired += n
		case id != plan.Areas[1].ID.String():
			downstream += n
		}
	}
	_, _, synapses := plan.Totals()
	if len(plan.Areas) > 3 && injectedFired == 0 {
		t.Fatalf("no injected area fired: %v", fired)
	}
	// The example genomes wire motor_1 → sens_1 fully connected with weight
	// 50: one source neuron contributes 50·255/100 = 127.5, above sens_1's
	// firing threshold limit of 100, so sens_1 can never fire from synapses.
	if synapses > 0 && !strings.HasPrefix(plan.Genome.ID, "example_") && downstream == 0 {
		t.Fatalf("no area without sensory input fired: %v", fired)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  want %.300s\n  got  %.300s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(bl), len(al))
}

// TestCancelFlushesRecord: cancelling a run (what SIGINT and SIGTERM do)
// finishes the burst in progress, flushes a record of whole lines and
// returns no error, whether the run is free or paced.
func TestCancelFlushesRecord(t *testing.T) {
	for _, c := range []struct {
		name string
		free bool
		rate float64
	}{{"free", true, 0}, {"paced", false, 50}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			path := filepath.Join(t.TempDir(), "rec.jsonl")
			sum, err := Run(ctx, Config{Genome: genomes.Default, Record: path, Free: c.free, Rate: c.rate,
				Quiet: true, Ready: cancel})
			if err != nil {
				t.Fatalf("cancelled run: %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(mustRead(t, path), "\n"), "\n")
			if sum.Bursts < 1 || uint64(len(lines)) != sum.Bursts {
				t.Fatalf("%d bursts, %d record lines", sum.Bursts, len(lines))
			}
			for i, l := range lines {
				var r struct{ Burst uint64 }
				if err := json.Unmarshal([]byte(l), &r); err != nil || r.Burst != uint64(i+1) {
					t.Fatalf("record line %d = %q (%v)", i+1, l, err)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Genome: "no_such_genome"}, "no embedded genome"},
		{Config{Genome: genomes.Default, Precision: "fp64"}, "fp64"},
		{Config{Genome: genomes.Default, Runner: "fast"}, "--runner"},
		{Config{Genome: genomes.Default, Inputs: "/nonexistent/inputs"}, "nonexistent"},
		{Config{Genome: genomes.Default, Brain: "a.b"}, "brain name"},
	} {
		c.cfg.Bursts, c.cfg.Quiet = 1, true
		if _, err := Run(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.cfg, err, c.want)
		}
	}
}
