package core

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// rawLog appends records to the log of a closed data directory, bypassing
// the runtime (so that replay sees mutations no reducer of the test
// modules makes: updates, deletes, and bad ones).
type rawLog struct {
	t  *testing.T
	lg *persistence.Log
	ts uint64
}

func openRawLog(t *testing.T, dir string) *rawLog {
	t.Helper()
	lg, err := persistence.Open(filepath.Join(dir, "log"), record.LogOptions(persistence.Options{Sync: persistence.SyncNone}))
	if err != nil {
		t.Fatal(err)
	}
	return &rawLog{t: t, lg: lg, ts: 1 << 40}
}

func (l *rawLog) append(muts ...record.Mutation) uint64 {
	l.t.Helper()
	l.ts++
	lsn, err := l.lg.Append(&record.Txn{Timestamp: l.ts, Kind: fb.TxKindReducer, Module: "dur", Reducer: "raw", Mutations: muts})
	if err != nil {
		l.t.Fatal(err)
	}
	return lsn
}

func (l *rawLog) close() {
	if err := l.lg.Close(); err != nil {
		l.t.Fatal(err)
	}
}

func ins(vals ...any) record.Mutation {
	return record.Mutation{Op: fb.OpInsert, Module: "dur", Table: "items", Row: row.MustEncode(vals...)}
}

func upd(vals ...any) record.Mutation {
	return record.Mutation{Op: fb.OpUpdate, Module: "dur", Table: "items", Row: row.MustEncode(vals...)}
}

func del(vals ...any) record.Mutation {
	return record.Mutation{Op: fb.OpDelete, Module: "dur", Table: "items", OldRow: row.MustEncode(vals...)}
}

// ghost is an insert into a table module dur does not have.
func ghost() record.Mutation {
	return record.Mutation{Op: fb.OpInsert, Module: "dur", Table: "ghost", Row: row.MustEncode(uint64(1), "x")}
}

// manyInserts is n records of one valid insert each (keys 1000...),
// enough to fill several replay batches.
func manyInserts(n int) [][]record.Mutation {
	recs := make([][]record.Mutation, n)
	for i := range recs {
		recs[i] = []record.Mutation{ins(uint64(1000+i), "x")}
	}
	return recs
}

// itemsModel is the expected content of dur.items (v1 rows: id, name).
type itemsModel map[uint64]string

// rows returns the model's rows, hex, in key order (as dump does).
func (m itemsModel) rows() []string {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = hex.EncodeToString(row.MustEncode(id, m[id]))
	}
	return out
}

// randomMutations returns records of random valid mutations of m (which
// it updates): inserts of new keys, updates and deletes of present ones,
// several per record, sometimes several of one key in one record.
func randomMutations(rng *rand.Rand, m itemsModel, records, keySpace int) [][]record.Mutation {
	var out [][]record.Mutation
	for r := 0; r < records; r++ {
		var muts []record.Mutation
		var last uint64
		for n := 1 + rng.IntN(5); n > 0; n-- {
			id := uint64(rng.IntN(keySpace))
			if len(muts) > 0 && rng.IntN(4) == 0 {
				id = last // the same key again in this record
			}
			last = id
			name := fmt.Sprintf("v%d", rng.IntN(1000))
			if _, ok := m[id]; !ok {
				muts = append(muts, ins(id, name))
				m[id] = name
			} else if rng.IntN(3) == 0 {
				muts = append(muts, del(id, m[id]))
				delete(m, id)
			} else {
				muts = append(muts, upd(id, name))
				m[id] = name
			}
		}
		out = append(out, muts)
	}
	return out
}

// TestReplayMatchesModel replays random inserts, updates and deletes
// (with and without a snapshot, short and long suffixes, sorted and
// unsorted keys) and compares the tables with a model.
func TestReplayMatchesModel(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	rt.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	m := itemsModel{}
	check := func(what string, wantSnap bool) {
		t.Helper()
		rt := openDur(t, cfg)
		defer rt.Close()
		if st := rt.ReplayStats(); (st.SnapshotLSN != 0) != wantSnap {
			t.Fatalf("%s: stats %+v", what, st)
		}
		sameState(t, what, dump(t, rt), map[string][]string{"dur.items": m.rows()})
	}
	snapshot := func() {
		t.Helper()
		rt := openDur(t, cfg)
		if _, err := rt.Snapshot(); err != nil {
			t.Fatal(err)
		}
		rt.Close()
	}
	phase := func(records, keySpace int) {
		t.Helper()
		l := openRawLog(t, dir)
		for _, muts := range randomMutations(rng, m, records, keySpace) {
			l.append(muts...)
		}
		l.close()
	}
	// Ascending inserts into the empty table: appended.
	l := openRawLog(t, dir)
	for id := uint64(1000); id < 1300; id++ {
		l.append(ins(id, "asc"), ins(id+1_000_000, "asc"))
		m[id], m[id+1_000_000] = "asc", "asc"
	}
	l.close()
	check("ascending, two runs", false)
	phase(3000, 3000) // everything mixed: a rebuild
	check("mixed", false)
	snapshot()
	check("snapshot only", true)
	phase(20, 3000) // few changes against the snapshot's rows: in place
	check("short suffix", true)
	phase(3000, 6000) // many: merge and rebuild
	check("long suffix", true)
	snapshot()
	// Ascending inserts above the snapshot's rows (appended to its tree),
	// then a few updates.
	l = openRawLog(t, dir)
	for id := uint64(2_000_000); id < 2_005_000; id++ {
		l.append(ins(id, "top"))
		m[id] = "top"
	}
	l.append(upd(uint64(2_000_000), "top2"), del(uint64(1000), m[1000]))
	m[2_000_000] = "top2"
	delete(m, 1000)
	l.close()
	check("appended to a snapshot", true)
}

// TestReplayFaults: a mutation that does not apply to the state at its
// LSN fails Open naming that LSN, and the first such mutation in log order
// is the one named (replay finds them at a flush, in key order).
func TestReplayFaults(t *testing.T) {
	cases := []struct {
		name     string
		snapshot bool // snapshot before appending: the in-place flush
		recs     [][]record.Mutation
		bad      int    // the record named
		msg      string // and what it says
	}{
		{"insert of a present key", false, [][]record.Mutation{{ins(uint64(5), "x")}}, 0, "insert of a key that exists"},
		{"update of an absent key", false, [][]record.Mutation{{upd(uint64(500), "x")}}, 0, "update of a key that does not exist"},
		{"delete of an absent key", false, [][]record.Mutation{{del(uint64(500), "x")}}, 0, "delete of a key that does not exist"},
		{"update after delete", false, [][]record.Mutation{{del(uint64(5), "b")}, {upd(uint64(5), "x")}}, 1, "update of a key that does not exist"},
		{"log order, not key order", false, [][]record.Mutation{{ins(uint64(100), "a")}, {upd(uint64(900), "x")}, {ins(uint64(4), "dup")}}, 1, "update of a key that does not exist"},
		{"order within a record", false, [][]record.Mutation{{ins(uint64(100), "a"), ins(uint64(100), "again"), del(uint64(1), "x")}}, 0, "insert of a key that exists"},
		{"fault before a schema mismatch", false, [][]record.Mutation{{upd(uint64(900), "x")}, {ins(uint64(77), int64(5))}}, 0, "update of a key that does not exist"},
		{"schema mismatch before a fault", false, [][]record.Mutation{{ins(uint64(77), int64(5))}, {upd(uint64(900), "x")}}, 0, "does not match schema"},
		// The row check runs on the stager goroutine, the table lookup on
		// the log's: whichever finds its error first, log order decides.
		{"schema mismatch before an unknown table", false, [][]record.Mutation{{ins(uint64(77), int64(5))}, {ghost()}}, 0, "does not match schema"},
		{"schema mismatch, then more records", false, append([][]record.Mutation{{ins(uint64(77), int64(5))}}, manyInserts(3000)...), 0, "does not match schema"},
		{"schema mismatch within a record, then an unknown table", false, [][]record.Mutation{{ins(uint64(77), "ok"), ins(uint64(78), true), ghost()}}, 0, "value 1"},
		{"after a snapshot: insert", true, [][]record.Mutation{{ins(uint64(200), "a")}, {ins(uint64(6), "dup")}}, 1, "insert of a key that exists"},
		{"after a snapshot: delete", true, [][]record.Mutation{{del(uint64(500), "x")}}, 0, "delete of a key that does not exist"},
		{"after a snapshot: rebuild", true, [][]record.Mutation{
			{ins(uint64(200), "a"), ins(uint64(201), "a"), ins(uint64(202), "a"), ins(uint64(203), "a"), ins(uint64(1), "a")},
			{upd(uint64(9), "x"), del(uint64(300), "x"), upd(uint64(10), "x")}}, 1, "delete of a key that does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
			rt := openDur(t, cfg, durV1(t))
			for i := 1; i <= 10; i++ { // keys 4..43
				mustCall(t, rt, "dur", "batch", uint64(i))
			}
			if c.snapshot {
				if _, err := rt.Snapshot(); err != nil {
					t.Fatal(err)
				}
			}
			rt.Close()
			l := openRawLog(t, dir)
			var lsns []uint64
			for _, muts := range c.recs {
				lsns = append(lsns, l.append(muts...))
			}
			l.close()
			_, err := Open(cfg)
			if err == nil {
				t.Fatal("Open accepted the log")
			}
			for _, w := range []string{"replay lsn " + itoa(lsns[c.bad]) + ":", c.msg, "module dur", "table items"} {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%v does not say %q", err, w)
				}
			}
		})
	}
}

// TestReplayUpgradeRewritesStagedRows: rows inserted, updated and deleted
// before an upgrade that adds a column (with a default) and after it are
// all replayed into the right shape: the staged v1 mutations are applied
// before the upgrade rewrites the rows, the v2 ones after, against the
// rewritten rows.
func TestReplayUpgradeRewritesStagedRows(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	mustCall(t, rt, "dur", "batch", uint64(1)) // keys 4..7, name "b"
	rt.Close()
	l := openRawLog(t, dir)
	l.append(upd(uint64(4), "four"), del(uint64(5), "b"), ins(uint64(50), "fifty"))
	l.close()
	rt = openDur(t, cfg, durV2Wasm(t, "migrate")) // items gains score (default 7)
	mustCall(t, rt, "dur", "batch", uint64(30))   // keys 120..123, v2 rows (b, 7)
	rt.Close()
	l = openRawLog(t, dir)
	l.append(upd(uint64(6), "six", int64(9)), del(uint64(7), "b", int64(7)), ins(uint64(60), "sixty", int64(1)))
	l.close()
	want := map[uint64][]any{
		4: {"four", int64(7)}, 6: {"six", int64(9)}, 50: {"fifty", int64(7)}, 60: {"sixty", int64(1)},
		120: {"b", int64(7)}, 121: {"b", int64(7)}, 122: {"b", int64(7)}, 123: {"b", int64(7)},
	}
	for round := 0; round < 3; round++ { // the log, the log again, then a snapshot
		rt := openDur(t, cfg)
		if n := count(t, rt, "dur", "items"); n != len(want) {
			t.Fatalf("round %d: %d rows, want %d", round, n, len(want))
		}
		for id, w := range want {
			b, ok, err := rt.Get("dur", "items", id)
			if err != nil || !ok {
				t.Fatalf("round %d: row %d: %v %v", round, id, ok, err)
			}
			vals, err := row.Decode(b)
			if err != nil || len(vals) != 3 || vals[0] != id || vals[1] != w[0] || vals[2] != w[1] {
				t.Fatalf("round %d: row %d is %v, want %v", round, id, vals, w)
			}
		}
		if n := count(t, rt, "dur", "notes"); n != 1 {
			t.Fatalf("round %d: %d notes", round, n)
		}
		if round == 1 {
			if _, err := rt.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
		rt.Close()
	}
}

// TestReplayWithoutBulkLoad replays with the fallback used if google/btree's
// layout ever changes (ReplaceOrInsert instead of writing nodes).
func TestReplayWithoutBulkLoad(t *testing.T) {
	defer func(ok bool) { store.LayoutOK = ok }(store.LayoutOK)
	store.LayoutOK = false
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	for i := 1; i <= 20; i++ {
		mustCall(t, rt, "dur", "batch", uint64(i))
	}
	if _, err := rt.Snapshot(); err != nil {
		t.Fatal(err)
	}
	mustCall(t, rt, "dur", "batch", uint64(100))
	mustCall(t, rt, "dur", "batch", uint64(50))
	want := dump(t, rt)
	rt.Close()
	rt = openDur(t, cfg)
	defer rt.Close()
	sameState(t, "fallback", dump(t, rt), want)
}

// TestLoadSnapshotRowOrder: rows of a snapshot out of key order (Snapshot
// never writes them so) still load, and a duplicate key is refused naming
// its row.
func TestLoadSnapshotRowOrder(t *testing.T) {
	for _, dup := range []bool{false, true} {
		dir := t.TempDir()
		cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
		rt := openDur(t, cfg, durV1(t))
		for i := 1; i <= 40; i++ {
			mustCall(t, rt, "dur", "batch", uint64(i))
		}
		if _, err := rt.Snapshot(); err != nil {
			t.Fatal(err)
		}
		want := dump(t, rt)
		rt.Close()
		rewriteSnapshot(t, dir, func(rows [][]byte) [][]byte {
			// Rows 0..99 in order, then the rest reversed (and row 99
			// again at the end when dup).
			slices.Reverse(rows[100:])
			if dup {
				rows = append(rows, rows[99])
			}
			return rows
		})
		var err error
		rt, err = Open(cfg)
		if dup {
			if err == nil || !strings.Contains(err.Error(), "duplicate key in row 160") {
				t.Fatalf("duplicate row: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sameState(t, "reordered snapshot", dump(t, rt), want)
		rt.Close()
	}
}

// rewriteSnapshot replaces the newest snapshot in data directory dir (one
// module, one table) by one whose rows are edit(its rows).
func rewriteSnapshot(t *testing.T, dir string, edit func(rows [][]byte) [][]byte) {
	t.Helper()
	snapDir := filepath.Join(dir, "snapshots")
	lsn, body, _, err := persistence.ReadNewestSnapshot(snapDir, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	s, err := record.ReadSnapshot(body)
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Table(0)
	var rows [][]byte
	for j := 0; j < ts.Rows(); j++ {
		rows = append(rows, ts.Row(j))
	}
	rows = edit(rows)
	e := record.NewSnapshotEncoder()
	e.Module(s.Modules()[0])
	for _, r := range rows {
		e.Row(r)
	}
	e.EndTable(ts.Module(), ts.Name())
	if _, err := persistence.WriteSnapshot(snapDir, lsn, e.Finish(lsn, s.Timestamp())); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotBadRowNamed: snapshot rows are checked on several
// goroutines, a chunk at a time; a row that does not match its schema is
// still refused naming its index and column, and the first bad row wins
// whichever goroutine checked it.
func TestSnapshotBadRowNamed(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	for i := 1; i <= 5000; i++ { // 20000 rows: two chunks, several workers each
		mustCall(t, rt, "dur", "batch", uint64(i))
	}
	if _, err := rt.Snapshot(); err != nil {
		t.Fatal(err)
	}
	rt.Close()
	rewriteSnapshot(t, dir, func(rows [][]byte) [][]byte {
		rows[19000] = row.MustEncode(uint64(1<<40), int64(5)) // name is an i64
		rows[17500] = row.MustEncode(uint64(1<<41), true)     // the first bad row
		return rows
	})
	_, err := Open(cfg)
	if err == nil {
		t.Fatal("Open accepted a snapshot with bad rows")
	}
	for _, w := range []string{"row 17500", "column name", "table items"} {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%v does not say %q", err, w)
		}
	}
}

// TestReplayRefusesRecordKindsARuntimeDoesNotWrite: a log holding an
// External record (the standalone log API's kind) or a Migration record
// (reserved) cannot back a runtime; Open says which record and why, with
// CodeUnsupported, instead of "unknown kind".
func TestReplayRefusesRecordKindsARuntimeDoesNotWrite(t *testing.T) {
	for _, tc := range []struct {
		kind fb.TxKind
		want string
	}{
		{fb.TxKindExternal, "standalone log API"},
		{fb.TxKindMigration, "reserved"},
	} {
		dir := t.TempDir()
		l := openRawLog(t, dir)
		if _, err := l.lg.Append(&record.Txn{Timestamp: 1, Kind: tc.kind, Module: "host", Reducer: "note"}); err != nil {
			t.Fatal(err)
		}
		l.close()
		rt, err := Open(durConfig(t, dir))
		if err == nil {
			rt.Close()
			t.Fatalf("Open of a log with a %v record succeeded", tc.kind)
		}
		if CodeOf(err) != CodeUnsupported || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "lsn 1") {
			t.Errorf("Open of a log with a %v record: %v (code %v), want CodeUnsupported naming lsn 1 and %q", tc.kind, err, CodeOf(err), tc.want)
		}
	}
}
