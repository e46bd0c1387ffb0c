// Command alltypes stores a column of every value type, for the bindings'
// round-trip tests (bindings/python), and has reducers that log, fail and
// run long on request.
//
// Module "alltypes" 1.0.0
//
//	table vals (public): id u64 (pk), b bool, u32 u32, u64 u64, i32 i32, i64 i64,
//	    f32 f32, f64 f64, s string, by bytes, opt string?, li list<i64>,
//	    ls list<string?>, ll list<list<i32>>, lb list<bytes>, of f64?
//	table bkeys (public): k bytes (pk), v i64
//	table ikeys (public): k i64 (pk), v string
//	put(id, b, u32, u64, i32, i64, f32, f64, s, by, opt, li, ls, ll, lb, of)   upserts a vals row
//	remove(id u64)             deletes a vals row (error if none)
//	put_bkey(k bytes, v i64)   upserts a bkeys row
//	put_ikey(k i64, v string)  upserts an ikeys row
//	work(id u64, n u64)        spins n rounds of arithmetic, then upserts vals {id, u64: result}
//	say(level u32, msg string) logs msg at level, writes "out: msg" to stdout and "err: msg" to stderr
//	fail(msg string)           returns the error msg
//	on insert into ikeys        subscriber: upserts bkeys {k: bytes(v), v: k}; fails with
//	                            "alltypes: refused" when v is "refuse" (a cascade error)
package main

import (
	"errors"
	"fmt"
	"os"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Val is one row of the vals table: one column of every type.
type Val struct {
	ID  uint64    `ist:"id,pk"`
	B   bool      `ist:"b"`
	U32 uint32    `ist:"u32"`
	U64 uint64    `ist:"u64"`
	I32 int32     `ist:"i32"`
	I64 int64     `ist:"i64"`
	F32 float32   `ist:"f32"`
	F64 float64   `ist:"f64"`
	S   string    `ist:"s"`
	By  []byte    `ist:"by"`
	Opt *string   `ist:"opt"`
	Li  []int64   `ist:"li"`
	Ls  []*string `ist:"ls"`
	Ll  [][]int32 `ist:"ll"`
	Lb  [][]byte  `ist:"lb"`
	Of  *float64  `ist:"of"`
}

// BKey is a row keyed by bytes.
type BKey struct {
	K []byte `ist:"k,pk"`
	V int64  `ist:"v"`
}

// IKey is a row keyed by a signed integer.
type IKey struct {
	K int64  `ist:"k,pk"`
	V string `ist:"v"`
}

var (
	vals  = sdk.Table[Val]("vals", sdk.Public)
	bkeys = sdk.Table[BKey]("bkeys", sdk.Public)
	ikeys = sdk.Table[IKey]("ikeys", sdk.Public)
)

//go:noinline
func spin(n uint64) uint64 {
	x := uint64(88172645463325252)
	for i := uint64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func init() {
	sdk.Module("alltypes", "1.0.0")
	sdk.Reducer("put", func(_ *sdk.Ctx, id uint64, b bool, u32 uint32, u64 uint64, i32 int32, i64 int64,
		f32 float32, f64 float64, s string, by []byte, opt *string, li []int64, ls []*string,
		ll [][]int32, lb [][]byte, of *float64) error {
		return vals.Upsert(Val{id, b, u32, u64, i32, i64, f32, f64, s, by, opt, li, ls, ll, lb, of})
	}, "id", "b", "u32", "u64", "i32", "i64", "f32", "f64", "s", "by", "opt", "li", "ls", "ll", "lb", "of")
	sdk.Reducer("remove", func(_ *sdk.Ctx, id uint64) error { return vals.Delete(id) }, "id")
	sdk.Reducer("put_bkey", func(_ *sdk.Ctx, k []byte, v int64) error {
		return bkeys.Upsert(BKey{K: k, V: v})
	}, "k", "v")
	sdk.Reducer("put_ikey", func(_ *sdk.Ctx, k int64, v string) error {
		return ikeys.Upsert(IKey{K: k, V: v})
	}, "k", "v")
	sdk.Reducer("work", func(_ *sdk.Ctx, id uint64, n uint64) error {
		return vals.Upsert(Val{ID: id, U64: spin(n)})
	}, "id", "n")
	sdk.Reducer("say", func(ctx *sdk.Ctx, level uint32, msg string) error {
		ctx.LogAt(sdk.LogLevel(level), msg)
		fmt.Fprintln(os.Stdout, "out: "+msg)
		fmt.Fprintln(os.Stderr, "err: "+msg)
		return nil
	}, "level", "msg")
	sdk.Reducer("fail", func(_ *sdk.Ctx, msg string) error { return errors.New(msg) }, "msg")
	sdk.OnInsert("alltypes", "ikeys", func(_ *sdk.Ctx, k IKey) error {
		if k.V == "refuse" {
			return errors.New("alltypes: refused")
		}
		return bkeys.Upsert(BKey{K: []byte(k.V), V: k.K})
	})
}

func main() {}
