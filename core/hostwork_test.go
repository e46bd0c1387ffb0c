package core

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/row"
)

// argsWasm is a module whose reducers take (xs: list<list<u64?>>),
// (dag: list<list<list<i32>>>) or (b: bytes) and do nothing, with an
// argument buffer of up to 32 MiB: a caller's argument check is all the
// work of a call.
func argsWasm(t testing.TB) []byte {
	schema := sdesc{abi: 1, name: "args", version: "1.0.0",
		tables: []tdef{{name: "t", cols: itemCols}},
		reducers: []rdef{
			{"take_list", []cdef{{"xs", ty("list<list<u64?>>")}}},
			{"take_dag", []cdef{{"dag", ty("list<list<list<i32>>>")}}},
			{"take_bytes", []cdef{{"b", ty("bytes")}}},
		}}.build()
	var sb strings.Builder
	for _, c := range schema {
		fmt.Fprintf(&sb, "\\%02x", c)
	}
	return testwasm.WATSource(t, "args", fmt.Sprintf(`(module
  (memory (export "memory") 640)
  (func (export "interstice_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const %d)))
  (func (export "interstice_alloc") (param i32) (result i32)
    (if (i32.gt_u (local.get 0) (i32.const 33554432)) (then (return (i32.const 0))))
    (i32.const 65536))
  (data (i32.const 1024) "%s")
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0)))`, len(schema), sb.String()))
}

// dagArgs is an argument Row of one list nested len(widths) deep whose
// level d is widths[d] offsets to one child, innermost first. With
// distinct, the innermost level is a list of distinct nulls (for
// list<list<u64?>>), else offsets to one i32 (for list<list<list<i32>>>).
func dagArgs(distinct bool, widths ...int) []byte {
	b := flatbuffers.NewBuilder(0)
	var cur flatbuffers.UOffsetT
	if distinct {
		offs := make([]flatbuffers.UOffsetT, widths[0])
		for i := range offs {
			fb.ValueStart(b)
			offs[i] = fb.ValueEnd(b)
		}
		fb.ValueStartListVector(b, len(offs))
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		vec := b.EndVector(len(offs))
		fb.ValueStart(b)
		fb.ValueAddType(b, fb.ValueTypeList)
		fb.ValueAddList(b, vec)
		cur = fb.ValueEnd(b)
		widths = widths[1:]
	} else {
		fb.ValueStart(b)
		fb.ValueAddType(b, fb.ValueTypeI32)
		cur = fb.ValueEnd(b)
	}
	cur = nestShared(b, cur, widths...)
	fb.RowStartValuesVector(b, 1)
	b.PrependUOffsetT(cur)
	vec := b.EndVector(1)
	fb.RowStart(b)
	fb.RowAddValues(b, vec)
	b.Finish(fb.RowEnd(b))
	return b.FinishedBytes()
}

// nestShared wraps the Value cur in one list Value per width, innermost
// first, each a vector of width offsets to the level below.
func nestShared(b *flatbuffers.Builder, cur flatbuffers.UOffsetT, widths ...int) flatbuffers.UOffsetT {
	for _, n := range widths {
		fb.ValueStartListVector(b, n)
		for i := 0; i < n; i++ {
			b.PrependUOffsetT(cur)
		}
		vec := b.EndVector(n)
		fb.ValueStart(b)
		fb.ValueAddType(b, fb.ValueTypeList)
		fb.ValueAddList(b, vec)
		cur = fb.ValueEnd(b)
	}
	return cur
}

// TestCallArgumentCheckOutlastsDeadline: checking a caller's arguments is
// host work of the call. A check that takes longer than the call deadline
// fails the call with TIMEOUT and commits nothing; with a longer deadline
// the same call commits. A row whose offsets share children is refused as
// a bad argument at once instead of being walked once per path.
func TestCallArgumentCheckOutlastsDeadline(t *testing.T) {
	// 2 MiB: one list of 256K nulls shared three times, within the check's
	// work budget (row.WorkFactor) but costing three times a tree's walk:
	// about 10ms to check, a fraction of a ms to copy into the guest.
	shared := dagArgs(true, 1<<18, 3)
	tests := []struct {
		name     string
		deadline time.Duration
		reducer  string
		args     []byte
		want     Code
	}{
		{"2 MiB list checked past a 1ms deadline", time.Millisecond, "take_list", shared, CodeTimeout},
		{"2 MiB list checked within a 1 min deadline", time.Minute, "take_list", shared, CodeOK},
		{"10 KB list of lists sharing children past the work budget", time.Minute, "take_dag", dagArgs(false, 800, 800, 800), CodeBadArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t).WithCallDeadline(tc.deadline).WithMaxArgsSize(32 << 20).WithMemoryLimitPages(1024)
			rt := open(t, cfg, argsWasm(t))
			// Instantiate and touch the argument buffer first: the first
			// call's instantiation or page faults alone may outlast 1ms.
			warm := row.MustEncode(make([]byte, len(tc.args)))
			for i := 0; ; i++ {
				if _, err := rt.Call(context.Background(), "args", "take_bytes", warm); err == nil {
					break
				} else if i == 50 {
					t.Fatalf("a call with small arguments never succeeds: %v", err)
				}
			}
			before := rt.LastLSN()
			start := time.Now()
			res, err := rt.Call(context.Background(), "args", tc.reducer, tc.args)
			took := time.Since(start)
			t.Logf("%d bytes: %v in %v", len(tc.args), err, took)
			if c := CodeOf(err); c != tc.want {
				t.Fatalf("code %v (%v), want %v", c, err, tc.want)
			}
			if took > 10*time.Second {
				t.Errorf("call took %v", took)
			}
			if tc.want != CodeOK {
				if rt.LastLSN() != before || res.LSN != 0 {
					t.Fatalf("failed call committed: lsn %d -> %d", before, rt.LastLSN())
				}
				return
			}
			// The reducer writes nothing: no record, the LSN stays.
			if res.LSN != before || rt.LastLSN() != before {
				t.Fatalf("lsn %d (last %d), want %d", res.LSN, rt.LastLSN(), before)
			}
		})
	}
}

// dagSchema is a ModuleSchema with one table t(id: u64, l: list^3<i32>)
// whose column l has a default value of three levels of n offsets to one
// child: about 12*n bytes, n^3 paths.
func dagSchema(n int) []byte {
	b := flatbuffers.NewBuilder(0)
	fb.ValueStart(b)
	fb.ValueAddType(b, fb.ValueTypeI32)
	cur := nestShared(b, fb.ValueEnd(b), n, n, n)
	var cols []flatbuffers.UOffsetT
	for _, c := range []cdef{{"id", ty("u64")}, {"l", ty("list<list<list<i32>>>")}} {
		name := b.CreateString(c.name)
		tr := row.BuildTypeRef(b, c.typ)
		fb.ColumnStart(b)
		fb.ColumnAddName(b, name)
		fb.ColumnAddType(b, tr)
		if c.name == "l" {
			fb.ColumnAddDefaultValue(b, cur)
		}
		cols = append(cols, fb.ColumnEnd(b))
	}
	vec := func(offs ...flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(offs), 4)
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}
	cv := vec(cols...)
	tn := b.CreateString("t")
	fb.TableDefStart(b)
	fb.TableDefAddName(b, tn)
	fb.TableDefAddColumns(b, cv)
	tv := vec(fb.TableDefEnd(b))
	name, ver := b.CreateString("dag"), b.CreateString("1.0.0")
	fb.ModuleSchemaStart(b)
	fb.ModuleSchemaAddAbiVersion(b, GuestABIVersion)
	fb.ModuleSchemaAddName(b, name)
	fb.ModuleSchemaAddVersion(b, ver)
	fb.ModuleSchemaAddTables(b, tv)
	b.Finish(fb.ModuleSchemaEnd(b))
	return b.FinishedBytes()
}

// TestParseSchemaOnSharedDefaultValue: a describe buffer whose column
// default shares children is refused as malformed in time proportional
// to its size; one that shares a little loads.
func TestParseSchemaOnSharedDefaultValue(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		wantErr bool
	}{
		{"three levels of 2 offsets", 2, false},
		{"three levels of 800 offsets (10 KB, 5e8 paths)", 800, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := parseSchema(dagSchema(tc.n))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
