package cortical

import (
	"fmt"
	"math"
	"sort"

	"github.com/spikemesh/spikemesh/npu"
)

// areaDraft is an area with its canonical ID and converted parameters,
// before indices and neuron ids are assigned.
type areaDraft struct {
	raw      *rawArea // nil for core areas added from the template
	id       ID
	name     string
	dims     [3]uint32
	perVoxel uint32
	params   npu.Params
}

// coreTemplates are the core areas added when a genome lacks them (docs/semantics.md §2.6):
// threshold 0.1, PSP 500 → 255, psp-uniform, refractory 0, leak 0, no
// limit, snooze 0, accumulation off, excitability 1.0.
var coreTemplateNames = map[ID]string{DeathID: "Death", PowerID: "Brain_Power", FatigueID: "Fatigue"}

func coreTemplate(id ID) areaDraft {
	return areaDraft{
		id:       id,
		name:     coreTemplateNames[id],
		dims:     [3]uint32{1, 1, 1},
		perVoxel: 1,
		params: npu.Params{
			Threshold:    0.1,
			Excitability: 1,
			PSPUniform:   true,
			PSP:          255,
		},
	}
}

// percents collects the docs/semantics.md §5.5 normalizations of one genome, reported once
// per (property, written value) with the number of areas (or simple-layout
// parameter sets) involved.
type percents struct {
	m map[percentKey]map[string]bool
}

type percentKey struct {
	field string
	from  float64
}

// normalize reads a fraction that may be written as a percentage
// (docs/semantics.md §5.5): v > 1 becomes f32(f32(v)/100); negative or above 100 is an error.
func (pc *percents) normalize(ps *problems, p prop, field string, v float64) float32 {
	if v < 0 || v > 100 {
		ps.add(p.path, "want a fraction in [0, 1] or a percentage in (1, 100], got %s", describe(p.v))
		return 0
	}
	if v <= 1 {
		return float32(v)
	}
	if pc.m == nil {
		pc.m = map[percentKey]map[string]bool{}
	}
	k := percentKey{field, v}
	if pc.m[k] == nil {
		pc.m[k] = map[string]bool{}
	}
	pc.m[k][p.group] = true
	return float32(v) / 100
}

// notes renders the reports, by property name then written value.
func (pc *percents) notes() []string {
	keys := make([]percentKey, 0, len(pc.m))
	for k := range pc.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].field != keys[j].field {
			return keys[i].field < keys[j].field
		}
		return keys[i].from < keys[j].from
	})
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		to := float32(k.from) / 100
		out = append(out, fmt.Sprintf("%s %s read as a percentage -> %s in %d area(s)",
			k.field, pyFloat(k.from), pyFloat(float64(to)), len(pc.m[k])))
	}
	return out
}

// convertArea turns an area's properties into its name, geometry and neuron
// parameters (docs/semantics.md §5.2, §5.5, §2.6).
func convertArea(ps *problems, g *genome, a *rawArea, id ID, pc *percents) areaDraft {
	d := areaDraft{raw: a, id: id, name: a.raw, dims: [3]uint32{1, 1, 1}, perVoxel: 1}
	get := func(name string) (prop, bool) {
		p, ok := a.props[name]
		if !ok || p.v == nil {
			return prop{}, false
		}
		return p, true
	}
	num := func(name string, def float64) float64 {
		p, ok := get(name)
		if !ok {
			return def
		}
		f, _ := asNumber(ps, p.path, p.v)
		return f
	}
	f32 := func(name string, def float64) float32 {
		f := num(name, def)
		if math.Abs(f) > math.MaxFloat32 {
			ps.add(a.props[name].path, "want a number within float32 range, got %s", describe(a.props[name].v))
			return 0
		}
		return float32(f)
	}
	u16 := func(name string) uint16 {
		p, ok := get(name)
		if !ok {
			return 0
		}
		v, _ := asU16(ps, p.path, p.v)
		return v
	}
	flag := func(name string) bool {
		p, ok := get(name)
		if !ok {
			return false
		}
		v, _ := asBool(ps, p.path, p.v)
		return v
	}
	if p, ok := get(pName); ok {
		if s, ok := asString(ps, p.path, p.v); ok && s != "" {
			d.name = s
		}
	}
	for i, name := range [3]string{pDimX, pDimY, pDimZ} {
		p, ok := get(name)
		if !ok {
			continue
		}
		v, ok := asInteger(ps, p.path, p.v)
		switch {
		case !ok:
		case v < 1:
			ps.add(p.path, "impossible dimension %s: want an integer of at least 1", describe(p.v))
		case v > math.MaxUint32:
			ps.add(p.path, "impossible dimension %s: want at most %d", describe(p.v), uint32(math.MaxUint32))
		default:
			d.dims[i] = uint32(v)
		}
	}
	if p, ok := get(pPerVoxel); ok {
		v, ok := asInteger(ps, p.path, p.v)
		switch {
		case !ok:
		case v < 0 || v > math.MaxUint32:
			ps.add(p.path, "want a neuron count in [0, %d], got %s", uint32(math.MaxUint32), describe(p.v))
		case v == 0:
			g.notes = append(g.notes, fmt.Sprintf("%s: 0 neurons per voxel read as 1, as FEAGI does", p.path))
		default:
			d.perVoxel = uint32(v)
		}
	}
	pr := &d.params
	pr.Threshold = f32(pThreshold, 1)
	pr.ThresholdLimit = f32(pLimit, 0)
	for i, name := range [3]string{pIncX, pIncY, pIncZ} {
		v := f32(name, 0)
		if math.Abs(float64(v)) <= epsilon32 {
			v = 0 // docs/semantics.md §3.3: an increment with |v| ≤ f32 epsilon counts as 0
		}
		pr.ThresholdIncrement[i] = v
	}
	pr.RefractoryBursts = u16(pRefractory)
	pr.ConsecutiveLimit = u16(pConsecutive)
	pr.SnoozeBursts = u16(pSnooze)
	if p, ok := get(pLeak); ok {
		if v, ok := asNumber(ps, p.path, p.v); ok {
			pr.LeakPerBurst = pc.normalize(ps, p, pLeak, v)
		}
	}
	if p, ok := get(pExcitability); ok {
		if v, ok := asNumber(ps, p.path, p.v); ok {
			pr.Excitability = pc.normalize(ps, p, pExcitability, v)
		}
	} else {
		pr.Excitability = pc.normalize(ps, prop{v: nil, path: a.path, group: a.raw}, pExcitability, g.excitabilityDefault)
	}
	pr.ChargeAccumulation = flag(pAccumulation)
	pr.MPDrivenPSP = flag(pMPDriven)
	pr.PSPUniform = flag(pPSPUniform)
	psp := num(pPSP, 1)
	switch {
	case psp <= 0:
		pr.PSP = 0
	case psp >= 255:
		pr.PSP = 255
	default:
		pr.PSP = uint8(psp)
	}
	if flag(pMemory) {
		g.notes = append(g.notes, fmt.Sprintf("%s: memory area grown as a LIF area (memory neurons are not implemented yet)", a.path))
	}
	if isCoreID(id) {
		if d.dims != [3]uint32{1, 1, 1} || d.perVoxel != 1 {
			g.notes = append(g.notes, fmt.Sprintf("%s: core area has exactly one neuron (docs/semantics.md §2.6); dimensions %dx%dx%d x %d ignored",
				a.path, d.dims[0], d.dims[1], d.dims[2], d.perVoxel))
		}
		d.dims, d.perVoxel = [3]uint32{1, 1, 1}, 1
	}
	return d
}

// epsilon32 is the float32 machine epsilon (2^-23).
const epsilon32 = 1.0 / (1 << 23)

// isCoreID reports whether id is one of the three core areas.
func isCoreID(id ID) bool { return id == DeathID || id == PowerID || id == FatigueID }
