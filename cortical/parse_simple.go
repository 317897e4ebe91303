package cortical

import "encoding/json"

// simpleParamKeys maps the neuron-parameter keys of the simple layout (docs/semantics.md §5.2)
// to their property: firing_threshold_starting_value is the threshold, the
// other keys carry their genome names.
var simpleParamKeys = func() map[string]string {
	m := map[string]string{"firing_threshold_starting_value": pThreshold}
	for k, prop := range hierFields {
		if prop != pName && prop != pPerVoxel { // named differently in this layout
			m[k] = prop
		}
	}
	return m
}()

// parseSimple reads the simple layout of the example genomes (docs/semantics.md §5.2):
// blueprint.cortical_areas.<key> = { cortical_id, cortical_name, dimensions
// {x,y,z}, cortical_neuron_per_voxel_count, morphology_id,
// cortical_mapping_dstn }, with neuron parameters from the top-level
// morphologies[morphology_id].parameters, overridden by the area's own keys.
//
// Parameters inherited from a parameter set are reported (docs/semantics.md §5.5) once per
// set, not once per area, since they are written once.
func parseSimple(ps *problems, g *genome, bp map[string]any, paramTable any) {
	sets := map[string]map[string]prop{}
	if paramTable != nil {
		if table, ok := asObject(ps, "morphologies", paramTable); ok {
			for _, key := range sortedKeys(table) {
				sets[key] = simpleParamSet(ps, g, pathKey("morphologies", key), table[key])
			}
		}
	}
	areas, _ := asObject(ps, "blueprint.cortical_areas", bp["cortical_areas"])
	for _, key := range sortedKeys(areas) {
		path := pathKey("blueprint.cortical_areas", key)
		obj, ok := asObject(ps, path, areas[key])
		if !ok {
			continue
		}
		rawID, ok := obj["cortical_id"]
		if !ok {
			ps.add(path+".cortical_id", "missing (want the area's cortical ID)")
			continue
		}
		id, ok := asString(ps, path+".cortical_id", rawID)
		if !ok {
			continue
		}
		a := &rawArea{raw: id, path: path, props: map[string]prop{}}
		g.areas = append(g.areas, a)
		if m, ok := obj["morphology_id"]; ok && m != nil {
			if name, ok := asString(ps, path+".morphology_id", m); ok {
				set, found := sets[name]
				if !found {
					ps.add(path+".morphology_id", "no parameter set %q in morphologies", name)
				}
				for k, p := range set {
					a.props[k] = p
				}
			}
		}
		for _, field := range sortedKeys(obj) {
			v := obj[field]
			fpath := path + "." + field
			switch field {
			case "cortical_name":
				a.set(pName, v, fpath)
			case "cortical_neuron_per_voxel_count":
				a.set(pPerVoxel, v, fpath)
			case "dimensions":
				setSimpleDims(ps, a, fpath, v)
			case "cortical_mapping_dstn", "cortical_mapping_dst":
				parseSimpleDstmap(ps, a, fpath, v)
			default:
				if p, ok := simpleParamKeys[field]; ok {
					a.set(p, v, fpath)
				}
			}
		}
	}
}

// simpleParamSet reads one parameter set, filling in the hierarchical
// defaults (docs/semantics.md §5.2) where they matter for reporting.
func simpleParamSet(ps *problems, g *genome, path string, v any) map[string]prop {
	out := map[string]prop{}
	obj, ok := asObject(ps, path, v)
	if !ok {
		return out
	}
	params := map[string]any{}
	if p, ok := obj["parameters"]; ok && p != nil {
		params, _ = asObject(ps, path+".parameters", p)
	}
	for _, key := range sortedKeys(params) {
		if p, ok := simpleParamKeys[key]; ok {
			out[p] = prop{v: params[key], path: path + ".parameters." + key, group: path}
		}
	}
	if _, ok := out[pExcitability]; !ok {
		// The hierarchical default (100, a percentage), written once for
		// the set.
		out[pExcitability] = prop{v: defaultExcitability, path: path + ".parameters", group: path}
	}
	return out
}

// defaultExcitability is the hierarchical getter default of
// neuron_excitability (docs/semantics.md §5.2).
var defaultExcitability any = json.Number("100")

func setSimpleDims(ps *problems, a *rawArea, path string, v any) {
	obj, ok := asObject(ps, path, v)
	if !ok {
		return
	}
	for i, axis := range [3]string{"x", "y", "z"} {
		if d, ok := obj[axis]; ok {
			a.set([3]string{pDimX, pDimY, pDimZ}[i], d, path+"."+axis)
		}
	}
}

// parseSimpleDstmap reads cortical_mapping_dstn: { <dst cortical_id>:
// mapping object or list of mapping objects }.
func parseSimpleDstmap(ps *problems, a *rawArea, path string, v any) {
	if v == nil {
		return
	}
	m, ok := asObject(ps, path, v)
	if !ok {
		return
	}
	for _, dst := range sortedKeys(m) {
		dpath := pathKey(path, dst)
		var rules []any
		switch x := m[dst].(type) {
		case []any:
			rules = x
		case map[string]any:
			rules = []any{x}
		case nil:
			continue
		default:
			ps.add(dpath, "want a mapping object or a list of them, got %s", describe(m[dst]))
			continue
		}
		a.dsts = append(a.dsts, rawDst{raw: dst, path: dpath, rules: rules, simple: true})
	}
}
