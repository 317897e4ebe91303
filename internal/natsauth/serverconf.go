package natsauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spikemesh/spikemesh/pns"
)

// ServerConfig writes the authorization block of a stand-alone NATS
// server's configuration file for users (every role, nodes included),
// each with its role's permissions on the brain of s: what an external
// server needs to enforce the same roles as the embedded one. Passwords
// stay bcrypt hashes.
func ServerConfig(users []User, s pns.Subjects) ([]byte, error) {
	type subj struct {
		Allow []string `json:"allow,omitempty"`
		Deny  []string `json:"deny,omitempty"`
	}
	type perms struct {
		Publish   subj `json:"publish"`
		Subscribe subj `json:"subscribe"`
	}
	type entry struct {
		User        string `json:"user,omitempty"`
		Password    string `json:"password,omitempty"`
		Nkey        string `json:"nkey,omitempty"`
		Permissions perms  `json:"permissions"`
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The roles of brain %s (written by node nats-creds; passwords are bcrypt hashes).\n", Base(s))
	b.WriteString("authorization {\n  users = [\n")
	for _, u := range users {
		p := Permissions(u.Role, s, u.Name)
		e := entry{Permissions: perms{
			Publish:   subj{Allow: p.Publish.Allow, Deny: p.Publish.Deny},
			Subscribe: subj{Allow: p.Subscribe.Allow, Deny: p.Subscribe.Deny},
		}}
		if u.Nkey != "" {
			e.Nkey = u.Nkey
		} else {
			e.User, e.Password = u.Name, u.Password
		}
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false) // '>' stays '>'
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "    %s  # %s, %s\n", bytes.TrimSpace(line.Bytes()), u.Name, u.Role)
	}
	b.WriteString("  ]\n}\n")
	return []byte(b.String()), nil
}
