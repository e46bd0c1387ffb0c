// Command interstice is the operator's tool for Interstice data directories
// and transaction logs.
//
//	interstice load     DIR FILE.wasm [--quiet]
//	interstice call     DIR MODULE REDUCER [JSON] [--json] [--quiet]
//	interstice describe DIR [MODULE] [--json]
//	interstice tables   DIR [--json]
//	interstice get      DIR MODULE TABLE KEY
//	interstice scan     DIR MODULE TABLE [--limit N] [--from KEY] [--json|--jsonl]
//	interstice snapshot DIR
//	interstice log validate DIR [--json]     check every record; exit 1 if damaged
//	interstice log inspect  DIR [--json]     LSN range, segments, counts per module/table/op
//	interstice log dump     DIR [--json|--jsonl] [--from LSN]
//	interstice log repair   DIR [--dry-run] [--force]
//	interstice log rotate   DIR
//	interstice --version
//
// The log commands take a log directory (DIR/log of a data directory) or a
// data directory, whose log they then use. Any other directory is refused:
// "not a log directory".
//
// Guest log lines (a module's log calls, and what it writes to stdout and
// stderr) are printed on stderr by load and call as "module: level:
// message"; --quiet drops them.
//
// Every --json output is one JSON document with snake_case keys; --jsonl
// (scan, log dump) prints one JSON object per line instead.
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
//	   validate, inspect or dump, refused by log rotate, or left for
//	   --force by log repair; corruption that stops tables, scan, get,
//	   describe, snapshot, call or load from opening the data directory
//	   (every command says where: segment, offset and LSN)
//	2  usage error (unknown command, bad flag, missing argument; bare
//	   "interstice")
//	3  operation failed (I/O error, a missing directory or one that is not
//	   a log, a data directory locked by another process, a refused or
//	   failed call, a log of a newer format, ...); the operation's outcome
//	   is on stderr
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/interstice/interstice/core"
)

// version is the library version this CLI belongs to. It is kept in step
// with INTERSTICE_VERSION_STRING in include/interstice.h (a test checks).
const version = "0.5.0"

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

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
}

type command struct {
	name, args, help string
	run              func(e env, args []string) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	os.Exit(run(os.Stdout, os.Stderr, os.Args[1:]))
}

func run(stdout, stderr io.Writer, args []string) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	err := dispatch(env{stdout, stderr}, args)
	if err == nil {
		return exitOK
	}
	var w warning
	if errors.As(err, &w) {
		fmt.Fprintln(stderr, "interstice: warning:", err)
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(stderr, "interstice:", core.ErrorText(err))
	var ue usageError
	var de damagedError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "run 'interstice help' for usage")
		return exitUsage
	case errors.As(err, &de):
		return exitDamaged
	}
	return exitFailed
}

func dispatch(e env, args []string) error {
	switch args[0] {
	case "help", "-h", "-help", "--help":
		printUsage(e.stdout)
		return nil
	case "version", "-version", "--version":
		fmt.Fprintf(e.stdout, "interstice %s (guest abi %d)\n", version, core.GuestABIVersion)
		return nil
	}
	// Commands are one word ("tables") or two ("log validate").
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			err := c.run(e, args[len(words):])
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(e.stdout, "usage: interstice %s %s\n  %s\n", c.name, c.args, c.help)
			}
			return err
		}
	}
	return usagef("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: interstice COMMAND [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands {
		if strings.HasPrefix(c.help, "(test only)") {
			continue
		}
		fmt.Fprintf(w, "  %-14s %-46s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintf(w, "  %-14s %-46s %s\n", "--version", "", "print the version")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Log commands take DIR/log or the data directory DIR. --json prints one JSON document,")
	fmt.Fprintln(w, "--jsonl one JSON object per line. load and call print guest log lines on stderr (--quiet: not).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit codes: 0 ok (call, load, snapshot, rotate: acknowledged and durable; a failure while closing")
	fmt.Fprintln(w, "afterwards is a warning on stderr), 1 log damaged, 2 usage error, 3 operation failed")
}

// parse parses flags that may come before or after positional arguments and
// checks the number of positional arguments: want names the required ones,
// optional the ones that may follow them.
func parse(fs *flag.FlagSet, args []string, want []string, optional ...string) ([]string, error) {
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
	if len(pos) < len(want) || len(pos) > len(want)+len(optional) {
		all := strings.Join(want, " ")
		for _, o := range optional {
			all += " [" + o + "]"
		}
		return nil, usagef("%s: want %s, got %d argument(s)", fs.Name(), all, len(pos))
	}
	return pos, nil
}

// plural returns "1 row", "2 rows", "0 rows".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// names lists names for an error message: "a, b, c", or "none".
func names(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
