package ckpt

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Defaults of Limits' zero fields.
const (
	DefaultMaxBlob    = 1 << 30
	DefaultKeep       = 2
	DefaultMaxPending = 4
	DefaultMaxSpans   = 4096
)

// Limits bounds a Store. A zero field takes its default.
type Limits struct {
	// MaxBlob is the most bytes of one blob (default 1 GiB, at most
	// math.MaxUint32).
	MaxBlob int
	// Keep is how many complete checkpoints are kept, the newest ones
	// (default 2).
	Keep int
	// MaxPending is how many incomplete checkpoints are tracked at once
	// (default 4).
	MaxPending int
	// MaxSpans is the most separate runs of received bytes one
	// incomplete blob may have (default 4096). Parts from one sender
	// arrive in order and merge into one run; only parts arriving far out
	// of order leave gaps. A part that would open more runs is refused
	// (ErrInvalid), which bounds the bookkeeping of a blob.
	MaxSpans int
}

// Errors, for errors.Is.
var (
	// ErrInvalid: a part or blob that can never be right (no such area,
	// bytes beyond the total, a blob over Limits.MaxBlob, too fragmented).
	ErrInvalid = errors.New("ckpt: invalid part")
	// ErrConflict: a part that contradicts what the Store holds (another
	// total, other bytes at the same offset).
	ErrConflict = errors.New("ckpt: conflicting part")
	// ErrNotHeld: the Store holds no complete checkpoint of that burst.
	ErrNotHeld = errors.New("ckpt: no complete checkpoint of that burst")
)

// Checkpoint is one complete checkpoint as Get returns it. The slices are
// the Store's own memory: read them, never write them.
type Checkpoint struct {
	Burst       uint64
	Areas       [][]byte // by area index, every one whole
	Coordinator []byte   // nil when the coordinator's blob is missing or partial
	Bytes       int      // the total length of Areas and Coordinator
}

// entry is everything the Store holds about one burst.
type entry struct {
	burst    uint64
	areas    []*blob // nil until a part of the area arrives
	coord    *blob
	done     int // areas whose blob is whole
	complete bool
}

func (e *entry) blob(area int) *blob {
	if area == Coordinator {
		return e.coord
	}
	return e.areas[area]
}

func (e *entry) setBlob(area int, b *blob) {
	if area == Coordinator {
		e.coord = b
		return
	}
	e.areas[area] = b
}

// Store reassembles checkpoint parts and keeps the newest complete
// checkpoints, within Limits. Its zero value is not usable; see NewStore.
type Store struct {
	areas    int
	lim      Limits
	entries  map[uint64]*entry
	complete []uint64 // ascending
	pending  []uint64 // ascending
}

// NewStore returns an empty Store for a brain of areas areas (at least 1).
func NewStore(areas int, lim Limits) (*Store, error) {
	if areas < 1 {
		return nil, fmt.Errorf("ckpt: a store needs at least one area, got %d", areas)
	}
	if lim.MaxBlob == 0 {
		lim.MaxBlob = DefaultMaxBlob
	}
	if lim.Keep == 0 {
		lim.Keep = DefaultKeep
	}
	if lim.MaxPending == 0 {
		lim.MaxPending = DefaultMaxPending
	}
	if lim.MaxSpans == 0 {
		lim.MaxSpans = DefaultMaxSpans
	}
	if lim.MaxSpans < 0 {
		return nil, fmt.Errorf("ckpt: limit MaxSpans %d, must be at least 1", lim.MaxSpans)
	}
	if lim.MaxBlob < 0 || uint64(lim.MaxBlob) > math.MaxUint32 {
		return nil, fmt.Errorf("ckpt: limit MaxBlob %d out of range 1..%d", lim.MaxBlob, uint64(math.MaxUint32))
	}
	if lim.Keep < 0 {
		return nil, fmt.Errorf("ckpt: limit Keep %d, must be at least 1", lim.Keep)
	}
	if lim.MaxPending < 0 {
		return nil, fmt.Errorf("ckpt: limit MaxPending %d, must be at least 1", lim.MaxPending)
	}
	return &Store{areas: areas, lim: lim, entries: map[uint64]*entry{}}, nil
}

// Areas is the number of areas a complete checkpoint has.
func (s *Store) Areas() int { return s.areas }

// Limits are the Store's limits, defaults filled in.
func (s *Store) Limits() Limits { return s.lim }

// Add takes one part received from another node. Data is copied; the
// caller may reuse it. It reports whether this part completed a
// checkpoint (the last missing byte of the last missing area blob; a
// coordinator part never completes one). A part of a stale burst (older
// than the oldest complete checkpoint held), or one that would start an
// incomplete checkpoint older than all those tracked when MaxPending are,
// is ignored: no error, nothing completed. A part already held (or bytes
// already held, in part) is accepted again when it agrees. An error
// (ErrInvalid or ErrConflict) names the burst, area and offset, and the
// Store is then unchanged.
func (s *Store) Add(p Part) (completed bool, err error) {
	return s.put(p.Burst, p.Area, p.Offset, p.Total, p.Data, false)
}

// PutLocal stores a whole blob this node produced: area's blob at burst
// (area may be Coordinator). The Store keeps blob itself, not a copy: the
// caller hands it over and must not change it afterwards. It reports
// whether the blob completed a checkpoint; errors and ignored bursts are as
// for Add.
func (s *Store) PutLocal(burst uint64, area int, blob []byte) (completed bool, err error) {
	if len(blob) > s.lim.MaxBlob {
		return false, fmt.Errorf("%w: burst %d area %d: blob of %d bytes, the limit is %d", ErrInvalid, burst, area, len(blob), s.lim.MaxBlob)
	}
	return s.put(burst, area, 0, uint32(len(blob)), blob, true)
}

func (s *Store) put(burst uint64, area int, off, total uint32, data []byte, own bool) (bool, error) {
	if area < Coordinator || area >= s.areas {
		return false, fmt.Errorf("%w: burst %d area %d offset %d: no such area (the brain has areas 0..%d, %d the coordinator)", ErrInvalid, burst, area, off, s.areas-1, Coordinator)
	}
	if uint64(total) > uint64(s.lim.MaxBlob) {
		return false, fmt.Errorf("%w: burst %d area %d offset %d: blob total %d bytes, the limit is %d", ErrInvalid, burst, area, off, total, s.lim.MaxBlob)
	}
	if end := uint64(off) + uint64(len(data)); end > uint64(total) {
		return false, fmt.Errorf("%w: burst %d area %d offset %d: %d bytes end at %d, beyond the blob total %d", ErrInvalid, burst, area, off, len(data), end, total)
	}
	if s.stale(burst) {
		return false, nil
	}
	e := s.entries[burst]
	var b *blob
	if e != nil {
		b = e.blob(area)
	}
	if b != nil {
		if b.total != total {
			return false, fmt.Errorf("%w: burst %d area %d offset %d: blob total %d, earlier parts said %d", ErrConflict, burst, area, off, total, b.total)
		}
		if at, bad := b.conflict(off, data); bad {
			return false, fmt.Errorf("%w: burst %d area %d offset %d: byte differs from the one received before", ErrConflict, burst, area, at)
		}
		if b.done() {
			return false, nil // all of it is held, and it agrees
		}
	}
	if b != nil && !own {
		if n := b.spansAfter(off, off+uint32(len(data))); n > s.lim.MaxSpans {
			return false, fmt.Errorf("%w: burst %d area %d offset %d: the blob would have %d separate runs of bytes, at most %d are kept", ErrInvalid, burst, area, off, n, s.lim.MaxSpans)
		}
	}
	if e == nil {
		if !s.makeRoom(burst) {
			return false, nil
		}
		e = &entry{burst: burst, areas: make([]*blob, s.areas)}
		s.entries[burst] = e
		s.pending = insertSorted(s.pending, burst)
	}
	if b == nil {
		b = newBlob(total)
		e.setBlob(area, b)
	}
	if own {
		b.own(data)
	} else {
		b.write(off, data, s.lim.MaxSpans)
	}
	if area == Coordinator || !b.done() {
		return false, nil
	}
	e.done++
	if e.done < s.areas {
		return false, nil
	}
	s.promote(e)
	return true, nil
}

// stale reports whether burst is older than the oldest complete checkpoint.
func (s *Store) stale(burst uint64) bool {
	return len(s.complete) > 0 && burst < s.complete[0]
}

// makeRoom makes room for a new incomplete checkpoint of burst, dropping
// the oldest one if needed; false when burst itself is the one to go.
func (s *Store) makeRoom(burst uint64) bool {
	if len(s.pending) < s.lim.MaxPending {
		return true
	}
	if burst < s.pending[0] {
		return false
	}
	delete(s.entries, s.pending[0])
	s.pending = slices.Delete(s.pending, 0, 1)
	return true
}

// promote turns e into a complete checkpoint and evicts what falls out.
func (s *Store) promote(e *entry) {
	e.complete = true
	if i, ok := slices.BinarySearch(s.pending, e.burst); ok {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	s.complete = insertSorted(s.complete, e.burst)
	for len(s.complete) > s.lim.Keep {
		delete(s.entries, s.complete[0])
		s.complete = slices.Delete(s.complete, 0, 1)
	}
	for len(s.pending) > 0 && s.stale(s.pending[0]) {
		delete(s.entries, s.pending[0])
		s.pending = slices.Delete(s.pending, 0, 1)
	}
}

func insertSorted(s []uint64, v uint64) []uint64 {
	i, _ := slices.BinarySearch(s, v)
	return slices.Insert(s, i, v)
}

// Complete lists the bursts of the complete checkpoints held, ascending.
func (s *Store) Complete() []uint64 { return slices.Clone(s.complete) }

// Pending lists the bursts of the incomplete checkpoints tracked, ascending.
func (s *Store) Pending() []uint64 { return slices.Clone(s.pending) }

// Latest is the burst of the newest complete checkpoint held.
func (s *Store) Latest() (uint64, bool) {
	if len(s.complete) == 0 {
		return 0, false
	}
	return s.complete[len(s.complete)-1], true
}

// Oldest is the burst of the oldest complete checkpoint held: the input
// log is needed from there on.
func (s *Store) Oldest() (uint64, bool) {
	if len(s.complete) == 0 {
		return 0, false
	}
	return s.complete[0], true
}

// Get returns the complete checkpoint of burst. Its slices are the Store's
// memory, valid (and unchanged) after the Store evicts the checkpoint.
func (s *Store) Get(burst uint64) (*Checkpoint, bool) {
	e := s.entries[burst]
	if e == nil || !e.complete {
		return nil, false
	}
	c := &Checkpoint{Burst: burst, Areas: make([][]byte, s.areas)}
	for i, b := range e.areas {
		c.Areas[i] = b.bytesOf()
		c.Bytes += int(b.total)
	}
	if e.coord != nil && e.coord.done() {
		c.Coordinator = e.coord.bytesOf()
		c.Bytes += int(e.coord.total)
	}
	return c, true
}

// Parts cuts the complete checkpoint of burst into parts of at most max
// bytes, for a node that lacks it: every area's blob in area order, then
// the coordinator's when held whole. The parts share the Store's memory
// (read only). The error is ErrNotHeld when the checkpoint is not held.
func (s *Store) Parts(burst uint64, max int) ([]Part, error) {
	c, ok := s.Get(burst)
	if !ok {
		return nil, fmt.Errorf("%w: burst %d", ErrNotHeld, burst)
	}
	var parts []Part
	add := func(area int, b []byte) error {
		p, err := Split(burst, area, b, max)
		parts = append(parts, p...)
		return err
	}
	for a, b := range c.Areas {
		if err := add(a, b); err != nil {
			return nil, err
		}
	}
	if c.Coordinator != nil {
		if err := add(Coordinator, c.Coordinator); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// DropIncomplete forgets every incomplete checkpoint, keeping the complete
// ones. Call it on a rollback: the node that was to finish them is gone.
func (s *Store) DropIncomplete() {
	for _, b := range s.pending {
		delete(s.entries, b)
	}
	s.pending = s.pending[:0]
}

// Bytes is the memory the Store holds for blobs (buffers and bookkeeping
// of received runs), complete and incomplete.
func (s *Store) Bytes() int {
	n := 0
	for _, e := range s.entries {
		for _, b := range e.areas {
			if b != nil {
				n += b.bytes()
			}
		}
		if e.coord != nil {
			n += e.coord.bytes()
		}
	}
	return n
}

// Bound is the most memory, as Bytes counts it, the Store can hold from
// parts received through Add, whatever they are: (Keep+MaxPending) ·
// (areas+1) · (MaxBlob + 8·MaxSpans). Blobs handed over by PutLocal count
// at their capacity.
func (s *Store) Bound() int {
	return (s.lim.Keep + s.lim.MaxPending) * (s.areas + 1) * (s.lim.MaxBlob + spanBytes*s.lim.MaxSpans)
}
