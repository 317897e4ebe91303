// Command node grows a spiking brain from a FEAGI genome and runs it.
//
// Subcommands register themselves in commands (one file each); see node help.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
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
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"-h"}, stdout, stderr)
			}
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "node: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
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
	fmt.Fprintln(w, "Run 'node help <command>' or 'node <command> -h' for a command's flags.")
}
