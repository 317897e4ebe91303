package ckpt

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

func TestSplitRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		blob := rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(t, "blob")
		max := rapid.IntRange(1, 700).Draw(t, "max")
		burst := rapid.Uint64().Draw(t, "burst")
		area := rapid.IntRange(Coordinator, 50).Draw(t, "area")
		parts, err := Split(burst, area, blob, max)
		if err != nil {
			t.Fatal(err)
		}
		want := (len(blob) + max - 1) / max
		if want == 0 {
			want = 1
		}
		if len(parts) != want {
			t.Fatalf("%d parts of a %d-byte blob cut at %d, want %d", len(parts), len(blob), max, want)
		}
		var joined []byte
		for i, p := range parts {
			if p.Burst != burst || p.Area != area || p.Total != uint32(len(blob)) {
				t.Fatalf("part %d: %+v, want burst %d area %d total %d", i, p, burst, area, len(blob))
			}
			if int(p.Offset) != len(joined) {
				t.Fatalf("part %d at offset %d, want %d", i, p.Offset, len(joined))
			}
			if len(p.Data) > max || (len(p.Data) == 0 && len(blob) > 0) {
				t.Fatalf("part %d holds %d bytes, max %d", i, len(p.Data), max)
			}
			if cap(p.Data) != len(p.Data) {
				t.Fatalf("part %d: capacity %d beyond its %d bytes lets an append overwrite the next part", i, cap(p.Data), len(p.Data))
			}
			joined = append(joined, p.Data...)
		}
		if !bytes.Equal(joined, blob) {
			t.Fatalf("joined parts differ from the blob")
		}
	})
}

func TestSplitBadSize(t *testing.T) {
	for _, max := range []int{0, -1} {
		if parts, err := Split(3, 1, []byte{1, 2}, max); err == nil {
			t.Errorf("Split with max %d: %v, want an error", max, parts)
		}
	}
}
