package persistence

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// batchLog writes three single records and then a batch of three (LSNs
// 4-6) into one segment, closes the log, and returns the directory, the
// segment's path, the offset where the batch starts and the one where its
// last payload ends (its padding follows).
func batchLog(t *testing.T) (dir, seg string, start, end int64) {
	t.Helper()
	dir = t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10})
	appendN(t, l, 3)
	if first, err := l.AppendBatch([]Payload{testTxn(0), testRec{Body: []byte("second of the batch")}, testTxn(0)}); err != nil || first != 4 {
		t.Fatalf("AppendBatch: %d, %v", first, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seg = segFiles(t, dir)[0]
	offs, _ := frameOffsets(t, seg)
	if len(offs) != 6 {
		t.Fatalf("%d frames, want 6", len(offs))
	}
	b, _ := os.ReadFile(seg)
	n, _ := frameLength(b[offs[5]:])
	return dir, seg, offs[3], offs[5] + frameHeaderSize + int64(n)
}

// TestBatchFramesCarryTheFlag checks the bytes: every frame of a batch but
// its last has frameContinues in its length field, and single records
// have none.
func TestBatchFramesCarryTheFlag(t *testing.T) {
	_, seg, _, _ := batchLog(t)
	b, _ := os.ReadFile(seg)
	if v := binary.LittleEndian.Uint16(b[8:10]); v != formatVersion {
		t.Fatalf("segment format version %d, want %d", v, formatVersion)
	}
	offs, _ := frameOffsets(t, seg)
	for i, off := range offs {
		cont := binary.LittleEndian.Uint32(b[off+4:])&frameContinues != 0
		if want := i == 3 || i == 4; cont != want {
			t.Errorf("frame %d (lsn %d): batch flag %v, want %v", i, i+1, cont, want)
		}
	}
}

// TestTornBatchIsCutWhole cuts the segment at every byte offset inside a
// batch of three, and separately zeroes it from there (a write whose last
// pages did not land), and checks that every reader delivers the batch
// whole or not at all: Validate reports the torn tail at the batch's first
// frame, a Reader stops before it, and Open cuts it whole (its bytes kept
// in the .broken file) so that the next record appended takes its first
// LSN and is read as a record of its own.
func TestTornBatchIsCutWhole(t *testing.T) {
	_, seg, start, end := batchLog(t)
	orig, _ := os.ReadFile(seg)
	name := filepath.Base(seg)
	for _, zero := range []bool{false, true} {
		for cut := start; cut <= end; cut++ {
			d := t.TempDir()
			b := slices.Clone(orig)
			if zero {
				clear(b[cut:end])
			} else {
				b = b[:cut]
			}
			if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
			whole, torn := cut == end, cut > start && cut < end
			want := []uint64{1, 2, 3}
			if whole {
				want = []uint64{1, 2, 3, 4, 5, 6}
			}
			rep, err := Validate(d, checkOpts)
			if err != nil || rep.Problem != nil {
				t.Fatalf("zero=%v cut %d: Validate: %v %v", zero, cut, err, rep.Problem)
			}
			if int(rep.Records) != len(want) || rep.TornTail != torn {
				t.Fatalf("zero=%v cut %d: Validate: %d records, torn %v", zero, cut, rep.Records, rep.TornTail)
			}
			// Once its first frame is whole, the problem is the batch's.
			inBatch := cut == end-1
			if torn && (rep.Torn.Offset != start || rep.Torn.LSN != 4 || inBatch && !strings.Contains(rep.Torn.Reason, "batch from lsn 4 has no last frame")) {
				t.Fatalf("zero=%v cut %d: torn at %+v, want offset %d lsn 4 (a batch without its last frame)", zero, cut, rep.Torn, start)
			}
			if got := readLSNs(t, d); !slices.Equal(got, want) {
				t.Fatalf("zero=%v cut %d: a reader delivered %v, want %v", zero, cut, got, want)
			}
			if sl, err := Open(d, Options{Recovery: RecoverStrict, Check: testCheck}); torn != (err != nil) || torn && !errors.Is(err, ErrTornTail) {
				t.Fatalf("zero=%v cut %d: strict Open: %v", zero, cut, err)
			} else if err == nil {
				sl.Close()
			}
			l := mustOpen(t, d, Options{SegmentSize: 64 << 10})
			if got := l.LastLSN(); got != want[len(want)-1] {
				t.Fatalf("zero=%v cut %d: Open: last lsn %d, want %d", zero, cut, got, want[len(want)-1])
			}
			lsn, err := l.Append(testRec{Body: []byte("after the cut")})
			if err != nil || lsn != want[len(want)-1]+1 {
				t.Fatalf("zero=%v cut %d: Append after reopen: %d, %v", zero, cut, lsn, err)
			}
			l.Close()
			if got := readLSNs(t, d); !slices.Equal(got, append(want, lsn)) {
				t.Fatalf("zero=%v cut %d: after the append a reader delivered %v", zero, cut, got)
			}
			broken, _ := filepath.Glob(filepath.Join(d, "*.broken"))
			if saved := torn && lastNonZero(b[start:]) > 0; saved != (len(broken) == 1) {
				t.Fatalf("zero=%v cut %d: .broken files %v, want the cut bytes saved: %v", zero, cut, broken, saved)
			}
		}
	}
}

// readLSNs reads a log with a Reader and returns the LSNs it delivered; it
// fails the test if the reader ends with an error.
func readLSNs(t *testing.T, dir string) []uint64 {
	t.Helper()
	r, err := NewReader(dir, 1, checkOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []uint64
	for r.Next() {
		got = append(got, r.Record().LSN)
	}
	if r.Err() != nil {
		t.Fatalf("reader: %v", r.Err())
	}
	return got
}

// setBatchFlag rewrites the frame at off with frameContinues set and a
// valid checksum.
func setBatchFlag(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := frameLength(b[off:])
	encodeFrameHeader(b[off:off+frameHeaderSize+int64(n)], n, binary.LittleEndian.Uint64(b[off+8:]), true)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSealedSegmentEndingInsideABatchIsCorrupt: a batch never spans
// segments, so a sealed segment whose last frame says that the next one
// belongs to its batch lost data that was acknowledged: corruption,
// never cut, naming the batch's first frame.
func TestSealedSegmentEndingInsideABatchIsCorrupt(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10})
	appendN(t, l, 2)
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 2)
	l.Close()
	seg := segFiles(t, dir)[0]
	offs, _ := frameOffsets(t, seg)
	setBatchFlag(t, seg, offs[0])
	setBatchFlag(t, seg, offs[1])
	rep, err := Validate(dir, checkOpts)
	if err != nil || rep.Problem == nil || !errors.Is(rep.Problem.Err, ErrCorrupt) {
		t.Fatalf("Validate: %v, problem %v", err, rep.Problem)
	}
	if rep.Problem.Segment != filepath.Base(seg) || rep.Problem.Offset != offs[0] || rep.Problem.LSN != 1 || !strings.Contains(rep.Problem.Reason, "sealed segment") {
		t.Fatalf("problem %+v, want segment %s offset %d lsn 1 in a sealed segment", rep.Problem, filepath.Base(seg), offs[0])
	}
	r, err := NewReader(dir, 1, checkOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		t.Fatalf("a reader delivered lsn %d of the broken batch", r.Record().LSN)
	}
	if !errors.Is(r.Err(), ErrCorrupt) {
		t.Fatalf("reader: %v, want ErrCorrupt", r.Err())
	}
}

// toVersion1 rewrites the header of every segment of dir as format
// version 1 (the frames of a log without batches are the same in both).
func toVersion1(t *testing.T, dir string) {
	t.Helper()
	for _, seg := range segFiles(t, dir) {
		b, _ := os.ReadFile(seg)
		binary.LittleEndian.PutUint16(b[8:10], 1)
		binary.LittleEndian.PutUint32(b[28:32], crc32c(b[0:28]))
		if err := os.WriteFile(seg, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func segVersions(t *testing.T, dir string) []uint16 {
	t.Helper()
	var vs []uint16
	for _, seg := range segFiles(t, dir) {
		b, _ := os.ReadFile(seg)
		vs = append(vs, binary.LittleEndian.Uint16(b[8:10]))
	}
	return vs
}

// TestVersion1LogIsReadAndUpgradedOnOpen: a log written by a build of
// format version 1 is read as it is (read-only Open, Validate and readers
// change nothing), and a writable Open gives it an active segment of
// version 2 before anything is appended: an empty version 1 segment is
// replaced, one holding records is sealed and followed by a new one.
// Batches appended after are read whole, beside the old records.
func TestVersion1LogIsReadAndUpgradedOnOpen(t *testing.T) {
	for _, empty := range []bool{false, true} {
		dir := t.TempDir()
		l := mustOpen(t, dir, Options{SegmentSize: 64 << 10})
		appendN(t, l, 3)
		if err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
		if !empty {
			appendN(t, l, 2)
		}
		l.Close()
		toVersion1(t, dir)
		before := dirState(t, dir)
		if rep, err := Validate(dir, checkOpts); err != nil || !rep.OK() {
			t.Fatalf("empty=%v: Validate of the version 1 log: %v %+v", empty, err, rep)
		}
		ro, err := Open(dir, Options{Recovery: RecoverReadOnly, Check: testCheck})
		if err != nil {
			t.Fatal(err)
		}
		ro.Close()
		if after := dirState(t, dir); !mapsEqual(before, after) {
			t.Fatalf("empty=%v: reading a version 1 log changed it", empty)
		}
		n := uint64(5)
		wantVersions := []uint16{1, 1, 2}
		if empty {
			n, wantVersions = 3, []uint16{1, 2}
		}
		l = mustOpen(t, dir, Options{SegmentSize: 64 << 10})
		if l.LastLSN() != n {
			t.Fatalf("empty=%v: last lsn %d, want %d", empty, l.LastLSN(), n)
		}
		if got := segVersions(t, dir); !slices.Equal(got, wantVersions) {
			t.Fatalf("empty=%v: segment versions %v after a writable Open, want %v", empty, got, wantVersions)
		}
		if first, err := l.AppendBatch([]Payload{testTxn(0), testTxn(0)}); err != nil || first != n+1 {
			t.Fatalf("AppendBatch: %d, %v", first, err)
		}
		l.Close()
		if got := readLSNs(t, dir); len(got) != int(n)+2 || got[len(got)-1] != n+2 {
			t.Fatalf("empty=%v: read %v", empty, got)
		}
		if rep, err := Validate(dir, checkOpts); err != nil || !rep.OK() || rep.Records != int64(n)+2 {
			t.Fatalf("empty=%v: Validate after the upgrade: %v %+v", empty, err, rep)
		}
	}
}

// TestVersion1FrameWithTheBatchFlagIsDamage: in a version 1 segment bit
// 31 of the length field is part of the length, as it always was: a
// frame with it set is too long, which is damage, never a batch.
func TestVersion1FrameWithTheBatchFlagIsDamage(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10})
	appendN(t, l, 3)
	l.Close()
	seg := segFiles(t, dir)[0]
	offs, _ := frameOffsets(t, seg)
	setBatchFlag(t, seg, offs[1])
	toVersion1(t, dir)
	rep, err := Validate(dir, checkOpts)
	if err != nil || rep.Problem == nil || rep.Problem.Offset != offs[1] || !strings.Contains(rep.Problem.Reason, "exceeds the maximum") {
		t.Fatalf("Validate: %v, problem %v; want damage at offset %d", err, rep.Problem, offs[1])
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
