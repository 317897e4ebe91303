package raster

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The picture is built once as a scene of rectangles and texts in pixel
// coordinates, then written as SVG or painted into a PNG, so that both show
// the same thing.

const (
	charW      = 7 // width of a character of the label font, in pixels
	fontSize   = 11
	plotW      = 900.0
	rateGap    = 12.0
	rateBarW   = 100.0
	rateTextW  = 96.0
	topMargin  = 40.0
	axisMargin = 46.0
	bandGap    = 3.0
	minBandH   = 14.0
	maxBandH   = 128.0
	rowH       = 2.0
	maxLabel   = 40 // characters of a label shown
)

var (
	white    = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	ink      = color.NRGBA{0x22, 0x22, 0x22, 0xff}
	grid     = color.NRGBA{0x99, 0x99, 0x99, 0xff}
	bandTint = color.NRGBA{0xf0, 0xf3, 0xf7, 0xff}
	markInk  = color.NRGBA{0x13, 0x3c, 0x7a, 0xff}
	rateInk  = color.NRGBA{0xd0, 0x6b, 0x1f, 0xff}
)

type anchor int

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

type rect struct {
	x, y, w, h float64
	fill       color.NRGBA
}

type text struct {
	x, y float64 // baseline
	s    string
	at   anchor
}

type scene struct {
	w, h  float64
	rects []rect
	texts []text
}

// Mark returns the rectangle, in the picture's pixels, of the mark of a fire
// of neuron n of the i-th plotted area in burst b (for tests of the painted
// picture). ok is false when b or the area is not plotted.
func (p *Plot) Mark(i int, n uint32, b uint64) (x, y, w, h float64, ok bool) {
	if !p.seen {
		return 0, 0, 0, 0, false
	}
	areas := p.ordered()
	lo, hi := p.Range()
	if i < 0 || i >= len(areas) || b < lo || b > hi {
		return 0, 0, 0, 0, false
	}
	l := p.layout()
	a := areas[i]
	col := (b - lo) / p.bw
	row := n / a.nb
	if row >= a.rows() {
		return 0, 0, 0, 0, false
	}
	x, w = l.colX(col), l.colW
	y, h = l.rowY(i, a, row)
	return x, y, w, h, true
}

type layout struct {
	left, top  float64
	cols       uint64
	colW       float64
	bandTop    []float64
	bandH      []float64
	plotBottom float64
	width      float64
	height     float64
}

func (l *layout) colX(c uint64) float64 { return l.left + float64(c)*l.colW }

func (l *layout) rowY(i int, a *area, row uint32) (y, h float64) {
	rows := a.rows()
	h = l.bandH[i] / float64(rows)
	// neuron 0 at the bottom of the band
	y = l.bandTop[i] + l.bandH[i] - float64(row+1)*h
	return y, h
}

func (p *Plot) layout() *layout {
	areas := p.ordered()
	lo, hi := p.Range()
	l := &layout{top: topMargin}
	longest := 8
	for _, a := range areas {
		longest = max(longest, min(len([]rune(a.name())), maxLabel))
	}
	l.left = float64(longest*charW + 16)
	l.cols = (hi-lo)/p.bw + 1
	l.colW = plotW / float64(l.cols)
	y := l.top
	for _, a := range areas {
		h := math.Min(math.Max(float64(a.rows())*rowH, minBandH), maxBandH)
		l.bandTop = append(l.bandTop, y)
		l.bandH = append(l.bandH, h)
		y += h + bandGap
	}
	l.plotBottom = y
	l.width = l.left + plotW + rateGap + rateBarW + rateTextW
	l.height = y + axisMargin
	return l
}

func (p *Plot) scene() (*scene, error) {
	if !p.seen {
		return nil, ErrEmpty
	}
	areas := p.ordered()
	rates := p.Rates()
	lo, hi := p.Range()
	l := p.layout()
	s := &scene{w: l.width, h: l.height}
	s.rects = append(s.rects, rect{0, 0, l.width, l.height, white})

	title := p.opt.Title
	if title == "" {
		title = "spike raster"
	}
	binning := ""
	if p.bw > 1 {
		binning = fmt.Sprintf(", %d bursts per column", p.bw)
	}
	s.texts = append(s.texts,
		text{l.left, 16, title, anchorStart},
		text{l.left, 31, fmt.Sprintf("bursts %d to %d (%d in the record)%s", lo, hi, p.bursts, binning), anchorStart})

	maxRate := 0.0
	for _, r := range rates {
		maxRate = math.Max(maxRate, r.PerNeuron)
	}
	rateX := l.left + plotW + rateGap
	header := "fires/neuron/burst"
	if p.opt.BurstRateHz > 0 {
		header = "rate (Hz)"
	}
	s.texts = append(s.texts, text{rateX, 31, header, anchorStart})

	for i, a := range areas {
		top, h := l.bandTop[i], l.bandH[i]
		if i%2 == 0 {
			s.rects = append(s.rects, rect{l.left, top, plotW, h, bandTint})
		}
		s.texts = append(s.texts, text{l.left - 8, top + h/2 + 4, clip(a.name()), anchorEnd})
		s.rects = append(s.rects, p.marks(l, i, a)...)

		r := rates[i]
		if maxRate > 0 && r.PerNeuron > 0 {
			bh := math.Min(h-4, 10)
			s.rects = append(s.rects, rect{rateX, top + (h-bh)/2, math.Max(1, rateBarW*r.PerNeuron/maxRate), bh, rateInk})
		}
		v := r.PerNeuron
		if p.opt.BurstRateHz > 0 {
			v = r.Hz
		}
		s.texts = append(s.texts, text{rateX + rateBarW + 6, top + h/2 + 4, formatRate(v), anchorStart})
	}

	// x axis: a line, ticks and their bursts.
	s.rects = append(s.rects, rect{l.left, l.plotBottom, plotW, 1, ink})
	span := float64(l.cols * p.bw)
	for _, b := range ticks(lo, hi) {
		x := l.left + plotW*(float64(b-lo)+0.5)/span
		s.rects = append(s.rects, rect{x - 0.5, l.plotBottom, 1, 5, ink})
		s.texts = append(s.texts, text{x, l.plotBottom + 18, strconv.FormatUint(b, 10), anchorMiddle})
	}
	s.texts = append(s.texts, text{l.left + plotW/2, l.plotBottom + 36, "burst", anchorMiddle})
	// frame of the plot area
	s.rects = append(s.rects, rect{l.left - 1, l.top, 1, l.plotBottom - l.top, grid})
	return s, nil
}

// marks returns the rectangles of area i's fires: one per fire when nothing
// is binned, else one per cell of the grid, joined along a row where
// neighbouring cells have the same shade (which keeps dense records small).
func (p *Plot) marks(l *layout, i int, a *area) []rect {
	keys := make([]uint64, 0, len(a.cells))
	for k := range a.cells {
		keys = append(keys, k)
	}
	// by row, then column
	sort.Slice(keys, func(x, y int) bool {
		rx, ry := keys[x]&0xffffffff, keys[y]&0xffffffff
		if rx != ry {
			return rx < ry
		}
		return keys[x] < keys[y]
	})
	capacity := float64(p.bw) * float64(a.nb)
	binned := capacity > 1
	var out []rect
	var runRow, runEnd uint64
	var runShade uint8
	for _, k := range keys {
		col, row := k>>32, k&0xffffffff
		shade := shadeOf(float64(a.cells[k]) / capacity)
		if binned && len(out) > 0 && row == runRow && col == runEnd && shade == runShade {
			out[len(out)-1].w += l.colW
			runEnd++
			continue
		}
		y, h := l.rowY(i, a, uint32(row))
		c := markInk
		c.A = shade
		out = append(out, rect{l.colX(col), y, l.colW, h, c})
		runRow, runEnd, runShade = row, col+1, shade
	}
	return out
}

// shadeOf maps the fraction of a cell's (burst, neuron) pairs that fired to
// an opacity in twentieths: 0.3 for the sparsest cell, so that a single fire
// stays visible, rising with the square root of the fraction (so that sparse
// activity keeps some contrast) to 1 for a cell whose every pair fired.
func shadeOf(frac float64) uint8 {
	q := 0.3 + 0.7*math.Sqrt(math.Min(frac, 1))
	q = math.Ceil(q*20) / 20
	return uint8(math.Round(q * 255))
}

// ticks returns round burst numbers (multiples of 1, 2 or 5 × 10^k) between
// lo and hi, at most nine of them.
func ticks(lo, hi uint64) []uint64 {
	span := hi - lo
	step := uint64(0)
	for pow := uint64(1); step == 0; pow *= 10 {
		for _, m := range []uint64{1, 2, 5} {
			if span/(m*pow) <= 8 {
				step = m * pow
				break
			}
		}
		if step == 0 && pow > math.MaxUint64/100 {
			step = pow * 10
		}
	}
	var out []uint64
	first := lo
	if r := lo % step; r != 0 {
		if lo > math.MaxUint64-(step-r) {
			return nil
		}
		first = lo + step - r
	}
	for b := first; b <= hi; b += step {
		out = append(out, b)
		if b > math.MaxUint64-step {
			break
		}
	}
	return out
}

func clip(s string) string {
	r := []rune(s)
	if len(r) <= maxLabel {
		return s
	}
	return string(r[:maxLabel-1]) + "…"
}

func formatRate(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 0.01:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'e', 2, 64)
}

// num formats a coordinate: at most two decimals, no trailing zeros.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func hex(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// WriteSVG writes the plot as an SVG document.
func (p *Plot) WriteSVG(w io.Writer) error {
	s, err := p.scene()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="monospace" font-size="%d">`+"\n",
		num(s.w), num(s.h), num(s.w), num(s.h), fontSize)
	for _, r := range s.rects {
		fmt.Fprintf(bw, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`, num(r.x), num(r.y), num(r.w), num(r.h), hex(r.fill))
		if r.fill.A != 0xff {
			fmt.Fprintf(bw, ` fill-opacity="%s"`, num(float64(r.fill.A)/255))
		}
		bw.WriteString("/>\n")
	}
	for _, t := range s.texts {
		fmt.Fprintf(bw, `<text x="%s" y="%s"`, num(t.x), num(t.y))
		switch t.at {
		case anchorMiddle:
			bw.WriteString(` text-anchor="middle"`)
		case anchorEnd:
			bw.WriteString(` text-anchor="end"`)
		}
		fmt.Fprintf(bw, ` fill="%s">`, hex(ink))
		if err := xml.EscapeText(bw, []byte(t.s)); err != nil {
			return err
		}
		bw.WriteString("</text>\n")
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// Image paints the plot.
func (p *Plot) Image() (*image.RGBA, error) {
	s, err := p.scene()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, int(math.Ceil(s.w)), int(math.Ceil(s.h))))
	for _, r := range s.rects {
		x0, y0 := int(math.Round(r.x)), int(math.Round(r.y))
		x1, y1 := max(int(math.Round(r.x+r.w)), x0+1), max(int(math.Round(r.y+r.h)), y0+1)
		draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(r.fill), image.Point{}, draw.Over)
	}
	face := basicfont.Face7x13
	d := &font.Drawer{Dst: img, Src: image.NewUniform(ink), Face: face}
	for _, t := range s.texts {
		adv := d.MeasureString(t.s)
		x := fixed.I(int(math.Round(t.x)))
		switch t.at {
		case anchorMiddle:
			x -= adv / 2
		case anchorEnd:
			x -= adv
		}
		d.Dot = fixed.Point26_6{X: x, Y: fixed.I(int(math.Round(t.y)))}
		d.DrawString(t.s)
	}
	return img, nil
}

// WritePNG writes the plot as a PNG image.
func (p *Plot) WritePNG(w io.Writer) error {
	img, err := p.Image()
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}
