package cortical

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// FindArea resolves an area named in any way a user may name it: as
// AreaIndex does (canonical base64 ID, the ID as written in the genome, its 8
// printable bytes), by its ID in URL-safe base64 without padding (the form
// NATS subjects carry), or by its name when no other area has that name.
// The error says which: no such area (suggesting a name or ID that differs
// only in case), or a name several areas share (listing their IDs).
func (p *Plan) FindArea(name string) (int, error) {
	if i, ok := p.AreaIndex(name); ok {
		return i, nil
	}
	if len(name) == 11 {
		var id ID
		if n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(name)); err == nil && n == len(id) {
			if i, ok := p.AreaIndex(id.String()); ok {
				return i, nil
			}
		}
	}
	var named []int
	for i := range p.Areas {
		if name != "" && p.Areas[i].Name == name {
			named = append(named, i)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
	default:
		ids := make([]string, len(named))
		for k, i := range named {
			ids[k] = p.Areas[i].spelling()
		}
		return 0, fmt.Errorf("%d areas are named %q (%s): name one by its ID", len(named), name, strings.Join(ids, ", "))
	}
	for i := range p.Areas {
		a := &p.Areas[i]
		if name != "" && (strings.EqualFold(a.Name, name) || strings.EqualFold(a.LegacyID, name)) {
			return 0, fmt.Errorf("no area %q in the genome; did you mean %q?", name, a.nameOr())
		}
	}
	return 0, fmt.Errorf("no area %q in the genome (name an area by its ID as the genome writes it, in base64, or by its name)", name)
}

// spelling is the area's ID as the genome writes it, else its 8 bytes when
// printable, else its base64 form.
func (a *Area) spelling() string {
	switch {
	case a.LegacyID != "":
		return a.LegacyID
	case a.ID.Printable():
		return string(a.ID[:])
	}
	return a.ID.String()
}

func (a *Area) nameOr() string {
	if a.Name != "" {
		return a.Name
	}
	return a.spelling()
}
