package sysmem

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

func files(m map[string]string) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if s, ok := m[path]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
}

func TestTotal(t *testing.T) {
	const info = "MemFree:        23474816 kB\nMemTotal:       24683620 kB\n"
	for name, c := range map[string]struct {
		files map[string]string
		want  int64
		ok    bool
	}{
		"meminfo only":       {map[string]string{meminfo: info}, 24683620 * 1024, true},
		"cgroup v2 lower":    {map[string]string{meminfo: info, cgroupV2: "2147483648\n"}, 2 << 30, true},
		"cgroup v2 no limit": {map[string]string{meminfo: info, cgroupV2: "max\n"}, 24683620 * 1024, true},
		"cgroup v1 no limit": {map[string]string{meminfo: info, cgroupV1: "9223372036854771712\n"}, 24683620 * 1024, true},
		"cgroup v1 lower":    {map[string]string{meminfo: info, cgroupV1: "1073741824"}, 1 << 30, true},
		"cgroup only":        {map[string]string{cgroupV2: "1073741824"}, 1 << 30, true},
		"nothing":            {map[string]string{}, 0, false},
		"garbage":            {map[string]string{meminfo: "MemTotal: lots\n", cgroupV2: "-5"}, 0, false},
	} {
		got, ok := total(files(c.files))
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d, %v; want %d, %v", name, got, ok, c.want, c.ok)
		}
	}
}

// TestTotalOnThisMachine reads the real files where they exist.
func TestTotalOnThisMachine(t *testing.T) {
	data, err := os.ReadFile(meminfo)
	if errors.Is(err, fs.ErrNotExist) {
		if _, ok := Total(); ok {
			t.Error("a total without /proc/meminfo nor a control group")
		}
		return
	}
	phys, ok := parseMeminfo(data)
	got, ok2 := Total()
	if !ok || !ok2 || got <= 0 || got > phys {
		t.Errorf("Total %d (%v), physical %d (%v)", got, ok2, phys, ok)
	}
}
