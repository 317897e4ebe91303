//go:build !unix

package brain

import "time"

func processCPU() time.Duration { return 0 }
