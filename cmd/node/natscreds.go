package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/pns"
)

func init() {
	register("nats-creds", command{summary: "write NATS credentials for a brain: a users file and one credentials file per user", run: runNATSCreds})
}

const natsCredsUsage = `Usage: node nats-creds --dir DIR [--user NAME:ROLE ...] [--nkey]

Writes DIR/nats-server.conf (an authorization block with every user and its
role's permissions, for an external nats-server), DIR/users.yaml (for node run --nats-users: each user's name, role and
the bcrypt hash of its password, or its nkey public key; no secret) and one
DIR/NAME.creds per user (for --nats-creds: the password or nkey seed, a
secret, mode 0600). The first node user is left out of users.yaml: node
run takes it from --nats-creds. Without --user it makes node (the node role: give its
file to node run --nats-creds, and the same file to every node of a
cluster), sensor, observer and operator. Roles: node, sensor, observer,
operator. Existing files are never overwritten.

Flags:
`

func runNATSCreds(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nats-creds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory to write into (created if missing)")
	var subjects pns.Subjects
	fs.StringVar(&subjects.Brain, "brain", pns.DefaultBrain, "name of the brain in NATS subjects (for nats-server.conf's permissions)")
	fs.StringVar(&subjects.Prefix, "subject-prefix", pns.DefaultPrefix, "first tokens of every NATS subject (for nats-server.conf's permissions)")
	nkey := fs.Bool("nkey", false, "give every user an nkey instead of a password")
	var users []string
	fs.Var(listFlag{&users}, "user", "`NAME:ROLE` of a user to make (repeatable, or comma-separated)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), natsCredsUsage)
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	if *dir == "" || len(pos) > 0 {
		usageError(stderr, "nats-creds", "--dir DIR is required, and takes no arguments")
		return 2
	}
	if len(users) == 0 {
		users = []string{"node:node", "sensor:sensor", "observer:observer", "operator:operator"}
	}
	if err := subjects.Validate(); err != nil {
		fmt.Fprintf(stderr, "node nats-creds: %v\n", err)
		return 2
	}
	if err := writeNATSCreds(*dir, users, *nkey, subjects, stdout); err != nil {
		fmt.Fprintf(stderr, "node nats-creds: %v\n", err)
		return 1
	}
	return 0
}

func writeNATSCreds(dir string, specs []string, nkey bool, subjects pns.Subjects, stdout io.Writer) error {
	type made struct {
		user  natsauth.User
		creds []byte
	}
	var all []made
	for _, s := range specs {
		name, role, ok := strings.Cut(s, ":")
		if !ok {
			return fmt.Errorf("--user %q: want NAME:ROLE", s)
		}
		r, err := natsauth.ParseRole(role)
		if err != nil {
			return fmt.Errorf("--user %q: %w", s, err)
		}
		u, c, err := natsauth.Generate(name, r, nkey)
		if err != nil {
			return fmt.Errorf("--user %q: %w", s, err)
		}
		all = append(all, made{u, c})
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var entries []natsauth.User
	skipped := false
	for _, m := range all {
		// The first node user reaches the server through --nats-creds;
		// listing it in the users file too would name it twice.
		if m.user.Role == natsauth.RoleNode && !skipped {
			skipped = true
			continue
		}
		entries = append(entries, m.user)
	}
	write := func(name string, data []byte, mode os.FileMode) error {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	data, err := natsauth.MarshalUsers(entries)
	if err != nil {
		return err
	}
	if err := write("users.yaml", data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d users, no secrets)\n", filepath.Join(dir, "users.yaml"), len(entries))
	everyone := make([]natsauth.User, len(all))
	for i, m := range all {
		everyone[i] = m.user
	}
	if data, err = natsauth.ServerConfig(everyone, subjects); err != nil {
		return err
	}
	if err := write("nats-server.conf", data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (the same users and roles for an external nats-server: include it in its configuration)\n",
		filepath.Join(dir, "nats-server.conf"))
	for _, m := range all {
		if err := write(m.user.Name+".creds", m.creds, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%s, secret)\n", filepath.Join(dir, m.user.Name+".creds"), m.user.Role)
	}
	return nil
}
