package natsio

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestLogErrorsOncePerKind: the same asynchronous error is logged once per
// 10 s; another kind is logged too.
func TestLogErrorsOncePerKind(t *testing.T) {
	var buf bytes.Buffer
	var o nats.Options
	if err := LogErrors(slog.New(slog.NewTextHandler(&buf, nil)))(&o); err != nil {
		t.Fatal(err)
	}
	perm := errors.New("nats: permissions violation: Permissions Violation for Publish to \"x\"")
	for range 3 {
		o.AsyncErrorCB(nil, nil, perm)
		o.AsyncErrorCB(nil, nil, nats.ErrSlowConsumer)
	}
	if n := strings.Count(buf.String(), "NATS error"); n != 2 {
		t.Fatalf("%d lines logged, want 2 (one per kind):\n%s", n, buf.String())
	}
}
