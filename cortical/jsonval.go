package cortical

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// decodeJSON parses a genome document. Numbers stay json.Number so that
// integral values and the exact written form are kept.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonSyntaxError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: data after the top-level value")
	}
	return v, nil
}

// jsonSyntaxError adds the line and column to a decoding error.
func jsonSyntaxError(data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
}

// describe renders a JSON value for an error message ("got ...").
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return string(x)
	case string:
		if len(x) > 40 {
			return strconv.Quote(x[:40] + "...")
		}
		return strconv.Quote(x)
	case []any:
		return fmt.Sprintf("an array of %d elements", len(x))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// asNumber reads a finite JSON number.
func asNumber(ps *problems, path string, v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		ps.add(path, "want a number, got %s", describe(v))
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		ps.add(path, "want a finite number, got %s", n)
		return 0, false
	}
	return f, true
}

// asInteger reads an integral JSON number (docs/semantics.md §5.2: integral floats such as 3.0
// are accepted). Values beyond ±2^53 are rejected as not exact.
func asInteger(ps *problems, path string, v any) (int64, bool) {
	f, ok := asNumber(ps, path, v)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) {
		ps.add(path, "want an integer, got %s", describe(v))
		return 0, false
	}
	if math.Abs(f) > 1<<53 {
		ps.add(path, "want an integer of at most 2^53 in magnitude, got %s", describe(v))
		return 0, false
	}
	return int64(f), true
}

// asU16 reads a non-negative integer and saturates it at 65 535 (docs/semantics.md §5.2).
func asU16(ps *problems, path string, v any) (uint16, bool) {
	f, ok := asNumber(ps, path, v)
	switch {
	case !ok:
		return 0, false
	case f != math.Trunc(f):
		ps.add(path, "want an integer, got %s", describe(v))
		return 0, false
	case f < 0:
		ps.add(path, "want a non-negative integer, got %s", describe(v))
		return 0, false
	case f > math.MaxUint16:
		return math.MaxUint16, true
	}
	return uint16(f), true
}

// asBool reads a JSON boolean.
func asBool(ps *problems, path string, v any) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		ps.add(path, "want true or false, got %s", describe(v))
	}
	return b, ok
}

// asString reads a JSON string.
func asString(ps *problems, path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		ps.add(path, "want a string, got %s", describe(v))
	}
	return s, ok
}

// asObject reads a JSON object.
func asObject(ps *problems, path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		ps.add(path, "want an object, got %s", describe(v))
	}
	return m, ok
}

// asArray reads a JSON array.
func asArray(ps *problems, path string, v any) ([]any, bool) {
	a, ok := v.([]any)
	if !ok {
		ps.add(path, "want an array, got %s", describe(v))
	}
	return a, ok
}

// sortedKeys returns the keys of an object in ascending byte order, so that
// every walk over a genome object is deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyFloat formats a float like Python's repr: shortest round-trip digits,
// with ".0" on integral values (the form the expected figures use).
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	for _, c := range s {
		if c == '.' || c == 'e' || c == 'n' || c == 'N' {
			return s
		}
	}
	return s + ".0"
}
