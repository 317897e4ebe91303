package main

import (
	"bytes"
	"flag"
	"os/exec"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
)

// commandNames lists every registered subcommand, sorted.
func commandNames(t *testing.T) []string {
	t.Helper()
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 7 {
		t.Fatalf("only %d subcommands registered: %v", len(names), names)
	}
	return names
}

// TestEveryCommandHelp: for every registered subcommand, node <cmd> -h,
// node <cmd> --help and node help <cmd> exit 0 and print its usage on
// stdout, nothing on stderr.
func TestEveryCommandHelp(t *testing.T) {
	for _, name := range commandNames(t) {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {"help", name}} {
			var stdout, stderr bytes.Buffer
			code := dispatch(args, &stdout, &stderr)
			if code != 0 || !strings.Contains(stdout.String(), "Usage: node "+name) || stderr.Len() != 0 {
				t.Errorf("node %s: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout only",
					strings.Join(args, " "), code, head(stdout.String()), stderr.String())
			}
		}
	}
	// Subcommands of subcommands, and -h after a positional argument.
	for args, want := range map[string]string{
		"sensor send -h": "Usage: node sensor send", "motor watch --help": "Usage: node motor watch",
		"sensor send i__pro -h": "Usage: node sensor send", "help sensor send": "Usage: node sensor send",
		"inspect barebones_genome.json -h": "Usage: node inspect",
	} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(strings.Fields(args), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), want) || stderr.Len() != 0 {
			t.Errorf("node %s: exit %d, stdout %q, stderr %q; want 0 and %q", args, code, head(stdout.String()), stderr.String(), want)
		}
	}
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(args, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
			t.Errorf("node %v: exit %d, stderr %q", args, code, stderr.String())
		}
		for _, name := range commandNames(t) {
			if !strings.Contains(stdout.String(), "  "+name+" ") {
				t.Errorf("node %v does not list %s:\n%s", args, name, stdout.String())
			}
		}
	}
}

// TestUnknownExits2: an unknown subcommand, or an unknown flag of any
// subcommand, exits 2 with the problem and a hint on stderr and nothing on
// stdout.
func TestUnknownExits2(t *testing.T) {
	cases := [][]string{{"frobnicate"}, {"--frobnicate"}, {"help", "frobnicate"}, {"sensor", "frobnicate"}, {"motor"},
		{"sensor", "send", "--frobnicate"}, {"motor", "watch", "--frobnicate"}}
	for _, name := range commandNames(t) {
		if name != "sensor" && name != "motor" {
			cases = append(cases, []string{name, "--frobnicate"})
		}
	}
	for _, args := range cases {
		var stdout, stderr bytes.Buffer
		code := dispatch(args, &stdout, &stderr)
		msg := stderr.String()
		if code != 2 || stdout.Len() != 0 || !strings.Contains(msg, "frobnicate") && args[0] != "motor" ||
			!strings.Contains(msg, "Run 'node ") {
			t.Errorf("node %s: exit %d, stdout %q, stderr %q; want 2 and a hint on stderr", strings.Join(args, " "), code, stdout.String(), msg)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"rnu"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "Did you mean 'node run'?") {
		t.Errorf("node rnu: exit %d, stderr %q; want a suggestion of node run", code, stderr.String())
	}
}

func head(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestParseArgsInterspersed: flags may follow positional arguments; "--"
// ends the flags.
func TestParseArgsInterspersed(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		n    int
		b    bool
	}{
		{[]string{"a", "--n", "3", "b"}, []string{"a", "b"}, 3, false},
		{[]string{"--b", "a", "-n=4", "b", "c"}, []string{"a", "b", "c"}, 4, true},
		{[]string{"a", "--", "--n", "5"}, []string{"a", "--n", "5"}, 0, false},
		{[]string{"-", "--b"}, []string{"-"}, 0, true},
		{nil, nil, 0, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("n", 0, "")
		b := fs.Bool("b", false, "")
		var stdout, stderr bytes.Buffer
		pos, code, ok := parseArgs(fs, c.args, &stdout, &stderr)
		if !ok || code != 0 || !reflect.DeepEqual(pos, c.pos) || *n != c.n || *b != c.b {
			t.Errorf("parseArgs(%q) = %q, %d, %v; n=%d b=%v; want %q n=%d b=%v", c.args, pos, code, ok, *n, *b, c.pos, c.n, c.b)
		}
	}
	// A real command: the genome as a positional argument, --json after it.
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"inspect", "barebones_genome.json", "--json", "--quiet"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "{") {
		t.Errorf("node inspect GENOME --json: exit %d, stdout %q, stderr %q", code, head(stdout.String()), stderr.String())
	}
}

// TestVersion: node --version and node version print the same line, with
// the module path; versionLine reports the revision, time and modification
// from the build info, and (devel) when there is none.
func TestVersion(t *testing.T) {
	var a, b, errb bytes.Buffer
	if code := dispatch([]string{"--version"}, &a, &errb); code != 0 || !strings.HasPrefix(a.String(), "node github.com/spikemesh/spikemesh ") {
		t.Fatalf("node --version: exit %d, %q %q", code, a.String(), errb.String())
	}
	if code := dispatch([]string{"version"}, &b, &errb); code != 0 || a.String() != b.String() {
		t.Fatalf("node version: exit %d, %q; want %q", code, b.String(), a.String())
	}
	if code := dispatch([]string{"version", "extra"}, &b, &errb); code != 2 {
		t.Errorf("node version extra: exit %d, want 2", code)
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/spikemesh/spikemesh", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-29T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionLine(info)
	for _, want := range []string{"node github.com/spikemesh/spikemesh v1.2.3 ", "revision 0123abcd, 2026-11-29T10:00:00Z, modified", "go1.26.8"} {
		if !strings.Contains(got, want) {
			t.Errorf("versionLine = %q, want %q in it", got, want)
		}
	}
	if got := versionLine(nil); !strings.Contains(got, "(devel) (unknown revision)") {
		t.Errorf("versionLine(nil) = %q, want (devel) and unknown revision", got)
	}
	// The real binary answers too (built without version control stamps in a
	// worktree, with them in a checkout).
	out, err := exec.Command(nodeBinary(t), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "node github.com/spikemesh/spikemesh ") {
		t.Errorf("node --version (binary): %v, %q", err, out)
	}
}
