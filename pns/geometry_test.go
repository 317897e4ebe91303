package pns

import "testing"

// local is the layout of docs/semantics.md §5.6, written out as the spec states it (and as
// npu.AreaSpec.Local computes it): ((x·H + y)·D + z)·n + k.
func local(dims [3]uint32, n, x, y, z, k uint32) uint32 {
	return ((x*dims[1]+y)*dims[2]+z)*n + k
}

// TestGeometry checks the sensory target of every voxel (highest-index
// neuron, docs/semantics.md §5.6) and the inverse for every neuron.
func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		dims     [3]uint32
		perVoxel uint32
	}{{[3]uint32{1, 1, 1}, 1}, {[3]uint32{3, 4, 5}, 1}, {[3]uint32{2, 3, 4}, 3}, {[3]uint32{7, 1, 2}, 2}} {
		g := Geometry{Dims: c.dims, PerVoxel: c.perVoxel}
		neurons := c.dims[0] * c.dims[1] * c.dims[2] * c.perVoxel
		if g.Neurons() != uint64(neurons) {
			t.Fatalf("%v×%d: Neurons = %d, want %d", c.dims, c.perVoxel, g.Neurons(), neurons)
		}
		for x := uint32(0); x <= c.dims[0]; x++ {
			for y := uint32(0); y <= c.dims[1]; y++ {
				for z := uint32(0); z <= c.dims[2]; z++ {
					got, ok := g.Target(x, y, z)
					inside := x < c.dims[0] && y < c.dims[1] && z < c.dims[2]
					if ok != inside || (inside && got != local(c.dims, c.perVoxel, x, y, z, c.perVoxel-1)) {
						t.Fatalf("%v×%d: Target(%d,%d,%d) = %d,%v", c.dims, c.perVoxel, x, y, z, got, ok)
					}
				}
			}
		}
		for l := uint32(0); l < neurons; l++ {
			x, y, z, ok := g.Voxel(l)
			if !ok || local(c.dims, c.perVoxel, x, y, z, l%c.perVoxel) != l {
				t.Fatalf("%v×%d: Voxel(%d) = (%d,%d,%d),%v", c.dims, c.perVoxel, l, x, y, z, ok)
			}
		}
		if _, _, _, ok := g.Voxel(neurons); ok {
			t.Errorf("Voxel(%d) ok past the last neuron", neurons)
		}
	}
	if _, ok := (Geometry{Dims: [3]uint32{1, 1, 1}}).Target(0, 0, 0); ok {
		t.Error("Target ok in an area with PerVoxel 0")
	}
	if _, _, _, ok := (Geometry{}).Voxel(0); ok {
		t.Error("Voxel ok in an empty area")
	}
}
