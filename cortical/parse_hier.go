package cortical

// hierFields maps the hierarchical field names (docs/semantics.md §5.2) that growth
// reads to their property; other fields are metadata.
var hierFields = map[string]string{
	"cortical_name":                pName,
	"per_voxel_neuron_cnt":         pPerVoxel,
	"firing_threshold":             pThreshold,
	"firing_threshold_limit":       pLimit,
	"firing_threshold_increment_x": pIncX,
	"firing_threshold_increment_y": pIncY,
	"firing_threshold_increment_z": pIncZ,
	"refractory_period":            pRefractory,
	"leak_coefficient":             pLeak,
	"consecutive_fire_cnt_max":     pConsecutive,
	"snooze_length":                pSnooze,
	"psp_uniform_distribution":     pPSPUniform,
	"mp_charge_accumulation":       pAccumulation,
	"mp_driven_psp":                pMPDriven,
	"neuron_excitability":          pExcitability,
	"postsynaptic_current":         pPSP,
	"is_mem_type":                  pMemory,
}

// parseHierarchical reads a hierarchical blueprint: { <id>: { fields } }.
func parseHierarchical(ps *problems, g *genome, bp map[string]any) {
	for _, id := range sortedKeys(bp) {
		path := pathKey("blueprint", id)
		obj, ok := asObject(ps, path, bp[id])
		if !ok {
			continue
		}
		a := &rawArea{raw: id, path: path, props: map[string]prop{}}
		g.areas = append(g.areas, a)
		for _, field := range sortedKeys(obj) {
			v := obj[field]
			fpath := path + "." + field
			switch field {
			case "block_boundaries":
				setDims(ps, a, fpath, v)
			case "cortical_mapping_dst":
				parseDstmap(ps, a, fpath, v)
			default:
				if p, ok := hierFields[field]; ok {
					a.set(p, v, fpath)
				}
			}
		}
	}
}

// setDims splits a [x, y, z] dimension array into its three properties.
func setDims(ps *problems, a *rawArea, path string, v any) {
	if v == nil {
		return
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		ps.add(path, "want dimensions [x, y, z], got %s", describe(v))
		return
	}
	for i, p := range [3]string{pDimX, pDimY, pDimZ} {
		a.set(p, arr[i], pathIndex(path, i))
	}
}
