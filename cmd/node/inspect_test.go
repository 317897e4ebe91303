package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func inspect(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runInspect(args, &out, &errb)
	return code, out.String(), errb.String()
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func TestInspectJSON(t *testing.T) {
	code, out, errOut := inspect("--genome", "essential_genome.json", "--json", "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if got := keys(rep); !reflect.DeepEqual(got, []string{"areas", "connections", "genome", "totals", "warnings"}) {
		t.Errorf("top-level keys %v", got)
	}
	g := rep["genome"].(map[string]any)
	if got := keys(g); !reflect.DeepEqual(got, []string{"burst_rate_hz", "id", "precision", "title", "version"}) {
		t.Errorf("genome keys %v", got)
	}
	if g["version"] != "2.1" || g["precision"] != "fp32" || g["title"] != "The Essential Genome" {
		t.Errorf("genome %v", g)
	}
	if hz := g["burst_rate_hz"].(float64); hz < 14.999 || hz > 15.001 {
		t.Errorf("burst rate %v", hz)
	}
	tot := rep["totals"].(map[string]any)
	if tot["areas"] != 26.0 || tot["neurons"] != 55359.0 || tot["synapses"] != 1552.0 {
		t.Errorf("totals %v", tot)
	}
	areas := rep["areas"].([]any)
	a := areas[19].(map[string]any)
	if got := keys(a); !reflect.DeepEqual(got, []string{"dims", "id", "legacy_id", "name", "neurons", "neurons_per_voxel", "type"}) {
		t.Errorf("area keys %v", got)
	}
	if a["id"] != "aXN2aQkABAA=" || a["legacy_id"] != "iic400" || a["name"] != "vision_C" || a["type"] != "ipu" ||
		!reflect.DeepEqual(a["dims"], []any{128.0, 128.0, 3.0}) || a["neurons_per_voxel"] != 1.0 || a["neurons"] != 49152.0 {
		t.Errorf("area 19: %v", a)
	}
	conns := rep["connections"].([]any)
	if len(conns) != 18 {
		t.Fatalf("%d connections", len(conns))
	}
	c := conns[len(conns)-1].(map[string]any)
	if got := keys(c); !reflect.DeepEqual(got, []string{"dst", "morphology", "src", "synapses"}) {
		t.Errorf("connection keys %v", got)
	}
	if c["src"] != "aXN2aQkABwA=" || c["dst"] != "Y19fZm9yX18=" || c["morphology"] != "projector" || c["synapses"] != 768.0 {
		t.Errorf("last connection %v", c)
	}
	if w := rep["warnings"].([]any); len(w) != 5 || !strings.Contains(w[0].(string), "f16 runs as fp32") {
		t.Errorf("warnings %v", w)
	}
}

func TestInspectTable(t *testing.T) {
	code, out, errOut := inspect("--genome", "example_int8_genome.json", "--quiet")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"(simple layout, version 2.0)",
		"precision  int8   burst rate 100 Hz",
		"totals     5 areas, 153 neurons, 5000 synapses",
		"bW90b3JfMV8=  motor_1  custom  10x5x1",
		"motor_1  sens_1  0     fully_connected  5000",
		"warning: core area ___power (X19fcG93ZXI=) added from template",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestInspectFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "g.json")
	if err := os.WriteFile(good, []byte(`{"version":"2.1","blueprint":{"c__abc":{"block_boundaries":[2,2,1]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := inspect("--genome", good, "--json"); code != 0 || !strings.Contains(out, `"neurons": 7`) {
		t.Errorf("file genome: exit %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":"2.1","blueprint":{"c__abc":{"firing_threshold":"abc","block_boundaries":[0,1,1]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := inspect("--genome", bad)
	if code != 1 || out != "" || !strings.Contains(errOut, `blueprint.c__abc.firing_threshold: want a number, got "abc"`) ||
		!strings.Contains(errOut, "blueprint.c__abc.block_boundaries[0]: impossible dimension 0") {
		t.Errorf("bad genome: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := inspect("--genome", filepath.Join(dir, "none.json")); code != 1 || !strings.Contains(errOut, "no such file, nor an embedded genome") {
		t.Errorf("missing genome: exit %d, %q", code, errOut)
	}
	if code, _, _ := inspect(); code != 2 {
		t.Errorf("no --genome: exit %d", code)
	}
	if code, _, _ := inspect("--genome", good, "--seed", "x"); code != 2 {
		t.Errorf("bad seed: exit %d", code)
	}
	if code, _, _ := inspect("-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}
