package cluster

import (
	"os/exec"
	"strings"
	"testing"
)

// cluster sits between the runtime and the pure core: it may use memberlist
// but not the actor runtime, NATS, or anything that imports them.
func TestClusterImportsNoRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "github.com/spikemesh/spikemesh/cluster").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	forbidden := []string{
		"github.com/asynkron/protoactor-go",
		"github.com/nats-io/",
		"github.com/spikemesh/spikemesh/actors",
		"github.com/spikemesh/spikemesh/pns",
		"github.com/spikemesh/spikemesh/cmd/",
	}
	sawMemberlist := false
	for _, d := range deps {
		sawMemberlist = sawMemberlist || d == "github.com/hashicorp/memberlist"
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("cluster depends on %s", d)
			}
		}
	}
	if !sawMemberlist {
		t.Fatalf("go list -deps did not list memberlist; the check sees nothing: %v", deps)
	}
}
