package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func crc32Sum(b []byte) uint32 { return crc32c(b) }

// lsnPayload is a Payload that depends on the LSN the log assigns: the
// LSN in decimal, then a fixed tail.
type lsnPayload string

func (p lsnPayload) AppendPayload(dst []byte, lsn uint64) []byte {
	return append(strconv.AppendUint(dst, lsn, 10), p...)
}

// TestPayloadsRoundTripByteExact: the log is opaque to its payloads, so
// every payload, from a single byte up, payloads of every byte value and
// one that depends on its LSN, reads back exactly as it was appended,
// through Replay, NewReader and ValidateEach, before and after a reopen.
// The log has no Check, so nothing constrains the bytes. (The empty
// payload is TestEmptyPayloadIsNeverAcknowledgedAndLost.)
func TestPayloadsRoundTripByteExact(t *testing.T) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i*31 + i>>8)
	}
	tests := []struct {
		name string
		p    Payload
		want func(lsn uint64) []byte
	}{
		{"one byte", Bytes{0x7f}, nil},
		{"seven bytes", Bytes("1234567"), nil},
		{"zeros", Bytes(make([]byte, 24)), nil},
		{"every byte value", Bytes(every), nil},
		{"100 KiB", Bytes(big), nil},
		{"depends on its lsn", lsnPayload("-tail"), func(lsn uint64) []byte { return fmt.Appendf(nil, "%d-tail", lsn) }},
		{"test record", testTxn(9), func(lsn uint64) []byte { return testTxn(9).AppendPayload(nil, lsn) }},
		{"test record, empty body", testRec{}, func(lsn uint64) []byte { return binary.LittleEndian.AppendUint64(nil, lsn) }},
	}
	want := func(i int) []byte {
		if tests[i].want != nil {
			return tests[i].want(uint64(i + 1))
		}
		return tests[i].p.AppendPayload([]byte{}, 0)
	}
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		if next := l.NextLSN(); next != uint64(i+1) {
			t.Fatalf("%s: NextLSN %d, want %d", tc.name, next, i+1)
		}
		lsn, err := l.Append(tc.p)
		if err != nil {
			t.Fatalf("%s: Append: %v", tc.name, err)
		}
		if lsn != uint64(i+1) {
			t.Fatalf("%s: lsn %d, want %d", tc.name, lsn, i+1)
		}
	}
	checkRecords := func(how string, next func() (Record, bool)) {
		t.Helper()
		i := 0
		for {
			r, ok := next()
			if !ok {
				break
			}
			if i >= len(tests) {
				t.Fatalf("%s: record %d past the %d appended", how, r.LSN, len(tests))
			}
			if r.LSN != uint64(i+1) {
				t.Fatalf("%s: %s: lsn %d, want %d", how, tests[i].name, r.LSN, i+1)
			}
			if w := want(i); !bytes.Equal(r.Payload, w) {
				t.Errorf("%s: %s: read back %q, want %q", how, tests[i].name, r.Payload, w)
			}
			i++
		}
		if i != len(tests) {
			t.Fatalf("%s: %d records, want %d", how, i, len(tests))
		}
	}
	replay := func(l *Log) {
		t.Helper()
		var recs []Record
		err := l.Replay(0, func(r Record) error {
			r.Payload = bytes.Clone(r.Payload)
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		checkRecords("Replay", func() (Record, bool) {
			if len(recs) == 0 {
				return Record{}, false
			}
			r := recs[0]
			recs = recs[1:]
			return r, true
		})
	}
	replay(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	replay(l)
	rd, err := NewReader(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	checkRecords("NewReader", func() (Record, bool) { ok := rd.Next(); return rd.Record(), ok })
	if rd.Err() != nil {
		t.Fatal(rd.Err())
	}
	var recs []Record
	rep, err := ValidateEach(dir, func(r Record) error {
		r.Payload = bytes.Clone(r.Payload)
		recs = append(recs, r)
		return nil
	})
	if err != nil || !rep.OK() || rep.Records != int64(len(tests)) {
		t.Fatalf("ValidateEach: %v %+v", err, rep)
	}
	checkRecords("ValidateEach", func() (Record, bool) {
		if len(recs) == 0 {
			return Record{}, false
		}
		r := recs[0]
		recs = recs[1:]
		return r, true
	})
	// The same log read with the test format's check: the payloads that
	// do not start with their own LSN are corruption at the first of them.
	// ("one byte" is shorter than an LSN.)
	if rep, err := Validate(dir, checkOpts); err != nil || rep.Problem == nil || rep.Problem.LSN != 1 || !errors.Is(rep.Problem.Err, ErrCorrupt) {
		t.Fatalf("Validate with testCheck: %v %+v", err, rep)
	}
}

// TestMaximalRecordAndRecordTooLarge: a payload of exactly MaxRecordSize
// is accepted and reads back whole; one byte more is ErrRecordTooLarge
// from Append, Enqueue and AppendBatch (a batch with one oversized payload
// is refused as a whole), and a refusal leaves the log as it was.
func TestMaximalRecordAndRecordTooLarge(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Sync: SyncNone})
	big := make(Bytes, MaxRecordSize)
	binary.LittleEndian.PutUint64(big, 1) // what testCheck wants of record 1
	for i := 8; i < len(big); i++ {
		big[i] = byte(i * 13)
	}
	if lsn, err := l.Append(big); err != nil || lsn != 1 {
		t.Fatalf("Append of a maximal record: %d %v", lsn, err)
	}
	over := make(Bytes, MaxRecordSize+1)
	binary.LittleEndian.PutUint64(over, 2)
	unchanged := func(what string) {
		t.Helper()
		if l.LastLSN() != 1 || l.NextLSN() != 2 {
			t.Fatalf("after %s: LastLSN %d NextLSN %d, want 1 and 2", what, l.LastLSN(), l.NextLSN())
		}
	}
	if _, err := l.Append(over); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append of MaxRecordSize+1: %v, want ErrRecordTooLarge", err)
	}
	unchanged("a refused Append")
	if _, err := l.Enqueue(over); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Enqueue of MaxRecordSize+1: %v, want ErrRecordTooLarge", err)
	}
	unchanged("a refused Enqueue")
	if _, err := l.AppendBatch([]Payload{testTxn(2), over, testTxn(4)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("AppendBatch with an oversize record: %v, want ErrRecordTooLarge", err)
	}
	unchanged("a refused AppendBatch")
	appendN(t, l, 1) // the log still works, LSN 2
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	var sizes []int
	if err := l.Replay(0, func(r Record) error {
		sizes = append(sizes, len(r.Payload))
		switch r.LSN {
		case 1:
			if !bytes.Equal(r.Payload, big) {
				t.Errorf("the maximal record does not read back as written")
			}
		default:
			checkTxn(t, r.Payload, r.LSN)
		}
		return nil
	}); err != nil {
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

// TestEmptyPayloadIsNeverAcknowledgedAndLost: the frame format cannot
// hold an empty payload (a frame of length 0 is where the zeros after the
// last record begin), so the log must either refuse one (Append, Enqueue
// and AppendBatch, with no Check to do it for them) leaving the log as it
// was, or read it back: an empty record that Append acknowledged must not
// make the log corrupt, nor make Open cut it and the acknowledged records
// after it off as a torn tail.
func TestEmptyPayloadIsNeverAcknowledgedAndLost(t *testing.T) {
	for _, empty := range []struct {
		name string
		p    Payload
	}{{"Bytes{}", Bytes{}}, {"Bytes(nil)", Bytes(nil)}} {
		for _, how := range []string{"Append", "Enqueue", "AppendBatch", "Append, last record"} {
			t.Run(empty.name+" "+how, func(t *testing.T) {
				dir := t.TempDir()
				l, err := Open(dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				var want [][]byte
				add := func(p Payload) {
					t.Helper()
					lsn, err := l.Append(p)
					if err != nil || lsn != uint64(len(want)+1) {
						t.Fatalf("Append: %d %v, want lsn %d", lsn, err, len(want)+1)
					}
					want = append(want, p.AppendPayload(nil, lsn))
				}
				add(Bytes("before"))
				var lsn uint64
				switch how {
				case "Append", "Append, last record":
					lsn, err = l.Append(empty.p)
				case "Enqueue":
					if lsn, err = l.Enqueue(empty.p); err == nil {
						err = l.Wait(lsn)
					}
				case "AppendBatch":
					lsn, err = l.AppendBatch([]Payload{empty.p})
				}
				if err != nil {
					if !errors.Is(err, ErrBadRecord) {
						t.Fatalf("%s of an empty payload: %v, want ErrBadRecord if it is refused", how, err)
					}
					if l.LastLSN() != 1 || l.NextLSN() != 2 {
						t.Fatalf("a refused empty payload moved the log: LastLSN %d NextLSN %d", l.LastLSN(), l.NextLSN())
					}
				} else {
					if lsn != 2 {
						t.Fatalf("%s of an empty payload: lsn %d, want 2", how, lsn)
					}
					want = append(want, []byte{})
				}
				if how != "Append, last record" {
					add(Bytes("after"))
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l, err = Open(dir, Options{})
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				defer l.Close()
				var got [][]byte
				if err := l.Replay(0, func(r Record) error { got = append(got, bytes.Clone(r.Payload)); return nil }); err != nil {
					t.Fatalf("Replay: %v", err)
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
					t.Fatalf("the log holds %q, %q were acknowledged", got, want)
				}
				if rep, err := Validate(dir); err != nil || !rep.OK() || rep.Records != int64(len(want)) {
					t.Fatalf("Validate: %v %+v problem %v torn %v", err, rep, rep.Problem, rep.Torn)
				}
			})
		}
	}
}

// recordingPayload is testTxn(n) that also records the LSN it was given.
type recordingPayload struct {
	n   uint64
	got *uint64
}

func (p recordingPayload) AppendPayload(dst []byte, lsn uint64) []byte {
	*p.got = lsn
	return testTxn(p.n).AppendPayload(dst, lsn)
}

func TestAppendBatchAssignsContiguousLSNs(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 3)
	got := make([]uint64, 3)
	ps := []Payload{recordingPayload{4, &got[0]}, recordingPayload{5, &got[1]}, recordingPayload{6, &got[2]}}
	first, err := l.AppendBatch(ps)
	if err != nil || first != 4 {
		t.Fatalf("AppendBatch: %d, %v", first, err)
	}
	for i, lsn := range got {
		if lsn != uint64(4+i) {
			t.Fatalf("payload %d was written as lsn %d", i, lsn)
		}
	}
	if l.NextLSN() != 7 {
		t.Fatalf("NextLSN %d, want 7", l.NextLSN())
	}
	checkContiguous(t, readAll(t, l), 1, 6)
}

// TestRefusedPayloadIsErrBadRecord: a payload that Options.Check refuses
// is ErrBadRecord, carrying the check's reason, from Append, Enqueue and
// AppendBatch (which then queues none of its records), and leaves the log
// as it was: the next good record gets the next LSN, and the log holds
// only the good records. The log never writes a record that its readers
// would then call corrupt.
func TestRefusedPayloadIsErrBadRecord(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	appendN(t, l, 1)
	wrong := Bytes(binary.LittleEndian.AppendUint64(nil, 99)) // carries lsn 99
	keep := bytes.Clone(wrong)
	bad := []struct {
		name   string
		p      Payload
		reason func(lsn uint64) string // the check's reason as record lsn
	}{
		{"wrong lsn", wrong, func(lsn uint64) string { return fmt.Sprintf("payload lsn 99 disagrees with frame lsn %d", lsn) }},
		{"too short", Bytes{1, 2}, func(uint64) string { return "payload of 2 bytes is shorter than its 8-byte lsn" }},
		{"empty", Bytes{}, func(uint64) string { return "the payload is empty" }},
	}
	unchanged := func(what string) {
		t.Helper()
		if l.LastLSN() != 1 || l.NextLSN() != 2 {
			t.Fatalf("after %s: LastLSN %d NextLSN %d, want 1 and 2", what, l.LastLSN(), l.NextLSN())
		}
	}
	for _, b := range bad {
		calls := map[string]struct {
			call func() error
			lsn  uint64 // the LSN the bad payload is checked as
		}{
			"Append":  {func() error { _, err := l.Append(b.p); return err }, 2},
			"Enqueue": {func() error { _, err := l.Enqueue(b.p); return err }, 2},
			"AppendBatch": {func() error {
				_, err := l.AppendBatch([]Payload{testTxn(2), b.p, testTxn(4)})
				return err
			}, 3},
			"AppendBatch, bad first": {func() error { _, err := l.AppendBatch([]Payload{b.p, testTxn(3)}); return err }, 2},
		}
		for name, c := range calls {
			err := c.call()
			if reason := b.reason(c.lsn); !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), reason) {
				t.Fatalf("%s of a %s payload: %v, want ErrBadRecord with %q", name, b.name, err, reason)
			}
			unchanged(name + " of a " + b.name + " payload")
		}
	}
	if !bytes.Equal(wrong, keep) {
		t.Fatal("a refused Append modified the caller's payload")
	}
	if err := l.Wait(2); err == nil {
		t.Fatal("Wait(2) succeeded: a refused record was queued")
	}
	appendN(t, l, 1) // lsn 2
	if lsn, err := l.AppendBatch([]Payload{testTxn(3), testTxn(4)}); err != nil || lsn != 3 {
		t.Fatalf("AppendBatch after the refusals: %d %v", lsn, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkContiguous(t, readAll(t, l), 1, 4)
}

func TestClosedLogRefusesEverything(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(testTxn(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append: %v", err)
	}
	if _, err := l.Enqueue(testTxn(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue: %v", err)
	}
	if _, err := l.AppendBatch([]Payload{testTxn(1)}); !errors.Is(err, ErrClosed) {
		t.Errorf("AppendBatch: %v", err)
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
	big := testRec{Body: make([]byte, 600<<10)}
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
		if r.LSN <= 11 {
			checkTxn(t, r.Payload, r.LSN)
		} else if rec, err := decodeTestRec(r.Payload); err != nil || rec.LSN != r.LSN || len(rec.Body) != 600<<10 || !allZero(rec.Body) {
			t.Fatalf("big record %d: lsn %d, %d-byte body, %v", r.LSN, rec.LSN, len(rec.Body), err)
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
