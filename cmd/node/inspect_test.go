package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if got := keys(rep); !reflect.DeepEqual(got, []string{"areas", "connections", "estimate", "genome", "totals", "warnings"}) {
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
	est := rep["estimate"].(map[string]any)
	if got := keys(est); !reflect.DeepEqual(got, []string{"bytes", "limits", "neurons", "pairs", "rules", "synapses"}) {
		t.Errorf("estimate keys %v", got)
	}
	if est["neurons"] != 55359.0 || est["synapses"] != 1552.0 || len(est["rules"].([]any)) != 18 || est["bytes"].(float64) < 55359*40 {
		t.Errorf("estimate %v", est)
	}
	if r := est["rules"].([]any)[17].(map[string]any); r["src"] != "iic700" || r["dst"] != "c__for" || r["synapses"] != 768.0 || r["pairs"].(float64) < 768 {
		t.Errorf("last rule estimate %v", r)
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
		"motor_1  sens_1  0     fully_connected  5000      5000           5150   87.9 KiB",
		"estimate   153 neurons, 5000 synapses, 94.5 KiB, 5150 candidate pairs",
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
	if code, _, errOut := inspect("--genome", filepath.Join(dir, "none.json")); code != 1 || !strings.Contains(errOut, "no such file, nor an embedded genome (embedded: barebones_genome.json, ") {
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

// TestInspectLimits: the limit flags refuse a genome past them, showing
// the estimate and naming the rule and the flag; the 500 M-synapse genome
// of finding 3 is refused under a --max-memory below its need.
func TestInspectLimits(t *testing.T) {
	big := "../../cortical/testdata/limits/sensor_500m.json"
	code, out, errOut := inspect("--genome", big, "--max-memory", "1GiB")
	if code != 1 || !strings.Contains(errOut, "rule iv00_C -> c__out [0] (all) takes the brain to") ||
		!strings.Contains(errOut, "over the limit of 1 GiB (raise it with --max-memory)") {
		t.Errorf("memory: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"estimate   10000053 neurons, 500000000 synapses,", "limits     4294967295 neurons, 4294967295 synapses, 1 GiB,",
		"iv00_C  c__out  0     all         500000000      1010000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("refused estimate lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = inspect("--genome", big, "--max-memory", "1GiB", "--json")
	var rep struct {
		Estimate struct {
			Synapses int64
			Limits   struct{ Bytes int64 }
			Refused  string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Estimate.Synapses != 500e6 ||
		rep.Estimate.Limits.Bytes != 1<<30 || !strings.Contains(rep.Estimate.Refused, "--max-memory") {
		t.Errorf("json: exit %d, %v, %+v", code, err, rep)
	}
	// Each limit flag, on a shipped genome.
	for flag, want := range map[string]string{
		"--max-neurons":  "over the limit of 1000 neurons (raise it with --max-neurons)",
		"--max-synapses": "over the limit of 1000 synapses (raise it with --max-synapses)",
		"--max-pairs":    "over the limit of 1000 candidate pairs (raise it with --max-pairs)",
	} {
		if code, _, errOut := inspect("--genome", "essential_genome.json", "--quiet", flag, "1k"); code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s 1k: exit %d, %q", flag, code, errOut)
		}
	}
	if code, _, errOut := inspect("--genome", "essential_genome.json", "--quiet", "--max-memory", "1MiB"); code != 1 ||
		!strings.Contains(errOut, "area iic400 of 128x128x3 x 1 neurons takes the brain to") || !strings.Contains(errOut, "--max-memory") {
		t.Errorf("--max-memory 1MiB: exit %d, %q", code, errOut)
	}
	// Raised limits let it through; malformed values are usage errors.
	if code, _, errOut := inspect("--genome", "essential_genome.json", "--quiet", "--max-neurons", "55359", "--max-synapses", "1552",
		"--max-memory", "512MiB", "--max-pairs", "1M"); code != 0 {
		t.Errorf("at the limits: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"--max-memory", "lots"}, {"--max-memory", "0"}, {"--max-neurons", "-1"}, {"--max-pairs", "1.5"},
		{"--max-genome-size", "-1MiB"}} {
		if code, _, _ := inspect(append([]string{"--genome", "essential_genome.json"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestInspectDevZero is finding 4: /dev/zero as a genome is refused at the
// genome cap, naming the file, the cap and the flag.
func TestInspectDevZero(t *testing.T) {
	code, out, errOut := inspect("--genome", "/dev/zero", "--max-genome-size", "1MiB")
	if code != 1 || out != "" || errOut != "node inspect: genome /dev/zero: larger than the cap of 1 MiB (raise it with --max-genome-size)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := inspect("--genome", "/dev/zero"); code != 1 || !strings.Contains(errOut, "larger than the cap of 64 MiB") {
		t.Errorf("default cap: exit %d, %q", code, errOut)
	}
	// A genome file just within its cap is read.
	dir := t.TempDir()
	good := filepath.Join(dir, "g.json")
	data := []byte(`{"version":"2.1","blueprint":{"c__abc":{"block_boundaries":[2,2,1]}}}`)
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := inspect("--genome", good, "--max-genome-size", strconv.Itoa(len(data))); code != 0 {
		t.Errorf("at the cap: exit %d, %q", code, errOut)
	}
	if code, _, errOut := inspect("--genome", good, "--max-genome-size", strconv.Itoa(len(data)-1)); code != 1 || !strings.Contains(errOut, good+": larger than the cap of") {
		t.Errorf("one byte over: exit %d, %q", code, errOut)
	}
}

// TestInspectAttractivityZero is finding 7: the 600-byte genome whose
// all-to-all rule has attractivity 0 grows, doing no work.
func TestInspectAttractivityZero(t *testing.T) {
	code, out, errOut := inspect("--genome", "../../cortical/testdata/limits/all_to_all_attractivity0.json", "--quiet")
	if code != 0 || !strings.Contains(out, "estimate   120003 neurons, 0 synapses,") || !strings.Contains(out, ", 0 candidate pairs") {
		t.Errorf("exit %d, stderr %q\n%s", code, errOut, out)
	}
}

// TestInspectInterrupt runs the real binary on a genome whose growth would
// take minutes (its work budget raised) and checks that SIGINT stops it.
func TestInspectInterrupt(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "node")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "inspect", "--genome", "../../cortical/testdata/limits/all_to_all_attractivity1.json", "--max-pairs", "1T")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Growing, once the process has spent a second of CPU (reading and
	// parsing the genome take milliseconds); bounded by 60 s of waiting.
	deadline := time.Now().Add(60 * time.Second)
	for cpuTicks(t, cmd.Process.Pid) < 100 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("no growth within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "growth stopped in rule c__src -> c__dst [0] (all): context canceled") {
			t.Fatalf("after SIGINT: %v, stderr %q", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("node inspect did not stop within 60 s of SIGINT")
	}
}

// cpuTicks is the user CPU time of a process, in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name in parentheses; utime is field 14.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 12 {
		t.Fatalf("stat %q", data)
	}
	n, _ := strconv.Atoi(f[11])
	return n
}
