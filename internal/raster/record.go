// Package raster draws a run's spike record as a raster plot: bursts along
// the x axis, the brain's areas stacked as horizontal bands (neuron index
// upwards inside a band), one mark per fire, and beside every band the area's
// firing rate. It is pure: it reads record lines from an io.Reader and writes
// SVG or PNG to an io.Writer, and holds at most a fixed grid of cells in
// memory whatever the length of the record (long runs and large areas are
// binned: a cell then stands for several bursts or neurons and is shaded by
// how many of them fired).
//
// The record is the file node run --record writes: one JSON object per line
// and per burst, {"burst":n,"fired":{"<cortical ID in base64>":[local neuron
// indices, ascending]}}, bursts ascending; an area absent from a line fired
// nothing in that burst.
package raster

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// DefaultMaxLine is the longest record line Reader accepts unless told
// otherwise: 64 MiB, room for millions of fires in one burst.
const DefaultMaxLine = 64 << 20

// ErrLineTooLong is wrapped by the error of a line longer than the cap.
var ErrLineTooLong = errors.New("longer than the limit")

// Fired lists the neurons of one area that fired in one burst.
type Fired struct {
	Area    string   // cortical ID, base64 of 8 bytes
	Neurons []uint32 // local indices, strictly ascending
}

// Line is one burst of a record.
type Line struct {
	Burst uint64
	Fired []Fired // sorted by Area; areas that fired nothing are absent
}

// Reader reads a record line by line, checking every line.
type Reader struct {
	name    string
	maxLine int
	sc      *bufio.Scanner
	line    int    // number of the last line read (1-based)
	last    uint64 // burst of the last record line
	started bool
}

// NewReader reads the record r. name is how errors refer to it (a file
// name); maxLine caps the length of one line in bytes (0: DefaultMaxLine).
// Memory use is bounded by maxLine.
func NewReader(r io.Reader, name string, maxLine int) *Reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	sc := bufio.NewScanner(r)
	initial := 64 << 10
	if initial > maxLine+1 {
		initial = maxLine + 1
	}
	// The scanner needs the newline in its buffer to end a line, hence +1.
	sc.Buffer(make([]byte, initial), maxLine+1)
	return &Reader{name: name, maxLine: maxLine, sc: sc}
}

// Line returns the number of the last line Next read (1-based).
func (r *Reader) Line() int { return r.line }

type rawLine struct {
	Burst *uint64             `json:"burst"`
	Fired map[string][]uint32 `json:"fired"`
}

// Next returns the next burst of the record, or io.EOF after the last one.
// Blank lines are skipped. Any other error names the record and the line.
func (r *Reader) Next() (Line, error) {
	for {
		if !r.sc.Scan() {
			err := r.sc.Err()
			if errors.Is(err, bufio.ErrTooLong) {
				return Line{}, fmt.Errorf("record %s line %d: %w of %d bytes per line", r.name, r.line+1, ErrLineTooLong, r.maxLine)
			}
			if err != nil {
				return Line{}, fmt.Errorf("record %s line %d: %w", r.name, r.line+1, err)
			}
			return Line{}, io.EOF
		}
		r.line++
		text := bytes.TrimSpace(r.sc.Bytes())
		if len(text) == 0 {
			continue
		}
		l, err := r.parse(text)
		if err != nil {
			return Line{}, fmt.Errorf("record %s line %d: %w", r.name, r.line, err)
		}
		return l, nil
	}
}

func (r *Reader) parse(text []byte) (Line, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	var raw rawLine
	if err := dec.Decode(&raw); err != nil {
		return Line{}, fmt.Errorf("not a record line {\"burst\":n,\"fired\":{...}}: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Line{}, errors.New("more than one JSON value on the line")
	}
	if raw.Burst == nil {
		return Line{}, errors.New(`no "burst"`)
	}
	if raw.Fired == nil {
		return Line{}, errors.New(`no "fired" object`)
	}
	if r.started && *raw.Burst <= r.last {
		return Line{}, fmt.Errorf("burst %d after burst %d: bursts must ascend", *raw.Burst, r.last)
	}
	l := Line{Burst: *raw.Burst, Fired: make([]Fired, 0, len(raw.Fired))}
	for id, ns := range raw.Fired {
		if err := checkID(id); err != nil {
			return Line{}, fmt.Errorf("burst %d: %w", l.Burst, err)
		}
		for i := 1; i < len(ns); i++ {
			if ns[i] <= ns[i-1] {
				return Line{}, fmt.Errorf("burst %d area %s: neuron %d after %d: indices must ascend", l.Burst, id, ns[i], ns[i-1])
			}
		}
		if len(ns) > 0 {
			l.Fired = append(l.Fired, Fired{Area: id, Neurons: ns})
		}
	}
	sort.Slice(l.Fired, func(i, j int) bool { return l.Fired[i].Area < l.Fired[j].Area })
	r.started, r.last = true, l.Burst
	return l, nil
}

// checkID reports whether id is the base64 form of an 8-byte cortical ID.
func checkID(id string) error {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(b) != 8 {
		return fmt.Errorf("area %q is not the base64 form of an 8-byte cortical ID", id)
	}
	return nil
}

// AppendLine appends l in the record's line format (the inverse of Next).
func AppendLine(buf []byte, l Line) []byte {
	buf = fmt.Appendf(buf, `{"burst":%d,"fired":{`, l.Burst)
	for i, f := range l.Fired {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = fmt.Appendf(buf, "%q:[", f.Area)
		for k, n := range f.Neurons {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = fmt.Appendf(buf, "%d", n)
		}
		buf = append(buf, ']')
	}
	return append(buf, "}}\n"...)
}
