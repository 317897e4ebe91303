package pns

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// ID is an 8-byte cortical ID (docs/semantics.md §5.4). It has the underlying type
// of cortical.ID, so pns.ID(area.ID) converts one.
type ID [8]byte

// String returns the canonical form: standard base64 with padding.
func (id ID) String() string { return base64.StdEncoding.EncodeToString(id[:]) }

// Token returns the subject-safe form: base64 URL encoding without padding
// (11 characters of A–Z a–z 0–9 '-' '_').
func (id ID) Token() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// ParseID reads an ID in canonical base64 (12 characters) or token form (11
// characters). Any other text is an error wrapping [ErrMalformed]; genome
// spellings such as "c__lef" need the runtime's resolver.
func ParseID(s string) (ID, error) {
	var id ID
	var enc *base64.Encoding
	switch len(s) {
	case 12:
		enc = base64.StdEncoding
	case 11:
		enc = base64.RawURLEncoding
	default:
		return id, fmt.Errorf("%w: area %q is not a base64 cortical ID (want 12 characters, or 11 in token form)", ErrMalformed, s)
	}
	n, err := enc.Strict().Decode(id[:], []byte(s))
	if err != nil || n != len(id) {
		return ID{}, fmt.Errorf("%w: area %q is not a base64 cortical ID", ErrMalformed, s)
	}
	return id, nil
}

// AnyToken is the sensor subject token that names no area: a frame sent on
// it names its area itself (the area field of a protobuf frame, the IDs of
// a FEAGI container). Senders use it for areas named in a way that cannot be
// a subject token, such as a name with spaces.
const AnyToken = "all"

// AreaToken returns the subject token for an area named by canonical base64
// ID, token, or genome spelling: the token form of a base64 ID, the name
// itself otherwise. A name that cannot be one subject token (empty, or with
// whitespace, '.', '*', '>') is an error.
func AreaToken(name string) (string, error) {
	if id, err := ParseID(name); err == nil {
		return id.Token(), nil
	}
	if err := checkToken(name); err != nil {
		return "", fmt.Errorf("pns: area %q has no subject token: %w", name, err)
	}
	return name, nil
}

// checkToken reports whether s is usable as one NATS subject token.
func checkToken(s string) error {
	if s == "" {
		return fmt.Errorf("empty token")
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '.' || r == '*' || r == '>'
	}); i >= 0 {
		return fmt.Errorf("character %q at %d not allowed in a subject token", s[i], i)
	}
	return nil
}
