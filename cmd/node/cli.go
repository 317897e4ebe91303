package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// The conventions every subcommand of node follows, through parseArgs:
//
//   - -h, -help and --help print the subcommand's usage on stdout and exit 0
//     (as do node help <command> and node <command> -h);
//   - flags may come before, between or after positional arguments; "--"
//     ends the flags;
//   - a bad flag or value prints the problem and a hint on stderr and exits 2.
//
// A subcommand's fs.Usage must write to fs.Output(), which parseArgs points
// at stdout for help.

// parseArgs parses the arguments of subcommand fs.Name() and returns its
// positional arguments. When ok is false the caller returns code: 0 after
// help, 2 after a usage error (already reported on stderr).
func parseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(stderr) }()
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				if usage != nil {
					usage()
				} else {
					fs.PrintDefaults()
				}
				return nil, 0, false
			}
			usageError(stderr, fs.Name(), err.Error())
			return nil, 2, false
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), 0, true
		}
		if len(rest) == 0 {
			return pos, 0, true
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// usageError reports a mistake on the command line of `node cmd` with the
// hint every usage error carries.
func usageError(stderr io.Writer, cmd, msg string) {
	fmt.Fprintf(stderr, "node %s: %s\n", cmd, msg)
	fmt.Fprintf(stderr, "Run 'node %s -h' for usage.\n", cmd)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

func init() {
	register("version", command{summary: "print the version of node (also node --version)", run: runVersion})
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: node version  (or node --version)")
		fmt.Fprintln(fs.Output(), "\nPrints the module version of node and the revision and time of the commit it was built from.")
	}
	pos, code, ok := parseArgs(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		usageError(stderr, "version", fmt.Sprintf("unexpected argument %q", pos[0]))
		return 2
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(info))
	return 0
}

// versionLine describes the build: "node <module> <version> (<revision>,
// <time>[, modified]) <go version> <os>/<arch>". A build without module
// version or version control information says "(devel)" and "unknown
// revision".
func versionLine(info *debug.BuildInfo) string {
	path, version, goVersion := "github.com/spikemesh/spikemesh", "(devel)", runtime.Version()
	var rev, when, modified string
	if info != nil {
		if info.Main.Path != "" {
			path = info.Main.Path
		}
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
	}
	vcs := "unknown revision"
	if rev != "" {
		vcs = "revision " + rev
		if when != "" {
			vcs += ", " + when
		}
		vcs += modified
	}
	return fmt.Sprintf("node %s %s (%s) %s %s/%s", path, version, vcs, goVersion, runtime.GOOS, runtime.GOARCH)
}

// suggest returns the registered command closest to name, or "" when none
// is close (at most two edits, or a prefix).
func suggest(name string) string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, n := range names {
		if strings.HasPrefix(n, name) && len(name) >= 2 {
			return n
		}
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// oneSubcommand checks that args start with cmd's one subcommand sub. On
// help it prints usage to stdout; otherwise, when sub is missing or another,
// it reports a usage error. ok is false when the caller should return code.
func oneSubcommand(args []string, cmd, sub string, stdout, stderr io.Writer, usage func(io.Writer)) (code int, ok bool) {
	switch {
	case len(args) > 0 && args[0] == sub:
		return 0, true
	case len(args) > 0 && isHelp(args[0]):
		usage(stdout)
		return 0, false
	case len(args) == 0:
		usageError(stderr, cmd, fmt.Sprintf("missing subcommand: node %s %s", cmd, sub))
	default:
		usageError(stderr, cmd, fmt.Sprintf("unknown subcommand %q (the one subcommand is %s)", args[0], sub))
	}
	return 2, false
}
