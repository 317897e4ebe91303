package ckpt

import (
	"fmt"
	"math"
)

// Coordinator is the Part.Area of the coordinator's own state.
const Coordinator = -1

// Part is one piece of one blob: the bytes Data found at Offset in the blob
// of Area (an area index, or Coordinator) at Burst, a blob of Total bytes.
type Part struct {
	Burst  uint64
	Area   int
	Offset uint32
	Total  uint32
	Data   []byte
}

// Split cuts blob into parts of at most max bytes each, in order. It
// returns at least one part, also for an empty blob (one part with no
// data and Total 0). The parts' Data share blob's memory (capacity cut to
// the part), so blob must stay unchanged while they are in use. max must be
// at least 1 and blob at most math.MaxUint32 bytes long.
func Split(burst uint64, area int, blob []byte, max int) ([]Part, error) {
	if max < 1 {
		return nil, fmt.Errorf("ckpt: split burst %d area %d: part size %d, must be at least 1", burst, area, max)
	}
	if uint64(len(blob)) > math.MaxUint32 {
		return nil, fmt.Errorf("ckpt: split burst %d area %d: blob of %d bytes, a part's total holds at most %d", burst, area, len(blob), uint64(math.MaxUint32))
	}
	total := uint32(len(blob))
	n := (len(blob) + max - 1) / max
	if n == 0 {
		n = 1
	}
	parts := make([]Part, 0, n)
	for off := 0; off < len(blob) || len(parts) == 0; off += max {
		end := min(off+max, len(blob))
		parts = append(parts, Part{Burst: burst, Area: area, Offset: uint32(off), Total: total, Data: blob[off:end:end]})
	}
	return parts, nil
}
