package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/memberlist"
)

// Meta is what a node tells its peers about itself.
type Meta struct {
	NATSClientURL string  // where clients reach this node's NATS server ("" if none)
	NATSRouteURL  string  // where other NATS servers route to it ("" if none)
	HTTP          string  // HOST:PORT of its HTTP endpoint ("" if none)
	Digest        Digest  // what must agree across the cluster
	Capacity      float64 // relative weight for placement; <= 0 means 1
	Boot          uint64  // random per process start: tells two runs of one cluster apart
	Records       bool    // this node writes the whole brain's record
	// State is where the node stands in the run (one of the State
	// constants; "" for a node that does not run generations), Epoch the
	// newest generation it runs or ran, Run the run's identity.
	State string
	Epoch uint64
	Run   uint64
}

// The states of Meta.State.
const (
	StateForming = "forming" // waiting for the nodes that start the brain together
	StateStandby = "standby" // joined a running brain; waits to be given areas
	StateRunning = "running" // takes part in a generation
	StateLeaving = "leaving" // hands its areas over and exits (SIGTERM)
	StateDone    = "done"    // ran the brain's last burst
)

// Digest sums up what every node of one brain must agree on. Nodes whose
// digests differ are not let into each other's cluster.
type Digest struct {
	Genome    string // SHA-256 of the genome file's bytes, in hex (see GenomeDigest)
	Seed      uint64
	Precision string
	Bursts    uint64 // the burst limit
	Window    int    // the lock step's window (bursts ticked ahead)
}

// GenomeDigest is the Genome field of a Digest for these genome bytes.
func GenomeDigest(genome []byte) string {
	sum := sha256.Sum256(genome)
	return hex.EncodeToString(sum[:])
}

// Diff is "" when the digests are equal, or else a sentence naming each
// field that differs with its value here (d) and there (o).
func (d Digest) Diff(o Digest) string { return d.diffWith(o, "there") }

func (d Digest) diffWith(o Digest, there string) string {
	var parts []string
	if d.Genome != o.Genome {
		a, b := shortHashes(d.Genome, o.Genome)
		parts = append(parts, fmt.Sprintf("genome differs (sha256 %s here, %s %s)", a, b, there))
	}
	if d.Seed != o.Seed {
		parts = append(parts, fmt.Sprintf("seed differs (%d here, %d %s)", d.Seed, o.Seed, there))
	}
	if d.Precision != o.Precision {
		parts = append(parts, fmt.Sprintf("precision differs (%s here, %s %s)", orNone(d.Precision), orNone(o.Precision), there))
	}
	if d.Bursts != o.Bursts {
		parts = append(parts, fmt.Sprintf("burst limit differs (%d here, %d %s)", d.Bursts, o.Bursts, there))
	}
	if d.Window != o.Window {
		parts = append(parts, fmt.Sprintf("lock-step window differs (%d here, %d %s)", d.Window, o.Window, there))
	}
	return strings.Join(parts, "; ")
}

// shortHashes abbreviates two differing hex hashes to a prefix long enough
// to tell them apart.
func shortHashes(a, b string) (string, string) {
	n := 12
	for n < len(a) && n < len(b) && a[:n] == b[:n] {
		n += 12
	}
	short := func(s string) string {
		if s == "" {
			return "none"
		}
		if len(s) > n {
			return s[:n] + "…"
		}
		return s
	}
	return short(a), short(b)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// metaVersion is the version of the encoding below; a node that speaks
// another one is refused.
const metaVersion = 1

// wireMeta is Meta as it travels in memberlist's node metadata (at most
// memberlist.MetaMaxSize bytes), as compact JSON.
type wireMeta struct {
	V         int     `json:"v"`
	Client    string  `json:"nc,omitempty"`
	Route     string  `json:"nr,omitempty"`
	HTTP      string  `json:"h,omitempty"`
	Genome    string  `json:"g"`
	Seed      uint64  `json:"s"`
	Precision string  `json:"p"`
	Bursts    uint64  `json:"b"`
	Window    int     `json:"w,omitempty"`
	Capacity  float64 `json:"c"`
	Boot      uint64  `json:"o,omitempty"`
	Records   bool    `json:"r,omitempty"`
	State     string  `json:"st,omitempty"`
	Epoch     uint64  `json:"e,omitempty"`
	Run       uint64  `json:"rn,omitempty"`
}

func encodeMeta(m Meta) ([]byte, error) {
	if math.IsNaN(m.Capacity) || math.IsInf(m.Capacity, 0) {
		return nil, fmt.Errorf("capacity %v is not a finite number", m.Capacity)
	}
	b, err := json.Marshal(wireMeta{
		V:         metaVersion,
		Client:    m.NATSClientURL,
		Route:     m.NATSRouteURL,
		HTTP:      m.HTTP,
		Genome:    m.Digest.Genome,
		Seed:      m.Digest.Seed,
		Precision: m.Digest.Precision,
		Bursts:    m.Digest.Bursts,
		Window:    m.Digest.Window,
		Capacity:  m.Capacity,
		Boot:      m.Boot,
		Records:   m.Records,
		State:     m.State,
		Epoch:     m.Epoch,
		Run:       m.Run,
	})
	if err != nil {
		return nil, err
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("node metadata takes %d bytes, more than the %d memberlist carries (shorten the URLs)", len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

func decodeMeta(b []byte) (Meta, error) {
	if len(b) == 0 {
		return Meta{}, errors.New("no node metadata")
	}
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return Meta{}, fmt.Errorf("node metadata: %w", err)
	}
	if w.V != metaVersion {
		return Meta{}, fmt.Errorf("node metadata version %d, this node speaks %d", w.V, metaVersion)
	}
	return Meta{
		NATSClientURL: w.Client,
		NATSRouteURL:  w.Route,
		HTTP:          w.HTTP,
		Digest:        Digest{Genome: w.Genome, Seed: w.Seed, Precision: w.Precision, Bursts: w.Bursts, Window: w.Window},
		Capacity:      w.Capacity,
		Boot:          w.Boot,
		Records:       w.Records,
		State:         w.State,
		Epoch:         w.Epoch,
		Run:           w.Run,
	}, nil
}
