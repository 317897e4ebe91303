package actors

import (
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
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
		// Long runs of one-byte deltas (read eight at a time), broken by
		// longer ones at every offset within eight.
		{batchOf(100_000, 7), nil},
		{mixedGaps(5000), nil},
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
	f.Add(appendBatch(nil, batchHeader{burst: 1}, mixedGaps(40), nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeHeader(data)
		fired, pots, err := decodeBody(data, nil, nil)
		// What the generated code reads, the hand-written decoder reads the
		// same.
		var m brainv1.SpikeBatch
		if proto.Unmarshal(data, &m) != nil {
			return
		}
		var want []uint32
		prev := uint32(0)
		for _, d := range m.FiredDelta {
			prev += d
			want = append(want, prev)
		}
		ascending := true
		for i := 1; i < len(want); i++ {
			ascending = ascending && want[i] > want[i-1]
		}
		if !ascending {
			if err == nil {
				t.Fatalf("decodeBody took indices not ascending: %v", want)
			}
			return
		}
		bits := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) } // NaN too
		if err != nil || !slices.Equal(fired, want) || !slices.EqualFunc(pots, m.Potentials, bits) {
			t.Fatalf("decodeBody: %v %v %v; generated: %v %v", fired, pots, err, want, m.Potentials)
		}
	})
}

// batchOf is a batch from an area of n neurons with every k-th neuron
// about firing (a fixed pattern of gaps around k).
func batchOf(n, k uint32) []uint32 {
	var fired []uint32
	for i, g := uint32(0), uint32(0); i < n; i += k - 1 + g%3 {
		fired = append(fired, i)
		g++
	}
	return fired
}

// mixedGaps is n ascending indices whose gaps are mostly under 128 with one
// of 1, 2 or 3 bytes' worth here and there, at shifting offsets.
func mixedGaps(n int) []uint32 {
	fired := make([]uint32, n)
	v := uint32(0)
	for i := range fired {
		switch {
		case i%11 == 5:
			v += 300
		case i%29 == 3:
			v += 70_000
		default:
			v += 1 + uint32(i*37)%127
		}
		fired[i] = v
	}
	return fired
}

// BenchmarkBatchCodec: encoding and decoding (with the receiver's check)
// one batch of an area of 100K neurons of which about 15 % fired (the
// compute-heavy synthetic brain's batches).
func BenchmarkBatchCodec(b *testing.B) {
	const n = 100_000
	fired := batchOf(n, 7)
	h := batchHeader{brain: "brain", burst: 12, src: 3, run: 1 << 40, epoch: 7}
	data := appendBatch(nil, h, fired, nil)
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, len(data))
		b.SetBytes(int64(4 * len(fired)))
		for b.Loop() {
			buf = appendBatch(buf[:0], h, fired, nil)
		}
	})
	b.Run("decode", func(b *testing.B) {
		out := make([]uint32, 0, len(fired))
		b.SetBytes(int64(4 * len(fired)))
		for b.Loop() {
			var err error
			out, _, err = decodeBody(data, out[:0], nil)
			if err != nil || out[len(out)-1] >= n {
				b.Fatal("bad batch")
			}
		}
	})
}

// decodeBody takes indices that ascend strictly and refuses the rest,
// wherever the offending delta falls among runs of one-byte deltas.
func TestDecodeOrder(t *testing.T) {
	packed := func(deltas ...uint64) []byte {
		var body []byte
		for _, d := range deltas {
			body = protowire.AppendVarint(body, d)
		}
		b := protowire.AppendTag(nil, fieldFiredDelta, protowire.BytesType)
		return protowire.AppendBytes(b, body)
	}
	ones := func(n int) []uint64 { return slices.Repeat([]uint64{1}, n) }
	for name, c := range map[string]struct {
		deltas []uint64
		ok     bool
	}{
		"neuron 0 first":        {append([]uint64{0}, ones(20)...), true},
		"a repeat after eight":  {append(append(ones(8), 0), ones(8)...), false},
		"a repeat inside eight": {append(append(ones(11), 0), ones(12)...), false},
		"a repeat at the end":   {append(ones(16), 0), false},
		"up to the last index":  {append([]uint64{1<<32 - 1 - 20}, ones(20)...), true},
		"past the last index":   {append([]uint64{1<<32 - 1 - 20}, ones(21)...), false},
		"past it inside eight":  {append([]uint64{1<<32 - 5}, ones(8)...), false},
		"a long delta wraps":    {[]uint64{5, 1<<32 - 3}, false},
		"a long delta is kept":  {append([]uint64{5, 1 << 31}, ones(9)...), true},
		"truncated to 32 bits":  {[]uint64{5, 1<<32 + 1}, true},
		"truncated to a repeat": {[]uint64{5, 1 << 32}, false},
	} {
		got, _, err := decodeBody(packed(c.deltas...), nil, nil)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok %v", name, err, c.ok)
			continue
		}
		if c.ok {
			want, prev := make([]uint32, len(c.deltas)), uint32(0)
			for k, d := range c.deltas {
				prev += uint32(d)
				want[k] = prev
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
	}
	// Two fields: the second goes on from the first, and must ascend from it.
	two := append(packed(3, 4), packed(1, 1)...)
	if got, _, err := decodeBody(two, nil, nil); err != nil || !slices.Equal(got, []uint32{3, 7, 8, 9}) {
		t.Errorf("two fields: %v %v", got, err)
	}
	if _, _, err := decodeBody(append(packed(3, 4), packed(0)...), nil, nil); err == nil {
		t.Error("two fields: a repeat across them was taken")
	}
}
