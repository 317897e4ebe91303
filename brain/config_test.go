package brain

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/genomes"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	genome := filepath.Join(dir, "g.json")
	inputs := filepath.Join(dir, "in.jsonl")
	data, err := genomes.Read(genomes.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{genome, inputs} {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(genome, link); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	relGenome, err := filepath.Rel(wd, genome)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string // "" accepted
	}{
		{"default", Config{Genome: genomes.Default}, ""},
		{"file", Config{Genome: genome, Inputs: inputs, Record: filepath.Join(dir, "rec.jsonl"), Rate: 15}, ""},
		{"no genome", Config{}, "--genome: required"},
		{"missing genome", Config{Genome: filepath.Join(dir, "nope.json")}, "--genome"},
		{"rate NaN", Config{Genome: genome, Rate: math.NaN()}, "--rate: want a positive finite number, got NaN"},
		{"rate -1", Config{Genome: genome, Rate: -1}, "--rate: want a positive finite number, got -1"},
		{"rate +Inf", Config{Genome: genome, Rate: math.Inf(1)}, "--rate: want a positive finite number, got +Inf"},
		{"runner", Config{Genome: genome, Runner: "fast"}, `--runner "fast"`},
		{"reference with NATS", Config{Genome: genome, Runner: RunnerReference, SpikesViaNATS: true}, "--spikes-via-nats"},
		{"record is genome", Config{Genome: genome, Record: genome}, "--record " + genome + ": is the genome file"},
		{"record is genome, relative", Config{Genome: genome, Record: relGenome}, "is the genome file"},
		{"record is genome via link", Config{Genome: link, Record: genome}, "is the genome file"},
		{"record is inputs", Config{Genome: genome, Inputs: inputs, Record: inputs}, "is the --inputs file"},
		{"record dir", Config{Genome: genome, Record: dir}, "is a directory"},
		{"record in missing dir", Config{Genome: genome, Record: filepath.Join(dir, "no", "r.jsonl")}, "does not exist"},
		{"inputs missing", Config{Genome: genome, Inputs: filepath.Join(dir, "nope")}, "--inputs"},
		{"precision", Config{Genome: genome, Precision: "fp64"}, "--precision"},
		{"stall", Config{Genome: genome, StallTimeout: -1}, "--stall-timeout"},
		{"prefix", Config{Genome: genome, SubjectPrefix: "a..b"}, "--subject-prefix"},
		{"brain", Config{Genome: genome, Brain: "a.b"}, "--brain"},
		{"brain wildcard", Config{Genome: genome, Brain: "*"}, "--brain"},
		{"listen with external", Config{Genome: genome, NATS: "nats://127.0.0.1:4222", NATSListen: "127.0.0.1:4222"}, "--nats-listen"},
		{"listen port", Config{Genome: genome, NATSListen: "127.0.0.1:99999"}, "--nats-listen"},
		{"listen form", Config{Genome: genome, NATSListen: "4222"}, "--nats-listen"},
		{"window without cluster", Config{Genome: genome, Cluster: ClusterConfig{Window: 2}}, "--lockstep-window: only in cluster mode"},
		{"window 0 is the default", Config{Genome: genome, Cluster: ClusterConfig{Bind: "127.0.0.1:1", NodeName: "a"}}, ""},
		{"window 3", Config{Genome: genome, Cluster: ClusterConfig{Bind: "127.0.0.1:1", NodeName: "a", Window: 3}}, ""},
		{"window too wide", Config{Genome: genome, Cluster: ClusterConfig{Bind: "127.0.0.1:1", NodeName: "a", Window: 9}}, "--lockstep-window: want 1 to 8 bursts, got 9"},
		{"window negative", Config{Genome: genome, Cluster: ClusterConfig{Bind: "127.0.0.1:1", NodeName: "a", Window: -1}}, "--lockstep-window: want 1 to 8 bursts, got -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if err == nil && (c.cfg.Runner != RunnerActors || c.cfg.Brain == "" || c.cfg.SubjectPrefix == "" || c.cfg.Logger == nil) {
				t.Fatalf("defaults not filled: %+v", c.cfg)
			}
			if err == nil && c.cfg.Cluster.Enabled() && c.cfg.Cluster.Window != max(c.cfg.Cluster.Window, 1) {
				t.Fatalf("cluster mode with a window of %d", c.cfg.Cluster.Window)
			}
			if err == nil && c.name == "window 0 is the default" && c.cfg.Cluster.Window != DefaultLockstepWindow {
				t.Fatalf("default window %d, want %d", c.cfg.Cluster.Window, DefaultLockstepWindow)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                       "nats://127.0.0.1:4222",
		"nats://alice:s3cret@host:4222":               "nats://REDACTED@host:4222",
		"nats://tok3n@host:4222":                      "nats://REDACTED@host:4222",
		"nats://a:p@ss@host:4222,nats://t@other:4222": "nats://REDACTED@host:4222,nats://REDACTED@other:4222",
		"alice:s3cret@host:4222":                      "REDACTED@host:4222",
		"tls://u:%40x@h:1":                            "tls://REDACTED@h:1",
		"nats://host:4222, nats://bob:pw@h2:4222":     "nats://host:4222, nats://REDACTED@h2:4222",
	} {
		got := RedactURL(in)
		if got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cret", "tok3n", "p@ss", "pw@"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q leaks %q", in, got, secret)
			}
		}
	}
}
