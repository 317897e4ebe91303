package natsauth

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/spikemesh/spikemesh/internal/capread"
	"github.com/spikemesh/spikemesh/pns"
)

// User is one entry of a users file: a name, a role, and either a bcrypt
// hash of the password or an nkey public key.
type User struct {
	Name     string `yaml:"name"`
	Role     Role   `yaml:"role"`
	Password string `yaml:"password,omitempty"` // bcrypt hash ($2a$, $2b$ or $2y$)
	Nkey     string `yaml:"nkey,omitempty"`     // nkey user public key (U...)
}

// usersFile is the YAML (or JSON) form of a users file.
type usersFile struct {
	Users []User `yaml:"users"`
}

var bcryptRe = regexp.MustCompile(`^\$2[aby]\$\d{2}\$.{53}$`)

// LoadUsers reads a users file:
//
//	users:
//	  - {name: cam1, role: sensor, password: "$2a$11$..."}   # bcrypt hash
//	  - {name: alice, role: operator, nkey: UDXU4R...}        # nkey public key
//
// Passwords must be bcrypt hashes: the file holds no secret. flag names the
// flag that gave path, for errors.
func LoadUsers(path, flag string) ([]User, error) {
	data, err := capread.ReadFile(path, maxFile, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	users, err := ParseUsers(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return users, nil
}

// ParseUsers reads the users in data (see LoadUsers).
func ParseUsers(data []byte) ([]User, error) {
	var f usersFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("want YAML or JSON {users: [{name, role, password|nkey}, ...]}: %w", err)
	}
	if len(f.Users) == 0 {
		return nil, errors.New("no users")
	}
	seen := map[string]bool{}
	for i, u := range f.Users {
		where := fmt.Sprintf("user %d", i+1)
		if err := CheckName(u.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		where = fmt.Sprintf("user %d (%s)", i+1, u.Name)
		if _, err := ParseRole(string(u.Role)); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		switch {
		case u.Password != "" && u.Nkey != "":
			return nil, fmt.Errorf("%s: both a password and an nkey; keep one", where)
		case u.Password != "":
			if !bcryptRe.MatchString(u.Password) {
				return nil, fmt.Errorf("%s: the password must be a bcrypt hash ($2a$...), not the password itself; `node nats-creds` writes one", where)
			}
			if seen["u:"+u.Name] {
				return nil, fmt.Errorf("%s: listed twice", where)
			}
			seen["u:"+u.Name] = true
		case u.Nkey != "":
			if !nkeys.IsValidPublicUserKey(u.Nkey) {
				return nil, fmt.Errorf("%s: nkey is not an nkey user public key (U...)", where)
			}
			if seen["k:"+u.Nkey] {
				return nil, fmt.Errorf("%s: nkey listed twice", where)
			}
			seen["k:"+u.Nkey] = true
		default:
			return nil, fmt.Errorf("%s: no password hash and no nkey", where)
		}
	}
	return f.Users, nil
}

// HashPassword returns the bcrypt hash of password for a users file.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("natsauth: hashing a password: %w", err)
	}
	return string(h), nil
}

// ServerUsers turns users, and the node's own credentials (nil: none),
// into the embedded server's users and nkey users, each with its role's
// permissions on the brain of s.
func ServerUsers(users []User, node *Creds, s pns.Subjects) ([]*server.User, []*server.NkeyUser, error) {
	var us []*server.User
	var nk []*server.NkeyUser
	names := map[string]bool{}
	add := func(u User) error {
		perms := Permissions(u.Role, s, u.Name)
		if u.Nkey != "" {
			nk = append(nk, &server.NkeyUser{Nkey: u.Nkey, Permissions: perms})
			return nil
		}
		if names[u.Name] {
			return fmt.Errorf("user %s is listed twice (the users file and --nats-creds)", u.Name)
		}
		names[u.Name] = true
		us = append(us, &server.User{Username: u.Name, Password: u.Password, Permissions: perms})
		return nil
	}
	if node != nil {
		switch {
		case node.JWTFile != "":
			return nil, nil, errors.New("--nats-creds: a JWT credentials file works with an external server only; the embedded server takes a user/password or an nkey seed")
		case node.Seed != nil:
			if err := add(User{Name: node.Name, Role: RoleNode, Nkey: node.PublicKey()}); err != nil {
				return nil, nil, err
			}
		default:
			if err := add(User{Name: node.Name, Role: RoleNode, Password: node.Password}); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, u := range users {
		if err := add(u); err != nil {
			return nil, nil, err
		}
	}
	return us, nk, nil
}
