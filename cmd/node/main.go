// Command node grows a spiking brain from a FEAGI genome and runs it.
//
// Subcommands register themselves in commands (one file each); see node help.
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// command is one subcommand of node.
type command struct {
	summary string
	// run executes the subcommand with its arguments (after the subcommand
	// name) and returns the process exit status.
	run func(args []string, stdout, stderr io.Writer) int
}

// commands maps a subcommand name ("run", "inspect", "bench", "sensor",
// "motor", ...) to its implementation. Files register with init.
var commands = map[string]command{}

func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("node: subcommand registered twice: " + name)
	}
	commands[name] = c
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				return unknownCommand(stderr, args[1])
			}
			return c.run(append(slices.Clone(args[2:]), "-h"), stdout, stderr)
		}
		usage(stdout)
		return 0
	case "--version", "-version", "-v":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		return unknownCommand(stderr, args[0])
	}
	return c.run(args[1:], stdout, stderr)
}

// unknownCommand reports a command node does not have and exits 2.
func unknownCommand(stderr io.Writer, name string) int {
	if strings.HasPrefix(name, "-") {
		fmt.Fprintf(stderr, "node: unknown flag %s (flags come after the command: node <command> [flags])\n", name)
	} else {
		fmt.Fprintf(stderr, "node: unknown command %q\n", name)
	}
	if s := suggest(strings.TrimLeft(name, "-")); s != "" {
		fmt.Fprintf(stderr, "Did you mean 'node %s'?\n", s)
	}
	fmt.Fprintln(stderr, "Run 'node help' for the list of commands.")
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "node grows a spiking brain from a FEAGI genome and runs it.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: node <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'node help <command>' or 'node <command> -h' for a command's flags;")
	fmt.Fprintln(w, "'node --version' for the version.")
}
