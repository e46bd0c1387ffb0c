// Command callee is the target of cross-module calls (see ../caller).
//
// Module "callee" 1.0.0
//
//	table hits (public):     id u64 (pk), by string
//	table secrets (private): id u64 (pk), secret string   (one row {1, "s3cret"} after seed())
//	record(id u64, by string)             inserts a hits row
//	fail_always(msg string)               inserts hits row 999999, then returns the error msg
//	call_back(module string, reducer string)  calls module.reducer() with no arguments and
//	                                      returns its error (a call back into the caller is a cycle)
//	seed()                                inserts secrets row {1, "s3cret"}
package main

import (
	"errors"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Hit is one row of hits.
type Hit struct {
	ID uint64 `ist:"id,pk"`
	By string `ist:"by"`
}

// Secret is one row of secrets.
type Secret struct {
	ID     uint64 `ist:"id,pk"`
	Secret string `ist:"secret"`
}

var (
	hits    = sdk.Table[Hit]("hits", sdk.Public)
	secrets = sdk.Table[Secret]("secrets", sdk.Private)
)

func init() {
	sdk.Module("callee", "1.0.0")
	sdk.Reducer("record", func(_ *sdk.Ctx, id uint64, by string) error {
		return hits.Insert(Hit{ID: id, By: by})
	}, "id", "by")
	sdk.Reducer("fail_always", func(_ *sdk.Ctx, msg string) error {
		if err := hits.Insert(Hit{ID: 999999, By: "fail_always"}); err != nil {
			return err
		}
		return errors.New(msg)
	}, "msg")
	sdk.Reducer("call_back", func(ctx *sdk.Ctx, module, reducer string) error {
		return ctx.Call(module, reducer)
	}, "module", "reducer")
	sdk.Reducer("seed", func(*sdk.Ctx) error {
		return secrets.Insert(Secret{ID: 1, Secret: "s3cret"})
	})
}

func main() {}
