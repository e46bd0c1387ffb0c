package persistence

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFailedFdatasyncPoisonsTheLog(t *testing.T) {
	tests := []struct {
		name  string
		batch bool
	}{
		{"append", false},
		{"append batch", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := &faultFS{}
			l := mustOpen(t, dir, Options{FS: ffs})
			appendN(t, l, 5)
			ffs.FailNthDatasync(1)
			var err error
			if tc.batch {
				_, err = l.AppendBatch([]Payload{testTxn(6), testTxn(7)})
			} else {
				_, err = l.Append(testTxn(6))
			}
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("the fdatasync error did not reach the caller: %v", err)
			}
			if _, err := l.Append(testTxn(6)); !errors.Is(err, ErrPoisoned) || !errors.Is(err, syscall.EIO) {
				t.Fatalf("Append after a failed fdatasync: %v, want ErrPoisoned wrapping EIO", err)
			}
			if err := l.Sync(); !errors.Is(err, ErrPoisoned) {
				t.Fatalf("Sync after a failed fdatasync: %v, want ErrPoisoned", err)
			}
			if l.LastLSN() != 5 {
				t.Fatalf("LastLSN %d after the failure, want 5", l.LastLSN())
			}
			if err := l.Close(); !errors.Is(err, ErrPoisoned) {
				t.Fatalf("Close of a poisoned log: %v", err)
			}
			l = mustOpen(t, dir, Options{})
			defer l.Close()
			checkContiguous(t, readAll(t, l), 1, 5)
			appendN(t, l, 1)
		})
	}
}

func TestFailedWriteDuringGroupCommitFailsEveryWaiter(t *testing.T) {
	dir := t.TempDir()
	ffs := &faultFS{}
	l := mustOpen(t, dir, Options{FS: ffs})
	appendN(t, l, 1)
	ffs.FailNthDatasync(1)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() { _, err := l.Append(testTxn(99)); errs <- err }()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err == nil {
			// Possible only if this append was synced before the failure.
			continue
		} else if !errors.Is(err, ErrPoisoned) {
			t.Fatalf("waiter got %v", err)
		}
	}
	last := l.LastLSN()
	l.Close()
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	var n uint64
	l.Replay(0, func(Record) error { n++; return nil })
	if n != last {
		t.Fatalf("reopened log holds %d records, %d were acknowledged", n, last)
	}
}

// TestRotationCrashAtEveryStep crashes a rotation (with retention) at each
// of its file-system steps in turn, then reopens: every acknowledged record
// is there, no LSN is claimed by two segments, and appends continue.
func TestRotationCrashAtEveryStep(t *testing.T) {
	for k := 1; ; k++ {
		dir := t.TempDir()
		ffs := &faultFS{}
		o := Options{FS: ffs, SegmentSize: 64 << 10, RetainSegments: 1}
		l := mustOpen(t, dir, o)
		for i := 0; i < 3; i++ {
			appendN(t, l, 5)
			if err := l.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
		appendN(t, l, 5)
		l.SetProtectedLSN(15)
		ffs.CrashAfter(k)
		err := l.Rotate()
		ops := strings.Join(ffs.ops, " ")
		l.Close()
		if err == nil {
			if k < 8 {
				t.Fatalf("a rotation of only %d steps? ops: %s", k-1, ops)
			}
			return // k passed the last step: every crash point was covered
		}
		if !errors.Is(err, errCrash) {
			t.Fatalf("step %d: %v", k, err)
		}
		t.Run(fmt.Sprintf("crash at step %d", k), func(t *testing.T) {
			rep, err := Validate(dir, checkOpts)
			if err != nil || !rep.OK() {
				t.Fatalf("Validate after crash: %v %+v", err, rep)
			}
			seen := map[uint64]string{}
			for _, s := range rep.Segments {
				for lsn := s.FirstLSN; lsn <= s.LastLSN; lsn++ {
					if other, dup := seen[lsn]; dup {
						t.Fatalf("lsn %d claimed by %s and %s", lsn, other, s.Name)
					}
					seen[lsn] = s.Name
				}
			}
			l := mustOpen(t, dir, Options{SegmentSize: 64 << 10, RetainSegments: 1})
			defer l.Close()
			lsns := readAll(t, l)
			if len(lsns) == 0 || lsns[len(lsns)-1] != 20 {
				t.Fatalf("records %v after crash, want ... 20", lsns)
			}
			checkContiguous(t, lsns, lsns[0], len(lsns))
			if lsns[0] > 16 {
				t.Fatalf("retention deleted above the protected lsn 15: first %d", lsns[0])
			}
			appendN(t, l, 3)
			if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) != 0 {
				t.Fatalf("leftover %v", tmps)
			}
		})
	}
}

func TestRetentionKeepsProtectedSegments(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10, RetainSegments: 2, Sync: SyncNone})
	defer l.Close()
	for i := 0; i < 6; i++ {
		appendN(t, l, 10)
		if err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(segFiles(t, dir)); n != 7 {
		t.Fatalf("floor 0 must protect everything: %d segments, want 7", n)
	}
	l.SetProtectedLSN(25) // segments 1-10, 11-20 are deletable; 21-30 is not
	removed, err := l.Retain()
	if err != nil || len(removed) != 2 {
		t.Fatalf("Retain: %v %v", removed, err)
	}
	if l.FirstLSN() != 21 {
		t.Fatalf("FirstLSN %d, want 21", l.FirstLSN())
	}
	l.SetProtectedLSN(1000)
	if removed, _ := l.Retain(); len(removed) != 2 { // keeps the newest 2 archived
		t.Fatalf("Retain removed %v", removed)
	}
	if l.FirstLSN() != 41 {
		t.Fatalf("FirstLSN %d, want 41", l.FirstLSN())
	}
	if err := l.Replay(5, func(Record) error { return nil }); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Replay from a deleted lsn: %v", err)
	}
	checkContiguous(t, readAll(t, l), 41, 20)
}
