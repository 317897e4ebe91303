package cortical

import "strings"

// flatGene is one gene of the flat format (docs/semantics.md §5.2) that growth
// reads: the hierarchical property it sets and its canonical type letter.
type flatGene struct {
	prop   string
	letter string
}

// flatGenes maps a gene name (without its type letter) to its property.
// Genes not listed are kept by FEAGI only as metadata and are ignored here.
var flatGenes = map[string]flatGene{
	"__name": {pName, "t"},
	"_n_cnt": {pPerVoxel, "i"},
	"___bbx": {pDimX, "i"},
	"___bby": {pDimY, "i"},
	"___bbz": {pDimZ, "i"},
	"fire_t": {pThreshold, "f"},
	"fthlim": {pLimit, "f"},
	"ftincx": {pIncX, "f"},
	"ftincy": {pIncY, "f"},
	"ftincz": {pIncZ, "f"},
	"refrac": {pRefractory, "i"},
	"leak_c": {pLeak, "f"},
	"c_fr_c": {pConsecutive, "i"},
	"snooze": {pSnooze, "f"},
	"pspuni": {pPSPUniform, "b"},
	"mp_acc": {pAccumulation, "b"},
	"mp_psp": {pMPDriven, "b"},
	"excite": {pExcitability, "f"},
	"pstcr_": {pPSP, "f"},
	"memory": {pMemory, "b"},
	"dstmap": {"cortical_mapping_dst", "d"},
}

// flatPrefix starts every flat gene key.
const flatPrefix = "_____10c-"

// parseFlat reads a flat blueprint: keys _____10c-<id>-<scope>-<gene>-<t>
// (docs/semantics.md §5.2). A gene is matched by name whatever its type letter; when
// one gene appears with two letters the canonical one wins (docs/semantics.md §5.2).
func parseFlat(ps *problems, g *genome, bp map[string]any) {
	areas := map[string]*rawArea{}
	letters := map[string]string{} // id + "\x00" + prop → letter in use
	var dstmaps []struct {
		a    *rawArea
		path string
		v    any
	}
	for _, key := range sortedKeys(bp) {
		parts := strings.Split(key, "-")
		if !strings.HasPrefix(key, flatPrefix) || len(parts) != 5 || parts[1] == "" {
			ps.add(pathKey("blueprint", key), "not a flat gene key (want _____10c-<id>-<scope>-<gene>-<type>)")
			continue
		}
		id, gene, letter := parts[1], parts[3], parts[4]
		a := areas[id]
		if a == nil {
			a = &rawArea{raw: id, path: pathKey("blueprint", id), props: map[string]prop{}}
			areas[id] = a
			g.areas = append(g.areas, a)
		}
		fg, known := flatGenes[gene]
		if !known {
			continue
		}
		lk := id + "\x00" + fg.prop
		if prev, seen := letters[lk]; seen && (prev == fg.letter || letter != fg.letter) {
			continue
		}
		letters[lk] = letter
		path := a.path + "." + fg.prop
		if fg.prop == "cortical_mapping_dst" {
			dstmaps = append(dstmaps, struct {
				a    *rawArea
				path string
				v    any
			}{a, path, bp[key]})
			continue
		}
		a.set(fg.prop, bp[key], path)
	}
	// A dstmap chosen by the letter rule replaces an earlier one.
	seen := map[*rawArea]int{}
	for i, d := range dstmaps {
		seen[d.a] = i
	}
	for i, d := range dstmaps {
		if seen[d.a] == i {
			parseDstmap(ps, d.a, d.path, d.v)
		}
	}
}
