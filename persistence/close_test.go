package persistence

import (
	"strings"
	"testing"
)

func countOps(f *faultFS, op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, o := range f.ops {
		if o == op {
			n++
		}
	}
	return n
}

// TestCloseAfterDurableAppendDoesNotSync recreates `interstice call`
// exiting 3 after printing "ok": its record was durable, and the
// fdatasync that Close did anyway failed. Close (and Sync) now fdatasync
// only what is unsynced: nothing after an Append under SyncAlways, so the
// failing device cannot fail the Close.
func TestCloseAfterDurableAppendDoesNotSync(t *testing.T) {
	ffs := &faultFS{}
	l := mustOpen(t, t.TempDir(), Options{FS: ffs})
	appendN(t, l, 2)
	before := countOps(ffs, "datasync")
	ffs.FailNthDatasync(1) // the next fdatasync would fail
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync with nothing unsynced: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close after durable appends: %v", err)
	}
	if n := countOps(ffs, "datasync") - before; n != 0 {
		t.Fatalf("%d fdatasyncs after the last durable append, want 0", n)
	}
}

// TestCloseSyncsWhatIsUnsynced: under SyncNone the records written since
// the last sync are made durable by Close, and a failure there is
// reported (those records were never acknowledged as durable).
func TestCloseSyncsWhatIsUnsynced(t *testing.T) {
	tests := []struct {
		name string
		sync SyncPolicy
		fail bool
	}{
		{"none", SyncNone, false},
		{"none, fdatasync fails", SyncNone, true},
		{"interval", SyncInterval, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ffs := &faultFS{}
			l := mustOpen(t, t.TempDir(), Options{FS: ffs, Sync: tc.sync, SyncInterval: 1 << 40})
			appendN(t, l, 3)
			before := countOps(ffs, "datasync")
			if tc.fail {
				ffs.FailNthDatasync(1)
			}
			err := l.Close()
			if n := countOps(ffs, "datasync") - before; n != 1 {
				t.Fatalf("%d fdatasyncs at Close, want 1", n)
			}
			if tc.fail != (err != nil) || (tc.fail && !strings.Contains(err.Error(), "fdatasync")) {
				t.Fatalf("Close: %v, want failure %v", err, tc.fail)
			}
		})
	}
}
