package cluster

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"
)

// The memberlist side of Membership: the delegate that publishes this
// node's metadata and keeps out nodes of another brain, the queue that
// hands memberlist's callbacks to Events, and memberlist's log through slog.

// delegate holds the callbacks memberlist makes. They must not block, and
// some run while memberlist holds its node lock (NotifyAlive and the event
// callbacks): they must not call back into memberlist.
type delegate struct{ m *Membership }

func (d *delegate) NodeMeta(limit int) []byte {
	b := *d.m.meta.Load()
	if len(b) > limit {
		return nil // cannot happen: encodeMeta keeps it within MetaMaxSize
	}
	return b
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

// NotifyMerge checks the peers another node knows before this node merges
// with it (both sides of a join run it): same digest, no live member under
// a taken name.
func (d *delegate) NotifyMerge(peers []*memberlist.Node) error {
	m := d.m
	known := m.Members()
	selfAddr := m.Self().Addr
	for _, p := range peers {
		if p.State == memberlist.StateDead || p.State == memberlist.StateLeft {
			continue
		}
		if p.Name == m.name {
			if selfAddr != "" && p.Address() != selfAddr {
				return m.refuse(ErrNameTaken, "node name %q is already taken by the live member at %s", p.Name, p.Address())
			}
			continue
		}
		meta, err := decodeMeta(p.Meta)
		if err != nil {
			return m.refuse(ErrDifferentBrain, "node %q at %s: %v", p.Name, p.Address(), err)
		}
		if diff := m.digest.diffWith(meta.Digest, "on "+p.Name); diff != "" {
			return m.refuse(ErrDifferentBrain, "node %q at %s runs a different brain: %s", p.Name, p.Address(), diff)
		}
		for _, k := range known {
			if k.Name == p.Name && k.Addr != p.Address() {
				return m.refuse(ErrNameTaken, "node name %q is taken by two live members, at %s and %s", p.Name, k.Addr, p.Address())
			}
		}
	}
	return nil
}

// NotifyAlive keeps out any node whose digest differs, however news of it
// arrives.
func (d *delegate) NotifyAlive(p *memberlist.Node) error {
	m := d.m
	if p.Name == m.name {
		return nil
	}
	// memberlist logs the refusal; it is recorded (not logged again) for
	// Start's error message.
	meta, err := decodeMeta(p.Meta)
	if err != nil {
		return m.record(ErrDifferentBrain, "node %q at %s: %v", p.Name, p.Address(), err)
	}
	if diff := m.digest.diffWith(meta.Digest, "on "+p.Name); diff != "" {
		return m.record(ErrDifferentBrain, "node %q at %s runs a different brain: %s", p.Name, p.Address(), diff)
	}
	return nil
}

func (d *delegate) NotifyConflict(existing, other *memberlist.Node) {
	d.m.log.Error("cluster: two nodes claim one name", "member", existing.Name, "addr", existing.Address(), "other_addr", other.Address())
}

func (d *delegate) NotifyJoin(n *memberlist.Node)   { d.notify(EventJoin, n) }
func (d *delegate) NotifyLeave(n *memberlist.Node)  { d.notify(EventLeave, n) }
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.notify(EventUpdate, n) }

func (d *delegate) notify(kind EventKind, n *memberlist.Node) {
	e := Event{Kind: kind, Member: d.m.member(n)}
	d.m.apply(e)
	d.m.events.push(e)
}

// eventQueue hands events from memberlist's callbacks (which must not
// block) to a reader at its own pace, through an unbounded list.
type eventQueue struct {
	mu   sync.Mutex
	list []Event
	wake chan struct{}
	out  chan Event
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1), out: make(chan Event, 64)}
}

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	q.list = append(q.list, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run delivers events until done is closed, then closes out.
func (q *eventQueue) run(done <-chan struct{}) {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.list) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-done:
				return
			}
		}
		e := q.list[0]
		q.list[0] = Event{}
		q.list = q.list[1:]
		q.mu.Unlock()
		select {
		case q.out <- e:
		case <-done:
			return
		}
	}
}

// stop closes out when run never started.
func (q *eventQueue) stop() { close(q.out) }

// slogWriter turns memberlist's log lines ("[WARN] memberlist: ...") into
// slog records at the matching level.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	if strings.HasPrefix(line, "[") {
		if end := strings.IndexByte(line, ']'); end > 0 {
			switch line[1:end] {
			case "DEBUG", "TRACE":
				level = slog.LevelDebug
			case "INFO":
				level = slog.LevelInfo
			case "WARN":
				level = slog.LevelWarn
			case "ERR", "ERROR":
				level = slog.LevelError
			}
			line = strings.TrimSpace(line[end+1:])
		}
	}
	if !w.l.Enabled(context.Background(), level) {
		return len(p), nil
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	w.l.Log(context.Background(), level, line, "component", "memberlist")
	return len(p), nil
}
