package cortical

// The genome model every format is parsed into before growth: areas as maps
// of hierarchical property names (docs/semantics.md §5.2) with the JSON path of each
// value, so that one conversion (params.go) serves flat, hierarchical and
// simple genomes alike.

// prop is one area property as found in the genome.
type prop struct {
	v    any
	path string
	// group identifies where the value was written, for the once-per-area
	// reports of docs/semantics.md §5.5: the area's raw ID, or the parameter set
	// (morphologies[id]) a simple-layout area inherits it from.
	group string
}

// rawArea is one area of the blueprint before IDs are resolved.
type rawArea struct {
	raw   string // ID as written in the genome
	path  string // JSON path of the area
	props map[string]prop
	dsts  []rawDst
}

// rawDst is one destination of an area's mapping (cortical_mapping_dst).
type rawDst struct {
	raw   string // destination ID as written
	path  string // JSON path of the rule list
	rules []any  // rule values (arrays or objects)
	// simple marks a simple-layout mapping (docs/semantics.md §5.2), whose rules are objects
	// with cortical_mapping_type and postsynaptic_current.
	simple bool
}

// Region is a brain region, kept as metadata (docs/semantics.md §5.1).
type Region struct {
	ID     string
	Title  string
	Parent string
	Areas  []int // area indices, ascending
}

// genome is a parsed genome before growth.
type genome struct {
	info          GenomeInfo
	precision     string // quantization_precision as written ("" absent)
	precisionPath string
	queueDepth    uint32 // physiology.plasticity_queue_depth (default 3)
	areas         []*rawArea
	morphs        map[string]*Morphology // the genome's own table (renamed per docs/semantics.md §5.1)
	regions       []rawRegion
	// excitabilityDefault is the neuron_excitability of an area that does
	// not set it: 1.0 for the flat template, 100 for the hierarchical
	// getter (docs/semantics.md §5.2).
	excitabilityDefault float64
	notes               []string // warnings produced while parsing
}

type rawRegion struct {
	id, title, parent string
	areas             []string
	path              string
}

// Property names (hierarchical, docs/semantics.md §5.2) that growth reads.
const (
	pName         = "cortical_name"
	pDimX         = "block_boundaries[0]"
	pDimY         = "block_boundaries[1]"
	pDimZ         = "block_boundaries[2]"
	pPerVoxel     = "per_voxel_neuron_cnt"
	pThreshold    = "firing_threshold"
	pLimit        = "firing_threshold_limit"
	pIncX         = "firing_threshold_increment_x"
	pIncY         = "firing_threshold_increment_y"
	pIncZ         = "firing_threshold_increment_z"
	pRefractory   = "refractory_period"
	pLeak         = "leak_coefficient"
	pExcitability = "neuron_excitability"
	pPSP          = "postsynaptic_current"
	pPSPUniform   = "psp_uniform_distribution"
	pAccumulation = "mp_charge_accumulation"
	pMPDriven     = "mp_driven_psp"
	pConsecutive  = "consecutive_fire_cnt_max"
	pSnooze       = "snooze_length"
	pMemory       = "is_mem_type"
)

func (a *rawArea) set(name string, v any, path string) {
	if a.props == nil {
		a.props = map[string]prop{}
	}
	a.props[name] = prop{v: v, path: path, group: a.raw}
}
