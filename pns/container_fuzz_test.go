package pns

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeContainer: no input panics; every error has a kind; whatever
// decodes re-encodes to bytes that decode to the same areas.
func FuzzDecodeContainer(f *testing.F) {
	f.Add(handContainer())
	one, _ := AppendContainer(nil, ContainerHeader{Counter: 7}, handAreas()[:1])
	f.Add(one)
	empty, _ := AppendContainer(nil, ContainerHeader{}, nil)
	f.Add(empty)
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 11, 1, 11, 1})
	f.Add([]byte("garbage"))
	lim := Limits{MaxFrameBytes: 1 << 16, MaxPoints: 1 << 12, MaxAreas: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, areas, err := DecodeContainer(data, lim, nil)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOversized) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		enc, err := AppendContainer(nil, ContainerHeader{}, areas)
		if err != nil {
			t.Fatalf("re-encoding decoded areas: %v", err)
		}
		_, again, err := DecodeContainer(enc, lim, nil)
		if err != nil {
			t.Fatalf("decoding re-encoded container: %v", err)
		}
		if len(again) != len(areas) {
			t.Fatalf("round trip: %d areas, want %d", len(again), len(areas))
		}
		for i := range areas {
			if !equalAreas(areas[i], again[i]) {
				t.Fatalf("round trip area %d differs", i)
			}
		}
		enc2, _ := AppendContainer(nil, ContainerHeader{}, again)
		if !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not stable")
		}
	})
}
