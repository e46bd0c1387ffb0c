package sdk

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"time"
)

// Ctx is the context of one reducer call. It is valid only during the call
// that received it; do not keep it.
type Ctx struct {
	reducer string
	rng     *rand.Rand
}

// LogLevel is the level of a log line.
type LogLevel int32

const (
	LevelDebug LogLevel = 0
	LevelInfo  LogLevel = 1
	LevelWarn  LogLevel = 2
	LevelError LogLevel = 3
)

// the one Ctx, reset for every call (see buffers.go for why one suffices).
var theCtx Ctx

func (c *Ctx) reset(reducer string) {
	c.reducer = reducer
	c.rng = nil
}

// Reducer returns the name of the running reducer.
func (c *Ctx) Reducer() string { return c.reducer }

// Now returns the transaction's logical timestamp. It is the same as
// time.Now() inside a reducer: the host's WASI clock is the transaction
// clock, so replays and re-runs see the same time.
func (c *Ctx) Now() time.Time { return time.Now() }

// Rand returns a random generator for this call, seeded from the host's
// deterministic random source (WASI random_get, seeded from the
// transaction's log position): the same transaction gets the same numbers.
func (c *Ctx) Rand() *rand.Rand {
	if c.rng == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails; WASI random_get under a host
		c.rng = rand.New(rand.NewChaCha8(seed))
	}
	return c.rng
}

// Log writes an info line built like fmt.Sprint.
func (c *Ctx) Log(args ...any) { hostLog(int32(LevelInfo), fmt.Sprint(args...)) }

// Logf writes an info line built like fmt.Sprintf.
func (c *Ctx) Logf(format string, args ...any) {
	hostLog(int32(LevelInfo), fmt.Sprintf(format, args...))
}

// LogAt writes msg at the given level.
func (c *Ctx) LogAt(level LogLevel, msg string) { hostLog(int32(level), msg) }

// Abort ends the call at once: the host traps the instance and rolls back
// the transaction with msg as its error. Deferred functions do not run.
// Returning an error is the gentler way to fail; Abort is for states the
// module must not continue from.
func (c *Ctx) Abort(msg string) {
	hostAbort(msg)
	panic("sdk: abort returned: " + msg) // unreachable under a host
}

// Call calls reducer of another module inside the current transaction: the
// callee's writes commit or roll back together with the caller's. The
// arguments are Go values of the callee's parameter types (int is sent as
// i64, uint as u64, *T as an optional, []T as a list).
//
// Errors: ErrNoReducer (unknown module or reducer), ErrCycle (the module is
// already on the call stack, for example calling itself), ErrType
// (arguments do not match the callee's parameters), ErrReducerFailed (the
// callee failed). A failed callee fails the whole transaction, even if the
// caller carries on; returning the error is the natural thing to do.
//
//	if err := ctx.Call("lobby", "join", player, room); err != nil {
//		return err
//	}
func (c *Ctx) Call(module, reducer string, args ...any) error {
	vals := make([]any, len(args))
	for i, a := range args {
		v, err := toValue(a)
		if err != nil {
			return fmt.Errorf("call %s.%s: argument %d: %w", module, reducer, i, err)
		}
		vals[i] = v
	}
	buf, err := encode(vals)
	if err != nil {
		return fmt.Errorf("call %s.%s: %w", module, reducer, err)
	}
	return hostErr("call", module+"."+reducer, hostCall(module, reducer, buf))
}
