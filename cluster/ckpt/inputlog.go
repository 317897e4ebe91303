package ckpt

import (
	"slices"
	"unsafe"

	"github.com/spikemesh/spikemesh/npu"
)

// DefaultInputLogBytes is the default bound of an InputLog.
const DefaultInputLogBytes = 64 << 20

// pointBytes is the memory of one logged point.
const pointBytes = int(unsafe.Sizeof(npu.Point{}))

// InputLog keeps the sensory input of recent bursts, per area, for replay
// after a rollback. Only bursts with input are logged; a burst not in the
// log had none. It holds at most a fixed number of bytes of points: when a
// Put goes beyond, the oldest bursts are forgotten, and Replayable tells
// from which burst on the input is whole.
type InputLog struct {
	max    int
	bursts []uint64 // ascending
	points map[uint64][][]npu.Point
	bytes  int
	gone   uint64 // input of bursts <= gone is forgotten (pruned or evicted)
}

// NewInputLog returns an empty log holding at most maxBytes bytes of
// points (DefaultInputLogBytes when maxBytes <= 0).
func NewInputLog(maxBytes int) *InputLog {
	if maxBytes <= 0 {
		maxBytes = DefaultInputLogBytes
	}
	return &InputLog{max: maxBytes, points: map[uint64][][]npu.Point{}}
}

// Put logs the input of burst: points[a] are area a's points. The log
// keeps a copy. When burst is logged already, the later Put wins (the
// coordinator fixes the input once, so a second Put normally carries the
// same points, e.g. when it re-sends during a replay). A Put with no
// points at all removes the burst. A burst at or below the forgotten
// horizon (see Prune and Replayable; 0 at first, bursts count from 1) is
// ignored: its input can no longer be made whole. If the log then holds more than its bound, the oldest
// bursts are forgotten.
func (l *InputLog) Put(burst uint64, points [][]npu.Point) {
	if burst <= l.gone {
		return
	}
	l.remove(burst)
	n := 0
	for _, p := range points {
		n += len(p)
	}
	if n == 0 {
		return
	}
	flat := make([]npu.Point, 0, n)
	copied := make([][]npu.Point, len(points))
	for a, p := range points {
		if len(p) == 0 {
			continue
		}
		start := len(flat)
		flat = append(flat, p...)
		copied[a] = flat[start:len(flat):len(flat)]
	}
	l.points[burst] = copied
	l.bytes += n * pointBytes
	i, _ := slices.BinarySearch(l.bursts, burst)
	l.bursts = slices.Insert(l.bursts, i, burst)
	for l.bytes > l.max {
		l.gone = max(l.gone, l.bursts[0])
		l.remove(l.bursts[0])
	}
}

// remove forgets burst's input, if logged.
func (l *InputLog) remove(burst uint64) {
	p, ok := l.points[burst]
	if !ok {
		return
	}
	for _, a := range p {
		l.bytes -= len(a) * pointBytes
	}
	delete(l.points, burst)
	i, _ := slices.BinarySearch(l.bursts, burst)
	l.bursts = slices.Delete(l.bursts, i, i+1)
}

// Points fills into[a] with area a's logged points of burst, nil where the
// area had none (and everywhere when the burst had no input); areas beyond
// len(into) are left out. The slices are the log's memory: read them,
// never write them. It reports whether the burst is logged.
func (l *InputLog) Points(burst uint64, into [][]npu.Point) bool {
	p, ok := l.points[burst]
	for a := range into {
		into[a] = nil
		if a < len(p) {
			into[a] = p[a]
		}
	}
	return ok
}

// Prune forgets the input of every burst <= before. Call it with the
// oldest complete checkpoint kept: no rollback goes further back, and a
// replay from there needs only later bursts.
func (l *InputLog) Prune(before uint64) {
	l.gone = max(l.gone, before)
	i, _ := slices.BinarySearch(l.bursts, before+1)
	if before == ^uint64(0) {
		i = len(l.bursts)
	}
	for _, b := range l.bursts[:i] {
		for _, a := range l.points[b] {
			l.bytes -= len(a) * pointBytes
		}
		delete(l.points, b)
	}
	l.bursts = slices.Delete(l.bursts, 0, i)
}

// Replayable reports whether the log still holds the input of every burst
// after from, so that a rollback to a checkpoint of burst from can replay
// it: nothing after from has been pruned or evicted.
func (l *InputLog) Replayable(from uint64) bool { return from >= l.gone }

// Len is the number of bursts logged.
func (l *InputLog) Len() int { return len(l.bursts) }

// Bytes is the memory of the points logged.
func (l *InputLog) Bytes() int { return l.bytes }
