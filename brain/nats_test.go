package brain

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/genomes"
)

// syncBuffer is a bytes.Buffer for a logger and a reader on other
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds; the deadline guards against a hang and
// measures nothing.
func waitFor(t *testing.T, what string, done <-chan error, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("run ended while waiting for %s: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNATSOutageLogged: the brain's NATS connection going away and coming
// back is logged, and the run goes on.
func TestNATSOutageLogged(t *testing.T) {
	ns, err := actors.EmbeddedNATS("127.0.0.1:-1")
	if err != nil {
		t.Fatal(err)
	}
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	var logs syncBuffer
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Genome: genomes.Default, Rate: 50, NATS: url, Stderr: &logs,
			Ready: func() { close(ready) }})
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run ended before it started: %v", err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, "log of the lost connection", done, func() bool { return strings.Contains(logs.String(), "NATS connection lost") })
	ns2, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns2.Start()
	defer func() { ns2.Shutdown(); ns2.WaitForShutdown() }()
	waitFor(t, "log of the reconnection", done, func() bool { return strings.Contains(logs.String(), "NATS reconnected") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("the log does not name the server:\n%s", logs.String())
	}
}

// TestNATSStartErrors: a busy listen port is reported as such at once, and
// a server that cannot be reached is named without the credentials of its
// URL.
func TestNATSStartErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().String()
	_, err = Run(context.Background(), Config{Genome: genomes.Default, Bursts: 1, NATSListen: busy, NATSCreds: writeNodeCreds(t), Quiet: true})
	if err == nil || !strings.Contains(err.Error(), "address in use") || !strings.Contains(err.Error(), busy) {
		t.Fatalf("busy --nats-listen %s: %v", busy, err)
	}

	// A port nothing listens on: the one just closed.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l2.Addr().String()
	l2.Close()
	for _, url := range []string{"nats://alice:s3cret@" + free, "nats://t0ken@" + free} {
		_, err = Run(context.Background(), Config{Genome: genomes.Default, Bursts: 1, NATS: url, Quiet: true})
		if err == nil || !strings.Contains(err.Error(), free) || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "t0ken") {
			t.Fatalf("unreachable --nats %s: %v", url, err)
		}
	}
}
