package persistence

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

func crc32Sum(b []byte) uint32 { return crc32c(b) }

func TestRoundTripEveryField(t *testing.T) {
	tests := []struct {
		name string
		tx   *Txn
	}{
		{"empty", &Txn{}},
		{"every field", &Txn{
			Timestamp: 99, Kind: fb.TxKindModuleLoad, Module: "bank", Reducer: "transfer", Args: []byte{1, 2, 3},
			Mutations: []Mutation{
				{Op: fb.OpInsert, Module: "bank", Table: "accounts", Row: []byte("new")},
				{Op: fb.OpUpdate, Module: "bank", Table: "accounts", Row: []byte("new2"), OldRow: []byte("old")},
				{Op: fb.OpDelete, Module: "bank", Table: "log", OldRow: []byte("gone")},
			},
			ModuleRecord: &ModuleRecord{Name: "bank", Version: "1.2.3", Schema: []byte("schema"), WasmSHA256: bytes.Repeat([]byte{0xab}, 32)},
		}},
		{"empty vectors", &Txn{Args: []byte{}, Mutations: []Mutation{{Row: []byte{}, OldRow: []byte{}}}, ModuleRecord: &ModuleRecord{Schema: []byte{}, WasmSHA256: []byte{}}}},
		{"external", &Txn{Kind: fb.TxKindExternal, Timestamp: 1 << 63}},
	}
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	for i, tc := range tests {
		lsn, err := l.Append(tc.tx)
		if err != nil {
			t.Fatalf("%s: Append: %v", tc.name, err)
		}
		if lsn != uint64(i+1) || tc.tx.LSN != lsn {
			t.Fatalf("%s: lsn %d (tx.LSN %d), want %d", tc.name, lsn, tc.tx.LSN, i+1)
		}
	}
	check := func(l *Log) {
		i := 0
		err := l.Replay(0, func(r Record) error {
			got, err := r.Txn()
			if err != nil {
				return err
			}
			if !txnEqual(got, tests[i].tx) {
				t.Errorf("%s: read back %+v, want %+v", tests[i].name, got, tests[i].tx)
			}
			if r.Transaction().Lsn() != r.LSN {
				t.Errorf("%s: zero-copy lsn %d, want %d", tests[i].name, r.Transaction().Lsn(), r.LSN)
			}
			i++
			return nil
		})
		if err != nil || i != len(tests) {
			t.Fatalf("Replay: %v after %d records", err, i)
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	check(l)
}

// maxTxn returns a Txn whose encoding is exactly size bytes.
func maxTxn(t *testing.T, size int) *Txn {
	b := flatbuffers.NewBuilder(0)
	tx := &Txn{Args: make([]byte, size-200)}
	for i := 0; i < 16; i++ {
		n := len(EncodeTxn(b, tx))
		if n == size {
			return tx
		}
		tx.Args = make([]byte, len(tx.Args)+size-n)
	}
	t.Fatalf("cannot build a %d-byte record", size)
	return nil
}

func TestMaximalRecordAndRecordTooLarge(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Sync: SyncNone})
	big := maxTxn(t, MaxRecordSize)
	if _, err := l.Append(big); err != nil {
		t.Fatalf("Append of a maximal record: %v", err)
	}
	over := &Txn{Args: make([]byte, len(big.Args)+8)}
	if _, err := l.Append(over); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append of MaxRecordSize+8: %v, want ErrRecordTooLarge", err)
	}
	if _, err := l.AppendBatch([]*Txn{{}, over}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("AppendBatch with an oversize record: %v, want ErrRecordTooLarge", err)
	}
	appendN(t, l, 1) // the log still works, LSN 2
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	var sizes []int
	if err := l.Replay(0, func(r Record) error { sizes = append(sizes, len(r.Payload)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != MaxRecordSize {
		t.Fatalf("got record sizes %v", sizes)
	}
}

func TestManySegmentsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: MinSegmentSize, Sync: SyncNone}
	l := mustOpen(t, dir, o)
	appendN(t, l, 500)
	if n := len(segFiles(t, dir)); n < 20 {
		t.Fatalf("only %d segments for 500 records at %d bytes each", n, o.SegmentSize)
	}
	checkContiguous(t, readAll(t, l), 1, 500)
	l.Close()
	l = mustOpen(t, dir, o)
	appendN(t, l, 10)
	checkContiguous(t, readAll(t, l), 1, 510)
	// Replay from every 37th LSN.
	for from := uint64(1); from <= 510; from += 37 {
		var got []uint64
		if err := l.Replay(from, func(r Record) error { got = append(got, r.LSN); return nil }); err != nil {
			t.Fatal(err)
		}
		checkContiguous(t, got, from, int(511-from))
	}
	l.Close()
	r, err := NewReader(dir, 250)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for r.Next() {
		got = append(got, r.Record().LSN)
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	checkContiguous(t, got, 250, 261)
}

func TestAppendBatchAssignsContiguousLSNs(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 3)
	txs := []*Txn{testTxn(4), testTxn(5), testTxn(6)}
	first, err := l.AppendBatch(txs)
	if err != nil || first != 4 {
		t.Fatalf("AppendBatch: %d, %v", first, err)
	}
	for i, tx := range txs {
		if tx.LSN != uint64(4+i) {
			t.Fatalf("tx %d has LSN %d", i, tx.LSN)
		}
	}
	checkContiguous(t, readAll(t, l), 1, 6)
}

func TestAppendEncodedWithoutLSNFieldIsRefused(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	b := flatbuffers.NewBuilder(0)
	fb.TransactionStart(b)
	fb.TransactionAddTimestamp(b, 5)
	b.Finish(fb.TransactionEnd(b))
	if _, err := l.AppendEncoded(b.FinishedBytes()); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("AppendEncoded without lsn: %v, want ErrBadRecord", err)
	}
	if _, err := l.AppendEncoded([]byte{1, 2}); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("AppendEncoded of junk: %v, want ErrBadRecord", err)
	}
	p := EncodeTxn(b, testTxn(1))
	keep := append([]byte(nil), p...)
	if lsn, err := l.AppendEncoded(p); err != nil || lsn != 1 {
		t.Fatalf("AppendEncoded: %d %v", lsn, err)
	}
	if !bytes.Equal(p, keep) {
		t.Fatal("AppendEncoded modified the caller's payload")
	}
	checkContiguous(t, readAll(t, l), 1, 1)
}

func TestClosedLogRefusesEverything(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(&Txn{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync: %v", err)
	}
	if err := l.Rotate(); !errors.Is(err, ErrClosed) {
		t.Errorf("Rotate: %v", err)
	}
	if err := l.Replay(0, func(Record) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Replay: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close: %v", err)
	}
}

// TestZeroFillAhead: the first write into each MiB of the active segment
// also writes zeros up to the next MiB boundary (zeroFillLocked), and
// writes inside the filled region add none; the segment still reads back
// exactly its records, and a reopened log continues.
func TestZeroFillAhead(t *testing.T) {
	dir := t.TempDir()
	ffs := &faultFS{}
	l := mustOpen(t, dir, Options{FS: ffs, SegmentSize: 4 << 20})
	appendN(t, l, 1)
	ffs.mu.Lock()
	w := slices.Clone(ffs.writes)
	ffs.mu.Unlock()
	if len(w) < 2 {
		t.Fatalf("writes %v: want the frame, then zeros", w)
	}
	frame, zeros := w[len(w)-2], w[len(w)-1]
	if zeros[0] != frame[0]+frame[1] || zeros[0]+zeros[1] != zeroFillChunk {
		t.Fatalf("frame at %v, zeros at %v: want zeros from the frame's end to %d", frame, zeros, zeroFillChunk)
	}
	n := len(w)
	appendN(t, l, 10)
	ffs.mu.Lock()
	added := len(ffs.writes) - n
	ffs.mu.Unlock()
	if added != 10 {
		t.Fatalf("10 appends inside the filled MiB made %d writes, want 10 (no zeros)", added)
	}
	// A batch that crosses the boundary fills the next MiB.
	big := testTxn(1)
	big.Mutations[0].Row = make([]byte, 600<<10)
	for i := 0; i < 2; i++ {
		if _, err := l.Append(big); err != nil {
			t.Fatal(err)
		}
	}
	ffs.mu.Lock()
	last := ffs.writes[len(ffs.writes)-1]
	ffs.mu.Unlock()
	if end := last[0] + last[1]; end%zeroFillChunk != 0 || end <= zeroFillChunk {
		t.Fatalf("last write %v: want zeros up to a MiB boundary past the first", last)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentSize: 4 << 20})
	defer l.Close()
	var lsns []uint64
	if err := l.Replay(0, func(r Record) error {
		if _, err := r.Txn(); err != nil {
			return err
		}
		lsns = append(lsns, r.LSN)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, lsns, 1, 13)
	if _, err := l.Append(testTxn(14)); err != nil {
		t.Fatal(err)
	}
}
