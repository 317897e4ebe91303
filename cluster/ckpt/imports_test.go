package ckpt

import (
	"os/exec"
	"strings"
	"testing"
)

// ckpt is pure: the standard library and npu's data types, nothing that
// does I/O for the cluster (NATS, protobuf, memberlist, the actors).
func TestImportsPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "github.com/spikemesh/spikemesh/cluster/ckpt").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	allowed := []string{"github.com/spikemesh/spikemesh/cluster/ckpt", "github.com/spikemesh/spikemesh/npu", "github.com/spikemesh/spikemesh/quant", "golang.org/x/sys/"}
	sawNPU := false
	for _, d := range deps {
		sawNPU = sawNPU || d == "github.com/spikemesh/spikemesh/npu"
		if !strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
			continue // standard library
		}
		ok := false
		for _, a := range allowed {
			ok = ok || d == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(d, a))
		}
		if !ok {
			t.Errorf("ckpt depends on %s", d)
		}
	}
	if !sawNPU {
		t.Fatalf("go list -deps did not list npu; the check sees nothing: %v", deps)
	}
}
