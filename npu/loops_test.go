package npu

import (
	"os"
	"strings"
	"testing"
)

// loopScenarios builds, for each row of the table "Which loop runs" in
// doc.go, an area of 200 neurons (three blocks and a tail) that falls under
// the row, and the input of its first burst.
var loopScenarios = map[string]struct {
	mod    func(p *Params)
	driven bool
	in     Input
}{
	"undriven":     {nil, false, Input{Points: []Point{{5, 1}, {130, 2}}}},
	"simple":       {nil, true, Input{}},
	"simple-limit": {func(p *Params) { p.ThresholdLimit = 5 }, true, Input{}},
	"simple-zero":  {func(p *Params) { p.Threshold = 0 }, true, Input{}},
	"drive-only": {func(p *Params) {
		p.ChargeAccumulation, p.ConsecutiveLimit, p.SnoozeBursts, p.Excitability = false, 3, 2, 0.5
	}, true, Input{}},
	"no-acc": {func(p *Params) { p.ChargeAccumulation, p.Excitability = false, 0.5 }, true, Input{}},
	"dense":  {func(p *Params) { p.ConsecutiveLimit = 3 }, true, Input{}},
}

// TestLoopTable reads the table from doc.go and checks every row: the loops
// an area of the row ran in its first burst are exactly the row's, for both
// precisions, with or without the kernels as this build has them.
func TestLoopTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "//\t| ") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimPrefix(line, "//\t"), "| "), " | ")
		if len(cells) != 4 {
			t.Fatalf("table line %q: want 4 cells", line)
		}
		row := cells[0]
		if row == "row" {
			continue
		}
		sc, ok := loopScenarios[row]
		if !ok {
			t.Errorf("table row %q has no scenario in this test", row)
			continue
		}
		seen[row] = true
		for k, prec := range precisions {
			want := cells[2+k]
			if alt := strings.Split(want, " / "); len(alt) == 2 {
				want = alt[1]
				if haveKernels {
					want = alt[0]
				}
			}
			spec := area(3, 200, 0, sc.mod)
			var opts Options
			if sc.driven {
				opts.Drive = []Drive{{From: 0, To: 200, P: 0.5}}
			}
			e := mustEngine(t, spec, prec, nil, opts)
			in := sc.in
			e.Step(1, &in)
			if got := e.ran.String(); got != want {
				t.Errorf("row %s, %v: ran %s, the table says %s", row, prec, got, want)
			}
		}
	}
	for row := range loopScenarios {
		if !seen[row] {
			t.Errorf("scenario %q is not a row of the table in doc.go", row)
		}
	}
}
