package main

import (
	"fmt"
	"strconv"
	"strings"
)

// cpuList is --cpus: CPU numbers as "0,2" or "0-3" (mixed: "0-1,4").
type cpuList []int

func (l *cpuList) String() string {
	parts := make([]string, len(*l))
	for i, c := range *l {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}

func (l *cpuList) Set(s string) error {
	out, err := parseCPUList(s)
	if err != nil {
		return err
	}
	*l = out
	return nil
}

// parseCPUList reads a list of CPU numbers and ranges, in any order,
// without repeats.
func parseCPUList(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b > 4095 {
			return nil, fmt.Errorf("%q: want CPU numbers (0 to 4095) or ranges like 0-3, comma-separated", part)
		}
		for c := a; c <= b; c++ {
			if seen[c] {
				return nil, fmt.Errorf("CPU %d listed twice", c)
			}
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}
