package datadir

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/interstice/interstice/persistence"
)

// TestWasmStore: stored bytes come back checked against their hash; a
// missing file and a file whose bytes changed are told apart; storing
// again is a no-op that repairs a damaged file.
func TestWasmStore(t *testing.T) {
	d, err := Open(t.TempDir(), false, 2)
	if err != nil {
		t.Fatal(err)
	}
	wasm := []byte("\x00asm\x01\x00\x00\x00 module bytes")
	sum := sha256.Sum256(wasm)
	if _, err := d.LoadWasm(sum); !errors.Is(err, ErrWasmMissing) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadWasm before StoreWasm: %v", err)
	}
	if err := d.StoreWasm(sum, wasm); err != nil {
		t.Fatal(err)
	}
	if got, err := d.LoadWasm(sum); err != nil || string(got) != string(wasm) {
		t.Fatalf("LoadWasm: %q %v", got, err)
	}
	path := filepath.Join(d.ModulesPath(), filepath.Base(d.wasmPath(sum)))
	if err := os.WriteFile(path, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LoadWasm(sum); !errors.Is(err, ErrWasmMismatch) {
		t.Fatalf("LoadWasm of changed bytes: %v", err)
	}
	if err := d.StoreWasm(sum, wasm); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LoadWasm(sum); err != nil {
		t.Fatalf("LoadWasm after StoreWasm repaired it: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(d.ModulesPath(), "*.tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "absent"), true, 1); err == nil {
		t.Fatal("a missing directory opened read-only")
	}
}

// TestSnapshotProtocol: WriteSnapshot keeps the newest keep snapshots and
// protects the log from the oldest one kept, so retention deletes only
// segments below it; a reopened directory finds the same snapshots.
func TestSnapshotProtocol(t *testing.T) {
	root := t.TempDir()
	d, err := Open(root, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := persistence.Open(d.LogPath(), persistence.Options{SegmentSize: persistence.MinSegmentSize, Sync: persistence.SyncNone, RetainSegments: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { lg.Close() }()
	if lsn, body, _, err := d.NewestSnapshot(0); err != nil || lsn != 0 || body != nil {
		t.Fatalf("NewestSnapshot of an empty directory: %d %v %v", lsn, body, err)
	}
	d.Recovered(lg, 0)
	payload := persistence.Bytes(make([]byte, 200))
	var snaps []uint64
	for round := 0; round < 4; round++ {
		for i := 0; i < 20; i++ {
			if _, err := lg.Append(payload); err != nil {
				t.Fatal(err)
			}
		}
		lsn := lg.LastLSN()
		file, _, err := d.WriteSnapshot(lg, lsn, []byte("state"))
		if err != nil || filepath.Dir(file) != d.SnapshotPath() {
			t.Fatalf("WriteSnapshot: %q %v", file, err)
		}
		snaps = append(snaps, lsn)
		if d.LastSnapshot() != lsn {
			t.Fatalf("LastSnapshot %d, want %d", d.LastSnapshot(), lsn)
		}
		floor := snaps[max(0, len(snaps)-2)]
		if lg.ProtectedLSN() != floor {
			t.Fatalf("round %d: protected lsn %d, want the oldest snapshot kept, %d", round, lg.ProtectedLSN(), floor)
		}
		if lg.FirstLSN() > floor+1 {
			t.Fatalf("round %d: the log starts at %d, after the protected snapshot %d", round, lg.FirstLSN(), floor)
		}
	}
	infos, err := persistence.ListSnapshots(d.SnapshotPath())
	if err != nil || len(infos) != 2 || infos[0].LSN != snaps[2] || infos[1].LSN != snaps[3] {
		t.Fatalf("snapshots kept: %+v %v, want lsns %v", infos, err, snaps[2:])
	}
	if lg.FirstLSN() == 1 {
		t.Fatal("retention deleted nothing")
	}
	lg.Close()
	d2, err := Open(root, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	lg, err = persistence.Open(d2.LogPath(), persistence.Options{Sync: persistence.SyncNone, RetainSegments: 1})
	if err != nil {
		t.Fatal(err)
	}
	lsn, body, _, err := d2.NewestSnapshot(lg.LastLSN())
	if err != nil || lsn != snaps[3] || string(body) != "state" {
		t.Fatalf("NewestSnapshot after reopen: %d %q %v", lsn, body, err)
	}
	d2.Recovered(lg, lsn)
	if lg.ProtectedLSN() != snaps[2] || d2.LastSnapshot() != snaps[3] {
		t.Fatalf("after reopen: protected %d last %d, want %d and %d", lg.ProtectedLSN(), d2.LastSnapshot(), snaps[2], snaps[3])
	}
}
