package main

import (
	"testing"
)

// TestBenchActorsRuns is a smoke test of the actors workload: it runs, in
// both dispatch modes and over NATS, and reports what it measured.
func TestBenchActorsRuns(t *testing.T) {
	for _, extra := range []map[string]string{{}, {"inline": "0"}, {"nats": "1"}} {
		var got map[string]any
		err := benchActors(benchOptions{Areas: 5, Bursts: 200, Extra: extra}, func(r any) { got = r.(map[string]any) })
		if err != nil {
			t.Fatalf("%v: %v", extra, err)
		}
		if got["bursts"] != 200 || got["spikes_per_burst"].(float64) != 5 {
			t.Fatalf("%v: %v", extra, got)
		}
	}
}
