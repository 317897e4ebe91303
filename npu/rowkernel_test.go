package npu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The row kernels (rows_amd64.s) equal addUniformRows bit for bit, for
// 16-bit and 32-bit targets: sums (NaNs, infinities and wrapping int32
// included), candidate marks, fired indices out of range ignored, empty
// and long rows.
func TestRowKernels(t *testing.T) {
	if !haveRowKernels {
		t.Skip("no row kernels in this build (purego or not amd64): delivery runs addUniformRows itself")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var checked [3]int
	defer func() {
		if checked[0] < 50 || checked[1] < 50 || checked[2] < 50 {
			t.Errorf("only %v comparisons (16-bit, 32-bit targets, padded)", checked)
		}
	}()
	specials := []float32{float32(math.NaN()), math.Float32frombits(0x7fc00001), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e38, -1e38}
	for round := range 200 {
		n := 1 + rng.IntN(3000)
		if round%4 == 1 {
			n = 1<<16 + rng.IntN(1<<16) // 32-bit targets only
		}
		srcN := 1 + rng.IntN(3000)
		maxLen := 1 + rng.IntN(24)
		start := make([]uint32, srcN+1)
		var tgt []uint32
		for s := range srcN {
			l := rng.IntN(maxLen + 1)
			if round%3 == 0 {
				l = maxLen
			}
			for range l {
				tgt = append(tgt, uint32(rng.IntN(n)))
			}
			start[s+1] = uint32(len(tgt))
		}
		if len(tgt) == 0 {
			continue
		}
		var tgt16 []uint16
		if n <= 1<<16 {
			tgt16 = make([]uint16, len(tgt))
			for i, t := range tgt {
				tgt16[i] = uint16(t)
			}
		}
		rowF := make([]float32, srcN)
		rowI := make([]int32, srcN)
		for s := range rowF {
			rowF[s] = float32(rng.NormFloat64() * 3)
			if rng.IntN(20) == 0 {
				rowF[s] = specials[rng.IntN(len(specials))]
			}
			rowI[s] = int32(rng.Uint32())
		}
		var fired []uint32
		for s := range srcN + 20 {
			if rng.IntN(4) == 0 {
				fired = append(fired, uint32(s)) // some beyond srcN
			}
		}
		if rng.IntN(5) == 0 {
			fired = append(fired, math.MaxUint32)
		}
		if len(fired) == 0 {
			continue
		}
		accF := make([]float32, n)
		accI := make([]int32, n)
		for i := range accF {
			accF[i] = float32(rng.NormFloat64())
			if rng.IntN(30) == 0 {
				accF[i] = specials[rng.IntN(len(specials))]
			}
			accI[i] = int32(rng.Uint32())
		}
		cand := make([]uint64, (n+63)/64)
		for i := range cand {
			cand[i] = rng.Uint64() & rng.Uint64()
		}
		for _, mark := range []bool{false, true} {
			for _, wide := range []bool{false, true} {
				if !wide && tgt16 == nil {
					continue
				}
				wantF, gotF := slices.Clone(accF), slices.Clone(accF)
				wantI, gotI := slices.Clone(accI), slices.Clone(accI)
				wantC, gotC := slices.Clone(cand), slices.Clone(cand)
				wantC2, gotC2 := slices.Clone(cand), slices.Clone(cand)
				addUniformRows(wantF, wantC, start, tgt, rowF, fired, uint32(srcN), mark)
				addUniformRows(wantI, wantC2, start, tgt, rowI, fired, uint32(srcN), mark)
				switch {
				case mark && wide:
					rowsMarkF32W(&gotF[0], &gotC[0], &start[0], &tgt[0], &rowF[0], &fired[0], len(fired), uint32(srcN))
					rowsMarkI32W(&gotI[0], &gotC2[0], &start[0], &tgt[0], &rowI[0], &fired[0], len(fired), uint32(srcN))
				case mark:
					rowsMarkF32(&gotF[0], &gotC[0], &start[0], &tgt16[0], &rowF[0], &fired[0], len(fired), uint32(srcN))
					rowsMarkI32(&gotI[0], &gotC2[0], &start[0], &tgt16[0], &rowI[0], &fired[0], len(fired), uint32(srcN))
				case wide:
					rowsF32W(&gotF[0], nil, &start[0], &tgt[0], &rowF[0], &fired[0], len(fired), uint32(srcN))
					rowsI32W(&gotI[0], nil, &start[0], &tgt[0], &rowI[0], &fired[0], len(fired), uint32(srcN))
				default:
					rowsF32(&gotF[0], nil, &start[0], &tgt16[0], &rowF[0], &fired[0], len(fired), uint32(srcN))
					rowsI32(&gotI[0], nil, &start[0], &tgt16[0], &rowI[0], &fired[0], len(fired), uint32(srcN))
				}
				if !slices.Equal(bits32(gotF), bits32(wantF)) {
					t.Fatalf("round %d mark %v wide %v: float sums differ from addUniformRows", round, mark, wide)
				}
				if !slices.Equal(gotI, wantI) {
					t.Fatalf("round %d mark %v wide %v: fine sums differ from addUniformRows", round, mark, wide)
				}
				if !slices.Equal(gotC, wantC) || !slices.Equal(gotC2, wantC2) {
					t.Fatalf("round %d mark %v wide %v: candidate marks differ", round, mark, wide)
				}
				checked[b2i(wide)]++
			}
			if tgt16 != nil && n+1024 <= 1<<16 {
				checkPaddedKernels(t, round, mark, start, tgt, n, rowF, rowI, accF, accI, cand, fired, uint32(srcN))
				checked[2]++
			}
		}
	}
}

// checkPaddedKernels pads the rows of (start, tgt) to widths 4 and 8, with
// sinks past n as the engine lays them out, and compares the padded
// kernels with addPaddedRows.
func checkPaddedKernels(t *testing.T, round int, mark bool, start, tgt []uint32, n int, rowF []float32, rowI []int32, accF []float32, accI []int32, cand []uint64, fired []uint32, srcN uint32) {
	t.Helper()
	sink := uint32(n+63) &^ 63
	size := int(sink) + sinksPerShard
	for _, width := range []int{4, 8} {
		pstart := make([]uint32, len(start))
		var ptgt []uint16
		for s := 0; s+1 < len(start); s++ {
			row := tgt[start[s]:start[s+1]]
			for j := 0; j < len(row) || j%width != 0; j++ {
				v := sink + 64*uint32(s&7) + uint32(j%width)
				if j < len(row) {
					v = row[j]
				}
				ptgt = append(ptgt, uint16(v))
			}
			pstart[s+1] = uint32(len(ptgt))
		}
		grow := func(c []uint64) []uint64 { return append(slices.Clone(c), make([]uint64, size/64-len(c))...) }
		wantF := append(slices.Clone(accF), make([]float32, size-n)...)
		gotF := slices.Clone(wantF)
		wantI := append(slices.Clone(accI), make([]int32, size-n)...)
		gotI := slices.Clone(wantI)
		wantC, gotC, wantC2, gotC2 := grow(cand), grow(cand), grow(cand), grow(cand)
		addPaddedRows(wantF, wantC, pstart, ptgt, rowF, fired, srcN, mark, width)
		addPaddedRows(wantI, wantC2, pstart, ptgt, rowI, fired, srcN, mark, width)
		kernels32.padded[width/8][b2i(mark)](&gotF[0], &gotC[0], &pstart[0], &ptgt[0], &rowF[0], &fired[0], len(fired), srcN)
		kernels8.padded[width/8][b2i(mark)](&gotI[0], &gotC2[0], &pstart[0], &ptgt[0], &rowI[0], &fired[0], len(fired), srcN)
		if !slices.Equal(bits32(gotF[:n]), bits32(wantF[:n])) || !slices.Equal(gotI[:n], wantI[:n]) {
			t.Fatalf("round %d mark %v width %d: padded kernel sums differ from addPaddedRows", round, mark, width)
		}
		if !slices.Equal(gotC, wantC) || !slices.Equal(gotC2, wantC2) {
			t.Fatalf("round %d mark %v width %d: padded kernel marks differ", round, mark, width)
		}
	}
}
