package natsauth

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/spikemesh/spikemesh/internal/natsauth/natsauthtest"
	"github.com/spikemesh/spikemesh/pns"
)

func TestParseCreds(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	hash, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	good := []struct {
		name, data, user, pub string
	}{
		{"yaml password", "user: alice\npassword: s3cret-pw\n", "alice", ""},
		{"json password", `{"user":"alice","password":"s3cret-pw"}`, "alice", ""},
		{"yaml seed", "user: bob\nseed: " + string(seed) + "\n", "bob", pub},
		{"bare seed", string(seed) + "\n", pub, pub},
	}
	for _, g := range good {
		c, err := ParseCreds([]byte(g.data), "f")
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if c.Name != g.user || c.PublicKey() != g.pub || len(c.Options()) != 1 {
			t.Fatalf("%s: %+v", g.name, c)
		}
		if s := c.String(); strings.Contains(s, "s3cret") || strings.Contains(s, string(seed)) {
			t.Fatalf("%s: String shows the secret: %s", g.name, s)
		}
	}
	bad := []struct{ name, data, want string }{
		{"empty", "", "want YAML"},
		{"no user", "password: s3cret-pw", "no user"},
		{"no secret", "user: a", "no password"},
		{"both", "user: a\npassword: s3cret-pw\nseed: " + string(seed), "both"},
		{"hash", "user: a\npassword: '" + hash + "'", "bcrypt hash"},
		{"bad seed", "user: a\nseed: SUAAAAs3cret", "not a valid nkey seed"},
		{"unknown field", "user: a\npassword: s3cret-pw\ntoken: s3cret-tok", "want YAML"},
		{"bad name", "user: a.b\npassword: s3cret-pw", "user name"},
	}
	for _, b := range bad {
		_, err := ParseCreds([]byte(b.data), "f")
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Fatalf("%s: %v, want %q", b.name, err, b.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("%s: the error shows the secret: %v", b.name, err)
		}
	}
}

func TestParseUsers(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	hash, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers([]byte("users:\n  - {name: cam, role: sensor, password: '" + hash + "'}\n  - {name: al, role: operator, nkey: " + pub + "}\n"))
	if err != nil || len(users) != 2 || users[1].Nkey != pub || users[0].Role != RoleSensor {
		t.Fatalf("users %+v, %v", users, err)
	}
	bad := []struct{ data, want string }{
		{"users: []", "no users"},
		{"users: [{name: a, role: king, password: '" + hash + "'}]", "unknown role"},
		{"users: [{name: a, role: sensor, password: plain}]", "bcrypt hash"},
		{"users: [{name: a, role: sensor}]", "no password hash and no nkey"},
		{"users: [{name: a, role: sensor, nkey: UBAD}]", "nkey user public key"},
		{"users: [{name: a, role: sensor, nkey: " + pub + "}, {name: b, role: node, nkey: " + pub + "}]", "twice"},
		{"users: [{name: 'a b', role: sensor, nkey: " + pub + "}]", "user name"},
	}
	for _, b := range bad {
		if _, err := ParseUsers([]byte(b.data)); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Fatalf("%s: %v, want %q", b.data, err, b.want)
		}
	}
}

func TestPermissions(t *testing.T) {
	s := pns.Subjects{Prefix: "p", Brain: "b"}
	op := Permissions(RoleOperator, s, "al")
	if got := op.Publish.Allow; len(got) != 4 || got[0] != "p.b.ctl.al" || got[1] != "p.b.stats" || got[2] != "p.b.areas" || got[3] != "p.b.cluster.status" {
		t.Fatalf("operator publishes %v", got)
	}
	if got := ClusterStatusSubject(s); got != "p.b.cluster.status" {
		t.Fatalf("cluster status subject %q", got)
	}
	// Who may ask for the cluster status (publish a request there), and
	// who may answer (subscribe there).
	allows := func(list []string, subject string) bool {
		for _, f := range list {
			if server.SubjectMatchesFilter(subject, f) {
				return true
			}
		}
		return false
	}
	cs := ClusterStatusSubject(s)
	for role, want := range map[Role][2]bool{
		RoleNode:     {true, true},
		RoleObserver: {true, false},
		RoleOperator: {true, false},
		RoleSensor:   {false, false},
	} {
		p := Permissions(role, s, "al")
		if pub, sub := allows(p.Publish.Allow, cs), allows(p.Subscribe.Allow, cs); pub != want[0] || sub != want[1] {
			t.Errorf("%s on %s: publish %v subscribe %v, want %v %v", role, cs, pub, sub, want[0], want[1])
		}
	}
	if got := Permissions(RoleSensor, s, "x").Publish.Allow; len(got) != 2 || got[0] != "p.b.sensor.>" || got[1] != "p.b.areas" {
		t.Fatalf("sensor publishes %v", got)
	}
	if got := Permissions(Role("king"), s, "x"); got.Publish.Deny[0] != ">" || got.Subscribe.Deny[0] != ">" {
		t.Fatalf("an unknown role may do %+v", got)
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	for _, nkey := range []bool{false, true} {
		u, data, err := Generate("cam", RoleSensor, nkey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCreds(data, "f")
		if err != nil {
			t.Fatal(err)
		}
		file, err := MarshalUsers([]User{u})
		if err != nil {
			t.Fatal(err)
		}
		users, err := ParseUsers(file)
		if err != nil || len(users) != 1 {
			t.Fatal(err)
		}
		if nkey && (users[0].Nkey != c.PublicKey() || c.Name != "cam") {
			t.Fatalf("nkey user %+v, creds %s", users[0], c)
		}
		if !nkey && (users[0].Password == c.Password || !bcryptRe.MatchString(users[0].Password)) {
			t.Fatalf("password user %+v", users[0])
		}
	}
}

func TestTLSConfigs(t *testing.T) {
	cert, key, ca := natsauthtest.WriteCert(t)
	client, route, err := TLS{Cert: cert, Key: key, CA: ca}.ServerConfigs()
	if err != nil || client == nil || route == nil || route.ClientCAs == nil || len(client.Certificates) != 1 {
		t.Fatalf("server configs: %v", err)
	}
	if c, err := (TLS{CA: ca}).ClientConfig(); err != nil || c.RootCAs == nil {
		t.Fatalf("client config: %v", err)
	}
	for _, bad := range []TLS{{Cert: cert}, {CA: cert + ".missing"}, {Cert: ca, Key: ca}} {
		if _, err := bad.ClientConfig(); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	if _, _, err := (TLS{CA: ca}).ServerConfigs(); err == nil {
		t.Fatal("a server with a CA and no certificate accepted")
	}
	for hp, want := range map[string]bool{"127.0.0.1:4222": true, "localhost:1": true, "[::1]:4222": true, ":4222": false, "0.0.0.0:4222": false, "10.0.0.1:4222": false} {
		if Loopback(hp) != want {
			t.Errorf("Loopback(%q) = %v", hp, !want)
		}
	}
}

func FuzzParseCreds(f *testing.F) {
	f.Add([]byte("user: a\npassword: b\n"))
	f.Add([]byte(`{"user":"a","seed":"SUAM"}`))
	f.Add([]byte("-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCreds(data, "f")
		if err == nil && c.Name == "" {
			t.Fatal("credentials without a name")
		}
	})
}

func FuzzParseUsers(f *testing.F) {
	f.Add([]byte("users: [{name: a, role: sensor, nkey: UA}]"))
	f.Add([]byte(`{"users":[{"name":"a","role":"node","password":"$2a$10$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxy"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsers(data)
		if err != nil {
			return
		}
		for _, u := range users {
			if CheckName(u.Name) != nil || (u.Password == "") == (u.Nkey == "") {
				t.Fatalf("accepted %+v", u)
			}
		}
	})
}
