package cortical

import (
	"fmt"
	"math"
)

// rule is one parsed mapping rule (docs/semantics.md §5.7, §5.3).
type rule struct {
	morph        string
	weight       uint8
	inhibitory   bool
	plastic      bool
	window       uint32
	ltp, ltd     uint8
	attractivity float64 // 0–100; ≥ 100 creates every candidate, ≤ 0 none (docs/semantics.md §5.3)
	allToAll     bool    // simple-layout fully_connected (docs/semantics.md §5.2)
	path         string
	pos          int // position in the source area's rule list for the destination
}

// parseRule reads one rule: an array of 7 or 8 elements (docs/semantics.md §5.3, §5.2) or an
// object with named keys.
func parseRule(ps *problems, g *genome, path string, v any) (rule, bool) {
	r := rule{path: path, attractivity: 100, window: g.queueDepth}
	before := len(ps.list)
	var mult, constant, ltp, ltd, window, attract any
	var flag any
	switch x := v.(type) {
	case []any:
		if len(x) < 7 || len(x) > 8 {
			ps.add(path, "want a rule of 7 or 8 elements [morphology_id, scalar, multiplier, plasticity_flag, plasticity_constant, ltp_multiplier, ltd_multiplier, plasticity_window], got %d", len(x))
			return r, false
		}
		id, ok := asString(ps, pathIndex(path, 0), x[0])
		if !ok {
			return r, false
		}
		r.morph = id
		mult, flag, constant, ltp, ltd = x[2], x[3], x[4], x[5], x[6]
		if len(x) == 8 {
			window = x[7]
		}
	case map[string]any:
		id, ok := x["morphology_id"]
		if !ok {
			ps.add(path, "rule without morphology_id")
			return r, false
		}
		s, ok := asString(ps, path+".morphology_id", id)
		if !ok {
			return r, false
		}
		r.morph = s
		mult, flag, constant, ltp, ltd = x["postSynapticCurrent_multiplier"], x["plasticity_flag"],
			x["plasticity_constant"], x["ltp_multiplier"], x["ltd_multiplier"]
		window, attract = x["plasticity_window"], x["synapse_attractivity"]
	default:
		ps.add(path, "want a rule (an array of 7 or 8 elements or an object), got %s", describe(v))
		return r, false
	}
	r.morph = renameMorphology(r.morph)
	elem := func(i int, key string) string {
		if _, isArray := v.([]any); isArray {
			return pathIndex(path, i)
		}
		return path + "." + key
	}
	r.weight = 1
	if mult != nil {
		p := elem(2, "postSynapticCurrent_multiplier")
		if f, ok := asNumber(ps, p, mult); ok {
			if f != math.Trunc(f) {
				g.notes = append(g.notes, fmt.Sprintf("%s: non-integral multiplier %s gives weight 1 (docs/semantics.md §5.2)", p, describe(mult)))
			} else {
				r.inhibitory = f < 0
				r.weight = uint8(math.Min(math.Abs(f), 255))
			}
		}
	}
	if flag != nil {
		r.plastic, _ = asBool(ps, elem(3, "plasticity_flag"), flag)
	}
	if r.morph == "associative_memory" {
		r.plastic = true // docs/semantics.md §5.7
	}
	integer := func(val any, i int, key string) (int64, bool) {
		if val == nil {
			if r.plastic {
				ps.add(elem(i, key), "plastic rule without %s", key)
			}
			return 0, false
		}
		return asInteger(ps, elem(i, key), val)
	}
	c, okC := integer(constant, 4, "plasticity_constant")
	p, okP := integer(ltp, 5, "ltp_multiplier")
	d, okD := integer(ltd, 6, "ltd_multiplier")
	if okC && okP && okD {
		r.ltp, r.ltd = clampDelta(c, p), clampDelta(c, d)
	}
	if window != nil {
		wp := elem(7, "plasticity_window")
		if w, ok := asInteger(ps, wp, window); ok {
			switch {
			case w < 0 || w > math.MaxUint32:
				ps.add(wp, "want a window in bursts in [1, %d], got %s", uint32(math.MaxUint32), describe(window))
			default:
				r.window = uint32(w)
			}
		}
	}
	if r.plastic && r.window == 0 {
		ps.add(elem(7, "plasticity_window"), "plastic rule with a window of 0 bursts: want at least 1")
	}
	if attract != nil {
		if f, ok := asNumber(ps, path+".synapse_attractivity", attract); ok {
			r.attractivity = f
		}
	}
	return r, len(ps.list) == before
}

// clampDelta is clamp(constant × multiplier, 0, 255) (docs/semantics.md §3.5).
func clampDelta(constant, mult int64) uint8 {
	v := float64(constant) * float64(mult)
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}

// parseSimpleRule reads one simple-layout mapping (docs/semantics.md §5.2): cortical_mapping_type
// fully_connected grows every source neuron to every destination voxel with
// weight = postsynaptic_current, not plastic. Another mapping type names a
// morphology.
func parseSimpleRule(ps *problems, g *genome, path string, v any) (rule, bool) {
	r := rule{path: path, attractivity: 100, weight: 1, window: g.queueDepth}
	obj, ok := asObject(ps, path, v)
	if !ok {
		return r, false
	}
	before := len(ps.list)
	typ := "fully_connected"
	if t, ok := obj["cortical_mapping_type"]; ok {
		typ, _ = asString(ps, path+".cortical_mapping_type", t)
	} else if m, ok := obj["morphology_id"]; ok {
		typ, _ = asString(ps, path+".morphology_id", m)
	}
	if typ == "fully_connected" {
		r.allToAll = true
		r.morph = "fully_connected"
		g.notes = append(g.notes, fmt.Sprintf("%s: simple-layout mapping type fully_connected grown as all-to-all", path))
	} else {
		r.morph = renameMorphology(typ)
	}
	if w, ok := obj["postsynaptic_current"]; ok {
		if f, ok := asNumber(ps, path+".postsynaptic_current", w); ok {
			if f != math.Trunc(f) {
				g.notes = append(g.notes, fmt.Sprintf("%s.postsynaptic_current: non-integral weight %s gives weight 1 (docs/semantics.md §5.2)", path, describe(w)))
			} else {
				r.inhibitory = f < 0
				r.weight = uint8(math.Min(math.Abs(f), 255))
			}
		}
	}
	if a, ok := obj["synapse_attractivity"]; ok {
		if f, ok := asNumber(ps, path+".synapse_attractivity", a); ok {
			r.attractivity = f
		}
	}
	return r, len(ps.list) == before
}
