package actors

import (
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

func TestCodecMatchesGenerated(t *testing.T) {
	cases := []struct {
		fired []uint32
		pots  []float32
	}{
		{nil, nil},
		{[]uint32{0}, nil},
		{[]uint32{0, 1, 2, 200, 70000, math.MaxUint32}, nil},
		{[]uint32{3, 9, 127, 128}, []float32{1.5, -2, float32(math.Inf(1)), 0}},
	}
	for _, c := range cases {
		data := appendBatch(nil, batchHeader{brain: "brain", burst: 12, src: 3, run: 1 << 40, epoch: 7}, c.fired, c.pots)
		var m brainv1.SpikeBatch
		if err := proto.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		var fired []uint32
		prev := uint32(0)
		for _, d := range m.FiredDelta {
			prev += d
			fired = append(fired, prev)
		}
		if m.Burst != 12 || m.SrcArea != 3 || m.DstArea != 0 || m.Brain != "brain" || m.Run != 1<<40 || m.Epoch != 7 ||
			!slices.Equal(fired, c.fired) || !slices.Equal(m.Potentials, c.pots) {
			t.Fatalf("generated code reads %v, want fired %v potentials %v", &m, c.fired, c.pots)
		}
		// And back: the generated encoding decodes the same.
		gen, err := proto.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		h, err := decodeHeader(gen)
		if err != nil || h.burst != 12 || h.src != 3 || h.dst != 0 || h.brain != "brain" || h.run != 1<<40 || h.epoch != 7 {
			t.Fatalf("header %+v, %v", h, err)
		}
		f, p, err := decodeBody(gen, nil, nil)
		if err != nil || !slices.Equal(f, c.fired) || !slices.Equal(p, c.pots) {
			t.Fatalf("body %v %v %v, want %v %v", f, p, err, c.fired, c.pots)
		}
	}
}

func TestCodecRejectsGarbage(t *testing.T) {
	good := appendBatch(nil, batchHeader{brain: "b", burst: 5, src: 1, dst: 2, run: 3, epoch: 4}, []uint32{1, 5, 9}, []float32{1, 2, 3})
	for i := range len(good) {
		// Truncations must fail or decode a prefix, never panic.
		_, _ = decodeHeader(good[:i])
		_, _, _ = decodeBody(good[:i], nil, nil)
	}
	// Not ascending: deltas 5, 0.
	bad := appendBatch(nil, batchHeader{burst: 1, src: 1, dst: 1}, nil, nil)
	bad = append(bad, 0x22, 2, 5, 0)
	if _, _, err := decodeBody(bad, nil, nil); err == nil {
		t.Fatal("repeated index accepted")
	}
	if _, err := decodeHeader([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("garbage accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(appendBatch(nil, batchHeader{brain: "b", burst: 5, src: 1, dst: 2, run: 3, epoch: 4}, []uint32{1, 5, 9}, []float32{1, 2, 3}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeHeader(data)
		_, _, _ = decodeBody(data, nil, nil)
	})
}
