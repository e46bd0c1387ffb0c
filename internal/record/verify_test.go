package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
)

// payloadField returns the position of the offset field in slot of the
// table at t, and the position of what it points at.
func payloadField(t testing.TB, p []byte, tbl, slot int) (at, target int) {
	t.Helper()
	v := txVerifier{b: p}
	vt, vsize, ok := v.table(tbl)
	if !ok {
		t.Fatalf("table %d: %s", tbl, v.reason())
	}
	if slot >= vsize || binary.LittleEndian.Uint16(p[vt+slot:]) == 0 {
		t.Fatalf("field %d of table %d absent", slot, tbl)
	}
	at = tbl + int(binary.LittleEndian.Uint16(p[vt+slot:]))
	return at, at + int(binary.LittleEndian.Uint32(p[at:]))
}

func payloadRoot(p []byte) int { return int(binary.LittleEndian.Uint32(p)) }

// firstMutation returns the position of mutation 0's table.
func firstMutation(t testing.TB, p []byte) int {
	_, vec := payloadField(t, p, payloadRoot(p), slotTxMutations)
	return vec + 4 + int(binary.LittleEndian.Uint32(p[vec+4:]))
}

// malformations are CRC-valid records that are not well-formed
// transactions: each one changes a payload in place (same length).
var malformations = []struct {
	name  string
	apply func(t testing.TB, p []byte)
}{
	{"mutations vector length past the payload", func(t testing.TB, p []byte) {
		_, vec := payloadField(t, p, payloadRoot(p), slotTxMutations)
		binary.LittleEndian.PutUint32(p[vec:], 0x7fffffff)
	}},
	{"mutations vector length one too many", func(t testing.TB, p []byte) {
		_, vec := payloadField(t, p, payloadRoot(p), slotTxMutations)
		binary.LittleEndian.PutUint32(p[vec:], uint32(len(p)-vec)/4)
	}},
	{"module string offset outside the payload", func(t testing.TB, p []byte) {
		at, _ := payloadField(t, p, payloadRoot(p), slotTxModule)
		binary.LittleEndian.PutUint32(p[at:], uint32(len(p)-at+64))
	}},
	{"reducer string length past the payload", func(t testing.TB, p []byte) {
		_, s := payloadField(t, p, payloadRoot(p), slotTxReducer)
		binary.LittleEndian.PutUint32(p[s:], uint32(len(p)))
	}},
	{"module string without its terminating zero", func(t testing.TB, p []byte) {
		_, s := payloadField(t, p, payloadRoot(p), slotTxModule)
		n := int(binary.LittleEndian.Uint32(p[s:]))
		p[s+4+n] = 'x'
	}},
	{"args vector length past the payload", func(t testing.TB, p []byte) {
		_, s := payloadField(t, p, payloadRoot(p), slotTxArgs)
		binary.LittleEndian.PutUint32(p[s:], 0xfffffff0)
	}},
	{"mutation row length past the payload", func(t testing.TB, p []byte) {
		_, s := payloadField(t, p, firstMutation(t, p), slotMutOldRow)
		binary.LittleEndian.PutUint32(p[s:], uint32(len(p)))
	}},
	{"mutation table name offset outside the payload", func(t testing.TB, p []byte) {
		m := firstMutation(t, p)
		at, _ := payloadField(t, p, m, slotMutTable)
		binary.LittleEndian.PutUint32(p[at:], 0x80000000)
	}},
	{"mutation offset outside the payload", func(t testing.TB, p []byte) {
		_, vec := payloadField(t, p, payloadRoot(p), slotTxMutations)
		binary.LittleEndian.PutUint32(p[vec+4:], uint32(len(p)))
	}},
	{"mutation vtable one byte before the payload", func(t testing.TB, p []byte) {
		m := firstMutation(t, p)
		binary.LittleEndian.PutUint32(p[m:], uint32(m+1))
	}},
	{"root vtable outside the payload", func(t testing.TB, p []byte) {
		binary.LittleEndian.PutUint32(p[payloadRoot(p):], 0x7ffffff0)
	}},
	{"root vtable of odd size", func(t testing.TB, p []byte) {
		r := payloadRoot(p)
		vt := r - int(int32(binary.LittleEndian.Uint32(p[r:])))
		binary.LittleEndian.PutUint16(p[vt:], binary.LittleEndian.Uint16(p[vt:])+1)
	}},
}

// TestValidateReportsBadVectorLength recreates CRC-valid records whose
// offsets or lengths point outside the payload, in the middle of the log
// and as its last record. Validate, Inspect, Open, a Reader and Replay all
// report the same corruption with segment, offset and LSN (never a torn
// tail, never a panic); Repair cuts the log there, and the log then opens
// and replays.
func TestValidateReportsBadVectorLength(t *testing.T) {
	for _, m := range malformations {
		for _, which := range []int{3, 5} {
			name := m.name + map[int]string{3: " (middle)", 5: " (last record)"}[which]
			t.Run(name, func(t *testing.T) {
				dir, seg := newLog(t, 5)
				off := frameOffsets(t, seg)[which-1]
				corruptRecord(t, seg, off, m.apply)
				where := "segment " + filepath.Base(seg) + " offset " + itoa(off) + " lsn " + itoa(int64(which)) + ":"

				rep, err := persistence.Validate(dir, logOptions())
				if err != nil || rep.Problem == nil || rep.TornTail || !errors.Is(rep.Problem.Err, persistence.ErrCorrupt) ||
					rep.Problem.Offset != off || rep.Problem.LSN != uint64(which) || rep.LastLSN != uint64(which-1) {
					t.Fatalf("Validate: %v problem %+v torn %v last %d", err, rep.Problem, rep.Torn, rep.LastLSN)
				}
				if !strings.Contains(rep.Problem.Err.Error(), where) || !strings.Contains(rep.Problem.Reason, "malformed transaction") {
					t.Fatalf("Validate: %v, want %q and the reason", rep.Problem.Err, where)
				}
				info, err := Inspect(dir, logOptions())
				if err != nil || info.Problem == nil || info.Problem.Offset != off || info.Records != int64(which-1) {
					t.Fatalf("Inspect: %v %+v", err, info.Problem)
				}
				for name, err := range openErrors(t, dir) {
					if !errors.Is(err, persistence.ErrCorrupt) || !strings.Contains(err.Error(), where) {
						t.Fatalf("%s: %v, want ErrCorrupt at %q", name, err, where)
					}
				}
				rr, err := persistence.Repair(dir, logOptions())
				if err != nil || rr.Action != "truncated at corruption" || rr.LastLSN != uint64(which-1) || rr.Problem.Offset != off {
					t.Fatalf("Repair: %v %+v", err, rr)
				}
				l, err := persistence.Open(dir, logOptions())
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				n := uint64(0)
				if err := l.Replay(0, func(r persistence.Record) error {
					n++
					tx, err := Decode(r.Payload)
					if err != nil || tx.LSN != n || tx.Reducer != testTxn(n).Reducer {
						t.Fatalf("record %d after repair: %+v %v", n, tx, err)
					}
					return nil
				}); err != nil || n != uint64(which-1) {
					t.Fatalf("Replay after repair: %d records, %v", n, err)
				}
				if lsn, err := l.Append(testTxn(uint64(which))); err != nil || lsn != uint64(which) {
					t.Fatalf("Append after repair: %d %v", lsn, err)
				}
			})
		}
	}
}

// TestAppendRefusesMalformedPayload: the log never writes a record that
// its readers would then call corrupt: a caller-encoded payload that does
// not verify is refused with ErrBadRecord, as is one without an lsn field,
// and the log stays as it was.
func TestAppendRefusesMalformedPayload(t *testing.T) {
	l, err := persistence.Open(t.TempDir(), logOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, m := range malformations {
		t.Run(m.name, func(t *testing.T) {
			p := Encode(flatbuffers.NewBuilder(0), testTxn(3))
			m.apply(t, p)
			if _, err := l.Append(Encoded(p)); !errors.Is(err, persistence.ErrBadRecord) || !strings.Contains(err.Error(), "malformed transaction") {
				t.Fatalf("Append: %v, want ErrBadRecord", err)
			}
			if _, err := l.Enqueue(Encoded(p)); !errors.Is(err, persistence.ErrBadRecord) {
				t.Fatalf("Enqueue: %v, want ErrBadRecord", err)
			}
			if _, err := l.AppendBatch([]persistence.Payload{testTxn(1), Encoded(p)}); !errors.Is(err, persistence.ErrBadRecord) {
				t.Fatalf("AppendBatch: %v, want ErrBadRecord", err)
			}
			if _, err := Decode(p); !errors.Is(err, persistence.ErrCorrupt) {
				t.Fatalf("Decode: %v, want ErrCorrupt", err)
			}
		})
	}
	b := flatbuffers.NewBuilder(0)
	fb.TransactionStart(b)
	fb.TransactionAddTimestamp(b, 5)
	b.Finish(fb.TransactionEnd(b))
	if _, err := l.Append(Encoded(b.FinishedBytes())); !errors.Is(err, persistence.ErrBadRecord) || !strings.Contains(err.Error(), "no lsn field") {
		t.Fatalf("Append without lsn field: %v, want ErrBadRecord", err)
	}
	if _, err := l.Append(Encoded([]byte{1, 2})); !errors.Is(err, persistence.ErrBadRecord) {
		t.Fatalf("Append of junk: %v, want ErrBadRecord", err)
	}
	if l.LastLSN() != 0 {
		t.Fatalf("last lsn %d after refused appends", l.LastLSN())
	}
	// A good caller-encoded payload gets the log's LSN in the record, and
	// the caller's bytes are not modified.
	p := Encode(b, testTxn(1))
	orig := append([]byte(nil), p...)
	if lsn, err := l.Append(Encoded(p)); err != nil || lsn != 1 {
		t.Fatalf("Append: %d %v", lsn, err)
	}
	if !bytes.Equal(p, orig) {
		t.Fatal("Append modified the caller's payload")
	}
	if lsn, err := l.Append(Encoded(Encode(b, &Txn{LSN: 77}))); err != nil || lsn != 2 {
		t.Fatalf("Append of a payload carrying lsn 77: %d %v", lsn, err)
	}
	var got []uint64
	if err := l.Replay(0, func(r persistence.Record) error { got = append(got, View(r.Payload).Lsn()); return nil }); err != nil || len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("payload lsns %v %v, want [1 2]", got, err)
	}
}

// TestCheckRefusesLSNMismatch: a payload whose lsn field disagrees with
// its frame's is refused, with both numbers in the reason.
func TestCheckRefusesLSNMismatch(t *testing.T) {
	p := Encode(flatbuffers.NewBuilder(0), &Txn{LSN: 4})
	if err := Check(4, p); err != nil {
		t.Fatal(err)
	}
	if err := Check(5, p); err == nil || !strings.Contains(err.Error(), "payload lsn 4 disagrees with frame lsn 5") {
		t.Fatalf("Check: %v", err)
	}
}

// TestVerifyTxnAcceptsEveryShape: records of every shape EncodeTxn writes
// verify (no false alarm on a healthy log).
func TestVerifyTxnAcceptsEveryShape(t *testing.T) {
	b := flatbuffers.NewBuilder(0)
	txs := []*Txn{
		{},
		{LSN: 7, Kind: fb.TxKindModuleLoad, Module: "m", ModuleRecord: &ModuleRecord{Name: "m", Version: "1", Schema: []byte{1, 2, 3}, WasmSHA256: make([]byte, 32)}},
		{LSN: 8, Kind: fb.TxKindModuleLoad, ModuleRecord: &ModuleRecord{}},
		{LSN: 9, Args: []byte{}, Mutations: []Mutation{{}, {Op: fb.OpDelete, OldRow: []byte{9}}, {Row: []byte{}, OldRow: []byte{}}}},
	}
	for i := uint64(1); i < 50; i++ {
		txs = append(txs, testTxn(i))
	}
	for i, tx := range txs {
		p := Encode(b, tx)
		if err := Verify(p); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		got, err := Decode(p)
		if err != nil || got.LSN != tx.LSN || len(got.Mutations) != len(tx.Mutations) {
			t.Fatalf("tx %d: %+v %v", i, got, err)
		}
	}
}

// walkTxn reads every field of a verified payload through the generated
// accessors, as the CLI's dump, Inspect and internal/txjson do.
func walkTxn(p []byte) int {
	n := 0
	tx := fb.GetRootAsTransaction(p, 0)
	n += int(tx.Lsn()+tx.Timestamp()) + int(tx.Kind()) + len(tx.Module()) + len(tx.Reducer()) + len(tx.ArgsBytes())
	var m fb.Mutation
	for i := 0; i < tx.MutationsLength(); i++ {
		if tx.Mutations(&m, i) {
			n += int(m.Op()) + len(m.Module()) + len(m.TableName()) + len(m.RowBytes()) + len(m.OldRowBytes())
		}
	}
	if mr := tx.ModuleRecord(nil); mr != nil {
		n += len(mr.Name()) + len(mr.Version()) + len(mr.SchemaBytes()) + len(mr.WasmSha256Bytes())
	}
	return n
}

// addVerifySeeds seeds a verifier fuzz target with healthy records (one
// with several mutations sharing and not sharing a vtable, one with a
// module_record), every malformation above and two tiny payloads.
func addVerifySeeds(f *testing.F) {
	b := flatbuffers.NewBuilder(0)
	for i := uint64(1); i <= 4; i++ {
		f.Add(append([]byte(nil), Encode(b, testTxn(i))...))
	}
	f.Add(append([]byte(nil), Encode(b, &Txn{LSN: 3, Mutations: []Mutation{{}, {Op: fb.OpDelete, OldRow: []byte{9}}, {Row: []byte{}, OldRow: []byte{}}, {Table: "t"}, {Table: "u"}}})...))
	f.Add(append([]byte(nil), Encode(b, &Txn{Kind: fb.TxKindModuleLoad, ModuleRecord: &ModuleRecord{Name: "m", Schema: []byte{1}}})...))
	for _, m := range malformations {
		p := append([]byte(nil), Encode(b, testTxn(5))...)
		m.apply(f, p)
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0})
}

// FuzzVerifyTxn feeds arbitrary payloads, seeded with healthy records and
// every malformation above, to the record verifier: whatever it accepts,
// the generated accessors and DecodeTxn read without a panic. The seed
// corpus runs as a plain test.
func FuzzVerifyTxn(f *testing.F) {
	addVerifySeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		err := Verify(p)
		tx, derr := Decode(p)
		if (err == nil) != (derr == nil) {
			t.Fatalf("VerifyTxn %v but DecodeTxn %v", err, derr)
		}
		if err != nil {
			if !errors.Is(err, persistence.ErrCorrupt) {
				t.Fatalf("Verify: %v, want ErrCorrupt", err)
			}
			return
		}
		walkTxn(p)
		if _, lsn, ok := lsnField(p); !ok || lsn != tx.LSN {
			t.Fatalf("verified payload: lsn field %d %v, decoded %d", lsn, ok, tx.LSN)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// BenchmarkVerifyTxn measures the record verifier on one record of the
// shape the runtime writes (one insert).
func BenchmarkVerifyTxn(b *testing.B) { benchVerify(b, verifyPayload) }

// BenchmarkVerifyTxnGeneral is the general verifier alone (what every
// record cost before the fast path), on the same record.
func BenchmarkVerifyTxnGeneral(b *testing.B) { benchVerify(b, verifySlow) }

func benchVerify(b *testing.B, verify func([]byte) (uint64, string, bool)) {
	p := Encode(flatbuffers.NewBuilder(0), testTxn(7))
	b.SetBytes(int64(len(p)))
	for i := 0; i < b.N; i++ {
		if _, _, ok := verify(p); !ok {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifyTxnCRC is the frame CRC of the same record, for scale.
func BenchmarkVerifyTxnCRC(b *testing.B) {
	p := Encode(flatbuffers.NewBuilder(0), testTxn(7))
	b.SetBytes(int64(len(p)))
	var c uint32
	for i := 0; i < b.N; i++ {
		c += crc32.Checksum(p, crcTable)
	}
	_ = c
}

// FuzzVerifyFastMatchesGeneral: the fast path (fastTxn) accepts only what
// the general verifier accepts, with the same lsn, and accepts everything
// the general verifier does except a record with a module_record, which
// it leaves to the general verifier. Seeded as FuzzVerifyTxn.
func FuzzVerifyFastMatchesGeneral(f *testing.F) {
	addVerifySeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		flsn, fok := fastTxn(p)
		slsn, _, sok := verifySlow(p)
		if fok && (!sok || flsn != slsn) {
			t.Fatalf("fast path accepts (lsn %d), general verifier %v (lsn %d)", flsn, sok, slsn)
		}
		if sok && !fok && fb.GetRootAsTransaction(p, 0).ModuleRecord(nil) == nil {
			t.Fatalf("fast path refuses a record without module_record that the general verifier accepts")
		}
	})
}

// BenchmarkAppendPayload is what the log runs under its lock for each
// runtime record (persistence RATIONALE, "Why are payloads opaque"): the
// encoding of a one-insert record and its copy into the frame buffer.
func BenchmarkAppendPayload(b *testing.B) {
	tx := testTxn(7)
	dst := make([]byte, 0, 4096)
	for i := 0; i < b.N; i++ {
		dst = tx.AppendPayload(dst[:0], uint64(i))
	}
}
