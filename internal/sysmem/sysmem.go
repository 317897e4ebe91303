// Package sysmem tells how much memory this process may use: the machine's
// physical memory, or the memory limit of its control group (a container's
// limit) when that is lower. Linux only; elsewhere, or when nothing can be
// read, Total reports false.
package sysmem

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Files read by Total, in the order tried.
const (
	meminfo  = "/proc/meminfo"
	cgroupV2 = "/sys/fs/cgroup/memory.max"
	cgroupV1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// Total returns the bytes of memory available to this process: the
// smallest of the physical memory and the control group's limit.
func Total() (int64, bool) { return total(os.ReadFile) }

func total(read func(string) ([]byte, error)) (int64, bool) {
	var best int64
	ok := false
	take := func(v int64, found bool) {
		if found && v > 0 && (!ok || v < best) {
			best, ok = v, true
		}
	}
	if data, err := read(meminfo); err == nil {
		take(parseMeminfo(data))
	}
	for _, path := range []string{cgroupV2, cgroupV1} {
		if data, err := read(path); err == nil {
			take(parseLimit(data))
		}
	}
	return best, ok
}

// parseMeminfo reads the MemTotal line of /proc/meminfo ("MemTotal:
// 24683620 kB").
func parseMeminfo(data []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, found := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !found {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || v <= 0 {
			return 0, false
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			if v > 1<<53 {
				return 0, false
			}
			v *= 1024
		}
		return v, true
	}
	return 0, false
}

// parseLimit reads a control group memory limit: a byte count, or "max"
// (no limit). Version 1 writes no limit as a huge number, which Total's
// minimum ignores.
func parseLimit(data []byte) (int64, bool) {
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}
