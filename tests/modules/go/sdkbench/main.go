// Command sdkbench is the Go SDK's cost-breakdown module: each reducer does
// one more piece of the work of noop's insert, so host-side timings of
// consecutive reducers give the cost of that piece (sdk/go/bench_test.go).
//
// Module "sdkbench" 1.0.0
//
//	table kv (private): id u64 (pk), name string, value i64
//	noop()                                      nothing (dispatch + call overhead)
//	args(id u64, name string, value i64)        decodes its arguments only
//	args_reflect(id u64, name string, value i64, flag bool)
//	                                            decodes through reflect.Value.Call
//	insert(id u64, name string, value i64)      inserts one kv row
//	insert_n(id u64, n u32)                     inserts kv rows id..id+n-1
//	count()                                     one host call that touches no row
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
	sdk.Module("sdkbench", "1.0.0")
	sdk.Reducer("noop", func(*sdk.Ctx) error { return nil })
	sdk.Reducer("args", func(_ *sdk.Ctx, id uint64, name string, value int64) error {
		return nil
	}, "id", "name", "value")
	sdk.Reducer("args_reflect", func(_ *sdk.Ctx, id uint64, name string, value int64, flag bool) error {
		return nil
	}, "id", "name", "value", "flag")
	sdk.Reducer("insert", func(_ *sdk.Ctx, id uint64, name string, value int64) error {
		return kv.Insert(KV{ID: id, Name: name, Value: value})
	}, "id", "name", "value")
	sdk.Reducer("insert_n", func(_ *sdk.Ctx, id uint64, n uint32) error {
		for i := range uint64(n) {
			if err := kv.Insert(KV{ID: id + i, Name: "name", Value: int64(i)}); err != nil {
				return err
			}
		}
		return nil
	}, "id", "n")
	sdk.Reducer("count", func(*sdk.Ctx) error {
		_, err := kv.Count()
		return err
	})
}

func main() {}
