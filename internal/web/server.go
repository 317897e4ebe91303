package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spikemesh/spikemesh/actors"
)

// Phase is where a node is in its life, as /readyz and /v1/brain say it.
type Phase string

// The phases of a node, in order.
const (
	PhaseGrowing  Phase = "growing"  // reading and growing the genome
	PhaseJoining  Phase = "joining"  // joining the cluster, connecting to NATS
	PhaseStarting Phase = "starting" // grown and connected, before the first burst
	PhaseRunning  Phase = "running"  // bursting (or paused)
	PhaseStopped  Phase = "stopped"  // the run ended
)

// Options configure a Server.
type Options struct {
	// Addr is the listen address, HOST:PORT (--http). Port 0 picks a free
	// port.
	Addr string
	// Token is the operator token that changes (POST) require as
	// "Authorization: Bearer TOKEN"; "" requires none when Addr is a
	// loopback address and refuses every change otherwise.
	Token string
	// Logger receives the server's few log records; nil discards them.
	Logger *slog.Logger
}

// Server is a node's HTTP endpoint: health, metrics, profiling, the JSON
// API and the live view. Its methods may be called on a nil *Server, and
// then do nothing, so that a node without --http needs no checks.
type Server struct {
	opts     Options
	log      *slog.Logger
	loopback bool
	tokenSum [32]byte
	ln       net.Listener
	srv      *http.Server
	done     chan struct{}

	metrics  *metrics
	attached atomic.Pointer[attached]
	phaseMu  sync.Mutex
	phase    Phase
	why      string // what the phase waits for, in words
	win      window
}

// attached is the grown brain and its per-area counters.
type attached struct {
	brain    Brain
	spikes   []atomic.Uint64 // by area index
	labels   []string        // area label: the name, else the ID
	observed []bool          // areas whose firing this node sees
	owned    int
	act      *activity
	since    time.Time
}

// CheckAddr checks an --http address: HOST:PORT with PORT 0 to 65535.
func CheckAddr(addr string) error {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--http %q: want HOST:PORT (for example 127.0.0.1:8080 or 0.0.0.0:8080): %w", addr, err)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--http %q: port %q: want 0 to 65535", addr, p)
	}
	return nil
}

// Loopback reports whether addr (HOST:PORT) listens on the loopback
// interface only: localhost or a loopback IP. An empty host (every
// interface) or any other name is not.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start listens on o.Addr and serves until Close.
func Start(o Options) (*Server, error) {
	if err := CheckAddr(o.Addr); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, log: log, loopback: Loopback(o.Addr), phase: PhaseGrowing, why: "growing the brain",
		done: make(chan struct{})}
	s.tokenSum = sha256.Sum256([]byte(o.Token))
	s.metrics = newMetrics(s)
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", o.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
	}()
	log.Info("HTTP listening", "url", "http://"+ln.Addr().String()+"/")
	if o.Token == "" && !s.loopback {
		log.Warn("HTTP listens beyond loopback without an operator token: changes (POST /v1/rate, /v1/pause, /v1/resume) are refused; give --http-token-file FILE to allow them",
			"addr", o.Addr)
	}
	return s, nil
}

// Addr is the address the server listens on ("" for a nil Server).
func (s *Server) Addr() string {
	if s == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server, letting requests in progress finish for up to
// two seconds.
func (s *Server) Close() {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// SetPhase records where the node is; why says, in words, what it waits
// for (shown by /readyz until the node is ready).
func (s *Server) SetPhase(p Phase, why string) {
	if s == nil {
		return
	}
	s.phaseMu.Lock()
	s.phase, s.why = p, why
	s.phaseMu.Unlock()
}

func (s *Server) getPhase() (Phase, string) {
	s.phaseMu.Lock()
	defer s.phaseMu.Unlock()
	return s.phase, s.why
}

// Attach hands the server the grown, connected brain, before its first
// burst.
func (s *Server) Attach(b Brain) {
	if s == nil {
		return
	}
	at := &attached{brain: b, spikes: make([]atomic.Uint64, len(b.Areas)), labels: make([]string, len(b.Areas)),
		since: time.Now()}
	for i, a := range b.Areas {
		at.labels[i] = a.Name
		if a.Name == "" {
			at.labels[i] = a.ID
		}
	}
	at.place()
	s.win.reset(at, s.metrics.bursts.Load(), at.since)
	s.attached.Store(at)
	s.SetPhase(PhaseStarting, "waiting for the first burst")
}

// Placement is who runs the brain in one generation of a cluster: its
// coordinator, its members, its epoch and the node of every area (by area
// index), and whether this node sees every area's firing.
type Placement struct {
	Coordinator string
	Nodes       []string
	Epoch       uint64
	Owners      []string
	ObservesAll bool
}

// Reassign takes a new generation's placement: /v1/brain, /v1/areas and
// the page show it from then on. Spike totals and the recent rates carry
// over (the areas are the same).
func (s *Server) Reassign(p Placement) {
	if s == nil {
		return
	}
	old := s.attached.Load()
	if old == nil {
		return
	}
	b := old.brain
	b.Coordinator, b.Nodes, b.Epoch, b.ObservesAll = p.Coordinator, slices.Clone(p.Nodes), p.Epoch, p.ObservesAll
	b.Areas = slices.Clone(b.Areas)
	for i := range b.Areas {
		if i < len(p.Owners) {
			b.Areas[i].Owner = p.Owners[i]
		}
	}
	at := &attached{brain: b, spikes: old.spikes, labels: old.labels, since: old.since}
	at.place()
	s.attached.Store(at)
}

// place derives from the brain's placement what this node owns and
// observes, and the activity of the areas it observes.
func (at *attached) place() {
	b := &at.brain
	at.owned, at.observed = 0, make([]bool, len(b.Areas))
	for i, a := range b.Areas {
		if a.Owner == b.Node {
			at.owned++
		}
		at.observed[i] = b.ObservesAll || a.Owner == b.Node
	}
	at.act = newActivity(b.Areas, at.observed)
}

// Observe counts one completed burst. It is the brain's observer's hook:
// it allocates nothing, and touches per area one pre-resolved counter.
func (s *Server) Observe(r *actors.BurstResult) {
	if s == nil {
		return
	}
	m := s.metrics
	m.bursts.Add(1)
	m.last.Store(uint64(r.Burst))
	m.duration.Observe(r.Elapsed.Seconds())
	at := s.attached.Load()
	if at == nil {
		return
	}
	for i := range at.spikes {
		if n := r.Count(i); n > 0 {
			at.spikes[i].Add(uint64(n))
		}
	}
	at.act.observe(r)
}

// Watching reports whether someone watches the live view, whose frames
// count the indices that fired: the brain's coordinator then asks the other
// nodes for them (actors.Config.WantFired). Safe on a nil *Server.
func (s *Server) Watching() bool {
	if s == nil {
		return false
	}
	at := s.attached.Load()
	return at != nil && at.act.live.Load()
}

// ready reports whether the node is ready, and else why not.
func (s *Server) ready() (bool, string) {
	p, why := s.getPhase()
	switch {
	case p == PhaseStopped:
		return false, "the run has ended"
	case s.attached.Load() == nil:
		return false, why
	case s.metrics.bursts.Load() == 0:
		return false, "waiting for the first burst"
	}
	return true, ""
}

// routes builds the server's handler. Every answer but the page, the
// metrics and the profiles is JSON, errors included.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	get := func(h http.HandlerFunc) http.HandlerFunc { return only(http.MethodGet, h) }
	post := func(h http.HandlerFunc) http.HandlerFunc { return only(http.MethodPost, s.authorized(h)) }
	mux.HandleFunc("/healthz", get(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	}))
	mux.HandleFunc("/readyz", get(s.readyz))
	mux.Handle("/metrics", get(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}).ServeHTTP))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/v1/brain", get(s.getBrain))
	mux.HandleFunc("/v1/areas", get(s.getAreas))
	mux.HandleFunc("/v1/activity", get(s.getActivity))
	mux.HandleFunc("/v1/stats", get(s.getStats))
	mux.HandleFunc("/v1/rate", post(s.postRate))
	mux.HandleFunc("/v1/pause", post(s.postPause))
	mux.HandleFunc("/v1/resume", post(s.postResume))
	mux.HandleFunc("/{$}", get(servePage))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s (see /v1/brain, /v1/areas, /v1/stats, /metrics, /healthz, /readyz)", r.URL.Path))
	})
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ok, why := s.ready()
	p, _ := s.getPhase()
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "phase": p, "reason": why})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true, "phase": p, "burst": s.metrics.last.Load()})
}

// only lets method (and HEAD with GET) through, and answers 405 otherwise.
func only(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
			h(w, r)
			return
		}
		allow := method
		if method == http.MethodGet {
			allow = "GET, HEAD"
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, method))
	}
}

// authorized lets a change through when the operator's token is right, or
// when no token is configured and the server listens on loopback only.
func (s *Server) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token == "" {
			if !s.loopback {
				writeError(w, http.StatusForbidden, fmt.Sprintf(
					"changes are refused: this node's HTTP listens beyond loopback (%s) and has no operator token; start it with --http-token-file FILE",
					s.opts.Addr))
				return
			}
			h(w, r)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Comparing digests keeps the time independent of the token's
		// length as well as its bytes.
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !ok || subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="spikemesh"`)
			writeError(w, http.StatusUnauthorized, "changes need the operator token: send Authorization: Bearer TOKEN")
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"error": "encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}
