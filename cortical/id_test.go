package cortical

import (
	"strings"
	"testing"
)

// TestResolveIDs pins docs/semantics.md §5.4 for every legacy form.
func TestResolveIDs(t *testing.T) {
	raws := []string{
		"_power", "_death", "___fatig", // core aliases
		"iic400", "iic900", // segmented vision tile 4; N = 9 is no tile → MiscData
		"iv00_C", "iv00BL", "iv00TR", "iv00CC", // tiles 4 (clash with iic400, see below), 0, 8; CC → MiscData
		"omot00", "omot01", "ogaz00", "ogaz01", // rotary motor, MiscData, gaze 0 and 1
		"i__pro", "o__mot", // MiscData, counted separately for inputs and outputs
		"aW1pcwoAAAA=",             // a MiscData IPU with unit 0, written in base64: unit 0 is taken
		"CIHMot", "c__lef", "cabc", // kept as written, padded
		"c1234567", // 8 characters, as is
	}
	res, problems := resolveIDs(raws, true)
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := map[string]string{
		"_power":       "X19fcG93ZXI=",
		"_death":       "X19fZGVhdGg=",
		"___fatig":     "X19fZmF0aWc=",
		"iic400":       "aXN2aQkABAA=",
		"iv00_C":       "aXN2aQkABAA=",
		"iv00BL":       "aXN2aQkAAAA=",
		"iv00TR":       "aXN2aQkACAA=",
		"omot00":       "b21vdAUAAAA=",
		"ogaz00":       "b2dhegIAAAA=",
		"ogaz01":       "b2dhegEAAQA=",
		"aW1pcwoAAAA=": "aW1pcwoAAAA=",
		// Inputs in byte order: i__pro, iic900, iv00CC take units 1, 2, 3.
		"i__pro": "aW1pcwoAAAE=",
		"iic900": "aW1pcwoAAAI=",
		"iv00CC": "aW1pcwoAAAM=",
		// Outputs: o__mot, omot01 take units 0, 1.
		"o__mot":   "b21pcwoAAAA=",
		"omot01":   "b21pcwoAAAE=",
		"CIHMot":   "Q0lITW90X18=",
		"c__lef":   "Y19fbGVmX18=",
		"cabc":     "Y2FiY19fX18=",
		"c1234567": "YzEyMzQ1Njc=",
	}
	for raw, w := range want {
		if got := res.ids[raw].String(); got != w {
			t.Errorf("%s -> %s, want %s", raw, got, w)
		}
	}
	joined := strings.Join(res.notes, "\n")
	for _, note := range []string{
		"4-character ID cabc padded to 8 characters: cabc____ (Y2FiY19fX18=)",
		"1 upper-case legacy IDs kept as written and padded with _ (e.g. CIHMot -> Q0lITW90X18=): CIHMot",
		"legacy IO shorthand i__pro -> MiscData IPU group 1 (aW1pcwoAAAE=)",
		"legacy IO shorthand omot01 -> MiscData OPU group 1 (b21pcwoAAAE=)",
	} {
		if !strings.Contains(joined, note) {
			t.Errorf("missing note %q in\n%s", note, joined)
		}
	}
}

func TestResolveIDErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"c123456789":   "longer than 8 characters",
		"zebra_":       "type byte 'z'",
		"___abcde":     "none of ___death, ___power, ___fatig",
		"aXN2af8AAAA=": "not a valid IO configuration flag", // isvi with variant 0xff
		"c le f":       "printable ASCII",
		"":             "empty cortical ID",
	} {
		_, problems := resolveIDs([]string{raw}, true)
		if len(problems) != 1 || !strings.Contains(problems[0].msg, want) {
			t.Errorf("%q: problems %v, want one containing %q", raw, problems, want)
		}
	}
	// Without type checks (simple layout, docs/semantics.md §5.2) only the form is checked.
	if res, problems := resolveIDs([]string{"zebra_"}, false); len(problems) != 0 || res.ids["zebra_"].String() != "emVicmFfX18=" {
		t.Errorf("simple layout: %v %v", res.ids, problems)
	}
}

// TestAreaIndex resolves areas by canonical ID, as written and by their
// printable bytes (docs/semantics.md §6.1).
func TestAreaIndex(t *testing.T) {
	data := hierGenome(t, obj{"c__lef": area(1, 1, 1, 1, nil), "iic400": area(2, 2, 1, 1, nil)}, nil)
	p := mustLoad(t, data, Options{})
	for name, want := range map[string]int{
		"X19fZGVhdGg=": 0, "___power": 1, "___fatig": 2,
		"c__lef": 3, "c__lef__": 3, "Y19fbGVmX18=": 3,
		"iic400": 4, "aXN2aQkABAA=": 4,
	} {
		if got, ok := p.AreaIndex(name); !ok || got != want {
			t.Errorf("AreaIndex(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := p.AreaIndex("c__rig"); ok {
		t.Error("AreaIndex found an area that does not exist")
	}
	// A plan built by hand resolves the same way.
	q := &Plan{Areas: p.Areas}
	if got, ok := q.AreaIndex("iic400"); !ok || got != 4 {
		t.Errorf("AreaIndex without index = %d, %v", got, ok)
	}
}

func TestParseID(t *testing.T) {
	id, err := ParseID("X19fcG93ZXI=")
	if err != nil || id != PowerID {
		t.Errorf("ParseID = %v, %v", id, err)
	}
	for _, bad := range []string{"", "___power", "X19fcG93ZXI", "aGVsbG8="} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}
