package natsio

import (
	"log/slog"
	"sync"
	"time"

	"github.com/spikemesh/spikemesh/pns"
)

// rateLog logs rejected messages at most once per kind per interval, with
// the number of rejections of that kind not logged since (docs/semantics.md §6.3).
type rateLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       [pns.NumKinds]time.Time
	suppressed [pns.NumKinds]uint64
}

func newRateLog(log *slog.Logger, every time.Duration) *rateLog {
	return &rateLog{log: log, every: every, now: time.Now}
}

// report logs err (of kind k, received on subject) unless a line of that
// kind was logged within the interval.
func (r *rateLog) report(k pns.Kind, subject string, err error) {
	if int(k) >= len(r.last) {
		k = pns.KindMalformed
	}
	now := r.now()
	r.mu.Lock()
	if !r.last[k].IsZero() && now.Sub(r.last[k]) < r.every {
		r.suppressed[k]++
		r.mu.Unlock()
		return
	}
	r.last[k] = now
	suppressed := r.suppressed[k]
	r.suppressed[k] = 0
	r.mu.Unlock()
	r.log.Warn("dropped message", "kind", k.String(), "subject", subject,
		"error", err.Error(), "suppressed_since_last", suppressed)
}
