package raster

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// smallAreas is the brain of testdata/small.jsonl, as a genome would give it;
// turn_left never fires.
var smallAreas = []Area{
	{ID: "X19fcG93ZXI=", Label: "Brain_Power _power", Neurons: 1},
	{ID: "Y19fZm9yX18=", Label: "forward c__for", Neurons: 1},
	{ID: "Y19fbGVmX18=", Label: "turn_left c__lef", Neurons: 1},
	{ID: "aXN2aQkABwA=", Label: "vision_TM iic700", Neurons: 20},
	{ID: "b21vdAUAAAA=", Label: "Motor <Output> & co", Neurons: 8},
}

func readAll(t testing.TB, path string) []Line {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, path, 0)
	var out []Line
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
}

func plotOf(t testing.TB, lines []Line, opt Options) *Plot {
	t.Helper()
	p, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if p.Past(l.Burst) {
			break
		}
		if err := p.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func svgOf(t testing.TB, p *Plot) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	// well-formed XML
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got %s\nwant %s\n(run go test -run Golden -update if the change is meant)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs: %d lines, want %d (run go test -run Golden -update if the change is meant)", path, len(gl), len(wl))
	}
}

func TestRasterGolden(t *testing.T) {
	lines := readAll(t, "testdata/small.jsonl")
	t.Run("genome", func(t *testing.T) {
		p := plotOf(t, lines, Options{Areas: smallAreas, BurstRateHz: 15, Title: "small"})
		svg := svgOf(t, p)
		golden(t, "small.svg", svg)
		fires := 0
		for _, l := range lines {
			for _, f := range l.Fired {
				fires += len(f.Neurons)
			}
		}
		if marks := bytes.Count(svg, []byte(`fill="`+hex(markInk)+`"`)); marks != fires {
			t.Errorf("%d marks in the SVG for %d fires", marks, fires)
		}
	})
	t.Run("binned", func(t *testing.T) {
		p := plotOf(t, lines, Options{Title: "small, binned", MaxColumns: 5, MaxRows: 4})
		golden(t, "small-binned.svg", svgOf(t, p))
	})
}

// Every fire of the small record is a mark: the picture has one rectangle
// of the mark colour covering each (burst, neuron) that fired, and exactly
// as many mark cells as fires.
func TestRasterOneMarkPerFire(t *testing.T) {
	lines := readAll(t, "testdata/small.jsonl")
	p := plotOf(t, lines, Options{Areas: smallAreas})
	img, err := p.Image()
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, a := range smallAreas {
		index[a.ID] = i
	}
	isMark := func(x, y float64) bool {
		c := color.NRGBAModel.Convert(img.At(int(x), int(y))).(color.NRGBA)
		return c == markInk
	}
	fired := map[[3]uint64]bool{}
	for _, l := range lines {
		for _, f := range l.Fired {
			for _, n := range f.Neurons {
				fired[[3]uint64{uint64(index[f.Area]), uint64(n), l.Burst}] = true
			}
		}
	}
	marks := 0
	for i, a := range smallAreas {
		for n := range a.Neurons {
			for b := uint64(1); b <= 12; b++ {
				x, y, w, h, ok := p.Mark(i, n, b)
				if !ok {
					t.Fatalf("no mark position for area %d neuron %d burst %d", i, n, b)
				}
				painted := isMark(x+w/2, y+h/2)
				if painted != fired[[3]uint64{uint64(i), uint64(n), b}] {
					t.Errorf("area %s neuron %d burst %d: painted %v, fired %v", a.Label, n, b, painted, !painted)
				}
				if painted {
					marks++
				}
			}
		}
	}
	if marks != len(fired) || marks == 0 {
		t.Errorf("%d marks for %d fires", marks, len(fired))
	}
	var png bytes.Buffer
	if err := p.WritePNG(&png); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("WritePNG wrote no PNG")
	}
}

func TestRasterRates(t *testing.T) {
	lines := readAll(t, "testdata/small.jsonl")
	const hz = 15
	for _, tc := range []struct {
		name     string
		from, to uint64
	}{{"all", 0, 0}, {"window", 3, 9}, {"from", 5, 0}, {"to", 0, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			p := plotOf(t, lines, Options{Areas: smallAreas, BurstRateHz: hz, From: tc.from, To: tc.to})
			fires := map[string]uint64{}
			var bursts uint64
			for _, l := range lines {
				if l.Burst < tc.from || (tc.to != 0 && l.Burst > tc.to) {
					continue
				}
				bursts++
				for _, f := range l.Fired {
					fires[f.Area] += uint64(len(f.Neurons))
				}
			}
			if p.Bursts() != bursts {
				t.Errorf("Bursts() = %d, want %d", p.Bursts(), bursts)
			}
			rates := p.Rates()
			if len(rates) != len(smallAreas) {
				t.Fatalf("%d rates for %d areas", len(rates), len(smallAreas))
			}
			for i, r := range rates {
				a := smallAreas[i]
				perNeuron := float64(fires[a.ID]) / float64(bursts) / float64(a.Neurons)
				if r.ID != a.ID || r.Label != a.Label || r.Fires != fires[a.ID] || math.Abs(r.PerNeuron-perNeuron) > 1e-12 || math.Abs(r.Hz-perNeuron*hz) > 1e-9 {
					t.Errorf("rate %d = %+v, want %d fires, %g per neuron per burst", i, r, fires[a.ID], perNeuron)
				}
			}
			lo, hi := p.Range()
			wantLo, wantHi := max(tc.from, 1), tc.to
			if wantHi == 0 {
				wantHi = 12
			}
			if lo != wantLo || hi != wantHi {
				t.Errorf("Range() = %d..%d, want %d..%d", lo, hi, wantLo, wantHi)
			}
		})
	}
}

// synthetic writes a record of n bursts with a deterministic pattern.
func synthetic(n uint64, ids []string, neurons uint32) []Line {
	var out []Line
	for b := uint64(1); b <= n; b++ {
		l := Line{Burst: b}
		for k, id := range ids {
			var ns []uint32
			for i := uint32(0); i < neurons; i++ {
				if (b*uint64(i+1)+uint64(k))%7 == 0 {
					ns = append(ns, i)
				}
			}
			if len(ns) > 0 {
				l.Fired = append(l.Fired, Fired{Area: id, Neurons: ns})
			}
		}
		out = append(out, l)
	}
	return out
}

// Binning a long record on the fly gives the same picture as binning it with
// its length and area sizes known in advance, keeps every fire and stays
// within the grid.
func TestRasterBinning(t *testing.T) {
	ids := []string{"X19fcG93ZXI=", "Y19fZm9yX18="} // byte order
	lines := synthetic(5000, ids, 300)
	var total uint64
	for _, l := range lines {
		for _, f := range l.Fired {
			total += uint64(len(f.Neurons))
		}
	}
	const cols, rows = 100, 16
	dynamic := plotOf(t, lines, Options{MaxColumns: cols, MaxRows: rows, Title: "t"})
	known := plotOf(t, lines, Options{MaxColumns: cols, MaxRows: rows, Title: "t", To: 5000,
		Areas: []Area{{ID: ids[0], Label: DefaultLabel(ids[0]), Neurons: 300}, {ID: ids[1], Label: DefaultLabel(ids[1]), Neurons: 300}}})
	if a, b := svgOf(t, dynamic), svgOf(t, known); !bytes.Equal(a, b) {
		t.Error("binning on the fly draws another picture than binning known in advance")
	}
	var kept uint64
	for _, a := range dynamic.areas {
		for k, v := range a.cells {
			if k>>32 >= cols || k&0xffffffff >= rows {
				t.Errorf("cell %d,%d outside the %dx%d grid", k>>32, k&0xffffffff, cols, rows)
			}
			kept += uint64(v)
		}
		if a.rows() > rows {
			t.Errorf("area %s: %d rows", a.ID, a.rows())
		}
	}
	if kept != total || total == 0 {
		t.Errorf("the grid holds %d fires of %d", kept, total)
	}
	if lo, hi := dynamic.Range(); (hi-lo)/dynamic.bw+1 > cols {
		t.Errorf("%d columns", (hi-lo)/dynamic.bw+1)
	}
}

func TestRasterReaderErrors(t *testing.T) {
	ok := `{"burst":1,"fired":{"X19fcG93ZXI=":[0]}}` + "\n"
	for _, tc := range []struct {
		name, record, want string
		maxLine            int
	}{
		{"syntax", ok + "{\"burst\":2,\n", "line 2: not a record line", 0},
		{"unknown field", `{"burst":1,"fired":{},"x":1}`, `unknown field "x"`, 0},
		{"no burst", `{"fired":{}}`, `line 1: no "burst"`, 0},
		{"no fired", `{"burst":1}`, `no "fired"`, 0},
		{"null fired", `{"burst":1,"fired":null}`, `no "fired"`, 0},
		{"two values", `{"burst":1,"fired":{}} {}`, "more than one JSON value", 0},
		{"descending bursts", ok + ok, "line 2: burst 1 after burst 1: bursts must ascend", 0},
		{"indices", `{"burst":1,"fired":{"X19fcG93ZXI=":[3,2]}}`, "neuron 2 after 3", 0},
		{"duplicate index", `{"burst":1,"fired":{"X19fcG93ZXI=":[3,3]}}`, "neuron 3 after 3", 0},
		{"negative index", `{"burst":1,"fired":{"X19fcG93ZXI=":[-1]}}`, "not a record line", 0},
		{"bad id", `{"burst":1,"fired":{"c__for":[0]}}`, `"c__for" is not the base64 form`, 0},
		{"short id", `{"burst":1,"fired":{"AAAA":[0]}}`, "8-byte cortical ID", 0},
		{"too long", ok + "\n" + `{"burst":2,"fired":{"X19fcG93ZXI=":[0,1,2,3,4,5,6,7,8,9]}}`, "line 3: longer than the limit of 50 bytes per line", 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.record), "rec.jsonl", tc.maxLine)
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if errors.Is(err, io.EOF) {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "rec.jsonl") {
				t.Errorf("error %q, want it to name rec.jsonl and say %q", err, tc.want)
			}
		})
	}
}

func TestRasterReaderAccepts(t *testing.T) {
	// blank lines, no final newline, a line exactly at the cap
	line := `{"burst":7,"fired":{"X19fcG93ZXI=":[0]}}`
	r := NewReader(strings.NewReader("\n"+`{"burst":1,"fired":{}}`+"\n\n"+line), "r", len(line))
	var got []uint64
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l.Burst)
	}
	if fmt.Sprint(got) != "[1 7]" {
		t.Errorf("bursts %v, want [1 7]", got)
	}
}

func TestRasterPlotErrors(t *testing.T) {
	if _, err := New(Options{From: 5, To: 4}); err == nil || !strings.Contains(err.Error(), "from burst 5 is after to burst 4") {
		t.Errorf("From > To: %v", err)
	}
	if _, err := New(Options{Areas: []Area{{ID: "nope"}}}); err == nil {
		t.Error("an area with a bad ID is accepted")
	}
	p, err := New(Options{Areas: smallAreas})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteSVG(io.Discard); !errors.Is(err, ErrEmpty) {
		t.Errorf("an empty plot: %v, want ErrEmpty", err)
	}
	if err := p.Add(Line{Burst: 1, Fired: []Fired{{Area: "aXN2aQkABwA=", Neurons: []uint32{20}}}}); err == nil || !strings.Contains(err.Error(), "fired neuron 20, but has 20 neurons") {
		t.Errorf("an index beyond the area: %v", err)
	}
	if err := p.Add(Line{Burst: 2, Fired: []Fired{{Area: "aXN2aQkACAA=", Neurons: []uint32{0}}}}); err == nil || !strings.Contains(err.Error(), "aXN2aQkACAA= is not one of the brain's areas") {
		t.Errorf("an unknown area: %v", err)
	}
	if err := p.Add(Line{Burst: 2}); err == nil || !strings.Contains(err.Error(), "bursts must ascend") {
		t.Errorf("a repeated burst: %v", err)
	}
}

func TestRasterTicks(t *testing.T) {
	for _, tc := range []struct{ lo, hi uint64 }{{1, 1}, {1, 12}, {3, 9}, {1, 5000}, {17, 123457}, {0, math.MaxUint64}, {math.MaxUint64 - 3, math.MaxUint64}} {
		ts := ticks(tc.lo, tc.hi)
		if len(ts) == 0 && tc.hi-tc.lo > 10 {
			t.Errorf("ticks(%d, %d): none", tc.lo, tc.hi)
		}
		if len(ts) > 10 {
			t.Errorf("ticks(%d, %d): %d ticks", tc.lo, tc.hi, len(ts))
		}
		for i, b := range ts {
			if b < tc.lo || b > tc.hi || (i > 0 && b <= ts[i-1]) {
				t.Errorf("ticks(%d, %d) = %v", tc.lo, tc.hi, ts)
				break
			}
		}
	}
}
