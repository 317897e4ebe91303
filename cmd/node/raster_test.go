package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
)

// TestRasterCommand draws the record of a real run of the essential genome
// and checks the picture and the rates table against the record itself.
func TestRasterCommand(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec.jsonl")
	var out, errb bytes.Buffer
	if code := dispatch([]string{"run", "--genome", "essential_genome.json", "--runner", "reference",
		"--inputs", "../../examples/essential_inputs.jsonl", "--bursts", "30", "--free", "--quiet", "--record", rec}, &out, &errb); code != 0 {
		t.Fatalf("node run: exit %d: %s", code, errb.String())
	}
	// fires per area, counted from the record
	fires := map[string]int{}
	f, err := os.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l struct{ Fired map[string][]uint32 }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		for id, ns := range l.Fired {
			fires[id] += len(ns)
		}
	}
	f.Close()
	plan := rasterTestPlan(t, "essential_genome.json")

	svg := filepath.Join(dir, "r.svg")
	out.Reset()
	errb.Reset()
	if code := dispatch([]string{"raster", "--record", rec, "--genome", "essential_genome.json", "--out", svg}, &out, &errb); code != 0 {
		t.Fatalf("node raster: exit %d: %s", code, errb.String())
	}
	pic, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pic, []byte("<svg ")) {
		t.Fatalf("%s is no SVG", svg)
	}
	checked := 0
	for _, a := range plan.Areas {
		label := a.Name + " " + a.LegacyID
		if a.LegacyID == "" {
			continue
		}
		if !bytes.Contains(pic, []byte(">"+label+"<")) {
			t.Errorf("the plot does not name area %s", label)
		}
		var row []string
		for line := range strings.Lines(out.String()) {
			if rest, ok := strings.CutPrefix(line, label+" "); ok {
				row = strings.Fields(rest)
			}
		}
		if len(row) < 2 {
			t.Errorf("the rates table has no row for %s:\n%s", label, out.String())
			continue
		}
		if n, _ := strconv.Atoi(row[1]); n != fires[a.ID.String()] {
			t.Errorf("%s: table says %s fires, the record %d", label, row[1], fires[a.ID.String()])
		}
		if fires[a.ID.String()] > 0 {
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("nothing fired in the run")
	}

	pngPath := filepath.Join(dir, "r.png")
	if code := dispatch([]string{"raster", "--out", pngPath, "--record", rec, "--from", "5", "--to", "20"}, &out, &errb); code != 0 {
		t.Fatalf("node raster --out png: exit %d: %s", code, errb.String())
	}
	pf, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if img, err := png.Decode(pf); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("the PNG does not decode: %v", err)
	}
}

func rasterTestPlan(t *testing.T, name string) *cortical.Plan {
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

func TestRasterCommandErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	bad := filepath.Join(dir, "bad.jsonl")
	foreign := filepath.Join(dir, "foreign.jsonl")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(good, `{"burst":1,"fired":{"X19fcG93ZXI=":[0]}}`+"\n")
	write(bad, `{"burst":1,"fired":{}}`+"\n"+`{"burst":2,"fired":{"X19fcG93ZXI=":[1,0]}}`+"\n")
	write(foreign, `{"burst":1,"fired":{"AAAAAAAAAAA=":[0]}}`+"\n")
	svg := filepath.Join(dir, "o.svg")
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--record", good}, 2, "--out FILE are required"},
		{[]string{"--record", good, "--out", filepath.Join(dir, "o.gif")}, 2, "must end in .svg or .png"},
		{[]string{"--record", good, "--out", svg, "--from", "5", "--to", "3"}, 2, "--from 5 is after --to 3"},
		{[]string{"--record", good, "--out", svg, "--bogus"}, 2, "bogus"},
		{[]string{"--record", good, "--out", svg, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--record", bad, "--out", svg}, 1, bad + " line 2: burst 2 area X19fcG93ZXI=: neuron 0 after 1"},
		{[]string{"--record", good, "--out", svg, "--max-line", "10"}, 1, "longer than the limit of 10 bytes per line (raise it with --max-line)"},
		{[]string{"--record", foreign, "--out", svg, "--genome", "essential_genome.json"}, 1, "AAAAAAAAAAA= is not one of the brain's areas"},
		{[]string{"--record", good, "--out", svg, "--from", "2"}, 1, "no burst of the record"},
		{[]string{"--record", filepath.Join(dir, "none.jsonl"), "--out", svg}, 1, "none.jsonl"},
	} {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"raster"}, c.args...), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("node raster %q: exit %d, stderr %q; want exit %d and %q", c.args, code, errb.String(), c.code, c.stderr)
		}
	}
	var out, errb bytes.Buffer
	if code := dispatch([]string{"raster", "-h"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage: node raster") || !strings.Contains(out.String(), "-max-line") || errb.Len() != 0 {
		t.Errorf("node raster -h: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
