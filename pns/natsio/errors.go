package natsio

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// LogErrors is a nats.Option that logs a connection's asynchronous errors
// (a slow consumer, a permission the server refused) to log at most once
// per kind every 10 s, instead of nats.go's raw lines on stderr. The last
// one stays in the connection's LastError; drops are counted where they
// happen.
func LogErrors(log *slog.Logger) nats.Option {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		key := err.Error()
		if errors.Is(err, nats.ErrSlowConsumer) {
			key = "slow"
		}
		mu.Lock()
		quiet := time.Since(last[key]) < 10*time.Second
		if !quiet {
			last[key] = time.Now()
		}
		mu.Unlock()
		if quiet {
			return
		}
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		log.Warn("NATS error (logged once per kind every 10s)", "subject", subject, "err", err)
	})
}
