package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newLog writes n test records into a fresh log with one segment of 64 KiB
// and returns the directory and the segment path.
func newLog(t *testing.T, n int) (dir, seg string) {
	t.Helper()
	dir = t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10, Sync: SyncNone})
	appendN(t, l, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, segFiles(t, dir)[0]
}

func TestOpenOnTornWrite(t *testing.T) {
	const n = 5
	dir0, seg0 := newLog(t, n)
	orig, err := os.ReadFile(seg0)
	if err != nil {
		t.Fatal(err)
	}
	offs, end := frameOffsets(t, seg0)
	last := offs[n-1]
	payloadEnd := last + frameHeaderSize + int64(binary.LittleEndian.Uint32(orig[last+4:]))
	_ = dir0
	tests := []struct {
		name   string
		zeroed bool
		make   func(cut int64) []byte
	}{
		{"file cut", false, func(cut int64) []byte { return append([]byte(nil), orig[:cut]...) }},
		{"zeroed tail", true, func(cut int64) []byte {
			b := append([]byte(nil), orig...)
			clear(b[cut:end])
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for cut := last; cut < end; cut++ {
				dir := t.TempDir()
				seg := filepath.Join(dir, filepath.Base(seg0))
				if err := os.WriteFile(seg, tc.make(cut), 0o644); err != nil {
					t.Fatal(err)
				}
				want := n - 1
				if cut >= payloadEnd || (tc.zeroed && allZero(orig[cut:payloadEnd])) {
					want = n // only zero bytes (padding) were lost
				}
				l, err := Open(dir, Options{SegmentSize: 64 << 10, Sync: SyncNone, Check: testCheck})
				if err != nil {
					t.Fatalf("cut at %d: Open: %v", cut, err)
				}
				checkContiguous(t, readAll(t, l), 1, want)
				if got := l.LastLSN(); got != uint64(want) {
					t.Fatalf("cut at %d: LastLSN %d, want %d", cut, got, want)
				}
				appendN(t, l, 2)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				broken, _ := filepath.Glob(filepath.Join(dir, "*.broken"))
				if hasTorn := want == n-1 && !allZero(orig[last:cut]); hasTorn != (len(broken) == 1) {
					t.Fatalf("cut at %d: .broken files %v", cut, broken)
				}
				l = mustOpen(t, dir, Options{SegmentSize: 64 << 10})
				checkContiguous(t, readAll(t, l), 1, want+2)
				l.Close()
			}
		})
	}
}

func TestOpenOnTornWriteStrictAndReadOnly(t *testing.T) {
	dir, seg := newLog(t, 3)
	offs, _ := frameOffsets(t, seg)
	if err := os.Truncate(seg, offs[2]+5); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)
	if _, err := Open(dir, Options{Recovery: RecoverStrict, Check: testCheck}); !errors.Is(err, ErrTornTail) {
		t.Fatalf("strict Open: %v, want ErrTornTail", err)
	}
	l, err := Open(dir, Options{Recovery: RecoverReadOnly, Check: testCheck})
	if err != nil {
		t.Fatalf("read-only Open: %v", err)
	}
	checkContiguous(t, readAll(t, l), 1, 2)
	if l.TornTail() == nil || l.TornTail().Offset != offs[2] {
		t.Fatalf("TornTail %v, want offset %d", l.TornTail(), offs[2])
	}
	if _, err := l.Append(testTxn(3)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only Append: %v", err)
	}
	if err := l.Rotate(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only Rotate: %v", err)
	}
	l.Close()
	if after := dirState(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("strict or read-only Open wrote:\nbefore %v\nafter  %v", before, after)
	}
}

// readChecked reads every record it can from dir with a Reader (with the
// test format's check), failing the test if any record returned differs
// from what was written.
func readChecked(t *testing.T, dir string) (n int, err error) {
	t.Helper()
	r, err := NewReader(dir, 0, checkOpts)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for r.Next() {
		checkTxn(t, r.Record().Payload, r.Record().LSN)
		n++
	}
	if r.Torn() != nil {
		return n, r.Torn().Err
	}
	return n, r.Err()
}

func TestBitFlipsAreDetected(t *testing.T) {
	_, seg0 := newLog(t, 3)
	offs, end := frameOffsets(t, seg0)
	orig, _ := os.ReadFile(seg0)
	orig = orig[:end] // no preallocated tail: smaller files, same verdicts
	frameEnd := func(i int) int64 {
		return offs[i] + frameHeaderSize + int64(binary.LittleEndian.Uint32(orig[offs[i]+4:]))
	}
	dir := t.TempDir()
	seg := filepath.Join(dir, filepath.Base(seg0))
	tests := []struct {
		name     string
		from, to int64
		want     error
	}{
		{"middle record", offs[1], frameEnd(1), ErrCorrupt},
		{"first record", offs[0], frameEnd(0), ErrCorrupt},
		{"last record", offs[2], frameEnd(2), nil}, // torn or corrupt, never read
		{"segment header", 0, segHeaderSize, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for bit := tc.from * 8; bit < tc.to*8; bit++ {
				b := append([]byte(nil), orig...)
				b[bit/8] ^= 1 << (bit % 8)
				if err := os.WriteFile(seg, b, 0o644); err != nil {
					t.Fatal(err)
				}
				n, err := readChecked(t, dir)
				if err == nil {
					t.Fatalf("flip of bit %d went unnoticed (%d records read)", bit, n)
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("flip of bit %d: %v, want %v", bit, err, tc.want)
				}
			}
		})
	}
	t.Run("random bits anywhere", func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		for i := 0; i < 300; i++ {
			b := append([]byte(nil), orig...)
			for k := 0; k < 1+rng.Intn(4); k++ {
				bit := rng.Int63n(end * 8)
				b[bit/8] ^= 1 << (bit % 8)
			}
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			readChecked(t, dir) // fails the test on any wrong record
		}
	})
}

func TestMidLogCorruption(t *testing.T) {
	tests := []struct {
		name string
		// damage changes the log in dir and returns the segment and offset it hit.
		damage func(t *testing.T, dir string) (seg string, off int64)
		open   bool // Open itself fails (damage in the last segment)
	}{
		{"bad crc followed by valid frame", func(t *testing.T, dir string) (string, int64) {
			seg := segFiles(t, dir)[0]
			offs, _ := frameOffsets(t, seg)
			flipByte(t, seg, offs[1]+frameHeaderSize+3)
			return filepath.Base(seg), offs[1]
		}, true},
		{"zeroed frame followed by valid frame", func(t *testing.T, dir string) (string, int64) {
			seg := segFiles(t, dir)[0]
			offs, _ := frameOffsets(t, seg)
			zeroRange(t, seg, offs[1], offs[2])
			return filepath.Base(seg), offs[1]
		}, true},
		{"valid frame with a skipped lsn", func(t *testing.T, dir string) (string, int64) {
			seg := segFiles(t, dir)[0]
			offs, _ := frameOffsets(t, seg)
			rewriteFrameLSN(t, seg, offs[1], 7)
			return filepath.Base(seg), offs[1]
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := newLog(t, 4)
			seg, off := tc.damage(t, dir)
			_, err := Open(dir, checkOpts)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			wantPlace := fmt.Sprintf("segment %s offset %d lsn 2", seg, off)
			if !strings.Contains(err.Error(), wantPlace) {
				t.Fatalf("error %q does not name %q", err, wantPlace)
			}
			rep, err := Validate(dir, checkOpts)
			if err != nil || rep.Problem == nil || rep.Problem.Offset != off || rep.Problem.LSN != 2 || rep.Records != 1 {
				t.Fatalf("Validate: %v %+v", err, rep)
			}
		})
	}
}

func TestLSNGapAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: MinSegmentSize, Sync: SyncNone}
	l := mustOpen(t, dir, o)
	appendN(t, l, 100)
	l.Close()
	segs := segFiles(t, dir)
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	if err := os.Remove(segs[1]); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, o) // sealed segments are checked when read
	err := l.Replay(0, func(Record) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "segment "+filepath.Base(segs[2])+" offset 0") {
		t.Fatalf("Replay over a missing segment: %v", err)
	}
	if _, err := l.Append(testTxn(101)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Append after corruption was seen: %v, want the sticky ErrCorrupt", err)
	}
	l.Close()
	rep, err := Validate(dir, checkOpts)
	if err != nil || rep.Problem == nil || !errors.Is(rep.Problem.Err, ErrCorrupt) || rep.Problem.Segment != filepath.Base(segs[2]) {
		t.Fatalf("Validate: %v %+v", err, rep.Problem)
	}
	if _, err := NewReader(dir, 1, checkOpts); !errors.Is(err, nil) {
		t.Fatalf("NewReader: %v", err)
	}
}

func TestCorruptionInSealedSegment(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: MinSegmentSize, Sync: SyncNone}
	l := mustOpen(t, dir, o)
	appendN(t, l, 60)
	l.Close()
	seg := segFiles(t, dir)[0]
	offs, _ := frameOffsets(t, seg)
	last := offs[len(offs)-1]
	flipByte(t, seg, last+frameHeaderSize) // the last frame of a sealed segment: corruption, not torn
	rep, err := Validate(dir, checkOpts)
	if err != nil || rep.Problem == nil || rep.Problem.Offset != last || rep.TornTail {
		t.Fatalf("Validate: %v problem %v torn %v", err, rep.Problem, rep.Torn)
	}
}

func TestUnknownFormatVersionIsRefused(t *testing.T) {
	for _, version := range []uint16{0, formatVersion + 1, 0xffff} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			dir, seg := newLog(t, 2)
			b, _ := os.ReadFile(seg)
			binary.LittleEndian.PutUint16(b[8:10], version)
			binary.LittleEndian.PutUint32(b[28:32], crc32c(b[0:28]))
			os.WriteFile(seg, b, 0o644)
			for name, err := range map[string]error{
				"Open":           openErr(dir, checkOpts),
				"Open read-only": openErr(dir, Options{Recovery: RecoverReadOnly, Check: testCheck}),
				"Repair":         func() error { _, err := Repair(dir, checkOpts); return err }(),
				"NewReader": func() error {
					_, err := readChecked(t, dir)
					return err
				}(),
			} {
				if !errors.Is(err, ErrVersion) {
					t.Errorf("%s: %v, want ErrVersion", name, err)
				}
			}
			if rep, err := Validate(dir, checkOpts); err != nil || rep.Problem == nil || !errors.Is(rep.Problem.Err, ErrVersion) {
				t.Errorf("Validate: %v %+v", err, rep)
			}
		})
	}
}

func openErr(dir string, o Options) error {
	l, err := Open(dir, o)
	if err == nil {
		l.Close()
	}
	return err
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func zeroRange(t *testing.T, path string, from, to int64) {
	t.Helper()
	b, _ := os.ReadFile(path)
	clear(b[from:to])
	os.WriteFile(path, b, 0o644)
}

// rewriteFrameLSN changes the LSN of the frame at off (in its header and in
// its test-format payload) and recomputes its checksum: a valid frame in
// the wrong place.
func rewriteFrameLSN(t *testing.T, path string, off int64, lsn uint64) {
	t.Helper()
	rewriteFrame(t, path, off, func(n int, payload []byte) (int, uint64) {
		if n < 8 {
			t.Fatal("no lsn in payload")
		}
		binary.LittleEndian.PutUint64(payload, lsn)
		return n, lsn
	})
}

// rewriteFrame lets edit change the payload of the frame at off of the
// segment file path in place (it is given the payload's length and the
// payload, and returns the new length, at most the old one, and the
// frame's LSN), then recomputes the frame header and its checksum: a
// CRC-valid frame with whatever payload edit made.
func rewriteFrame(t *testing.T, path string, off int64, edit func(n int, payload []byte) (int, uint64)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := decodeFrameHeader(b[off:])
	size := int(h.length &^ frameContinues)
	frame := b[off : off+frameHeaderSize+int64(size)]
	n, lsn := edit(size, frame[frameHeaderSize:])
	if n > size {
		t.Fatalf("rewriteFrame: cannot grow a payload from %d to %d bytes", size, n)
	}
	clear(frame[frameHeaderSize+n:])
	encodeFrameHeader(frame, n, lsn, h.length&frameContinues != 0)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCRCValidFrameThatFailsTheCheckIsCorruption recreates records that
// were written so (a writer bug or a forged record, not a torn write):
// frames whose checksum is valid but whose payload Options.Check refuses,
// in the middle of the log and as its last record. Open (writable and
// read-only), a Reader, Validate and ValidateEach all report corruption at
// that frame (ErrCorrupt naming segment, offset and LSN, with the check's
// reason; never a torn tail); Repair cuts the log there, and the log then
// opens and continues. A reader without the check sees a healthy log: the
// frames are valid, only the payload check refuses them.
func TestCRCValidFrameThatFailsTheCheckIsCorruption(t *testing.T) {
	malformations := []struct {
		name   string
		edit   func(which int) func(n int, p []byte) (int, uint64)
		reason string
		// frameValid: the frames are still a valid chain without the check.
		frameValid bool
	}{
		{"payload lsn off by one", func(which int) func(int, []byte) (int, uint64) {
			return func(n int, p []byte) (int, uint64) {
				binary.LittleEndian.PutUint64(p, uint64(which+1))
				return n, uint64(which)
			}
		}, "payload lsn %d disagrees with frame lsn %d", true},
		{"payload shorter than its lsn", func(which int) func(int, []byte) (int, uint64) {
			return func(n int, p []byte) (int, uint64) { return 4, uint64(which) }
		}, "payload of 4 bytes is shorter than its 8-byte lsn", false},
	}
	for _, m := range malformations {
		for _, which := range []int{3, 5} {
			name := m.name + map[int]string{3: " (middle)", 5: " (last record)"}[which]
			t.Run(name, func(t *testing.T) {
				dir, seg := newLog(t, 5)
				offs, _ := frameOffsets(t, seg)
				off := offs[which-1]
				rewriteFrame(t, seg, off, m.edit(which))
				where := fmt.Sprintf("segment %s offset %d lsn %d:", segmentName(1), off, which)
				reason := m.reason
				if strings.Contains(reason, "%d") {
					reason = fmt.Sprintf(reason, which+1, which)
				}

				rep, err := Validate(dir, checkOpts)
				if err != nil || rep.Problem == nil || rep.TornTail || !errors.Is(rep.Problem.Err, ErrCorrupt) ||
					rep.Problem.Segment != segmentName(1) || rep.Problem.Offset != off || rep.Problem.LSN != uint64(which) ||
					rep.LastLSN != uint64(which-1) || rep.Records != int64(which-1) {
					t.Fatalf("Validate: %v problem %+v torn %v last %d", err, rep.Problem, rep.Torn, rep.LastLSN)
				}
				if !strings.Contains(rep.Problem.Err.Error(), where) || !strings.Contains(rep.Problem.Reason, reason) {
					t.Fatalf("Validate: %v (reason %q), want %q and %q", rep.Problem.Err, rep.Problem.Reason, where, reason)
				}
				seen := 0
				each, err := ValidateEach(dir, func(r Record) error { checkTxn(t, r.Payload, r.LSN); seen++; return nil }, checkOpts)
				if err != nil || each.Problem == nil || each.TornTail || !errors.Is(each.Problem.Err, ErrCorrupt) ||
					each.Problem.Offset != off || each.Problem.LSN != uint64(which) || each.Records != int64(which-1) || seen != which-1 {
					t.Fatalf("ValidateEach: %v problem %+v torn %v, %d records seen", err, each.Problem, each.Torn, seen)
				}
				if !strings.Contains(each.Problem.Err.Error(), where) || !strings.Contains(each.Problem.Reason, reason) {
					t.Fatalf("ValidateEach: %v, want %q and %q", each.Problem.Err, where, reason)
				}
				for name, err := range openErrors(t, dir) {
					if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), reason) {
						t.Fatalf("%s: %v, want ErrCorrupt at %q with %q", name, err, where, reason)
					}
				}
				if m.frameValid {
					if rep, err := Validate(dir); err != nil || !rep.OK() || rep.Records != 5 {
						t.Fatalf("Validate without the check: %v %+v", err, rep)
					}
				}
				rr, err := Repair(dir, checkOpts)
				if err != nil || rr.Action != "truncated at corruption" || rr.LastLSN != uint64(which-1) || rr.Problem.Offset != off {
					t.Fatalf("Repair: %v %+v", err, rr)
				}
				l := mustOpen(t, dir, Options{})
				defer l.Close()
				checkContiguous(t, readAll(t, l), 1, which-1)
				if lsn, err := l.Append(testTxn(uint64(which))); err != nil || lsn != uint64(which) {
					t.Fatalf("Append after repair: %d %v", lsn, err)
				}
			})
		}
	}
}
