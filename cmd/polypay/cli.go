package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// groupCommands take a subcommand word first ("app create"); their bare
// --help must print the usage instead of being taken for a subcommand.
var groupCommands = map[string]bool{"app": true, "channel": true, "ledger": true, "vault": true, "console": true, "sandbox": true}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// preflight answers what needs no store: bare `polypay` (usage, exit 2),
// version, and --help on a command group. done is false when the command
// should run.
func preflight(args []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, true
	}
	switch args[0] {
	case "version", "--version", "-version", "-v":
		printVersion(stdout)
		return 0, true
	}
	if groupCommands[args[0]] && len(args) > 1 && isHelp(args[1]) {
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	return 0, false
}

// exitCode is the process status for a command's error: -h/--help is
// an answer, not a failure (the flag package has printed the flags).
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		return 1
	}
}
