// Package units writes byte counts for people. It is pure and imports only
// the standard library, so every package may use it.
package units

import (
	"fmt"
	"math"
)

// Bytes writes a byte count with a binary unit: 512 B, 64 KiB, 1.5 MiB,
// 7.0 GiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %ciB", v, "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}
