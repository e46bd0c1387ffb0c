package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// durSchema is version v of module "dur" (tests/modules/wat/durable.wat).
func durSchema(v string) sdesc {
	return sdesc{abi: 1, name: "dur", version: v,
		tables: []tdef{{name: "items", cols: itemCols, public: true}},
		reducers: []rdef{{"put", itemCols}, {"batch", []cdef{{"base", ty("u64")}}}, {"noop", nil},
			{"trap", nil}, {"migrate", nil}, {"migrate_fail", nil}}}
}

// argOffset is the offset of a u64 argument in row.Encode([]any{x}) for
// any x != 0 (the layout does not depend on the value).
func argOffset(t testing.TB) int {
	var m [8]byte
	binary.LittleEndian.PutUint64(m[:], marker)
	off := bytes.Index(row.MustEncode(marker), m[:])
	var o2 [8]byte
	binary.LittleEndian.PutUint64(o2[:], 12345)
	if off < 0 || bytes.Index(row.MustEncode(uint64(12345)), o2[:]) != off {
		t.Fatal("argument layout depends on the value")
	}
	return off
}

// durWasm builds durable.wat with schema d; itemRow is the batch row
// template (its u64 marker is replaced by the id).
func durWasm(t testing.TB, d sdesc, itemRow []byte) []byte {
	return watModule(t, "durable.wat", map[string][]byte{
		"SCHEMA": d.build(), "ROW_T": itemRow, "NOTE": row.MustEncode(uint64(1), "note"),
		"ARG_OFF": make([]byte, argOffset(t)),
	})
}

func durV1(t testing.TB) []byte { return durWasm(t, durSchema("1.0.0"), row.MustEncode(marker, "b")) }

func durConfig(t testing.TB, dir string) Config {
	return testConfig(t).WithDataDir(dir)
}

func openDur(t testing.TB, cfg Config, mods ...[]byte) *Runtime {
	t.Helper()
	rt, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, m := range mods {
		if _, err := rt.LoadModule(m); err != nil {
			rt.Close()
			t.Fatalf("LoadModule: %v", err)
		}
	}
	return rt
}

// dump returns every table's rows, hex, in key order, by "module.table".
func dump(t testing.TB, rt *Runtime) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range rt.Modules() {
		for _, tb := range m.Tables {
			sc, err := rt.Scan(m.Name, tb.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			rows := []string{}
			for sc.Next() {
				rows = append(rows, hex.EncodeToString(sc.Row()))
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			out[m.Name+"."+tb.Name] = rows
		}
	}
	return out
}

func sameState(t testing.TB, what string, got, want map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: tables %v, want %v", what, keys(got), keys(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("%s: %s has %d rows, want %d", what, k, len(g), len(w))
		}
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s: %s row %d differs:\n got %s\nwant %s", what, k, i, g[i], w[i])
			}
		}
	}
}

func keys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// dirBytes returns the contents of every regular file under dir.
func dirBytes(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
		return nil
	})
	return out
}

// TestDurableRestart: the state after N restarts equals the state before;
// Open runs no WASM and writes nothing; the LSN and the logical clock
// continue strictly above everything replayed.
func TestDurableRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir)
	rt := openDur(t, cfg, kvWasm(t), otherWasm(t), watchWasm(t))
	mustCall(t, rt, "kv", "put", uint64(1), "first") // the first row of a table
	mustCall(t, rt, "kv", "put", uint64(2), "second")
	mustCall(t, rt, "kv", "upd", uint64(2), "second v2")
	mustCall(t, rt, "other", "put", uint64(9), "other")
	res := mustCall(t, rt, "kv", "rand_clock", uint64(5), append([]byte("RAND"), make([]byte, 20)...))
	if _, err := call(t, rt, "kv", "put3_fail"); err == nil { // fails: nothing logged
		t.Fatal("put3_fail succeeded")
	}
	want := dump(t, rt)
	if n := len(want["watch.seen"]); n == 0 {
		t.Fatal("subscriptions did not run")
	}
	lastLSN, lastTS := rt.LastLSN(), res.Timestamp
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		before := dirBytes(t, filepath.Join(dir, "log"))
		rt := openDur(t, cfg)
		if n := rt.guestEntries.Load(); n != 0 {
			t.Fatalf("Open ran %d guest functions", n)
		}
		sameState(t, "after restart", dump(t, rt), want)
		st := rt.ReplayStats()
		if st.LastLSN != lastLSN || rt.LastLSN() != lastLSN {
			t.Fatalf("round %d: last lsn %d / %d, want %d", round, st.LastLSN, rt.LastLSN(), lastLSN)
		}
		if err := rt.Close(); err != nil {
			t.Fatal(err)
		}
		after := dirBytes(t, filepath.Join(dir, "log"))
		if len(before) != len(after) {
			t.Fatalf("Open+Close changed the log files: %d -> %d", len(before), len(after))
		}
		for p, b := range before {
			if !bytes.Equal(after[p], b) {
				t.Fatalf("Open+Close changed %s", p)
			}
		}
	}
	// Calls after restarts continue above.
	for round := 0; round < 3; round++ {
		rt := openDur(t, cfg, kvWasm(t)) // reloading the same module is a no-op
		res := mustCall(t, rt, "kv", "put", uint64(100+round), "later")
		if res.LSN <= lastLSN || res.Timestamp <= lastTS {
			t.Fatalf("round %d: lsn %d ts %d not above %d %d", round, res.LSN, res.Timestamp, lastLSN, lastTS)
		}
		lastLSN, lastTS = res.LSN, res.Timestamp
		want = dump(t, rt)
		rt.Close()
	}
	rt = openDur(t, cfg)
	defer rt.Close()
	sameState(t, "final", dump(t, rt), want)
}

// TestReplayRunsNoWasm replaces a module's stored wasm by one whose every
// reducer traps: Open still rebuilds the state (no WASM runs, no
// subscription fires), and the first call refuses the changed code.
func TestReplayRunsNoWasm(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir)
	rt := openDur(t, cfg, kvWasm(t), watchWasm(t))
	for i := 1; i <= 20; i++ {
		mustCall(t, rt, "kv", "put", uint64(i), "x")
	}
	want := dump(t, rt)
	rt.Close()
	mods, _ := filepath.Glob(filepath.Join(dir, "modules", "*.wasm"))
	if len(mods) != 2 {
		t.Fatalf("modules dir holds %v", mods)
	}
	trap := watModule(t, "kv.wat", kvBlobs(kvSchema().build()))
	trap = bytes.Replace(trap, []byte("interstice_call"), []byte("interstice_cal_"), 1) // not loadable either
	for _, p := range mods {
		if err := os.WriteFile(p, trap, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt = openDur(t, cfg)
	defer rt.Close()
	if n := rt.guestEntries.Load(); n != 0 {
		t.Fatalf("Open ran %d guest functions", n)
	}
	sameState(t, "replay", dump(t, rt), want)
	_, err := call(t, rt, "kv", "put", uint64(99), "y")
	wantCode(t, err, CodeIncompatible)
	if !strings.Contains(err.Error(), "SHA-256") {
		t.Fatal(err)
	}
}

func TestReadOnlyInspect(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), durV1(t))
	mustCall(t, rt, "dur", "batch", uint64(3))
	want := dump(t, rt)
	rt.Close()
	before := dirBytes(t, dir)
	ro := openDur(t, durConfig(t, dir).WithRecovery(persistence.RecoverReadOnly))
	sameState(t, "read-only", dump(t, ro), want)
	_, err := call(t, ro, "dur", "noop")
	wantCode(t, err, CodeReadOnly)
	_, err = ro.LoadModule(durV1(t))
	wantCode(t, err, CodeReadOnly)
	_, err = ro.Snapshot()
	wantCode(t, err, CodeReadOnly)
	ro.Close()
	after := dirBytes(t, dir)
	if len(before) != len(after) {
		t.Fatal("read-only open changed the directory")
	}
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Fatalf("read-only open changed %s", p)
		}
	}
}

// TestPoisonedRuntime: a log failure fails the call and every later call,
// load and read; reopening continues from what the log holds.
func TestPoisonedRuntime(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), durV1(t))
	mustCall(t, rt, "dur", "batch", uint64(1))
	want := dump(t, rt)
	rt.log.Close() // the log fails underneath the runtime
	_, err := call(t, rt, "dur", "batch", uint64(2))
	if err == nil {
		t.Fatal("call succeeded on a closed log")
	}
	_, err = call(t, rt, "dur", "noop")
	wantCode(t, err, CodePoisoned)
	_, err = rt.LoadModule(durV1(t))
	wantCode(t, err, CodePoisoned)
	_, err = rt.Count("dur", "items")
	wantCode(t, err, CodePoisoned)
	rt.Close()
	rt = openDur(t, durConfig(t, dir))
	defer rt.Close()
	sameState(t, "reopened", dump(t, rt), want)
}

func TestSnapshotAndRetention(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSegmentSize(persistence.MinSegmentSize).WithRetainSegments(1).
		WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	for i := 1; i <= 60; i++ {
		mustCall(t, rt, "dur", "batch", uint64(i))
		if i%20 == 0 {
			info, err := rt.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if info.Rows != int64(4*i) {
				t.Fatalf("snapshot %+v", info)
			}
		}
	}
	mustCall(t, rt, "dur", "put", uint64(1), "after the last snapshot")
	want := dump(t, rt)
	rt.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "log", "*.log"))
	first := filepath.Base(segs[0])
	if first == "00000000000000000001.log" {
		t.Fatalf("retention deleted nothing: %v", segs)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	if len(snaps) != DefaultKeepSnapshots {
		t.Fatalf("snapshots kept: %v", snaps)
	}
	rt = openDur(t, cfg)
	st := rt.ReplayStats()
	sameState(t, "after retention", dump(t, rt), want)
	if st.SnapshotLSN == 0 || st.Records == 0 || st.Records > 25 {
		t.Fatalf("stats %+v", st)
	}
	rt.Close()

	// A damaged newest snapshot falls back to the older one and a longer
	// replay (the log was kept from the older one).
	sort.Strings(snaps)
	b, _ := os.ReadFile(snaps[len(snaps)-1])
	b[len(b)-3] ^= 0xff
	os.WriteFile(snaps[len(snaps)-1], b, 0o644)
	rt = openDur(t, cfg)
	defer rt.Close()
	st2 := rt.ReplayStats()
	sameState(t, "after fallback", dump(t, rt), want)
	if st2.SnapshotLSN >= st.SnapshotLSN || len(st2.SnapshotsSkipped) != 1 || st2.Records <= st.Records {
		t.Fatalf("fallback stats %+v (before %+v)", st2, st)
	}
}

func TestAutoSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSnapshotEvery(10, 0).WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	for i := 1; i <= 35; i++ {
		mustCall(t, rt, "dur", "batch", uint64(i))
	}
	want := dump(t, rt)
	for rt.snapBusy.Load() {
		runtime.Gosched()
	}
	rt.Close()
	if err := rt.LastSnapshotError(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	if len(snaps) == 0 {
		t.Fatal("no automatic snapshot")
	}
	rt = openDur(t, cfg)
	defer rt.Close()
	sameState(t, "auto", dump(t, rt), want)
	if rt.ReplayStats().SnapshotLSN == 0 {
		t.Fatal("the snapshot was not used")
	}
}

func TestReplayProgress(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSync(persistence.SyncNone)
	rt := openDur(t, cfg, durV1(t))
	for i := 1; i <= 50; i++ {
		mustCall(t, rt, "dur", "batch", uint64(i))
	}
	rt.Close()
	var calls int
	var last, total int64
	rt = openDur(t, cfg.WithProgress(func(d, n int64) { calls++; last, total = d, n }))
	defer rt.Close()
	st := rt.ReplayStats()
	if calls == 0 || last != total || total == 0 {
		t.Fatalf("progress: %d calls, last %d/%d", calls, last, total)
	}
	if st.Records != 51 || st.Mutations != 200 || st.Duration <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestReplayValidatesSchema appends a record whose row does not match the
// schema in force: Open fails naming the LSN, module, table and column.
func TestReplayValidatesSchema(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), durV1(t))
	mustCall(t, rt, "dur", "batch", uint64(1))
	rt.Close()
	lg, err := persistence.Open(filepath.Join(dir, "log"), record.LogOptions(persistence.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	bad := row.MustEncode(uint64(77), int64(5)) // name should be a string
	lsn, err := lg.Append(&record.Txn{Timestamp: 100, Kind: fb.TxKindReducer, Module: "dur", Reducer: "put",
		Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "dur", Table: "items", Row: bad}}})
	if err != nil {
		t.Fatal(err)
	}
	lg.Close()
	_, err = Open(durConfig(t, dir))
	if err == nil {
		t.Fatal("Open accepted a row of the wrong type")
	}
	for _, w := range []string{"lsn " + itoa(lsn), "module dur", "table items", "column name"} {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%v does not name %q", err, w)
		}
	}
}

func itoa(n uint64) string { return fmtUint(n) }

func fmtUint(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

func TestDurableModuleLoadIsATransaction(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), durV1(t))
	rt.Close()
	r, err := persistence.NewReader(filepath.Join(dir, "log"), 0, record.LogOptions(persistence.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatal("no record")
	}
	tx, err := record.Decode(r.Record().Payload)
	if err != nil || tx.Kind != fb.TxKindModuleLoad || tx.ModuleRecord == nil || tx.ModuleRecord.Name != "dur" || len(tx.ModuleRecord.WasmSHA256) != 32 {
		t.Fatalf("%+v %v", tx, err)
	}
	p := filepath.Join(dir, "modules", hex.EncodeToString(tx.ModuleRecord.WasmSHA256)+".wasm")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

// TestSyncIntervalPolicy: under SyncInterval a call returns before its
// fdatasync, the background sync covers it, and a reopen holds every call.
func TestSyncIntervalPolicy(t *testing.T) {
	dir := t.TempDir()
	cfg := durConfig(t, dir).WithSync(persistence.SyncInterval).WithSyncInterval(5 * time.Millisecond)
	rt := openDur(t, cfg, durV1(t))
	for i := 1; i <= 20; i++ {
		mustCall(t, rt, "dur", "batch", uint64(i))
	}
	want := dump(t, rt)
	time.Sleep(20 * time.Millisecond) // a few sync periods
	rt.Close()
	rt = openDur(t, cfg)
	defer rt.Close()
	sameState(t, "sync interval", dump(t, rt), want)
}

// TestCallThatChangesNothingWritesNothing: a reducer that makes no
// mutation commits no record and costs no fdatasync; it returns the LSN of
// the state it ran against, and the LSN does not advance, so the next
// write gets the next LSN; after a reopen the log holds only the writes.
func TestCallThatChangesNothingWritesNothing(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), durV1(t))
	put := mustCall(t, rt, "dur", "put", uint64(1), "a")
	before := rt.LogStats()
	for i := 0; i < 50; i++ {
		res, err := rt.Call(context.Background(), "dur", "noop", row.MustEncode())
		if err != nil || res.LSN != put.LSN || res.Mutations != 0 || len(res.Cascade) != 0 {
			t.Fatalf("noop: %+v %v, want lsn %d", res, err, put.LSN)
		}
	}
	after := rt.LogStats()
	if after.Records != before.Records || after.Syncs != before.Syncs || rt.LastLSN() != put.LSN {
		t.Fatalf("50 no-op calls: records %d -> %d, fdatasyncs %d -> %d, last lsn %d", before.Records, after.Records, before.Syncs, after.Syncs, rt.LastLSN())
	}
	done := make(chan CallResult, 1)
	if err := rt.CallAsync(context.Background(), "dur", "noop", row.MustEncode(), func(res CallResult, err error) {
		if err != nil {
			t.Error(err)
		}
		done <- res
	}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.LSN != put.LSN {
		t.Fatalf("async noop lsn %d, want %d", res.LSN, put.LSN)
	}
	if next := mustCall(t, rt, "dur", "put", uint64(2), "b"); next.LSN != put.LSN+1 {
		t.Fatalf("the write after no-op calls got lsn %d, want %d", next.LSN, put.LSN+1)
	}
	rt.Close()
	rt = openDur(t, durConfig(t, dir))
	defer rt.Close()
	if st := rt.ReplayStats(); st.LastLSN != put.LSN+1 || uint64(st.Records) != put.LSN+1 {
		t.Fatalf("reopened: last lsn %d, %d records, want %d", st.LastLSN, st.Records, put.LSN+1)
	}
}

// TestTransactionsCarryRealTime: by default a transaction's timestamp is
// the wall clock when it ran; a clock that steps back still gives strictly
// increasing timestamps; the log keeps them, and after a reopen new
// transactions continue above them whatever the clock says.
func TestTransactionsCarryRealTime(t *testing.T) {
	dir := t.TempDir()
	before := uint64(time.Now().UnixNano())
	rt := openDur(t, durConfig(t, dir), durV1(t))
	res := mustCall(t, rt, "dur", "put", uint64(1), "a")
	if after := uint64(time.Now().UnixNano()); res.Timestamp < before || res.Timestamp > after {
		t.Fatalf("timestamp %d outside the call [%d, %d]", res.Timestamp, before, after)
	}
	rt.Close()
	future := time.Unix(0, int64(res.Timestamp)).Add(time.Hour)
	readings := []time.Time{future, future.Add(-time.Minute), future.Add(-time.Minute), time.Unix(0, 5)}
	clock := func() time.Time { r := readings[0]; readings = append(readings[1:], r); return r }
	rt = openDur(t, durConfig(t, dir).WithClock(clock))
	var stamps []uint64
	for i := uint64(2); i <= 5; i++ {
		stamps = append(stamps, mustCall(t, rt, "dur", "put", i, "b").Timestamp)
	}
	want := []uint64{uint64(future.UnixNano()), uint64(future.UnixNano()) + 1, uint64(future.UnixNano()) + 2, uint64(future.UnixNano()) + 3}
	if fmt.Sprint(stamps) != fmt.Sprint(want) {
		t.Fatalf("timestamps %v, want %v", stamps, want)
	}
	rt.Close()
	// The log holds them (and a reopened runtime replays them without a clock).
	r, err := persistence.NewReader(filepath.Join(dir, "log"), 0, record.LogOptions(persistence.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var logged []uint64
	for r.Next() {
		if tx, err := record.Decode(r.Record().Payload); err == nil && tx.Kind == fb.TxKindReducer {
			logged = append(logged, tx.Timestamp)
		}
	}
	if fmt.Sprint(logged) != fmt.Sprint(append([]uint64{res.Timestamp}, want...)) {
		t.Fatalf("logged timestamps %v", logged)
	}
	rt = openDur(t, durConfig(t, dir).WithClock(func() time.Time { return time.Unix(0, 1) }))
	defer rt.Close()
	if next := mustCall(t, rt, "dur", "put", uint64(9), "c").Timestamp; next != want[3]+1 {
		t.Fatalf("after reopen with a clock at 1ns: timestamp %d, want %d", next, want[3]+1)
	}
}

// TestEmptyDataDirectoryIsSmall: an empty data directory (a runtime
// opened and closed, nothing loaded) takes at most 2 MiB on disk.
func TestEmptyDataDirectoryIsSmall(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, NewConfig().WithDataDir(dir))
	rt.Close()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Sys().(*syscall.Stat_t).Blocks * 512
		return nil
	})
	if err != nil || total > 2<<20 {
		t.Fatalf("an empty data directory takes %d bytes (%v)", total, err)
	}
}
