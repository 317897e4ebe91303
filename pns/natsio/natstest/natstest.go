// Package natstest starts real, embedded NATS servers for tests: on
// 127.0.0.1 with a random port, no logging, no signal handlers, shut down
// when the test ends. Any package may use it in its tests:
//
//	s := natstest.Start(t)                    // s.ClientURL() is nats://127.0.0.1:<port>
//	nc := natstest.Connect(t, s)              // TCP client, closed at cleanup
//	ip := natstest.ConnectInProcess(t, s)     // in-process client (no TCP)
//	s = natstest.Start(t, natstest.WithMaxPayload(8<<20))
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// readyTimeout bounds how long Start waits for the server to accept clients.
const readyTimeout = 10 * time.Second

// Option adjusts the server's options before it starts.
type Option func(*server.Options)

// WithMaxPayload sets the largest message the server accepts (default
// 1 MiB).
func WithMaxPayload(bytes int32) Option { return func(o *server.Options) { o.MaxPayload = bytes } }

// WithOptions applies any change to the server options.
func WithOptions(f func(*server.Options)) Option { return Option(f) }

// Start runs an embedded NATS server on 127.0.0.1 with a random port and
// shuts it down when the test ends. It fails the test if the server does not
// start.
func Start(t testing.TB, opts ...Option) *server.Server {
	t.Helper()
	o := &server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
	}
	for _, opt := range opts {
		opt(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("natstest: creating server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		t.Fatalf("natstest: server not ready for connections after %v", readyTimeout)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect returns a TCP client of s, closed when the test ends.
func Connect(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("natstest: connecting to %s: %v", s.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// ConnectInProcess returns an in-process client of s (no TCP), closed when
// the test ends.
func ConnectInProcess(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(s)}, opts...)...)
	if err != nil {
		t.Fatalf("natstest: connecting in-process: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
