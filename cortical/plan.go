package cortical

import (
	"github.com/spikemesh/spikemesh/npu"
	"github.com/spikemesh/spikemesh/quant"
)

// This file is the contract between cortical and its callers (cmd/node,
// actors, the reference runner). Change it only with care.

// Plan is a grown brain: every area with its parameters and global neuron
// range, and every connection's synapse table. It is what the runtime places
// on nodes and hands to npu engines. The same genome and seed give the same
// plan, byte for byte (docs/semantics.md §5.6).
type Plan struct {
	Genome    GenomeInfo
	Precision quant.Precision
	Seed      uint64
	// Areas in index order: 0 ___death, 1 ___power, 2 ___fatig, then by
	// canonical ID bytes ascending.
	Areas []Area
	// Connections sorted by (Dst, Src): one per (source area, destination
	// area) pair that has at least one rule.
	Connections []*npu.Connection
	// Rules lists every mapping rule with the number of synapses it grew, in
	// creation order (source area index, destination area index, rule order).
	Rules    []RuleStat
	Warnings []string
	// Regions are the genome's brain regions, kept as metadata.
	Regions []Region

	index map[string]int // AreaIndex lookup, built by Load
}

// GenomeInfo is the genome's metadata.
type GenomeInfo struct {
	ID          string
	Title       string
	Version     string
	Format      string  // "flat", "hierarchical" or "simple"
	BurstRateHz float64 // 1 / physiology.simulation_timestep
}

// Kind is the type of a cortical area, taken from byte 0 of its ID.
type Kind uint8

const (
	KindCustom Kind = iota // 'c' or 'C'
	KindMemory             // 'm' or 'M'
	KindCore               // '_'
	KindIPU                // 'i' sensory input
	KindOPU                // 'o' motor output
)

// Area is one cortical area of a plan.
type Area struct {
	npu.AreaSpec
	ID       ID     // canonical 8-byte ID
	LegacyID string // the ID as written in the genome ("" for added core areas)
	Name     string
	Kind     Kind
}

// RuleStat is one mapping rule and what it grew.
type RuleStat struct {
	Src, Dst   int // area indices
	Rule       int // position in the source area's rule list for that destination
	Morphology string
	Synapses   int
}

// Options control loading and growth.
type Options struct {
	// Seed fixes every random choice of growth. Nil: derived from the
	// genome's content (docs/semantics.md §5.6).
	Seed *uint64
	// Precision overrides the genome's quantization_precision when non-nil.
	Precision *quant.Precision
	// Progress, when non-nil, is called as growth advances (areas done,
	// synapses so far). It must be cheap.
	Progress func(areasDone, areasTotal int, synapses int64)
	// MaxNeurons and MaxSynapses bound the brain a genome may grow (0: the
	// limits of 32-bit neuron ids and synapse offsets). A genome beyond
	// them is a load error: neurons are counted before anything is grown,
	// and growth stops as soon as the synapses reach the limit.
	MaxNeurons  int64
	MaxSynapses int64
}

// Load parses and grows a genome. name is used in error messages (a file
// path or an embedded genome's name). It is implemented in load.go:
//
//	func Load(data []byte, name string, opts Options) (*Plan, error)
//
// A genome that fails validation returns an error listing every problem with
// its JSON path, and no plan.
//
// Plan.AreaIndex resolves an area named by canonical base64 ID or as written
// in the genome (docs/semantics.md §6.1):
//
//	func (p *Plan) AreaIndex(name string) (int, bool)
