package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// A brain's subjects are named by its prefix and name alone, so two brains
// of the same name on one NATS would take each other's sensor frames,
// control requests and motor subjects. The coordinator of a running brain
// therefore answers on <prefix>.<brain>.presence with its run identity, and
// a node that starts asks there first (CheckPresence) and refuses to start
// when a brain of another run answers. Nodes of the same cluster share the
// run identity and let each other through.

// presence is the answer on the presence subject.
type presence struct {
	Run  string `json:"run"`
	Node string `json:"node"`
}

// ErrBrainRunning is returned by CheckPresence and ConfirmPresence when
// another brain with the same subjects answers.
var ErrBrainRunning = errors.New("another brain with the same name runs on this NATS")

// presenceWait bounds how long ConfirmPresence gathers answers.
const presenceWait = 250 * time.Millisecond

// CheckPresence asks on subject (normally <prefix>.<brain>.presence)
// whether a brain answers, before this node subscribes anything. It
// returns an error wrapping ErrBrainRunning, naming the other run and its
// node, when one of another run than run does; nil when none answers (or
// only nodes of run). A subscriber that does not answer (someone watching
// every subject) is taken for no brain after timeout.
func CheckPresence(ctx context.Context, nc *nats.Conn, subject string, run uint64, timeout time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nc.RequestWithContext(rctx, subject, nil)
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("actors: asking %s whether the brain already runs: %w", subject, err)
	}
	return otherRun(m, subject, run)
}

// ConfirmPresence asks again once this node answers on subject itself
// (ServePresence) and gathers every answer for a moment: two brains that
// started at the same time both see each other here, and both refuse.
func ConfirmPresence(nc *nats.Conn, subject string, run uint64) error {
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("actors: presence check: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return fmt.Errorf("actors: presence check: %w", err)
	}
	deadline := time.Now().Add(presenceWait)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return nil // the time is up (or the connection closed: the run will say so)
		}
		if err := otherRun(m, subject, run); err != nil {
			return err
		}
	}
}

// otherRun reads a presence answer: nil for a node of run.
func otherRun(m *nats.Msg, subject string, run uint64) error {
	var p presence
	if err := json.Unmarshal(m.Data, &p); err != nil {
		return nil // not a brain's answer (on a server without users anyone may answer)
	}
	if p.Run == fmt.Sprintf("%016x", run) {
		return nil
	}
	return fmt.Errorf("%w: run %s coordinated by node %q answers on %s; stop it, or give this brain another name (--brain) or subject prefix",
		ErrBrainRunning, p.Run, p.Node, subject)
}

// ServePresence answers on subject with this node's run, for
// CheckPresence elsewhere. Only a brain's coordinator serves it.
func (r *Runtime) ServePresence(nc *nats.Conn, subject string) (*ControlService, error) {
	return ServePresence(nc, subject, r.cfg.Run, r.cfg.Node)
}

// ServePresence answers on subject with run and node.
func ServePresence(nc *nats.Conn, subject string, run uint64, node NodeID) (*ControlService, error) {
	answer, err := json.Marshal(presence{Run: fmt.Sprintf("%016x", run), Node: string(node)})
	if err != nil {
		return nil, err
	}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(answer) })
	if err != nil {
		return nil, fmt.Errorf("actors: subscribing to %s: %w", subject, err)
	}
	return &ControlService{subs: []*nats.Subscription{sub}}, nil
}
