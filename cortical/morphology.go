package cortical

import (
	"encoding/json"
	"strconv"
)

// MorphologyType is the kind of a morphology (docs/semantics.md §5.7).
type MorphologyType uint8

const (
	Vectors MorphologyType = iota
	Patterns
	Functions
	Composite
)

func (t MorphologyType) String() string {
	switch t {
	case Vectors:
		return "vectors"
	case Patterns:
		return "patterns"
	case Functions:
		return "functions"
	case Composite:
		return "composite"
	}
	return "MorphologyType(" + strconv.Itoa(int(t)) + ")"
}

// Morphology is one entry of the morphology table: how a mapping rule picks
// destination voxels for each source neuron.
type Morphology struct {
	ID       string
	Type     MorphologyType
	Vectors  [][3]int64    // Vectors: offsets, in list order
	Patterns []PatternPair // Patterns: [source, destination] pairs
	Builtin  bool          // one of FEAGI's 13 core morphologies, not defined by the genome
}

// PatternElem is one axis of a pattern: an integer coordinate or a wildcard.
type PatternElem struct {
	Op    byte  // 0: the integer Value; '*' any; '?' same as source; '!' any but the source
	Value int64 // for Op 0
}

// PatternPair is one [source pattern, destination pattern] entry.
type PatternPair struct {
	Src, Dst [3]PatternElem
}

// coreMorphologies are FEAGI's 13 core morphologies, used when a genome
// does not define the id (docs/semantics.md §5.7).
func coreMorphologies() map[string]*Morphology {
	star := PatternElem{Op: '*'}
	zero := PatternElem{}
	m := map[string]*Morphology{
		"block_to_block":     {Type: Vectors, Vectors: [][3]int64{{0, 0, 0}}},
		"projector":          {Type: Functions},
		"episodic_memory":    {Type: Functions},
		"memory_replay":      {Type: Functions},
		"associative_memory": {Type: Functions},
		"all_to_0-0-0":       {Type: Patterns, Patterns: []PatternPair{{Src: [3]PatternElem{star, star, star}, Dst: [3]PatternElem{zero, zero, zero}}}},
		"0-0-0_to_all":       {Type: Patterns, Patterns: []PatternPair{{Src: [3]PatternElem{zero, zero, zero}, Dst: [3]PatternElem{star, star, star}}}},
		"lateral_+x":         {Type: Vectors, Vectors: [][3]int64{{1, 0, 0}}},
		"lateral_-x":         {Type: Vectors, Vectors: [][3]int64{{-1, 0, 0}}},
		"lateral_+y":         {Type: Vectors, Vectors: [][3]int64{{0, 1, 0}}},
		"lateral_-y":         {Type: Vectors, Vectors: [][3]int64{{0, -1, 0}}},
		"lateral_+z":         {Type: Vectors, Vectors: [][3]int64{{0, 0, 1}}},
		"lateral_-z":         {Type: Vectors, Vectors: [][3]int64{{0, 0, -1}}},
	}
	for id, mo := range m {
		mo.ID, mo.Builtin = id, true
	}
	return m
}

// morphologyRenames are the id migrations of docs/semantics.md §5.1.
var morphologyRenames = map[string]string{
	"memory":              "episodic_memory",
	"bi_directional_stdp": "associative_memory",
}

func renameMorphology(id string) string {
	if to, ok := morphologyRenames[id]; ok {
		return to
	}
	return id
}

// parseMorphologies reads the neuron_morphologies table.
func parseMorphologies(ps *problems, path string, v any) map[string]*Morphology {
	out := map[string]*Morphology{}
	table, ok := asObject(ps, path, v)
	if !ok {
		return out
	}
	for _, key := range sortedKeys(table) {
		mpath := pathKey(path, key)
		entry, ok := asObject(ps, mpath, table[key])
		if !ok {
			continue
		}
		id := renameMorphology(key)
		m := &Morphology{ID: id}
		typ, ok := entry["type"]
		if !ok {
			ps.add(mpath, "missing type (want vectors, patterns, functions or composite)")
			continue
		}
		s, ok := asString(ps, mpath+".type", typ)
		if !ok {
			continue
		}
		params, _ := entry["parameters"].(map[string]any)
		if entry["parameters"] != nil && params == nil {
			ps.add(mpath+".parameters", "want an object, got %s", describe(entry["parameters"]))
			continue
		}
		switch s {
		case "vectors":
			m.Type = Vectors
			m.Vectors = parseVectors(ps, mpath+".parameters.vectors", params["vectors"])
		case "patterns":
			m.Type = Patterns
			m.Patterns = parsePatterns(ps, mpath+".parameters.patterns", params["patterns"])
		case "functions":
			m.Type = Functions
		case "composite":
			m.Type = Composite
		default:
			ps.add(mpath+".type", "want vectors, patterns, functions or composite, got %s", describe(typ))
			continue
		}
		if _, dup := out[id]; dup && id != key {
			// "memory" and "episodic_memory" both present: the canonical
			// spelling (visited in key order) wins.
			continue
		}
		out[id] = m
	}
	return out
}

func parseVectors(ps *problems, path string, v any) [][3]int64 {
	if v == nil {
		return nil
	}
	list, ok := asArray(ps, path, v)
	if !ok {
		return nil
	}
	out := make([][3]int64, 0, len(list))
	for i, e := range list {
		epath := pathIndex(path, i)
		arr, ok := e.([]any)
		if !ok || len(arr) != 3 {
			ps.add(epath, "want a vector [x, y, z], got %s", describe(e))
			continue
		}
		var vec [3]int64
		good := true
		for a := range 3 {
			n, ok := asInteger(ps, pathIndex(epath, a), arr[a])
			if ok && (n > 1<<31 || n < -(1<<31)) {
				ps.add(pathIndex(epath, a), "vector component out of range: %s", describe(arr[a]))
				ok = false
			}
			good = good && ok
			vec[a] = n
		}
		if good {
			out = append(out, vec)
		}
	}
	return out
}

func parsePatterns(ps *problems, path string, v any) []PatternPair {
	if v == nil {
		return nil
	}
	list, ok := asArray(ps, path, v)
	if !ok {
		return nil
	}
	out := make([]PatternPair, 0, len(list))
	for i, e := range list {
		epath := pathIndex(path, i)
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			ps.add(epath, "want a [source, destination] pattern pair, got %s", describe(e))
			continue
		}
		var pp PatternPair
		good := true
		for side := range 2 {
			spath := pathIndex(epath, side)
			arr, ok := pair[side].([]any)
			if !ok || len(arr) != 3 {
				ps.add(spath, "want a pattern [x, y, z] of integers, \"*\", \"?\" or \"!\", got %s", describe(pair[side]))
				good = false
				continue
			}
			for a := range 3 {
				el, ok := parsePatternElem(ps, pathIndex(spath, a), arr[a])
				good = good && ok
				if side == 0 {
					pp.Src[a] = el
				} else {
					pp.Dst[a] = el
				}
			}
		}
		if good {
			out = append(out, pp)
		}
	}
	return out
}

func parsePatternElem(ps *problems, path string, v any) (PatternElem, bool) {
	switch x := v.(type) {
	case string:
		if x == "*" || x == "?" || x == "!" {
			return PatternElem{Op: x[0]}, true
		}
	case json.Number:
		n, ok := asInteger(ps, path, v)
		if !ok {
			return PatternElem{}, false
		}
		if n < 0 || n > 1<<32 {
			ps.add(path, "want a coordinate in [0, 2^32], got %s", describe(v))
			return PatternElem{}, false
		}
		return PatternElem{Value: n}, true
	}
	ps.add(path, "want an integer, \"*\", \"?\" or \"!\", got %s", describe(v))
	return PatternElem{}, false
}
