package cortical

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a genome: the JSON path of the offending
// value and what was expected.
type Problem struct {
	Path string // e.g. blueprint.c__lef.firing_threshold
	Msg  string // e.g. want a number, got "abc"
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// LoadError reports every problem found in a genome that could not be
// loaded. No plan is returned with it.
type LoadError struct {
	Name     string // file path or embedded genome name
	Problems []Problem
	// Cause is what stopped a load that is not a problem of the genome's
	// text: a *LimitError, or the context's error when growth was stopped.
	Cause error
}

// Unwrap returns the cause, for errors.As and errors.Is.
func (e *LoadError) Unwrap() error { return e.Cause }

func (e *LoadError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		fmt.Fprintf(&b, "cortical: genome %s: %s", e.Name, e.Problems[0])
		return b.String()
	}
	fmt.Fprintf(&b, "cortical: genome %s: %d problems:", e.Name, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// maxProblems bounds the problems collected from one genome, so that a
// pathological input cannot produce an unbounded report.
const maxProblems = 100

// problems collects the problems of one load.
type problems struct {
	list    []Problem
	dropped int
}

func (ps *problems) add(path, format string, args ...any) {
	if len(ps.list) >= maxProblems {
		ps.dropped++
		return
	}
	ps.list = append(ps.list, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) any() bool { return len(ps.list) > 0 }

func (ps *problems) err(name string) error {
	if !ps.any() {
		return nil
	}
	list := ps.list
	if ps.dropped > 0 {
		list = append(list, Problem{Msg: fmt.Sprintf("... and %d more problems", ps.dropped)})
	}
	return &LoadError{Name: name, Problems: list}
}

// pathKey appends an object key to a JSON path, quoting keys that are not
// plain identifiers.
func pathKey(path, key string) string {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c == '_' || c == '-' || c == '+' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	switch {
	case plain && path == "":
		return key
	case plain:
		return path + "." + key
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

// pathIndex appends an array index to a JSON path.
func pathIndex(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
