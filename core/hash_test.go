package core

import (
	"testing"
)

// TestStateHash: the hash is a function of the modules and rows alone. Two
// runtimes given the same calls agree; a runtime reopened by replay, or
// from a snapshot, has the hash it had before it closed; a new row changes
// it, and so does a different value in that row.
func TestStateHash(t *testing.T) {
	wasm := kvWasm(t)
	hashOf := func(rt *Runtime) (uint64, [32]byte) {
		t.Helper()
		lsn, sum, err := rt.StateHash()
		if err != nil {
			t.Fatal(err)
		}
		return lsn, sum
	}
	dir := t.TempDir()
	a := openDur(t, durConfig(t, dir), wasm)
	b := open(t, testConfig(t), wasm)
	for i := uint64(1); i <= 50; i++ {
		mustCall(t, a, "kv", "put", i, "v")
		mustCall(t, b, "kv", "put", i, "v")
	}
	lsnA, sumA := hashOf(a)
	lsnB, sumB := hashOf(b)
	if lsnA != lsnB || sumA != sumB {
		t.Fatalf("same calls, different hashes: lsn %d %x, lsn %d %x", lsnA, sumA, lsnB, sumB)
	}
	a.Close()

	a = openDur(t, durConfig(t, dir)) // replay
	if lsn, sum := hashOf(a); lsn != lsnA || sum != sumA {
		t.Fatalf("after replay: lsn %d %x, want lsn %d %x", lsn, sum, lsnA, sumA)
	}
	if _, err := a.Snapshot(); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a = openDur(t, durConfig(t, dir)) // from the snapshot
	defer a.Close()
	if lsn, sum := hashOf(a); lsn != lsnA || sum != sumA || a.ReplayStats().SnapshotRows == 0 {
		t.Fatalf("after a snapshot: lsn %d %x (%d rows from the snapshot), want lsn %d %x", lsn, sum, a.ReplayStats().SnapshotRows, lsnA, sumA)
	}

	mustCall(t, a, "kv", "put", uint64(100), "v")
	mustCall(t, b, "kv", "put", uint64(100), "w") // one value differs
	lsnA2, sumA2 := hashOf(a)
	lsnB2, sumB2 := hashOf(b)
	if lsnA2 != lsnA+1 || lsnB2 != lsnA2 {
		t.Fatalf("lsns %d and %d after one more call, want %d", lsnA2, lsnB2, lsnA+1)
	}
	if sumA2 == sumA || sumB2 == sumA {
		t.Fatal("a new row left the hash unchanged")
	}
	if sumA2 == sumB2 {
		t.Fatal("rows with different values hash the same")
	}
}
