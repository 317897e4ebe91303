package pns

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

var (
	idA = ID{'c', '_', '_', 'l', 'e', 'f', '_', '_'}
	idB = ID{'o', 'm', 'o', 't', 5, 0, 0, 0}
)

// handContainer builds, byte by byte from docs/semantics.md §6.1, a container with
// one XYZP structure: area A with points (1,2,3,0.5) and (4,5,6,-1), area B
// empty.
func handContainer() []byte {
	le := binary.LittleEndian
	var s []byte
	s = append(s, 11, 1)         // type NeuronCategoricalXYZP, version 1
	s = le.AppendUint16(s, 2)    // two areas
	s = append(s, idA[:]...)     // header A
	s = le.AppendUint32(s, 4+32) // data starts after both headers
	s = le.AppendUint32(s, 2*16) // two points
	s = append(s, idB[:]...)     // header B
	s = le.AppendUint32(s, 4+64) // after A's data
	s = le.AppendUint32(s, 0)    // no points
	s = le.AppendUint32(s, 1)    // all x
	s = le.AppendUint32(s, 4)
	s = le.AppendUint32(s, 2) // all y
	s = le.AppendUint32(s, 5)
	s = le.AppendUint32(s, 3) // all z
	s = le.AppendUint32(s, 6)
	s = le.AppendUint32(s, math.Float32bits(0.5)) // all p
	s = le.AppendUint32(s, math.Float32bits(-1))
	c := []byte{4}                 // container version
	c = le.AppendUint16(c, 0x1234) // increment counter
	c = append(c, 1)               // one structure
	c = append(c, 's', 'e', 's', 's', 'i', 'o', 'n', '8')
	c = le.AppendUint32(c, uint32(len(s)))
	return append(c, s...)
}

func handAreas() []AreaPoints {
	return []AreaPoints{
		{ID: idA, Points: Points{X: []uint32{1, 4}, Y: []uint32{2, 5}, Z: []uint32{3, 6}, P: []float32{0.5, -1}}},
		{ID: idB, Points: Points{X: []uint32{}, Y: []uint32{}, Z: []uint32{}, P: []float32{}}},
	}
}

func TestAppendContainerMatchesReferenceLayout(t *testing.T) {
	h := ContainerHeader{Counter: 0x1234, Session: [8]byte{'s', 'e', 's', 's', 'i', 'o', 'n', '8'}}
	got, err := AppendContainer(nil, h, handAreas())
	if err != nil {
		t.Fatal(err)
	}
	if want := handContainer(); !bytes.Equal(got, want) {
		t.Fatalf("AppendContainer =\n% x\nwant\n% x", got, want)
	}
}

func TestDecodeContainer(t *testing.T) {
	h, areas, err := DecodeContainer(handContainer(), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Counter != 0x1234 || string(h.Session[:]) != "session8" {
		t.Errorf("header = %+v", h)
	}
	want := handAreas()
	if len(areas) != len(want) {
		t.Fatalf("decoded %d areas, want %d", len(areas), len(want))
	}
	for i := range want {
		if !equalAreas(areas[i], want[i]) {
			t.Errorf("area %d = %+v, want %+v", i, areas[i], want[i])
		}
	}
	// Decoding again into the same slice reuses it.
	again, _, err := decodeAgain(areas)
	if err != nil || &again[0] != &areas[0] {
		t.Errorf("second decode did not reuse dst (err %v)", err)
	}
}

func decodeAgain(dst []AreaPoints) ([]AreaPoints, ContainerHeader, error) {
	h, a, err := DecodeContainer(handContainer(), Limits{}, dst)
	return a, h, err
}

// TestDecodeContainerOffsets accepts data blocks in any order inside the
// structure, as FEAGI's reader does.
func TestDecodeContainerOffsets(t *testing.T) {
	c := handContainer()
	// Swap: B's empty block at the very end is fine anywhere in range; point
	// it at the start of the data section instead.
	binary.LittleEndian.PutUint32(c[16+4+16+8:], 4+32)
	if _, _, err := DecodeContainer(c, Limits{}, nil); err != nil {
		t.Fatalf("empty block at the data start: %v", err)
	}
}

func TestDecodeContainerRejects(t *testing.T) {
	le := binary.LittleEndian
	base := handContainer()
	mod := func(f func(c []byte) []byte) []byte { return f(append([]byte(nil), base...)) }
	structAt := 16 // container header 12 + one length
	cases := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrMalformed},
		{"short header", base[:11], Limits{}, ErrMalformed},
		{"version 2", mod(func(c []byte) []byte { c[0] = 2; return c }), Limits{}, ErrMalformed},
		{"count beyond bytes", mod(func(c []byte) []byte { c[3] = 200; return c }), Limits{}, ErrMalformed},
		{"trailing byte", append(append([]byte(nil), base...), 0), Limits{}, ErrMalformed},
		{"truncated", base[:len(base)-1], Limits{}, ErrMalformed},
		{"length too big", mod(func(c []byte) []byte { le.PutUint32(c[12:], 0xffffffff); return c }), Limits{}, ErrMalformed},
		{"json structure", mod(func(c []byte) []byte { c[structAt] = 1; return c }), Limits{}, ErrMalformed},
		{"xyzp version 2", mod(func(c []byte) []byte { c[structAt+1] = 2; return c }), Limits{}, ErrMalformed},
		{"area count too big", mod(func(c []byte) []byte { le.PutUint16(c[structAt+2:], 9); return c }), Limits{}, ErrMalformed},
		{"length not multiple of 16", mod(func(c []byte) []byte { le.PutUint32(c[structAt+4+12:], 31); return c }), Limits{}, ErrMalformed},
		{"data inside headers", mod(func(c []byte) []byte { le.PutUint32(c[structAt+4+8:], 4); return c }), Limits{}, ErrMalformed},
		{"data past end", mod(func(c []byte) []byte { le.PutUint32(c[structAt+4+8:], 4+48); return c }), Limits{}, ErrMalformed},
		{"offset overflow", mod(func(c []byte) []byte { le.PutUint32(c[structAt+4+8:], 0xfffffff0); return c }), Limits{}, ErrMalformed},
		{"duplicate area", mod(func(c []byte) []byte { copy(c[structAt+4+16:], idA[:]); return c }), Limits{}, ErrMalformed},
		{"too many bytes", base, Limits{MaxFrameBytes: len(base) - 1}, ErrOversized},
		{"too many points", base, Limits{MaxPoints: 1}, ErrOversized},
		{"too many areas", base, Limits{MaxAreas: 1}, ErrOversized},
	}
	for _, c := range cases {
		_, _, err := DecodeContainer(c.data, c.lim, nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestAppendContainerRejects(t *testing.T) {
	bad := []AreaPoints{{ID: idA, Points: Points{X: []uint32{1}}}}
	if _, err := AppendContainer(nil, ContainerHeader{}, bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("ragged points: err = %v, want ErrMalformed", err)
	}
	dup := []AreaPoints{{ID: idA}, {ID: idA}}
	if _, err := AppendContainer(nil, ContainerHeader{}, dup); err == nil {
		t.Error("repeated ID: no error")
	}
}

func equalAreas(a, b AreaPoints) bool {
	if a.ID != b.ID || a.Points.Len() != b.Points.Len() {
		return false
	}
	for i := range a.Points.X {
		if a.Points.X[i] != b.Points.X[i] || a.Points.Y[i] != b.Points.Y[i] || a.Points.Z[i] != b.Points.Z[i] ||
			math.Float32bits(a.Points.P[i]) != math.Float32bits(b.Points.P[i]) {
			return false
		}
	}
	return true
}
