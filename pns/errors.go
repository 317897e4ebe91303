package pns

import "errors"

// The kinds of rejected input (docs/semantics.md §6.3). Errors returned by this package and
// by pns/natsio wrap exactly one of them; callers classify with errors.Is.
var (
	// ErrMalformed: bytes that do not decode, or decode to an inconsistent
	// frame (arrays of different lengths, offsets out of range, ...).
	ErrMalformed = errors.New("pns: malformed frame")
	// ErrOversized: a frame larger than the configured [Limits].
	ErrOversized = errors.New("pns: oversized frame")
	// ErrUnknownArea: a frame for an area the brain does not have.
	ErrUnknownArea = errors.New("pns: unknown area")
)

// Kind classifies a rejected frame.
type Kind uint8

const (
	KindMalformed Kind = iota
	KindOversized
	KindUnknownArea
	NumKinds // the number of kinds, for arrays indexed by Kind
)

// String returns "malformed", "oversized" or "unknown-area".
func (k Kind) String() string {
	switch k {
	case KindMalformed:
		return "malformed"
	case KindOversized:
		return "oversized"
	case KindUnknownArea:
		return "unknown-area"
	}
	return "unknown-kind"
}

// KindOf returns the kind of a rejection error. ok is false when err wraps
// none of the sentinels.
func KindOf(err error) (k Kind, ok bool) {
	switch {
	case errors.Is(err, ErrOversized):
		return KindOversized, true
	case errors.Is(err, ErrUnknownArea):
		return KindUnknownArea, true
	case errors.Is(err, ErrMalformed):
		return KindMalformed, true
	}
	return 0, false
}

// Limits bound what a single frame may hold. The zero value means
// [DefaultLimits]; a field ≤ 0 takes its default.
type Limits struct {
	// MaxFrameBytes is the largest encoded frame accepted, in bytes.
	// Default 8 MiB (NATS advises against payloads above 8 MB; its default
	// max_payload is 1 MiB, so a default server rejects bigger frames first).
	MaxFrameBytes int
	// MaxPoints is the largest number of points in one frame, over all its
	// areas. Default 1 << 20 (a 640×480 RGB image is 921,600 points).
	MaxPoints int
	// MaxAreas is the largest number of areas in one FEAGI container.
	// Default 4096.
	MaxAreas int
}

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits {
	return Limits{MaxFrameBytes: 8 << 20, MaxPoints: 1 << 20, MaxAreas: 4096}
}

// OrDefaults returns l with every field ≤ 0 replaced by its default.
func (l Limits) OrDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = d.MaxFrameBytes
	}
	if l.MaxPoints <= 0 {
		l.MaxPoints = d.MaxPoints
	}
	if l.MaxAreas <= 0 {
		l.MaxAreas = d.MaxAreas
	}
	return l
}
