package persistence

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestHeaderBitFlipIsCorruption flips every bit of a segment header, one at
// a time, including the version and checksum-algorithm bytes. Each flip is
// damage: Open, a Reader and Validate report ErrCorrupt (never ErrVersion)
// naming the segment and its first LSN, and Repair acts on it as the
// documented rules say (the segment is moved aside), after which the log
// opens.
func TestHeaderBitFlipIsCorruption(t *testing.T) {
	dir0, seg0 := newLog(t, 3)
	orig, err := os.ReadFile(seg0)
	if err != nil {
		t.Fatal(err)
	}
	_ = dir0
	for bit := 0; bit < segHeaderSize*8; bit++ {
		off := bit / 8
		if off < 8 {
			continue // the magic: a file that is not ours, tested apart
		}
		t.Run(fmt.Sprintf("byte%d_bit%d", off, bit%8), func(t *testing.T) {
			dir := t.TempDir()
			seg := dir + "/" + segmentName(1)
			b := append([]byte(nil), orig...)
			b[off] ^= 1 << (bit % 8)
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for name, err := range openErrors(t, dir) {
				if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrVersion) {
					t.Fatalf("%s: %v, want ErrCorrupt and not ErrVersion", name, err)
				}
				if !strings.Contains(err.Error(), "segment "+segmentName(1)+" offset 0 lsn 1:") {
					t.Fatalf("%s: %v, want the segment, offset 0 and lsn 1", name, err)
				}
			}
			rep, err := Validate(dir, checkOpts)
			if err != nil || rep.Problem == nil || !errors.Is(rep.Problem.Err, ErrCorrupt) || errors.Is(rep.Problem.Err, ErrVersion) ||
				rep.Problem.Offset != 0 || rep.Problem.LSN != 1 {
				t.Fatalf("Validate: %v %+v", err, rep.Problem)
			}
			rr, err := Repair(dir, checkOpts)
			if err != nil || rr.Action != "truncated at corruption" || len(rr.MovedSegments) != 1 {
				t.Fatalf("Repair: %v %+v", err, rr)
			}
			l := mustOpen(t, dir, Options{})
			if l.LastLSN() != 0 {
				t.Errorf("after repair: last lsn %d, want 0", l.LastLSN())
			}
			l.Close()
		})
	}
}

// TestHeaderBitFlipInSealedSegmentIsCorruption: a flipped version bit in a
// sealed segment's header is corruption at that segment, and Repair cuts
// the log there, keeping the earlier segments.
func TestHeaderBitFlipInSealedSegmentIsCorruption(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: MinSegmentSize, Sync: SyncNone})
	appendN(t, l, 60)
	l.Close()
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(segs))
	}
	flipByte(t, segs[1], 8) // the version's low byte
	rep, err := Validate(dir, checkOpts)
	if err != nil || rep.Problem == nil || !errors.Is(rep.Problem.Err, ErrCorrupt) || rep.Problem.Offset != 0 {
		t.Fatalf("Validate: %v %+v", err, rep.Problem)
	}
	first, _ := parseSegmentName(rep.Problem.Segment)
	if rep.Problem.LSN != first || rep.LastLSN != first-1 {
		t.Fatalf("problem at lsn %d (segment starts at %d), valid up to %d", rep.Problem.LSN, first, rep.LastLSN)
	}
	if err := openErr(dir, checkOpts); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrVersion) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
	rr, err := Repair(dir, checkOpts)
	if err != nil || rr.LastLSN != first-1 {
		t.Fatalf("Repair: %v %+v", err, rr)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkContiguous(t, readAll(t, l), 1, int(first-1))
}

// openErrors returns what each way of opening the log in dir (Open,
// read-only Open, a Reader), with the test format's check, reports.
func openErrors(t *testing.T, dir string) map[string]error {
	t.Helper()
	_, rerr := readChecked(t, dir)
	return map[string]error{
		"Open":           openErr(dir, checkOpts),
		"Open read-only": openErr(dir, Options{Recovery: RecoverReadOnly, Check: testCheck}),
		"NewReader":      rerr,
	}
}
