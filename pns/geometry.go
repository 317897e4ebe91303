package pns

// Geometry is the neuron layout of a cortical area: Dims voxels along x, y, z
// and PerVoxel neurons in each. Local neuron indices are
// ((x·H + y)·D + z)·PerVoxel + k (docs/semantics.md §5.6, the layout of npu.AreaSpec.Local).
type Geometry struct {
	Dims     [3]uint32 // width (x), height (y), depth (z) in voxels
	PerVoxel uint32    // neurons per voxel (≥ 1)
}

// Neurons is W·H·D·PerVoxel.
func (g Geometry) Neurons() uint64 {
	return uint64(g.Dims[0]) * uint64(g.Dims[1]) * uint64(g.Dims[2]) * uint64(g.PerVoxel)
}

// Target returns the neuron of voxel (x, y, z) that receives sensory input:
// the highest-index neuron of the voxel (docs/semantics.md §5.6). ok is false when
// the voxel lies outside the area.
func (g Geometry) Target(x, y, z uint32) (local uint32, ok bool) {
	if x >= g.Dims[0] || y >= g.Dims[1] || z >= g.Dims[2] || g.PerVoxel == 0 {
		return 0, false
	}
	v := (uint64(x)*uint64(g.Dims[1])+uint64(y))*uint64(g.Dims[2]) + uint64(z)
	return uint32(v*uint64(g.PerVoxel) + uint64(g.PerVoxel) - 1), true
}

// Voxel returns the voxel of a local neuron index. ok is false when the index
// lies outside the area.
func (g Geometry) Voxel(local uint32) (x, y, z uint32, ok bool) {
	if uint64(local) >= g.Neurons() {
		return 0, 0, 0, false
	}
	v := local / g.PerVoxel
	z = v % g.Dims[2]
	v /= g.Dims[2]
	y = v % g.Dims[1]
	x = v / g.Dims[1]
	return x, y, z, true
}
