// Package vectors writes the cross-language golden logs of tests/vectors.
//
// Each vector is a directory holding:
//
//	log/                  a transaction log directory (segment files), committed as bytes
//	expected.jsonl        one line per record a reader must deliver, in the
//	                      canonical JSON of internal/record (CLI `log dump --json`)
//	expected_validate.json what validating the log must report
//	README                what the vector is about and how a reader must treat it
//
// The vectors written by this build (segment format version 2) are:
//
//	basic           healthy log over several segments: module loads, every value
//	                type (null, bool, u32, u64, i32, i64, f32, f64 incl. NaN and
//	                infinities, string, bytes, nested lists), insert, update and
//	                delete mutations, every transaction kind, a batch
//	torn_tail       basic plus a last record whose frame was half zeroed (a torn
//	                write): readers deliver the records of basic and stop
//	                cleanly; validate reports torn_tail
//	corrupt_middle  basic with one payload byte of a record in a sealed segment
//	                flipped: readers deliver the records before it and then
//	                fail with a corrupt-log error; they never skip it
//	torn_batch      basic plus a batch of three records whose last frame was
//	                half zeroed: readers deliver the records of basic and none
//	                of the batch; validate reports torn_tail at the batch's
//	                first frame
//
// Regenerate with `go run ./tests/vectors/gen` (the Go test checks that the
// generator reproduces the committed bytes exactly).
//
// The vectors named in Frozen (basic_v1, torn_tail_v1, corrupt_middle_v1)
// are basic, torn_tail and corrupt_middle as the format version 1 writer
// wrote them (commit 300bf54). They are never regenerated: every reader
// must go on reading them exactly as their expected files say.
package vectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// Names lists the vectors this build generates, in generation order.
var Names = []string{"basic", "torn_tail", "corrupt_middle", "torn_batch"}

// Frozen lists the committed vectors of older format versions, which are
// read but never regenerated.
var Frozen = []string{"basic_v1", "torn_tail_v1", "corrupt_middle_v1"}

// All is every vector a reader is tested on: Names, then Frozen.
var All = append(append([]string(nil), Names...), Frozen...)

// SegmentSize is the (minimum) segment size the vectors use, so that a
// dozen records span several segments.
const SegmentSize = persistence.MinSegmentSize

// Validation is the content of expected_validate.json.
type Validation struct {
	Records  int64    `json:"records"`
	FirstLSN uint64   `json:"first_lsn"`
	LastLSN  uint64   `json:"last_lsn"`
	Segments int      `json:"segments"`
	TornTail bool     `json:"torn_tail"`
	TornAt   *Place   `json:"torn"`
	Problem  *Place   `json:"problem"`
	Files    []string `json:"files"`
}

// Place locates damage (segment file name, frame offset, expected LSN).
type Place struct {
	Segment string `json:"segment"`
	Offset  int64  `json:"offset"`
	LSN     uint64 `json:"lsn"`
}

func schema(name, version string) []byte {
	b := flatbuffers.NewBuilder(64)
	n, v := b.CreateString(name), b.CreateString(version)
	fb.ModuleSchemaStart(b)
	fb.ModuleSchemaAddAbiVersion(b, 1)
	fb.ModuleSchemaAddName(b, n)
	fb.ModuleSchemaAddVersion(b, v)
	b.Finish(fb.ModuleSchemaEnd(b))
	return b.FinishedBytes()
}

func sha(seed byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = seed + byte(i)
	}
	return s
}

// records returns the transactions of the basic vector.
func records() [][]persistence.Payload {
	r := row.MustEncode
	ins := func(mod, tab string, row []byte) record.Mutation {
		return record.Mutation{Op: fb.OpInsert, Module: mod, Table: tab, Row: row}
	}
	var ts uint64
	tx := func(kind fb.TxKind, mod, red string, args []byte, muts ...record.Mutation) *record.Txn {
		ts++
		return &record.Txn{Timestamp: ts, Kind: kind, Module: mod, Reducer: red, Args: args, Mutations: muts}
	}
	load := func(name, version string, seed byte) *record.Txn {
		t := tx(fb.TxKindModuleLoad, name, "", nil)
		t.ModuleRecord = &record.ModuleRecord{Name: name, Version: version, Schema: schema(name, version), WasmSHA256: sha(seed)}
		return t
	}
	one := func(t *record.Txn) []persistence.Payload { return []persistence.Payload{t} }
	return [][]persistence.Payload{
		one(load("counter", "1.0.0", 0x10)),
		one(load("types", "0.1.0", 0x20)),
		one(tx(fb.TxKindReducer, "counter", "add", r("alice", int64(5)),
			ins("counter", "counters", r("alice", int64(5))))),
		one(tx(fb.TxKindReducer, "counter", "add", r("alice", int64(-7)),
			record.Mutation{Op: fb.OpUpdate, Module: "counter", Table: "counters", Row: r("alice", int64(-2)), OldRow: r("alice", int64(5))})),
		one(tx(fb.TxKindReducer, "types", "scalars", r(),
			ins("types", "scalars", r(uint64(1), nil, true, false, uint32(0), uint32(math.MaxUint32),
				uint64(math.MaxUint64), int32(math.MinInt32), int32(math.MaxInt32), int64(math.MinInt64), int64(math.MaxInt64))),
			ins("types", "scalars", r(uint64(2), uint64(1)<<53+1, int64(-(1<<53)-1))))),
		one(tx(fb.TxKindReducer, "types", "floats", nil,
			ins("types", "floats", r(uint64(3), float32(1.5), float32(-0.25), float64(math.Pi), math.Inf(1), math.Inf(-1), math.NaN(), float64(1e-300), math.Copysign(0, -1))))),
		one(tx(fb.TxKindReducer, "types", "strings", r("quote\" backslash\\ tab\t nl\n"),
			ins("types", "strings", r(uint64(4), "", "héllo wörld ✓ 日本 🎉", "ctl\x01\x1f", "<html>&amp;</html>")))),
		one(tx(fb.TxKindReducer, "types", "bytes", r([]byte{0, 1, 2, 0xff}),
			ins("types", "bytes", r(uint64(5), []byte{}, []byte{0xde, 0xad, 0xbe, 0xef}, bytes.Repeat([]byte{0x55}, 100))))),
		one(tx(fb.TxKindReducer, "types", "lists", nil,
			ins("types", "lists", r(uint64(6), []any{}, []any{int32(1), int32(2), int32(3)}, []any{"a", nil, "c"},
				[]any{[]any{uint64(1)}, []any{}, []any{uint64(2), uint64(3)}}, []any{[]byte{1}, []byte{}})))),
		one(tx(fb.TxKindMigration, "counter", "migrate_v2", nil)),
		one(tx(fb.TxKindExternal, "host", "note", r("written through the standalone log API"))),
		// A batch: two records appended with one write.
		{
			tx(fb.TxKindReducer, "counter", "remove", r("alice"),
				record.Mutation{Op: fb.OpDelete, Module: "counter", Table: "counters", OldRow: r("alice", int64(-2))}),
			tx(fb.TxKindReducer, "counter", "add", r("bob", int64(1)),
				ins("counter", "counters", r("bob", int64(1))),
				ins("counter", "counters", r("carol", int64(2))),
				record.Mutation{Op: fb.OpUpdate, Module: "counter", Table: "counters", Row: r("bob", int64(3)), OldRow: r("bob", int64(1))}),
		},
		one(tx(fb.TxKindReducer, "counter", "noop", r())),
		one(load("counter", "1.1.0", 0x30)),
	}
}

// writeBasic writes the basic log into dir, rotating after every few
// records so that the log spans several segments besides the
// size-triggered rotations.
func writeBasic(dir string) error {
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{SegmentSize: SegmentSize}))
	if err != nil {
		return err
	}
	for i, batch := range records() {
		if len(batch) == 1 {
			_, err = l.Append(batch[0])
		} else {
			_, err = l.AppendBatch(batch)
		}
		if err != nil {
			l.Close()
			return err
		}
		if i == 3 || i == 9 {
			if err := l.Rotate(); err != nil {
				l.Close()
				return err
			}
		}
	}
	return l.Close()
}

// Generate writes every vector under root (root/<name>/...), replacing
// what is there.
func Generate(root string) error {
	for _, name := range Names {
		dir := filepath.Join(root, name)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		logDir := filepath.Join(dir, "log")
		if err := writeBasic(logDir); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var err error
		switch name {
		case "torn_tail":
			err = tearTail(logDir)
		case "corrupt_middle":
			err = corruptMiddle(logDir)
		case "torn_batch":
			err = tearBatch(logDir)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// The writer's lock file is not part of the log.
		if err := os.Remove(filepath.Join(logDir, "LOCK")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := writeExpected(dir); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// tearTail appends one more record, then zeroes the second half of its
// frame, as a write cut short by a crash leaves it.
func tearTail(dir string) error {
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{SegmentSize: SegmentSize}))
	if err != nil {
		return err
	}
	tx := &record.Txn{Timestamp: 100, Kind: fb.TxKindReducer, Module: "counter", Reducer: "add",
		Args:      row.MustEncode("torn", int64(1)),
		Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "counter", Table: "counters", Row: row.MustEncode("torn", int64(1))}}}
	lsn, err := l.Append(tx)
	if err != nil {
		l.Close()
		return err
	}
	if err := l.Close(); err != nil {
		return err
	}
	return zeroHalfFrame(dir, lsn)
}

// tearBatch appends a batch of three records, then zeroes the second half
// of its last frame: the write of a batch cut short by a crash.
func tearBatch(dir string) error {
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{SegmentSize: 4 * SegmentSize}))
	if err != nil {
		return err
	}
	var batch []persistence.Payload
	for i, name := range []string{"dave", "erin", "frank"} {
		batch = append(batch, &record.Txn{Timestamp: 200 + uint64(i), Kind: fb.TxKindReducer, Module: "counter", Reducer: "add",
			Args:      row.MustEncode(name, int64(i)),
			Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "counter", Table: "counters", Row: row.MustEncode(name, int64(i))}}})
	}
	// In a segment of its own (of 4 KiB), which the batch does not fill: a
	// torn write can only be at the end of the log.
	if err := l.Rotate(); err != nil {
		l.Close()
		return err
	}
	first, err := l.AppendBatch(batch)
	if err != nil {
		l.Close()
		return err
	}
	if err := l.Close(); err != nil {
		return err
	}
	return zeroHalfFrame(dir, first+2)
}

// zeroHalfFrame zeroes the second half of record lsn's frame, as a write
// cut short by a crash leaves it.
func zeroHalfFrame(dir string, lsn uint64) error {
	rec, err := find(dir, lsn)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, rec.Segment)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	frame := 16 + len(rec.Payload)
	start := int(rec.Offset) + (frame/2)&^7
	clear(data[start : int(rec.Offset)+frame])
	return os.WriteFile(path, data, 0o644)
}

// corruptMiddle flips one payload byte of the first record of the second
// segment (a sealed one).
func corruptMiddle(dir string) error {
	segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(segs) < 3 {
		return fmt.Errorf("want at least 3 segments, have %d (%v)", len(segs), err)
	}
	seg := filepath.Base(segs[1])
	var target *persistence.Record
	r, err := persistence.NewReader(dir, 0, record.LogOptions(persistence.Options{Recovery: persistence.RecoverReadOnly}))
	if err != nil {
		return err
	}
	for r.Next() {
		if rec := r.Record(); rec.Segment == seg {
			target = &persistence.Record{Segment: rec.Segment, Offset: rec.Offset, LSN: rec.LSN}
			break
		}
	}
	r.Close()
	if target == nil {
		return fmt.Errorf("no record in segment %s", seg)
	}
	path := filepath.Join(dir, seg)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	data[target.Offset+16+4] ^= 0x40
	return os.WriteFile(path, data, 0o644)
}

// find returns the record with LSN lsn (its payload copied).
func find(dir string, lsn uint64) (persistence.Record, error) {
	r, err := persistence.NewReader(dir, lsn, record.LogOptions(persistence.Options{Recovery: persistence.RecoverReadOnly}))
	if err != nil {
		return persistence.Record{}, err
	}
	defer r.Close()
	if !r.Next() {
		return persistence.Record{}, fmt.Errorf("lsn %d not found: %v", lsn, r.Err())
	}
	rec := r.Record()
	rec.Payload = bytes.Clone(rec.Payload)
	return rec, nil
}

// Read returns the JSON lines a reader delivers for the log in dir and
// the error that ended the reading (nil at a clean end, including a torn
// tail).
func Read(dir string) (lines []string, readErr error, err error) {
	r, err := persistence.NewReader(dir, 0, record.LogOptions(persistence.Options{Recovery: persistence.RecoverReadOnly}))
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for r.Next() {
		b, err := record.AppendJSON(nil, r.Record().Payload)
		if err != nil {
			return nil, nil, err
		}
		lines = append(lines, string(b))
	}
	return lines, r.Err(), nil
}

// Validate returns the Validation of the log in dir.
func Validate(dir string) (*Validation, error) {
	rep, err := persistence.Validate(dir, record.LogOptions(persistence.Options{}))
	if err != nil {
		return nil, err
	}
	v := &Validation{Records: rep.Records, FirstLSN: rep.FirstLSN, LastLSN: rep.LastLSN, Segments: len(rep.Segments), TornTail: rep.TornTail, Files: []string{}}
	if p := rep.Torn; p != nil {
		v.TornAt = &Place{p.Segment, p.Offset, p.LSN}
	}
	if p := rep.Problem; p != nil {
		v.Problem = &Place{p.Segment, p.Offset, p.LSN}
	}
	for _, s := range rep.Segments {
		v.Files = append(v.Files, s.Name)
	}
	return v, nil
}

func writeExpected(dir string) error {
	logDir := filepath.Join(dir, "log")
	lines, readErr, err := Read(logDir)
	if err != nil {
		return err
	}
	corrupt := errors.Is(readErr, persistence.ErrCorrupt)
	if readErr != nil && !corrupt {
		return readErr
	}
	var out bytes.Buffer
	for _, l := range lines {
		out.WriteString(l)
		out.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "expected.jsonl"), out.Bytes(), 0o644); err != nil {
		return err
	}
	v, err := Validate(logDir)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "expected_validate.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	end := "A reader delivers every line of expected.jsonl and ends cleanly."
	switch {
	case corrupt:
		end = "A reader delivers every line of expected.jsonl, then fails with a corrupt-log error\n(INTERSTICE_E_CORRUPT) at expected_validate.json's \"problem\"; it must never skip the damage."
	case v.TornTail:
		end = "A reader delivers every line of expected.jsonl and ends cleanly at the torn tail\n(it is not an error for a reader); validate reports torn_tail."
	}
	readme := fmt.Sprintf("Golden log vector %q (generated by tests/vectors/gen; do not edit).\n%s\n", filepath.Base(dir), end)
	return os.WriteFile(filepath.Join(dir, "README"), []byte(readme), 0o644)
}
