package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{"0", []int{0}, ""},
		{"0,2", []int{0, 2}, ""},
		{"0-3", []int{0, 1, 2, 3}, ""},
		{"4, 0-1", []int{4, 0, 1}, ""},
		{"1,1", nil, "CPU 1 listed twice"},
		{"0-2,2", nil, "CPU 2 listed twice"},
		{"3-1", nil, `"3-1": want CPU numbers`},
		{"-1", nil, `"-1": want CPU numbers`},
		{"a", nil, `"a": want CPU numbers`},
		{"", nil, `"": want CPU numbers`},
		{"0-99999", nil, "want CPU numbers (0 to 4095)"},
	} {
		got, err := parseCPUList(c.in)
		switch {
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("parseCPUList(%q) error %v, want one containing %q", c.in, err, c.err)
		}
	}
}

// FuzzParseCPUList: any text is either refused or gives distinct CPUs in
// range, which print back to a list that parses to the same.
func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0", "0-3", "1,3-4", "4095", "2-1", ",", "0-4095"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseCPUList(s)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, c := range got {
			if c < 0 || c > 4095 || seen[c] {
				t.Fatalf("parseCPUList(%q) = %v", s, got)
			}
			seen[c] = true
		}
		l := cpuList(got)
		again, err := parseCPUList(l.String())
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("%q → %v → %q → %v, %v", s, got, l.String(), again, err)
		}
	})
}

func TestNodeCPUs(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	cpus := []int{0, 1, 2, 3}
	// Every node its own share, none shared (NumCPU decides the share).
	for n := 2; n <= 4; n++ {
		got := nodeCPUs(n, cpus)
		if got == nil {
			if len(cpus) >= n*nodeProcs(n) {
				t.Fatalf("%d nodes on %v: not pinned", n, cpus)
			}
			continue
		}
		seen := map[int]bool{}
		for k, set := range got {
			if len(set) != nodeProcs(n) {
				t.Fatalf("%d nodes: node %d gets %v, want %d CPUs", n, k, set, nodeProcs(n))
			}
			for _, c := range set {
				if seen[c] || !slices.Contains(cpus, c) {
					t.Fatalf("%d nodes: %v", n, got)
				}
				seen[c] = true
			}
		}
	}
	if got := nodeCPUs(1, cpus); got != nil {
		t.Fatalf("one node pinned: %v", got)
	}
	if got := nodeCPUs(3, []int{0, 1}); got != nil {
		t.Fatalf("3 nodes on 2 CPUs pinned: %v", got)
	}
	t.Setenv("GOMAXPROCS", "1")
	if got := nodeCPUs(2, cpus); got != nil {
		t.Fatalf("pinned with GOMAXPROCS set: %v", got)
	}
}
