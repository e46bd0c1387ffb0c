// Command trapper fails in every way a reducer can, after writing: for
// atomicity tests (nothing it wrote may survive a failed call).
//
// Module "trapper" 1.0.0
//
//	table rows (public): id u64 (pk), note string
//	insert_one(id u64)          inserts row id; succeeds
//	insert3_trap(base u64)      inserts base, base+1, base+2, then a real wasm trap (out-of-bounds load)
//	insert3_panic(base u64)     inserts three, then panic("trapper: deliberate panic");
//	                            the SDK turns it into a reducer error "panic: trapper: deliberate panic"
//	insert3_error(base u64)     inserts three, then returns the error "trapper: deliberate error"
//	insert3_abort(base u64)     inserts three, then ctx.Abort("trapper: deliberate abort") (host abort import)
//	insert3_exit(base u64)      inserts three, then os.Exit(3) (WASI proc_exit)
//	insert_dup(id u64)          inserts id twice; returns the host's ErrDuplicateKey
//	                            ("insert rows: interstice: duplicate key")
package main

import (
	"errors"
	"os"
	"unsafe"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Row is one row of the rows table.
type Row struct {
	ID   uint64 `ist:"id,pk"`
	Note string `ist:"note"`
}

var rows = sdk.Table[Row]("rows", sdk.Public)

func insert3(base uint64) error {
	for i := uint64(0); i < 3; i++ {
		if err := rows.Insert(Row{ID: base + i, Note: "written before the failure"}); err != nil {
			return err
		}
	}
	return nil
}

// sink keeps the out-of-bounds load from being optimised away.
var sink byte

// trap executes a load far beyond linear memory: a WebAssembly trap that
// no Go recover can catch.
func trap() {
	p := unsafe.Add(unsafe.Pointer(nil), 0xFFFFFF00)
	sink = *(*byte)(p)
}

func init() {
	sdk.Module("trapper", "1.0.0")
	sdk.Reducer("insert_one", func(_ *sdk.Ctx, id uint64) error {
		return rows.Insert(Row{ID: id, Note: "ok"})
	}, "id")
	sdk.Reducer("insert3_trap", func(_ *sdk.Ctx, base uint64) error {
		if err := insert3(base); err != nil {
			return err
		}
		trap()
		return errors.New("trapper: trap did not trap")
	}, "base")
	sdk.Reducer("insert3_panic", func(_ *sdk.Ctx, base uint64) error {
		if err := insert3(base); err != nil {
			return err
		}
		panic("trapper: deliberate panic")
	}, "base")
	sdk.Reducer("insert3_error", func(_ *sdk.Ctx, base uint64) error {
		if err := insert3(base); err != nil {
			return err
		}
		return errors.New("trapper: deliberate error")
	}, "base")
	sdk.Reducer("insert3_abort", func(ctx *sdk.Ctx, base uint64) error {
		if err := insert3(base); err != nil {
			return err
		}
		ctx.Abort("trapper: deliberate abort")
		return nil
	}, "base")
	sdk.Reducer("insert3_exit", func(_ *sdk.Ctx, base uint64) error {
		if err := insert3(base); err != nil {
			return err
		}
		os.Exit(3)
		return nil
	}, "base")
	sdk.Reducer("insert_dup", func(_ *sdk.Ctx, id uint64) error {
		if err := rows.Insert(Row{ID: id, Note: "first"}); err != nil {
			return err
		}
		return rows.Insert(Row{ID: id, Note: "second"})
	}, "id")
}

func main() {}
