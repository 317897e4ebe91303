package natsauth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"go.yaml.in/yaml/v3"

	"github.com/spikemesh/spikemesh/internal/capread"
)

// maxFile caps every credentials, users and TLS file read here.
const maxFile = 1 << 20

// Creds is what a node or a client connects with: a user and password, an
// nkey (its seed signs the server's challenge), or a NATS JWT credentials
// file (external servers in operator mode only). Its String never shows
// the secret.
type Creds struct {
	// Name is the user name, or the nkey's public key when the file holds
	// a bare seed; for an operator it names the control subject.
	Name string
	// Password is set for user/password credentials.
	Password string
	// Seed is set for nkey credentials.
	Seed []byte
	// JWTFile is set for a NATS JWT credentials file.
	JWTFile string
	// File is where the credentials came from (for messages).
	File string
}

// String describes the credentials without their secret.
func (c *Creds) String() string {
	switch {
	case c == nil:
		return "no credentials"
	case c.JWTFile != "":
		return fmt.Sprintf("JWT credentials from %s", c.File)
	case c.Seed != nil:
		return fmt.Sprintf("nkey user %s from %s", c.Name, c.File)
	}
	return fmt.Sprintf("user %s (password) from %s", c.Name, c.File)
}

// PublicKey is the nkey public key of nkey credentials ("" otherwise).
func (c *Creds) PublicKey() string {
	if c == nil || c.Seed == nil {
		return ""
	}
	kp, err := nkeys.FromSeed(c.Seed)
	if err != nil {
		return ""
	}
	pub, _ := kp.PublicKey()
	return pub
}

// credsFile is the YAML (or JSON) form of a credentials file.
type credsFile struct {
	User     string `yaml:"user"`
	Password string `yaml:"password,omitempty"`
	Seed     string `yaml:"seed,omitempty"`
}

// LoadCreds reads a credentials file: YAML or JSON {user, password} or
// {user, seed} (an nkey user seed, "SU..."), a bare nkey seed (what nk
// -gen user writes), or a NATS JWT credentials file (a user JWT and seed,
// for an external server in operator mode). flag names the flag or
// variable that gave path, for errors.
func LoadCreds(path, flag string) (*Creds, error) {
	data, err := capread.ReadFile(path, maxFile, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	c, err := ParseCreds(data, path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return c, nil
}

// ParseCreds reads the credentials in data (see LoadCreds); file names
// them in messages. Errors never quote the content.
func ParseCreds(data []byte, file string) (*Creds, error) {
	c := &Creds{File: file}
	text := bytes.TrimSpace(data)
	switch {
	case bytes.Contains(text, []byte("BEGIN NATS USER JWT")):
		if _, err := nkeys.ParseDecoratedNKey(text); err != nil {
			return nil, errors.New("a NATS JWT credentials file without a valid user seed")
		}
		c.JWTFile, c.Name = file, "jwt"
		return c, nil
	case bytes.HasPrefix(text, []byte("SU")) && !bytes.ContainsAny(text, ":\n"):
		return c, c.setSeed(string(text))
	}
	var f credsFile
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		// yaml's messages can quote a line; give the line number only.
		return nil, errors.New("want YAML or JSON {user, password} or {user, seed}, or a bare nkey seed (the content does not parse)")
	}
	switch {
	case f.User == "":
		return nil, errors.New("no user")
	case f.Password != "" && f.Seed != "":
		return nil, errors.New("both a password and a seed; keep one")
	case f.Password == "" && f.Seed == "":
		return nil, errors.New("no password and no seed")
	}
	if err := CheckName(f.User); err != nil {
		return nil, err
	}
	if bcryptRe.MatchString(f.Password) {
		return nil, errors.New("the password is a bcrypt hash; a credentials file holds the password itself (the hash goes in the users file)")
	}
	c.Name, c.Password = f.User, f.Password
	if f.Seed != "" {
		name := f.User
		if err := c.setSeed(f.Seed); err != nil {
			return nil, err
		}
		c.Name = name
	}
	return c, nil
}

func (c *Creds) setSeed(seed string) error {
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(seed)))
	if err != nil {
		return errors.New("the seed is not a valid nkey seed")
	}
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return errors.New("the seed is not an nkey user seed (want one starting with SU)")
	}
	c.Seed, c.Name = []byte(strings.TrimSpace(seed)), pub
	return nil
}

// Options returns the nats.go options that present the credentials.
func (c *Creds) Options() []nats.Option {
	switch {
	case c == nil:
		return nil
	case c.JWTFile != "":
		return []nats.Option{nats.UserCredentials(c.JWTFile)}
	case c.Seed != nil:
		seed := c.Seed
		return []nats.Option{nats.Nkey(c.PublicKey(), func(nonce []byte) ([]byte, error) {
			kp, err := nkeys.FromSeed(seed)
			if err != nil {
				return nil, errors.New("natsauth: bad nkey seed")
			}
			defer kp.Wipe()
			return kp.Sign(nonce)
		})}
	}
	return []nats.Option{nats.UserInfo(c.Name, c.Password)}
}

// RouteAuth is the user and password the routes between the embedded
// servers of one cluster authenticate with, derived from the nodes' shared
// credentials: the user and password themselves, or for an nkey a
// password derived from its seed (routes take no nkeys).
func (c *Creds) RouteAuth() (user, password string) {
	if c.Seed != nil {
		h := sha256.Sum256(append([]byte("spikemesh route\x00"), c.Seed...))
		return "spikemesh-route", hex.EncodeToString(h[:])
	}
	return c.Name, c.Password
}

// Secrets returns the strings that must never appear in a log line.
func (c *Creds) Secrets() []string {
	if c == nil {
		return nil
	}
	var s []string
	if c.Password != "" {
		s = append(s, c.Password)
	}
	if c.Seed != nil {
		_, rp := c.RouteAuth()
		s = append(s, string(c.Seed), rp)
	}
	return s
}

// RandomCreds returns fresh user/password credentials named name, for the
// node's own connections to an embedded server when no shared secret is
// given.
func RandomCreds(name string) *Creds {
	return &Creds{Name: name, Password: RandomSecret(), File: "(generated)"}
}

// RandomSecret returns 32 random bytes in hex.
func RandomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
