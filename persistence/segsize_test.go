package persistence

import (
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// nearlyFullFS refuses to preallocate a file past limit bytes (ENOSPC), as
// a nearly full disk does.
type nearlyFullFS struct {
	OSFS
	limit int64
}

func (n nearlyFullFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := n.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return nearlyFullFile{f, n.limit}, nil
}

type nearlyFullFile struct {
	File
	limit int64
}

func (f nearlyFullFile) Allocate(n int64) error {
	if n > f.limit {
		return syscall.ENOSPC
	}
	return f.File.Allocate(n)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestOpenOnNearlyFullDiskKeepsTheLogsSegmentSize recreates the CLI
// failing to open a log made with small segments on a nearly full disk:
// given no SegmentSize, Open preallocated the 64 MiB default. It now uses
// the size the log records (its last segment's length), for the active
// segment and for the segments rotation creates.
func TestOpenOnNearlyFullDiskKeepsTheLogsSegmentSize(t *testing.T) {
	const size = 4 << 10
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: size, Sync: SyncNone})
	appendN(t, l, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []RecoveryMode{RecoverTruncateTail, RecoverStrict} {
		l, err := Open(dir, Options{Recovery: mode, FS: nearlyFullFS{limit: 1 << 20}, Sync: SyncNone, Check: testCheck})
		if err != nil {
			t.Fatalf("%s: Open on a nearly full disk: %v", mode, err)
		}
		if l.opts.SegmentSize != size {
			t.Fatalf("%s: segment size %d, want the log's %d", mode, l.opts.SegmentSize, size)
		}
		appendN(t, l, 60) // rotates
		if err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		segs := segFiles(t, dir)
		if n := fileSize(t, segs[len(segs)-1]); n != size {
			t.Fatalf("%s: new active segment is %d bytes, want %d", mode, n, size)
		}
	}
	// An explicit size still wins.
	l = mustOpen(t, dir, Options{SegmentSize: 8 << 10})
	l.Close()
	segs := segFiles(t, dir)
	if n := fileSize(t, segs[len(segs)-1]); n != 8<<10 {
		t.Fatalf("explicit size: active segment %d bytes", n)
	}
}

// TestRepairKeepsTheLogsSegmentSize: after Repair cuts the log, the
// segment left last is preallocated back to the log's segment size, so
// the next Open still finds it (and a header repair's new segment too).
func TestRepairKeepsTheLogsSegmentSize(t *testing.T) {
	const size = 4 << 10
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"corrupt record in a sealed segment", func(t *testing.T, dir string) {
			seg := segFiles(t, dir)[1]
			offs, _ := frameOffsets(t, seg)
			flipByte(t, seg, offs[1]+frameHeaderSize)
		}},
		{"damaged first header", func(t *testing.T, dir string) { flipByte(t, segFiles(t, dir)[0], 9) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, Options{SegmentSize: size, Sync: SyncNone})
			appendN(t, l, 100)
			l.Close()
			tc.damage(t, dir)
			if _, err := Repair(dir, checkOpts); err != nil {
				t.Fatal(err)
			}
			segs := segFiles(t, dir)
			if n := fileSize(t, segs[len(segs)-1]); n != size {
				t.Fatalf("last segment after repair: %d bytes, want %d", n, size)
			}
			l = mustOpen(t, dir, Options{})
			defer l.Close()
			if l.opts.SegmentSize != size {
				t.Fatalf("segment size after repair %d, want %d", l.opts.SegmentSize, size)
			}
		})
	}
}
