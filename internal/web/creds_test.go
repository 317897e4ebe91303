package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/internal/natsauth"
)

// nodeCreds writes node credentials for one test (a listening embedded
// server takes only clients with credentials) and returns the file and
// the options that present them.
func nodeCreds(t *testing.T) (string, []nats.Option) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.creds")
	if err := os.WriteFile(path, []byte("user: node\npassword: "+natsauth.RandomSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := natsauth.LoadCreds(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	return path, c.Options()
}
