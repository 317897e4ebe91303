package raster

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
)

// Default grid limits: at most this many columns of bursts across the plot
// and rows of neurons per area. Beyond them, bursts or neurons are binned by
// powers of two.
const (
	DefaultMaxColumns = 900
	DefaultMaxRows    = 64
)

// Area describes one area of the brain for the plot.
type Area struct {
	ID      string // cortical ID, base64
	Label   string // shown left of the band ("" : derived from ID)
	Neurons uint32 // neurons of the area (0: unknown, taken from the record)
}

// Options shape a plot.
type Options struct {
	// Areas are the brain's areas, top to bottom. With Areas set, every
	// area is drawn (silent ones too) and a record naming another area, or
	// a neuron index beyond an area's size, is an error. Without, the
	// areas that fire are drawn in the order of their IDs' bytes.
	Areas []Area
	// From and To bound the bursts plotted, both included (0: the record's
	// first or last burst).
	From, To uint64
	// BurstRateHz converts rates per burst into Hz when > 0.
	BurstRateHz float64
	// Title is written above the plot.
	Title string
	// MaxColumns and MaxRows cap the grid (0: the defaults).
	MaxColumns, MaxRows int
}

// Plot accumulates the bursts of a record; Add them in order, then Write.
type Plot struct {
	opt    Options
	known  bool // areas fixed by Options.Areas
	areas  []*area
	byID   map[string]*area
	lo, hi uint64 // first and last burst of the x axis
	bw     uint64 // bursts per column, a power of two
	seen   bool
	bursts uint64 // record lines plotted
}

type area struct {
	Area
	nb     uint32 // neurons per row, a power of two
	maxIdx uint32 // highest index seen
	fired  bool
	fires  uint64
	cells  map[uint64]uint32 // col<<32 | row -> fires
}

// New starts a plot.
func New(opt Options) (*Plot, error) {
	if opt.To != 0 && opt.From > opt.To {
		return nil, fmt.Errorf("raster: from burst %d is after to burst %d", opt.From, opt.To)
	}
	if opt.MaxColumns <= 0 {
		opt.MaxColumns = DefaultMaxColumns
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	opt.MaxColumns = min(opt.MaxColumns, 1<<20)
	opt.MaxRows = min(opt.MaxRows, 1<<20)
	p := &Plot{opt: opt, byID: map[string]*area{}, bw: 1}
	for _, a := range opt.Areas {
		if err := checkID(a.ID); err != nil {
			return nil, fmt.Errorf("raster: %w", err)
		}
		if _, dup := p.byID[a.ID]; dup {
			return nil, fmt.Errorf("raster: area %s listed twice", a.ID)
		}
		ar := p.newArea(a)
		p.areas = append(p.areas, ar)
		p.byID[a.ID] = ar
	}
	p.known = len(opt.Areas) > 0
	return p, nil
}

func (p *Plot) newArea(a Area) *area {
	ar := &area{Area: a, nb: 1, cells: map[uint64]uint32{}}
	if a.Neurons > 0 {
		for ar.nb < 1<<31 && (uint64(a.Neurons)+uint64(ar.nb)-1)/uint64(ar.nb) > uint64(p.opt.MaxRows) {
			ar.nb *= 2
		}
	}
	return ar
}

// Past reports whether burst lies after the plotted range, so that a reader
// of an ascending record can stop.
func (p *Plot) Past(burst uint64) bool { return p.opt.To != 0 && burst > p.opt.To }

// Add plots one burst. Bursts must ascend (Reader checks that); bursts
// outside [From, To] are ignored.
func (p *Plot) Add(l Line) error {
	if l.Burst < p.opt.From || p.Past(l.Burst) {
		return nil
	}
	if !p.seen {
		p.seen = true
		p.lo = l.Burst
		if p.opt.From != 0 {
			p.lo = p.opt.From
		}
		if p.opt.To != 0 {
			for p.bw < 1<<63 && (p.opt.To-p.lo)/p.bw >= uint64(p.opt.MaxColumns) {
				p.bw *= 2
			}
		}
	} else if l.Burst <= p.hi {
		return fmt.Errorf("raster: burst %d after burst %d: bursts must ascend", l.Burst, p.hi)
	}
	p.hi = l.Burst
	p.bursts++
	for p.bw < 1<<63 && (l.Burst-p.lo)/p.bw >= uint64(p.opt.MaxColumns) {
		p.bw *= 2
		for _, a := range p.areas {
			a.rebin(1, 0)
		}
	}
	col := (l.Burst - p.lo) / p.bw
	for _, f := range l.Fired {
		a := p.byID[f.Area]
		if a == nil {
			if p.known {
				return fmt.Errorf("raster: burst %d: area %s is not one of the brain's areas", l.Burst, f.Area)
			}
			if err := checkID(f.Area); err != nil {
				return fmt.Errorf("raster: burst %d: %w", l.Burst, err)
			}
			a = p.newArea(Area{ID: f.Area})
			p.areas = append(p.areas, a)
			p.byID[f.Area] = a
		}
		if len(f.Neurons) == 0 {
			continue
		}
		top := f.Neurons[len(f.Neurons)-1]
		if a.Neurons > 0 && top >= a.Neurons {
			return fmt.Errorf("raster: burst %d: area %s fired neuron %d, but has %d neurons", l.Burst, a.name(), top, a.Neurons)
		}
		if a.Neurons == 0 {
			for a.nb < 1<<31 && top/a.nb >= uint32(p.opt.MaxRows) {
				a.rebin(0, 1)
			}
		}
		if !a.fired || top > a.maxIdx {
			a.maxIdx = top
		}
		a.fired = true
		a.fires += uint64(len(f.Neurons))
		for _, n := range f.Neurons {
			a.cells[col<<32|uint64(n/a.nb)]++
		}
	}
	return nil
}

// rebin halves the columns (dc = 1) or the rows (dr = 1) of the area's grid.
func (a *area) rebin(dc, dr uint) {
	a.nb <<= dr
	if len(a.cells) == 0 {
		return
	}
	m := make(map[uint64]uint32, len(a.cells))
	for k, v := range a.cells {
		c, r := k>>32>>dc, (k&0xffffffff)>>dr
		m[c<<32|r] += v
	}
	a.cells = m
}

func (a *area) name() string {
	if a.Label != "" {
		return a.Label
	}
	return DefaultLabel(a.ID)
}

// DefaultLabel is how an area without a label is shown: its 8 ID bytes when
// every one is printable (as flat genomes write IDs, e.g. c__for__), else
// the base64 form.
func DefaultLabel(id string) string {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return id
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return id
		}
	}
	return string(b)
}

// rows returns the number of rows of the area's band.
func (a *area) rows() uint32 {
	n := a.Neurons
	if n == 0 {
		n = a.maxIdx + 1
	}
	return uint32((uint64(n) + uint64(a.nb) - 1) / uint64(a.nb))
}

// Rate is the firing of one area over the plotted bursts.
type Rate struct {
	ID, Label string
	Neurons   uint32 // from Options.Areas, else highest fired index + 1
	Fires     uint64
	PerBurst  float64 // fires per burst
	PerNeuron float64 // fires per neuron per burst
	Hz        float64 // PerNeuron × BurstRateHz (0 when the rate is unknown)
}

// Bursts returns the number of bursts plotted (record lines in range).
func (p *Plot) Bursts() uint64 { return p.bursts }

// Range returns the first and last burst of the x axis.
func (p *Plot) Range() (lo, hi uint64) {
	hi = p.hi
	if p.opt.To != 0 {
		hi = p.opt.To
	}
	return p.lo, hi
}

// Rates returns the firing rate of every plotted area, in plot order.
func (p *Plot) Rates() []Rate {
	areas := p.ordered()
	out := make([]Rate, len(areas))
	for i, a := range areas {
		r := Rate{ID: a.ID, Label: a.name(), Neurons: a.Neurons, Fires: a.fires}
		if r.Neurons == 0 && a.fired {
			r.Neurons = a.maxIdx + 1
		}
		if p.bursts > 0 {
			r.PerBurst = float64(a.fires) / float64(p.bursts)
			if r.Neurons > 0 {
				r.PerNeuron = r.PerBurst / float64(r.Neurons)
			}
		}
		r.Hz = r.PerNeuron * p.opt.BurstRateHz
		out[i] = r
	}
	return out
}

// ordered returns the areas top to bottom: as given, or by ID bytes.
func (p *Plot) ordered() []*area {
	out := append([]*area(nil), p.areas...)
	if !p.known {
		sort.Slice(out, func(i, j int) bool {
			bi, _ := base64.StdEncoding.DecodeString(out[i].ID)
			bj, _ := base64.StdEncoding.DecodeString(out[j].ID)
			return bytes.Compare(bi, bj) < 0
		})
	}
	return out
}

// ErrEmpty is returned by the writers when no burst lies in the range.
var ErrEmpty = errors.New("raster: no burst of the record lies in the range plotted")
