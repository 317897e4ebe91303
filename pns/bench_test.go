package pns

import "testing"

// benchPoints is a 64×64 single-channel image worth of points.
func benchPoints() *Points {
	var p Points
	for x := range uint32(64) {
		for y := range uint32(64) {
			p.Append(x, y, 0, float32(x+y+1))
		}
	}
	return &p
}

func BenchmarkIntakeOfferTake(b *testing.B) {
	in := NewIntake([]Area{{ID: idA, Geometry: Geometry{Dims: [3]uint32{64, 64, 1}, PerVoxel: 1}}}, nil, Limits{})
	p := benchPoints()
	b.ReportAllocs()
	b.SetBytes(int64(p.Len() * bytesPerPoint))
	for i := 0; b.Loop(); i++ {
		_ = in.OfferIndex(0, 0, p)
		in.Take(uint64(i + 1))
	}
	b.ReportMetric(float64(p.Len())*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

func BenchmarkDecodeContainer(b *testing.B) {
	data, err := AppendContainer(nil, ContainerHeader{}, []AreaPoints{{ID: idA, Points: *benchPoints()}})
	if err != nil {
		b.Fatal(err)
	}
	var dst []AreaPoints
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_, dst, err = DecodeContainer(data, Limits{}, dst)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendContainer(b *testing.B) {
	areas := []AreaPoints{{ID: idA, Points: *benchPoints()}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendContainer(buf[:0], ContainerHeader{}, areas)
	}
	b.SetBytes(int64(len(buf)))
}
