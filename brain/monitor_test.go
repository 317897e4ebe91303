package brain

import "testing"

// The nodes' GODEBUG keeps the runtime's monitor awake, adding to what the
// environment sets and leaving a schedtrace of the user's alone; a period
// of 0 (or none) leaves the monitor to its deep sleep.
func TestMonitorAwake(t *testing.T) {
	for _, c := range []struct {
		godebug, with string
		awake         bool
	}{
		{"", "schedtrace=2147483647", false},
		{"madvdontneed=1", "madvdontneed=1,schedtrace=2147483647", false},
		{"schedtrace=1000", "schedtrace=1000", true},
		{"gctrace=1, schedtrace=0", "gctrace=1, schedtrace=0", false},
		{"schedtrace=5,schedtrace=0", "schedtrace=5,schedtrace=0", false},
		{"scheddetail=1", "scheddetail=1,schedtrace=2147483647", false},
		{"schedtrace=2147483647", "schedtrace=2147483647", true},
	} {
		if got := WithMonitorAwake(c.godebug); got != c.with {
			t.Errorf("WithMonitorAwake(%q) = %q, want %q", c.godebug, got, c.with)
		}
		if got := monitorAwake(c.godebug); got != c.awake {
			t.Errorf("monitorAwake(%q) = %v, want %v", c.godebug, got, c.awake)
		}
		if !monitorAwake(WithMonitorAwake(c.godebug)) && c.with != c.godebug {
			t.Errorf("WithMonitorAwake(%q) does not keep the monitor awake", c.godebug)
		}
	}
}
