package cortical

import (
	"strings"
	"testing"
)

// TestFindArea: FindArea resolves every way a user names an area and says
// what is wrong otherwise.
func TestFindArea(t *testing.T) {
	named := func(a obj, name string) obj { a["cortical_name"] = name; return a }
	data := hierGenome(t, obj{
		"c__lef": named(area(1, 1, 1, 1, nil), "Left eye"),
		"iic400": named(area(2, 2, 1, 1, nil), "Vision"),
		"c__aaa": named(area(1, 1, 1, 1, nil), "twin"),
		"c__bbb": named(area(1, 1, 1, 1, nil), "twin"),
	}, nil)
	p := mustLoad(t, data, Options{})
	left, _ := p.AreaIndex("c__lef")
	vision, _ := p.AreaIndex("iic400")
	for name, want := range map[string]int{
		"c__lef": left, "c__lef__": left, "Y19fbGVmX18=": left, "Y19fbGVmX18": left, "Left eye": left,
		"iic400": vision, "aXN2aQkABAA=": vision, "aXN2aQkABAA": vision, "Vision": vision,
	} {
		if got, err := p.FindArea(name); err != nil || got != want {
			t.Errorf("FindArea(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	for name, want := range map[string]string{
		"left eye": `did you mean "Left eye"?`,
		"twin":     "2 areas are named \"twin\" (c__aaa, c__bbb)",
		"c__rig":   `no area "c__rig" in the genome`,
		"":         `no area ""`,
	} {
		if _, err := p.FindArea(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FindArea(%q): %v; want an error containing %q", name, err, want)
		}
	}
}
