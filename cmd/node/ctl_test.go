package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/spikemesh/spikemesh/internal/freeport"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/web"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
)

// ctlBrain runs a brain in this process with its HTTP API on a free
// loopback port and its embedded NATS server listening on another; it
// returns both URLs once the brain bursts.
func ctlBrain(t *testing.T, token string) (httpURL, natsURL string) {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "creds")
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"nats-creds", "--dir", creds, "--user", "node:node,operator1:operator,observer1:observer"}, &stdout, &stderr); code != 0 {
		t.Fatalf("nats-creds: %s", stderr.String())
	}
	ctlCreds = creds
	port, err := freeport.Get() // the node listens there for NATS clients
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := brain.Config{Genome: "community_webots_pioneer2.json", Rate: 100, HTTP: "127.0.0.1:0", OperatorToken: token,
		NATSListen: natsAddr, NATSUsers: filepath.Join(creds, "users.yaml"), NATSCreds: filepath.Join(creds, "node.creds"),
		Stderr: io.Discard, HTTPStarted: func(a string) { addr <- a }}
	go func() {
		_, err := brain.Run(ctx, c)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("brain.Run: %v", err)
		}
	})
	select {
	case a := <-addr:
		httpURL = "http://" + a
	case err := <-done:
		done <- nil // for the cleanup
		t.Fatalf("brain.Run: %v", err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(httpURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the brain was not ready within a minute")
		}
	}
	return httpURL, "nats://" + natsAddr
}

// ctlCreds is the directory of the credentials of the last ctlBrain.
var ctlCreds string

// ctl runs node ctl with args and returns its exit status and outputs.
func ctl(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(append([]string{"ctl"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// ctlJSON runs node ctl, wants success and decodes its output into v.
func ctlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errs := ctl(args...)
	if code != 0 {
		t.Fatalf("node ctl %v: exit %d: %s", args, code, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("node ctl %v: output is not JSON: %v\n%s", args, err, out)
	}
}

func TestCtlHTTP(t *testing.T) {
	base, _ := ctlBrain(t, "")
	var info web.BrainInfo
	ctlJSON(t, &info, "status", "--http", base)
	if info.Genome != "community_webots_pioneer2.json" || info.State != "running" || info.Areas != 6 {
		t.Fatalf("status: %+v", info)
	}
	var st web.Stats
	ctlJSON(t, &st, "--http", base, "pause")
	if !st.Paused {
		t.Fatalf("pause: %+v", st)
	}
	ctlJSON(t, &st, "--http", strings.TrimPrefix(base, "http://"), "stats") // a bare HOST:PORT works too
	if !st.Paused || st.Burst == 0 {
		t.Fatalf("stats: %+v", st)
	}
	ctlJSON(t, &st, "rate", "40", "--http", base+"/")
	ctlJSON(t, &info, "status", "--http", base)
	if info.RateHz == nil || *info.RateHz != 40 || info.State != "paused" {
		t.Fatalf("after rate 40 while paused: rate %v state %s", info.RateHz, info.State)
	}
	ctlJSON(t, &st, "free", "--http", base)
	ctlJSON(t, &st, "resume", "--http", base)
	if st.Paused {
		t.Fatalf("resume: %+v", st)
	}
	ctlJSON(t, &info, "status", "--http", base)
	if info.Free == nil || !*info.Free || info.State != "running" {
		t.Fatalf("after free and resume: free %v state %s", info.Free, info.State)
	}
}

func TestCtlHTTPToken(t *testing.T) {
	base, _ := ctlBrain(t, "op-token-1")
	dir := t.TempDir()
	good, bad, empty := filepath.Join(dir, "good"), filepath.Join(dir, "bad"), filepath.Join(dir, "empty")
	for p, s := range map[string]string{good: "op-token-1\n", bad: "nope\n", empty: " \n"} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := ctl("pause", "--http", base); code != 1 || !strings.Contains(errs, "401") || !strings.Contains(errs, "operator token") {
		t.Fatalf("pause without the token: exit %d: %s", code, errs)
	}
	if code, _, errs := ctl("pause", "--http", base, "--token-file", bad); code != 1 || !strings.Contains(errs, "401") {
		t.Fatalf("pause with a wrong token: exit %d: %s", code, errs)
	}
	if code, _, errs := ctl("pause", "--http", base, "--token-file", empty); code != 1 || !strings.Contains(errs, "empty") {
		t.Fatalf("pause with an empty token file: exit %d: %s", code, errs)
	}
	var st web.Stats
	ctlJSON(t, &st, "pause", "--http", base, "--token-file", good)
	if !st.Paused {
		t.Fatalf("pause with the token: %+v", st)
	}
	ctlJSON(t, &st, "stats", "--http", base) // reads need no token
}

func TestCtlNATS(t *testing.T) {
	base, nurl := ctlBrain(t, "")
	op := filepath.Join(ctlCreds, "operator1.creds")
	var st web.Stats
	ctlJSON(t, &st, "stats", "--nats", nurl, "--nats-creds", op)
	if st.Burst == 0 || st.Paused {
		t.Fatalf("stats: %+v", st)
	}
	ctlJSON(t, &st, "pause", "--nats", nurl, "--nats-creds", op)
	if !st.Paused {
		t.Fatalf("pause: %+v", st)
	}
	ctlJSON(t, &st, "--nats", nurl, "rate", "30", "--nats-creds", op)
	var info web.BrainInfo
	ctlJSON(t, &info, "status", "--http", base)
	if info.RateHz == nil || *info.RateHz != 30 || !info.Paused {
		t.Fatalf("after pause and rate 30 over NATS: %+v", info)
	}
	t.Setenv(envNATSCreds, op)
	ctlJSON(t, &st, "status", "--nats", nurl) // status over NATS is stats
	if !st.Paused {
		t.Fatalf("status: %+v", st)
	}
	ctlJSON(t, &st, "free", "--nats", nurl)
	ctlJSON(t, &st, "resume", "--nats", nurl)
	if st.Paused {
		t.Fatalf("resume: %+v", st)
	}
	ctlJSON(t, &info, "status", "--http", base)
	if info.Free == nil || !*info.Free {
		t.Fatalf("after free over NATS: %+v", info)
	}
	// An observer may read the stats and change nothing; anonymous
	// clients are refused. (The server's refusal ends the request as soon
	// as it arrives; the long timeout only leaves it time to on a loaded
	// machine.)
	t.Setenv(envNATSCreds, filepath.Join(ctlCreds, "observer1.creds"))
	ctlJSON(t, &st, "stats", "--nats", nurl)
	if code, _, errs := ctl("pause", "--nats", nurl, "--timeout", "20s"); code != 1 || !strings.Contains(errs, "Permissions Violation") {
		t.Fatalf("pause by an observer: exit %d: %s", code, errs)
	}
	t.Setenv(envNATSCreds, "")
	if code, _, errs := ctl("stats", "--nats", nurl); code != 1 || !strings.Contains(errs, "Authorization Violation") {
		t.Fatalf("stats without credentials: exit %d: %s", code, errs)
	}
	// Another brain's name on an open server: nobody answers, and the
	// message says what to check.
	open := natstest.Start(t)
	if code, _, errs := ctl("stats", "--nats", open.ClientURL(), "--brain", "other"); code != 1 || !strings.Contains(errs, "no brain answers on spikemesh.other.ctl") {
		t.Fatalf("stats of another brain: exit %d: %s", code, errs)
	}
}

func TestCtlUsage(t *testing.T) {
	for _, h := range []string{"-h", "--help"} {
		code, out, errs := ctl(h)
		if code != 0 || !strings.Contains(out, "Usage: node ctl") || !strings.Contains(out, "-http") || errs != "" {
			t.Fatalf("node ctl %s: exit %d, stdout %q, stderr %q", h, code, out, errs)
		}
	}
	code, out, _ := ctl("status", "--http", "http://x", "-h")
	if code != 0 || !strings.Contains(out, "rate HZ") {
		t.Fatalf("node ctl status -h: exit %d: %s", code, out)
	}
	cases := []struct {
		args []string
		says string
	}{
		{nil, "no command"},
		{[]string{"--http", "http://127.0.0.1:1"}, "no command"},
		{[]string{"status"}, "--http URL"},
		{[]string{"bogus", "--http", "http://h"}, `unknown command "bogus"`},
		{[]string{"rate", "--http", "http://h"}, "rate: want the rate"},
		{[]string{"rate", "fast", "--http", "http://h"}, `rate "fast"`},
		{[]string{"rate", "0", "--http", "http://h"}, "hz: want"},
		{[]string{"rate", "1e9", "--http", "http://h"}, "hz: want"},
		{[]string{"status", "now", "--http", "http://h"}, `unexpected argument "now"`},
		{[]string{"status", "--http", "http://h", "--nats", "nats://h"}, "give one"},
		{[]string{"pause", "--nats", "nats://h", "--token-file", "f"}, "--token-file: only with --http"},
		{[]string{"pause", "--http", "ftp://h"}, "want a URL"},
		{[]string{"pause", "--http", "http://h", "--timeout", "0s"}, "--timeout"},
		{[]string{"pause", "--bogus"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, out, errs := ctl(c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.says) {
			t.Errorf("node ctl %v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.says)
		}
	}
}

func TestCtlUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, _, errs := ctl("stats", "--http", "http://"+addr, "--timeout", "5s")
	if code != 1 || !strings.Contains(errs, "is a node running with --http there?") {
		t.Fatalf("HTTP, nothing listening: exit %d: %s", code, errs)
	}
	code, _, errs = ctl("stats", "--nats", "nats://user:pw@"+addr, "--timeout", "5s")
	if code != 1 || !strings.Contains(errs, "connecting to NATS at nats://REDACTED@"+addr) || strings.Contains(errs, "pw") {
		t.Fatalf("NATS, nothing listening: exit %d: %s", code, errs)
	}
}

func TestRunHTTPFlags(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	spaced := filepath.Join(dir, "spaced")
	os.WriteFile(empty, []byte("\n"), 0o600)
	os.WriteFile(spaced, []byte("two words\n"), 0o600)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--http", "nope"}, "--http"},
		{[]string{"--http", "127.0.0.1:99999"}, "--http"},
		{[]string{"--http-token-file", filepath.Join(dir, "missing")}, "http-token-file"},
		{[]string{"--http", "127.0.0.1:0", "--http-token-file", empty}, "empty"},
		{[]string{"--http", "127.0.0.1:0", "--http-token-file", spaced}, "white space"},
	} {
		var out, errb bytes.Buffer
		if code := runCommand(append([]string{"--bursts", "1"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.says) {
			t.Errorf("node run %v: exit %d, stderr %q; want 2 naming %s", c.args, code, errb.String(), c.says)
		}
	}
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("tok\n"), 0o600)
	var out, errb bytes.Buffer
	if code := runCommand([]string{"--bursts", "1", "--http-token-file", good}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--http-token-file: only with --http") {
		t.Errorf("--http-token-file without --http: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := runCommand([]string{"--bursts", "3", "--free", "--http", "127.0.0.1:0", "--http-token-file", good}, &out, &errb); code != 0 ||
		!strings.Contains(errb.String(), "HTTP listening") {
		t.Errorf("node run --http: exit %d, stderr %q", code, errb.String())
	}
}
