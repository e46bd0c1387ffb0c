// Package datadir is the layout of a runtime's data directory and the
// protocols on its files other than the log's own: the wasm store, and the
// snapshot and retention protocol that ties snapshot files to the log's
// segments. It imports persistence and nothing of the runtime: snapshot
// bodies are opaque bytes here (internal/record encodes them), and it
// knows nothing of WASM beyond storing module bytes under their hash.
//
//	DIR/log/                   the transaction log (persistence.Open)
//	DIR/snapshots/<lsn>.snap   snapshot files (persistence.WriteSnapshot)
//	DIR/modules/<sha256>.wasm  the wasm of every module version ever loaded
package datadir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/interstice/interstice/persistence"
)

// The subdirectories of a data directory.
const (
	LogDir      = "log"
	SnapshotDir = "snapshots"
	ModulesDir  = "modules"
)

// Errors of LoadWasm.
var (
	// ErrWasmMissing: no file holds the wasm of that hash.
	ErrWasmMissing = errors.New("datadir: the module's wasm is missing from the data directory")
	// ErrWasmMismatch: the file of that hash holds other bytes.
	ErrWasmMismatch = errors.New("datadir: the module's wasm file does not match its SHA-256")
)

// Dir is an open data directory. Its snapshot methods are called by one
// goroutine at a time (the runtime serializes snapshots).
type Dir struct {
	path     string
	readOnly bool
	keep     int // snapshots kept by WriteSnapshot's pruning

	lastSnap uint64
	snapLSNs []uint64 // valid snapshots kept, oldest first
	listed   chan []uint64
}

// Open opens the data directory at path: a writable one is created with
// its subdirectories if missing; a read-only one must exist. keep is how
// many snapshots WriteSnapshot keeps (at least 1).
func Open(path string, readOnly bool, keep int) (*Dir, error) {
	d := &Dir{path: path, readOnly: readOnly, keep: max(keep, 1)}
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		return d, nil
	}
	for _, p := range []string{path, d.LogPath(), d.SnapshotPath(), d.ModulesPath()} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

// LogPath is the log's directory.
func (d *Dir) LogPath() string { return filepath.Join(d.path, LogDir) }

// SnapshotPath is the snapshots' directory.
func (d *Dir) SnapshotPath() string { return filepath.Join(d.path, SnapshotDir) }

// ModulesPath is the wasm store's directory.
func (d *Dir) ModulesPath() string { return filepath.Join(d.path, ModulesDir) }

func (d *Dir) wasmPath(sum [32]byte) string {
	return filepath.Join(d.ModulesPath(), hex.EncodeToString(sum[:])+".wasm")
}

// StoreWasm keeps wasm under its hash sum: written to a temporary file,
// fsynced, renamed, and the directory fsynced, unless a file of that name
// with the right hash is there already. The runtime calls it before it
// commits the ModuleLoad record that names sum, so a record in the log
// never names a wasm that a crash lost.
func (d *Dir) StoreWasm(sum [32]byte, wasm []byte) error {
	path := d.wasmPath(sum)
	if b, err := os.ReadFile(path); err == nil && sha256.Sum256(b) == sum {
		return nil
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(wasm)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	dir, err := os.Open(d.ModulesPath())
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// LoadWasm returns the wasm stored under sum, checked against it:
// ErrWasmMissing (wrapping the file-system error) or ErrWasmMismatch.
func (d *Dir) LoadWasm(sum [32]byte) ([]byte, error) {
	path := d.wasmPath(sum)
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWasmMissing, err)
	}
	if sha256.Sum256(wasm) != sum {
		return nil, fmt.Errorf("%w: %s", ErrWasmMismatch, path)
	}
	return wasm, nil
}

// NewestSnapshot returns the newest valid snapshot at or below logLast
// (lsn 0 and a nil body if there is none) and the damaged or newer ones it
// skipped (persistence.ReadNewestSnapshot). In a writable directory it
// also starts listing the valid snapshots kept, which reads each one
// whole, while the caller rebuilds its state; Recovered collects them.
func (d *Dir) NewestSnapshot(logLast uint64) (lsn uint64, body []byte, skipped []persistence.Problem, err error) {
	dir := d.SnapshotPath()
	if _, err := os.Stat(dir); err != nil {
		return 0, nil, nil, nil
	}
	if !d.readOnly {
		d.listed = make(chan []uint64, 1)
		go func() {
			var lsns []uint64
			if infos, err := persistence.ListSnapshots(dir); err == nil {
				for _, in := range infos {
					if in.Valid && in.LSN <= logLast {
						lsns = append(lsns, in.LSN)
					}
				}
			}
			d.listed <- lsns
		}()
	}
	return persistence.ReadNewestSnapshot(dir, logLast)
}

// Recovered ends the recovery that NewestSnapshot began: snapLSN is the
// snapshot the state was rebuilt from (0 if none). It collects the
// snapshots kept and sets log's retention floor from them (Protect).
func (d *Dir) Recovered(log *persistence.Log, snapLSN uint64) {
	d.lastSnap = snapLSN
	if d.listed != nil {
		d.snapLSNs = <-d.listed
		d.listed = nil
	}
	if !d.readOnly && len(d.snapLSNs) > 0 {
		d.Protect(log)
	}
}

// LastSnapshot is the LSN of the newest snapshot written or recovered from
// (0 if none).
func (d *Dir) LastSnapshot() uint64 { return d.lastSnap }

// WriteSnapshot stores body as the state after the acknowledged record
// lsn, then runs the protocol that keeps a damaged newest snapshot
// recoverable (persistence doc, "Snapshots and retention"): it prunes to
// the newest keep snapshots, sets log's retention floor to the oldest one
// kept, and lets the log delete the segments below it. It returns the
// snapshot file and what pruning and retention deleted; an error names
// the step that failed (the snapshot may be written when a later step
// fails).
func (d *Dir) WriteSnapshot(log *persistence.Log, lsn uint64, body []byte) (file string, removed []string, err error) {
	dir := d.SnapshotPath()
	name, err := persistence.WriteSnapshot(dir, lsn, body)
	if err != nil {
		return "", nil, fmt.Errorf("write snapshot at lsn %d: %w", lsn, err)
	}
	file = filepath.Join(dir, filepath.Base(name))
	d.lastSnap = lsn
	d.snapLSNs = append(d.snapLSNs, lsn)
	pruned, err := persistence.PruneSnapshots(dir, d.keep)
	removed = append(removed, pruned...)
	if err != nil {
		return file, removed, fmt.Errorf("prune snapshots: %w", err)
	}
	if len(d.snapLSNs) > d.keep {
		d.snapLSNs = d.snapLSNs[len(d.snapLSNs)-d.keep:]
	}
	segs, err := d.Protect(log)
	removed = append(removed, segs...)
	if err != nil {
		return file, removed, fmt.Errorf("log retention: %w", err)
	}
	return file, removed, nil
}

// Protect sets log's retention floor to the oldest snapshot kept (so that
// a damaged newest snapshot still has an older one plus the log behind
// it) and applies retention, returning the segments deleted.
func (d *Dir) Protect(log *persistence.Log) ([]string, error) {
	if len(d.snapLSNs) == 0 || log == nil {
		return nil, nil
	}
	k := min(d.keep, len(d.snapLSNs))
	log.SetProtectedLSN(d.snapLSNs[len(d.snapLSNs)-k])
	return log.Retain()
}
