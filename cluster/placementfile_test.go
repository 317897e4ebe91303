package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

var fileAreas = []string{"i__inf", "o__mot", "c01"}

func resolveArea(id string) (int, error) {
	if i := slices.Index(fileAreas, id); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("no area %q in the genome", id)
}

func TestParsePlacementFileYAMLAndJSON(t *testing.T) {
	want := []string{"node-a", "node-b", "node-a"}
	for name, data := range map[string]string{
		"yaml": "# forced placement\ni__inf: node-a\no__mot: node-b\nc01: \"node-a\"\n",
		"json": `{"c01": "node-a", "i__inf": "node-a", "o__mot": "node-b"}`,
	} {
		got, err := ParsePlacementFile([]byte(data), resolveArea, len(fileAreas))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
	}
}

func TestParsePlacementFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, data, want string
	}{
		{"empty", "", "empty"},
		{"list", "- node-a\n", "line 1: want a map from area ID to node name, found a list"},
		{"unknown area", "i__inf: node-a\nzz: node-b\n", `line 2: area "zz": no area "zz" in the genome`},
		{"mapped twice", "i__inf: node-a\no__mot: node-b\nc01: node-a\ni__inf: node-b\n", `line 4: area "i__inf" is mapped again (first at line 1)`},
		{"null node", "i__inf: node-a\no__mot:\nc01: node-a\n", `line 2: area "o__mot" has no node name`},
		{"map node", "i__inf: {x: 1}\n", `line 1: area "i__inf": node name must be a plain value, found a map`},
		{"list key", "[a]: node-a\n", "line 1: area ID must be a plain value, found a list"},
		{"missing", "i__inf: node-a\n", "every area must be mapped; 2 of 3 are not (area indices 1, 2)"},
		{"syntax", "i__inf: [node-a\n", "placement file: yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParsePlacementFile([]byte(c.data), resolveArea, len(fileAreas))
			if err == nil {
				t.Fatalf("no error; got %v", got)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	if _, err := ParsePlacementFile([]byte("a: b"), func(string) (int, error) { return 5, nil }, 3); err == nil || !strings.Contains(err.Error(), "index 5, outside [0, 3)") {
		t.Fatalf("out-of-range index: %v", err)
	}
	if _, err := ParsePlacementFile([]byte("a: b"), nil, 3); err == nil {
		t.Fatal("nil resolve accepted")
	}
}

func FuzzParsePlacementFile(f *testing.F) {
	f.Add([]byte("i__inf: node-a\no__mot: node-b\nc01: node-a\n"))
	f.Add([]byte(`{"c01": "node-a", "i__inf": "node-a", "o__mot": "node-b"}`))
	f.Add([]byte("i__inf: &x node-a\no__mot: *x\nc01: node-a\n"))
	f.Add([]byte("<<: {i__inf: a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParsePlacementFile(data, resolveArea, len(fileAreas))
		if err != nil {
			return
		}
		if len(got) != len(fileAreas) {
			t.Fatalf("%d owners for %d areas", len(got), len(fileAreas))
		}
		for a, o := range got {
			if strings.TrimSpace(o) == "" {
				t.Fatalf("area %d has no owner", a)
			}
		}
	})
}
