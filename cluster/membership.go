package cluster

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultJoinTimeout is how long Start tries to reach its seeds when
// Config.JoinTimeout is 0.
const DefaultJoinTimeout = 30 * time.Second

// Errors that a failed Start wraps, to tell the causes apart with errors.Is.
var (
	// ErrDifferentBrain: a peer's Digest differs (or its metadata cannot
	// be read); the cluster runs another brain.
	ErrDifferentBrain = errors.New("different brain")
	// ErrNameTaken: a live member already uses this node's name.
	ErrNameTaken = errors.New("node name taken")
	// ErrLabelDiffers: a seed answered but drops our traffic because its
	// cluster label is not ours.
	ErrLabelDiffers = errors.New("cluster label differs")
	// ErrNoAnswer: a seed could not be reached.
	ErrNoAnswer = errors.New("no answer")
)

// Config configures one node's membership.
type Config struct {
	// Name is the node's name, unique in the cluster (a StatefulSet pod
	// name, say).
	Name string
	// Bind is the HOST:PORT memberlist listens on, over TCP and UDP. Port 0
	// picks a free port (see Membership.Self for the one chosen).
	Bind string
	// Advertise is the HOST:PORT peers should use to reach this node, when
	// it differs from Bind (NAT, or Bind on 0.0.0.0). "" lets memberlist
	// choose.
	Advertise string
	// Join lists seeds as HOST:PORT. Start contacts them, retrying until
	// JoinTimeout, so nodes may start in any order; seeds that are this
	// node itself are skipped, so every node can be given the same list.
	// With no other seed, the node is the first of its cluster.
	Join []string
	// Label tags every memberlist packet; nodes with different labels do
	// not talk to each other.
	Label string
	// JoinTimeout bounds Start's attempts to reach the seeds; 0 means
	// DefaultJoinTimeout.
	JoinTimeout time.Duration
	// Meta is what this node tells its peers.
	Meta Meta
	// Logger receives memberlist's log and ours; nil means slog.Default().
	Logger *slog.Logger
	// Failure detection tunables; 0 keeps memberlist's LAN defaults
	// (probe every 1 s, 500 ms timeout, suspicion multiplier 4). Tests
	// shorten them to see dead nodes sooner.
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
}

// Member is a node of the cluster.
type Member struct {
	Name string
	Addr string // HOST:PORT of its memberlist
	Meta Meta
}

// EventKind says what happened to a member.
type EventKind int

// The kinds of Event.
const (
	EventJoin   EventKind = iota + 1 // the member is alive and known
	EventLeave                       // the member left or was found dead
	EventUpdate                      // the member's Meta changed
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventUpdate:
		return "update"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is a change in membership.
type Event struct {
	Kind   EventKind
	Member Member
}

// Membership is this node's view of the cluster.
type Membership struct {
	name    string
	digest  Digest
	label   string
	log     *slog.Logger
	ml      atomic.Pointer[memberlist.Memberlist]
	meta    atomic.Pointer[[]byte]
	events  *eventQueue
	done    chan struct{}
	stopper sync.Once
	stopErr error

	// The members as the event callbacks report them. memberlist's own
	// Members hands out pointers into state it goes on changing, so this
	// copy, made while memberlist holds its lock, is what is read.
	membersMu sync.Mutex
	members   map[string]Member
	changed   chan struct{} // closed and replaced at each membership change

	refusalMu sync.Mutex
	refusals  []*refusal // recent refusals, newest last
	refused   uint64     // refusals so far
}

// refusal is a peer that this node would not merge with.
type refusal struct {
	kind error
	msg  string
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.kind }

// Start creates this node's memberlist, binds Bind, and joins the seeds
// (see Config.Join). It fails when the seeds cannot be joined within
// JoinTimeout, saying for each seed whether it gave no answer, answered
// with another cluster label, or belongs to a cluster running another brain
// (a different Digest, named field by field) or holding a live member of
// the same name.
func Start(cfg Config) (*Membership, error) {
	if cfg.Name == "" {
		return nil, errors.New("cluster: node name is empty")
	}
	if cfg.Bind == "" {
		return nil, errors.New("cluster: no bind address (HOST:PORT)")
	}
	if len(cfg.Label) > memberlist.LabelMaxSize {
		return nil, fmt.Errorf("cluster: label is %d bytes, at most %d allowed", len(cfg.Label), memberlist.LabelMaxSize)
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	meta, err := encodeMeta(cfg.Meta)
	if err != nil {
		return nil, fmt.Errorf("cluster: node %q: %w", cfg.Name, err)
	}

	conf := memberlist.DefaultLANConfig()
	conf.Name = cfg.Name
	if conf.BindAddr, conf.BindPort, err = hostPort(cfg.Bind); err != nil {
		return nil, fmt.Errorf("cluster: bind address %q: %w", cfg.Bind, err)
	}
	if cfg.Advertise != "" {
		if conf.AdvertiseAddr, conf.AdvertisePort, err = hostPort(cfg.Advertise); err != nil {
			return nil, fmt.Errorf("cluster: advertise address %q: %w", cfg.Advertise, err)
		}
	}
	conf.Label = cfg.Label
	if cfg.ProbeInterval > 0 {
		conf.ProbeInterval = cfg.ProbeInterval
	}
	if cfg.ProbeTimeout > 0 {
		conf.ProbeTimeout = cfg.ProbeTimeout
	}
	if cfg.SuspicionMult > 0 {
		conf.SuspicionMult = cfg.SuspicionMult
	}
	// A restarted node (a pod with a new address) may take its name back
	// as soon as its former self is known dead.
	conf.DeadNodeReclaimTime = time.Nanosecond

	m := &Membership{
		name:    cfg.Name,
		digest:  cfg.Meta.Digest,
		label:   cfg.Label,
		log:     logger.With("node", cfg.Name),
		events:  newEventQueue(),
		done:    make(chan struct{}),
		members: make(map[string]Member),
		changed: make(chan struct{}),
	}
	m.meta.Store(&meta)
	d := &delegate{m: m}
	conf.Delegate = d
	conf.Events = d
	conf.Merge = d
	conf.Alive = d
	conf.Conflict = d
	conf.Logger = log.New(slogWriter{m.log}, "", 0)

	ml, err := memberlist.Create(conf)
	if err != nil {
		m.events.stop()
		return nil, fmt.Errorf("cluster: node %q cannot start memberlist on %s: %w", cfg.Name, cfg.Bind, err)
	}
	m.ml.Store(ml)
	go m.events.run(m.done)

	seeds := m.otherSeeds(cfg.Join, conf.BindAddr, conf.BindPort)
	if len(seeds) == 0 {
		m.log.Info("cluster: first node", "addr", m.Self().Addr)
		return m, nil
	}
	if err := m.join(seeds, cfg.JoinTimeout); err != nil {
		_ = m.Shutdown()
		return nil, err
	}
	return m, nil
}

// hostPort splits HOST:PORT and resolves HOST to an IP address, as
// memberlist wants one. An empty HOST means all addresses.
func hostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if host == "" {
		return "0.0.0.0", int(port), nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), int(port), nil
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return "", 0, err
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String(), int(port), nil
		}
	}
	return ips[0].String(), int(port), nil
}

// otherSeeds drops duplicate seeds and those that are this node.
func (m *Membership) otherSeeds(seeds []string, bindAddr string, bindPort int) []string {
	selfIP, selfPort := net.IP(nil), -1
	if host, p, err := net.SplitHostPort(m.Self().Addr); err == nil {
		selfIP = net.ParseIP(host)
		selfPort, _ = strconv.Atoi(p)
	}
	bindIP := net.ParseIP(bindAddr)
	var local []net.IP
	if bindIP.IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					local = append(local, n.IP)
				}
			}
		}
	}
	isSelf := func(seed string) bool {
		host, p, err := net.SplitHostPort(seed)
		if err != nil {
			return false
		}
		port, err := strconv.Atoi(p)
		if err != nil || (port != selfPort && port != bindPort) {
			return false
		}
		ips := []net.IP{net.ParseIP(host)}
		if ips[0] == nil {
			if ips, err = net.LookupIP(host); err != nil {
				return false
			}
		}
		for _, ip := range ips {
			if ip.Equal(selfIP) || ip.Equal(bindIP) || slices.ContainsFunc(local, ip.Equal) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, s := range seeds {
		s = strings.TrimSpace(s)
		if s == "" || slices.Contains(out, s) {
			continue
		}
		if isSelf(s) {
			m.log.Debug("cluster: skipping seed that is this node", "seed", s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// join contacts every seed in rounds until this node knows another member,
// a seed's cluster runs another brain, or the time is up.
func (m *Membership) join(seeds []string, timeout time.Duration) error {
	ml := m.ml.Load()
	deadline := time.Now().Add(timeout)
	pause := 100 * time.Millisecond
	labelRounds, round := 0, 0
	// The latest outcome per seed; a seed not tried for lack of time keeps
	// the one before.
	outcomes := make([]error, len(seeds))
	for i, s := range seeds {
		outcomes[i] = &refusal{kind: ErrNoAnswer, msg: fmt.Sprintf("no answer from seed %s in time", s)}
	}
	for {
		// Seeds are tried side by side, so that one that swallows packets
		// does not hold up the others.
		if remaining := time.Until(deadline); remaining > 0 {
			var wg sync.WaitGroup
			for i, s := range seeds {
				wg.Go(func() { outcomes[i] = m.joinSeed(s, remaining) })
			}
			wg.Wait()
		}
		if ml.NumMembers() > 1 {
			for _, err := range outcomes {
				if err != nil && !errors.Is(err, errNobodyNew) {
					m.log.Warn("cluster: joined, but a seed failed", "err", err)
				}
			}
			m.log.Info("cluster: joined", "members", ml.NumMembers())
			return nil
		}
		var fatal, label int
		for _, err := range outcomes {
			switch {
			case errors.Is(err, ErrDifferentBrain):
				fatal++
			case errors.Is(err, ErrLabelDiffers):
				label++
			}
		}
		if label == len(seeds) {
			labelRounds++
		} else {
			labelRounds = 0
		}
		// A seed of another brain will not change its mind; a label that
		// differs three rounds in a row will not either.
		if fatal > 0 || labelRounds >= 3 || time.Now().After(deadline) {
			return &joinError{node: m.name, timeout: timeout, seeds: slices.Clone(outcomes), early: !time.Now().After(deadline)}
		}
		level := slog.LevelDebug
		if round == 0 {
			level = slog.LevelInfo
		}
		m.log.Log(context.Background(), level, "cluster: no seed joined yet; retrying", "err", &joinError{node: m.name, seeds: slices.Clone(outcomes), early: true})
		round++
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, time.Second)
	}
}

// errNobodyNew marks a seed whose answer brought no new member: it is this
// node under another address, or all it knows was refused.
var errNobodyNew = errors.New("nobody new")

// joinSeed makes one attempt at joining through seed and classifies a
// failure.
func (m *Membership) joinSeed(seed string, limit time.Duration) error {
	ml := m.ml.Load()
	before := ml.NumMembers()
	m.refusalMu.Lock()
	refusedBefore := m.refused
	m.refusalMu.Unlock()
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := ml.Join([]string{seed})
		ch <- result{n, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(limit):
		return &refusal{kind: ErrNoAnswer, msg: fmt.Sprintf("no answer from seed %s within %v", seed, limit)}
	}
	if r.err == nil {
		if ml.NumMembers() > before {
			return nil
		}
		if ref := m.refusedSince(refusedBefore); ref != nil {
			return ref
		}
		return &refusal{kind: errNobodyNew, msg: fmt.Sprintf("seed %s answered, but no member new to this node (is it this node?)", seed)}
	}
	if ref := m.refusalIn(r.err); ref != nil {
		return ref
	}
	return m.classify(seed, r.err, min(limit, 5*time.Second))
}

// classify tells why joining through seed failed: memberlist's own error
// does not say whether the seed is down or drops our traffic because its
// label differs (that is logged only on the seed), so a stream ping finds
// out.
func (m *Membership) classify(seed string, joinErr error, limit time.Duration) error {
	res, err := probe(seed, m.label, limit)
	switch res {
	case probeUnreachable:
		return &refusal{kind: ErrNoAnswer, msg: fmt.Sprintf("no answer from seed %s (%v)", seed, err)}
	case probeDropped:
		msg := fmt.Sprintf("seed %s answered but its cluster label differs (ours is %q)", seed, m.label)
		if m.label != "" {
			if r, _ := probe(seed, "", limit); r == probeAcked {
				msg = fmt.Sprintf("seed %s answered but its cluster label differs (it has none, ours is %q)", seed, m.label)
			}
		}
		return &refusal{kind: ErrLabelDiffers, msg: msg}
	case probeSilent:
		return &refusal{kind: ErrNoAnswer, msg: fmt.Sprintf("no answer from seed %s: it accepts connections but does not speak memberlist (%v)", seed, err)}
	}
	return fmt.Errorf("seed %s answered but the join failed: %v", seed, joinErr)
}

// refusalIn finds the refusal by this node's merge check that made a join
// fail: memberlist reports it as text inside its own error.
func (m *Membership) refusalIn(err error) *refusal {
	text := err.Error()
	m.refusalMu.Lock()
	defer m.refusalMu.Unlock()
	for i := len(m.refusals) - 1; i >= 0; i-- {
		if strings.Contains(text, m.refusals[i].msg) {
			return m.refusals[i]
		}
	}
	return nil
}

// refusedSince is the latest refusal after the first n, if any.
func (m *Membership) refusedSince(n uint64) *refusal {
	m.refusalMu.Lock()
	defer m.refusalMu.Unlock()
	if m.refused == n || len(m.refusals) == 0 {
		return nil
	}
	return m.refusals[len(m.refusals)-1]
}

// refuse records and logs why a peer is kept out.
func (m *Membership) refuse(kind error, format string, args ...any) error {
	r := m.record(kind, format, args...)
	m.log.Warn("cluster: refusing peer", "reason", r.msg)
	return r
}

// record keeps a refusal for Start's error messages.
func (m *Membership) record(kind error, format string, args ...any) *refusal {
	r := &refusal{kind: kind, msg: fmt.Sprintf(format, args...)}
	m.refusalMu.Lock()
	m.refusals = append(m.refusals, r)
	if len(m.refusals) > 32 {
		m.refusals = slices.Delete(m.refusals, 0, len(m.refusals)-32)
	}
	m.refused++
	m.refusalMu.Unlock()
	return r
}

// joinError is a failed join: what happened with each seed.
type joinError struct {
	node    string
	timeout time.Duration
	early   bool
	seeds   []error
}

func (e *joinError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster: node %q could not join", e.node)
	if !e.early {
		fmt.Fprintf(&b, " within %v", e.timeout)
	}
	b.WriteString(": ")
	n := 0
	for _, err := range e.seeds {
		if err == nil {
			continue
		}
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
		n++
	}
	return b.String()
}

func (e *joinError) Unwrap() []error { return e.seeds }

// Self is this node as its peers see it.
func (m *Membership) Self() Member {
	m.membersMu.Lock()
	defer m.membersMu.Unlock()
	return m.members[m.name]
}

// Members lists the members memberlist holds alive (or suspects but has not
// yet declared dead), this node included, sorted by name.
func (m *Membership) Members() []Member {
	m.membersMu.Lock()
	out := make([]Member, 0, len(m.members))
	for _, mb := range m.members {
		out = append(out, mb)
	}
	m.membersMu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// member copies what a memberlist node says; call it only where memberlist
// holds its lock (its callbacks) or on a node of its own.

func (m *Membership) member(n *memberlist.Node) Member {
	meta, err := decodeMeta(n.Meta)
	if err != nil {
		m.log.Debug("cluster: unreadable metadata", "member", n.Name, "err", err)
	}
	return Member{Name: n.Name, Addr: n.Address(), Meta: meta}
}

// Events delivers membership changes in the order memberlist reports them;
// the first is this node's own join. The queue behind it has no bound, so
// memberlist never waits for the reader. The channel is closed by Shutdown.
func (m *Membership) Events() <-chan Event { return m.events.out }

// WaitFor returns the members once there are at least n of them, or an
// error naming those there are when ctx ends first.
func (m *Membership) WaitFor(ctx context.Context, n int) ([]Member, error) {
	for {
		m.membersMu.Lock()
		ch := m.changed
		m.membersMu.Unlock()
		ms := m.Members()
		if len(ms) >= n {
			return ms, nil
		}
		select {
		case <-ch:
		case <-m.done:
			return ms, errors.New("cluster: membership shut down while waiting for members")
		case <-ctx.Done():
			names := make([]string, len(ms))
			for i, mb := range ms {
				names[i] = mb.Name
			}
			return ms, fmt.Errorf("cluster: %d of %d members (%s): %w", len(ms), n, strings.Join(names, ", "), ctx.Err())
		}
	}
}

// UpdateMeta changes what this node tells its peers (its Digest may not
// change) and spreads it, waiting up to timeout for the peers to hear it.
func (m *Membership) UpdateMeta(meta Meta, timeout time.Duration) error {
	if diff := m.digest.Diff(meta.Digest); diff != "" {
		return fmt.Errorf("cluster: the digest of a running node cannot change: %s", diff)
	}
	b, err := encodeMeta(meta)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	m.meta.Store(&b)
	return m.ml.Load().UpdateNode(timeout)
}

// Leave tells the other members that this node is leaving and waits up to
// timeout for the news to spread. Call Shutdown afterwards.
func (m *Membership) Leave(timeout time.Duration) error {
	return m.ml.Load().Leave(timeout)
}

// Shutdown stops this node's memberlist without telling the others (they
// find it dead) and closes Events. It may be called more than once.
func (m *Membership) Shutdown() error {
	m.stopper.Do(func() {
		m.stopErr = m.ml.Load().Shutdown()
		close(m.done)
	})
	return m.stopErr
}

// apply records a change of membership and wakes WaitFor.
func (m *Membership) apply(e Event) {
	m.membersMu.Lock()
	if e.Kind == EventLeave {
		delete(m.members, e.Member.Name)
	} else {
		m.members[e.Member.Name] = e.Member
	}
	close(m.changed)
	m.changed = make(chan struct{})
	m.membersMu.Unlock()
}
