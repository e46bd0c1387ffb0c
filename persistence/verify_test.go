package persistence

import (
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
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

// corruptRecord rewrites the payload of the record at frame offset off of
// the segment file seg with apply and recomputes the frame's checksum: a
// CRC-valid record that is not a well-formed transaction.
func corruptRecord(t *testing.T, seg string, off int64, apply func(testing.TB, []byte)) {
	t.Helper()
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	h := decodeFrameHeader(b[off:])
	frame := b[off : off+frameHeaderSize+int64(h.length)]
	apply(t, frame[frameHeaderSize:])
	encodeFrameHeader(frame, int(h.length), h.lsn)
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
				offs, _ := frameOffsets(t, seg)
				off := offs[which-1]
				corruptRecord(t, seg, off, m.apply)
				where := "segment " + segmentName(1) + " offset " + itoa(off) + " lsn " + itoa(int64(which)) + ":"

				rep, err := Validate(dir)
				if err != nil || rep.Problem == nil || rep.TornTail || !errors.Is(rep.Problem.Err, ErrCorrupt) ||
					rep.Problem.Offset != off || rep.Problem.LSN != uint64(which) || rep.LastLSN != uint64(which-1) {
					t.Fatalf("Validate: %v problem %+v torn %v last %d", err, rep.Problem, rep.Torn, rep.LastLSN)
				}
				if !strings.Contains(rep.Problem.Err.Error(), where) || !strings.Contains(rep.Problem.Reason, "malformed transaction") {
					t.Fatalf("Validate: %v, want %q and the reason", rep.Problem.Err, where)
				}
				info, err := Inspect(dir)
				if err != nil || info.Problem == nil || info.Problem.Offset != off || info.Records != int64(which-1) {
					t.Fatalf("Inspect: %v %+v", err, info.Problem)
				}
				for name, err := range openErrors(t, dir) {
					if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), where) {
						t.Fatalf("%s: %v, want ErrCorrupt at %q", name, err, where)
					}
				}
				rr, err := Repair(dir)
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

// TestAppendEncodedRefusesMalformedPayload: the log never writes a record
// that its readers would then call corrupt.
func TestAppendEncodedRefusesMalformedPayload(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{Sync: SyncNone})
	defer l.Close()
	for _, m := range malformations {
		t.Run(m.name, func(t *testing.T) {
			p := EncodeTxn(flatbuffers.NewBuilder(0), testTxn(3))
			m.apply(t, p)
			if _, err := l.AppendEncoded(p); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("AppendEncoded: %v, want ErrBadRecord", err)
			}
			if _, err := l.EnqueueEncoded(p); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("EnqueueEncoded: %v, want ErrBadRecord", err)
			}
			if _, err := DecodeTxn(p); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeTxn: %v, want ErrCorrupt", err)
			}
		})
	}
	if l.LastLSN() != 0 {
		t.Fatalf("last lsn %d after refused appends", l.LastLSN())
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
		p := EncodeTxn(b, tx)
		if err := VerifyTxn(p); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		got, err := DecodeTxn(p)
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
		f.Add(append([]byte(nil), EncodeTxn(b, testTxn(i))...))
	}
	f.Add(append([]byte(nil), EncodeTxn(b, &Txn{LSN: 3, Mutations: []Mutation{{}, {Op: fb.OpDelete, OldRow: []byte{9}}, {Row: []byte{}, OldRow: []byte{}}, {Table: "t"}, {Table: "u"}}})...))
	f.Add(append([]byte(nil), EncodeTxn(b, &Txn{Kind: fb.TxKindModuleLoad, ModuleRecord: &ModuleRecord{Name: "m", Schema: []byte{1}}})...))
	for _, m := range malformations {
		p := append([]byte(nil), EncodeTxn(b, testTxn(5))...)
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
		err := VerifyTxn(p)
		tx, derr := DecodeTxn(p)
		if (err == nil) != (derr == nil) {
			t.Fatalf("VerifyTxn %v but DecodeTxn %v", err, derr)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("VerifyTxn: %v, want ErrCorrupt", err)
			}
			return
		}
		walkTxn(p)
		if _, lsn, ok := payloadLSN(p); !ok || lsn != tx.LSN {
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
	p := EncodeTxn(flatbuffers.NewBuilder(0), testTxn(7))
	b.SetBytes(int64(len(p)))
	for i := 0; i < b.N; i++ {
		if _, _, ok := verify(p); !ok {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifyTxnCRC is the frame CRC of the same record, for scale.
func BenchmarkVerifyTxnCRC(b *testing.B) {
	p := EncodeTxn(flatbuffers.NewBuilder(0), testTxn(7))
	b.SetBytes(int64(len(p)))
	var c uint32
	for i := 0; i < b.N; i++ {
		c += crc32c(p)
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
