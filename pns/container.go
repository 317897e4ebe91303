package pns

import (
	"encoding/binary"
	"fmt"
	"math"
)

// FEAGI byte container constants (docs/semantics.md §6.1; feagi-serialization,
// container code version 4).
const (
	ContainerVersion   = 4  // byte 0 of every container
	StructureJSON      = 1  // structure type: UTF-8 JSON
	StructureXYZP      = 11 // structure type: NeuronCategoricalXYZP
	structureXYZPVer   = 1  // the only NeuronCategoricalXYZP version
	containerHeaderLen = 12 // version, counter, count, session
	xyzpAreaHeaderLen  = 16 // 8-byte ID, u32 start, u32 length
	bytesPerPoint      = 16 // x, y, z u32 and p f32
)

// ContainerHeader is the part of a container's header that is not layout.
type ContainerHeader struct {
	Counter uint16  // FEAGI's increment counter
	Session [8]byte // agent/session identifier
}

// AreaPoints is the XYZP of one area in a container.
type AreaPoints struct {
	ID     ID
	Points Points
}

// IsContainer reports whether data is meant as a FEAGI byte container: its
// first byte is the container version 4. A protobuf message never starts
// with byte 4 (it would be field 0 with the deprecated group wire type), so
// the two encodings are told apart by content.
func IsContainer(data []byte) bool { return len(data) > 0 && data[0] == ContainerVersion }

// DecodeContainer decodes a FEAGI byte container whose structures are all
// NeuronCategoricalXYZP. The areas are appended to dst[:0], reusing the
// capacity of its Points; the returned slice and its arrays belong to the
// caller. Bad bytes are an error wrapping ErrMalformed, ErrOversized when
// lim is exceeded (lim's zero fields take their defaults); it never panics.
// An area ID may appear only once per container.
func DecodeContainer(data []byte, lim Limits, dst []AreaPoints) (ContainerHeader, []AreaPoints, error) {
	lim = lim.OrDefaults()
	dst = dst[:0]
	var h ContainerHeader
	if len(data) > lim.MaxFrameBytes {
		return h, dst, fmt.Errorf("%w: container of %d bytes exceeds the limit of %d", ErrOversized, len(data), lim.MaxFrameBytes)
	}
	if len(data) < containerHeaderLen {
		return h, dst, fmt.Errorf("%w: container of %d bytes is shorter than its %d-byte header", ErrMalformed, len(data), containerHeaderLen)
	}
	if data[0] != ContainerVersion {
		return h, dst, fmt.Errorf("%w: container version %d, want %d", ErrMalformed, data[0], ContainerVersion)
	}
	h.Counter = binary.LittleEndian.Uint16(data[1:3])
	copy(h.Session[:], data[4:12])
	count := int(data[3])
	body := containerHeaderLen + 4*count
	if len(data) < body {
		return h, dst, fmt.Errorf("%w: container declares %d structures but its %d bytes cannot hold their lengths", ErrMalformed, count, len(data))
	}
	var total uint64
	for i := range count {
		total += uint64(binary.LittleEndian.Uint32(data[containerHeaderLen+4*i:]))
	}
	if total != uint64(len(data)-body) {
		return h, dst, fmt.Errorf("%w: container structures declare %d bytes, %d follow the header", ErrMalformed, total, len(data)-body)
	}
	points := 0
	off := body
	for i := range count {
		n := int(binary.LittleEndian.Uint32(data[containerHeaderLen+4*i:]))
		s := data[off : off+n]
		off += n
		if len(s) < 2 {
			return h, dst, fmt.Errorf("%w: structure %d has %d bytes, fewer than its 2-byte header", ErrMalformed, i, len(s))
		}
		if s[0] != StructureXYZP {
			return h, dst, fmt.Errorf("%w: structure %d has type %d; sensor data is XYZP (type %d) only", ErrMalformed, i, s[0], StructureXYZP)
		}
		if s[1] != structureXYZPVer {
			return h, dst, fmt.Errorf("%w: structure %d: XYZP version %d, want %d", ErrMalformed, i, s[1], structureXYZPVer)
		}
		var err error
		if dst, err = decodeXYZP(s, i, lim, dst, &points); err != nil {
			return h, dst, err
		}
	}
	return h, dst, nil
}

// decodeXYZP decodes one NeuronCategoricalXYZP structure s (header included)
// and appends its areas to dst. points counts the points of the container.
func decodeXYZP(s []byte, index int, lim Limits, dst []AreaPoints, points *int) ([]AreaPoints, error) {
	if len(s) < 4 {
		return dst, fmt.Errorf("%w: structure %d: %d bytes cannot hold the area count", ErrMalformed, index, len(s))
	}
	areas := int(binary.LittleEndian.Uint16(s[2:4]))
	if len(dst)+areas > lim.MaxAreas {
		return dst, fmt.Errorf("%w: container holds more than %d areas", ErrOversized, lim.MaxAreas)
	}
	headersEnd := 4 + xyzpAreaHeaderLen*areas
	if len(s) < headersEnd {
		return dst, fmt.Errorf("%w: structure %d declares %d areas but its %d bytes cannot hold their headers", ErrMalformed, index, areas, len(s))
	}
	for a := range areas {
		hdr := s[4+xyzpAreaHeaderLen*a:]
		var id ID
		copy(id[:], hdr[:8])
		start := uint64(binary.LittleEndian.Uint32(hdr[8:12]))
		length := uint64(binary.LittleEndian.Uint32(hdr[12:16]))
		if length%bytesPerPoint != 0 {
			return dst, fmt.Errorf("%w: structure %d area %s: data length %d is not a multiple of %d", ErrMalformed, index, id, length, bytesPerPoint)
		}
		if start < uint64(headersEnd) || start+length > uint64(len(s)) {
			return dst, fmt.Errorf("%w: structure %d area %s: data [%d, %d) outside the structure's data section [%d, %d)",
				ErrMalformed, index, id, start, start+length, headersEnd, len(s))
		}
		if hasID(dst, id) {
			return dst, fmt.Errorf("%w: structure %d: area %s appears twice", ErrMalformed, index, id)
		}
		n := int(length / bytesPerPoint)
		if *points += n; *points > lim.MaxPoints {
			return dst, fmt.Errorf("%w: container holds more than %d points", ErrOversized, lim.MaxPoints)
		}
		dst = grow(dst)
		ap := &dst[len(dst)-1]
		ap.ID = id
		readPoints(&ap.Points, s[start:start+length], n)
	}
	return dst, nil
}

// hasID reports whether id is among the areas decoded so far. Containers hold
// few areas; the limit MaxAreas bounds the quadratic worst case.
func hasID(areas []AreaPoints, id ID) bool {
	for i := range areas {
		if areas[i].ID == id {
			return true
		}
	}
	return false
}

// grow extends dst by one element, reusing the element's arrays when the
// capacity allows.
func grow(dst []AreaPoints) []AreaPoints {
	if len(dst) < cap(dst) {
		dst = dst[:len(dst)+1]
		dst[len(dst)-1].Points.Reset()
		return dst
	}
	return append(dst, AreaPoints{})
}

// readPoints fills p from n points laid out as all x, all y, all z, all p.
func readPoints(p *Points, b []byte, n int) {
	p.X = readU32(p.X[:0], b[0:4*n])
	p.Y = readU32(p.Y[:0], b[4*n:8*n])
	p.Z = readU32(p.Z[:0], b[8*n:12*n])
	p.P = p.P[:0]
	for i := 0; i < 4*n; i += 4 {
		p.P = append(p.P, math.Float32frombits(binary.LittleEndian.Uint32(b[12*n+i:])))
	}
}

func readU32(dst []uint32, b []byte) []uint32 {
	for i := 0; i+4 <= len(b); i += 4 {
		dst = append(dst, binary.LittleEndian.Uint32(b[i:]))
	}
	return dst
}

// AppendContainer appends to dst a FEAGI byte container (version 4) holding
// one NeuronCategoricalXYZP structure with the given areas, in the given
// order, data blocks back to back as FEAGI writes them. It fails on Points
// whose arrays differ in length, on a repeated ID, and on sizes the format
// cannot express (more than 65,535 areas, a structure over 4 GiB).
func AppendContainer(dst []byte, h ContainerHeader, areas []AreaPoints) ([]byte, error) {
	if len(areas) > math.MaxUint16 {
		return dst, fmt.Errorf("pns: container of %d areas: at most %d fit", len(areas), math.MaxUint16)
	}
	size := uint64(4 + xyzpAreaHeaderLen*len(areas))
	for i := range areas {
		if err := areas[i].Points.Check(); err != nil {
			return dst, fmt.Errorf("pns: encoding area %s: %w", areas[i].ID, err)
		}
		if hasID(areas[:i], areas[i].ID) {
			return dst, fmt.Errorf("pns: encoding container: area %s appears twice", areas[i].ID)
		}
		size += uint64(bytesPerPoint * areas[i].Points.Len())
	}
	if size > math.MaxUint32 {
		return dst, fmt.Errorf("pns: container structure of %d bytes exceeds the format's 4 GiB", size)
	}
	le := binary.LittleEndian
	dst = append(dst, ContainerVersion)
	dst = le.AppendUint16(dst, h.Counter)
	dst = append(dst, 1) // one structure
	dst = append(dst, h.Session[:]...)
	dst = le.AppendUint32(dst, uint32(size))
	dst = append(dst, StructureXYZP, structureXYZPVer)
	dst = le.AppendUint16(dst, uint16(len(areas)))
	start := uint32(4 + xyzpAreaHeaderLen*len(areas))
	for i := range areas {
		length := uint32(bytesPerPoint * areas[i].Points.Len())
		dst = append(dst, areas[i].ID[:]...)
		dst = le.AppendUint32(dst, start)
		dst = le.AppendUint32(dst, length)
		start += length
	}
	for i := range areas {
		p := &areas[i].Points
		for _, a := range [3][]uint32{p.X, p.Y, p.Z} {
			for _, v := range a {
				dst = le.AppendUint32(dst, v)
			}
		}
		for _, v := range p.P {
			dst = le.AppendUint32(dst, math.Float32bits(v))
		}
	}
	return dst, nil
}
