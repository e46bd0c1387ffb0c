package record

import (
	"bytes"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

// SnapshotEncoder builds the body of a snapshot file, an fb.Snapshot
// (fbs/snapshot.fbs): the module records in force, in load order, then
// each table's rows in key order. persistence.WriteSnapshot stores the
// body; ReadSnapshot reads it back.
//
//	e := record.NewSnapshotEncoder()
//	e.Module(mr)                  // for each module, in load order
//	e.Row(row)                    // for each row of a table, in key order
//	e.EndTable("bank", "accounts") // after each table's rows
//	body := e.Finish(lsn, timestamp)
type SnapshotEncoder struct {
	b          *flatbuffers.Builder
	mods, tbls []flatbuffers.UOffsetT
	rows       []flatbuffers.UOffsetT
}

// NewSnapshotEncoder returns an empty encoder.
func NewSnapshotEncoder() *SnapshotEncoder {
	return &SnapshotEncoder{b: flatbuffers.NewBuilder(1 << 16)}
}

// Module adds a module record.
func (e *SnapshotEncoder) Module(mr *ModuleRecord) {
	e.mods = append(e.mods, encodeModuleRecord(e.b, mr))
}

// Row adds an encoded row to the table being built.
func (e *SnapshotEncoder) Row(row []byte) {
	d := e.b.CreateByteVector(row)
	fb.RowBytesStart(e.b)
	fb.RowBytesAddData(e.b, d)
	e.rows = append(e.rows, fb.RowBytesEnd(e.b))
}

// EndTable ends the table being built, module.table, with the rows added
// since the last EndTable, and returns how many there were.
func (e *SnapshotEncoder) EndTable(module, table string) int {
	b := e.b
	n := len(e.rows)
	rv := vector(b, e.rows)
	mod, name := b.CreateString(module), b.CreateString(table)
	fb.TableSnapshotStart(b)
	fb.TableSnapshotAddModule(b, mod)
	fb.TableSnapshotAddTableName(b, name)
	fb.TableSnapshotAddRows(b, rv)
	e.tbls = append(e.tbls, fb.TableSnapshotEnd(b))
	e.rows = e.rows[:0]
	return n
}

// Finish returns the body of the state after record lsn, whose timestamp
// was ts. The bytes belong to the encoder, which must not be used again.
func (e *SnapshotEncoder) Finish(lsn, ts uint64) []byte {
	b := e.b
	mv, tv := vector(b, e.mods), vector(b, e.tbls)
	fb.SnapshotStart(b)
	fb.SnapshotAddLsn(b, lsn)
	fb.SnapshotAddTimestamp(b, ts)
	fb.SnapshotAddModules(b, mv)
	fb.SnapshotAddTables(b, tv)
	b.Finish(fb.SnapshotEnd(b))
	return b.FinishedBytes()
}

func vector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

// Snapshot reads a snapshot body. The body comes from a checksummed
// snapshot file (persistence.ReadNewestSnapshot), so it is what a
// SnapshotEncoder wrote; its accessors read the flatbuffer unchecked, and
// a reader of a body from anywhere else recovers their panics.
type Snapshot struct {
	s fb.Snapshot
}

// ReadSnapshot returns a reader of body, which must stay valid while the
// reader is used.
func ReadSnapshot(body []byte) (*Snapshot, error) {
	if len(body) < 8 {
		return nil, fmt.Errorf("%d-byte snapshot body", len(body))
	}
	r := &Snapshot{}
	r.s.Init(body, flatbuffers.GetUOffsetT(body))
	return r, nil
}

// LSN is the record the snapshot's state is after.
func (r *Snapshot) LSN() uint64 { return r.s.Lsn() }

// Timestamp is that record's timestamp.
func (r *Snapshot) Timestamp() uint64 { return r.s.Timestamp() }

// Modules returns copies of the module records, in load order.
func (r *Snapshot) Modules() []*ModuleRecord {
	var mrt fb.ModuleRecord
	out := make([]*ModuleRecord, r.s.ModulesLength())
	for i := range out {
		r.s.Modules(&mrt, i)
		out[i] = &ModuleRecord{Name: string(mrt.Name()), Version: string(mrt.Version()),
			Schema: bytes.Clone(mrt.SchemaBytes()), WasmSHA256: bytes.Clone(mrt.WasmSha256Bytes())}
	}
	return out
}

// Tables is the number of tables.
func (r *Snapshot) Tables() int { return r.s.TablesLength() }

// Table returns table i.
func (r *Snapshot) Table(i int) SnapshotTable {
	var t SnapshotTable
	r.s.Tables(&t.t, i)
	return t
}

// SnapshotTable is one table of a snapshot. Row may be called from
// several goroutines at once.
type SnapshotTable struct {
	t fb.TableSnapshot
}

// Module is the table's module.
func (t *SnapshotTable) Module() string { return string(t.t.Module()) }

// Name is the table's name.
func (t *SnapshotTable) Name() string { return string(t.t.TableName()) }

// Rows is the number of rows.
func (t *SnapshotTable) Rows() int { return t.t.RowsLength() }

// Row returns row j's encoded bytes, valid as long as the body is.
func (t *SnapshotTable) Row(j int) []byte {
	var rb fb.RowBytes
	t.t.Rows(&rb, j)
	return rb.DataBytes()
}
