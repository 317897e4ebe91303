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
	// Estimate is the size growth estimated before it ran.
	Estimate *Estimate

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
	// Pairs is the work the rule did, counted as Estimate.Pairs counts it.
	Pairs int64
}

// Options control loading and growth.
type Options struct {
	// Seed fixes every random choice of growth. Nil: derived from the
	// genome's content (docs/semantics.md §5.6).
	Seed *uint64
	// Precision overrides the genome's quantization_precision when non-nil.
	Precision *quant.Precision
	// Progress, when non-nil, is called as growth advances (areas done,
	// synapses so far), also in the middle of a long rule. It must be cheap.
	Progress func(areasDone, areasTotal int, synapses int64)
	// WorkProgress, when non-nil, is called with the work done so far and
	// the estimated total (Estimate.Pairs), every million pairs or so and
	// once at the end. It must be cheap.
	WorkProgress func(done, total int64)

	// Limits of the brain a genome may grow; 0 takes the Default* value.
	// Neurons are counted before anything is grown; synapses, memory and
	// work are estimated (Estimate) before any synapse is, and a genome
	// whose estimate passes a limit is refused with a *LimitError naming
	// the area or rule that crosses it. Growth itself also stops when its
	// synapses or its work reach the limit.
	MaxNeurons  int64
	MaxSynapses int64
	MaxMemory   int64 // bytes of the plan and of the engines that run it
	MaxPairs    int64 // growth's work (Estimate.Pairs)
	// LimitNames tell, in a refusal, how a user raises each limit (node
	// sets its flags, e.g. --max-memory). Empty: the Options field name.
	LimitNames LimitNames
}

// LimitNames name how a user raises each limit of Options.
type LimitNames struct {
	Neurons, Synapses, Memory, Pairs string
}

// Load parses and grows a genome. name is used in error messages (a file
// path or an embedded genome's name). It is implemented in load.go:
//
//	func Load(data []byte, name string, opts Options) (*Plan, error)
//	func LoadContext(ctx context.Context, data []byte, name string, opts Options) (*Plan, error)
//
// LoadContext stops growth when ctx is done (the error wraps ctx.Err()).
// A genome that fails validation returns an error listing every problem with
// its JSON path, and no plan.
//
// Plan.AreaIndex resolves an area named by canonical base64 ID or as written
// in the genome (docs/semantics.md §6.1):
//
//	func (p *Plan) AreaIndex(name string) (int, bool)
