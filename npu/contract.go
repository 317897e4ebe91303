package npu

// This file is the contract between npu and its callers (cortical builds
// these values, actors and the reference runner consume them). Change it only
// with care: several packages depend on its exact shape.

// Burst numbers a time step of the simulation. The first burst is 1.
type Burst = uint64

// PowerAmount is the input the power neuron (area index 1, local neuron 0)
// receives every burst (docs/semantics.md §2.6).
const PowerAmount float32 = 1.0

// Core area indices (docs/semantics.md §5.6).
const (
	DeathArea   = 0
	PowerArea   = 1
	FatigueArea = 2
)

// Params are the neuron parameters of one cortical area. They are uniform
// within the area; only the threshold may vary per voxel (ThresholdIncrement).
// Values are already normalized by the loader (percentages turned into
// fractions, 0/65535 limits kept as written).
type Params struct {
	Threshold          float32    // firing threshold at voxel (0,0,0)
	ThresholdIncrement [3]float32 // per-voxel gradient along x, y, z (docs/semantics.md §2.4)
	ThresholdLimit     float32    // highest potential that may fire; 0 = no limit
	LeakPerBurst       float32    // fraction of potential lost per non-firing candidate burst, in [0,1]
	RefractoryBursts   uint16     // candidate bursts blocked after a fire
	ConsecutiveLimit   uint16     // consecutive fires before snooze; 0 or 65535 = unlimited
	SnoozeBursts       uint16     // extra refractory bursts when the limit is reached
	Excitability       float32    // firing probability in [0,1]
	ChargeAccumulation bool       // false: potential reset to 0 at the start of every burst
	// As a source area:
	MPDrivenPSP bool  // PSP of its synapses is the firing-time potential, clamp(round(mp),0,255)
	PSPUniform  bool  // contributions are not divided by the source neuron's out-degree
	PSP         uint8 // postsynaptic current of its synapses (clamped to 0..255, truncated)
}

// AreaSpec describes one cortical area as the engine needs it.
type AreaSpec struct {
	Index    int       // cortical index: 0 death, 1 power, 2 fatigue, then 3, 4, ...
	Dims     [3]uint32 // width (x), height (y), depth (z) in voxels
	PerVoxel uint32    // neurons per voxel (>= 1)
	FirstID  uint32    // global neuron id of local index 0 (docs/semantics.md §5.6)
	Params   Params
}

// Neurons is the number of neurons in the area: W·H·D·PerVoxel.
func (a *AreaSpec) Neurons() uint32 {
	return a.Dims[0] * a.Dims[1] * a.Dims[2] * a.PerVoxel
}

// Local returns the local index of copy k of voxel (x, y, z):
// ((x·H + y)·D + z)·n + k (docs/semantics.md §5.6).
func (a *AreaSpec) Local(x, y, z, k uint32) uint32 {
	return ((x*a.Dims[1]+y)*a.Dims[2]+z)*a.PerVoxel + k
}

// VoxelTarget returns the neuron of voxel (x, y, z) that receives sensory input
// and synapses: the highest-index copy (docs/semantics.md §5.6). ok is false when the
// voxel lies outside the area.
func (a *AreaSpec) VoxelTarget(x, y, z uint32) (local uint32, ok bool) {
	if x >= a.Dims[0] || y >= a.Dims[1] || z >= a.Dims[2] {
		return 0, false
	}
	return a.Local(x, y, z, a.PerVoxel-1), true
}

// Plasticity configures mapping-level plasticity of one connection (docs/semantics.md §3.5).
type Plasticity struct {
	Window uint32 // bursts of history considered (> 0)
	LTP    uint8  // weight increase when source and target fired in every burst of the window
	LTD    uint8  // weight decrease otherwise (when either fired at all in the window)
}

// Connection holds every synapse from one source area to one destination
// area, grouped by source neuron (compressed sparse rows). Within one source
// neuron the synapses keep their creation order (docs/semantics.md §3.4). The destination
// area owns the table.
type Connection struct {
	Src, Dst int // area indices

	// Start has one entry per source neuron plus one: the synapses of source
	// local neuron s are at indices Start[s] ≤ i < Start[s+1].
	Start      []uint32
	Target     []uint32 // destination local neuron index
	Weight     []uint8  // 0..255
	Inhibitory []bool   // true: contribution is negative

	// OutDegree[s] is source neuron s's total number of synapses over all
	// connections and rules (docs/semantics.md §3.2). It may be shared between connections
	// of the same source area; treat it as read-only.
	OutDegree []uint32

	// Copied from the source area's Params so the destination needs nothing else.
	PSP         uint8
	PSPUniform  bool
	MPDrivenPSP bool

	Plasticity *Plasticity // nil: not plastic
}

// Synapses is the number of synapses in the connection.
func (c *Connection) Synapses() int { return len(c.Target) }

// Point is one resolved sensory injection: a local neuron and its potential.
type Point struct {
	Local uint32
	P     float32
}

// Input is what one area receives for one burst.
type Input struct {
	// Points are the sensory injections of this burst, in list order (docs/semantics.md §3.4).
	Points []Point
	// Fired is parallel to Engine.Incoming(): for each incoming connection
	// (ascending source area index), the source local indices that fired in
	// the previous burst, ascending. A nil entry means nothing fired.
	Fired [][]uint32
	// Potentials is parallel to Fired: the firing-time potentials of those
	// neurons. Required only for connections whose MPDrivenPSP is set; may be
	// nil otherwise.
	Potentials [][]float32
}

// Output is what one area produced in one burst. Its slices belong to the
// engine and stay valid until its next Step.
type Output struct {
	Fired      []uint32  // local indices of the neurons that fired, ascending
	Potentials []float32 // firing-time potential of each, as float32
}

// Engine runs one cortical area burst by burst: the value a runtime wraps in
// an actor. It is not safe for concurrent use. The power area's engine adds
// PowerAmount to its neuron after the sensory points every burst (docs/semantics.md
// §2.6, §3.4); callers do not inject power.
//
// Implementations are created by NewEngine (engine.go).
type Engine interface {
	// Spec is the area the engine runs.
	Spec() *AreaSpec
	// Incoming lists the connections into this area, ascending by Src. The
	// engine owns their weights (plasticity updates them).
	Incoming() []*Connection
	// Step runs burst `burst` (bursts are consecutive, starting at 1).
	Step(burst Burst, in *Input) Output
	// Snapshot writes the area's complete state in a versioned, checksummed
	// binary form; Restore reads it back exactly (docs/semantics.md §4.3).
	Snapshot() ([]byte, error)
	Restore(data []byte) error
	// HotBytesPerNeuron is the per-neuron state touched every burst.
	HotBytesPerNeuron() int
}

// StateSaver is implemented by AreaEngine (not by every Engine, so it is not
// part of Engine): a cheaper snapshot for periodic checkpoints. SaveState
// writes only what changes while the area runs — burst counter, neuron
// state, last output, and the weights and plasticity history of plastic
// connections — in a versioned, checksummed form whose size does not grow
// with the static synapses (docs/semantics.md §4.3). RestoreState reads it
// back into an engine grown from the same plan (whatever its worker count):
// an error wraps ErrSnapshot, names what differs, and leaves the engine
// unchanged.
type StateSaver interface {
	SaveState() ([]byte, error)
	RestoreState(data []byte) error
}
