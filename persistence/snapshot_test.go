package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func snapBody(lsn uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(lsn*31 + uint64(i)*7)
	}
	return b
}

func mustWriteSnapshot(t testing.TB, dir string, lsn uint64, body []byte) string {
	t.Helper()
	name, err := WriteSnapshot(dir, lsn, body)
	if err != nil {
		t.Fatalf("WriteSnapshot %d: %v", lsn, err)
	}
	return name
}

// wantNewest checks ReadNewestSnapshot(dir, maxLSN) against lsn and body
// and returns what it skipped.
func wantNewest(t testing.TB, dir string, maxLSN, lsn uint64, body []byte) []Problem {
	t.Helper()
	got, b, skipped, err := ReadNewestSnapshot(dir, maxLSN)
	if err != nil {
		t.Fatalf("ReadNewestSnapshot(%d): %v", maxLSN, err)
	}
	if got != lsn || !bytes.Equal(b, body) || (body == nil) != (b == nil) {
		t.Fatalf("ReadNewestSnapshot(%d) = lsn %d, %d bytes; want lsn %d, %d bytes (skipped %v)", maxLSN, got, len(b), lsn, len(body), skipped)
	}
	return skipped
}

func TestSnapshotRoundTrip(t *testing.T) {
	dir := t.TempDir()
	wantNewest(t, dir, math.MaxUint64, 0, nil) // none yet: replay from the start
	if _, err := WriteSnapshot(dir, 0, []byte("x")); err == nil {
		t.Fatal("WriteSnapshot at lsn 0 accepted")
	}
	b5, b10, b12 := snapBody(5, 1000), snapBody(10, 70000), []byte{}
	if name := mustWriteSnapshot(t, dir, 5, b5); name != "00000000000000000005.snap" {
		t.Fatalf("name %q", name)
	}
	mustWriteSnapshot(t, dir, 10, b10)
	mustWriteSnapshot(t, dir, 12, b12) // an empty body is a valid snapshot
	if s := wantNewest(t, dir, math.MaxUint64, 12, b12); len(s) != 0 {
		t.Fatalf("skipped %v", s)
	}
	wantNewest(t, dir, 12, 12, b12)
	// maxLSN below a snapshot: it is not trusted, and is reported.
	s := wantNewest(t, dir, 11, 10, b10)
	if len(s) != 1 || s[0].Segment != "00000000000000000012.snap" || !errors.Is(s[0].Err, ErrCorrupt) || !strings.Contains(s[0].Reason, "above the log's last lsn 11") {
		t.Fatalf("skipped %+v", s)
	}
	wantNewest(t, dir, 9, 5, b5)
	wantNewest(t, dir, 4, 0, nil)

	// Replacing a snapshot at the same LSN is atomic and leaves one file.
	b10b := snapBody(1010, 500)
	mustWriteSnapshot(t, dir, 10, b10b)
	wantNewest(t, dir, 11, 10, b10b)

	infos, err := ListSnapshots(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []SnapshotInfo{
		{Name: snapshotName(5), LSN: 5, Bytes: snapHeaderSize + 1000, BodyBytes: 1000, Valid: true},
		{Name: snapshotName(10), LSN: 10, Bytes: snapHeaderSize + 500, BodyBytes: 500, Valid: true},
		{Name: snapshotName(12), LSN: 12, Bytes: snapHeaderSize, BodyBytes: 0, Valid: true},
	}
	if fmt.Sprint(infos) != fmt.Sprint(want) {
		t.Fatalf("ListSnapshots:\n got %+v\nwant %+v", infos, want)
	}
	// The header is the documented one (docs/FORMAT.md).
	raw, _ := os.ReadFile(filepath.Join(dir, snapshotName(5)))
	le := binary.LittleEndian
	if string(raw[0:8]) != "ISTCSNAP" || le.Uint16(raw[8:]) != 1 || raw[10] != 1 || raw[11] != 0 ||
		le.Uint64(raw[16:]) != 5 || le.Uint64(raw[24:]) != 1000 || le.Uint32(raw[32:]) != crc32.Checksum(b5, crcTable) ||
		le.Uint32(raw[44:]) != crc32.Checksum(raw[:44], crcTable) || !bytes.Equal(raw[48:], b5) {
		t.Fatalf("header % x", raw[:48])
	}
}

// TestSnapshotWithAFlippedBitIsSkippedForAnOlderOne flips every bit of the
// newest snapshot in turn (header and body): the older snapshot must be
// chosen each time, and the damaged one reported, never trusted nor
// mistaken for an unknown format version.
func TestSnapshotWithAFlippedBitIsSkippedForAnOlderOne(t *testing.T) {
	dir := t.TempDir()
	old, newer := snapBody(10, 100), snapBody(20, 64)
	mustWriteSnapshot(t, dir, 10, old)
	path := filepath.Join(dir, mustWriteSnapshot(t, dir, 20, newer))
	orig, _ := os.ReadFile(path)
	for i := 0; i < len(orig)*8; i++ {
		b := bytes.Clone(orig)
		b[i/8] ^= 1 << (i % 8)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := wantNewest(t, dir, math.MaxUint64, 10, old)
		if len(s) != 1 || s[0].Segment != snapshotName(20) || !errors.Is(s[0].Err, ErrCorrupt) {
			t.Fatalf("bit %d: skipped %+v", i, s)
		}
	}
	os.WriteFile(path, orig, 0o644)
	wantNewest(t, dir, math.MaxUint64, 20, newer)
}

// TestTruncatedSnapshotIsSkippedForAnOlderOne cuts the newest snapshot at
// every interesting length.
func TestTruncatedSnapshotIsSkippedForAnOlderOne(t *testing.T) {
	dir := t.TempDir()
	old := snapBody(10, 100)
	mustWriteSnapshot(t, dir, 10, old)
	path := filepath.Join(dir, mustWriteSnapshot(t, dir, 20, snapBody(20, 4096)))
	orig, _ := os.ReadFile(path)
	for _, n := range []int{0, 1, 8, 11, 12, 47, 48, 49, 1000, len(orig) - 1} {
		os.WriteFile(path, orig[:n], 0o644)
		s := wantNewest(t, dir, math.MaxUint64, 10, old)
		if len(s) != 1 || !errors.Is(s[0].Err, ErrCorrupt) {
			t.Fatalf("cut at %d: skipped %+v", n, s)
		}
		if n >= snapHeaderSize && !strings.Contains(s[0].Reason, "truncated") {
			t.Fatalf("cut at %d: reason %q does not say truncated", n, s[0].Reason)
		}
	}
	// Extra bytes appended are damage too.
	os.WriteFile(path, append(bytes.Clone(orig), 0), 0o644)
	wantNewest(t, dir, math.MaxUint64, 10, old)
	// With no valid snapshot left: lsn 0, nil body, both reported.
	os.WriteFile(filepath.Join(dir, snapshotName(10)), nil, 0o644)
	if s := wantNewest(t, dir, math.MaxUint64, 0, nil); len(s) != 2 {
		t.Fatalf("skipped %+v", s)
	}
}

// TestSnapshotCrashAtEveryStep crashes WriteSnapshot at each of its
// file-system steps (through the FS seam: from the crash on, nothing more
// reaches the disk, not even the cleanup). Afterwards the newest valid
// snapshot is either the old one or the complete new one, nothing damaged
// is ever visible, and the next WriteSnapshot removes the leftovers.
func TestSnapshotCrashAtEveryStep(t *testing.T) {
	oldBody, newBody := snapBody(10, 3000), snapBody(20, 5000)
	for k := 1; ; k++ {
		dir := t.TempDir()
		mustWriteSnapshot(t, dir, 10, oldBody)
		// A leftover of an earlier crash, which step 1 removes.
		os.WriteFile(filepath.Join(dir, snapshotName(15)+".tmp"), []byte("half"), 0o644)
		ffs := &faultFS{}
		ffs.CrashAfter(k)
		_, err := WriteSnapshot(dir, 20, newBody, Options{FS: ffs})
		ops := strings.Join(ffs.ops, " ")
		if err == nil {
			if k < 6 {
				t.Fatalf("a snapshot write of only %d steps? ops: %s", k-1, ops)
			}
			wantNewest(t, dir, math.MaxUint64, 20, newBody)
			return // k passed the last step: every crash point was covered
		}
		if !errors.Is(err, errCrash) {
			t.Fatalf("step %d: %v", k, err)
		}
		t.Run(fmt.Sprintf("crash at step %d (%s)", k, ffs.ops[k-1]), func(t *testing.T) {
			got, body, skipped, err := ReadNewestSnapshot(dir, math.MaxUint64)
			if err != nil || len(skipped) != 0 {
				t.Fatalf("after the crash: %v, skipped %+v", err, skipped)
			}
			switch {
			case got == 10 && bytes.Equal(body, oldBody):
			case got == 20 && bytes.Equal(body, newBody):
			default:
				t.Fatalf("after the crash the newest snapshot is lsn %d (%d bytes)", got, len(body))
			}
			infos, err := ListSnapshots(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range infos {
				if !s.Valid {
					t.Fatalf("a damaged snapshot is visible: %+v", s)
				}
			}
			mustWriteSnapshot(t, dir, 30, snapBody(30, 10))
			if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) != 0 {
				t.Fatalf("leftover %v after the next WriteSnapshot", tmps)
			}
			wantNewest(t, dir, math.MaxUint64, 30, snapBody(30, 10))
		})
	}
}

// rewriteHeader changes a snapshot's header with fn and fixes its CRC, as
// a newer build writing a newer format would.
func rewriteHeader(t *testing.T, path string, fn func(h []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fn(b[:snapHeaderSize])
	binary.LittleEndian.PutUint32(b[44:48], crc32.Checksum(b[:44], crcTable))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotOfUnknownVersionIsRefusedClearly: a snapshot written by a
// newer build (a version, checksum algorithm or flag this build does not
// know, with a header checksum that verifies) must stop startup with
// ErrVersion naming the file, not be misread, and not be silently passed
// over for older state. Prune leaves it alone.
func TestSnapshotOfUnknownVersionIsRefusedClearly(t *testing.T) {
	cases := []struct {
		name, want string
		fn         func(h []byte)
	}{
		{"version 2", "format version 2", func(h []byte) { binary.LittleEndian.PutUint16(h[8:], 2) }},
		{"checksum algorithm 9", "checksum algorithm 9", func(h []byte) { h[10] = 9 }},
		{"unknown flag", "flags 0x01", func(h []byte) { h[11] = 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustWriteSnapshot(t, dir, 10, snapBody(10, 10))
			mustWriteSnapshot(t, dir, 20, snapBody(20, 10))
			mustWriteSnapshot(t, dir, 30, snapBody(30, 10))
			rewriteHeader(t, filepath.Join(dir, snapshotName(30)), tc.fn)
			_, body, _, err := ReadNewestSnapshot(dir, math.MaxUint64)
			if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), snapshotName(30)) || !strings.Contains(err.Error(), tc.want) || body != nil {
				t.Fatalf("ReadNewestSnapshot: %v, want ErrVersion naming %s and %q", err, snapshotName(30), tc.want)
			}
			t.Logf("%v", err)
			infos, _ := ListSnapshots(dir)
			if len(infos) != 3 || infos[2].Valid || !errors.Is(infos[2].Problem.Err, ErrVersion) {
				t.Fatalf("ListSnapshots: %+v", infos)
			}
			removed, err := PruneSnapshots(dir, 1)
			if err != nil || len(removed) != 1 || removed[0] != snapshotName(10) {
				t.Fatalf("PruneSnapshots: %v %v", removed, err)
			}
			if _, err := os.Stat(filepath.Join(dir, snapshotName(30))); err != nil {
				t.Fatalf("Prune removed the unknown-version snapshot: %v", err)
			}
		})
	}
}

// TestPruneSnapshotsNeverDeletesTheNewestValidOne: with the newest file
// damaged, "keep 1" must keep the newest *valid* snapshot, not the damaged
// file, and keep 0 means keep 1.
func TestPruneSnapshotsNeverDeletesTheNewestValidOne(t *testing.T) {
	dir := t.TempDir()
	for _, lsn := range []uint64{10, 20, 30, 40} {
		mustWriteSnapshot(t, dir, lsn, snapBody(lsn, 100))
	}
	flipByte(t, filepath.Join(dir, snapshotName(40)), snapHeaderSize+5)
	removed, err := PruneSnapshots(dir, 2)
	if err != nil || fmt.Sprint(removed) != fmt.Sprint([]string{snapshotName(10)}) {
		t.Fatalf("Prune keep 2: %v %v", removed, err)
	}
	removed, err = PruneSnapshots(dir, 0)
	if err != nil || fmt.Sprint(removed) != fmt.Sprint([]string{snapshotName(20)}) {
		t.Fatalf("Prune keep 0: %v %v", removed, err)
	}
	wantNewest(t, dir, math.MaxUint64, 30, snapBody(30, 100))
	if removed, _ := PruneSnapshots(dir, 0); len(removed) != 0 {
		t.Fatalf("Prune removed the last valid snapshot: %v", removed)
	}
	infos, _ := ListSnapshots(dir)
	if len(infos) != 2 || !infos[0].Valid || infos[1].Valid || infos[1].LSN != 40 {
		t.Fatalf("left %+v", infos)
	}
}

// TestSnapshotsShareTheLogDirectory: snapshot files and their leftovers in
// the log's directory are ignored by Open, Validate and rotation.
func TestSnapshotsShareTheLogDirectory(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	appendN(t, l, 5)
	mustWriteSnapshot(t, dir, 5, snapBody(5, 10))
	os.WriteFile(filepath.Join(dir, snapshotName(9)+".tmp"), []byte("x"), 0o644)
	appendN(t, l, 2)
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	rep, err := Validate(dir, checkOpts)
	if err != nil || !rep.OK() || rep.Records != 7 || len(rep.TempFiles) != 0 {
		t.Fatalf("Validate: %v %+v", err, rep)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkContiguous(t, readAll(t, l), 1, 7)
	wantNewest(t, dir, l.LastLSN(), 5, snapBody(5, 10))
}
