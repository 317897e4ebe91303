package cortical

import (
	"fmt"
	"math"
	"strings"
)

// Formats of a genome (GenomeInfo.Format).
const (
	FormatFlat         = "flat"
	FormatHierarchical = "hierarchical"
	FormatSimple       = "simple"
)

// parseGenome reads the top level of a genome document (docs/semantics.md §5.1)
// and dispatches the blueprint to the parser of its format.
func parseGenome(ps *problems, root any) *genome {
	g := &genome{
		info:       GenomeInfo{ID: "unknown", Title: "Untitled", BurstRateHz: 40},
		queueDepth: 3,
	}
	top, ok := root.(map[string]any)
	if !ok {
		ps.add("", "want a genome object at the top level, got %s", describe(root))
		return g
	}
	if v, ok := top["version"]; !ok {
		ps.add("version", "missing (want \"2.x\" or \"3.0\")")
	} else if s, ok := asString(ps, "version", v); ok {
		if !strings.HasPrefix(s, "2.") && s != "3.0" {
			ps.add("version", "unsupported version %q (want 2.x or 3.0)", s)
		}
		g.info.Version = s
	}
	if v, ok := top["genome_id"]; ok && v != nil {
		if s, ok := asString(ps, "genome_id", v); ok {
			g.info.ID = s
		}
	}
	if v, ok := top["genome_title"]; ok && v != nil {
		if s, ok := asString(ps, "genome_title", v); ok {
			g.info.Title = s
		}
	}
	parsePhysiology(ps, g, top["physiology"])
	if v, ok := top["neuron_morphologies"]; ok && v != nil {
		g.morphs = parseMorphologies(ps, "neuron_morphologies", v)
	}
	bp, ok := top["blueprint"]
	if !ok {
		ps.add("blueprint", "missing")
		return g
	}
	blueprint, ok := asObject(ps, "blueprint", bp)
	if !ok {
		return g
	}
	switch {
	case isFlat(blueprint):
		g.info.Format = FormatFlat
		g.excitabilityDefault = 1
		parseFlat(ps, g, blueprint)
	case isSimple(blueprint):
		g.info.Format = FormatSimple
		g.excitabilityDefault = 100
		parseSimple(ps, g, blueprint, top["morphologies"])
	default:
		g.info.Format = FormatHierarchical
		g.excitabilityDefault = 100
		parseHierarchical(ps, g, blueprint)
	}
	if v, ok := top["brain_regions"]; ok && v != nil {
		parseRegions(ps, g, v)
	}
	return g
}

// isFlat applies FEAGI's flat detection (docs/semantics.md §5.1): some key
// starts with ___, contains - and is longer than 20 characters.
func isFlat(bp map[string]any) bool {
	for k := range bp {
		if strings.HasPrefix(k, "___") && strings.Contains(k, "-") && len(k) > 20 {
			return true
		}
	}
	return false
}

// isSimple detects the simple layout of the example genomes (docs/semantics.md §5.2).
func isSimple(bp map[string]any) bool {
	_, ok := bp["cortical_areas"].(map[string]any)
	return ok && len(bp) == 1
}

func parsePhysiology(ps *problems, g *genome, v any) {
	if v == nil {
		return
	}
	phys, ok := asObject(ps, "physiology", v)
	if !ok {
		return
	}
	key := "simulation_timestep"
	step, ok := phys[key]
	if !ok || step == nil {
		key = "burst_delay"
		step, ok = phys[key]
	}
	if ok && step != nil {
		if f, ok := asNumber(ps, "physiology."+key, step); ok {
			if f <= 0 {
				g.notes = append(g.notes, fmt.Sprintf("physiology.%s: %s is not positive; using 0.025 s, as FEAGI does", key, describe(step)))
			} else {
				g.info.BurstRateHz = 1 / f
			}
		}
	}
	if p, ok := phys["quantization_precision"]; ok && p != nil {
		if s, ok := asString(ps, "physiology.quantization_precision", p); ok {
			g.precision, g.precisionPath = s, "physiology.quantization_precision"
		}
	}
	if d, ok := phys["plasticity_queue_depth"]; ok && d != nil {
		if n, ok := asInteger(ps, "physiology.plasticity_queue_depth", d); ok {
			if n < 0 || n > math.MaxUint32 {
				ps.add("physiology.plasticity_queue_depth", "want a number of bursts in [0, %d], got %s", uint32(math.MaxUint32), describe(d))
			} else {
				g.queueDepth = uint32(n)
			}
		}
	}
}

func parseRegions(ps *problems, g *genome, v any) {
	regions, ok := asObject(ps, "brain_regions", v)
	if !ok {
		return
	}
	for _, key := range sortedKeys(regions) {
		path := pathKey("brain_regions", key)
		obj, ok := asObject(ps, path, regions[key])
		if !ok {
			continue
		}
		r := rawRegion{id: key, path: path}
		if t, ok := obj["title"].(string); ok {
			r.title = t
		}
		if p, ok := obj["parent_region_id"].(string); ok {
			r.parent = p
		}
		if a, ok := obj["areas"]; ok && a != nil {
			list, ok := asArray(ps, path+".areas", a)
			for i, e := range list {
				if s, ok := asString(ps, pathIndex(path+".areas", i), e); ok {
					r.areas = append(r.areas, s)
				}
			}
			_ = ok
		}
		g.regions = append(g.regions, r)
	}
}

// parseDstmap reads an area's cortical_mapping_dst object.
func parseDstmap(ps *problems, a *rawArea, path string, v any) {
	if v == nil {
		return
	}
	m, ok := asObject(ps, path, v)
	if !ok {
		return
	}
	for _, dst := range sortedKeys(m) {
		dpath := pathKey(path, dst)
		if m[dst] == nil {
			continue
		}
		rules, ok := asArray(ps, dpath, m[dst])
		if !ok {
			continue
		}
		a.dsts = append(a.dsts, rawDst{raw: dst, path: dpath, rules: rules})
	}
}
