package record

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

// Fields reads the fields of one Mutation of a verified record as its
// generated accessors do (fbs/fb/Mutation.go, flatbuffers.Table.Offset and
// ByteVector: the same reads with the same uint32 arithmetic), locating the
// vtable once instead of once per field: replay reads every mutation of
// the log through it.
type Fields struct {
	buf    []byte
	pos    flatbuffers.UOffsetT
	vtable flatbuffers.UOffsetT
	vlen   flatbuffers.VOffsetT
}

// MutationFields returns the Fields of mu, a mutation of a verified record.
func MutationFields(mu *fb.Mutation) Fields {
	t := mu.Table()
	vt := flatbuffers.UOffsetT(flatbuffers.SOffsetT(t.Pos) - t.GetSOffsetT(t.Pos))
	return Fields{buf: t.Bytes, pos: t.Pos, vtable: vt, vlen: t.GetVOffsetT(vt)}
}

// Op is Mutation.op.
func (m *Fields) Op() fb.Op {
	if o := m.offset(slotMutOp); o != 0 {
		return fb.Op(flatbuffers.GetByte(m.buf[o+m.pos:]))
	}
	return 0
}

// Module is Mutation.module (nil if absent).
func (m *Fields) Module() []byte { return m.bytes(slotMutModule) }

// Table is Mutation.table_name (nil if absent).
func (m *Fields) Table() []byte { return m.bytes(slotMutTable) }

// Row is Mutation.row (nil if absent).
func (m *Fields) Row() []byte { return m.bytes(slotMutRow) }

// OldRow is Mutation.old_row (nil if absent).
func (m *Fields) OldRow() []byte { return m.bytes(slotMutOldRow) }

// offset is flatbuffers.Table.Offset(slot).
func (m *Fields) offset(slot flatbuffers.VOffsetT) flatbuffers.UOffsetT {
	if slot < m.vlen {
		return flatbuffers.UOffsetT(flatbuffers.GetVOffsetT(m.buf[m.vtable+flatbuffers.UOffsetT(slot):]))
	}
	return 0
}

// bytes is the [ubyte] or string field at slot (nil if absent).
func (m *Fields) bytes(slot flatbuffers.VOffsetT) []byte {
	o := m.offset(slot)
	if o == 0 {
		return nil
	}
	off := o + m.pos
	off += flatbuffers.GetUOffsetT(m.buf[off:])
	start := off + flatbuffers.UOffsetT(flatbuffers.SizeUOffsetT)
	length := flatbuffers.GetUOffsetT(m.buf[off:])
	return m.buf[start : start+length]
}
