package npu

import "strings"

// loop names one of the update loops of the table in the package docs
// ("Which loop runs"). Each shard records the loops it ran in a burst
// (shard.ran) and Step merges them (engine.ran): one OR per segment, so the
// table can be checked against what really ran (TestLoopTable).
type loop uint8

const (
	loopBitmap       loop = 1 << iota // candidates taken from the bitmap: update32, update8
	loopSimpleKernel                  // AVX2 blocks: simpleBlockK32, simpleBlockK8
	loopSimpleBlock                   // Go blocks: simpleBlockI32, simpleBlock32, simpleBlock8
	loopSimpleRange                   // a simple segment's tail: simpleRange32, simpleRange8
	loopNoAcc                         // noAccBlock32, noAccLimited32, noAccBlock8
	loopDriveOnly                     // driveOnlyLimited (limitedKernel or limitedBlock)
	loopDense                         // denseBlock32, denseBlock8, then collect
)

var loopNames = []string{"bitmap", "simple-kernel", "simple-block", "simple-range", "no-acc", "drive-only", "dense"}

func (l loop) String() string {
	var names []string
	for i, n := range loopNames {
		if l&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, "+")
}
