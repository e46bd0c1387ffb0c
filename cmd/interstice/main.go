// Command interstice is the operator's tool for Interstice data directories
// and transaction logs.
//
//	interstice log validate DIR            check every record; exit 1 if damaged
//	interstice log inspect  DIR [--json]   LSN range, segments, counts per module/table/op
//	interstice log dump     DIR [--json] [--from LSN]
//	interstice log repair   DIR            cut a torn tail or corruption (bytes kept in .broken files)
//	interstice log rotate   DIR            seal the active segment and start a new one
//
// Exit codes (stable):
//
//	0  success: the command did what it was asked. For call, load,
//	   snapshot and log rotate this means the operation was acknowledged
//	   and is durable (the CLI runs with sync=always); a failure after it,
//	   while closing the data directory, is printed on stderr as
//	   "interstice: warning: ..." saying that the operation is durable, and
//	   the exit status stays 0. log repair that had work to do and did it
//	   is 0.
//	1  the log is damaged: a torn tail or corruption found by log
//	   validate, inspect or dump, or refused by log rotate (every log
//	   command says where: segment, offset and LSN)
//	2  usage error (unknown command, bad flag, missing argument)
//	3  operation failed (I/O error, a refused or failed call, a log of a
//	   newer format, ...); the operation's outcome is on stderr
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	exitOK      = 0
	exitDamaged = 1
	exitUsage   = 2
	exitFailed  = 3
)

// usageError marks an error as the user's invocation's fault (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// damagedError marks a finding of damage (exit 1) after a successful check.
type damagedError struct{ msg string }

func (e damagedError) Error() string { return e.msg }

// warning reports that the command's operation succeeded (and is durable)
// but something after it failed: printed on stderr, exit 0.
type warning struct{ msg string }

func (e warning) Error() string { return e.msg }

// closeAfter closes c after the operation done succeeded durably: a close
// failure then is a warning that says the operation stands.
func closeAfter(c interface{ Close() error }, done string) error {
	if err := c.Close(); err != nil {
		return warning{fmt.Sprintf("%s and is durable; closing the data directory afterwards failed: %v", done, err)}
	}
	return nil
}

type command struct {
	name, args, help string
	run              func(stdout io.Writer, args []string) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	os.Exit(run(os.Stdout, os.Stderr, os.Args[1:]))
}

func run(stdout, stderr io.Writer, args []string) int {
	err := dispatch(stdout, args)
	if err == nil {
		return exitOK
	}
	var w warning
	if errors.As(err, &w) {
		fmt.Fprintln(stderr, "interstice: warning:", err)
		return exitOK
	}
	fmt.Fprintln(stderr, "interstice:", err)
	var ue usageError
	var de damagedError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "run 'interstice help' for usage")
		return exitUsage
	case errors.As(err, &de):
		return exitDamaged
	}
	return exitFailed
}

func dispatch(stdout io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return nil
	}
	// Commands are one word ("tables") or two ("log validate").
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.run(stdout, args[len(words):])
		}
	}
	return usagef("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: interstice COMMAND [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %-34s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit codes: 0 ok (call, load, snapshot, rotate: acknowledged and durable; a failure while closing")
	fmt.Fprintln(w, "afterwards is a warning on stderr), 1 log damaged, 2 usage error, 3 operation failed")
}

// parse parses flags that may come before or after positional arguments and
// checks the number of positional arguments.
func parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != len(positional) {
		return nil, usagef("%s: want %s, got %d argument(s)", fs.Name(), strings.Join(positional, " "), len(pos))
	}
	return pos, nil
}
