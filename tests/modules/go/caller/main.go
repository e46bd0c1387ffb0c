// Command caller makes cross-module calls into ../callee. Every reducer
// first inserts its own row into log (id = the id argument), so tests can
// see whether the caller's part of the transaction survived.
//
// Module "caller" 1.0.0
//
//	table log (public): id u64 (pk), result string  (result: "ok" or the call's error text)
//	ping()                        does nothing (the target of call cycles)
//	call_record(id u64)           log row; calls callee.record(id, "caller"); returns its error
//	call_fail(id u64)             log row; calls callee.fail_always("callee failed on purpose"); returns the error
//	call_fail_ignore(id u64)      log row; calls callee.fail_always(...); ignores the error and returns nil.
//	                              The host still fails the whole transaction: a failed nested call
//	                              dooms it (docs/ABI.md, ERR_REDUCER_FAILED)
//	call_cycle(id u64)            log row; calls callee.call_back("caller", "ping"): a cycle
//	                              caller -> callee -> caller; returns the error
//	call_self(id u64)             log row; calls caller.ping directly (cycle); returns the error
//	call_missing(id u64)          log row; calls nosuch.reducer; returns the error (ErrNoReducer)
//	call_missing_reducer(id u64)  log row; calls callee.nosuch; returns the error (ErrNoReducer)
//	call_bad_args(id u64)         log row; calls callee.record("not a number"); returns the error
package main

import (
	sdk "github.com/interstice/interstice/sdk/go"
)

// Log is one row of log.
type Log struct {
	ID     uint64 `ist:"id,pk"`
	Result string `ist:"result"`
}

var log = sdk.Table[Log]("log", sdk.Public)

// calling returns a reducer that logs, then makes one call.
func calling(call func(ctx *sdk.Ctx, id uint64) error, ignore bool) func(*sdk.Ctx, uint64) error {
	return func(ctx *sdk.Ctx, id uint64) error {
		if err := log.Insert(Log{ID: id, Result: "pending"}); err != nil {
			return err
		}
		err := call(ctx, id)
		res := "ok"
		if err != nil {
			res = err.Error()
		}
		if uerr := log.Update(Log{ID: id, Result: res}); uerr != nil {
			return uerr
		}
		if ignore {
			return nil
		}
		return err
	}
}

func init() {
	sdk.Module("caller", "1.0.0")
	sdk.Reducer("ping", func(*sdk.Ctx) error { return nil })
	sdk.Reducer("call_record", calling(func(ctx *sdk.Ctx, id uint64) error {
		return ctx.Call("callee", "record", id, "caller")
	}, false), "id")
	failing := func(ctx *sdk.Ctx, _ uint64) error {
		return ctx.Call("callee", "fail_always", "callee failed on purpose")
	}
	sdk.Reducer("call_fail", calling(failing, false), "id")
	sdk.Reducer("call_fail_ignore", calling(failing, true), "id")
	sdk.Reducer("call_cycle", calling(func(ctx *sdk.Ctx, _ uint64) error {
		return ctx.Call("callee", "call_back", "caller", "ping")
	}, false), "id")
	sdk.Reducer("call_self", calling(func(ctx *sdk.Ctx, _ uint64) error {
		return ctx.Call("caller", "ping")
	}, false), "id")
	sdk.Reducer("call_missing", calling(func(ctx *sdk.Ctx, _ uint64) error {
		return ctx.Call("nosuch", "reducer")
	}, false), "id")
	sdk.Reducer("call_missing_reducer", calling(func(ctx *sdk.Ctx, _ uint64) error {
		return ctx.Call("callee", "nosuch")
	}, false), "id")
	sdk.Reducer("call_bad_args", calling(func(ctx *sdk.Ctx, _ uint64) error {
		return ctx.Call("callee", "record", "not a number")
	}, false), "id")
}

func main() {}
