package brain

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the direction of imports: brain builds on the runtime
// and the pure core, and the binary and cluster nodes build on brain, never
// the other way round.
func TestImports(t *testing.T) {
	const module = "github.com/spikemesh/spikemesh"
	out, err := exec.Command("go", "list", "-deps", "-test=false", module+"/brain").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := []string{"brain", "actors", "cluster", "cortical", "npu", "pns", "proto", "quant", "genomes", "internal"}
	for _, d := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(d, module+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rest, "/")
		found := false
		for _, a := range allowed {
			found = found || top == a
		}
		if !found {
			t.Errorf("brain depends on %s; it may use only %v", rest, allowed)
		}
	}
}
