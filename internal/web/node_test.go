package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/spikemesh/spikemesh/internal/freeport"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/brain"
)

// The tests run a real brain (brain.Run, in process) with its HTTP server
// on a free loopback port, and talk to it over HTTP.

const testGenome = "community_webots_pioneer2.json"

// node is a brain running in this process.
type node struct {
	t    *testing.T
	base string // http://127.0.0.1:PORT
	log  *syncBuffer
	done chan error
	stop context.CancelFunc
	once sync.Once
}

// close stops the node and waits for brain.Run to return (once).
func (n *node) close() {
	n.once.Do(func() {
		n.stop()
		select {
		case err := <-n.done:
			if err != nil {
				n.t.Errorf("brain.Run: %v", err)
			}
		case <-time.After(time.Minute):
			n.t.Errorf("brain.Run did not return within a minute of its cancellation")
		}
	})
}

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

// startNode runs the test genome paced at 100 bursts per second, with the
// changes mod makes to its Config, and returns once its HTTP server
// listens.
func startNode(t *testing.T, mod func(*brain.Config)) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{t: t, log: &syncBuffer{}, done: make(chan error, 1), stop: cancel}
	addr := make(chan string, 1)
	c := brain.Config{Genome: testGenome, HTTP: "127.0.0.1:0", Rate: 100, Stderr: n.log}
	if mod != nil {
		mod(&c)
	}
	// The address goes out first, then a hook of mod's may hold the node.
	hook := c.HTTPStarted
	c.HTTPStarted = func(a string) {
		addr <- a
		if hook != nil {
			hook(a)
		}
	}
	go func() {
		_, err := brain.Run(ctx, c)
		n.done <- err
	}()
	t.Cleanup(n.close)
	select {
	case a := <-addr:
		_, port, _ := net.SplitHostPort(a)
		n.base = "http://127.0.0.1:" + port
	case err := <-n.done:
		n.done <- err
		t.Fatalf("brain.Run returned before its HTTP server listened: %v\n%s", err, n.log)
	case <-time.After(time.Minute):
		t.Fatalf("the HTTP server did not start within a minute\n%s", n.log)
	}
	return n
}

// do sends a request and returns the status and body.
func (n *node) do(method, path, body string, header ...string) (int, http.Header, []byte) {
	n.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, data
}

// getJSON GETs path, wants status want and decodes the body into v.
func (n *node) getJSON(path string, want int, v any) {
	n.t.Helper()
	code, h, data := n.do(http.MethodGet, path, "")
	if code != want {
		n.t.Fatalf("GET %s: status %d, want %d: %s", path, code, want, data)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		n.t.Fatalf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	if err := json.Unmarshal(data, v); err != nil {
		n.t.Fatalf("GET %s: %v\n%s", path, err, data)
	}
}

// waitReady polls /readyz until it answers 200.
func (n *node) waitReady() {
	n.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, _, body := n.do(http.MethodGet, "/readyz", "")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("/readyz still %d after a minute: %s\n%s", code, body, n.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitBurst polls /v1/brain until the node has seen burst b complete.
func (n *node) waitBurst(b uint64) {
	n.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var info struct{ Burst uint64 }
		n.getJSON("/v1/brain", http.StatusOK, &info)
		if info.Burst >= b {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("burst %d not reached after a minute (at %d)", b, info.Burst)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freePort returns a loopback port free at the time of the call, from
// below the ephemeral range (package freeport).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
