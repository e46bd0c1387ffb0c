package record

import (
	"bytes"
	"fmt"
	"testing"
)

// TestSnapshotRoundTrip: what a SnapshotEncoder writes, ReadSnapshot reads
// back: lsn, timestamp, module records in order, tables with their rows in
// order (an empty table and an empty row included).
func TestSnapshotRoundTrip(t *testing.T) {
	mods := []*ModuleRecord{
		{Name: "bank", Version: "1.0.0", Schema: []byte{1, 2, 3}, WasmSHA256: bytes.Repeat([]byte{7}, 32)},
		{Name: "audit", Version: "0.1.0", Schema: []byte{}, WasmSHA256: make([]byte, 32)},
	}
	tables := []struct {
		mod, name string
		rows      [][]byte
	}{
		{"bank", "accounts", [][]byte{{1}, {2, 2}, {}, bytes.Repeat([]byte{3}, 1000)}},
		{"bank", "empty", nil},
		{"audit", "log", [][]byte{[]byte("x")}},
	}
	e := NewSnapshotEncoder()
	for _, mr := range mods {
		e.Module(mr)
	}
	for _, tb := range tables {
		for _, r := range tb.rows {
			e.Row(r)
		}
		if n := e.EndTable(tb.mod, tb.name); n != len(tb.rows) {
			t.Fatalf("EndTable %s: %d rows, want %d", tb.name, n, len(tb.rows))
		}
	}
	body := e.Finish(42, 4242)
	s, err := ReadSnapshot(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.LSN() != 42 || s.Timestamp() != 4242 {
		t.Fatalf("lsn %d timestamp %d", s.LSN(), s.Timestamp())
	}
	got := s.Modules()
	if fmt.Sprint(got[0], got[1]) != fmt.Sprint(mods[0], mods[1]) || len(got) != 2 {
		t.Fatalf("modules %+v", got)
	}
	if s.Tables() != len(tables) {
		t.Fatalf("%d tables", s.Tables())
	}
	for i, tb := range tables {
		ts := s.Table(i)
		if ts.Module() != tb.mod || ts.Name() != tb.name || ts.Rows() != len(tb.rows) {
			t.Fatalf("table %d: %s.%s %d rows", i, ts.Module(), ts.Name(), ts.Rows())
		}
		for j, r := range tb.rows {
			if !bytes.Equal(ts.Row(j), r) {
				t.Fatalf("table %s row %d: %v, want %v", tb.name, j, ts.Row(j), r)
			}
		}
	}
	if _, err := ReadSnapshot([]byte{1, 2}); err == nil {
		t.Fatal("a 2-byte body was read")
	}
}
