// Package freeport hands out loopback ports for tests and local harnesses
// that must name a port before the process that listens on it starts (a
// node's memberlist and NATS route addresses are flags).
//
// A port found free by listening on 127.0.0.1:0 and closing again comes from
// the kernel's ephemeral range, the same range every outgoing connection of
// every process takes its local port from: between the check and the
// listen, another process's connection can take it ("address in use").
// These ports come from below that range (Linux:
// /proc/sys/net/ipv4/ip_local_port_range), where no outgoing connection
// lands, chosen at random so that programs running at the same time seldom
// try the same one, and checked free for TCP and UDP (memberlist uses both).
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// low is the first port handed out; ports from low up to the start of the
// ephemeral range are candidates.
const low = 10000

// portRange is where ports are drawn from, [lo, hi) (tests narrow it).
var portRange = func() (lo, hi int) { return low, ephemeralStart() }

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Get returns a port of 127.0.0.1 that TCP and UDP listeners can bind now,
// never the same twice in one process.
func Get() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	lo, hi := portRange()
	for range 500 {
		port := 0 // the kernel's choice, when the range below is too small
		if hi > lo && (hi-lo >= 1000 || lo != low) {
			port = lo + rand.IntN(hi-lo)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		port = l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		if !given[port] {
			given[port] = true
			return port, nil
		}
	}
	return 0, errors.New("freeport: no free port on 127.0.0.1")
}

// ephemeralStart is the first port of the kernel's ephemeral range (32768,
// Linux's default, where the range cannot be read).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 0 {
				return v
			}
		}
	}
	return 32768
}
