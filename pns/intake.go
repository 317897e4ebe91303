package pns

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Area is what the intake and the motor publisher need to know of one
// cortical area. A slice of them is indexed like the brain plan's areas.
type Area struct {
	ID       ID // canonical 8-byte ID; the zero ID is never matched
	Geometry Geometry
	// Name is the area's name in the genome ("Proximity sensor"), shown to
	// senders in receipts and usable to name the area when no other area
	// has the same name; "" for none.
	Name string
}

// Resolver maps an area name (canonical base64 ID or the ID as written in the
// genome) to an area index; cortical.Plan.AreaIndex is one.
type Resolver func(name string) (index int, ok bool)

// Receipt says where an accepted frame went: the area, and the burst that
// takes it unless a newer frame of the same area replaces it first.
type Receipt struct {
	Area  int    // area index
	Burst uint64 // the burst the frame lands in
	// Points is the number of points that reach a neuron; Dropped the
	// number dropped (outside the area, p = 0 or not finite).
	Points, Dropped int
}

// AreaFrame is the latest sensor frame of one area, resolved to neurons.
type AreaFrame struct {
	Area  int    // area index
	Burst uint64 // the burst the sender stamped (0: "the next one")
	// Injections are the frame's points in list order, each resolved to the
	// highest-index neuron of its voxel; points outside the area or with p = 0
	// or non-finite are already dropped (docs/semantics.md §5.6, §6.1).
	Injections []Injection
}

// IntakeStats counts the frames an [Intake] has seen. One area's data in a
// message is one frame; a message rejected whole (malformed, oversized)
// counts as one frame. Always:
//
//	Received = Taken + Replaced + Pending + Malformed + Oversized + UnknownArea
type IntakeStats struct {
	Received    uint64 // frames offered, including rejected ones
	Taken       uint64 // frames handed out by Take
	Replaced    uint64 // frames overwritten by a later frame of the same area before Take
	Pending     uint64 // frames waiting for Take (at most one per area)
	Malformed   uint64 // rejected: bytes that do not decode or an inconsistent frame
	Oversized   uint64 // rejected: over the Limits
	UnknownArea uint64 // rejected: area not in the brain
	// Late counts taken frames stamped for a burst earlier than the one that
	// took them (they are injected anyway, late).
	Late uint64
	// PointsDropped counts points of accepted frames that were outside their
	// area or had p = 0 or a non-finite p.
	PointsDropped uint64
}

// Dropped is the number of rejected frames.
func (s IntakeStats) Dropped() uint64 { return s.Malformed + s.Oversized + s.UnknownArea }

// Intake is the sensor side of the brain: it keeps the latest frame per area
// until the runtime takes the frames of a burst. Offer methods are safe for
// concurrent use; Take is meant for one goroutine (the burst coordinator),
// once per burst. Memory is bounded: at most two point buffers per area plus
// one per concurrent Offer, each at most Limits.MaxPoints long.
type Intake struct {
	areas   []Area
	byID    map[ID]int
	byName  map[string]int // -1: a name several areas share
	resolve Resolver
	lim     Limits
	scratch sync.Pool // *[]AreaPoints for OfferContainer

	mu    sync.Mutex
	slots []slot
	dirty []int // areas whose slot holds a pending frame
	free  [][]Injection
	out   []AreaFrame
	stats IntakeStats
	took  uint64 // the burst of the last Take
}

type slot struct {
	full    bool
	burst   uint64
	pending []Injection // the latest frame, while full
	taken   []Injection // handed out by the last Take that took this area
}

// keepCap is the largest buffer (in injections) kept for reuse once free; a
// bigger one is left to the garbage collector so a rare huge frame does not
// pin its memory.
const keepCap = 1 << 16

// NewIntake returns an intake for areas (indexed like the brain plan).
// resolve may be nil; then areas can be named only by base64 ID or token.
// lim's zero fields take their defaults. If two areas share an ID, the
// first is the one found by it; a name several areas share finds none.
func NewIntake(areas []Area, resolve Resolver, lim Limits) *Intake {
	in := &Intake{
		areas:   slices.Clone(areas),
		byID:    make(map[ID]int, len(areas)),
		byName:  make(map[string]int, len(areas)),
		resolve: resolve,
		lim:     lim.OrDefaults(),
		slots:   make([]slot, len(areas)),
		dirty:   make([]int, 0, len(areas)),
		out:     make([]AreaFrame, 0, len(areas)),
	}
	for i, a := range areas {
		if _, dup := in.byID[a.ID]; !dup && a.ID != (ID{}) {
			in.byID[a.ID] = i
		}
		if a.Name != "" {
			if _, dup := in.byName[a.Name]; dup {
				in.byName[a.Name] = -1
			} else {
				in.byName[a.Name] = i
			}
		}
	}
	return in
}

// Areas returns the areas, indexed like the brain plan. The slice is the
// intake's own: do not modify it.
func (in *Intake) Areas() []Area { return in.areas }

// Limits returns the effective limits.
func (in *Intake) Limits() Limits { return in.lim }

// Resolve maps an area name to its index: a canonical base64 ID or token
// through the areas' IDs, then the resolver (the ID as written in the
// genome), then the areas' names (a name that several areas share names
// none of them).
func (in *Intake) Resolve(name string) (int, bool) {
	if id, err := ParseID(name); err == nil {
		if i, ok := in.byID[id]; ok {
			return i, true
		}
	}
	if in.resolve != nil {
		if i, ok := in.resolve(name); ok && i >= 0 && i < len(in.areas) {
			return i, true
		}
	}
	if i, ok := in.byName[name]; ok && i >= 0 {
		return i, true
	}
	return 0, false
}

// ResolveID maps a cortical ID to its area index.
func (in *Intake) ResolveID(id ID) (int, bool) {
	if i, ok := in.byID[id]; ok {
		return i, true
	}
	if in.resolve != nil && id != (ID{}) {
		if i, ok := in.resolve(id.String()); ok && i >= 0 && i < len(in.areas) {
			return i, true
		}
	}
	return 0, false
}

// Offer stores a frame for the named area (see Resolve), replacing any frame
// of that area not yet taken. burst is the burst the frame is meant for (0:
// the next one); Take holds a frame until its burst. pts is copied; the
// caller keeps it. A rejected frame is counted and returned as an error
// wrapping ErrUnknownArea, ErrMalformed or ErrOversized.
func (in *Intake) Offer(area string, burst uint64, pts *Points) error {
	_, err := in.OfferReceipt(area, burst, pts)
	return err
}

// OfferReceipt is Offer, also saying where an accepted frame went.
func (in *Intake) OfferReceipt(area string, burst uint64, pts *Points) (Receipt, error) {
	i, ok := in.Resolve(area)
	if !ok {
		err := fmt.Errorf("%w: %q", ErrUnknownArea, area)
		in.Reject(err)
		return Receipt{}, err
	}
	return in.OfferIndexReceipt(i, burst, pts)
}

// OfferIndex is Offer for an area given by index.
func (in *Intake) OfferIndex(area int, burst uint64, pts *Points) error {
	_, err := in.OfferIndexReceipt(area, burst, pts)
	return err
}

// OfferIndexReceipt is OfferIndex, also saying where an accepted frame went.
func (in *Intake) OfferIndexReceipt(area int, burst uint64, pts *Points) (Receipt, error) {
	if area < 0 || area >= len(in.areas) {
		err := fmt.Errorf("%w: index %d of %d areas", ErrUnknownArea, area, len(in.areas))
		in.Reject(err)
		return Receipt{}, err
	}
	if err := pts.Check(); err != nil {
		err = fmt.Errorf("area %s: %w", in.areas[area].ID, err)
		in.Reject(err)
		return Receipt{}, err
	}
	if pts.Len() > in.lim.MaxPoints {
		err := fmt.Errorf("%w: area %s: %d points exceed the limit of %d", ErrOversized, in.areas[area].ID, pts.Len(), in.lim.MaxPoints)
		in.Reject(err)
		return Receipt{}, err
	}
	in.mu.Lock()
	buf := in.popFree()
	in.mu.Unlock()

	buf, dropped := resolvePoints(buf, pts, in.areas[area].Geometry)

	in.mu.Lock()
	s := &in.slots[area]
	in.stats.Received++
	in.stats.PointsDropped += uint64(dropped)
	if s.full {
		in.stats.Replaced++
		in.pushFree(s.pending)
	} else {
		in.dirty = append(in.dirty, area)
		in.stats.Pending++
	}
	s.full, s.burst, s.pending = true, burst, buf
	lands := max(burst, in.took+1)
	in.mu.Unlock()
	return Receipt{Area: area, Burst: lands, Points: len(buf), Dropped: dropped}, nil
}

// OfferContainer decodes a FEAGI byte container and offers the frame of
// every area in it, all for the next burst. A container that does not decode
// is counted as one rejected frame; an unknown area in it is counted and
// skipped while the other areas are offered. The error reports what was
// rejected (errors.Join of each area's error).
func (in *Intake) OfferContainer(data []byte) error {
	_, err := in.OfferContainerReceipts(data, nil)
	return err
}

// OfferContainerReceipts is OfferContainer, also appending to dst a receipt
// for every area of the container that was accepted.
func (in *Intake) OfferContainerReceipts(data []byte, dst []Receipt) ([]Receipt, error) {
	sp, _ := in.scratch.Get().(*[]AreaPoints)
	if sp == nil {
		sp = new([]AreaPoints)
	}
	defer in.scratch.Put(sp)
	_, areas, err := DecodeContainer(data, in.lim, *sp)
	*sp = areas
	if err != nil {
		in.Reject(err)
		return dst, err
	}
	var errs []error
	for k := range areas {
		i, ok := in.ResolveID(areas[k].ID)
		if !ok {
			err := fmt.Errorf("%w: %s in FEAGI container", ErrUnknownArea, areas[k].ID)
			in.Reject(err)
			errs = append(errs, err)
			continue
		}
		r, err := in.OfferIndexReceipt(i, 0, &areas[k].Points)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		dst = append(dst, r)
	}
	return dst, errors.Join(errs...)
}

// Reject counts one frame rejected before it reached the intake, such as a
// protobuf message that did not decode. Its kind comes from err (KindOf);
// an error of no known kind counts as malformed.
func (in *Intake) Reject(err error) {
	k, _ := KindOf(err)
	in.mu.Lock()
	in.stats.Received++
	switch k {
	case KindOversized:
		in.stats.Oversized++
	case KindUnknownArea:
		in.stats.UnknownArea++
	default:
		in.stats.Malformed++
	}
	in.mu.Unlock()
}

// Take returns the frames to inject in burst: for every area with a pending
// frame stamped 0 or at most burst, that frame, ascending by area index.
// Frames stamped for a later burst stay pending. The returned slice and the
// Injections in it stay valid until the next call of Take; Take must not be
// called concurrently with itself.
func (in *Intake) Take(burst uint64) []AreaFrame {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.took = max(in.took, burst)
	in.out = in.out[:0]
	slices.Sort(in.dirty)
	keep := in.dirty[:0]
	for _, a := range in.dirty {
		s := &in.slots[a]
		if s.burst > burst {
			keep = append(keep, a)
			continue
		}
		if s.burst != 0 && s.burst < burst {
			in.stats.Late++
		}
		in.pushFree(s.taken)
		s.taken, s.pending, s.full = s.pending, nil, false
		in.stats.Taken++
		in.stats.Pending--
		in.out = append(in.out, AreaFrame{Area: a, Burst: s.burst, Injections: s.taken})
	}
	in.dirty = keep
	return in.out
}

// Stats returns a snapshot of the counters.
func (in *Intake) Stats() IntakeStats {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stats
}

// popFree and pushFree manage spare buffers; in.mu must be held.
func (in *Intake) popFree() []Injection {
	n := len(in.free)
	if n == 0 {
		return nil
	}
	b := in.free[n-1]
	in.free[n-1] = nil
	in.free = in.free[:n-1]
	return b
}

func (in *Intake) pushFree(b []Injection) {
	if b == nil || cap(b) > keepCap {
		return
	}
	in.free = append(in.free, b[:0])
}

// resolvePoints appends to dst[:0] the points of pts that land on a neuron of
// g with a finite, non-zero p, and returns how many it dropped.
func resolvePoints(dst []Injection, pts *Points, g Geometry) ([]Injection, int) {
	dst = dst[:0]
	dropped := 0
	for k, p := range pts.P {
		if p == 0 || math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
			dropped++
			continue
		}
		local, ok := g.Target(pts.X[k], pts.Y[k], pts.Z[k])
		if !ok {
			dropped++
			continue
		}
		dst = append(dst, Injection{Local: local, P: p})
	}
	return dst, dropped
}
