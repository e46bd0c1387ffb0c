// Package record is the one codec of what the runtime stores: the Go form
// of a log record, an fb.Transaction (fbs/transaction.fbs), with its
// FlatBuffers encoder and decoder, replay's field reader (MutationFields),
// the record verifier that every reader of a log runs (Check, as
// persistence.Options.Check), Inspect's counts, and the canonical JSON form
// in both directions (AppendJSON, ParseJSON); and the body of a snapshot
// file, an fb.Snapshot (SnapshotEncoder, ReadSnapshot). persistence stores these records as
// opaque payloads and knows nothing of them; everything that reads or
// writes a record's fields goes through this package.
//
// It imports persistence (for its sentinel errors and the Payload
// interface) and fbs/fb and row; it must not import core or anything
// that runs WASM.
package record

import (
	"encoding/binary"
	"fmt"
	"sync"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
)

// Txn is the Go form of one log record, an fb.Transaction (see
// fbs/transaction.fbs). Rows and arguments are opaque encoded bytes.
type Txn struct {
	LSN          uint64 // the log's: set by AppendPayload, read by Decode
	Timestamp    uint64 // logical clock
	Kind         fb.TxKind
	Module       string
	Reducer      string
	Args         []byte // encoded Row, or nil
	Mutations    []Mutation
	ModuleRecord *ModuleRecord // set for ModuleLoad records
}

// Mutation is one row change of a Txn.
type Mutation struct {
	Op     fb.Op
	Module string
	Table  string
	Row    []byte // new row (insert, update)
	OldRow []byte // old row (update, delete)
}

// ModuleRecord describes a module load or upgrade.
type ModuleRecord struct {
	Name       string
	Version    string
	Schema     []byte // encoded ModuleSchema
	WasmSHA256 []byte
}

var builderPool = sync.Pool{New: func() any { return flatbuffers.NewBuilder(256) }}

// AppendPayload encodes tx as the payload of record lsn (persistence.Payload):
// it sets tx.LSN to lsn, encodes, and appends the bytes to dst.
func (tx *Txn) AppendPayload(dst []byte, lsn uint64) []byte {
	tx.LSN = lsn
	b := builderPool.Get().(*flatbuffers.Builder)
	dst = append(dst, Encode(b, tx)...)
	if cap(b.Bytes) <= 1<<20 {
		builderPool.Put(b)
	}
	return dst
}

// Encoded is a Transaction flatbuffer encoded by someone else (the C log
// API's callers) as a persistence.Payload: AppendPayload copies it and
// writes the LSN the log assigns into the copy's lsn field. A payload
// without an lsn field is copied as it is, and the log's Check then
// refuses it (ErrBadRecord).
type Encoded []byte

// AppendPayload appends a copy of e carrying lsn.
func (e Encoded) AppendPayload(dst []byte, lsn uint64) []byte {
	start := len(dst)
	dst = append(dst, e...)
	if pos, _, ok := lsnField(e); ok {
		binary.LittleEndian.PutUint64(dst[start+pos:], lsn)
	}
	return dst
}

// Encode encodes tx as a Transaction flatbuffer with b (which it resets)
// and returns the finished bytes, valid until b is reused. The lsn field is
// always present (even when tx.LSN is 0): the format requires it (Check),
// and Encoded finds it there.
func Encode(b *flatbuffers.Builder, tx *Txn) []byte {
	b.Reset()
	muts := make([]flatbuffers.UOffsetT, 0, 8)
	for i := range tx.Mutations {
		m := &tx.Mutations[i]
		mod := b.CreateString(m.Module)
		tbl := b.CreateString(m.Table)
		var row, old flatbuffers.UOffsetT
		if m.Row != nil {
			row = b.CreateByteVector(m.Row)
		}
		if m.OldRow != nil {
			old = b.CreateByteVector(m.OldRow)
		}
		fb.MutationStart(b)
		fb.MutationAddOp(b, m.Op)
		fb.MutationAddModule(b, mod)
		fb.MutationAddTableName(b, tbl)
		if m.Row != nil {
			fb.MutationAddRow(b, row)
		}
		if m.OldRow != nil {
			fb.MutationAddOldRow(b, old)
		}
		muts = append(muts, fb.MutationEnd(b))
	}
	fb.TransactionStartMutationsVector(b, len(muts))
	for i := len(muts) - 1; i >= 0; i-- {
		b.PrependUOffsetT(muts[i])
	}
	mutVec := b.EndVector(len(muts))
	var modRec flatbuffers.UOffsetT
	if mr := tx.ModuleRecord; mr != nil {
		modRec = encodeModuleRecord(b, mr)
	}
	module := b.CreateString(tx.Module)
	reducer := b.CreateString(tx.Reducer)
	var args flatbuffers.UOffsetT
	if tx.Args != nil {
		args = b.CreateByteVector(tx.Args)
	}
	fb.TransactionStart(b)
	// Like fb.TransactionAddLsn, but written even when it equals the default 0.
	b.PrependUint64(tx.LSN)
	b.Slot(0)
	fb.TransactionAddTimestamp(b, tx.Timestamp)
	fb.TransactionAddKind(b, tx.Kind)
	fb.TransactionAddModule(b, module)
	fb.TransactionAddReducer(b, reducer)
	if tx.Args != nil {
		fb.TransactionAddArgs(b, args)
	}
	fb.TransactionAddMutations(b, mutVec)
	if tx.ModuleRecord != nil {
		fb.TransactionAddModuleRecord(b, modRec)
	}
	b.Finish(fb.TransactionEnd(b))
	return b.FinishedBytes()
}

// encodeModuleRecord builds mr as an fb.ModuleRecord table in b (a nil
// schema or hash is absent, an empty one present and empty): the one
// encoder of module records, in transactions and in snapshots.
func encodeModuleRecord(b *flatbuffers.Builder, mr *ModuleRecord) flatbuffers.UOffsetT {
	name := b.CreateString(mr.Name)
	ver := b.CreateString(mr.Version)
	var schema, sha flatbuffers.UOffsetT
	if mr.Schema != nil {
		schema = b.CreateByteVector(mr.Schema)
	}
	if mr.WasmSHA256 != nil {
		sha = b.CreateByteVector(mr.WasmSHA256)
	}
	fb.ModuleRecordStart(b)
	fb.ModuleRecordAddName(b, name)
	fb.ModuleRecordAddVersion(b, ver)
	if mr.Schema != nil {
		fb.ModuleRecordAddSchema(b, schema)
	}
	if mr.WasmSHA256 != nil {
		fb.ModuleRecordAddWasmSha256(b, sha)
	}
	return fb.ModuleRecordEnd(b)
}

// lsnField locates the lsn field of a Transaction flatbuffer without
// trusting the bytes: every offset is bounds-checked, so it never panics.
// It returns the field's byte offset in payload, its value, and whether it
// is present.
func lsnField(p []byte) (pos int, lsn uint64, found bool) {
	if len(p) < 4 {
		return -1, 0, false
	}
	root := int64(binary.LittleEndian.Uint32(p))
	if root+4 > int64(len(p)) {
		return -1, 0, false
	}
	vt := root - int64(int32(binary.LittleEndian.Uint32(p[root:])))
	if vt < 0 || vt+6 > int64(len(p)) {
		return -1, 0, false
	}
	if binary.LittleEndian.Uint16(p[vt:]) < 6 { // vtable too short to hold field 0
		return -1, 0, false
	}
	fo := int64(binary.LittleEndian.Uint16(p[vt+4:]))
	if fo == 0 {
		return -1, 0, false
	}
	at := root + fo
	if at+8 > int64(len(p)) {
		return -1, 0, false
	}
	return int(at), binary.LittleEndian.Uint64(p[at:]), true
}

// Decode decodes a record payload into a new Txn, copying every byte
// slice out of p. It first checks p with Verify, the record verifier
// every reader of the log uses: a malformed flatbuffer is an error
// wrapping persistence.ErrCorrupt, never a panic.
func Decode(p []byte) (tx *Txn, err error) {
	if err := Verify(p); err != nil {
		return nil, err
	}
	t := fb.GetRootAsTransaction(p, 0)
	tx = &Txn{
		LSN:       t.Lsn(),
		Timestamp: t.Timestamp(),
		Kind:      t.Kind(),
		Module:    string(t.Module()),
		Reducer:   string(t.Reducer()),
		Args:      cloneBytes(t.ArgsBytes()),
	}
	if n := t.MutationsLength(); n > 0 {
		tx.Mutations = make([]Mutation, n)
		var m fb.Mutation
		for i := 0; i < n; i++ {
			if !t.Mutations(&m, i) {
				return nil, fmt.Errorf("%w: mutation %d unreadable", persistence.ErrCorrupt, i)
			}
			tx.Mutations[i] = Mutation{
				Op:     m.Op(),
				Module: string(m.Module()),
				Table:  string(m.TableName()),
				Row:    cloneBytes(m.RowBytes()),
				OldRow: cloneBytes(m.OldRowBytes()),
			}
		}
	}
	var mr fb.ModuleRecord
	if t.ModuleRecord(&mr) != nil {
		tx.ModuleRecord = &ModuleRecord{
			Name:       string(mr.Name()),
			Version:    string(mr.Version()),
			Schema:     cloneBytes(mr.SchemaBytes()),
			WasmSHA256: cloneBytes(mr.WasmSha256Bytes()),
		}
	}
	return tx, nil
}

// cloneBytes copies b; a nil (absent) vector stays nil and an empty one
// becomes an empty non-nil slice.
func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// View returns the verified payload p as a zero-copy fb.Transaction, valid
// as long as p is. Only for payloads a log reader handed out (they passed
// Check) or that passed Verify.
func View(p []byte) *fb.Transaction { return fb.GetRootAsTransaction(p, 0) }

// Init points t at the verified payload p without allocating (View).
func Init(t *fb.Transaction, p []byte) { t.Init(p, uoffset(p)) }

// uoffset returns the root offset of a flatbuffer, or 0 if p is too short.
func uoffset(p []byte) flatbuffers.UOffsetT {
	if len(p) < 4 {
		return 0
	}
	return flatbuffers.GetUOffsetT(p)
}
