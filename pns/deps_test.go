package pns_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureDependencies keeps pns pure: the standard library only (the README's
// "How it is built" gives the direction of imports); NATS and protobuf belong
// to pns/natsio.
func TestPureDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/spikemesh/spikemesh/pns" && dep != "github.com/spikemesh/spikemesh/quant" {
			t.Errorf("pns depends on %s; only the standard library and quant are allowed", dep)
		}
	}
}
