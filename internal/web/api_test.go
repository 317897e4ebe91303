package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/web"
)

// TestLifecycle holds a node while it grows and again before its first
// burst: health answers throughout, readiness only once it bursts.
func TestLifecycle(t *testing.T) {
	growing, started := make(chan struct{}), make(chan struct{})
	n := startNode(t, func(c *brain.Config) {
		c.HTTPStarted = func(string) { <-growing }
		c.Ready = func() { <-started }
	})
	notReady := func(wantPhase web.Phase, reason string) {
		t.Helper()
		var r struct {
			Ready  bool
			Phase  web.Phase
			Reason string
		}
		n.getJSON("/readyz", http.StatusServiceUnavailable, &r)
		if r.Ready || r.Phase != wantPhase || !strings.Contains(r.Reason, reason) {
			t.Fatalf("/readyz = %+v, want not ready in phase %s because %q", r, wantPhase, reason)
		}
		var h struct{ Status string }
		n.getJSON("/healthz", http.StatusOK, &h)
		if h.Status != "alive" {
			t.Fatalf("/healthz status %q", h.Status)
		}
	}
	// Held before growth.
	notReady(web.PhaseGrowing, "growing")
	var info web.BrainInfo
	n.getJSON("/v1/brain", http.StatusOK, &info)
	if info.State != "growing" || info.Ready || info.Areas != 0 {
		t.Fatalf("/v1/brain while growing: %+v", info)
	}
	var e web.Error
	n.getJSON("/v1/areas", http.StatusServiceUnavailable, &e)
	if !strings.Contains(e.Error, "not grown") {
		t.Fatalf("/v1/areas while growing: %q", e.Error)
	}
	n.getJSON("/v1/stats", http.StatusServiceUnavailable, &e)
	close(growing)

	// Held after growth, before burst 1 (Ready blocks).
	deadline := 0
	for {
		var r struct{ Phase web.Phase }
		n.getJSON("/readyz", http.StatusServiceUnavailable, &r)
		if r.Phase == web.PhaseStarting {
			break
		}
		if deadline++; deadline > 3000 {
			t.Fatalf("the node never reached phase %s", web.PhaseStarting)
		}
		waitABit()
	}
	notReady(web.PhaseStarting, "first burst")
	var areas web.AreasInfo
	n.getJSON("/v1/areas", http.StatusOK, &areas)
	if len(areas.Areas) != 6 || areas.Burst != 0 {
		t.Fatalf("/v1/areas before burst 1: %d areas, burst %d", len(areas.Areas), areas.Burst)
	}
	close(started)
	n.waitReady()
	// Ready comes with the run's start; the first completed burst may come
	// a moment later on a busy machine.
	n.waitBurst(1)
	n.getJSON("/v1/brain", http.StatusOK, &info)
	if !info.Ready || info.State != "running" || info.Burst == 0 || info.Genome != testGenome || info.Precision == "" {
		t.Fatalf("/v1/brain while running: %+v", info)
	}
}

// TestAreas checks the areas' description and that their counts move.
func TestAreas(t *testing.T) {
	n := startNode(t, nil)
	n.waitReady()
	n.waitBurst(20)
	var a1 web.AreasInfo
	n.getJSON("/v1/areas", http.StatusOK, &a1)
	byName := map[string]web.AreaInfo{}
	for i, a := range a1.Areas {
		if a.Index != i || a.ID == "" || a.Owner != "local" || !a.Observed || a.Kind == "" {
			t.Errorf("area %d: %+v", i, a)
		}
		if a.Neurons != a.Dims[0]*a.Dims[1]*a.Dims[2]*a.PerVoxel {
			t.Errorf("area %s: %d neurons for dims %v × %d", a.Name, a.Neurons, a.Dims, a.PerVoxel)
		}
		byName[a.Name] = a
	}
	prox, ok := byName["Proximity sensor"]
	if !ok || prox.LegacyID != "i__pro" || prox.Kind != "ipu" || prox.Dims != [3]uint32{16, 1, 10} {
		t.Fatalf("Proximity sensor: %+v (areas %v)", prox, byName)
	}
	power := byName["Brain_Power"]
	if power.SpikesTotal == 0 || power.FiringRate <= 0 || power.FiringRate > 1 || power.SpikesPerSecond <= 0 {
		t.Fatalf("Brain_Power fires every few bursts, but: %+v", power)
	}
	n.waitBurst(a1.Burst + 10)
	var a2 web.AreasInfo
	n.getJSON("/v1/areas", http.StatusOK, &a2)
	if a2.Burst <= a1.Burst || a2.Areas[power.Index].SpikesTotal <= power.SpikesTotal {
		t.Fatalf("nothing moved: burst %d → %d, Brain_Power spikes %d → %d", a1.Burst, a2.Burst,
			power.SpikesTotal, a2.Areas[power.Index].SpikesTotal)
	}
}

// TestControl changes the rate, pauses and resumes over the API.
func TestControl(t *testing.T) {
	n := startNode(t, nil)
	n.waitReady()
	post := func(path, body string) web.Stats {
		t.Helper()
		code, _, data := n.do(http.MethodPost, path, body, "Content-Type", "application/json")
		if code != http.StatusOK {
			t.Fatalf("POST %s %s: %d %s", path, body, code, data)
		}
		var s web.Stats
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	brainInfo := func() web.BrainInfo {
		var b web.BrainInfo
		n.getJSON("/v1/brain", http.StatusOK, &b)
		return b
	}
	if b := brainInfo(); b.RateHz == nil || *b.RateHz != 100 || b.Free == nil || *b.Free {
		t.Fatalf("at start: rate %v free %v, want 100 and false", b.RateHz, b.Free)
	}
	post("/v1/rate", `{"hz": 50}`)
	if b := brainInfo(); b.RateHz == nil || *b.RateHz != 50 {
		t.Fatalf("after rate 50: rate %v", b.RateHz)
	}
	post("/v1/rate", `{"free": true}`)
	if b := brainInfo(); b.RateHz != nil || b.Free == nil || !*b.Free {
		t.Fatalf("after free: rate %v free %v", b.RateHz, b.Free)
	}
	post("/v1/rate", `{"hz": 200}`)
	if s := post("/v1/pause", ""); !s.Paused {
		t.Fatalf("pause answered %+v", s)
	}
	b := brainInfo()
	if b.State != "paused" || !b.Paused {
		t.Fatalf("after pause: state %q paused %v", b.State, b.Paused)
	}
	var st web.Stats
	n.getJSON("/v1/stats", http.StatusOK, &st)
	if !st.Paused || st.Burst == 0 || st.Spikes == 0 {
		t.Fatalf("/v1/stats while paused: %+v", st)
	}
	if s := post("/v1/resume", "{}"); s.Paused {
		t.Fatalf("resume answered %+v", s)
	}
	n.waitBurst(st.Burst + 5)
	if b := brainInfo(); b.State != "running" {
		t.Fatalf("after resume: state %q", b.State)
	}
}

// TestBadRequests: every mistake of a user gets a 4xx with a JSON error.
func TestBadRequests(t *testing.T) {
	n := startNode(t, nil)
	n.waitReady()
	json := "application/json"
	cases := []struct {
		method, path, body, ctype string
		want                      int
		says                      string
	}{
		{"GET", "/nope", "", "", 404, "no such endpoint"},
		{"GET", "/v1/", "", "", 404, "no such endpoint"},
		{"GET", "/v1/brains", "", "", 404, "no such endpoint"},
		{"POST", "/v1/brain", "", "", 405, "use GET"},
		{"DELETE", "/v1/areas", "", "", 405, "use GET"},
		{"GET", "/v1/rate", "", "", 405, "use POST"},
		{"PUT", "/v1/pause", "", "", 405, "use POST"},
		{"POST", "/metrics", "", "", 405, "use GET"},
		{"POST", "/v1/rate", "", json, 400, "want JSON"},
		{"POST", "/v1/rate", "{", json, 400, "want JSON"},
		{"POST", "/v1/rate", "{}", json, 400, `give {"hz": N}`},
		{"POST", "/v1/rate", `{"hz": 0}`, json, 400, "hz: want"},
		{"POST", "/v1/rate", `{"hz": -5}`, json, 400, "hz: want"},
		{"POST", "/v1/rate", `{"hz": 1e400}`, json, 400, "want JSON"},
		{"POST", "/v1/rate", `{"hz": 1e7}`, json, 400, "hz: want"},
		{"POST", "/v1/rate", `{"hz": "fast"}`, json, 400, "want JSON"},
		{"POST", "/v1/rate", `{"free": false}`, json, 400, `"free" must be true`},
		{"POST", "/v1/rate", `{"hz": 5, "free": true}`, json, 400, "not both"},
		{"POST", "/v1/rate", `{"speed": 5}`, json, 400, "unknown field"},
		{"POST", "/v1/rate", `{"hz": 5} {"hz": 6}`, json, 400, "one JSON object"},
		{"POST", "/v1/rate", `{"hz": 5}`, "text/plain", 415, "Content-Type"},
		{"POST", "/v1/rate", `{"hz": ` + strings.Repeat(" ", 5000) + `5}`, json, 413, "larger than"},
		{"POST", "/v1/pause", `{"now": true}`, json, 400, "want none"},
		{"POST", "/v1/resume", `[1]`, json, 400, "want none"},
	}
	for _, c := range cases {
		var hdr []string
		if c.ctype != "" {
			hdr = []string{"Content-Type", c.ctype}
		}
		code, h, data := n.do(c.method, c.path, c.body, hdr...)
		var e web.Error
		if code != c.want || h.Get("Content-Type") != "application/json" || jsonError(data, &e) != nil || !strings.Contains(e.Error, c.says) {
			t.Errorf("%s %s %.40q: %d %s %s; want %d and an error saying %q", c.method, c.path, c.body, code,
				h.Get("Content-Type"), data, c.want, c.says)
		}
		if code == 405 && h.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	// None of them changed anything.
	var b web.BrainInfo
	n.getJSON("/v1/brain", http.StatusOK, &b)
	if b.RateHz == nil || *b.RateHz != 100 || b.Paused {
		t.Fatalf("bad requests changed the brain: rate %v paused %v", b.RateHz, b.Paused)
	}
}

func jsonError(data []byte, e *web.Error) error { return json.Unmarshal(data, e) }

// TestOperatorToken: with a token, changes need it; reads do not.
func TestOperatorToken(t *testing.T) {
	n := startNode(t, func(c *brain.Config) { c.OperatorToken = "s3cret-token" })
	n.waitReady()
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret-token"},
		{"Authorization", "Bearer s3cret-toke"}, {"Authorization", "Bearer s3cret-token2"}, {"Authorization", "Basic czNjcmV0LXRva2Vu"}} {
		code, h, data := n.do(http.MethodPost, "/v1/pause", "", hdr...)
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(data), "operator token") {
			t.Errorf("POST /v1/pause with %q: %d %q %s; want 401 asking for the token", hdr, code, h.Get("WWW-Authenticate"), data)
		}
	}
	var b web.BrainInfo
	n.getJSON("/v1/brain", http.StatusOK, &b)
	if b.Paused {
		t.Fatal("an unauthorized pause paused the brain")
	}
	code, _, data := n.do(http.MethodPost, "/v1/pause", "", "Authorization", "Bearer s3cret-token")
	if code != http.StatusOK {
		t.Fatalf("POST /v1/pause with the token: %d %s", code, data)
	}
	n.getJSON("/v1/brain", http.StatusOK, &b)
	if !b.Paused {
		t.Fatal("the authorized pause did not pause the brain")
	}
}

// TestBeyondLoopbackWithoutToken: listening on every interface without a
// token, the node refuses changes and says so in its log.
func TestBeyondLoopbackWithoutToken(t *testing.T) {
	n := startNode(t, func(c *brain.Config) { c.HTTP = "0.0.0.0:0" })
	n.waitReady()
	code, _, data := n.do(http.MethodPost, "/v1/rate", `{"hz": 10}`)
	if code != http.StatusForbidden || !strings.Contains(string(data), "--http-token-file") {
		t.Fatalf("POST /v1/rate: %d %s; want 403 naming --http-token-file", code, data)
	}
	if !strings.Contains(n.log.String(), "beyond loopback") {
		t.Fatalf("no warning in the log:\n%s", n.log)
	}
	var st web.Stats
	n.getJSON("/v1/stats", http.StatusOK, &st)
}

// TestReferenceRunner: the reference runner answers reads, and 409 to
// changes, which it cannot make.
func TestReferenceRunner(t *testing.T) {
	n := startNode(t, func(c *brain.Config) { c.Runner = brain.RunnerReference })
	n.waitReady()
	code, _, data := n.do(http.MethodPost, "/v1/pause", "")
	if code != http.StatusConflict || !strings.Contains(string(data), "reference runner") {
		t.Fatalf("POST /v1/pause: %d %s; want 409", code, data)
	}
	var st web.Stats
	n.getJSON("/v1/stats", http.StatusOK, &st)
	if st.Burst == 0 {
		t.Fatalf("/v1/stats: %+v", st)
	}
	var b web.BrainInfo
	n.getJSON("/v1/brain", http.StatusOK, &b)
	if b.Runner != brain.RunnerReference || b.RateHz == nil || *b.RateHz != 100 {
		t.Fatalf("/v1/brain: runner %q rate %v", b.Runner, b.RateHz)
	}
}

// TestProfiles: Go's profiles are served.
func TestProfiles(t *testing.T) {
	n := startNode(t, nil)
	n.waitReady()
	code, _, data := n.do(http.MethodGet, "/debug/pprof/", "")
	if code != http.StatusOK || !strings.Contains(string(data), "goroutine") {
		t.Fatalf("/debug/pprof/: %d %.200s", code, data)
	}
	code, _, data = n.do(http.MethodGet, "/debug/pprof/goroutine?debug=1", "")
	if code != http.StatusOK || !strings.Contains(string(data), "goroutine profile") {
		t.Fatalf("/debug/pprof/goroutine: %d %.200s", code, data)
	}
}

// TestActivity: while watched, the frames count what fired.
func TestActivity(t *testing.T) {
	n := startNode(t, nil)
	n.waitReady()
	var f web.Activity
	n.getJSON("/v1/activity", http.StatusOK, &f) // starts watching
	start := f.Burst
	n.waitBurst(start + 30)
	waitFrame()
	n.getJSON("/v1/activity", http.StatusOK, &f)
	if f.Bursts == 0 || f.Seconds <= 0 || len(f.Areas) != 6 {
		t.Fatalf("second frame: %d bursts over %vs, %d areas", f.Bursts, f.Seconds, len(f.Areas))
	}
	var areas web.AreasInfo
	n.getJSON("/v1/areas", http.StatusOK, &areas)
	for _, g := range f.Areas {
		a := areas.Areas[g.Index]
		var sum uint64
		for _, c := range g.Cells {
			sum += uint64(c)
		}
		h, axes := a.Dims[1], "xy"
		if h == 1 && a.Dims[2] > 1 {
			h, axes = a.Dims[2], "xz"
		}
		if len(g.Cells) != int(g.W*g.H) || g.W != min(a.Dims[0], 64) || g.H != min(h, 64) || g.Axes != axes {
			t.Errorf("area %s: grid %d×%d of %d cells for dims %v", a.Name, g.W, g.H, len(g.Cells), a.Dims)
		}
		if a.Name == "Brain_Power" && sum == 0 {
			t.Errorf("Brain_Power fired during %d bursts but its grid is empty", f.Bursts)
		}
		if sum > f.Bursts*uint64(a.Neurons) {
			t.Errorf("area %s: %d fires in %d bursts of %d neurons", a.Name, sum, f.Bursts, a.Neurons)
		}
	}
}

func jsonDecode(data []byte, v any) error { return json.Unmarshal(data, v) }
