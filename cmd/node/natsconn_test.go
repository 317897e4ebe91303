package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
)

// securedServer starts a NATS server with the users nats-creds wrote into
// dir, each with its role's permissions on the default brain.
func securedServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	users, err := natsauth.LoadUsers(filepath.Join(dir, "users.yaml"), "test")
	if err != nil {
		t.Fatal(err)
	}
	node, err := natsauth.LoadCreds(filepath.Join(dir, "node.creds"), "test")
	if err != nil {
		t.Fatal(err)
	}
	us, nk, err := natsauth.ServerUsers(users, node, pns.DefaultSubjects())
	if err != nil {
		t.Fatal(err)
	}
	return natstest.Start(t, natstest.WithOptions(func(o *server.Options) { o.Users, o.Nkeys = us, nk }))
}

// TestClientCredentials: node nats-creds writes a users file and
// credentials; sensor send and motor watch connect with them (flag or
// environment variable), are refused without them, and a role that may
// not publish sensor frames fails; no error shows a password.
func TestClientCredentials(t *testing.T) {
	for _, nkey := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "creds")
		args := []string{"nats-creds", "--dir", dir}
		if nkey {
			args = append(args, "--nkey")
		}
		var stdout, stderr bytes.Buffer
		if code := dispatch(args, &stdout, &stderr); code != 0 {
			t.Fatalf("nats-creds exited %d: %s", code, stderr.String())
		}
		if code := dispatch([]string{"nats-creds", "--dir", dir}, &stdout, &stderr); code == 0 {
			t.Fatal("nats-creds overwrote its files")
		}
		fi, err := os.Stat(filepath.Join(dir, "sensor.creds"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("sensor.creds: %v %v, want mode 0600", fi.Mode(), err)
		}
		s := securedServer(t, dir)
		secret, err := os.ReadFile(filepath.Join(dir, "sensor.creds"))
		if err != nil {
			t.Fatal(err)
		}
		send := func(env string, extra ...string) (int, string) {
			t.Helper()
			t.Setenv(envNATSCreds, env)
			var stdout, stderr bytes.Buffer
			// No brain here to acknowledge: --no-ack.
			code := dispatch(append([]string{"sensor", "send", "--no-ack", "--nats", s.ClientURL(), "--area", testArea, "--points", "1,0,2,5"}, extra...),
				&stdout, &stderr)
			return code, stderr.String()
		}
		if code, out := send(""); code == 0 || !strings.Contains(strings.ToLower(out), "authorization violation") {
			t.Fatalf("anonymous sensor send: %d %s", code, out)
		}
		if code, out := send("", "--nats-creds", filepath.Join(dir, "sensor.creds")); code != 0 {
			t.Fatalf("sensor send with --nats-creds: %d %s", code, out)
		}
		if code, out := send(filepath.Join(dir, "sensor.creds")); code != 0 {
			t.Fatalf("sensor send with %s: %d %s", envNATSCreds, code, out)
		}
		code, out := send("", "--nats-creds", filepath.Join(dir, "observer.creds"))
		if code == 0 || !strings.Contains(strings.ToLower(out), "permissions violation") {
			t.Fatalf("sensor send as an observer: %d %s", code, out)
		}
		for _, line := range strings.Split(string(secret), "\n") {
			if v, ok := strings.CutPrefix(line, "password: "); ok && strings.Contains(out, v) {
				t.Fatal("an error shows the password")
			}
		}

		t.Setenv(envNATSCreds, filepath.Join(dir, "observer.creds"))
		var mout, merr bytes.Buffer
		if code := dispatch([]string{"motor", "watch", "--nats", s.ClientURL(), "--timeout", "200ms"}, &mout, &merr); code != 0 {
			t.Fatalf("motor watch as an observer: %d %s", code, merr.String())
		}
		t.Setenv(envNATSCreds, "")
		if code := dispatch([]string{"motor", "watch", "--nats", s.ClientURL(), "--timeout", "200ms"}, &mout, &merr); code == 0 {
			t.Fatal("anonymous motor watch connected")
		}
	}
}

// TestRunRefusesOpenListener: node run will not let the embedded server
// listen without credentials.
func TestRunRefusesOpenListener(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"run", "--bursts", "1", "--nats-listen", "127.0.0.1:-1"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--nats-users") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// TestNATSServerConf: the nats-server.conf node nats-creds writes is a
// valid configuration of a stand-alone server that enforces the roles: a
// sensor may publish sensor frames and not spikes, a node may.
func TestNATSServerConf(t *testing.T) {
	for _, nkey := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "creds")
		args := []string{"nats-creds", "--dir", dir, "--brain", "b1", "--user", "n:node,cam:sensor"}
		if nkey {
			args = append(args, "--nkey")
		}
		var stdout, stderr bytes.Buffer
		if code := dispatch(args, &stdout, &stderr); code != 0 {
			t.Fatalf("nats-creds exited %d: %s", code, stderr.String())
		}
		opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats-server.conf"))
		if err != nil {
			t.Fatalf("nats-server.conf: %v", err)
		}
		s := natstest.Start(t, natstest.WithOptions(func(o *server.Options) { o.Users, o.Nkeys = opts.Users, opts.Nkeys }))
		conn := func(name string) *nats.Conn {
			c, err := natsauth.LoadCreds(filepath.Join(dir, name+".creds"), "test")
			if err != nil {
				t.Fatal(err)
			}
			nc, err := nats.Connect(s.ClientURL(), append(c.Options(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			t.Cleanup(nc.Close)
			return nc
		}
		refused := func(nc *nats.Conn, subject string) bool {
			if err := nc.Publish(subject, nil); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			return nc.LastError() != nil
		}
		if refused(conn("cam"), "spikemesh.b1.sensor.x") {
			t.Error("the sensor may not send a sensor frame")
		}
		if !refused(conn("cam"), "spikemesh.b1.spikes.local") {
			t.Error("the sensor may publish spikes")
		}
		if refused(conn("n"), "spikemesh.b1.spikes.local") {
			t.Error("the node may not publish spikes")
		}
	}
}
