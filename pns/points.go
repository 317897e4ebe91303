package pns

import "fmt"

// Points is an XYZP list (docs/semantics.md §6.1): parallel arrays of voxel
// coordinates and potentials. The four slices have the same length in a
// valid value; [Points.Check] reports when they do not.
type Points struct {
	X, Y, Z []uint32
	P       []float32
}

// Len is the number of points (the length of X).
func (p *Points) Len() int { return len(p.X) }

// Append adds one point.
func (p *Points) Append(x, y, z uint32, potential float32) {
	p.X = append(p.X, x)
	p.Y = append(p.Y, y)
	p.Z = append(p.Z, z)
	p.P = append(p.P, potential)
}

// Reset empties the list and keeps its capacity.
func (p *Points) Reset() {
	p.X, p.Y, p.Z, p.P = p.X[:0], p.Y[:0], p.Z[:0], p.P[:0]
}

// Check reports an error wrapping [ErrMalformed] when the four arrays differ
// in length.
func (p *Points) Check() error {
	n := len(p.X)
	if len(p.Y) != n || len(p.Z) != n || len(p.P) != n {
		return fmt.Errorf("%w: xyzp arrays differ in length (x %d, y %d, z %d, p %d)",
			ErrMalformed, len(p.X), len(p.Y), len(p.Z), len(p.P))
	}
	return nil
}

// Injection is one sensory point resolved to a neuron of its area: the local
// neuron index and the potential added to its candidate potential as-is
// (docs/semantics.md §5.6). It has the layout of npu.Point.
type Injection struct {
	Local uint32
	P     float32
}

// Frame is one area's XYZP for one burst: a sensor frame (input) or a motor
// frame (output of an OPU area).
type Frame struct {
	// Area names the area: canonical base64 ID, its token form, or the ID as
	// written in the genome. Motor frames use the canonical base64 ID.
	Area string
	// Burst is the burst the frame belongs to. For a sensor frame, 0 means
	// the next burst; for a motor frame, the burst whose fires it lists.
	Burst  uint64
	Points Points
}
