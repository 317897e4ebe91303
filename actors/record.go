package actors

import (
	"strconv"

	"github.com/spikemesh/spikemesh/npu"
)

// AppendRecord appends one line of a spike record (node run --record):
//
//	{"burst":n,"fired":{"<id>":[local indices, ascending],...}}\n
//
// ids and fired are by area index; areas that fired nothing are left out and
// the others appear in area index order, so two runs that fire the same
// neurons write the same bytes.
func AppendRecord(buf []byte, burst npu.Burst, ids []string, fired [][]uint32) []byte {
	buf = append(buf, `{"burst":`...)
	buf = strconv.AppendUint(buf, burst, 10)
	buf = append(buf, `,"fired":{`...)
	first := true
	for i, f := range fired {
		if len(f) == 0 {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = strconv.AppendQuote(buf, ids[i])
		buf = append(buf, ':', '[')
		for k, n := range f {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendUint(buf, uint64(n), 10)
		}
		buf = append(buf, ']')
	}
	return append(buf, '}', '}', '\n')
}
