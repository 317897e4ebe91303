package natsio

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/pns"
)

func TestRateLog(t *testing.T) {
	var buf bytes.Buffer
	r := newRateLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	bad := errors.New("bad")
	for range 5 {
		r.report(pns.KindMalformed, "s", bad)
	}
	r.report(pns.KindOversized, "s", bad)
	now = now.Add(time.Minute)
	r.report(pns.KindMalformed, "s", bad)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (malformed, oversized, malformed after the interval):\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "suppressed_since_last=0") || !strings.Contains(lines[1], "kind=oversized") ||
		!strings.Contains(lines[2], "kind=malformed") || !strings.Contains(lines[2], "suppressed_since_last=4") {
		t.Errorf("unexpected lines:\n%s", buf.String())
	}
}
