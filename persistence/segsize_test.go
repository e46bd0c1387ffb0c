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

// allocated is the disk space a file takes (its blocks), not its length.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Blocks * 512
}

// TestLargeSegmentsArePreallocatedInSteps: a new log of 64 MiB segments
// takes about 1 MiB on disk, grows a chunk ahead of its frames, records
// its segment size in the header (so a reopen without a SegmentSize keeps
// 64 MiB), and replays everything after growing past several steps.
func TestLargeSegmentsArePreallocatedInSteps(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Sync: SyncNone})
	seg := segFiles(t, dir)[0]
	if n := allocated(t, seg); n > 2<<20 {
		t.Fatalf("a new log's segment takes %d bytes on disk", n)
	}
	body := make([]byte, 64<<10)
	for i := 0; i < 50; i++ { // 3.2 MiB of frames: past three steps
		if _, err := l.Append(testRec{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileSize(t, seg); got < 50*(64<<10) || got > 50*(64<<10)+2*zeroFillChunk {
		t.Fatalf("segment length %d after 3.2 MiB of frames", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{Sync: SyncNone})
	defer l.Close()
	if l.opts.SegmentSize != DefaultSegmentSize {
		t.Fatalf("reopened with segment size %d, want %d (from the header)", l.opts.SegmentSize, DefaultSegmentSize)
	}
	n := 0
	if err := l.Replay(0, func(r Record) error { n++; return nil }); err != nil || n != 50 {
		t.Fatalf("replay: %d records, %v", n, err)
	}
	if len(segFiles(t, dir)) != 1 {
		t.Fatal("rotated below the segment size")
	}
}

// TestWholePreallocatedSegmentsKeepTheirLength: a segment written whole
// (as every log before stepwise preallocation was, and as segments of at
// most a step still are) records no size in its header; its length is its
// size, and a reopen restores the length.
func TestWholePreallocatedSegmentsKeepTheirLength(t *testing.T) {
	defer func(step int64) { preallocStep = step }(preallocStep)
	preallocStep = 8 << 20 // the old behaviour: preallocate 8 MiB segments whole
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 8 << 20, Sync: SyncNone})
	appendN(t, l, 3)
	l.Close()
	preallocStep = zeroFillChunk
	seg := segFiles(t, dir)[0]
	if err := os.Truncate(seg, 1<<20); err != nil { // a short last segment, as a crash may leave it
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentSize: 8 << 20, Sync: SyncNone})
	l.Close()
	if got := fileSize(t, seg); got != 8<<20 {
		t.Fatalf("a whole-preallocated segment was restored to %d bytes, want %d", got, 8<<20)
	}
	l = mustOpen(t, dir, Options{Sync: SyncNone})
	defer l.Close()
	if l.opts.SegmentSize != 8<<20 {
		t.Fatalf("segment size %d inferred, want 8 MiB (the length)", l.opts.SegmentSize)
	}
}
