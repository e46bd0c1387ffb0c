// Command noop is the benchmark module: a reducer that does nothing and one
// that inserts one row.
//
// Module "noop" 1.0.0
//
//	table kv (private): id u64 (pk), name string, value i64
//	noop()
//	insert(id u64, name string, value i64)   inserts one kv row
package main

import sdk "github.com/interstice/interstice/sdk/go"

// KV is one row of the kv table.
type KV struct {
	ID    uint64 `ist:"id,pk"`
	Name  string `ist:"name"`
	Value int64  `ist:"value"`
}

var kv = sdk.Table[KV]("kv", sdk.Private)

func init() {
	sdk.Module("noop", "1.0.0")
	sdk.Reducer("noop", func(*sdk.Ctx) error { return nil })
	sdk.Reducer("insert", func(_ *sdk.Ctx, id uint64, name string, value int64) error {
		return kv.Insert(KV{ID: id, Name: name, Value: value})
	}, "id", "name", "value")
}

func main() {}
