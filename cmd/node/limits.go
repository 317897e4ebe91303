package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/internal/capread"
	"github.com/spikemesh/spikemesh/internal/sysmem"
)

// Caps of outside input read by node, in bytes. The largest shipped genome
// is under 100 KiB.
const (
	defaultGenomeCap    = 64 << 20 // --max-genome-size
	defaultInputLineCap = 16 << 20 // one line of an --inputs schedule
	defaultPointsCap    = 64 << 20 // node sensor send --file
)

// limitFlags bound what a genome may grow (neurons, synapses, memory,
// growth's work) and how much of a genome file is read. addLimitFlags
// defines them on a command's flag set; options turns them into
// cortical.Options, readGenome reads a genome within the cap.
type limitFlags struct {
	neurons, synapses, pairs countValue
	memory, genome           sizeValue
}

// Flag names, also quoted in refusals.
const (
	flagMaxNeurons  = "--max-neurons"
	flagMaxSynapses = "--max-synapses"
	flagMaxMemory   = "--max-memory"
	flagMaxPairs    = "--max-pairs"
	flagMaxGenome   = "--max-genome-size"
)

func addLimitFlags(fs *flag.FlagSet) *limitFlags {
	l := &limitFlags{memory: sizeValue(defaultMaxMemory()), genome: defaultGenomeCap}
	fs.Var(&l.neurons, flagMaxNeurons[2:], "refuse a genome of more than `N` neurons (default: 2^32-1, the neuron id space; accepts 10M, 1G)")
	fs.Var(&l.synapses, flagMaxSynapses[2:], "refuse a genome of more than `N` synapses, estimated before growing (default: 2^32-1)")
	fs.Var(&l.memory, flagMaxMemory[2:], "refuse a genome whose brain needs more than `SIZE` of memory, estimated before growing, e.g. 512MiB, 4GiB; the default is half of this machine's memory, or of its container's limit")
	fs.Var(&l.pairs, flagMaxPairs[2:], fmt.Sprintf("refuse a genome whose growth evaluates more than `N` candidate synapses (default: %d, about a minute at most)", int64(cortical.DefaultMaxPairs)))
	fs.Var(&l.genome, flagMaxGenome[2:], "refuse a genome file larger than `SIZE`")
	return l
}

// limits returns the bounds of the flags.
func (l *limitFlags) limits() cortical.Limits {
	return cortical.Limits{MaxNeurons: int64(l.neurons), MaxSynapses: int64(l.synapses),
		MaxMemory: int64(l.memory), MaxPairs: int64(l.pairs)}
}

// options returns o with the limits of the flags.
func (l *limitFlags) options(o cortical.Options) cortical.Options {
	o.MaxNeurons, o.MaxSynapses, o.MaxPairs = int64(l.neurons), int64(l.synapses), int64(l.pairs)
	o.MaxMemory = int64(l.memory)
	o.LimitNames = cortical.LimitNames{Neurons: flagMaxNeurons, Synapses: flagMaxSynapses, Memory: flagMaxMemory, Pairs: flagMaxPairs}
	return o
}

// readGenome reads a genome file of at most --max-genome-size bytes, or an
// embedded genome when no file of that name exists.
func (l *limitFlags) readGenome(name string) ([]byte, error) {
	data, err := capread.ReadFile(name, int64(l.genome), flagMaxGenome)
	if err == nil {
		return data, nil
	}
	var tl *capread.TooLargeError
	if errors.As(err, &tl) {
		return nil, fmt.Errorf("genome %w", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("genome %s: %w", name, err)
	}
	if emb, embErr := genomes.Read(name); embErr == nil {
		return emb, nil
	}
	return nil, fmt.Errorf("genome %s: no such file, nor an embedded genome (embedded: %s)", name, strings.Join(genomes.Names(), ", "))
}

// defaultMaxMemory is half of the memory this process may use, or the
// library's default when the machine does not tell.
func defaultMaxMemory() int64 {
	if total, ok := sysmem.Total(); ok {
		return total / 2
	}
	return cortical.DefaultMaxMemory
}

// sizeValue is a flag of bytes: 4096, 512MiB, 4GiB.
type sizeValue int64

func (v *sizeValue) String() string {
	if v == nil {
		return ""
	}
	return capread.FormatSize(int64(*v))
}

func (v *sizeValue) Set(s string) error {
	n, err := capread.ParseSize(s)
	if err != nil {
		return err
	}
	if n <= 0 {
		return fmt.Errorf("size %q: want more than 0 bytes", s)
	}
	*v = sizeValue(n)
	return nil
}

// countValue is a flag of a count: 1000000, or with a suffix of powers of
// 1000: 10k, 10M, 2G. 0 leaves the default.
type countValue int64

func (v *countValue) String() string {
	if v == nil || *v == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*v), 10)
}

func (v *countValue) Set(s string) error {
	n, err := parseCount(s)
	if err != nil {
		return err
	}
	*v = countValue(n)
	return nil
}

func parseCount(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	if n := len(num); n > 1 {
		switch num[n-1] {
		case 'k', 'K':
			mult = 1e3
		case 'M':
			mult = 1e6
		case 'G':
			mult = 1e9
		case 'T':
			mult = 1e12
		}
		if mult > 1 {
			num = num[:n-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("count %q: want a non-negative integer, optionally with k, M, G or T (thousands, millions, ...)", s)
	}
	return n * mult, nil
}

// Flags of the other capped inputs, for the commands that read them.
const (
	flagMaxInputLine = "--max-input-line" // node run --inputs: one JSON line
	flagMaxFileSize  = "--max-file-size"  // node sensor send --file
)

// addInputLineFlag defines --max-input-line: the longest line of a
// JSON-lines input (node run --inputs), for capread.NewLines.
func addInputLineFlag(fs *flag.FlagSet) *sizeValue {
	v := sizeValue(defaultInputLineCap)
	fs.Var(&v, flagMaxInputLine[2:], "refuse an --inputs line longer than `SIZE`")
	return &v
}

// addFileSizeFlag defines --max-file-size: the largest file (or standard
// input) node sensor send --file reads, for readCapped.
func addFileSizeFlag(fs *flag.FlagSet) *sizeValue {
	v := sizeValue(defaultPointsCap)
	fs.Var(&v, flagMaxFileSize[2:], "refuse a --file larger than `SIZE`")
	return &v
}

// readCapped reads a file, or standard input for "-", refusing one of more
// than maxBytes bytes with an error naming it, the cap and flag.
func readCapped(name string, maxBytes int64, flag string) ([]byte, error) {
	if name == "-" {
		return capread.Read(os.Stdin, "standard input", maxBytes, flag)
	}
	return capread.ReadFile(name, maxBytes, flag)
}
