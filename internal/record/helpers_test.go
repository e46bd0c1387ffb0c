package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
)

// testTxn returns a deterministic transaction whose contents depend on n,
// so that a record read back can be checked against its LSN.
func testTxn(n uint64) *Txn {
	row := bytes.Repeat([]byte{byte(n)}, int(n%37))
	return &Txn{
		Timestamp: n * 10,
		Kind:      fb.TxKind(n % 4),
		Module:    fmt.Sprintf("mod%d", n%3),
		Reducer:   fmt.Sprintf("red%d", n),
		Args:      []byte(fmt.Sprintf("args-%d", n)),
		Mutations: []Mutation{{Op: fb.Op(n % 3), Module: fmt.Sprintf("mod%d", n%3), Table: fmt.Sprintf("t%d", n%5), Row: row, OldRow: []byte{1, 2, byte(n)}}},
	}
}

// logOptions are the options of every log these tests open: the record
// check, no fdatasync, and small segments.
func logOptions() persistence.Options {
	return LogOptions(persistence.Options{SegmentSize: 64 << 10, Sync: persistence.SyncNone})
}

// newLog writes testTxn(1..n) into a fresh log and returns the directory
// and its (only) segment's path.
func newLog(t *testing.T, n int) (dir, seg string) {
	t.Helper()
	dir = t.TempDir()
	l, err := persistence.Open(dir, logOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if lsn, err := l.Append(testTxn(uint64(i))); err != nil || lsn != uint64(i) {
			t.Fatalf("Append %d: %d %v", i, lsn, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v %v", segs, err)
	}
	sort.Strings(segs)
	return dir, segs[0]
}

// Frame layout of docs/FORMAT.md: a 32-byte segment header, then frames of
// crc(4) length(4) lsn(8) payload, padded to 8 bytes.
const (
	segHeaderSize   = 32
	frameHeaderSize = 16
)

// frameOffsets returns the offsets of the frames of a healthy segment file.
func frameOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for o := segHeaderSize; o+frameHeaderSize <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[o+4:]))
		if n == 0 {
			break
		}
		offs = append(offs, int64(o))
		o += (frameHeaderSize + n + 7) &^ 7
	}
	return offs
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// corruptRecord rewrites the payload of the record at frame offset off of
// the segment file seg with apply and recomputes the frame's checksum: a
// CRC-valid record that is not a well-formed transaction.
func corruptRecord(t *testing.T, seg string, off int64, apply func(testing.TB, []byte)) {
	t.Helper()
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(binary.LittleEndian.Uint32(b[off+4:]))
	frame := b[off : off+frameHeaderSize+n]
	apply(t, frame[frameHeaderSize:])
	binary.LittleEndian.PutUint32(frame, crc32.Checksum(frame[4:], crcTable))
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// openErrors returns what each way of opening the log in dir reports.
func openErrors(t *testing.T, dir string) map[string]error {
	t.Helper()
	openErr := func(o persistence.Options) error {
		l, err := persistence.Open(dir, o)
		if err == nil {
			l.Close()
		}
		return err
	}
	r, err := persistence.NewReader(dir, 0, logOptions())
	if err == nil {
		for r.Next() {
		}
		err = r.Err()
		r.Close()
	}
	ro := logOptions()
	ro.Recovery = persistence.RecoverReadOnly
	return map[string]error{"Open": openErr(logOptions()), "Open read-only": openErr(ro), "NewReader": err}
}
