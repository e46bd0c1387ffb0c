// Command readonly_trap has exactly the schema of examples/counter (module
// "counter" 1.0.0, table counters, reducers add, reset, remove), but every
// reducer traps. A replay test writes a log with examples/counter, then
// reopens the data directory with this module in its place: replay must
// rebuild the counters without running a reducer, and any call traps.
//
//	table counters (public): name string (pk), value i64
//	add(name string, by i64)   traps
//	reset(name string)         traps
//	remove(name string)        traps
package main

import (
	sdk "github.com/interstice/interstice/sdk/go"
)

// Counter is examples/counter's row type.
type Counter struct {
	Name  string `ist:"name,pk"`
	Value int64  `ist:"value"`
}

var _ = sdk.Table[Counter]("counters", sdk.Public)

func trap(ctx *sdk.Ctx) {
	ctx.Abort("readonly_trap: reducer " + ctx.Reducer() + " must not run")
}

func init() {
	sdk.Module("counter", "1.0.0")
	sdk.Reducer("add", func(ctx *sdk.Ctx, name string, by int64) error { trap(ctx); return nil }, "name", "by")
	sdk.Reducer("reset", func(ctx *sdk.Ctx, name string) error { trap(ctx); return nil }, "name")
	sdk.Reducer("remove", func(ctx *sdk.Ctx, name string) error { trap(ctx); return nil }, "name")
}

func main() {}
