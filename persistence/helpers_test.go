package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// The test suite's own record format (the log is opaque to it): the
// record's LSN, 8 bytes little-endian, then a body. testCheck is its
// Options.Check, so that every reader of a test log checks that the LSN
// inside each payload is the frame's, as the runtime's check does.

// testRec is one record of the test format. AppendPayload writes the LSN
// the log assigns, then Body; decodeTestRec sets LSN from the payload.
type testRec struct {
	LSN  uint64
	Body []byte
}

// AppendPayload appends lsn and the body.
func (r testRec) AppendPayload(dst []byte, lsn uint64) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, lsn)
	return append(dst, r.Body...)
}

// testCheck is the Options.Check of the test format: a payload must hold
// at least its 8-byte LSN, and that LSN must be the frame's.
func testCheck(lsn uint64, p []byte) error {
	if len(p) < 8 {
		return fmt.Errorf("payload of %d bytes is shorter than its 8-byte lsn", len(p))
	}
	if pl := binary.LittleEndian.Uint64(p); pl != lsn {
		return fmt.Errorf("payload lsn %d disagrees with frame lsn %d", pl, lsn)
	}
	return nil
}

// checkOpts is the zero Options with the test format's check.
var checkOpts = Options{Check: testCheck}

// withCheck returns o with the test format's check if it has none.
func withCheck(o Options) Options {
	if o.Check == nil {
		o.Check = testCheck
	}
	return o
}

// decodeTestRec decodes a payload of the test format into a testRec that
// owns its bytes.
func decodeTestRec(p []byte) (testRec, error) {
	if len(p) < 8 {
		return testRec{}, fmt.Errorf("test record of %d bytes, want at least 8", len(p))
	}
	return testRec{LSN: binary.LittleEndian.Uint64(p), Body: bytes.Clone(p[8:])}, nil
}

// testTxn returns a deterministic record whose body depends on n (and
// whose length varies with n, from about 185 to 230 bytes of payload), so
// that a record read back can be checked against its LSN.
func testTxn(n uint64) testRec {
	body := fmt.Appendf(nil, "kind%d mod%d red%d t%d args-%d|", n%4, n%3, n, n%5, n)
	body = append(body, bytes.Repeat([]byte{byte(n)}, int(n%37))...)
	for i := 0; i < 150; i++ {
		body = append(body, byte(n*7+uint64(i)))
	}
	return testRec{Body: body}
}

// checkTxn fails the test unless payload (read back as record lsn) is,
// byte for byte, testTxn(lsn) written as record lsn.
func checkTxn(t testing.TB, payload []byte, lsn uint64) {
	t.Helper()
	want := testTxn(lsn).AppendPayload(nil, lsn)
	if !bytes.Equal(payload, want) {
		t.Fatalf("record %d: got payload %x, want %x", lsn, payload, want)
	}
	if r, err := decodeTestRec(payload); err != nil || r.LSN != lsn {
		t.Fatalf("record %d: decodes to lsn %d, %v", lsn, r.LSN, err)
	}
}

// mustOpen opens dir with o, giving it the test format's check if o has
// none.
func mustOpen(t testing.TB, dir string, o Options) *Log {
	t.Helper()
	l, err := Open(dir, withCheck(o))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// appendN appends testTxn(LastLSN+1 ...) n times.
func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		next := l.LastLSN() + 1
		lsn, err := l.Append(testTxn(next))
		if err != nil {
			t.Fatalf("Append %d: %v", next, err)
		}
		if lsn != next {
			t.Fatalf("Append got lsn %d, want %d", lsn, next)
		}
	}
}

// readAll returns the LSNs of every record of an open log, checking each
// record's payload against testTxn.
func readAll(t testing.TB, l *Log) []uint64 {
	t.Helper()
	var lsns []uint64
	err := l.Replay(0, func(r Record) error {
		checkTxn(t, r.Payload, r.LSN)
		lsns = append(lsns, r.LSN)
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return lsns
}

// checkContiguous fails unless lsns is first..first+len-1.
func checkContiguous(t testing.TB, lsns []uint64, first uint64, n int) {
	t.Helper()
	if len(lsns) != n {
		t.Fatalf("got %d records, want %d", len(lsns), n)
	}
	for i, x := range lsns {
		if x != first+uint64(i) {
			t.Fatalf("record %d has lsn %d, want %d", i, x, first+uint64(i))
		}
	}
}

// segFiles returns the segment file paths of dir, sorted.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// frameOffsets returns the offsets of the frames of a segment file of the
// test format and the offset after the last valid one.
func frameOffsets(t testing.TB, path string) (offs []int64, end int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := decodeSegHeader(data, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	it := newFrameIter(filepath.Base(path), data, h, true, testCheck)
	end = segHeaderSize
	for {
		_, off, p, ok := it.next()
		if !ok {
			break
		}
		offs = append(offs, int64(off))
		end = int64(off + frameSize(len(p)))
	}
	if it.err != nil || it.torn != nil {
		t.Fatalf("frameOffsets %s: err %v torn %v", path, it.err, it.torn)
	}
	return offs, end
}

// dirState returns name -> size/mtime/content hash for every file in dir.
func dirState(t testing.TB, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]string{}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		st[e.Name()] = fmt.Sprintf("%d %d %x", info.Size(), info.ModTime().UnixNano(), crc32Sum(b))
	}
	return st
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crcTable) }
