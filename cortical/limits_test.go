package cortical

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/genomes"
)

func readLimits(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/limits/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// limitError returns the *LimitError behind a load error, failing the test
// when there is none.
func limitError(t *testing.T, err error) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("want a limit error, got %v", err)
	}
	var load *LoadError
	if !errors.As(err, &load) {
		t.Fatalf("want a *LoadError, got %T", err)
	}
	return le
}

// TestAttractivityZeroIsNoWork is finding 7: two 250x240 areas joined by an
// all-to-all pattern of attractivity 0 (3.6 G candidate pairs that keep
// nothing) grow at once: the rule does no work at all.
func TestAttractivityZeroIsNoWork(t *testing.T) {
	data := readLimits(t, "all_to_all_attractivity0.json")
	if len(data) > 600 {
		t.Fatalf("the genome of the finding is about 600 bytes, this one %d", len(data))
	}
	p := mustLoad(t, data, Options{})
	if len(p.Rules) != 1 || p.Rules[0].Synapses != 0 || p.Rules[0].Pairs != 0 {
		t.Fatalf("rules %+v", p.Rules)
	}
	if p.Estimate == nil || p.Estimate.Pairs != 0 || p.Estimate.Synapses != 0 || p.Estimate.Neurons != 120003 {
		t.Fatalf("estimate %+v", p.Estimate)
	}
}

// TestWorkBudgetRefuses is finding 7 with attractivity 1: every candidate
// draws, 3.6 G of them, beyond the default work budget: refused before
// growth, naming the rule and how to raise the budget.
func TestWorkBudgetRefuses(t *testing.T) {
	data := readLimits(t, "all_to_all_attractivity1.json")
	var progress int
	opts := Options{LimitNames: LimitNames{Pairs: "--max-pairs"}, WorkProgress: func(done, total int64) { progress++ }}
	_, err := Load(data, "g.json", opts)
	le := limitError(t, err)
	const want = 250 * 240 * 250 * 240
	if le.Limit != "pairs" || le.Max != DefaultMaxPairs || le.Need < want || le.Raise != "--max-pairs" {
		t.Errorf("limit error %+v", le)
	}
	for _, s := range []string{"g.json", "blueprint.c__src.cortical_mapping_dst.c__dst[0]", "rule c__src -> c__dst [0] (all)",
		"over the limit of 2147483648 candidate pairs", "raise it with --max-pairs"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
	if progress != 0 {
		t.Errorf("growth ran: %d progress reports", progress)
	}
	if le.Estimate == nil || len(le.Estimate.Rules) != 1 || le.Estimate.Rules[0].Pairs != le.Need {
		t.Errorf("estimate %+v", le.Estimate)
	}
	// With room for the work, the same genome passes the estimate; a
	// smaller synapse limit then refuses it on its synapses (about 1 % of
	// the candidates), before growing.
	_, err = Load(data, "g.json", Options{MaxPairs: 1 << 40, MaxSynapses: 1 << 20})
	if le := limitError(t, err); le.Limit != "synapses" || le.Need < want/100 || le.Need > want/100*11/10 {
		t.Errorf("synapse bound %+v", le)
	}
}

// TestMemoryLimitRefusesBeforeAllocating is finding 3: a 1000x1000x10
// sensory area fully connected to 50 neurons (500 M synapses) is refused
// under a memory limit below its need, having allocated next to nothing.
func TestMemoryLimitRefusesBeforeAllocating(t *testing.T) {
	data := readLimits(t, "sensor_500m.json")
	opts := Options{MaxMemory: 1 << 30, LimitNames: LimitNames{Memory: "--max-memory"}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Load(data, "big.json", opts)
	runtime.ReadMemStats(&after)
	le := limitError(t, err)
	if le.Limit != "memory" || le.Max != 1<<30 || le.Need < 500e6*(planSynapseBytes+engineSynapseBytes) {
		t.Errorf("limit error %+v", le)
	}
	for _, s := range []string{"rule iv00_C -> c__out [0] (all)", "over the limit of 1 GiB", "raise it with --max-memory"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
	if e := le.Estimate; e == nil || e.Synapses != 500e6 || e.Neurons != 10_000_053 || e.Rules[0].Synapses != 500e6 {
		t.Errorf("estimate %+v", le.Estimate)
	}
	// Growing would allocate 8 bytes per synapse before anything else.
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("refusing allocated %d bytes", got)
	}
	// The default limits refuse it too.
	if _, err := Load(data, "big.json", Options{}); limitError(t, err).Limit != "memory" {
		t.Errorf("default limits: %v", err)
	}
}

// TestLimitsByArea checks the refusals that name an area: too many neurons,
// and neurons whose state alone passes the memory limit.
func TestLimitsByArea(t *testing.T) {
	data := hierGenome(t, obj{"c__big": area(100, 100, 10, 1, nil)}, nil)
	_, err := Load(data, "g", Options{MaxNeurons: 50000, LimitNames: LimitNames{Neurons: "--max-neurons"}})
	if le := limitError(t, err); le.Limit != "neurons" || le.Need != 100003 || !strings.Contains(err.Error(), "area c__big of 100x100x10 x 1 neurons") ||
		!strings.Contains(err.Error(), "--max-neurons") {
		t.Errorf("neurons: %v", err)
	}
	_, err = Load(data, "g", Options{MaxMemory: 1 << 20})
	if le := limitError(t, err); le.Limit != "memory" || !strings.Contains(err.Error(), "blueprint.c__big: area c__big") ||
		!strings.Contains(err.Error(), "Options.MaxMemory") {
		t.Errorf("memory: %v", err)
	}
	if p, err := Load(data, "g", Options{MaxNeurons: 100003, MaxMemory: 100003 * engineNeuronBytes}); err != nil || p.Estimate.Bytes != 100003*engineNeuronBytes {
		t.Errorf("exactly at the limits: %v", err)
	}
}

// TestShippedGenomesWithinDefaults: every embedded genome passes the
// default limits, and its estimate bounds what growth does.
func TestShippedGenomesWithinDefaults(t *testing.T) {
	for _, name := range genomes.Names() {
		data, err := genomes.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Load(data, name, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkEstimate(t, name, p, true)
	}
}

// checkEstimate compares a plan's estimate with what growth did: the
// estimate is never below, and equal for rules whose count is exact.
func checkEstimate(t *testing.T, name string, p *Plan, wantExact bool) {
	t.Helper()
	e := p.Estimate
	_, neurons, synapses := p.Totals()
	if e == nil || len(e.Rules) != len(p.Rules) || e.Neurons != neurons || e.Synapses < synapses {
		t.Fatalf("%s: estimate %+v, plan %d neurons %d synapses %d rules", name, e, neurons, synapses, len(p.Rules))
	}
	var work int64
	for i, r := range p.Rules {
		er := e.Rules[i]
		work += r.Pairs
		if er.Src != r.Src || er.Dst != r.Dst || er.Rule != r.Rule || er.Morphology != r.Morphology {
			t.Fatalf("%s: rule %d estimated as %+v, grown as %+v", name, i, er, r)
		}
		if er.Synapses < int64(r.Synapses) || er.Pairs < r.Pairs {
			t.Errorf("%s: rule %d (%s) estimated %d synapses %d pairs, grew %d synapses in %d pairs", name, i, r.Morphology, er.Synapses, er.Pairs, r.Synapses, r.Pairs)
		}
		if wantExact && (er.Synapses != int64(r.Synapses) || er.Pairs != r.Pairs) {
			t.Errorf("%s: rule %d (%s) estimated %d synapses %d pairs, grew %d synapses in %d pairs", name, i, r.Morphology, er.Synapses, er.Pairs, r.Synapses, r.Pairs)
		}
	}
	if e.Pairs != sumPairs(e) || e.Pairs < work || e.Bytes < synapses*planSynapseBytes+neurons*engineNeuronBytes {
		t.Errorf("%s: totals %+v, work %d", name, e, work)
	}
}

func sumPairs(e *Estimate) int64 {
	var s int64
	for _, r := range e.Rules {
		s += r.Pairs
	}
	return s
}

// TestEstimateBoundsEveryMorphology grows every morphology between areas
// of random shapes and checks the estimate against the growth: exact for
// every generator but overlapping patterns and vectors after another rule.
func TestEstimateBoundsEveryMorphology(t *testing.T) {
	morphs := obj{
		"vec": obj{"type": "vectors", "parameters": obj{"vectors": [][3]int{{1, 0, 0}, {0, -1, 2}, {1, 0, 0}, {-3, 1, 0}}}},
		"pat": obj{"type": "patterns", "parameters": obj{"patterns": []any{
			[]any{[]any{"*", "?", 1}, []any{"!", "*", "?"}}, []any{[]any{2, "*", "*"}, []any{"?", 0, "!"}}}}},
		"pat1": obj{"type": "patterns", "parameters": obj{"patterns": []any{[]any{[]any{"?", "!", "*"}, []any{"*", 1, 3}}}}},
	}
	for _, f := range []string{"randomizer", "expander_x", "reducer_x", "lateral_pairs_x", "last_to_first"} {
		morphs[f] = obj{"type": "functions"}
	}
	morphs["block_to_block"] = obj{"type": "functions"}
	exact := []string{"vec", "pat1", "projector", "block_to_block", "randomizer", "expander_x", "reducer_x", "lateral_pairs_x", "last_to_first", "0-0-0_to_all", "all_to_0-0-0"}
	rng := rand.New(rand.NewPCG(1, 2))
	dim := func() int { return 1 + rng.IntN(9) }
	for trial := range 40 {
		morph := exact[trial%len(exact)]
		src := area(dim(), dim(), dim(), 1+rng.IntN(3), obj{"c__dst": []any{rule8(morph, 1)}})
		data := hierGenome(t, obj{"c__src": src, "c__dst": area(dim(), dim(), dim(), 1+rng.IntN(3), nil)}, morphs)
		checkEstimate(t, morph, mustLoad(t, data, Options{}), true)
	}
	for trial := range 20 {
		// Overlapping patterns, a vector rule after another rule, and a
		// rule with a synapse attractivity: bounds.
		rules := []any{rule8("pat", 1), rule8("vec", 1),
			obj{"morphology_id": "projector", "postSynapticCurrent_multiplier": 1, "plasticity_flag": false, "synapse_attractivity": 30}}
		src := area(dim(), dim(), dim(), 1+rng.IntN(3), obj{"c__dst": rules})
		data := hierGenome(t, obj{"c__src": src, "c__dst": area(dim(), dim(), dim(), 1+rng.IntN(3), nil)}, morphs)
		checkEstimate(t, "mixed", mustLoad(t, data, Options{}), false)
		_ = trial
	}
	// The simple layout's fully_connected: exact.
	checkEstimate(t, "example_int8_genome.json", mustLoad(t, []byte(readGenome(t, "example_int8_genome.json")), Options{}), true)
}

// TestLoadContextStops cancels growth from its first progress report, in
// the middle of a long rule: growth stops at its next checkpoint with an
// error that wraps the context's.
func TestLoadContextStops(t *testing.T) {
	data := hierGenome(t, obj{"c__src": area(60, 60, 1, 1, obj{"c__dst": []any{rule8("all", 1)}}),
		"c__dst": area(100, 10, 1, 1, nil)}, obj{"all": obj{"type": "patterns", "parameters": obj{"patterns": []any{
		[]any{[]any{"*", "*", "*"}, []any{"*", "*", "*"}}}}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reports, after int
	var firstDone, total int64
	opts := Options{WorkProgress: func(done, tot int64) {
		reports++
		if ctx.Err() != nil {
			after++
		}
		if reports == 1 {
			firstDone, total = done, tot
			cancel()
		}
	}}
	_, err := LoadContext(ctx, data, "g", opts)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "growth stopped in rule c__src -> c__dst [0] (all)") {
		t.Fatalf("error %v", err)
	}
	var load *LoadError
	if !errors.As(err, &load) {
		t.Errorf("error of type %T", err)
	}
	if reports != 1 || after != 0 || firstDone < checkEvery || firstDone > 2*checkEvery || total != 2*60*60*1000+60*60 {
		t.Errorf("%d reports (%d after cancel), first at %d of %d", reports, after, firstDone, total)
	}
	// Not cancelled, the same genome grows, reporting its work up to the
	// total.
	var last int64
	opts.WorkProgress = func(done, tot int64) {
		if done < last || tot != total {
			t.Errorf("progress %d of %d after %d", done, tot, last)
		}
		last = done
	}
	if _, err := LoadContext(context.Background(), data, "g", opts); err != nil || last != total {
		t.Errorf("grown: %v, last report %d of %d", err, last, total)
	}
}

// TestGrowthStopsAtItsLimits: when growth does more than its estimate
// (which the estimate is built never to allow), growth itself still stops
// at the synapse limit and at the work budget.
func TestGrowthStopsAtItsLimits(t *testing.T) {
	data := hierGenome(t, obj{"c__src": area(40, 40, 1, 1, obj{"c__dst": []any{rule8("0-0-0_to_all", 1), rule8("projector", 1)}}),
		"c__dst": area(40, 40, 1, 1, nil)}, nil)
	grow := func(l limits) error {
		root, err := decodeJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		ps := &problems{}
		b := &builder{g: parseGenome(ps, root), ps: ps, lim: Options{}.limits()}
		b.plan = &Plan{}
		b.areas()
		b.connections()
		est, bounds, le := b.estimate(b.lim)
		if ps.any() || le != nil {
			t.Fatal(ps.err("g"), le)
		}
		b.plan.Estimate = est
		b.lim = l
		if err := b.grow(context.Background(), bounds); err != nil {
			return b.fail("g", err)
		}
		return nil
	}
	l := Options{}.limits()
	l.synapses = 1700
	if err := grow(l); limitError(t, err).Limit != "synapses" || !strings.Contains(err.Error(), "rule c__src -> c__dst [1] (projector)") {
		t.Errorf("synapses: %v", err)
	}
	l = Options{}.limits()
	l.pairs = 100
	if err := grow(l); limitError(t, err).Limit != "pairs" || !strings.Contains(err.Error(), "rule c__src -> c__dst [0] (0-0-0_to_all)") {
		t.Errorf("pairs: %v", err)
	}
	if err := grow(Options{}.limits()); err != nil {
		t.Errorf("within limits: %v", err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 7 << 30: "7 GiB", 3 << 40: "3 TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
