package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/spikemesh/spikemesh"

// forbidden lists import-path prefixes the pure packages must not reach, with
// the reason shown when one does.
var forbidden = []struct{ prefix, why string }{
	{"github.com/asynkron/protoactor-go", "actors are the runtime's business (actors/)"},
	{"github.com/nats-io/", "NATS belongs to the I/O edge (actors/, pns/natsio)"},
	{"github.com/hashicorp/memberlist", "membership belongs to cluster/"},
	{"google.golang.org/protobuf", "wire types stay at the edges"},
	{module + "/proto", "wire types stay at the edges"},
	{module + "/actors", "the pure core may not import the runtime"},
	{module + "/cluster", "the pure core may not import cluster"},
	{"net", "the pure core does no network I/O"},
	{"os/signal", "the pure core handles no signals"},
}

// allowedInternal lists, per pure package, which project packages it may use.
var allowedInternal = map[string][]string{
	"quant":    {},
	"npu":      {"quant"},
	"cortical": {"npu", "quant", "genomes", "internal/units"},
	"pns":      {"quant"},
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-test=false", module+"/"+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

func TestPureCoreImports(t *testing.T) {
	for pkg, allowed := range allowedInternal {
		t.Run(pkg, func(t *testing.T) {
			self := module + "/" + pkg
			for _, d := range deps(t, pkg) {
				if d == self {
					continue
				}
				for _, f := range forbidden {
					if d == f.prefix || strings.HasPrefix(d, f.prefix+"/") || (strings.HasSuffix(f.prefix, "/") && strings.HasPrefix(d, f.prefix)) {
						t.Errorf("%s depends on %s: %s", pkg, d, f.why)
					}
				}
				if rest, ok := strings.CutPrefix(d, module+"/"); ok {
					ok := false
					for _, a := range allowed {
						if rest == a || strings.HasPrefix(rest, a+"/") {
							ok = true
						}
					}
					if !ok {
						t.Errorf("%s depends on project package %s; allowed: %v", pkg, rest, allowed)
					}
				}
			}
		})
	}
}
