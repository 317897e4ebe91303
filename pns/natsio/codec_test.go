package natsio

import (
	"errors"
	"math"
	"testing"

	"github.com/spikemesh/spikemesh/pns"
)

func samplePoints() pns.Points {
	return pns.Points{X: []uint32{1, 0}, Y: []uint32{2, 1}, Z: []uint32{0, 0}, P: []float32{0.5, 200}}
}

func TestProtoRoundTrip(t *testing.T) {
	in := pns.Frame{Area: "c__lef", Burst: 42, Points: samplePoints()}
	data, err := AppendSensorFrame(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	var out pns.Frame
	if err := DecodeSensorFrame(data, pns.Limits{}, &out); err != nil {
		t.Fatal(err)
	}
	if !equalFrames(in, out) {
		t.Errorf("sensor round trip: got %+v, want %+v", out, in)
	}
	data, err = AppendMotorFrame(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	out = pns.Frame{}
	if err := DecodeMotorFrame(data, pns.Limits{}, &out); err != nil {
		t.Fatal(err)
	}
	if !equalFrames(in, out) {
		t.Errorf("motor round trip: got %+v, want %+v", out, in)
	}
}

func TestProtoDecodeRejects(t *testing.T) {
	good, _ := AppendSensorFrame(nil, &pns.Frame{Area: "c__lef", Points: samplePoints()})
	ragged, _ := AppendSensorFrame(nil, &pns.Frame{Area: "c__lef"})
	ragged = append(ragged, 0x1a, 0x03, 0x0a, 0x01, 0x07) // points{x:[7]} only
	cases := []struct {
		name string
		data []byte
		lim  pns.Limits
		want error
	}{
		{"garbage", []byte{0xff, 0xff, 0xff}, pns.Limits{}, pns.ErrMalformed},
		{"truncated", good[:len(good)-1], pns.Limits{}, pns.ErrMalformed},
		{"container", []byte{4, 0, 0, 0}, pns.Limits{}, pns.ErrMalformed},
		{"bad utf-8 area", []byte{0x0a, 0x01, 0xff}, pns.Limits{}, pns.ErrMalformed},
		{"ragged arrays", ragged, pns.Limits{}, pns.ErrMalformed},
		{"too many bytes", good, pns.Limits{MaxFrameBytes: len(good) - 1}, pns.ErrOversized},
		{"too many points", good, pns.Limits{MaxPoints: 1}, pns.ErrOversized},
	}
	for _, c := range cases {
		var f pns.Frame
		if err := DecodeSensorFrame(c.data, c.lim, &f); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestContainerID(t *testing.T) {
	for in, want := range map[string]string{
		"c__lef":       "c__lef__",
		"CIHMot":       "CIHMot__",
		"abcdefgh":     "abcdefgh",
		"X19fcG93ZXI=": "___power",
		"X19fcG93ZXI":  "___power",
	} {
		id, err := ContainerID(in)
		if err != nil || string(id[:]) != want {
			t.Errorf("ContainerID(%q) = %q, %v; want %q", in, id[:], err, want)
		}
	}
	for _, bad := range []string{"", "omot00", "i__inf", "_power", "toolongname", "a b"} {
		if id, err := ContainerID(bad); err == nil {
			t.Errorf("ContainerID(%q) = %q, want an error", bad, id[:])
		}
	}
}

// FuzzDecodeSensorFrame: no input panics, every error has a kind, and what
// decodes re-encodes to a frame that decodes the same.
func FuzzDecodeSensorFrame(f *testing.F) {
	good, _ := AppendSensorFrame(nil, &pns.Frame{Area: "c__lef", Burst: 3, Points: samplePoints()})
	f.Add(good)
	empty, _ := AppendSensorFrame(nil, &pns.Frame{Area: "X19fcG93ZXI="})
	f.Add(empty)
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x03, 0x0a, 0x01, 0x07})
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	lim := pns.Limits{MaxFrameBytes: 1 << 16, MaxPoints: 1 << 12}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr pns.Frame
		err := DecodeSensorFrame(data, lim, &fr)
		if err != nil {
			if _, ok := pns.KindOf(err); !ok {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		enc, err := AppendSensorFrame(nil, &fr)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		var again pns.Frame
		if err := DecodeSensorFrame(enc, lim, &again); err != nil {
			t.Fatalf("decoding re-encoded frame: %v", err)
		}
		if !equalFrames(fr, again) {
			t.Fatalf("round trip differs: %+v vs %+v", fr, again)
		}
	})
}

func equalFrames(a, b pns.Frame) bool {
	if a.Area != b.Area || a.Burst != b.Burst || a.Points.Len() != b.Points.Len() {
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
