package persistence

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
)

// testTxn returns a deterministic transaction whose contents depend on n,
// so that a record read back can be checked against its LSN.
func testTxn(n uint64) *Txn {
	size := int(n % 37)
	row := bytes.Repeat([]byte{byte(n)}, size)
	tx := &Txn{
		Timestamp: n * 10,
		Kind:      fb.TxKind(n % 4),
		Module:    fmt.Sprintf("mod%d", n%3),
		Reducer:   fmt.Sprintf("red%d", n),
		Args:      []byte(fmt.Sprintf("args-%d", n)),
		Mutations: []Mutation{{Op: fb.Op(n % 3), Module: fmt.Sprintf("mod%d", n%3), Table: fmt.Sprintf("t%d", n%5), Row: row, OldRow: []byte{1, 2, byte(n)}}},
	}
	return tx
}

// checkTxn reports whether tx (read back) is testTxn(lsn) with LSN lsn.
func checkTxn(t testing.TB, tx *Txn, lsn uint64) {
	t.Helper()
	want := testTxn(lsn)
	want.LSN = lsn
	if !txnEqual(tx, want) {
		t.Fatalf("record %d: got %+v, want %+v", lsn, tx, want)
	}
}

func txnEqual(a, b *Txn) bool {
	if a.LSN != b.LSN || a.Timestamp != b.Timestamp || a.Kind != b.Kind || a.Module != b.Module || a.Reducer != b.Reducer ||
		!bytes.Equal(a.Args, b.Args) || len(a.Mutations) != len(b.Mutations) {
		return false
	}
	for i := range a.Mutations {
		x, y := a.Mutations[i], b.Mutations[i]
		if x.Op != y.Op || x.Module != y.Module || x.Table != y.Table || !bytes.Equal(x.Row, y.Row) || !bytes.Equal(x.OldRow, y.OldRow) ||
			(x.Row == nil) != (y.Row == nil) || (x.OldRow == nil) != (y.OldRow == nil) {
			return false
		}
	}
	if (a.ModuleRecord == nil) != (b.ModuleRecord == nil) {
		return false
	}
	if a.ModuleRecord != nil {
		x, y := a.ModuleRecord, b.ModuleRecord
		if x.Name != y.Name || x.Version != y.Version || !bytes.Equal(x.Schema, y.Schema) || !bytes.Equal(x.WasmSHA256, y.WasmSHA256) {
			return false
		}
	}
	return true
}

func mustOpen(t testing.TB, dir string, o Options) *Log {
	t.Helper()
	l, err := Open(dir, o)
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
// record's contents against testTxn.
func readAll(t testing.TB, l *Log) []uint64 {
	t.Helper()
	var lsns []uint64
	err := l.Replay(0, func(r Record) error {
		tx, err := r.Txn()
		if err != nil {
			return err
		}
		checkTxn(t, tx, r.LSN)
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

// dataEnd returns the offset after the last valid frame of a segment file
// and the offsets of its frames.
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
	it := newFrameIter(filepath.Base(path), data, h.firstLSN, true)
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
