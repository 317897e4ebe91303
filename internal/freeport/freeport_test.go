package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Ports come from below the ephemeral range, differ, and are free for TCP
// and UDP when handed out.
func TestGet(t *testing.T) {
	high := ephemeralStart()
	seen := map[int]bool{}
	for range 50 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if high-low >= 1000 && (p < low || p >= high) { // else the kernel picks
			t.Fatalf("port %d outside [%d, %d)", p, low, high)
		}
		hp := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		l, err := net.Listen("tcp", hp)
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		u, err := net.ListenPacket("udp", hp)
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		l.Close()
		u.Close()
	}
}

// A port something listens on is never handed out; when every candidate is
// taken, Get says so.
func TestGetSkipsBusy(t *testing.T) {
	// Four consecutive free ports of which the first two are then held.
	var base int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for b := 20000; b < 30000 && base == 0; b += 7 {
		ok := true
		for p := b; p < b+4 && ok; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			base = b
		}
	}
	if base == 0 {
		t.Fatal("no four free ports in a row")
	}
	for p := base; p < base+2; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	defer func(f func() (int, int)) { portRange = f }(portRange)
	portRange = func() (int, int) { return base, base + 4 }
	mu.Lock()
	for p := base; p < base+4; p++ {
		delete(given, p) // a test run before this one may have had them
	}
	mu.Unlock()
	got := map[int]bool{}
	for range 2 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if p < base+2 || p >= base+4 {
			t.Fatalf("got port %d, want %d or %d (the free ones)", p, base+2, base+3)
		}
		got[p] = true
	}
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	if p, err := Get(); err == nil {
		t.Fatalf("every candidate busy or given, yet got %d", p)
	}
}
