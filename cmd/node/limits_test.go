package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/internal/capread"
)

// cortical0 is options a command set before the limits: they are kept.
func cortical0() cortical.Options {
	seed := uint64(7)
	return cortical.Options{Seed: &seed}
}

// TestLimitFlags checks the flags a command gets from addLimitFlags and
// what options makes of them.
func TestLimitFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := addLimitFlags(fs)
	line, file := addInputLineFlag(fs), addFileSizeFlag(fs)
	o := l.options(cortical0())
	if o.MaxNeurons != 0 || o.MaxSynapses != 0 || o.MaxPairs != 0 || o.MaxMemory != defaultMaxMemory() || o.MaxMemory <= 0 ||
		o.LimitNames.Memory != "--max-memory" || o.LimitNames.Pairs != "--max-pairs" || o.Seed == nil {
		t.Errorf("defaults: %+v", o)
	}
	if int64(*line) != defaultInputLineCap || int64(*file) != defaultPointsCap || int64(l.genome) != defaultGenomeCap {
		t.Errorf("caps %d %d %d", *line, *file, l.genome)
	}
	err := fs.Parse([]string{"--max-neurons", "10M", "--max-synapses", "2G", "--max-memory", "1.5GiB", "--max-pairs", "5000",
		"--max-genome-size", "1MiB", "--max-input-line", "4KiB", "--max-file-size", "100"})
	if err != nil {
		t.Fatal(err)
	}
	o = l.options(cortical0())
	if o.MaxNeurons != 10e6 || o.MaxSynapses != 2e9 || o.MaxMemory != 3<<29 || o.MaxPairs != 5000 || l.genome != 1<<20 || *line != 4<<10 || *file != 100 {
		t.Errorf("parsed: %+v, genome %d, line %d, file %d", o, l.genome, *line, *file)
	}
	for _, bad := range []string{"-5", "1.5M", "10X", "", "99999999999T"} {
		if _, err := parseCount(bad); err == nil {
			t.Errorf("parseCount(%q) accepted", bad)
		}
	}
}

func TestReadCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "points.json")
	if err := os.WriteFile(path, []byte("[[0,0,0,1]]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := readCapped(path, 11, flagMaxFileSize); err != nil || string(data) != "[[0,0,0,1]]" {
		t.Errorf("%q, %v", data, err)
	}
	_, err := readCapped("/dev/zero", 1<<20, flagMaxFileSize)
	var tl *capread.TooLargeError
	if !errors.As(err, &tl) || err.Error() != "/dev/zero: larger than the cap of 1 MiB (raise it with --max-file-size)" {
		t.Errorf("/dev/zero: %v", err)
	}
}
