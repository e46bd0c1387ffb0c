package core

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

// failFS is the OS file system with switches that make the next
// fdatasync fail (EIO), every truncate fail (so the bytes of a failed
// write stay in the file, as after a crash before the cut), or every file
// creation fail (ENOSPC, as a rotation on a full disk does).
type failFS struct {
	persistence.OSFS
	mu           sync.Mutex
	failDatasync bool
	failTruncate bool
	failCreate   bool
	failOpen     bool
}

func (f *failFS) set(fn func(*failFS)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *failFS) OpenFile(name string, flag int, perm fs.FileMode) (persistence.File, error) {
	f.mu.Lock()
	fail := f.failOpen || (f.failCreate && flag&os.O_CREATE != 0)
	errno := syscall.EIO
	if !f.failOpen {
		errno = syscall.ENOSPC
	}
	f.mu.Unlock()
	if fail {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errno}
	}
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &failFile{File: file, fs: f}, nil
}

type failFile struct {
	persistence.File
	fs *failFS
}

func (f *failFile) Datasync() error {
	f.fs.mu.Lock()
	fail := f.fs.failDatasync
	f.fs.failDatasync = false
	f.fs.mu.Unlock()
	if fail {
		return syscall.EIO
	}
	return f.File.Datasync()
}

func (f *failFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	fail := f.fs.failTruncate
	f.fs.mu.Unlock()
	if fail {
		return syscall.EIO
	}
	return f.File.Truncate(size)
}

// failConfig is durConfig with the log on ffs.
func failConfig(t *testing.T, dir string, ffs *failFS) Config {
	cfg := durConfig(t, dir)
	cfg.logFS = ffs
	return cfg
}

// wantLogCode checks that err has code and matches both sentinels, and
// that its message does not call it an internal error.
func wantLogCode(t *testing.T, err error, code Code, core, cause error) {
	t.Helper()
	wantCode(t, err, code)
	if !errors.Is(err, core) {
		t.Errorf("errors.Is(%v, core sentinel %v) is false", err, core)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, %v) is false", err, cause)
	}
	if strings.Contains(err.Error(), "internal error") {
		t.Errorf("message says internal error: %v", err)
	}
}

// TestLogFailureKeepsItsCode: a failure of the log reaches the caller with
// its own code (POISONED, LOCKED, IO ...), matching both core's sentinel
// and persistence's, never as an internal error.
func TestLogFailureKeepsItsCode(t *testing.T) {
	tests := []struct {
		name  string
		run   func(t *testing.T, dir string, ffs *failFS) error
		code  Code
		core  error
		cause error
	}{
		{"call after a rotation failed on ENOSPC behind an acknowledged batch", func(t *testing.T, dir string, ffs *failFS) error {
			cfg := failConfig(t, dir, ffs).WithSegmentSize(persistence.MinSegmentSize)
			rt := openDur(t, cfg, durV1(t))
			defer rt.Close()
			ffs.set(func(f *failFS) { f.failCreate = true })
			for i := 0; i < 100; i++ {
				if _, err := call(t, rt, "dur", "put", uint64(i), strings.Repeat("x", 100)); err != nil {
					if i == 0 {
						t.Fatalf("the first call failed: %v", err)
					}
					return err
				}
			}
			t.Fatal("100 calls of 100 bytes into 1 KiB segments never rotated")
			return nil
		}, CodePoisoned, ErrPoisoned, persistence.ErrPoisoned},
		{"call after a failed fdatasync", func(t *testing.T, dir string, ffs *failFS) error {
			rt := openDur(t, failConfig(t, dir, ffs), durV1(t))
			defer rt.Close()
			ffs.set(func(f *failFS) { f.failDatasync = true })
			if _, err := call(t, rt, "dur", "put", uint64(1), "a"); !errors.Is(err, ErrPoisoned) {
				t.Fatalf("call with a failing fdatasync: %v", err)
			}
			_, err := call(t, rt, "dur", "put", uint64(2), "b")
			return err
		}, CodePoisoned, ErrPoisoned, persistence.ErrPoisoned},
		{"open of a data directory another runtime holds", func(t *testing.T, dir string, ffs *failFS) error {
			rt := openDur(t, durConfig(t, dir), durV1(t))
			defer rt.Close()
			_, err := Open(durConfig(t, dir))
			return err
		}, CodeLocked, ErrLocked, persistence.ErrLocked},
		{"open whose log files cannot be opened (EIO)", func(t *testing.T, dir string, ffs *failFS) error {
			ffs.set(func(f *failFS) { f.failOpen = true })
			rt, err := Open(failConfig(t, dir, ffs))
			if err == nil {
				rt.Close()
			}
			return err
		}, CodeIO, ErrIO, syscall.EIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t, t.TempDir(), &failFS{})
			wantLogCode(t, err, tc.code, tc.core, tc.cause)
		})
	}
}

// TestPoisonedCallOutcomeUnknown: a call that fails with POISONED may or
// may not be in the log (the failed bytes are cut only on a best-effort
// basis, and a crash can come first). docs/RECOVERY.md ("Outcome unknown")
// and include/interstice.h tell the caller what to do: LastLSN still names
// the last acknowledged transaction, reads are refused; close, reopen, and
// the reopened runtime's LastLSN and state say whether the call happened.
func TestPoisonedCallOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name        string
		cutFails    bool // the truncate that removes the failed bytes fails too
		wantDurable bool
	}{
		{"failed bytes cut: the call did not happen", false, false},
		{"cut failed: the call reported failed is durable", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := &failFS{}
			rt := openDur(t, failConfig(t, dir, ffs), durV1(t))
			mustCall(t, rt, "dur", "put", uint64(1), "acknowledged")
			acked := rt.LastLSN()
			ffs.set(func(f *failFS) { f.failDatasync, f.failTruncate = true, tc.cutFails })
			_, err := call(t, rt, "dur", "put", uint64(2), "unknown")
			wantLogCode(t, err, CodePoisoned, ErrPoisoned, persistence.ErrPoisoned)
			if got := rt.LastLSN(); got != acked {
				t.Errorf("LastLSN after the failure = %d, want the last acknowledged %d", got, acked)
			}
			if _, _, err := rt.Get("dur", "items", uint64(1)); !errors.Is(err, ErrPoisoned) {
				t.Errorf("read after the failure: %v, want POISONED", err)
			}
			if err := rt.Close(); err != nil {
				t.Errorf("Close after the failure: %v", err)
			}

			rt = openDur(t, durConfig(t, dir))
			defer rt.Close()
			last := rt.LastLSN()
			_, found, err := rt.Get("dur", "items", uint64(2))
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantDurable || (last > acked) != found {
				t.Fatalf("reopened: last lsn %d (acknowledged %d), row of the failed call found %v; want found %v, and found exactly when last lsn > %d",
					last, acked, found, tc.wantDurable, acked)
			}
			if _, found, _ := rt.Get("dur", "items", uint64(1)); !found {
				t.Fatal("the acknowledged call was lost")
			}
		})
	}
}

// TestOpenOnDamagedSegmentHeader: a runtime that cannot open its log
// because a segment header is damaged fails with CORRUPT (not internal
// error), and names the segment, offset and LSN exactly as log validate
// does (the LSN the segment's name gives, not 0).
func TestOpenOnDamagedSegmentHeader(t *testing.T) {
	tests := []struct {
		name string
		off  int // the header byte flipped
	}{
		{"magic", 0},
		{"version", 8},
		{"checksum algorithm", 9},
		{"first lsn", 16},
		{"header crc", 28},
	}
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir).WithSegmentSize(persistence.MinSegmentSize), durV1(t))
	for i := 0; i < 12; i++ {
		mustCall(t, rt, "dur", "put", uint64(i), strings.Repeat("x", 100))
	}
	rt.Close()
	segs, err := filepath.Glob(filepath.Join(dir, "log", "*.log"))
	if err != nil || len(segs) < 3 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	seg := segs[len(segs)/2]
	orig, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), orig...)
			b[tc.off] ^= 1
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(seg, orig, 0o644)
			rep, err := persistence.Validate(filepath.Join(dir, "log"), record.LogOptions(persistence.Options{}))
			if err != nil || rep.Problem == nil {
				t.Fatalf("validate: %v, problem %v", err, rep.Problem)
			}
			_, err = Open(durConfig(t, dir))
			wantLogCode(t, err, CodeCorrupt, ErrCorrupt, persistence.ErrCorrupt)
			p := rep.Problem
			place := fmt.Sprintf("segment %s offset %d lsn %d", p.Segment, p.Offset, p.LSN)
			if p.LSN == 0 || !strings.Contains(err.Error(), place) {
				t.Fatalf("open says %q; validate names %q", err, place)
			}
		})
	}
}
