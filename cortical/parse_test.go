package cortical

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// flatGenome builds a flat genome: genes maps area ID → gene (with its type
// letter, e.g. "fire_t-f") → value.
func flatGenome(t testing.TB, version string, genes map[string]obj, extra obj) []byte {
	t.Helper()
	bp := obj{}
	for id, gs := range genes {
		for gene, v := range gs {
			bp["_____10c-"+id+"-cx-"+gene] = v
		}
	}
	g := obj{"version": version, "blueprint": bp}
	for k, v := range extra {
		g[k] = v
	}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestFlatGenes(t *testing.T) {
	data := flatGenome(t, "2.0", map[string]obj{
		"c__one": {
			"__name-t": "one", "___bbx-i": 2, "___bby-i": 3.0, "___bbz-i": 1, "_n_cnt-i": 2,
			"fire_t-i": 3, "fire_t-f": 2.5, // the canonical letter wins (docs/semantics.md §5.2)
			"excite-i": 50,        // matched whatever its letter; 50 % → 0.5
			"leak_c-f": 10,        // 10 % → f32(f32(10)/100)
			"refrac-i": 3.0,       // integral float accepted
			"c_fr_c-i": 100000,    // u16 saturates
			"snooze-i": 4,         // snooze-i is read (docs/semantics.md §5.3)
			"ftincx-f": 1e-8,      // |v| ≤ f32 epsilon counts as 0 (docs/semantics.md §3.3)
			"ftincy-f": 0.25,      //
			"fthlim-f": 9,         //
			"pstcr_-f": 300,       // PSP clamps to 255
			"mp_acc-b": true,      //
			"unknwn-f": "ignored", // unknown genes are ignored
		},
		// Exactly 1 is a fraction (docs/semantics.md §5.5); u16 fields saturate even far beyond 2^53.
		"c__two": {"snooze-f": 6, "leak_c-f": 1, "excite-f": 1, "refrac-i": 1e20},
	}, nil)
	p := mustLoad(t, data, Options{})
	i, _ := p.AreaIndex("c__one")
	one := p.Areas[i]
	pr := one.Params
	if one.Name != "one" || one.Dims != [3]uint32{2, 3, 1} || one.PerVoxel != 2 || one.Neurons() != 12 {
		t.Errorf("c__one: name %q dims %v n %d", one.Name, one.Dims, one.PerVoxel)
	}
	if pr.Threshold != 2.5 || pr.Excitability != 0.5 || pr.LeakPerBurst != float32(10)/100 ||
		pr.RefractoryBursts != 3 || pr.ConsecutiveLimit != 65535 || pr.SnoozeBursts != 4 ||
		pr.ThresholdIncrement != [3]float32{0, 0.25, 0} || pr.ThresholdLimit != 9 || pr.PSP != 255 ||
		!pr.ChargeAccumulation || pr.PSPUniform || pr.MPDrivenPSP {
		t.Errorf("c__one params %+v", pr)
	}
	j, _ := p.AreaIndex("c__two")
	two := p.Areas[j]
	if two.Name != "c__two" || two.Params.SnoozeBursts != 6 || two.Params.RefractoryBursts != 65535 || two.Params.LeakPerBurst != 1 || two.Params.Excitability != 1 ||
		two.Params.Threshold != 1 || two.Params.PSP != 1 {
		t.Errorf("c__two: name %q params %+v", two.Name, two.Params)
	}
	for _, w := range []string{
		"leak_coefficient 10.0 read as a percentage -> 0.10000000149011612 in 1 area(s)",
		"neuron_excitability 50.0 read as a percentage -> 0.5 in 1 area(s)",
	} {
		if !hasWarning(p, w) {
			t.Errorf("missing warning %q in %q", w, p.Warnings)
		}
	}
}

// TestFlat30 loads a flat 3.0 genome as FEAGI writes it: base64 IDs, object
// rules, morphologies, physiology and brain regions.
func TestFlat30(t *testing.T) {
	src, dst := "Y19fc3JjX18=", "Y19fZHN0X18=" // c__src__, c__dst__
	rule := obj{"morphology_id": "m", "morphology_scalar": []int{1, 1, 1}, "postSynapticCurrent_multiplier": 2.0,
		"plasticity_flag": true, "plasticity_constant": 2, "ltp_multiplier": 3, "ltd_multiplier": 4,
		"plasticity_window": 7}
	data := flatGenome(t, "3.0", map[string]obj{
		src: {"__name-t": "src", "___bbx-i": 4, "dstmap-d": obj{dst: []any{rule}}},
		dst: {"__name-t": "dst", "___bbx-i": 4},
	}, obj{
		"neuron_morphologies": obj{"m": obj{"type": "vectors", "parameters": obj{"vectors": [][]int{{1, 0, 0}}}}},
		"physiology":          obj{"simulation_timestep": 0.05, "quantization_precision": "int8"},
		"brain_regions":       obj{"root": obj{"title": "Root", "areas": []string{src, dst}}},
	})
	p := mustLoad(t, data, Options{})
	if p.Genome.Format != FormatFlat || p.Genome.BurstRateHz != 20 || p.Precision != quant.INT8 {
		t.Errorf("genome %+v precision %v", p.Genome, p.Precision)
	}
	c := connection(t, p, src, dst)
	if got := pairs(c); !equalStrings(got, []string{"0>1", "1>2", "2>3"}) || c.Weight[0] != 2 {
		t.Errorf("synapses %v weight %d", got, c.Weight[0])
	}
	if c.Plasticity == nil || *c.Plasticity != (npuPlasticity{Window: 7, LTP: 6, LTD: 8}) {
		t.Errorf("plasticity %+v", c.Plasticity)
	}
	if len(p.Regions) != 1 || p.Regions[0].Title != "Root" || len(p.Regions[0].Areas) != 2 {
		t.Errorf("regions %+v", p.Regions)
	}
}

// TestHierarchical loads a hierarchical 2.1 genome with legacy IDs: its
// neuron_excitability default is 100 (docs/semantics.md §5.2), reported as percent.
func TestHierarchical(t *testing.T) {
	a := area(2, 1, 1, 1, obj{"omot00": []any{rule8("projector", 1)}})
	a["cortical_name"] = "left"
	a["firing_threshold"] = 0.5
	a["consecutive_fire_cnt_max"] = 3
	a["snooze_length"] = 2
	a["mp_driven_psp"] = true
	m := area(4, 1, 1, 1, nil)
	m["neuron_excitability"] = 0.25
	p := mustLoad(t, hierGenome(t, obj{"c__lef": a, "omot00": m, "_power": area(1, 1, 1, 1, nil)}, nil), Options{})
	if p.Genome.Format != FormatHierarchical || len(p.Areas) != 5 {
		t.Fatalf("format %s, %d areas", p.Genome.Format, len(p.Areas))
	}
	i, _ := p.AreaIndex("c__lef")
	pr := p.Areas[i].Params
	if p.Areas[i].Name != "left" || pr.Threshold != 0.5 || pr.ConsecutiveLimit != 3 || pr.SnoozeBursts != 2 ||
		!pr.MPDrivenPSP || pr.Excitability != 1 {
		t.Errorf("c__lef: %q %+v", p.Areas[i].Name, pr)
	}
	j, _ := p.AreaIndex("omot00")
	if p.Areas[j].Params.Excitability != 0.25 || p.Areas[j].Kind != KindOPU {
		t.Errorf("omot00: %+v kind %v", p.Areas[j].Params, p.Areas[j].Kind)
	}
	if got := pairs(connection(t, p, "c__lef", "omot00")); !equalStrings(got, []string{"0>0", "0>1", "1>2", "1>3"}) {
		t.Errorf("projector 2->4: %v", got)
	}
	// _power (given) and c__lef take the default 100; omot00 sets 0.25.
	if !hasWarning(p, "neuron_excitability 100.0 read as a percentage -> 1.0 in 2 area(s)") {
		t.Errorf("warnings %q", p.Warnings)
	}
}

func TestPrecision(t *testing.T) {
	withPrecision := func(s string) []byte {
		return []byte(`{"version":"2.1","physiology":{"quantization_precision":"` + s + `"},"blueprint":{}}`)
	}
	p := mustLoad(t, withPrecision("fp16"), Options{})
	if p.Precision != quant.FP32 || !hasWarning(p, "runs as fp32") {
		t.Errorf("fp16: %v %q", p.Precision, p.Warnings)
	}
	if p := mustLoad(t, withPrecision("i8"), Options{}); p.Precision != quant.INT8 {
		t.Errorf("i8: %v", p.Precision)
	}
	fp32 := quant.FP32
	if p := mustLoad(t, withPrecision("int8"), Options{Precision: &fp32}); p.Precision != quant.FP32 {
		t.Errorf("override: %v", p.Precision)
	}
	_, err := Load(withPrecision("fp64"), "g", Options{})
	if err == nil || !strings.Contains(err.Error(), `physiology.quantization_precision: unknown precision "fp64"`) {
		t.Errorf("fp64: %v", err)
	}
	// No physiology: fp32, 40 Hz, and the three core areas only.
	p = mustLoad(t, []byte(`{"version":"2.0","blueprint":{}}`), Options{})
	if p.Precision != quant.FP32 || p.Genome.BurstRateHz != 40 || len(p.Areas) != 3 {
		t.Errorf("empty genome: %v %v %d areas", p.Precision, p.Genome.BurstRateHz, len(p.Areas))
	}
}

// TestCoreAreas checks docs/semantics.md §2.6: added core areas take the template, a given
// core area keeps its parameters but has exactly one neuron.
func TestCoreAreas(t *testing.T) {
	pw := area(3, 1, 1, 2, nil)
	pw["firing_threshold"] = 2
	p := mustLoad(t, hierGenome(t, obj{"___pwr": pw}, nil), Options{})
	for i, want := range []ID{DeathID, PowerID, FatigueID} {
		a := p.Areas[i]
		if a.ID != want || a.Index != i || a.FirstID != uint32(i) || a.Neurons() != 1 || a.Kind != KindCore {
			t.Errorf("core area %d: %+v", i, a)
		}
	}
	if p.Areas[1].Params.Threshold != 2 || p.Areas[1].LegacyID != "___pwr" || !hasWarning(p, "core area has exactly one neuron") {
		t.Errorf("given power area %+v, warnings %q", p.Areas[1], p.Warnings)
	}
	tmpl := p.Areas[0].Params
	if tmpl.Threshold != float32(0.1) || tmpl.PSP != 255 || !tmpl.PSPUniform || tmpl.Excitability != 1 ||
		tmpl.LeakPerBurst != 0 || tmpl.RefractoryBursts != 0 || tmpl.ChargeAccumulation || tmpl.ThresholdLimit != 0 {
		t.Errorf("template %+v", tmpl)
	}
}

// TestBadGenomes: every malformed input gives an error naming the JSON path
// and what was expected, and no plan (docs/semantics.md §5.8).
func TestBadGenomes(t *testing.T) {
	essential := readGenome(t, "essential_genome.json")
	replace := func(old, new string) []byte {
		if !strings.Contains(essential, old) {
			t.Fatalf("essential genome lacks %q", old)
		}
		return []byte(strings.Replace(essential, old, new, 1))
	}
	leaf := func(a obj) []byte { return hierGenome(t, obj{"c__abc": a, "c__dst": area(1, 1, 1, 1, nil)}, nil) }
	with := func(k string, v any) []byte {
		a := area(2, 1, 1, 1, nil)
		a[k] = v
		return leaf(a)
	}
	withRule := func(r any) []byte { return leaf(area(1, 1, 1, 1, obj{"c__dst": []any{r}})) }
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"docs/semantics.md §5.8 example", replace(`"_____10c-c__lef-nx-fire_t-f": 0.1`, `"_____10c-c__lef-nx-fire_t-f": "abc"`),
			[]string{`blueprint.c__lef.firing_threshold: want a number, got "abc"`}},
		{"several problems together", []byte(strings.Replace(string(replace(`"_____10c-c__lef-nx-fire_t-f": 0.1`, `"_____10c-c__lef-nx-fire_t-f": "abc"`)),
			`"_____10c-c__rig-cx-___bbx-i": 1`, `"_____10c-c__rig-cx-___bbx-i": 0`, 1)),
			[]string{"2 problems", `blueprint.c__lef.firing_threshold: want a number, got "abc"`,
				"blueprint.c__rig.block_boundaries[0]: impossible dimension 0"}},
		{"unknown morphology", replace("\"cLWM4_\": [\n        [\n          \"projector\"", "\"cLWM4_\": [\n        [\n          \"projektor\""),
			[]string{`area c__bac, rule 0: unknown morphology "projektor"`}},
		{"destination not in blueprint", replace("\"omot00\": [\n        [\n          \"0_0_0-7_0_0\"", "\"omot99\": [\n        [\n          \"0_0_0-7_0_0\""),
			[]string{`blueprint.cLWM4_.cortical_mapping_dst.omot99: destination "omot99" is not an area of the blueprint`}},
		{"6-element rule", withRule([]any{"projector", 1, 1, false, 1, 1}),
			[]string{"blueprint.c__abc.cortical_mapping_dst.c__dst[0]: want a rule of 7 or 8 elements", "got 6"}},
		{"9-element rule", withRule([]any{"projector", 1, 1, false, 1, 1, 1, 3, 4}), []string{"got 9"}},
		{"invalid JSON", []byte("{\"version\": \"2.1\",\n \"blueprint\": {,}}"), []string{"invalid JSON at line 2, column"}},
		{"trailing data", []byte(`{"version":"2.1","blueprint":{}} x`), []string{"data after the top-level value"}},
		{"not an object", []byte(`[1,2]`), []string{"want a genome object at the top level, got an array of 2 elements"}},
		{"missing version", []byte(`{"blueprint":{}}`), []string{"version: missing"}},
		{"old version", []byte(`{"version":"1.0","blueprint":{}}`), []string{`version: unsupported version "1.0"`}},
		{"missing blueprint", []byte(`{"version":"2.1"}`), []string{"blueprint: missing"}},
		{"negative dimension", with("block_boundaries", []int{2, -1, 1}), []string{"blueprint.c__abc.block_boundaries[1]: impossible dimension -1"}},
		{"fractional dimension", with("block_boundaries", []float64{2, 1.5, 1}), []string{"block_boundaries[1]: want an integer, got 1.5"}},
		{"dimensions not a triple", with("block_boundaries", []int{2, 1}), []string{"block_boundaries: want dimensions [x, y, z]"}},
		{"excitability above 100", with("neuron_excitability", 101), []string{"neuron_excitability: want a fraction in [0, 1] or a percentage in (1, 100], got 101"}},
		{"negative leak", with("leak_coefficient", -0.5), []string{"leak_coefficient: want a fraction"}},
		{"non-integral refractory", with("refractory_period", 1.5), []string{"refractory_period: want an integer, got 1.5"}},
		{"negative snooze", with("snooze_length", -2), []string{"snooze_length: want a non-negative integer, got -2"}},
		{"boolean as string", with("mp_charge_accumulation", "yes"), []string{`mp_charge_accumulation: want true or false, got "yes"`}},
		{"threshold beyond float32", with("firing_threshold", 1e39), []string{"firing_threshold: want a number within float32 range"}},
		{"number overflow", []byte(`{"version":"2.1","blueprint":{"c__abc":{"firing_threshold":1e999}}}`), []string{"want a finite number, got 1e999"}},
		{"too many neurons", with("block_boundaries", []int{100000, 100000, 1}), []string{"over the limit of 4294967295 neurons"}},
		{"two IDs become one", hierGenome(t, obj{"_power": area(1, 1, 1, 1, nil), "___pwr": area(1, 1, 1, 1, nil)}, nil),
			[]string{`cortical IDs "___pwr" and "_power" both name area X19fcG93ZXI=`}},
		{"bad type byte", hierGenome(t, obj{"x__abc": area(1, 1, 1, 1, nil)}, nil), []string{"blueprint.x__abc: cortical ID eF9fYWJjX18=: type byte 'x'"}},
		{"morphology type", hierGenome(t, obj{}, obj{"m": obj{"type": "fancy"}}), []string{`neuron_morphologies.m.type: want vectors, patterns, functions or composite, got "fancy"`}},
		{"negative pattern", hierGenome(t, obj{}, obj{"m": obj{"type": "patterns", "parameters": obj{"patterns": []any{[]any{[]any{0, 0, -1}, []any{0, 0, 0}}}}}}),
			[]string{"neuron_morphologies.m.parameters.patterns[0][0][2]: want a coordinate in [0, 2^32], got -1"}},
		{"bad vector", hierGenome(t, obj{}, obj{"m": obj{"type": "vectors", "parameters": obj{"vectors": []any{[]any{0, "a", 0}}}}}),
			[]string{`neuron_morphologies.m.parameters.vectors[0][1]: want a number, got "a"`}},
		{"plastic window 0", withRule([]any{"projector", 1, 1, true, 1, 1, 1, 0}), []string{"[7]: plastic rule with a window of 0 bursts"}},
		{"plastic rule missing keys", withRule(obj{"morphology_id": "projector", "plasticity_flag": true}),
			[]string{"plasticity_constant: plastic rule without plasticity_constant"}},
		{"rule not a list", leaf(area(1, 1, 1, 1, obj{"c__dst": "projector"})), []string{"cortical_mapping_dst.c__dst: want an array"}},
		{"flat key", []byte(`{"version":"2.0","blueprint":{"_____10c-c__abc-cx-fire_t-f":1,"_____10c-oops":2}}`),
			[]string{"blueprint._____10c-oops: not a flat gene key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load(tc.data, "g.json", Options{})
			if p != nil || err == nil {
				t.Fatalf("plan %v, error %v; want no plan and an error", p != nil, err)
			}
			if _, ok := err.(*LoadError); !ok {
				t.Errorf("error type %T, want *LoadError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	if _, err := LoadFile("testdata/does-not-exist.json", Options{}); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("missing file: %v", err)
	}
	p, err := LoadFile("../genomes/barebones_genome.json", Options{})
	if err != nil || len(p.Areas) != 3 {
		t.Errorf("barebones: %v", err)
	}
}

// TestLimits checks that MaxNeurons and MaxSynapses stop growth before the
// memory is spent.
func TestLimits(t *testing.T) {
	data := hierGenome(t, obj{"c__src": area(10, 10, 1, 1, obj{"c__dst": []any{rule8("0-0-0_to_all", 1), rule8("projector", 1)}}),
		"c__dst": area(10, 10, 1, 1, nil)}, nil)
	if _, err := Load(data, "g", Options{MaxNeurons: 150}); err == nil || !strings.Contains(err.Error(), "over the limit of 150 neurons") {
		t.Errorf("MaxNeurons: %v", err)
	}
	if _, err := Load(data, "g", Options{MaxSynapses: 150}); err == nil || !strings.Contains(err.Error(), "over the limit of 150 synapses") {
		t.Errorf("MaxSynapses: %v", err)
	}
	if p, err := Load(data, "g", Options{MaxSynapses: 200}); err != nil || p.Rules[0].Synapses+p.Rules[1].Synapses != 200 {
		t.Errorf("exactly at the limit: %v", err)
	}
	_ = math.MaxUint32
}

// TestSimpleLayout checks docs/semantics.md §5.2 on the example genome and on an area that
// overrides its parameter set.
func TestSimpleLayout(t *testing.T) {
	p := mustLoad(t, []byte(readGenome(t, "example_fp32_genome.json")), Options{})
	i, ok := p.AreaIndex("motor_1")
	if !ok {
		t.Fatal("motor_1 not found")
	}
	m := p.Areas[i]
	pr := m.Params
	// From morphologies.lif_standard.parameters: threshold 50 (the
	// starting value), limit 100, leak 0.97, refractory 2, consecutive
	// limit 1 000 000 saturated, accumulation on, PSP 255; excitability
	// takes the hierarchical default 100 → 1.0.
	if pr.Threshold != 50 || pr.ThresholdLimit != 100 || pr.LeakPerBurst != float32(0.97) || pr.RefractoryBursts != 2 ||
		pr.ConsecutiveLimit != 65535 || !pr.ChargeAccumulation || pr.PSP != 255 || pr.Excitability != 1 || m.Kind != KindCustom {
		t.Errorf("motor_1 %+v kind %v", pr, m.Kind)
	}
	c := connection(t, p, "motor_1", "sens_1")
	if c.Synapses() != 5000 || c.Weight[0] != 50 || c.Plasticity != nil || c.OutDegree[0] != 100 {
		t.Errorf("fully_connected: %d synapses, weight %d", c.Synapses(), c.Weight[0])
	}

	g := obj{"version": "2.0", "blueprint": obj{"cortical_areas": obj{
		"a": obj{"cortical_id": "aa", "dimensions": obj{"x": 2, "y": 1, "z": 1}, "morphology_id": "p",
			"neuron_excitability": 0.5, "cortical_mapping_dstn": obj{"bb": []any{
				obj{"cortical_mapping_type": "projector", "postsynaptic_current": -3}}}},
		"b": obj{"cortical_id": "bb", "dimensions": obj{"x": 4, "y": 1, "z": 1}, "morphology_id": "p"},
	}}, "morphologies": obj{"p": obj{"parameters": obj{"firing_threshold_starting_value": 7, "neuron_excitability": 40}}}}
	data, _ := json.Marshal(g)
	p = mustLoad(t, data, Options{})
	a, _ := p.AreaIndex("aa")
	b, _ := p.AreaIndex("bb")
	if p.Areas[a].Params.Excitability != 0.5 || p.Areas[b].Params.Excitability != 0.4 || p.Areas[a].Params.Threshold != 7 {
		t.Errorf("override: %+v / %+v", p.Areas[a].Params, p.Areas[b].Params)
	}
	c = connection(t, p, "aa", "bb")
	if got := pairs(c); !equalStrings(got, []string{"0>0", "0>1", "1>2", "1>3"}) || !c.Inhibitory[0] || c.Weight[0] != 3 {
		t.Errorf("simple projector mapping: %v", got)
	}
	// 40 % is written once, in the parameter set both areas use.
	if !hasWarning(p, "neuron_excitability 40.0 read as a percentage -> 0.4000000059604645 in 1 area(s)") {
		t.Errorf("warnings %q", p.Warnings)
	}
}
