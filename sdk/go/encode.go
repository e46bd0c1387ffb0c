package sdk

import (
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// The row writer: a specialised FlatBuffers writer for the one schema the
// guest writes (fbs/value.fbs, table Row { values: [Value] }). It produces
// exactly the bytes that row.Encode (the official Go flatbuffers.Builder
// driven by row.Build) produces for the same values, without the Builder's
// per-field bookkeeping: in a wasm guest every Builder method is a
// non-inlined call (Prep, Slot, PrependX, WriteVtable, ...), about 100 of
// them for a 3-column row, and those calls were most of an insert's guest
// time.
//
// It reproduces the Builder step by step:
//
//   - The buffer is written back to front. Offsets are counted from the end
//     of the buffer (the Builder's Offset()), so the bytes do not depend on
//     the buffer's size, and padding is computed from that offset exactly as
//     Prep computes it. Padding bytes are zero.
//   - A string is Prep(4, len+1), a NUL, the bytes and a uint32 length; a
//     byte vector is Prep(4, len), the bytes and the length; a vector of
//     offsets is Prep(4, 4n), the uoffsets written last to first, and the
//     count.
//   - A Value table is written as row.Build calls the generated builders:
//     the type byte first (omitted for Null, whose tag is the default 0),
//     then the one payload field, omitted when it equals its default (false,
//     0, or a float that compares equal to 0, which includes -0 but not
//     NaN), then the soffset to the vtable.
//   - The vtable is trimmed of trailing zero entries and deduplicated as
//     WriteVtable does: the most recently written vtable whose field entries
//     (not its object size) are equal is reused, otherwise a new one is
//     written in front of the table. A Value vtable is fully described by
//     its length and its two possibly non-zero entries (the type field and
//     the payload field), so each written vtable is remembered as one
//     small integer (vtIndex) that indexes a direct-mapped table of the
//     vtables written so far. The Row table's vtable ([4]) is looked up the
//     same way (no Value's vtable equals it in practice: a Value starts at
//     an even offset, so its type field is at 5 or 7).
//   - Finish aligns to the largest scalar written (minalign: 8 if any
//     8-byte field was written, else 4) and prepends the root offset.
//
// TestEncodeMatchesRowBuild (plan_test.go), TestEncodeCases,
// TestEncodeRandomShapes and FuzzEncodeMatchesRowBuild (encode_test.go)
// compare its output with row.Encode byte for byte.
type rowWriter struct {
	// buf is written back to front: the encoding so far is
	// buf[len(buf)-off:].
	buf []byte
	off int
	// wide is 1 once an 8-byte scalar is written (the Builder's minalign
	// becomes 8), else 0.
	wide int
	// gen numbers the encodings; vts[i] is a vtable of the current one if
	// vts[i].gen == gen.
	gen uint32
	// vts maps vtIndex of a vtable's entries to the offset of the vtable
	// with those entries written in this encoding (there is at most one).
	vts [vtSlots]vtable
	// more holds vtables whose entries vtIndex cannot index (none in
	// practice: see vtIndex), or all of them if noIndex is set (for
	// tests).
	more    []vtMore
	noIndex bool
	// offs holds the offsets of the values of the rows and lists being
	// written: an element range is pushed, written out as a vector, then
	// popped.
	offs []uint32
}

type vtable struct {
	gen uint32 // the encoding it belongs to
	off uint32 // its offset (from the end of the buffer)
}

type vtMore struct {
	n, t, q int    // vtIndex's arguments
	off     uint32 // its offset
}

// The one row writer (a module instance runs one reducer at a time, and
// encoding never re-enters itself). The encoded bytes it returns are valid
// until the next encode.
var wr = rowWriter{
	buf:  make([]byte, 512),
	offs: make([]uint32, 0, 64),
}

// Value field slots (fbs/value.fbs field order).
const (
	slotType  = 0
	slotB     = 1
	slotU     = 2
	slotI     = 3
	slotF     = 4
	slotS     = 5
	slotBytes = 6
	slotList  = 7
)

// vtIndex numbers a trimmed vtable by its entries: n entries (0 to 8),
// entry 0 is t, entry n-1 is q (when n >= 2), the others are 0. That is
// the shape of every vtable this writer produces: a Value has its type
// field and at most one payload field, and the Row's vtable is [4]. The
// offsets are small: a Value starts at an even offset, so t is 5 or 7 for
// a type alone or a bool, 9 or 11 before an offset payload, 13 to 19
// before an 8-byte payload, and q is 4 or 6. vtIndex covers t < 32 and
// q < 8; ok is false for anything else (kept in rowWriter.more).
func vtIndex(n, t, q int) (i int, ok bool) {
	return (n<<5|t)<<3 | q, uint(t)>>5|uint(q)>>3 == 0 && uint(n) <= 8
}

const vtSlots = 9 << 8

// start resets the writer for a new buffer (the Builder's Reset).
func (w *rowWriter) start() {
	w.off = 0
	w.wide = 0
	w.offs = w.offs[:0]
	w.more = w.more[:0]
	w.gen++
	if w.gen == 0 { // wrapped: entries of generation 0 are not stale yet
		w.vts = [vtSlots]vtable{}
		w.gen = 1
	}
}

// room makes sure n more bytes fit in front of the written data.
func (w *rowWriter) room(n int) {
	if len(w.buf)-w.off < n {
		w.grow(n)
	}
}

// grow reallocates buf with at least n free bytes in front of the written
// data, which moves to the end of the new buffer.
//
//go:noinline
func (w *rowWriter) grow(n int) {
	size := 2 * len(w.buf)
	for size-w.off < n {
		size *= 2
	}
	nb := make([]byte, size)
	copy(nb[size-w.off:], w.buf[len(w.buf)-w.off:])
	w.buf = nb
}

// The functions below avoid branches where they can (and compute with 0/1
// masks instead): in a wasm guest each taken branch inside a Go function
// goes through the function's dispatch table, an indirect jump.

// endTable ends the table whose fields are written: the head is at h, the
// table began at offset end, it has n vtable entries, and fields 0 and
// n-1 were written at offsets t and q (0 if absent). It writes the soffset
// and, unless an equal one was written before (WriteVtable), the vtable,
// and returns the table's offset. The caller has made room for the
// soffset, up to 3 bytes of padding and 20 bytes of vtable.
func (w *rowWriter) endTable(h, end, n, t, q int) uint32 {
	b := unsafe.Pointer(unsafe.SliceData(w.buf))
	size := len(w.buf)
	// PrependSOffsetT: Prep(4, 0), then 4 bytes (set below).
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size) & 3
	h -= 4
	obj := size - h
	// The entries: obj - t and obj - q, 0 for an absent field.
	t = (obj - t) & -int(uint(-t)>>63)
	q = (obj - q) & -int(uint(-q)>>63)
	return w.endSmall(b, h, end, n, t, q, obj)
}

// writeVtable writes a new vtable in front of the table at h (see
// endTable) and the table's soffset to it, and returns its offset.
func (w *rowWriter) writeVtable(b unsafe.Pointer, h, end, n, t, q int) int {
	size := len(w.buf)
	obj := size - h
	// Its size in bytes, the table's size, then the n entries: zero the
	// 20 bytes a vtable can take (4 + 2*8), then write the non-zero
	// entries. Entry n-1 first, then entry 0: for n == 1 they are the
	// same; for n == 0 both land on bytes written after them.
	put64(unsafe.Add(b, h-8), 0)
	put64(unsafe.Add(b, h-16), 0)
	put32(unsafe.Add(b, h-20), 0)
	vt := h - (4 + 2*n)
	put16(unsafe.Add(b, vt+2+2*n), uint16(q))
	put16(unsafe.Add(b, vt+4), uint16(t))
	put16(unsafe.Add(b, vt), uint16(4+2*n))
	put16(unsafe.Add(b, vt+2), uint16(obj-end))
	voff := size - vt
	put32(unsafe.Add(b, h), uint32(voff-obj))
	w.off = voff
	return voff
}

// endTableMore is endTable for entries vtIndex does not cover.
//
//go:noinline
func (w *rowWriter) endTableMore(h, end, n, t, q int) uint32 {
	b := unsafe.Pointer(unsafe.SliceData(w.buf))
	obj := len(w.buf) - h
	for i := len(w.more) - 1; i >= 0; i-- {
		if m := &w.more[i]; m.n == n && m.t == t && m.q == q {
			put32(unsafe.Add(b, h), uint32(int32(m.off)-int32(obj)))
			w.off = obj
			return uint32(obj)
		}
	}
	voff := w.writeVtable(b, h, end, n, t, q)
	w.more = append(w.more, vtMore{n, t, q, uint32(voff)})
	return uint32(obj)
}

// scalar writes a Value table of kind k (not Null) whose payload is x, an
// 8-byte field in slot, omitted if x is 0 (its default).
func (w *rowWriter) scalar(k fb.ValueType, slot int, x uint64) uint32 {
	w.room(64)
	b := unsafe.Pointer(unsafe.SliceData(w.buf))
	size := len(w.buf)
	end := w.off
	h := size - end - 1
	*(*byte)(unsafe.Add(b, h)) = byte(k)
	// Prep(8, 0), then the 8 bytes: written in any case, kept (the head
	// moved past them) if m is 1, that is x is not 0.
	put64(unsafe.Add(b, h-8), 0)
	p := h - (h-size)&7 - 8
	put64(unsafe.Add(b, p), x)
	m := int((x | -x) >> 63)
	w.wide |= m
	h -= m * (h - p)
	// endTable, inlined: the soffset (aligned already when the payload is
	// there), the vtable entries, and the vtable.
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size) & 3
	h -= 4
	obj := size - h
	n, t, q := 1+m*slot, obj-end-1, m*4
	return w.endSmall(b, h, end, n, t, q, obj)
}

// ref writes a Value table of kind k whose payload, in slot, is the
// offset of child (a string or a vector written just before).
func (w *rowWriter) ref(k fb.ValueType, slot int, child uint32) uint32 {
	w.room(64)
	b := unsafe.Pointer(unsafe.SliceData(w.buf))
	size := len(w.buf)
	end := w.off
	h := size - end - 1
	*(*byte)(unsafe.Add(b, h)) = byte(k)
	// PrependUOffsetT: Prep(4, 0), then the offset relative to itself.
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size) & 3
	h -= 4
	put32(unsafe.Add(b, h), uint32(size-h)-child)
	return w.endTable(h, end, slot+1, end+1, size-h)
}

// null writes a Null Value table: no fields at all.
func (w *rowWriter) null() uint32 {
	w.room(64)
	return w.endTable(len(w.buf)-w.off, w.off, 0, 0, 0)
}

// encFunc writes the Go value at p, of codec c, as a Value table (after
// its string or vector, if any) and returns the table's offset. Each codec
// has the one for its Go type (encFor), so encoding a column is one
// indirect call and no switch.
type encFunc func(w *rowWriter, c *codec, p unsafe.Pointer) uint32

// encFor returns the encFunc of codecs with op.
func encFor(op codecOp) encFunc {
	switch op {
	case opBool:
		return encBool
	case opI8:
		return encI8
	case opI16:
		return encI16
	case opI32:
		return encI32
	case opI64:
		return encI64
	case opU8:
		return encU8
	case opU16:
		return encU16
	case opU32:
		return encU32
	case opU64:
		return encU64
	case opF32:
		return encF32
	case opF64:
		return encF64
	case opString, opBytes:
		return encBlob
	case opOpt:
		return encOpt
	case opList:
		return encList
	}
	panic("sdk: no encoder for codec op")
}

func encU64(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotU, *(*uint64)(p))
}

func encI64(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotI, uint64(*(*int64)(p)))
}

func encU32(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotU, uint64(*(*uint32)(p)))
}

func encI32(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotI, uint64(*(*int32)(p)))
}

func encU16(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotU, uint64(*(*uint16)(p)))
}

func encI16(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotI, uint64(*(*int16)(p)))
}

func encU8(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotU, uint64(*(*uint8)(p)))
}

func encI8(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	return w.scalar(c.typ.Kind, slotI, uint64(*(*int8)(p)))
}

// encF64 and encF32 pass 0 for every float equal to 0: the Builder's
// default test is a float comparison, so -0 is omitted and NaN written.

func encF64(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	f := *(*float64)(p)
	x := math.Float64bits(f)
	if f == 0 {
		x = 0
	}
	return w.scalar(c.typ.Kind, slotF, x)
}

func encF32(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	f := float64(*(*float32)(p))
	x := math.Float64bits(f)
	if f == 0 {
		x = 0
	}
	return w.scalar(c.typ.Kind, slotF, x)
}

// encBool writes a Bool Value table: the type byte, then the b field (1)
// unless the value is false.
func encBool(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	m := int(*(*uint8)(p)) // a Go bool is the byte 0 or 1
	w.room(64)
	b := unsafe.Pointer(unsafe.SliceData(w.buf))
	size := len(w.buf)
	end := w.off
	h := size - end - 1
	*(*byte)(unsafe.Add(b, h)) = byte(fb.ValueTypeBool)
	*(*byte)(unsafe.Add(b, h-1)) = 1
	h -= m
	return w.endTable(h, end, 1+m*slotB, end+1, m*(end+2))
}

// encBlob writes a string (CreateString: Prep(4, len+1), then back to
// front a NUL, the bytes and the length) or a []byte (CreateByteVector:
// Prep(4, len), the bytes, the length), then its Value table.
func encBlob(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	// A []byte header begins with the fields of a string header.
	s := *(*string)(p)
	n := len(s)
	isString := 0
	if c.op == opString {
		isString = 1
	}
	w.room(n + 16)
	buf := w.buf
	b := unsafe.Pointer(unsafe.SliceData(buf))
	size := len(buf)
	h := size - w.off
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size - n - isString) & 3
	h -= isString // the NUL, among the zeros just written
	h -= n
	copy(buf[h:], s)
	h -= 4
	put32(unsafe.Add(b, h), uint32(n))
	// Its Value table (ref, inlined): the type byte, then the offset of
	// the blob, Prep(4, 0) first.
	child := size - h
	w.off = child
	w.room(64)
	b = unsafe.Pointer(unsafe.SliceData(w.buf))
	size = len(w.buf)
	h = size - child - 1
	*(*byte)(unsafe.Add(b, h)) = byte(c.typ.Kind)
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size) & 3
	h -= 4
	put32(unsafe.Add(b, h), uint32(size-h-child))
	return w.endTable(h, child, slotBytes+1-isString, child+1, size-h)
}

// encOpt writes an optional: Null for nil, else the element.
func encOpt(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	if p = *(*unsafe.Pointer)(p); p == nil {
		return w.null()
	}
	return c.elem.enc(w, c.elem, p)
}

// encList writes the elements of the slice at p as Value tables, the
// vector of their offsets, then the list's Value table.
func encList(w *rowWriter, c *codec, p unsafe.Pointer) uint32 {
	s := *(*[]byte)(p) // only the data pointer and the length are used
	data, n := unsafe.Pointer(unsafe.SliceData(s)), len(s)
	base := len(w.offs)
	e := c.elem
	for i := 0; i < n; i++ {
		o := e.enc(w, e, unsafe.Add(data, uintptr(i)*c.esize))
		w.offs = append(w.offs, o)
	}
	return w.ref(c.typ.Kind, slotList, w.vector(base))
}

// vector writes w.offs[base:] as a vector of offsets (Prep(4, 4n), the
// offsets last to first, the count), pops them, and returns the vector's
// offset.
func (w *rowWriter) vector(base int) uint32 {
	offs := w.offs[base:]
	w.offs = w.offs[:base]
	w.room(4*len(offs) + 16)
	b := unsafe.Pointer(unsafe.SliceData(w.buf))
	size := len(w.buf)
	h := size - w.off
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size) & 3
	for i := len(offs) - 1; i >= 0; i-- {
		h -= 4
		put32(unsafe.Add(b, h), uint32(size-h)-offs[i])
	}
	h -= 4
	put32(unsafe.Add(b, h), uint32(len(offs)))
	w.off = size - h
	return uint32(w.off)
}

// finishRow writes w.offs[base:] as the values of a Row table, pops them,
// finishes the buffer (the Builder's Finish), and returns the encoding.
func (w *rowWriter) finishRow(base int) []byte {
	offs := w.offs[base:]
	w.offs = w.offs[:base]
	w.room(4*len(offs) + 64)
	buf := w.buf
	b := unsafe.Pointer(unsafe.SliceData(buf))
	size := len(buf)
	h := size - w.off
	// The vector (vector, inlined).
	put32(unsafe.Add(b, h-4), 0)
	h -= (h - size) & 3
	for i := len(offs) - 1; i >= 0; i-- {
		h -= 4
		put32(unsafe.Add(b, h), uint32(size-h)-offs[i])
	}
	h -= 4
	put32(unsafe.Add(b, h), uint32(len(offs)))
	// The Row table: RowAddValues (h is aligned after the vector), the
	// soffset, and the vtable [4] (endTable, inlined; no Value has that
	// vtable, see vtIndex, but the lookup is the Builder's).
	h -= 4
	put32(unsafe.Add(b, h), 4)
	h -= 4
	root := size - h
	i, _ := vtIndex(1, 4, 0)
	if vt := &w.vts[i]; vt.gen == w.gen && !w.noIndex {
		put32(unsafe.Add(b, h), uint32(int32(vt.off)-int32(root)))
	} else {
		// [6, 8, 4]
		put16(unsafe.Add(b, h-6), 6)
		put16(unsafe.Add(b, h-4), 8)
		put16(unsafe.Add(b, h-2), 4)
		put32(unsafe.Add(b, h), 6)
		h -= 6
	}
	// Finish: Prep(minalign, 4), then the root offset.
	put64(unsafe.Add(b, h-8), 0)
	h -= (h - size - 4) & (3 | w.wide<<2)
	h -= 4
	put32(unsafe.Add(b, h), uint32(size-h-root))
	w.off = size - h
	return buf[h:]
}

// Codecs of the row value types, for encode.
var (
	anyBool, _   = codecFor(reflect.TypeFor[bool]())
	anyF32, _    = codecFor(reflect.TypeFor[float32]())
	anyF64, _    = codecFor(reflect.TypeFor[float64]())
	anyString, _ = codecFor(reflect.TypeFor[string]())
	anyBytes, _  = codecFor(reflect.TypeFor[[]byte]())
	errTooDeep   = fmt.Errorf("row: list nesting deeper than %d", row.MaxDepth)
)

// encode returns the Row encoding of vals, values of package row (nil,
// bool, uint32, uint64, int32, int64, float32, float64, string, []byte,
// []any), with the shared row writer: the bytes and errors of row.Encode.
// It encodes Ctx.Call arguments, DynamicTable rows and converted keys. The
// bytes are valid until the next encode.
func encode(vals []any) ([]byte, error) {
	w := &wr
	w.start()
	for i, v := range vals {
		o, err := w.anyValue(v, 0)
		if err != nil {
			return nil, fmt.Errorf("%w (value %d)", err, i)
		}
		w.offs = append(w.offs, o)
	}
	return w.finishRow(0), nil
}

// anyValue writes v, a value of package row at list depth depth, as a
// Value table.
func (w *rowWriter) anyValue(v any, depth int) (uint32, error) {
	if depth > row.MaxDepth {
		return 0, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return w.null(), nil
	case bool:
		return encBool(w, anyBool, unsafe.Pointer(&x)), nil
	case uint32:
		return w.scalar(fb.ValueTypeU32, slotU, uint64(x)), nil
	case uint64:
		return w.scalar(fb.ValueTypeU64, slotU, x), nil
	case int32:
		return w.scalar(fb.ValueTypeI32, slotI, uint64(x)), nil
	case int64:
		return w.scalar(fb.ValueTypeI64, slotI, uint64(x)), nil
	case float32:
		return encF32(w, anyF32, unsafe.Pointer(&x)), nil
	case float64:
		return encF64(w, anyF64, unsafe.Pointer(&x)), nil
	case string:
		return encBlob(w, anyString, unsafe.Pointer(&x)), nil
	case []byte:
		return encBlob(w, anyBytes, unsafe.Pointer(&x)), nil
	case []any:
		base := len(w.offs)
		for _, e := range x {
			o, err := w.anyValue(e, depth+1)
			if err != nil {
				return 0, err
			}
			w.offs = append(w.offs, o)
		}
		return w.ref(fb.ValueTypeList, slotList, w.vector(base)), nil
	}
	return 0, fmt.Errorf("%w: Go type %T has no Interstice type", row.ErrType, v)
}

// endSmall ends a table of at most two fields (entries t and q, 0 for an
// absent field; n vtable entries) whose soffset slot is at h: it reuses an
// identical vtable written earlier in this row, or writes a new one in
// front of the table, as the Builder's EndObject does.
func (w *rowWriter) endSmall(b unsafe.Pointer, h, end, n, t, q, obj int) uint32 {
	size := len(w.buf)
	i, ok := vtIndex(n, t, q)
	if !ok || w.noIndex {
		return w.endTableMore(h, end, n, t, q)
	}
	vt := &w.vts[i]
	if vt.gen == w.gen {
		put32(unsafe.Add(b, h), uint32(int32(vt.off)-int32(obj)))
		w.off = obj
		return uint32(obj)
	}
	// A new vtable (writeVtable, inlined).
	put64(unsafe.Add(b, h-8), 0)
	put64(unsafe.Add(b, h-16), 0)
	put32(unsafe.Add(b, h-20), 0)
	v := h - (4 + 2*n)
	put16(unsafe.Add(b, v+2+2*n), uint16(q))
	put16(unsafe.Add(b, v+4), uint16(t))
	put16(unsafe.Add(b, v), uint16(4+2*n))
	put16(unsafe.Add(b, v+2), uint16(obj-end))
	voff := size - v
	put32(unsafe.Add(b, h), uint32(voff-obj))
	w.off = voff
	vt.gen, vt.off = w.gen, uint32(voff)
	return uint32(obj)
}
