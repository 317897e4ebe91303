package cortical

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// ID is a canonical 8-byte cortical ID (docs/semantics.md §5.4). Its text
// form is standard base64 with padding (12 characters).
type ID [8]byte

// String returns the canonical base64 form.
func (id ID) String() string { return base64.StdEncoding.EncodeToString(id[:]) }

// ParseID reads the canonical base64 form of a cortical ID (12
// characters).
func ParseID(s string) (ID, error) {
	var id ID
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("cortical: %q is not the base64 form of an 8-byte cortical ID", s)
	}
	copy(id[:], b)
	return id, nil
}

// Printable reports whether every byte of the ID is printable ASCII, so that
// the ID can be shown as written (c__lef__) rather than only in base64.
func (id ID) Printable() bool {
	for _, b := range id {
		if b < 0x20 || b > 0x7e {
			return false
		}
	}
	return true
}

// Kind returns the area type encoded in byte 0 (docs/semantics.md §5.4). Bytes that
// encode no type give KindCustom; validation of flat and hierarchical IDs
// rejects them before this is used.
func (id ID) Kind() Kind {
	switch id[0] {
	case 'm', 'M':
		return KindMemory
	case '_':
		return KindCore
	case 'i':
		return KindIPU
	case 'o':
		return KindOPU
	}
	return KindCustom
}

// String names the kind as inspect prints it.
func (k Kind) String() string {
	switch k {
	case KindCustom:
		return "custom"
	case KindMemory:
		return "memory"
	case KindCore:
		return "core"
	case KindIPU:
		return "ipu"
	case KindOPU:
		return "opu"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// The core area IDs (docs/semantics.md §5.6, §5.4).
var (
	DeathID   = ID{'_', '_', '_', 'd', 'e', 'a', 't', 'h'}
	PowerID   = ID{'_', '_', '_', 'p', 'o', 'w', 'e', 'r'}
	FatigueID = ID{'_', '_', '_', 'f', 'a', 't', 'i', 'g'}
)

// coreIDs lists the core areas in index order.
var coreIDs = [3]ID{DeathID, PowerID, FatigueID}

// coreAliases maps every spelling of a core area to its canonical ID (docs/semantics.md §5.4).
var coreAliases = map[string]ID{
	"_power": PowerID, "___pwr": PowerID, "___power": PowerID,
	"_death": DeathID, "___death": DeathID,
	"_fatigue": FatigueID, "___fatig": FatigueID,
}

// IO configuration flag variants (docs/semantics.md §5.4).
const (
	flagPercentage   = 1
	flagPercentage2D = 2
	flagSignedPct    = 5
	flagCartesian    = 9
	flagMisc         = 10
)

// ioID builds an IO cortical ID: [i|o, u0, u1, u2, flag_lo, flag_hi,
// sub_unit, unit].
func ioID(dir byte, unit string, flag uint16, subUnit, unitIndex byte) ID {
	return ID{dir, unit[0], unit[1], unit[2], byte(flag), byte(flag >> 8), subUnit, unitIndex}
}

// visionTiles maps the iv00XX suffixes to segmented-vision sub-units (docs/semantics.md §5.4).
var visionTiles = map[string]byte{
	"BL": 0, "BM": 1, "BR": 2, "ML": 3, "_C": 4, "MR": 5, "TL": 6, "TM": 7, "TR": 8,
}

// validIOFlag reports whether bytes 4–5 of an IPU/OPU ID hold a valid IO
// configuration flag: variant 0–10 in bits 0–7, frame handling in bit 8,
// positioning in bit 9 (not for CartesianPlane and Misc), nothing else.
func validIOFlag(id ID) bool {
	variant, high := id[4], id[5]
	if variant > flagMisc || high&^0x03 != 0 {
		return false
	}
	if (variant == flagCartesian || variant == flagMisc) && high&0x02 != 0 {
		return false
	}
	return true
}

// idResolution is the outcome of resolving every raw area ID of a genome.
type idResolution struct {
	ids   map[string]ID // raw ID as written → canonical ID
	notes []string      // warnings, in the order the ID rules produce them (docs/semantics.md §5.4)
}

// idProblem is one raw ID that could not be resolved.
type idProblem struct {
	raw, msg string
}

// resolveIDs turns the raw area IDs of a genome into canonical IDs (docs/semantics.md §5.4).
// IDs are taken in ascending byte order so that MiscData unit indices are
// deterministic. typeCheck enables the docs/semantics.md §5.4 type validation (off for
// the simple layout, docs/semantics.md §5.2).
func resolveIDs(raws []string, typeCheck bool) (idResolution, []idProblem) {
	sorted := append([]string(nil), raws...)
	sort.Strings(sorted)
	res := idResolution{ids: make(map[string]ID, len(sorted))}
	var problems []idProblem
	var misc []string // 6-character i…/o… IDs that become MiscData
	used := map[byte]map[byte]bool{'i': {}, 'o': {}}
	var upper []string
	for _, raw := range sorted {
		if _, dup := res.ids[raw]; dup {
			continue
		}
		id, kind, err := parseRawID(raw)
		if err != "" {
			problems = append(problems, idProblem{raw, err})
			continue
		}
		switch kind {
		case rawMisc:
			misc = append(misc, raw)
			continue
		case rawUpper:
			upper = append(upper, raw)
		case rawOddLength:
			res.notes = append(res.notes, fmt.Sprintf("%d-character ID %s padded to 8 characters: %s (%s)",
				len(raw), raw, string(id[:]), id))
		}
		if typeCheck {
			if msg := checkType(id); msg != "" {
				problems = append(problems, idProblem{raw, msg})
				continue
			}
		}
		if (id[0] == 'i' || id[0] == 'o') && id[1] == 'm' && id[2] == 'i' && id[3] == 's' {
			used[id[0]][id[7]] = true
		}
		res.ids[raw] = id
	}
	if len(upper) > 0 {
		first := res.ids[upper[0]]
		res.notes = append(res.notes, fmt.Sprintf(
			"%d upper-case legacy IDs kept as written and padded with _ (e.g. %s -> %s): %s",
			len(upper), upper[0], first, strings.Join(upper, " ")))
	}
	next := map[byte]int{'i': 0, 'o': 0}
	for _, raw := range misc {
		dir := raw[0]
		for next[dir] < 256 && used[dir][byte(next[dir])] {
			next[dir]++
		}
		if next[dir] > 255 {
			problems = append(problems, idProblem{raw, "no free MiscData unit index left (256 in use)"})
			continue
		}
		unit := byte(next[dir])
		used[dir][unit] = true
		id := ioID(dir, "mis", flagMisc, 0, unit)
		res.ids[raw] = id
		side := "IPU"
		if dir == 'o' {
			side = "OPU"
		}
		res.notes = append(res.notes, fmt.Sprintf("legacy IO shorthand %s -> MiscData %s group %d (%s)", raw, side, unit, id))
	}
	return res, problems
}

type rawIDKind int

const (
	rawPlain     rawIDKind = iota // base64, core alias, 8 characters or a lower-case legacy ID
	rawMisc                       // 6-character i…/o… ID that becomes MiscData
	rawUpper                      // 6-character ID starting with C or M, kept as written
	rawOddLength                  // ASCII ID of 1–5 or 7 characters, padded
)

// parseRawID resolves one ID as written (docs/semantics.md §5.4) except the MiscData unit index,
// which depends on the other IDs of the genome.
func parseRawID(raw string) (ID, rawIDKind, string) {
	var id ID
	if len(raw) == 12 {
		if b, err := base64.StdEncoding.DecodeString(raw); err == nil && len(b) == 8 {
			copy(id[:], b)
			return id, rawPlain, ""
		}
	}
	if core, ok := coreAliases[raw]; ok {
		return core, rawPlain, ""
	}
	if raw == "" {
		return id, rawPlain, "empty cortical ID"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x21 || raw[i] > 0x7e {
			return id, rawPlain, fmt.Sprintf("cortical ID %q: want printable ASCII or base64 of 8 bytes", raw)
		}
	}
	if len(raw) > 8 {
		return id, rawPlain, fmt.Sprintf("cortical ID %q: longer than 8 characters and not base64 of 8 bytes", raw)
	}
	if len(raw) == 6 {
		switch {
		case strings.HasPrefix(raw, "iic") && raw[3] >= '0' && raw[3] <= '8' && raw[4:] == "00":
			return ioID('i', "svi", flagCartesian, raw[3]-'0', 0), rawPlain, ""
		case strings.HasPrefix(raw, "iv00"):
			if tile, ok := visionTiles[raw[4:]]; ok {
				return ioID('i', "svi", flagCartesian, tile, 0), rawPlain, ""
			}
		case raw == "omot00":
			return ioID('o', "mot", flagSignedPct, 0, 0), rawPlain, ""
		case raw == "ogaz00":
			return ioID('o', "gaz", flagPercentage2D, 0, 0), rawPlain, ""
		case raw == "ogaz01":
			return ioID('o', "gaz", flagPercentage, 1, 0), rawPlain, ""
		}
		if raw[0] == 'i' || raw[0] == 'o' {
			return id, rawMisc, ""
		}
	}
	for i := range id {
		id[i] = '_'
	}
	copy(id[:], raw)
	switch {
	case len(raw) == 6 && (raw[0] == 'C' || raw[0] == 'M'):
		return id, rawUpper, ""
	case len(raw) != 6 && len(raw) != 8:
		return id, rawOddLength, ""
	}
	return id, rawPlain, ""
}

// checkType applies the type validation of docs/semantics.md §5.4 to a flat or
// hierarchical area ID.
func checkType(id ID) string {
	switch id[0] {
	case 'c', 'C', 'm', 'M':
		return ""
	case '_':
		for _, c := range coreIDs {
			if id == c {
				return ""
			}
		}
		return fmt.Sprintf("core cortical ID %s (%q) is none of ___death, ___power, ___fatig", id, string(id[:]))
	case 'i', 'o':
		if !validIOFlag(id) {
			return fmt.Sprintf("IO cortical ID %s: bytes 4-5 (%#02x %#02x) are not a valid IO configuration flag", id, id[4], id[5])
		}
		return ""
	}
	return fmt.Sprintf("cortical ID %s: type byte %q is none of c, m, _, i, o", id, rune(id[0]))
}
