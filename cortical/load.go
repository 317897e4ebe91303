package cortical

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/spikemesh/spikemesh/quant"
)

// Load parses and grows a genome. name is used in error messages (a file
// path or an embedded genome's name). A genome that fails validation returns
// a *LoadError listing every problem with its JSON path, and no plan.
func Load(data []byte, name string, opts Options) (*Plan, error) {
	return LoadContext(context.Background(), data, name, opts)
}

// LoadContext is Load that stops growing when ctx is done: it then returns
// a *LoadError whose cause is ctx.Err().
func LoadContext(ctx context.Context, data []byte, name string, opts Options) (*Plan, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return nil, &LoadError{Name: name, Problems: []Problem{{Msg: err.Error()}}}
	}
	ps := &problems{}
	g := parseGenome(ps, root)
	if ps.any() {
		return nil, ps.err(name)
	}
	lim := opts.limits()
	b := &builder{g: g, ps: ps, opts: opts, lim: lim}
	b.plan = &Plan{Genome: g.info}
	b.plan.Seed = seedFor(data, opts)
	b.precision()
	b.areas()
	if ps.any() {
		return nil, b.fail(name, nil)
	}
	b.connections()
	if ps.any() {
		return nil, ps.err(name)
	}
	est, conns, limErr := b.estimate(lim)
	if limErr != nil {
		return nil, &LoadError{Name: name, Problems: []Problem{{Path: limErr.path, Msg: limErr.Error()}}, Cause: limErr}
	}
	b.plan.Estimate = est
	if err := b.grow(ctx, conns); err != nil {
		return nil, b.fail(name, err)
	}
	b.regions()
	return b.plan, nil
}

// fail returns the load error of problems found, or of err (a *growError)
// when growth stopped.
func (b *builder) fail(name string, err error) error {
	if err == nil {
		le := b.ps.err(name).(*LoadError)
		if b.limit != nil {
			le.Cause = b.limit
		}
		return le
	}
	var ge *growError
	if errors.As(err, &ge) {
		return &LoadError{Name: name, Problems: []Problem{{Path: ge.path, Msg: ge.msg}}, Cause: ge.cause}
	}
	return &LoadError{Name: name, Problems: []Problem{{Msg: err.Error()}}}
}

// LoadFile reads a genome file and loads it with Load.
func LoadFile(path string, opts Options) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{Name: path, Problems: []Problem{{Msg: "unreadable: " + err.Error()}}}
	}
	return Load(data, path, opts)
}

// seedFor returns the growth seed: the option, or the first 8 bytes
// (little-endian) of the SHA-256 of the genome's bytes (docs/semantics.md §5.6).
func seedFor(data []byte, opts Options) uint64 {
	if opts.Seed != nil {
		return *opts.Seed
	}
	sum := sha256.Sum256(data)
	return binary.LittleEndian.Uint64(sum[:8])
}

// AreaIndex resolves an area named by canonical base64 ID, as written in the
// genome (legacy ID), or by its 8 printable bytes (c__lef__) (docs/semantics.md §6.1).
func (p *Plan) AreaIndex(name string) (int, bool) {
	if p.index != nil {
		i, ok := p.index[name]
		return i, ok
	}
	for i := range p.Areas {
		a := &p.Areas[i]
		if name == a.ID.String() || name != "" && name == a.LegacyID || a.ID.Printable() && name == string(a.ID[:]) {
			return i, true
		}
	}
	return 0, false
}

// Totals returns the number of areas, neurons and synapses of the plan.
func (p *Plan) Totals() (areas int, neurons, synapses int64) {
	for i := range p.Areas {
		neurons += int64(p.Areas[i].Neurons())
	}
	for _, c := range p.Connections {
		synapses += int64(c.Synapses())
	}
	return len(p.Areas), neurons, synapses
}

// builder carries one load through its phases.
type builder struct {
	g      *genome
	ps     *problems
	opts   Options
	lim    limits
	limit  *LimitError // the limit areas crossed
	plan   *Plan
	ids    map[string]ID // raw ID → canonical
	morphs map[string]*Morphology
	pairs  []pairRules // (source, destination) pairs with their rules, by (Src, Dst)
}

// pairRules is every rule from one source area to one destination area.
type pairRules struct {
	src, dst int
	rules    []rule
}

func (b *builder) warn(notes ...string) { b.plan.Warnings = append(b.plan.Warnings, notes...) }

func (b *builder) flushNotes() {
	b.warn(b.g.notes...)
	b.g.notes = nil
}

func (b *builder) precision() {
	if b.opts.Precision != nil {
		b.plan.Precision = *b.opts.Precision
		return
	}
	p, warning, err := quant.ParsePrecision(b.g.precision)
	if err != nil {
		b.ps.add(b.g.precisionPath, "%s", strings.TrimPrefix(err.Error(), "quant: "))
		return
	}
	b.plan.Precision = p
	if warning != "" {
		b.warn(warning)
	}
	b.flushNotes()
}

// areas resolves IDs (docs/semantics.md §5.4), converts parameters (docs/semantics.md §5.5, §2.6), adds missing
// core areas and assigns indices and neuron ids (docs/semantics.md §5.6).
func (b *builder) areas() {
	g := b.g
	simple := g.info.Format == FormatSimple
	raws := make([]string, 0, len(g.areas))
	byRaw := map[string]*rawArea{}
	for _, a := range g.areas {
		if prev, dup := byRaw[a.raw]; dup {
			b.ps.add(a.path, "cortical ID %q used twice (also at %s)", a.raw, prev.path)
			continue
		}
		byRaw[a.raw] = a
		raws = append(raws, a.raw)
	}
	res, idProblems := resolveIDs(raws, !simple)
	for _, p := range idProblems {
		b.ps.add(byRaw[p.raw].path, "%s", p.msg)
	}
	b.ids = res.ids
	b.warn(res.notes...)
	if simple && len(res.ids) > 0 {
		var list []string
		sorted := sortedByID(res.ids)
		for _, raw := range sorted {
			if id := res.ids[raw]; raw != string(id[:]) {
				list = append(list, raw+" -> "+id.String())
			}
		}
		if len(list) > 0 {
			b.warn("simple layout: area IDs padded with _ to 8 characters, their type not checked: " + strings.Join(list, ", "))
		}
	}
	owner := map[ID]string{}
	var drafts []areaDraft
	var pc percents
	for _, raw := range sortedByID(res.ids) {
		id := res.ids[raw]
		if prev, dup := owner[id]; dup {
			b.ps.add(byRaw[raw].path, "cortical IDs %q and %q both name area %s", prev, raw, id)
			continue
		}
		owner[id] = raw
		drafts = append(drafts, convertArea(b.ps, g, byRaw[raw], id, &pc))
	}
	b.flushNotes()
	for _, core := range coreIDs {
		if _, ok := owner[core]; !ok {
			drafts = append(drafts, coreTemplate(core))
			b.warn(fmt.Sprintf("core area %s (%s) added from template", string(core[:]), core))
		}
	}
	b.warn(pc.notes()...)
	sort.SliceStable(drafts, func(i, j int) bool { return areaLess(drafts[i].id, drafts[j].id) })
	maxNeurons := uint64(b.lim.neurons)
	var next uint64
	b.plan.Areas = make([]Area, len(drafts))
	b.plan.index = map[string]int{}
	for i, d := range drafts {
		n := uint64(d.dims[0]) * uint64(d.dims[1])
		n = mulSat(mulSat(n, uint64(d.dims[2])), uint64(d.perVoxel))
		if next+n > maxNeurons || next+n < next {
			path := "blueprint"
			if d.raw != nil {
				path = d.raw.path
			}
			name := d.id.String()
			if d.raw != nil {
				name = d.raw.raw
			}
			need := next + n
			if need < next || need > math.MaxInt64 {
				need = math.MaxInt64
			}
			b.limit = &LimitError{Limit: "neurons", Need: int64(need), Max: int64(maxNeurons), Raise: b.lim.raise.Neurons,
				What: fmt.Sprintf("area %s of %dx%dx%d x %d neurons", name, d.dims[0], d.dims[1], d.dims[2], d.perVoxel)}
			b.ps.add(path, "%s", b.limit.Error())
			return
		}
		a := &b.plan.Areas[i]
		a.Index = i
		a.Dims = d.dims
		a.PerVoxel = d.perVoxel
		a.FirstID = uint32(next)
		a.Params = d.params
		a.ID = d.id
		a.Name = d.name
		a.Kind = d.id.Kind()
		if d.raw != nil {
			a.LegacyID = d.raw.raw
			b.plan.index[a.LegacyID] = i
		}
		if simple && !isCoreID(d.id) {
			a.Kind = KindCustom
		}
		if a.ID.Printable() {
			b.plan.index[string(a.ID[:])] = i
		}
		b.plan.index[a.ID.String()] = i
		next += n
	}
}

// mulSat multiplies, saturating at the uint64 maximum.
func mulSat(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}

// areaLess orders areas: core areas first in index order, then by canonical
// ID bytes (docs/semantics.md §5.6).
func areaLess(a, b ID) bool {
	ca, cb := coreRank(a), coreRank(b)
	if ca != cb {
		return ca < cb
	}
	return bytes.Compare(a[:], b[:]) < 0
}

func coreRank(id ID) int {
	for i, c := range coreIDs {
		if id == c {
			return i
		}
	}
	return len(coreIDs)
}

// sortedByID returns the raw IDs ordered by their canonical ID bytes.
func sortedByID(ids map[string]ID) []string {
	out := make([]string, 0, len(ids))
	for raw := range ids {
		out = append(out, raw)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := ids[out[i]], ids[out[j]]
		if c := bytes.Compare(a[:], b[:]); c != 0 {
			return c < 0
		}
		return out[i] < out[j]
	})
	return out
}

// resolve finds an area by a name a dstmap or region uses.
func (b *builder) resolve(raw string) (int, bool) {
	if id, ok := b.ids[raw]; ok {
		return b.plan.AreaIndex(id.String())
	}
	return b.plan.AreaIndex(raw)
}

// connections parses every rule and groups them by (source, destination).
func (b *builder) connections() {
	g := b.g
	morphs := coreMorphologies()
	for id, m := range g.morphs {
		morphs[id] = m // a genome's own definition wins (docs/semantics.md §5.7)
	}
	b.morphs = morphs
	byPair := map[[2]int]*pairRules{}
	for _, a := range g.areas {
		src, ok := b.resolve(a.raw)
		if !ok {
			continue
		}
		for _, d := range a.dsts {
			dst, ok := b.resolve(d.raw)
			if !ok {
				b.ps.add(d.path, "destination %q is not an area of the blueprint", d.raw)
				continue
			}
			key := [2]int{src, dst}
			pr := byPair[key]
			if pr == nil {
				pr = &pairRules{src: src, dst: dst}
				byPair[key] = pr
			}
			for i, rv := range d.rules {
				rpath := pathIndex(d.path, i)
				var r rule
				var ok bool
				if d.simple {
					r, ok = parseSimpleRule(b.ps, g, rpath, rv)
				} else {
					r, ok = parseRule(b.ps, g, rpath, rv)
				}
				if !ok {
					continue
				}
				if !r.allToAll {
					if _, found := morphs[r.morph]; !found {
						b.ps.add(rpath, "area %s, rule %d: unknown morphology %q (not in neuron_morphologies nor a core morphology)", a.raw, i, r.morph)
						continue
					}
				}
				r.pos = i
				pr.rules = append(pr.rules, r)
			}
		}
	}
	for _, pr := range byPair {
		if len(pr.rules) > 0 {
			b.pairs = append(b.pairs, *pr)
		}
	}
	sort.Slice(b.pairs, func(i, j int) bool {
		if b.pairs[i].src != b.pairs[j].src {
			return b.pairs[i].src < b.pairs[j].src
		}
		return b.pairs[i].dst < b.pairs[j].dst
	})
	b.flushNotes()
}

// regions resolves brain regions to area indices (metadata only).
func (b *builder) regions() {
	for _, r := range b.g.regions {
		reg := Region{ID: r.id, Title: r.title, Parent: r.parent}
		for _, raw := range r.areas {
			if i, ok := b.resolve(raw); ok {
				reg.Areas = append(reg.Areas, i)
			} else {
				b.warn(fmt.Sprintf("%s: area %q is not in the blueprint; ignored", r.path, raw))
			}
		}
		sort.Ints(reg.Areas)
		b.plan.Regions = append(b.plan.Regions, reg)
	}
}
