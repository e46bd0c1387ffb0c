package core

import (
	"strings"
	"testing"

	"github.com/interstice/interstice/row"
)

var noteCols = []cdef{{"n", ty("u64")}, {"text", ty("string")}}

// durV2 adds column items.score (default 7), table notes and a migration.
func durV2(migration string) sdesc {
	d := durSchema("2.0.0")
	d.tables = []tdef{
		{name: "items", cols: append(append([]cdef{}, itemCols...), cdef{"score", ty("i64")}), public: true},
		{name: "notes", cols: noteCols},
	}
	d.defaults = map[string]any{"items.score": int64(7)}
	d.migration = migration
	return d
}

func durV2Wasm(t testing.TB, migration string) []byte {
	return durWasm(t, durV2(migration), row.MustEncode(marker, "b", int64(7)))
}

func TestUpgradeWithMigration(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir)
	rt := openDur(t, cfg, durV1(t))
	mustCall(t, rt, "dur", "batch", uint64(1))
	mustCall(t, rt, "dur", "put", uint64(100), "solo")
	v1 := dump(t, rt)
	lsn := rt.LastLSN()

	// A failing migration rolls the upgrade back.
	_, err := rt.LoadModule(durV2Wasm(t, "migrate_fail"))
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("failed migration: %v", err)
	}
	if rt.Modules()[0].Version != "1.0.0" || rt.LastLSN() != lsn {
		t.Fatalf("after a failed migration: version %s lsn %d", rt.Modules()[0].Version, rt.LastLSN())
	}
	sameState(t, "rolled back", dump(t, rt), v1)
	mustCall(t, rt, "dur", "batch", uint64(2)) // v1 still serves

	info, err := rt.LoadModule(durV2Wasm(t, "migrate"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "2.0.0" || len(rt.SchemaVersions("dur")) != 2 {
		t.Fatalf("upgrade: %+v %+v", info, rt.SchemaVersions("dur"))
	}
	got, found, err := rt.Get("dur", "items", uint64(100))
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if vals, _ := row.Decode(got); len(vals) != 3 || vals[2] != int64(7) || vals[1] != "solo" {
		t.Fatalf("rewritten row %v", vals)
	}
	if n := count(t, rt, "dur", "notes"); n != 1 {
		t.Fatalf("migration wrote %d notes", n)
	}
	mustCall(t, rt, "dur", "batch", uint64(3)) // v2 reducers run
	want := dump(t, rt)
	rt.Close()

	for i := 0; i < 2; i++ {
		rt = openDur(t, cfg)
		sameState(t, "upgrade replayed", dump(t, rt), want)
		// After the snapshot the registry starts at the version in force then.
		if vs := rt.SchemaVersions("dur"); len(vs) != 2-i || vs[len(vs)-1].Version != "2.0.0" {
			t.Fatalf("registry after replay: %+v", vs)
		}
		if i == 0 {
			if _, err := rt.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
		rt.Close()
	}
}

func TestUpgradeRules(t *testing.T) {
	rt := open(t, durConfig(t, t.TempDir()), durV1(t))
	mustCall(t, rt, "dur", "batch", uint64(1))
	cols := func(cs ...cdef) []tdef { return []tdef{{name: "items", cols: cs, public: true}} }
	id, name := itemCols[0], itemCols[1]
	tests := []struct {
		name   string
		tables []tdef
		pk     int
		want   string
	}{
		{"remove column", cols(id), 0, "column name"},
		{"retype column", cols(id, cdef{"name", ty("bytes")}), 0, "type changed"},
		{"reorder columns", cols(name, id), 1, "column id"},
		{"add column without default", cols(id, name, cdef{"extra", ty("u64")}), 0, "column extra"},
		{"remove non-empty table", []tdef{{name: "others", cols: itemCols}}, 0, "table items"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := durSchema("3.0.0")
			d.tables = tc.tables
			d.tables[0].pk = tc.pk
			_, err := rt.LoadModule(durWasm(t, d, row.MustEncode(marker, "b")))
			wantCode(t, err, CodeIncompatible)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "module dur") {
				t.Fatalf("%v does not name %q", err, tc.want)
			}
		})
	}
	// Changing the primary key.
	d := durSchema("3.0.0")
	d.tables = []tdef{{name: "items", cols: []cdef{id, {"name", ty("string")}}, pk: 1, public: true}}
	_, err := rt.LoadModule(durWasm(t, d, row.MustEncode(marker, "b")))
	wantCode(t, err, CodeIncompatible)
	if !strings.Contains(err.Error(), "primary key") {
		t.Fatal(err)
	}
	// Optional columns need no default; a new empty table may go again.
	d = durSchema("3.1.0")
	d.tables = []tdef{{name: "items", cols: []cdef{id, name, {"tag", ty("string?")}}, public: true}, {name: "tmp", cols: noteCols}}
	if _, err := rt.LoadModule(durWasm(t, d, row.MustEncode(marker, "b", nil))); err != nil {
		t.Fatal(err)
	}
	d.version = "3.2.0"
	d.tables = d.tables[:1]
	if _, err := rt.LoadModule(durWasm(t, d, row.MustEncode(marker, "b", nil))); err != nil {
		t.Fatal(err)
	}
}
