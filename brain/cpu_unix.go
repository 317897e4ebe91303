//go:build unix

package brain

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, user and system (0
// where the system does not say).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
