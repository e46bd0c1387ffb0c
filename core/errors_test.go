package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// TestErrorTextSaysEachFactOnce pins the rendering of Error and Text: the
// guest's message (else Msg) first, then where, then a core-error cause
// without the places already named.
func TestErrorTextSaysEachFactOnce(t *testing.T) {
	host := &Error{Code: CodeNotFound, Module: "bank", Reducer: "deposit", Table: "bank.accounts", Column: "id", Msg: "update: no row with this primary key"}
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"sentinel", ErrTimeout, "core: timeout"},
		{"place only", &Error{Code: CodeTimeout, Module: "m", Reducer: "r"}, "core: timeout: module m, reducer r"},
		{"guest message first", &Error{Code: CodeReducerFailed, Module: "bank", Reducer: "deposit", GuestMsg: `no account "zed"`},
			`core: reducer failed: no account "zed" (module bank, reducer deposit)`},
		{"host call cause without repeated places", &Error{Code: CodeReducerFailed, Module: "bank", Reducer: "deposit", GuestMsg: `no account "zed"`, Err: host},
			`core: reducer failed: no account "zed" (module bank, reducer deposit): not found: update: no row with this primary key (table bank.accounts, column id)`},
		{"nested call cause keeps its own places", &Error{Code: CodeReducerFailed, Module: "kv", Reducer: "call", GuestMsg: "callee failed",
			Err: &Error{Code: CodeReducerFailed, Module: "other", Reducer: "put", GuestMsg: "other says no"}},
			"core: reducer failed: callee failed (module kv, reducer call): reducer failed: other says no (module other, reducer put)"},
		{"other cause follows the message", &Error{Code: CodeIO, Module: "m", Msg: "open", Err: errors.New("persistence: disk on fire")},
			"core: i/o error: open: persistence: disk on fire (module m)"},
		{"guest and host words", &Error{Code: CodeTrap, Module: "m", Reducer: "r", GuestMsg: "panic: boom", Msg: "wasm error: unreachable"},
			"core: module trap: panic: boom: wasm error: unreachable (module m, reducer r)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("Error() =\n  %s\nwant\n  %s", got, tc.want)
			}
			if got, want := tc.err.Text(), strings.TrimPrefix(strings.TrimPrefix(tc.want, "core: "+tc.err.Code.String()), ": "); got != want {
				t.Fatalf("Text() = %q, want %q", got, want)
			}
		})
	}
}

// TestReducerErrorSaysEachFactOnce is the report of issue 11: `reducer
// failed: core: reducer failed: module bank reducer deposit: no account
// "zed"` buried the guest's words behind the place and said the status
// twice.
func TestReducerErrorSaysEachFactOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	rt := open(t, testConfig(t), testwasm.Go(t, "examples/counter"))
	_, err := rt.CallJSON(context.Background(), "counter", "reset", []byte(`["nobody"]`))
	wantCode(t, err, CodeReducerFailed)
	var e *Error
	if !errors.As(err, &e) || e.GuestMsg != `no counter "nobody"` {
		t.Fatalf("GuestMsg of %v is %q", err, e.GuestMsg)
	}
	want := `core: reducer failed: no counter "nobody" (module counter, reducer reset): not found: update: no row with this primary key (table counter.counters, column name)`
	if err.Error() != want {
		t.Fatalf("error\n  %s\nwant\n  %s", err, want)
	}
	for _, fact := range []string{"reducer failed", "module counter", "reducer reset", `no counter "nobody"`} {
		if n := strings.Count(err.Error(), fact); n != 1 {
			t.Errorf("%q appears %d times in %s", fact, n, err)
		}
	}
	// The host call the guest gave up after stays the cause.
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("%v does not wrap the failed update", err)
	}
}

// TestArgumentErrorNamesParameters: an argument error said `type mismatch:
// module counter reducer add: arguments: row: type mismatch: 1 values
// given, 2 expected`, naming no parameter.
func TestArgumentErrorNamesParameters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	rt := open(t, testConfig(t), testwasm.Go(t, "examples/counter"))
	ctx := context.Background()
	sig := "core: type mismatch: add(name string, by i64): "
	tests := []struct {
		name string
		json string // JSON arguments, or "" for args
		args []byte
		want string
	}{
		{"too few by position", `["a"]`, nil, sig + "1 argument given, 2 expected (module counter)"},
		{"too many by position", `["a", 1, 2]`, nil, sig + "3 arguments given, 2 expected (module counter)"},
		{"wrong JSON kind", `["a", "x"]`, nil, sig + "by: JSON string for i64 (module counter)"},
		{"number for a string", `[1, 2]`, nil, sig + "name: JSON number for string (module counter)"},
		{"object for a string", `[{}, 2]`, nil, sig + "name: JSON object for string (module counter)"},
		{"unknown name", `{"name":"a","by":1,"zz":2}`, nil, sig + `unknown name "zz" (module counter)`},
		{"not an array or object", `"a"`, nil, sig + "JSON must be an array or an object, not string (module counter)"},
		{"encoded, too few", "", row.MustEncode("a"), sig + "1 argument given, 2 expected (module counter)"},
		{"encoded, wrong type", "", row.MustEncode("a", "b"), sig + "by: string value for i64 (module counter)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.json != "" {
				_, err = rt.CallJSON(ctx, "counter", "add", []byte(tc.json))
			} else {
				_, err = rt.Call(ctx, "counter", "add", tc.args)
			}
			wantCode(t, err, CodeType)
			if err.Error() != tc.want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, tc.want)
			}
			if !errors.Is(err, row.ErrType) {
				t.Fatalf("%v does not wrap row.ErrType", err)
			}
		})
	}
}

// TestMissingArgumentNamed: a JSON object without a required member was
// reported as `by: row: type mismatch: null for non-optional i64`.
func TestMissingArgumentNamed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	rt := open(t, testConfig(t), testwasm.Go(t, "examples/counter"))
	_, err := rt.CallJSON(context.Background(), "counter", "add", []byte(`{"name":"a"}`))
	wantCode(t, err, CodeType)
	want := `core: type mismatch: add(name string, by i64): missing argument "by" (i64) (module counter)`
	if err.Error() != want {
		t.Fatalf("error\n  %s\nwant\n  %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Column != "by" || e.Reducer != "add" {
		t.Fatalf("fields of %v: %+v", err, e)
	}
	// An explicit null is still a null, not a missing member.
	_, err = rt.CallJSON(context.Background(), "counter", "add", []byte(`{"name":"a","by":null}`))
	if err == nil || !strings.Contains(err.Error(), "by: null for non-optional i64") {
		t.Fatalf("explicit null: %v", err)
	}
}

// panicWasm is a module whose reducer "boom" writes a Go-style panic on
// stderr and traps, and whose reducer "quiet" returns a failure status
// without a message.
func panicWasm(t testing.TB) []byte {
	schema := sdesc{abi: 1, name: "panicky", version: "1.0.0",
		tables:   []tdef{{name: "t", cols: itemCols}},
		reducers: []rdef{{"boom", nil}, {"quiet", nil}}}.build()
	var sb strings.Builder
	for _, c := range schema {
		fmt.Fprintf(&sb, "\\%02x", c)
	}
	msg := "a warning first\npanic: boom at the bank\n\ngoroutine 1 [running]:\nmain.deposit()\n"
	return testwasm.WATSource(t, "panicky", fmt.Sprintf(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "interstice_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const %d)))
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 65536))
  (data (i32.const 1024) "%s")
  (data (i32.const 512) %q)
  (func (export "interstice_call") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then (return (i32.const -11))))
    (i32.store (i32.const 0) (i32.const 512))
    (i32.store (i32.const 4) (i32.const %d))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    unreachable))`, len(schema), sb.String(), msg, len(msg)))
}

// TestTrapCarriesGuestPanic: a guest that panicked outside the SDK's
// recovery left its words only inside "(stderr: ...)".
func TestTrapCarriesGuestPanic(t *testing.T) {
	rt := open(t, testConfig(t), panicWasm(t))
	_, err := call(t, rt, "panicky", "boom")
	wantCode(t, err, CodeTrap)
	var e *Error
	if !errors.As(err, &e) || e.GuestMsg != "panic: boom at the bank" {
		t.Fatalf("GuestMsg of %v: %q", err, e.GuestMsg)
	}
	if !strings.HasPrefix(err.Error(), "core: module trap: panic: boom at the bank: ") || strings.Count(err.Error(), "boom at the bank") != 1 {
		t.Fatalf("error %v", err)
	}
	_, err = call(t, rt, "panicky", "quiet")
	wantCode(t, err, CodeReducerFailed)
	if want := "core: reducer failed: returned status -11 with no message (module panicky, reducer quiet)"; err.Error() != want {
		t.Fatalf("error\n  %s\nwant\n  %s", err, want)
	}
	if errors.As(err, &e); e.GuestMsg != "" {
		t.Fatalf("GuestMsg %q of a failure without a message", e.GuestMsg)
	}
}

// TestOneErrorTable: a primary Code is its C status number and matches
// its own sentinel only; an extended code reports its primary class and
// matches both sentinels; log failures keep their class through core, so
// errors.Is needs no persistence import (and still works with it).
func TestOneErrorTable(t *testing.T) {
	for c, want := range map[Code]Code{
		CodeInvalidWasm: CodeInvalidModule, CodeBadImport: CodeInvalidModule,
		CodeMalformed: CodeSchema, CodeBadSubscription: CodeSchema,
		CodeReadOnly: CodeReadOnly, CodeLocked: CodeLocked, CodeBadArgument: CodeBadArgument,
	} {
		if c.Primary() != want {
			t.Errorf("%v.Primary() = %v, want %v", c, c.Primary(), want)
		}
	}
	e := &Error{Code: CodeBadImport, Msg: "x"}
	if !errors.Is(e, ErrBadImport) || !errors.Is(e, ErrInvalidModule) || errors.Is(e, ErrSchema) {
		t.Errorf("bad import: Is(ErrBadImport) %v Is(ErrInvalidModule) %v Is(ErrSchema) %v",
			errors.Is(e, ErrBadImport), errors.Is(e, ErrInvalidModule), errors.Is(e, ErrSchema))
	}
	if errors.Is(&Error{Code: CodeInvalidModule}, ErrBadImport) {
		t.Error("the class matches one of its extended codes")
	}
	for cause, want := range map[error]error{
		fmt.Errorf("seg: %w", persistence.ErrCorrupt):                         ErrCorrupt,
		persistence.ErrCompacted:                                              ErrCompacted,
		persistence.ErrLocked:                                                 ErrLocked,
		fmt.Errorf("%w: %w", persistence.ErrPoisoned, persistence.ErrCorrupt): ErrPoisoned,
		&fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}:           ErrIO,
	} {
		err := logErr("open", cause)
		if !errors.Is(err, want) || !errors.Is(err, cause) {
			t.Errorf("logErr(%v): code %v, want %v (and the cause)", cause, err.Code, want)
		}
	}
}
