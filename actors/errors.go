package actors

import (
	"errors"
	"fmt"

	"github.com/spikemesh/spikemesh/npu"
)

var (
	// ErrMissingBatch is wrapped, with ErrStalled, by a stall that waits
	// for spike batches that never came; the error names each batch's
	// source area and node.
	ErrMissingBatch = errors.New("actors: missing spike batch")
	// ErrDuplicateBatch and ErrUnexpectedBatch are no longer returned: a
	// duplicate batch, or one outside the lock-step window or from an
	// area with no connection to the receiver, is ignored and counted
	// (Runtime.Ignored). Kept for programs that test for them.
	ErrDuplicateBatch = errors.New("actors: duplicate spike batch")
	// ErrUnexpectedBatch: see ErrDuplicateBatch.
	ErrUnexpectedBatch = errors.New("actors: unexpected spike batch")
	// ErrDropped reports NATS messages dropped by a slow consumer.
	ErrDropped = errors.New("actors: NATS messages dropped")
	// ErrStalled reports a burst that did not complete in time.
	ErrStalled = errors.New("actors: burst stalled")
)

// AreaError is a failure inside one area in one burst. Run returns it when
// an area fails; its message names both.
type AreaError struct {
	Area  int    // area index
	ID    string // canonical base64 ID
	Burst npu.Burst
	Err   error
}

func (e *AreaError) Error() string {
	return fmt.Sprintf("area %d (%s), burst %d: %v", e.Area, e.ID, e.Burst, e.Err)
}

func (e *AreaError) Unwrap() error { return e.Err }
