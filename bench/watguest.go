package main

// watInsertGuest is the smallest guest that does what the Go SDK's insert
// reducer does, written in WebAssembly text: module "watkv", table t (id u64
// primary key, name string, score i64) and a reducer insert(id, name,
// score) whose argument Row has exactly the table's columns, so it inserts
// the argument buffer as the row, with no decoding or encoding in the
// guest. Against the Go SDK guest it separates the runtime's cost of a
// 1-insert call from the guest language's.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

const watInsertSource = `(module
  (import "interstice" "table" (func $table (param i32 i32) (result i32)))
  (import "interstice" "insert" (func $insert (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $t (mut i32) (i32.const -1))
  (data (i32.const 1024) "SCHEMA")
  (data (i32.const 512) "t")
  (func (export "interstice_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const SCHEMALEN)))
  (func (export "interstice_alloc") (param i32) (result i32)
    (if (i32.gt_u (local.get 0) (i32.const 32768)) (then (return (i32.const 0))))
    (i32.const 32768))
  (func (export "interstice_call") (param $r i32) (param $p i32) (param $n i32) (result i32)
    (if (i32.lt_s (global.get $t) (i32.const 0))
      (then (global.set $t (call $table (i32.const 512) (i32.const 1)))))
    (call $insert (global.get $t) (local.get $p) (local.get $n))))
`

// watInsertGuest assembles the module with wat2wasm (Debian package wabt).
func watInsertGuest(dir string) []byte {
	schema := watInsertSchema()
	var esc strings.Builder
	for _, c := range schema {
		fmt.Fprintf(&esc, "\\%02x", c)
	}
	src := strings.NewReplacer("SCHEMALEN", fmt.Sprint(len(schema)), "SCHEMA", esc.String()).Replace(watInsertSource)
	in := filepath.Join(dir, "watkv.wat")
	out := filepath.Join(dir, "watkv.wasm")
	must(os.WriteFile(in, []byte(src), 0o644))
	if b, err := exec.Command("wat2wasm", "-o", out, in).CombinedOutput(); err != nil {
		fatal(fmt.Errorf("wat2wasm (Debian package wabt): %v\n%s", err, b))
	}
	b, err := os.ReadFile(out)
	must(err)
	return b
}

// watInsertSchema is the module's schema, as interstice_describe returns it.
func watInsertSchema() []byte {
	b := flatbuffers.NewBuilder(512)
	cols := [][2]string{{"id", "u64"}, {"name", "string"}, {"score", "i64"}}
	vec := func(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(offs), 4)
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}
	var cs, ps []flatbuffers.UOffsetT
	for _, c := range cols {
		t, err := row.ParseType(c[1])
		must(err)
		n := b.CreateString(c[0])
		tr := row.BuildTypeRef(b, t)
		fb.ColumnStart(b)
		fb.ColumnAddName(b, n)
		fb.ColumnAddType(b, tr)
		cs = append(cs, fb.ColumnEnd(b))
		n = b.CreateString(c[0])
		tr = row.BuildTypeRef(b, t)
		fb.ParamStart(b)
		fb.ParamAddName(b, n)
		fb.ParamAddType(b, tr)
		ps = append(ps, fb.ParamEnd(b))
	}
	cv, pv := vec(cs), vec(ps)
	tn, rn := b.CreateString("t"), b.CreateString("insert")
	fb.TableDefStart(b)
	fb.TableDefAddName(b, tn)
	fb.TableDefAddColumns(b, cv)
	fb.TableDefAddPrimaryKey(b, 0)
	td := fb.TableDefEnd(b)
	fb.ReducerDefStart(b)
	fb.ReducerDefAddName(b, rn)
	fb.ReducerDefAddParams(b, pv)
	rd := fb.ReducerDefEnd(b)
	tv, rv, sv := vec([]flatbuffers.UOffsetT{td}), vec([]flatbuffers.UOffsetT{rd}), vec(nil)
	name, ver := b.CreateString("watkv"), b.CreateString("1.0.0")
	fb.ModuleSchemaStart(b)
	fb.ModuleSchemaAddAbiVersion(b, core.GuestABIVersion)
	fb.ModuleSchemaAddName(b, name)
	fb.ModuleSchemaAddVersion(b, ver)
	fb.ModuleSchemaAddTables(b, tv)
	fb.ModuleSchemaAddReducers(b, rv)
	fb.ModuleSchemaAddSubscriptions(b, sv)
	b.Finish(fb.ModuleSchemaEnd(b))
	return b.FinishedBytes()
}
