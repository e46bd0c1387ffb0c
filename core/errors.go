package core

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/interstice/interstice/internal/abi"
	"github.com/interstice/interstice/persistence"
)

// Code is the stable numeric class of a core error, in one table with the
// C ABI: a class's Code is its C status (include/interstice.h, "Status
// codes"; interstice_error.code), the same number. Codes 100–109 are
// extended codes, the part SQLite's extended result codes play: the
// distinct reasons a module fails to load, each under a primary class
// (Primary): 100–102 reject the wasm itself (INVALID_MODULE) and 103–109
// its schema (SCHEMA; they also match ErrSchema). Values are pinned and
// new codes may be added.
type Code int

// Error codes.
const (
	CodeOK              Code = 0
	CodeBadArgument     Code = 1  // a malformed argument, key, buffer or name
	CodeNotFound        Code = 2  // no such module, reducer, table or row
	CodeTrap            Code = 3  // the guest trapped (unreachable, bad memory access, Go panic)
	CodeTimeout         Code = 4  // the call deadline passed or its context was cancelled
	CodeLimit           Code = 5  // a size, memory, iterator or cascade limit was exceeded
	CodeSchema          Code = 6  // the module schema is invalid
	CodeAccess          Code = 7  // writing another module's table or reading a private one
	CodeDuplicateKey    Code = 8  // insert of an existing primary key
	CodeType            Code = 9  // a row or argument does not match the declared types
	CodeClosed          Code = 10 // the runtime is closed
	CodeInternal        Code = 11 // a bug or a failure of the host (commit step)
	CodeReducerFailed   Code = 12 // the reducer returned an error (fail, abort or non-zero status)
	CodeCycle           Code = 13 // a nested call would re-enter a module on the call stack
	CodeUnsupported     Code = 14 // not supported by this kind of runtime (a snapshot in memory)
	CodeIncompatible    Code = 15 // a module conflicts with a loaded one (same version, other code)
	CodeInvalidModule   Code = 16 // the wasm is refused (the primary class of codes 100–102)
	CodeCorrupt         Code = 20 // the log or a snapshot is damaged (checksum, LSN chain, header)
	CodeTornTail        Code = 21 // the log's last record is torn (RecoverStrict)
	CodeIO              Code = 22 // an operating-system I/O error on the data directory (ENOSPC, EIO, ...)
	CodePoisoned        Code = 23 // a log write or fdatasync failed: this call's outcome is unknown, later ones are refused; reopen
	CodeReadOnly        Code = 24 // the runtime was opened read-only (inspect mode)
	CodeVersion         Code = 25 // a log segment or snapshot of an unknown format version
	CodeCompacted       Code = 26 // a log record needed was deleted by retention
	CodeLocked          Code = 28 // another runtime or log holds the data directory's lock
	CodeInvalidWasm     Code = 100
	CodeMissingExport   Code = 101
	CodeBadImport       Code = 102
	CodeMalformed       Code = 103 // the describe buffer is not a well-formed ModuleSchema
	CodeABIVersion      Code = 104
	CodeBadName         Code = 105
	CodeDuplicateName   Code = 106
	CodeUnknownType     Code = 107
	CodeBadPrimaryKey   Code = 108
	CodeBadSubscription Code = 109
)

// Primary returns the class of an extended code (CodeInvalidModule for
// 100–102, CodeSchema for 103–109) and any other code itself: the C
// status of an error with code c.
func (c Code) Primary() Code {
	switch {
	case c >= CodeInvalidWasm && c <= CodeBadImport:
		return CodeInvalidModule
	case c >= CodeMalformed && c <= CodeBadSubscription:
		return CodeSchema
	}
	return c
}

var codeNames = map[Code]string{
	CodeOK: "ok", CodeBadArgument: "bad argument", CodeNotFound: "not found",
	CodeTrap: "module trap", CodeTimeout: "timeout", CodeLimit: "limit exceeded",
	CodeSchema: "schema invalid", CodeAccess: "access denied",
	CodeDuplicateKey: "duplicate key", CodeType: "type mismatch",
	CodeClosed: "runtime closed", CodeInternal: "internal error",
	CodeReducerFailed: "reducer failed", CodeCycle: "call cycle",
	CodeUnsupported: "not supported", CodeIncompatible: "incompatible module",
	CodeReadOnly: "read-only", CodePoisoned: "runtime poisoned",
	CodeCorrupt: "corrupt log", CodeTornTail: "torn tail", CodeIO: "i/o error",
	CodeLocked: "data directory locked", CodeVersion: "unsupported format version",
	CodeInvalidModule: "invalid module", CodeCompacted: "lsn compacted",
	CodeInvalidWasm: "invalid wasm", CodeMissingExport: "missing export",
	CodeBadImport: "bad import", CodeMalformed: "malformed schema",
	CodeABIVersion: "unsupported abi version", CodeBadName: "bad name",
	CodeDuplicateName: "duplicate name", CodeUnknownType: "unknown column type",
	CodeBadPrimaryKey: "bad primary key", CodeBadSubscription: "bad subscription",
}

// String returns the code's short lowercase name, e.g. "duplicate key".
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Error is the error type of package core. Code is its stable class; the
// other fields name where it happened (any may be empty) and Err, when set,
// is the underlying cause (a host-call failure behind a reducer failure,
// a row codec error, a wazero error).
//
// GuestMsg is the module's own words, when the failure came from them: the
// message of a reducer that failed (the guest SDK's returned error, fail or
// abort; CodeReducerFailed) or the panic line a trapped guest wrote on
// stderr (CodeTrap). Hosts show it to their users as is, without parsing
// Error().
type Error struct {
	Code     Code
	Module   string
	Reducer  string
	Table    string
	Column   string
	Msg      string
	GuestMsg string
	Err      error

	// full: Msg is the whole story (an argument error: the reducer's
	// signature, the parameter and what Err says), so Text names neither
	// the reducer, the column nor the cause again.
	full bool
}

// Error returns "core: <code>: " and Text, e.g.
// `core: reducer failed: no account "zed" (module bank, reducer deposit)`.
func (e *Error) Error() string {
	t := e.Text()
	if t == "" {
		return "core: " + e.Code.String()
	}
	return "core: " + e.Code.String() + ": " + t
}

// Text returns the error without its "core: <code>: " prefix, each fact
// once: the guest's message first (else Msg), then a cause that is not a
// core error, then where it happened in parentheses, then a core-error
// cause (a failed host call behind a reducer failure) in the same form
// without the places already named, e.g.
//
//	no counter "x" (module counter, reducer reset): not found: update: no row with this primary key (table counter.counters, column name)
//
// Text is what a host prints after the code's own name (the C ABI's
// interstice_error.message is Text under its status).
func (e *Error) Text() string {
	var b strings.Builder
	e.text(&b, nil)
	return b.String()
}

// text writes Text to b, leaving out the places that outer (an error
// that wraps e) already names.
func (e *Error) text(b *strings.Builder, outer *Error) {
	lead := e.GuestMsg
	if e.Msg != "" {
		if lead != "" {
			lead += ": "
		}
		lead += e.Msg
	}
	// A core error as the direct cause is written after the places, in
	// this same form; any other cause (a wrapped core error included)
	// follows the lead as its own text.
	inner, _ := e.Err.(*Error)
	if e.Err != nil && inner == nil && !e.full {
		if lead != "" {
			lead += ": "
		}
		lead += e.Err.Error()
	}
	b.WriteString(lead)
	module, reducer, table, column := e.Module, e.Reducer, e.Table, e.Column
	if e.full {
		reducer, column = "", ""
	}
	if outer != nil {
		if module == outer.Module {
			if reducer == outer.Reducer {
				reducer = ""
			}
			module = ""
		}
		if table == outer.Table {
			if column == outer.Column {
				column = ""
			}
			table = ""
		}
	}
	n := 0
	for _, kv := range [...][2]string{{"module", module}, {"reducer", reducer}, {"table", table}, {"column", column}} {
		if kv[1] == "" {
			continue
		}
		switch {
		case n > 0:
			b.WriteString(", ")
		case lead != "":
			b.WriteString(" (")
		}
		b.WriteString(kv[0])
		b.WriteByte(' ')
		b.WriteString(kv[1])
		n++
	}
	if n > 0 && lead != "" {
		b.WriteByte(')')
	}
	if inner != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(inner.Code.String())
		var sub strings.Builder
		inner.text(&sub, e)
		if sub.Len() > 0 {
			b.WriteString(": ")
			b.WriteString(sub.String())
		}
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a core sentinel of the same code, or of
// the primary class of e's extended code (ErrSchema for 103–109,
// ErrInvalidModule for 100–102).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Module != "" || t.Msg != "" || t.Err != nil {
		return false
	}
	return t.Code == e.Code || t.Code == e.Code.Primary()
}

// CodeOf returns the Code of err: the code of the first *Error in its
// chain, CodeOK for nil, and CodeInternal for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinels for errors.Is. Every error returned by package core is an
// *Error whose Code matches exactly one of these, and an extended code
// also its primary class's (ErrSchema, ErrInvalidModule). A failure of the
// log or the data directory (CodeCorrupt ... CodeLocked) also wraps the
// persistence error it came from; testing it needs only these.
var (
	ErrBadArgument     = &Error{Code: CodeBadArgument}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrTrap            = &Error{Code: CodeTrap}
	ErrTimeout         = &Error{Code: CodeTimeout}
	ErrLimit           = &Error{Code: CodeLimit}
	ErrSchema          = &Error{Code: CodeSchema}
	ErrAccess          = &Error{Code: CodeAccess}
	ErrDuplicateKey    = &Error{Code: CodeDuplicateKey}
	ErrType            = &Error{Code: CodeType}
	ErrClosed          = &Error{Code: CodeClosed}
	ErrInternal        = &Error{Code: CodeInternal}
	ErrReducerFailed   = &Error{Code: CodeReducerFailed}
	ErrCycle           = &Error{Code: CodeCycle}
	ErrUnsupported     = &Error{Code: CodeUnsupported}
	ErrIncompatible    = &Error{Code: CodeIncompatible}
	ErrInvalidModule   = &Error{Code: CodeInvalidModule}
	ErrReadOnly        = &Error{Code: CodeReadOnly}
	ErrPoisoned        = &Error{Code: CodePoisoned}
	ErrCorrupt         = &Error{Code: CodeCorrupt}
	ErrTornTail        = &Error{Code: CodeTornTail}
	ErrIO              = &Error{Code: CodeIO}
	ErrLocked          = &Error{Code: CodeLocked}
	ErrVersion         = &Error{Code: CodeVersion}
	ErrCompacted       = &Error{Code: CodeCompacted}
	ErrInvalidWasm     = &Error{Code: CodeInvalidWasm}
	ErrMissingExport   = &Error{Code: CodeMissingExport}
	ErrBadImport       = &Error{Code: CodeBadImport}
	ErrMalformedSchema = &Error{Code: CodeMalformed}
	ErrABIVersion      = &Error{Code: CodeABIVersion}
	ErrBadName         = &Error{Code: CodeBadName}
	ErrDuplicateName   = &Error{Code: CodeDuplicateName}
	ErrUnknownType     = &Error{Code: CodeUnknownType}
	ErrBadPrimaryKey   = &Error{Code: CodeBadPrimaryKey}
	ErrBadSubscription = &Error{Code: CodeBadSubscription}
)

// logCode is the Code of a failure of the log or the data directory, so
// that it keeps its identity through core: the persistence sentinels map
// to their own codes (ErrPoisoned to CodePoisoned, ErrCorrupt to
// CodeCorrupt, ...), an operating-system error to CodeIO, a core error
// to its code; anything else is CodeInternal. The cause stays wrapped, so
// errors.Is(err, persistence.ErrPoisoned) holds as well as
// errors.Is(err, ErrPoisoned).
func logCode(err error) Code {
	var ce *Error
	switch {
	case errors.As(err, &ce):
		return ce.Code
	// ErrPoisoned first: the poison error wraps the failure that caused it.
	case errors.Is(err, persistence.ErrPoisoned):
		return CodePoisoned
	case errors.Is(err, persistence.ErrReadOnly):
		return CodeReadOnly
	case errors.Is(err, persistence.ErrClosed):
		return CodeClosed
	case errors.Is(err, persistence.ErrLocked):
		return CodeLocked
	case errors.Is(err, persistence.ErrCorrupt):
		return CodeCorrupt
	case errors.Is(err, persistence.ErrTornTail):
		return CodeTornTail
	case errors.Is(err, persistence.ErrVersion):
		return CodeVersion
	case errors.Is(err, persistence.ErrCompacted):
		return CodeCompacted
	case errors.Is(err, persistence.ErrRecordTooLarge):
		return CodeLimit
	case errors.Is(err, fs.ErrNotExist):
		return CodeNotFound
	}
	var pe *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &pe) || errors.As(err, &errno) {
		return CodeIO
	}
	return CodeInternal
}

// logErr wraps a failure of the log or the data directory with its
// logCode.
func logErr(msg string, err error) *Error {
	return &Error{Code: logCode(err), Msg: msg, Err: err}
}

func errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// statusCode maps a guest status to the Code of the matching host error.
func statusCode(st int32) Code {
	switch st {
	case abi.StatusBadArgument, abi.StatusBadIterator:
		return CodeBadArgument
	case abi.StatusNoTable, abi.StatusNotFound, abi.StatusNoReducer:
		return CodeNotFound
	case abi.StatusAccess:
		return CodeAccess
	case abi.StatusType:
		return CodeType
	case abi.StatusDuplicateKey:
		return CodeDuplicateKey
	case abi.StatusLimit:
		return CodeLimit
	case abi.StatusCycle:
		return CodeCycle
	case abi.StatusReducerFailed:
		return CodeReducerFailed
	}
	return CodeInternal
}
