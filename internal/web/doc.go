// Package web is a node's HTTP side (node run --http ADDR): liveness and
// readiness for probes, Prometheus metrics from its own registry, Go's
// profiles, a JSON API under /v1 that describes the running brain and
// changes its pacing, and a live view of its activity.
//
// The package brain starts a Server before it grows the brain, tells it
// the phase it is in, attaches the grown brain (a Brain with a Source to
// read counters from and send control requests through) and calls
// Observe after every burst. Observe is cheap: a few atomic additions, one
// histogram observation and one atomic addition per area that fired; the
// rest is read when someone asks. Changes go to the brain's coordinator as
// brain.v1.Control requests on its NATS control subject, whichever node
// received them, so that every node of a cluster answers the same API.
//
// docs/http.md lists the endpoints, metrics and flags.
package web
