package brain

import (
	"strconv"
	"strings"
)

// MonitorAwake is the GODEBUG setting that keeps the Go runtime's monitor
// thread (sysmon) from sleeping deeply whenever every P of the process is
// idle, which a cluster node's P is once or more per burst while it waits
// for another node: the next system call would wake it and restart its
// 20 µs naps (docs/cluster.md, "The Go runtime's monitor thread"). It is a
// scheduler trace with the longest period the runtime takes (2^31 − 1 ms,
// 24.8 days): its only other effects are one line of scheduler state on
// stderr per period of the host's uptime, and that state in the report of
// a fatal error.
const MonitorAwake = "schedtrace=2147483647"

// WithMonitorAwake returns the GODEBUG godebug with MonitorAwake added,
// unless it sets schedtrace already.
func WithMonitorAwake(godebug string) string {
	if _, set := schedtrace(godebug); set {
		return godebug
	}
	if strings.TrimSpace(godebug) == "" {
		return MonitorAwake
	}
	return godebug + "," + MonitorAwake
}

// monitorAwake reports whether the GODEBUG godebug keeps the monitor thread
// from its deep sleep (a schedtrace period above 0).
func monitorAwake(godebug string) bool {
	ms, _ := schedtrace(godebug)
	return ms > 0
}

// schedtrace is the last schedtrace setting of godebug (as the runtime
// reads it: the last one wins), and whether there is one.
func schedtrace(godebug string) (ms int, set bool) {
	for _, kv := range strings.Split(godebug, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "schedtrace="); ok {
			ms, _ = strconv.Atoi(v)
			set = true
		}
	}
	return ms, set
}
