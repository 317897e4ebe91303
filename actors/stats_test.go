package actors

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for v := uint64(0); v < 1<<20; v = v*17/16 + 1 {
		b := bucketOf(v)
		if lo := lower(b); lo > v || v-lo > v/32+1 {
			t.Fatalf("value %d in bucket %d with lower bound %d", v, b, lo)
		}
		if b+1 < len(Histogram{}.counts) && lower(b+1) <= v {
			t.Fatalf("value %d below bucket %d's successor bound %d", v, b, lower(b+1))
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0, time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if got > c.want || c.want-got > c.want/32+1 {
			t.Errorf("q%.2f = %v, want about %v", c.q, got, c.want)
		}
	}
}
