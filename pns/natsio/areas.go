package natsio

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/pns"
)

// Ack is the brain's answer to a sensor message sent as a NATS request (with
// a reply subject), as JSON:
//
//	{"ok":true,"frames":[{"area":"aW1pcwoAAAA=","name":"Proximity sensor","burst":57,"points":2,"dropped_points":0}]}
//	{"ok":false,"kind":"unknown-area","error":"pns: unknown area: \"nope\""}
//
// Frames lists the frames the brain took in: one for a protobuf frame, one
// per accepted area of a FEAGI container (which may be accepted in part, with
// ok false and an error for the rest). Kind is "malformed", "oversized" or
// "unknown-area".
type Ack struct {
	OK     bool       `json:"ok"`
	Kind   string     `json:"kind,omitempty"`
	Error  string     `json:"error,omitempty"`
	Frames []AckFrame `json:"frames,omitempty"`
}

// AckFrame is one frame the brain took in.
type AckFrame struct {
	Area string `json:"area"`           // canonical base64 ID
	Name string `json:"name,omitempty"` // the area's name in the genome
	// Burst is the burst the frame lands in, unless a newer frame of the
	// same area arrives before that burst starts (the latest frame wins).
	Burst uint64 `json:"burst"`
	// Points reach a neuron; Dropped points were outside the area or had
	// p = 0 or a non-finite p.
	Points  int `json:"points"`
	Dropped int `json:"dropped_points"`
}

// Err returns nil for an ack that says ok, else an error with the brain's
// message that wraps pns.ErrMalformed, pns.ErrOversized or
// pns.ErrUnknownArea as Kind says.
func (a *Ack) Err() error {
	if a.OK {
		return nil
	}
	msg := strings.TrimSpace(a.Error)
	if msg == "" {
		msg = "frame rejected"
	}
	var kind error
	switch a.Kind {
	case pns.KindOversized.String():
		kind = pns.ErrOversized
	case pns.KindUnknownArea.String():
		kind = pns.ErrUnknownArea
	case pns.KindMalformed.String():
		kind = pns.ErrMalformed
	default:
		return fmt.Errorf("the brain refused the frame: %s", msg)
	}
	return &refusal{msg: msg, kind: kind}
}

// refusal is a brain's refusal of a frame; it wraps the pns error of its
// kind without repeating its text.
type refusal struct {
	msg  string
	kind error
}

func (r *refusal) Error() string { return "the brain refused the frame: " + r.msg }
func (r *refusal) Unwrap() error { return r.kind }

// AreaInfo describes one area of a brain, as ServeAreas answers it.
type AreaInfo struct {
	ID       string    `json:"id"`                  // canonical base64 ID
	LegacyID string    `json:"legacy_id,omitempty"` // the ID as the genome writes it
	Name     string    `json:"name,omitempty"`
	Kind     string    `json:"kind"` // ipu, opu, core, custom or memory
	Dims     [3]uint32 `json:"dims"`
	PerVoxel uint32    `json:"neurons_per_voxel"`
}

// Label is how the area is shown to a user: its name, else the ID as the
// genome writes it, else its base64 ID.
func (a AreaInfo) Label() string {
	switch {
	case a.Name != "":
		return a.Name
	case a.LegacyID != "":
		return a.LegacyID
	}
	return a.ID
}

// AreaTable is a brain's table of areas, in the plan's index order. The
// brain serves it as JSON {"areas":[...]} on Subjects.Areas.
type AreaTable struct {
	Areas []AreaInfo `json:"areas"`
}

// ErrNoArea is wrapped by AreaTable.Find's errors.
var ErrNoArea = errors.New("no such area")

// noArea is an error of Find: its own message, wrapping ErrNoArea.
type noArea string

func (e noArea) Error() string { return string(e) }
func (e noArea) Unwrap() error { return ErrNoArea }

func noAreaf(format string, args ...any) error { return noArea(fmt.Sprintf(format, args...)) }

// Find resolves an area named as anywhere on the command line: its canonical
// base64 ID or its token (URL-safe, unpadded), the ID as the genome writes
// it (legacy 6-character IDs included), its 8 bytes when they are printable
// (c__lef__), or its name when no other area has that name. The error names
// what was asked, suggests a name differing only in case, and lists the
// areas when there are few.
func (t *AreaTable) Find(name string) (AreaInfo, error) {
	if id, err := pns.ParseID(name); err == nil {
		for _, a := range t.Areas {
			if a.ID == id.String() {
				return a, nil
			}
		}
	}
	for _, a := range t.Areas {
		if a.LegacyID != "" && a.LegacyID == name || printable(a.ID) == name && name != "" {
			return a, nil
		}
	}
	var named []AreaInfo
	for _, a := range t.Areas {
		if a.Name == name && name != "" {
			named = append(named, a)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
	default:
		ids := make([]string, len(named))
		for i, a := range named {
			ids[i] = a.spelling()
		}
		return AreaInfo{}, noAreaf("%d areas are named %q (%s); name one by its ID", len(named), name, strings.Join(ids, ", "))
	}
	for _, a := range t.Areas {
		if name != "" && (strings.EqualFold(a.Name, name) || strings.EqualFold(a.LegacyID, name)) {
			return AreaInfo{}, noAreaf("no area %q in this brain; did you mean %q?", name, a.nameOr())
		}
	}
	return AreaInfo{}, noAreaf("no area %q in this brain%s", name, t.list())
}

// list returns ", which has: ..." listing up to 12 areas, sensory ones first.
func (t *AreaTable) list() string {
	if len(t.Areas) == 0 {
		return ""
	}
	sorted := append([]AreaInfo(nil), t.Areas...)
	rank := map[string]int{"ipu": 0, "opu": 1}
	sort.SliceStable(sorted, func(i, j int) bool {
		ri, ok := rank[sorted[i].Kind]
		if !ok {
			ri = 2
		}
		rj, ok := rank[sorted[j].Kind]
		if !ok {
			rj = 2
		}
		return ri < rj
	})
	const most = 12
	var b strings.Builder
	b.WriteString("; its areas: ")
	for i, a := range sorted {
		if i == most {
			fmt.Fprintf(&b, ", and %d more", len(sorted)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.spelling())
		if a.Name != "" {
			fmt.Fprintf(&b, " (%s %q)", a.Kind, a.Name)
		} else {
			fmt.Fprintf(&b, " (%s)", a.Kind)
		}
	}
	return b.String()
}

// spelling is the ID as the genome writes it, else the base64 ID.
func (a AreaInfo) spelling() string {
	if a.LegacyID != "" {
		return a.LegacyID
	}
	if p := printable(a.ID); p != "" {
		return p
	}
	return a.ID
}

func (a AreaInfo) nameOr() string {
	if a.Name != "" {
		return a.Name
	}
	return a.spelling()
}

// printable returns the 8 bytes of a base64 ID as text when they are all
// printable ASCII, else "".
func printable(b64 string) string {
	id, err := pns.ParseID(b64)
	if err != nil {
		return ""
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return ""
		}
	}
	return string(id[:])
}

// ByID returns the area with this canonical base64 ID.
func (t *AreaTable) ByID(id string) (AreaInfo, bool) {
	for _, a := range t.Areas {
		if a.ID == id {
			return a, true
		}
	}
	return AreaInfo{}, false
}

// ServeAreas answers requests on subjects.Areas() with table as JSON, until
// the returned subscription is unsubscribed. Any request payload is ignored.
func ServeAreas(nc *nats.Conn, subjects pns.Subjects, table AreaTable) (*nats.Subscription, error) {
	if err := subjects.Validate(); err != nil {
		return nil, err
	}
	if table.Areas == nil {
		table.Areas = []AreaInfo{}
	}
	data, err := json.Marshal(table)
	if err != nil {
		return nil, fmt.Errorf("natsio: encoding the area table: %w", err)
	}
	sub, err := nc.Subscribe(subjects.Areas(), func(m *nats.Msg) {
		if m.Reply != "" {
			_ = m.Respond(data)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("natsio: subscribing to %s: %w", subjects.Areas(), err)
	}
	return sub, nil
}
