// Command access tries what the sandbox must refuse: writing another
// module's table, reading a private one, and handing the host bad pointers,
// bad rows and bad handles through the raw ABI.
//
// Module "access" 1.0.0
//
//	table mine (private): id u64 (pk), v string
//	table results (public): name string (pk), value string   (what the last probe saw)
//
// Sandbox probes (the target is given by name, e.g. ("callee", "hits") or
// ("callee", "secrets")); each returns the host's error, and stores the
// outcome ("ok ..." or the error text) in results under the reducer name:
//
//	write_other(module string, table string)          insert (u64 1, "x") into module.table
//	update_other(module string, table string)         update (u64 1, "x") in module.table
//	delete_other(module string, table string, key u64)
//	read_other(module string, table string)           count module.table; results value "ok count=N"
//	get_other(module string, table string, key u64)   get; results value "ok found=true|false"
//	scan_other(module string, table string)           scan; results value "ok rows=N"
//	write_own_qualified(id u64)                       insert into "access.mine" (own table by qualified name)
//
// Raw ABI probes: each makes one host call with a bad input and returns the
// error "<reducer>: status <code>" (nil if the host returned 0):
//
//	bad_pointer()      insert into mine with row_ptr 0xFFFFFF00, len 64      (expect -1)
//	bad_length()       insert into mine with a valid ptr and len 0x7FFFFFFF  (expect -1, or -8)
//	bad_row()          insert into mine with 9 garbage bytes                  (expect -1)
//	wrong_type()       insert into mine the row ("not a u64", "v")           (expect -4)
//	bad_handle()       insert with table handle 12345                         (expect -2)
//	bad_iterator()     scan_next on iterator 9999                             (expect -12)
//	bad_out_len_ptr()  get on mine with out_len_ptr 0xFFFFFF00                (expect -1; mine holds {1,"x"} first)
//	bad_name()         table("") and table("a.b.c"): the first nonzero status (expect -1 or -2)
//	bad_call()         call with module_ptr 0xFFFFFF00                        (expect -1)
package main

import (
	"fmt"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Mine is one row of mine.
type Mine struct {
	ID uint64 `ist:"id,pk"`
	V  string `ist:"v"`
}

// Result is one row of results.
type Result struct {
	Name  string `ist:"name,pk"`
	Value string `ist:"value"`
}

var (
	mine    = sdk.Table[Mine]("mine", sdk.Private)
	results = sdk.Table[Result]("results", sdk.Public)
)

// record stores the outcome of a probe and returns err.
func record(ctx *sdk.Ctx, ok string, err error) error {
	v := "ok " + ok
	if err != nil {
		v = err.Error()
	}
	if uerr := results.Upsert(Result{Name: ctx.Reducer(), Value: v}); uerr != nil {
		return uerr
	}
	return err
}

func other(module, table string) *sdk.DynamicTable { return sdk.Dynamic(module + "." + table) }

func status(ctx *sdk.Ctx, st int32) error {
	if st == 0 {
		return nil
	}
	return fmt.Errorf("%s: status %d", ctx.Reducer(), st)
}

func init() {
	sdk.Module("access", "1.0.0")
	sdk.Reducer("write_other", func(ctx *sdk.Ctx, module, table string) error {
		return record(ctx, "", other(module, table).Insert(uint64(1), "x"))
	}, "module", "table")
	sdk.Reducer("update_other", func(ctx *sdk.Ctx, module, table string) error {
		return record(ctx, "", other(module, table).Update(uint64(1), "x"))
	}, "module", "table")
	sdk.Reducer("delete_other", func(ctx *sdk.Ctx, module, table string, key uint64) error {
		return record(ctx, "", other(module, table).Delete(key))
	}, "module", "table", "key")
	sdk.Reducer("read_other", func(ctx *sdk.Ctx, module, table string) error {
		n, err := other(module, table).Count()
		return record(ctx, fmt.Sprintf("count=%d", n), err)
	}, "module", "table")
	sdk.Reducer("get_other", func(ctx *sdk.Ctx, module, table string, key uint64) error {
		_, found, err := other(module, table).Get(key)
		return record(ctx, fmt.Sprintf("found=%v", found), err)
	}, "module", "table", "key")
	sdk.Reducer("scan_other", func(ctx *sdk.Ctx, module, table string) error {
		n := 0
		err := other(module, table).Scan(func([]any) bool { n++; return true })
		return record(ctx, fmt.Sprintf("rows=%d", n), err)
	}, "module", "table")
	sdk.Reducer("write_own_qualified", func(ctx *sdk.Ctx, id uint64) error {
		return record(ctx, "", sdk.Dynamic("access.mine").Insert(id, "qualified"))
	}, "id")

	sdk.Reducer("bad_pointer", func(ctx *sdk.Ctx) error { return status(ctx, rawBadPointer()) })
	sdk.Reducer("bad_length", func(ctx *sdk.Ctx) error { return status(ctx, rawBadLength()) })
	sdk.Reducer("bad_row", func(ctx *sdk.Ctx) error { return status(ctx, rawBadRow()) })
	sdk.Reducer("wrong_type", func(ctx *sdk.Ctx) error { return status(ctx, rawWrongType()) })
	sdk.Reducer("bad_handle", func(ctx *sdk.Ctx) error { return status(ctx, rawBadHandle()) })
	sdk.Reducer("bad_iterator", func(ctx *sdk.Ctx) error { return status(ctx, rawBadIterator()) })
	sdk.Reducer("bad_out_len_ptr", func(ctx *sdk.Ctx) error {
		if err := mine.Upsert(Mine{ID: 1, V: "x"}); err != nil {
			return err
		}
		return status(ctx, rawBadOutLenPtr())
	})
	sdk.Reducer("bad_name", func(ctx *sdk.Ctx) error { return status(ctx, rawBadName()) })
	sdk.Reducer("bad_call", func(ctx *sdk.Ctx) error { return status(ctx, rawBadCall()) })
}

func main() {}
