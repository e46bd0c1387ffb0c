package core

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/row"
)

// Schema builders for the WAT test modules (tests/modules/wat).

type cdef struct {
	name string
	typ  row.Type
}

type tdef struct {
	name   string
	cols   []cdef
	pk     int
	public bool
}

type rdef struct {
	name   string
	params []cdef
}

type sdef struct {
	module, table string
	ev            fb.Event
	reducer       string
}

type sdesc struct {
	abi      uint32
	name     string
	version  string
	tables   []tdef
	reducers []rdef
	subs     []sdef
	// defaults["table.column"] is a column's default_value (i64, u64 or
	// string); migration names the migration reducer.
	defaults  map[string]any
	migration string
}

func ty(s string) row.Type {
	t, err := row.ParseType(s)
	if err != nil {
		panic(err)
	}
	return t
}

func (d sdesc) build() []byte {
	b := flatbuffers.NewBuilder(1024)
	str := b.CreateString
	cols := func(cs []cdef, param bool, tbl string) flatbuffers.UOffsetT {
		offs := make([]flatbuffers.UOffsetT, len(cs))
		for i, c := range cs {
			var dv flatbuffers.UOffsetT
			def, hasDef := d.defaults[tbl+"."+c.name]
			if hasDef && !param {
				var so flatbuffers.UOffsetT
				if x, ok := def.(string); ok {
					so = str(x)
				}
				fb.ValueStart(b)
				switch x := def.(type) {
				case int64:
					fb.ValueAddType(b, fb.ValueTypeI64)
					fb.ValueAddI(b, x)
				case uint64:
					fb.ValueAddType(b, fb.ValueTypeU64)
					fb.ValueAddU(b, x)
				case string:
					fb.ValueAddType(b, fb.ValueTypeString)
					fb.ValueAddS(b, so)
				}
				dv = fb.ValueEnd(b)
			}
			n := str(c.name)
			tr := row.BuildTypeRef(b, c.typ)
			if param {
				fb.ParamStart(b)
				fb.ParamAddName(b, n)
				fb.ParamAddType(b, tr)
				offs[i] = fb.ParamEnd(b)
			} else {
				fb.ColumnStart(b)
				fb.ColumnAddName(b, n)
				fb.ColumnAddType(b, tr)
				if hasDef {
					fb.ColumnAddDefaultValue(b, dv)
				}
				offs[i] = fb.ColumnEnd(b)
			}
		}
		b.StartVector(4, len(offs), 4)
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}
	vec := func(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(offs), 4)
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}
	var ts, rs, ss []flatbuffers.UOffsetT
	for _, t := range d.tables {
		n := str(t.name)
		cv := cols(t.cols, false, t.name)
		fb.TableDefStart(b)
		fb.TableDefAddName(b, n)
		fb.TableDefAddColumns(b, cv)
		fb.TableDefAddPrimaryKey(b, uint16(t.pk))
		fb.TableDefAddPublic(b, t.public)
		ts = append(ts, fb.TableDefEnd(b))
	}
	for _, r := range d.reducers {
		n := str(r.name)
		pv := cols(r.params, true, "")
		fb.ReducerDefStart(b)
		fb.ReducerDefAddName(b, n)
		fb.ReducerDefAddParams(b, pv)
		rs = append(rs, fb.ReducerDefEnd(b))
	}
	for _, s := range d.subs {
		m, t, r := str(s.module), str(s.table), str(s.reducer)
		fb.SubscriptionDefStart(b)
		fb.SubscriptionDefAddModule(b, m)
		fb.SubscriptionDefAddTableName(b, t)
		fb.SubscriptionDefAddEvent(b, s.ev)
		fb.SubscriptionDefAddReducer(b, r)
		ss = append(ss, fb.SubscriptionDefEnd(b))
	}
	tv, rv, sv := vec(ts), vec(rs), vec(ss)
	name, ver := str(d.name), str(d.version)
	var mig flatbuffers.UOffsetT
	if d.migration != "" {
		mig = str(d.migration)
	}
	fb.ModuleSchemaStart(b)
	if d.migration != "" {
		fb.ModuleSchemaAddMigration(b, mig)
	}
	fb.ModuleSchemaAddAbiVersion(b, d.abi)
	fb.ModuleSchemaAddName(b, name)
	fb.ModuleSchemaAddVersion(b, ver)
	fb.ModuleSchemaAddTables(b, tv)
	fb.ModuleSchemaAddReducers(b, rv)
	fb.ModuleSchemaAddSubscriptions(b, sv)
	b.Finish(fb.ModuleSchemaEnd(b))
	return b.FinishedBytes()
}

var (
	itemCols  = []cdef{{"id", ty("u64")}, {"name", ty("string")}}
	blobCols  = []cdef{{"id", ty("u64")}, {"data", ty("bytes")}}
	seenCols  = []cdef{{"n", ty("u64")}, {"tag", ty("string")}}
	subParams = []cdef{{"old", ty("bytes?")}, {"new", ty("bytes?")}}
)

// kvReducers is the reducer order of kv.wat's interstice_call.
var kvReducers = []rdef{
	{"put", itemCols}, {"put3_trap", nil}, {"put3_fail", nil}, {"put3_abort", nil},
	{"ryw", nil}, {"spin", nil}, {"bomb", nil}, {"huge", nil}, {"badptr", itemCols},
	{"write_other", nil}, {"read_private", nil}, {"call_other", itemCols},
	{"put_then_call_fail", itemCols}, {"call_cycle", itemCols}, {"rand_clock", blobCols},
	{"upd", itemCols}, {"del_a", nil}, {"noop", nil},
}

func kvSchema() sdesc {
	return sdesc{abi: 1, name: "kv", version: "1.0.0",
		tables: []tdef{
			{name: "items", cols: itemCols, public: true},
			{name: "secret", cols: itemCols},
			{name: "blobs", cols: blobCols},
		},
		reducers: kvReducers}
}

func otherSchema() sdesc {
	return sdesc{abi: 1, name: "other", version: "1.0.0",
		tables: []tdef{
			{name: "items", cols: itemCols, public: true},
			{name: "secret", cols: itemCols},
		},
		reducers: []rdef{{"put", itemCols}, {"put_fail", itemCols}, {"call_kv", itemCols}}}
}

func watchSchema() sdesc {
	return sdesc{abi: 1, name: "watch", version: "1.0.0",
		tables:   []tdef{{name: "seen", cols: seenCols, public: true}},
		reducers: []rdef{{"on_a", subParams}, {"on_b", subParams}},
		subs: []sdef{
			{"kv", "items", fb.EventInsert, "on_a"},
			{"kv", "items", fb.EventInsert, "on_b"},
		}}
}

func chainSchema() sdesc {
	return sdesc{abi: 1, name: "chain", version: "1.0.0",
		tables:   []tdef{{name: "c", cols: seenCols, public: true}},
		reducers: []rdef{{"start", nil}, {"again", subParams}},
		subs:     []sdef{{"chain", "c", fb.EventInsert, "again"}}}
}

// marker is the u64 that $copy_patch replaces.
const marker = uint64(0x0123456789abcdef)

var (
	rowA = row.MustEncode(uint64(1), "alpha")
	rowB = row.MustEncode(uint64(2), "beta")
	rowC = row.MustEncode(uint64(3), "gamma")
	keyA = row.MustEncode(uint64(1))
)

func kvBlobs(schema []byte) map[string][]byte {
	return map[string][]byte{"SCHEMA": schema, "ROW_A": rowA, "ROW_B": rowB, "ROW_C": rowC, "KEY_A": keyA}
}

var placeholder = regexp.MustCompile(`\{\{(len:)?([A-Z_]+)\}\}`)

// expandIncludes replaces every ";;@include FILE" line of text by FILE
// (relative to dir).
func expandIncludes(t testing.TB, dir, text string) string {
	t.Helper()
	for {
		i := strings.Index(text, ";;@include ")
		if i < 0 {
			return text
		}
		end := strings.IndexByte(text[i:], '\n') + i
		inc, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(text[i+len(";;@include "):end])))
		if err != nil {
			t.Fatal(err)
		}
		text = text[:i] + string(inc) + text[end:]
	}
}

// watModule expands a WAT file of tests/modules/wat (;;@include lines and
// {{NAME}} / {{len:NAME}} placeholders) and compiles it.
func watModule(t testing.TB, file string, blobs map[string][]byte) []byte {
	t.Helper()
	dir := filepath.Join(testwasm.Root(t), "tests", "modules", "wat")
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	text := expandIncludes(t, dir, string(src))
	var missing []string
	text = placeholder.ReplaceAllStringFunc(text, func(m string) string {
		p := placeholder.FindStringSubmatch(m)
		b, ok := blobs[p[2]]
		if !ok {
			missing = append(missing, p[2])
			return m
		}
		if p[1] != "" {
			return fmt.Sprint(len(b))
		}
		var sb strings.Builder
		for _, c := range b {
			fmt.Fprintf(&sb, "\\%02x", c)
		}
		return sb.String()
	})
	if len(missing) > 0 {
		t.Fatalf("%s: no bytes for %v", file, missing)
	}
	return testwasm.WATSource(t, strings.TrimSuffix(file, ".wat"), text)
}

func kvWasm(t testing.TB) []byte { return watModule(t, "kv.wat", kvBlobs(kvSchema().build())) }
func otherWasm(t testing.TB) []byte {
	return watModule(t, "other.wat", map[string][]byte{"SCHEMA": otherSchema().build()})
}
func watchWasm(t testing.TB) []byte {
	return watModule(t, "watch.wat", map[string][]byte{"SCHEMA": watchSchema().build(),
		"ROW_SEEN_A": row.MustEncode(marker, "a"), "ROW_SEEN_B": row.MustEncode(marker, "b")})
}
func chainWasm(t testing.TB) []byte {
	return watModule(t, "chain.wat", map[string][]byte{"SCHEMA": chainSchema().build(),
		"ROW_C": row.MustEncode(marker, "c")})
}
