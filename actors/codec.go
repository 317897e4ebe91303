package actors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/spikemesh/spikemesh/npu"
)

// The wire form of a spike batch is brainv1.SpikeBatch (proto/brain/v1),
// written and read here with protowire so that the hot path allocates
// nothing and decodes straight into the receiver's buffers. codec_test.go
// checks both directions against the generated code.
const (
	fieldBurst      = 1
	fieldSrcArea    = 2
	fieldDstArea    = 3
	fieldFiredDelta = 4
	fieldPotentials = 5
	fieldBrain      = 6
	fieldRun        = 7
	fieldEpoch      = 8
)

var errBadBatch = errors.New("malformed spike batch")

// appendBatch appends the encoding of one SpikeBatch with header h to buf.
// fired must be ascending; potentials is nil or parallel to fired.
func appendBatch(buf []byte, h batchHeader, fired []uint32, potentials []float32) []byte {
	for _, f := range [...]struct {
		num protowire.Number
		v   uint64
	}{{fieldBurst, h.burst}, {fieldSrcArea, uint64(h.src)}, {fieldDstArea, uint64(h.dst)}} {
		if f.v != 0 {
			buf = protowire.AppendTag(buf, f.num, protowire.VarintType)
			buf = protowire.AppendVarint(buf, f.v)
		}
	}
	if len(fired) > 0 {
		buf = protowire.AppendTag(buf, fieldFiredDelta, protowire.BytesType)
		buf = appendDeltas(buf, fired)
	}
	if len(potentials) > 0 {
		buf = protowire.AppendTag(buf, fieldPotentials, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(4*len(potentials)))
		for _, p := range potentials {
			buf = protowire.AppendFixed32(buf, math.Float32bits(p))
		}
	}
	if h.brain != "" {
		buf = protowire.AppendTag(buf, fieldBrain, protowire.BytesType)
		buf = protowire.AppendString(buf, h.brain)
	}
	for _, f := range [...]struct {
		num protowire.Number
		v   uint64
	}{{fieldRun, h.run}, {fieldEpoch, h.epoch}} {
		if f.v != 0 {
			buf = protowire.AppendTag(buf, f.num, protowire.VarintType)
			buf = protowire.AppendVarint(buf, f.v)
		}
	}
	return buf
}

// appendDeltas appends fired (ascending) as the length-delimited body of a
// packed field of varint deltas. It writes the deltas in one pass after
// room for the longest length prefix they can need, then moves them next
// to the real one: most deltas of a busy area take one byte, and that
// path stores one byte and moves on.
func appendDeltas(buf []byte, fired []uint32) []byte {
	most := 5 * len(fired)
	room := protowire.SizeVarint(uint64(most))
	at := len(buf)
	buf = slices.Grow(buf, room+most)[:at+room+most]
	out := buf[at+room:]
	j, prev := 0, uint32(0)
	for _, f := range fired {
		d := f - prev
		prev = f
		if d < 0x80 {
			out[j] = byte(d)
			j++
			continue
		}
		for d >= 0x80 {
			out[j] = byte(d) | 0x80
			d >>= 7
			j++
		}
		out[j] = byte(d)
		j++
	}
	buf = protowire.AppendVarint(buf[:at], uint64(j))
	n := copy(buf[len(buf):cap(buf)], out[:j])
	return buf[:len(buf)+n]
}

// deltaSums turns the varint deltas of a SpikeBatch's fired field back into
// indices, checking as it goes that they ascend strictly: every delta after
// the first index is at least 1 and no sum passes 2^32 - 1.
type deltaSums struct {
	prev    uint32 // the last index
	started bool   // an index was taken
	bad     bool   // an index did not ascend
}

// add takes one delta.
func (u *deltaSums) add(d uint32) uint32 {
	next := u.prev + d
	u.bad = u.bad || u.started && (d == 0 || next < u.prev)
	u.prev, u.started = next, true
	return next
}

// appendPacked appends the indices of the packed deltas to fired; n < 0
// when packed ends inside a varint. Every delta takes at least one byte, so
// fired grows once, by len(packed) at most. Eight one-byte deltas that are
// none of them 0, where no sum can pass 2^32 - 1, are taken in one step.
func (u *deltaSums) appendPacked(fired []uint32, packed []byte) ([]uint32, int) {
	const most = 1<<32 - 1 - 8*0x7f
	at := len(fired)
	fired = slices.Grow(fired, len(packed))
	out := fired[at : at+len(packed)]
	j := 0
	for i := 0; i < len(packed); {
		if i+8 <= len(packed) && u.prev <= most {
			w := binary.LittleEndian.Uint64(packed[i:])
			if w&0x8080808080808080 == 0 && (w-0x0101010101010101)&0x8080808080808080 == 0 {
				o := out[j : j+8]
				p0 := u.prev + uint32(w&0xff)
				p1 := p0 + uint32(w>>8&0xff)
				p2 := p1 + uint32(w>>16&0xff)
				p3 := p2 + uint32(w>>24&0xff)
				p4 := p3 + uint32(w>>32&0xff)
				p5 := p4 + uint32(w>>40&0xff)
				p6 := p5 + uint32(w>>48&0xff)
				u.prev, u.started = p6+uint32(w>>56), true
				o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = p0, p1, p2, p3, p4, p5, p6, u.prev
				i += 8
				j += 8
				continue
			}
		}
		if b := packed[i]; b < 0x80 {
			out[j] = u.add(uint32(b))
			i++
			j++
			continue
		}
		v, n := protowire.ConsumeVarint(packed[i:])
		if n < 0 {
			return fired[:at+j], -1
		}
		out[j] = u.add(uint32(v))
		i += n
		j++
	}
	return fired[:at+j], 0
}

// batchHeader is the scalar part of a SpikeBatch.
type batchHeader struct {
	burst      npu.Burst
	src, dst   uint32
	brain      string
	run, epoch uint64
}

// decodeHeader reads the scalar fields of an encoded SpikeBatch.
func decodeHeader(data []byte) (batchHeader, error) {
	var h batchHeader
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return h, errBadBatch
		}
		data = data[n:]
		if typ == protowire.VarintType && (num <= fieldDstArea || num == fieldRun || num == fieldEpoch) {
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return h, errBadBatch
			}
			data = data[n:]
			switch num {
			case fieldBurst:
				h.burst = v
			case fieldSrcArea:
				h.src = uint32(v)
			case fieldDstArea:
				h.dst = uint32(v)
			case fieldRun:
				h.run = v
			case fieldEpoch:
				h.epoch = v
			}
			continue
		}
		if num == fieldBrain && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return h, errBadBatch
			}
			h.brain = string(v)
			data = data[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return h, errBadBatch
		}
		data = data[n:]
	}
	return h, nil
}

// decodeBody appends the fired indices (un-delta-encoded) and potentials of
// an encoded SpikeBatch to fired and potentials. Packed and unpacked
// encodings are both accepted, as proto3 requires.
func decodeBody(data []byte, fired []uint32, potentials []float32) ([]uint32, []float32, error) {
	var u deltaSums
	at := len(fired)
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fired, potentials, errBadBatch
		}
		data = data[n:]
		switch {
		case num == fieldFiredDelta && typ == protowire.BytesType:
			packed, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return fired, potentials, errBadBatch
			}
			data = data[n:]
			if fired, n = u.appendPacked(fired, packed); n < 0 {
				return fired, potentials, errBadBatch
			}
		case num == fieldFiredDelta && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return fired, potentials, errBadBatch
			}
			data = data[n:]
			fired = append(fired, u.add(uint32(v)))
		case num == fieldPotentials && typ == protowire.BytesType:
			packed, n := protowire.ConsumeBytes(data)
			if n < 0 || len(packed)%4 != 0 {
				return fired, potentials, errBadBatch
			}
			data = data[n:]
			for i := 0; i < len(packed); i += 4 {
				v, _ := protowire.ConsumeFixed32(packed[i:])
				potentials = append(potentials, math.Float32frombits(v))
			}
		case num == fieldPotentials && typ == protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(data)
			if n < 0 {
				return fired, potentials, errBadBatch
			}
			data = data[n:]
			potentials = append(potentials, math.Float32frombits(v))
		default:
			n := protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return fired, potentials, errBadBatch
			}
			data = data[n:]
		}
	}
	if u.bad || at > 0 && len(fired) > at && fired[at] <= fired[at-1] {
		return fired, potentials, fmt.Errorf("%w: fired indices not ascending", errBadBatch)
	}
	return fired, potentials, nil
}

// SpikeBatchHeader is the scalar part of an encoded SpikeBatch.
type SpikeBatchHeader struct {
	Burst      npu.Burst
	Src, Dst   uint32
	Brain      string
	Run, Epoch uint64
}

// AppendSpikeBatch appends the protobuf encoding of a brainv1.SpikeBatch to
// buf without allocating: fired (ascending) delta-encoded, potentials nil or
// parallel to fired.
func AppendSpikeBatch(buf []byte, brain string, burst npu.Burst, src, dst int, fired []uint32, potentials []float32) []byte {
	return appendBatch(buf, batchHeader{burst: burst, src: uint32(src), dst: uint32(dst), brain: brain}, fired, potentials)
}

// DecodeSpikeBatch decodes an encoded brainv1.SpikeBatch, appending its
// fired indices (decoded from deltas) and potentials to the slices given.
func DecodeSpikeBatch(data []byte, fired []uint32, potentials []float32) (SpikeBatchHeader, []uint32, []float32, error) {
	h, err := decodeHeader(data)
	if err != nil {
		return SpikeBatchHeader{}, fired, potentials, err
	}
	fired, potentials, err = decodeBody(data, fired, potentials)
	return SpikeBatchHeader{Burst: h.burst, Src: h.src, Dst: h.dst, Brain: h.brain, Run: h.run, Epoch: h.epoch}, fired, potentials, err
}
