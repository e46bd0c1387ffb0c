// Package row is the one Go codec for Interstice values, rows and argument
// lists (fbs/value.fbs). The host, the CLI and the C ABI all use it, and
// the guest SDK for types and conversions (its row writer, sdk/go/encode.go,
// is tested byte for byte against Encode); it is built on the generated
// package fbs/fb and the official FlatBuffers runtime.
//
// A value is held in Go as one of these types:
//
//	nil (Null), bool, uint32, uint64, int32, int64, float32, float64,
//	string, []byte, []any (List)
//
// Decode verifies a buffer before trusting it: the Go FlatBuffers runtime has
// no verifier, so decoding walks the buffer with explicit bounds checks on
// every offset, a bounded nesting depth (MaxDepth) and work bounded by the
// buffer's size (WorkFactor), and a malformed buffer gives an error, never
// a panic.
package row

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

// MaxDepth is the deepest list nesting a value may have.
const MaxDepth = 16

// WorkFactor bounds the work of verifying a buffer by its size, as the
// official FlatBuffers verifiers do with their table-count and "apparent
// size" limits. Decode, Field, Check and CheckKey spend at most
// WorkFactor*len(buf) units on one buffer: every list element visited
// costs elemCost (the 4-byte offset and the 4-byte table start that a
// value of its own occupies), and every string byte validated, or bytes
// byte copied by Decode, costs 1. A row as builders write it (a tree:
// every value reached through an offset of its own) costs at most its
// size. Only a row whose offsets share children (a DAG, whose naive walk
// grows exponentially with its depth) can cost more; past the budget it
// is refused with ErrMalformed. Checking a maximal row this way takes
// milliseconds (core/RATIONALE.md, "Implementation limits").
const WorkFactor = 4

// elemCost is the work a list element costs (see WorkFactor).
const elemCost = 8

func workBudget(n int) int { return WorkFactor * n }

// ErrMalformed is returned for a buffer that is not a well-formed Row.
var ErrMalformed = errors.New("row: malformed buffer")

// ErrType is returned when a value does not match its declared type.
var ErrType = errors.New("row: type mismatch")

// Encode returns the FlatBuffers encoding of a Row holding values.
func Encode(values []any) ([]byte, error) {
	b := flatbuffers.NewBuilder(64 + 16*len(values))
	if err := Build(b, values); err != nil {
		return nil, err
	}
	return b.FinishedBytes(), nil
}

// MustEncode is Encode for values known to be encodable; it panics otherwise.
func MustEncode(values ...any) []byte {
	buf, err := Encode(values)
	if err != nil {
		panic(err)
	}
	return buf
}

// Build encodes a Row holding values into b and finishes b.
func Build(b *flatbuffers.Builder, values []any) error {
	offs := make([]flatbuffers.UOffsetT, len(values))
	for i, v := range values {
		o, err := buildValue(b, v, 0)
		if err != nil {
			return fmt.Errorf("%w (value %d)", err, i)
		}
		offs[i] = o
	}
	fb.RowStartValuesVector(b, len(offs))
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	vec := b.EndVector(len(offs))
	fb.RowStart(b)
	fb.RowAddValues(b, vec)
	b.Finish(fb.RowEnd(b))
	return nil
}

// BuildValue writes one value as a Value table into b (which it does not
// finish), for a Value embedded in another table, such as a column default
// in a schema.
func BuildValue(b *flatbuffers.Builder, v any) (flatbuffers.UOffsetT, error) {
	return buildValue(b, v, 0)
}

func buildValue(b *flatbuffers.Builder, v any, depth int) (flatbuffers.UOffsetT, error) {
	if depth > MaxDepth {
		return 0, fmt.Errorf("row: list nesting deeper than %d", MaxDepth)
	}
	// Children (strings, vectors) must be built before the table starts.
	var child flatbuffers.UOffsetT
	switch x := v.(type) {
	case string:
		child = b.CreateString(x)
	case []byte:
		child = b.CreateByteVector(x)
	case []any:
		offs := make([]flatbuffers.UOffsetT, len(x))
		for i, e := range x {
			o, err := buildValue(b, e, depth+1)
			if err != nil {
				return 0, err
			}
			offs[i] = o
		}
		fb.ValueStartListVector(b, len(offs))
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		child = b.EndVector(len(offs))
	}
	fb.ValueStart(b)
	switch x := v.(type) {
	case nil:
		fb.ValueAddType(b, fb.ValueTypeNull)
	case bool:
		fb.ValueAddType(b, fb.ValueTypeBool)
		fb.ValueAddB(b, x)
	case uint32:
		fb.ValueAddType(b, fb.ValueTypeU32)
		fb.ValueAddU(b, uint64(x))
	case uint64:
		fb.ValueAddType(b, fb.ValueTypeU64)
		fb.ValueAddU(b, x)
	case int32:
		fb.ValueAddType(b, fb.ValueTypeI32)
		fb.ValueAddI(b, int64(x))
	case int64:
		fb.ValueAddType(b, fb.ValueTypeI64)
		fb.ValueAddI(b, x)
	case float32:
		fb.ValueAddType(b, fb.ValueTypeF32)
		fb.ValueAddF(b, float64(x))
	case float64:
		fb.ValueAddType(b, fb.ValueTypeF64)
		fb.ValueAddF(b, x)
	case string:
		fb.ValueAddType(b, fb.ValueTypeString)
		fb.ValueAddS(b, child)
	case []byte:
		fb.ValueAddType(b, fb.ValueTypeBytes)
		fb.ValueAddBytes(b, child)
	case []any:
		fb.ValueAddType(b, fb.ValueTypeList)
		fb.ValueAddList(b, child)
	default:
		b.EndObject()
		return 0, fmt.Errorf("%w: Go type %T has no Interstice type", ErrType, v)
	}
	return fb.ValueEnd(b), nil
}

// Decode verifies buf as a Row and returns its values.
func Decode(buf []byte) ([]any, error) {
	r, err := open(buf)
	if err != nil {
		return nil, err
	}
	n, err := r.vectorLen(r.root, slotValues)
	if err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := 0; i < n; i++ {
		t, err := r.vectorTable(r.root, slotValues, i)
		if err != nil {
			return nil, err
		}
		if out[i], err = r.value(t, 0); err != nil {
			return nil, fmt.Errorf("%w (value %d)", err, i)
		}
	}
	return out, nil
}

// Len verifies the root of buf and returns the number of values in the Row.
func Len(buf []byte) (int, error) {
	r, err := open(buf)
	if err != nil {
		return 0, err
	}
	return r.vectorLen(r.root, slotValues)
}

// Field verifies buf as a Row and decodes only value i.
func Field(buf []byte, i int) (any, error) {
	r, err := open(buf)
	if err != nil {
		return nil, err
	}
	n, err := r.vectorLen(r.root, slotValues)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("%w: value %d of %d", ErrMalformed, i, n)
	}
	t, err := r.vectorTable(r.root, slotValues, i)
	if err != nil {
		return nil, err
	}
	return r.value(t, 0)
}

// Check verifies buf as a Row and checks it against types: one value per
// type, each of the declared type. It allocates nothing for scalar columns.
func Check(buf []byte, types []Type) error {
	r, err := open(buf)
	if err != nil {
		return err
	}
	n, err := r.vectorLen(r.root, slotValues)
	if err != nil {
		return err
	}
	if n != len(types) {
		return &CountError{Given: n, Want: len(types)}
	}
	for i := range types {
		t, err := r.vectorTable(r.root, slotValues, i)
		if err != nil {
			return err
		}
		if err := r.check(t, types[i], 0); err != nil {
			return &ValueError{Index: i, Err: err}
		}
	}
	return nil
}

// ValueError says which value of a row failed a check.
type ValueError struct {
	Index int
	Name  string // the value's column or parameter name, when the caller gave names (ParseJSON)
	Err   error
}

// Column returns the name, among names, of the value a check failed on
// (the *ValueError in err's chain), or "" if there is none.
func Column(err error, names []string) string {
	var ve *ValueError
	if errors.As(err, &ve) && ve.Index < len(names) {
		return names[ve.Index]
	}
	return ""
}

// Error returns "name: cause", or "value i: cause" without a name.
func (e *ValueError) Error() string {
	if e.Name != "" {
		return e.Name + ": " + e.Err.Error()
	}
	return fmt.Sprintf("value %d: %v", e.Index, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// CountError is a row, or a list of arguments, with the wrong number of
// values. It matches ErrType.
type CountError struct {
	Given, Want int
}

// Error returns "row: type mismatch: 2 values given, 3 expected".
func (e *CountError) Error() string {
	return fmt.Sprintf("%v: %d values given, %d expected", ErrType, e.Given, e.Want)
}

// Is reports whether target is ErrType.
func (e *CountError) Is(target error) bool { return target == ErrType }

// MissingError is a JSON object that lacks the member of a non-optional
// name (ParseJSON). It matches ErrType.
type MissingError struct {
	Index int
	Name  string
	Type  Type
}

// Error returns `row: type mismatch: missing "by" (i64)`.
func (e *MissingError) Error() string {
	return fmt.Sprintf("%v: missing %q (%s)", ErrType, e.Name, e.Type)
}

// Is reports whether target is ErrType.
func (e *MissingError) Is(target error) bool { return target == ErrType }

// ---- verifying reader ------------------------------------------------------

// Field slots (vtable offsets) of the generated tables, from value.fbs.
const (
	slotValues = 4 // Row.values

	slotType  = 4 // Value.type
	slotB     = 6
	slotU     = 8
	slotI     = 10
	slotF     = 12
	slotS     = 14
	slotBytes = 16
	slotList  = 18
)

type reader struct {
	buf  []byte
	root int
	// work is what is left of the row's work budget (see MaxWork).
	work int
}

func open(buf []byte) (reader, error) {
	r := reader{buf: buf, work: workBudget(len(buf))}
	if len(buf) < 8 {
		return r, fmt.Errorf("%w: %d bytes is shorter than a root table", ErrMalformed, len(buf))
	}
	root, err := r.uoffset(0)
	if err != nil {
		return r, err
	}
	if err := r.table(root); err != nil {
		return r, err
	}
	r.root = root
	return r, nil
}

func (r *reader) u32(at int) (uint32, error) {
	if at < 0 || at+4 > len(r.buf) {
		return 0, fmt.Errorf("%w: offset %d out of bounds (%d bytes)", ErrMalformed, at, len(r.buf))
	}
	return flatbuffers.GetUint32(r.buf[at:]), nil
}

// uoffset follows the unsigned offset stored at `at`.
func (r *reader) uoffset(at int) (int, error) {
	v, err := r.u32(at)
	if err != nil {
		return 0, err
	}
	to := at + int(v)
	if v == 0 || to >= len(r.buf) {
		return 0, fmt.Errorf("%w: offset at %d points outside the buffer", ErrMalformed, at)
	}
	return to, nil
}

// table checks that a table starting at t has a vtable inside the buffer.
func (r *reader) table(t int) error {
	_, err := r.checkedTab(t)
	return err
}

// tab is a table located once: its position, its vtable's and the two
// sizes the vtable starts with. Field reads through a tab need not find
// the vtable again (the hot path of CheckKey).
type tab struct{ t, vt, vlen, tlen int }

// checkedTab locates table t and checks that its vtable and its inline
// part lie inside the buffer.
func (r *reader) checkedTab(t int) (tab, error) {
	if t < 0 || t+4 > len(r.buf) {
		return tab{}, fmt.Errorf("%w: table at %d out of bounds", ErrMalformed, t)
	}
	vt := t - int(int32(flatbuffers.GetUint32(r.buf[t:])))
	if vt < 0 || vt+4 > len(r.buf) {
		return tab{}, fmt.Errorf("%w: vtable of table %d out of bounds", ErrMalformed, t)
	}
	v := tab{t: t, vt: vt, vlen: int(flatbuffers.GetUint16(r.buf[vt:])), tlen: int(flatbuffers.GetUint16(r.buf[vt+2:]))}
	if v.vlen < 4 || v.vlen%2 != 0 || vt+v.vlen > len(r.buf) || t+v.tlen > len(r.buf) {
		return tab{}, fmt.Errorf("%w: vtable of table %d has bad sizes", ErrMalformed, t)
	}
	return v, nil
}

// tabAt locates table t, already checked by table or checkedTab.
func (r *reader) tabAt(t int) tab {
	vt := t - int(int32(flatbuffers.GetUint32(r.buf[t:])))
	return tab{t: t, vt: vt, vlen: int(flatbuffers.GetUint16(r.buf[vt:])), tlen: int(flatbuffers.GetUint16(r.buf[vt+2:]))}
}

// spend takes n units of work from the buffer's budget (see WorkFactor).
func (r *reader) spend(n int) error {
	r.work -= n
	if r.work < 0 {
		return fmt.Errorf("%w: verifying the %d-byte buffer costs more than %d times its size (its values share children)", ErrMalformed, len(r.buf), WorkFactor)
	}
	return nil
}

// field returns the position of a field inside table t, or 0 if absent; it
// checks that size bytes of the field lie inside the table.
func (r *reader) field(t, slot, size int) (int, error) { return r.tfield(r.tabAt(t), slot, size) }

func (r *reader) tfield(v tab, slot, size int) (int, error) {
	if slot+2 > v.vlen {
		return 0, nil
	}
	off := int(flatbuffers.GetUint16(r.buf[v.vt+slot:]))
	if off == 0 {
		return 0, nil
	}
	if off+size > v.tlen {
		return 0, fmt.Errorf("%w: field %d of table %d overruns the table", ErrMalformed, slot, v.t)
	}
	return v.t + off, nil
}

func (r *reader) vector(t, slot, elem int) (start, n int, err error) {
	return r.tvector(r.tabAt(t), slot, elem)
}

func (r *reader) tvector(v tab, slot, elem int) (start, n int, err error) {
	p, err := r.tfield(v, slot, 4)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	at, err := r.uoffset(p)
	if err != nil {
		return 0, 0, err
	}
	ln, err := r.u32(at)
	if err != nil {
		return 0, 0, err
	}
	if uint64(ln)*uint64(elem) > uint64(len(r.buf)-at-4) {
		return 0, 0, fmt.Errorf("%w: vector at %d longer than the buffer", ErrMalformed, at)
	}
	return at + 4, int(ln), nil
}

func (r *reader) vectorLen(t, slot int) (int, error) {
	_, n, err := r.vector(t, slot, 4)
	return n, err
}

func (r *reader) vectorTable(t, slot, i int) (int, error) {
	start, _, err := r.vector(t, slot, 4)
	if err != nil {
		return 0, err
	}
	return r.element(start, i)
}

// element returns table i of the (checked) vector of offsets at start.
func (r *reader) element(start, i int) (int, error) {
	e, err := r.uoffset(start + 4*i)
	if err != nil {
		return 0, err
	}
	return e, r.table(e)
}

func (r *reader) bytesField(t, slot int) ([]byte, bool, error) {
	start, n, err := r.vector(t, slot, 1)
	if err != nil || start == 0 {
		return nil, false, err
	}
	return r.buf[start : start+n], true, nil
}

func (r *reader) scalar(t, slot, size int) (uint64, error) {
	p, err := r.field(t, slot, size)
	if err != nil || p == 0 {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(r.buf[p]), nil
	default:
		return flatbuffers.GetUint64(r.buf[p:]), nil
	}
}

func (r *reader) kind(t int) (fb.ValueType, error) {
	k, err := r.scalar(t, slotType, 1)
	if err != nil {
		return 0, err
	}
	if k > uint64(fb.ValueTypeList) {
		return 0, fmt.Errorf("%w: unknown value type %d", ErrMalformed, k)
	}
	return fb.ValueType(k), nil
}

func (r *reader) value(t, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: list nesting deeper than %d", ErrMalformed, MaxDepth)
	}
	k, err := r.kind(t)
	if err != nil {
		return nil, err
	}
	switch k {
	case fb.ValueTypeNull:
		return nil, nil
	case fb.ValueTypeBool:
		v, err := r.scalar(t, slotB, 1)
		return v != 0, err
	case fb.ValueTypeU32:
		v, err := r.scalar(t, slotU, 8)
		if err == nil && v > math.MaxUint32 {
			err = fmt.Errorf("%w: u32 value %d out of range", ErrMalformed, v)
		}
		return uint32(v), err
	case fb.ValueTypeU64:
		return r.scalar(t, slotU, 8)
	case fb.ValueTypeI32:
		v, err := r.scalar(t, slotI, 8)
		if err == nil && (int64(v) < math.MinInt32 || int64(v) > math.MaxInt32) {
			err = fmt.Errorf("%w: i32 value %d out of range", ErrMalformed, int64(v))
		}
		return int32(int64(v)), err
	case fb.ValueTypeI64:
		v, err := r.scalar(t, slotI, 8)
		return int64(v), err
	case fb.ValueTypeF32:
		v, err := r.scalar(t, slotF, 8)
		f := math.Float64frombits(v)
		if err == nil && float64(float32(f)) != f && !math.IsNaN(f) {
			err = fmt.Errorf("%w: f32 value %v not representable", ErrMalformed, f)
		}
		return float32(f), err
	case fb.ValueTypeF64:
		v, err := r.scalar(t, slotF, 8)
		return math.Float64frombits(v), err
	case fb.ValueTypeString:
		b, _, err := r.bytesField(t, slotS)
		if err == nil {
			err = r.spend(len(b))
		}
		if err == nil && !utf8.Valid(b) {
			err = fmt.Errorf("%w: string is not valid UTF-8", ErrMalformed)
		}
		if err != nil {
			return nil, err
		}
		return string(b), nil
	case fb.ValueTypeBytes:
		b, _, err := r.bytesField(t, slotBytes)
		if err == nil {
			err = r.spend(len(b))
		}
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case fb.ValueTypeList:
		start, n, err := r.vector(t, slotList, 4)
		if err == nil {
			err = r.spend(n * elemCost)
		}
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := 0; i < n; i++ {
			e, err := r.element(start, i)
			if err != nil {
				return nil, err
			}
			if out[i], err = r.value(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown value type %d", ErrMalformed, k)
}

// check verifies the value table t against typ without building Go values.
func (r *reader) check(t int, typ Type, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: list nesting deeper than %d", ErrMalformed, MaxDepth)
	}
	k, err := r.kind(t)
	if err != nil {
		return err
	}
	if k == fb.ValueTypeNull {
		if !typ.Optional {
			return fmt.Errorf("%w: null for non-optional %s", ErrType, typ)
		}
		return nil
	}
	if k != typ.Kind {
		return fmt.Errorf("%w: %s value for %s", ErrType, kindName(k), typ)
	}
	switch k {
	case fb.ValueTypeString, fb.ValueTypeBytes, fb.ValueTypeList:
		// validated below
	default:
		return r.checkScalar(t, k)
	}
	switch k {
	case fb.ValueTypeString:
		b, _, err := r.bytesField(t, slotS)
		if err == nil {
			err = r.spend(len(b))
		}
		if err == nil && !utf8.Valid(b) {
			err = fmt.Errorf("%w: string is not valid UTF-8", ErrMalformed)
		}
		return err
	case fb.ValueTypeBytes:
		_, _, err := r.bytesField(t, slotBytes)
		return err
	}
	start, n, err := r.vector(t, slotList, 4)
	if err == nil {
		err = r.spend(n * elemCost)
	}
	if err != nil {
		return err
	}
	if typ.Elem == nil {
		return fmt.Errorf("%w: list type without element type", ErrType)
	}
	for i := 0; i < n; i++ {
		e, err := r.element(start, i)
		if err != nil {
			return err
		}
		if err := r.check(e, *typ.Elem, depth+1); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

// scalarSlot is the field of value tables of scalar kind k, and its size.
func scalarSlot(k fb.ValueType) (slot, size int) {
	switch k {
	case fb.ValueTypeBool:
		return slotB, 1
	case fb.ValueTypeU32, fb.ValueTypeU64:
		return slotU, 8
	case fb.ValueTypeI32, fb.ValueTypeI64:
		return slotI, 8
	}
	return slotF, 8
}

// checkScalar reads and range-checks the scalar of value table t without
// boxing it (Check runs on every row written and replayed).
func (r *reader) checkScalar(t int, k fb.ValueType) error {
	if k == fb.ValueTypeNull || k > fb.ValueTypeF64 {
		return fmt.Errorf("%w: unknown value type %d", ErrMalformed, k)
	}
	slot, size := scalarSlot(k)
	x, err := r.scalar(t, slot, size)
	if err != nil {
		return err
	}
	return scalarRange(k, x)
}

// scalarRange checks that x, the raw field of a scalar of kind k, is in
// the range of k.
func scalarRange(k fb.ValueType, x uint64) error {
	switch k {
	case fb.ValueTypeU32:
		if x > math.MaxUint32 {
			return fmt.Errorf("%w: u32 value %d out of range", ErrMalformed, x)
		}
	case fb.ValueTypeI32:
		if int64(x) < math.MinInt32 || int64(x) > math.MaxInt32 {
			return fmt.Errorf("%w: i32 value %d out of range", ErrMalformed, int64(x))
		}
	case fb.ValueTypeF32:
		if f := math.Float64frombits(x); float64(float32(f)) != f && !math.IsNaN(f) {
			return fmt.Errorf("%w: f32 value %v not representable", ErrMalformed, f)
		}
	}
	return nil
}

// CheckKey is Check(buf, types) and the Key of value pk appended to dst, in
// one verified pass over buf: the hot path of every replayed row. On error
// it returns dst unchanged; the error is Check's.
func CheckKey(dst, buf []byte, types []Type, pk int) ([]byte, error) {
	r, err := open(buf)
	if err != nil {
		return dst, err
	}
	start, n, err := r.vector(r.root, slotValues, 4)
	if err != nil {
		return dst, err
	}
	if n != len(types) {
		return dst, &CountError{Given: n, Want: len(types)}
	}
	key := dst
	for i := range types {
		e, err := r.uoffset(start + 4*i)
		var v tab
		if err == nil {
			v, err = r.checkedTab(e)
		}
		if err != nil {
			return dst, err
		}
		if key, err = r.checkKeyValue(key, v, types[i], i == pk); err != nil {
			return dst, &ValueError{Index: i, Err: err}
		}
	}
	return key, nil
}

// checkKeyValue is check(v.t, typ, 0) that, when isKey, also appends the
// value's Key encoding to dst, reading each field once through the located
// vtable v. Lists take the general path (they are never keys).
func (r *reader) checkKeyValue(dst []byte, v tab, typ Type, isKey bool) ([]byte, error) {
	p, err := r.tfield(v, slotType, 1)
	if err != nil {
		return dst, err
	}
	var k fb.ValueType
	if p != 0 {
		k = fb.ValueType(r.buf[p])
	}
	switch {
	case k > fb.ValueTypeList:
		return dst, fmt.Errorf("%w: unknown value type %d", ErrMalformed, k)
	case k == fb.ValueTypeNull:
		if !typ.Optional {
			return dst, fmt.Errorf("%w: null for non-optional %s", ErrType, typ)
		}
		return dst, nil
	case k != typ.Kind:
		return dst, fmt.Errorf("%w: %s value for %s", ErrType, kindName(k), typ)
	}
	var slot, size int
	switch k {
	case fb.ValueTypeString, fb.ValueTypeBytes:
		slot = slotS
		if k == fb.ValueTypeBytes {
			slot = slotBytes
		}
		start, n, err := r.tvector(v, slot, 1)
		if err != nil {
			return dst, err
		}
		b := r.buf[start : start+n]
		if k == fb.ValueTypeString {
			if err := r.spend(n); err != nil {
				return dst, err
			}
			if !utf8.Valid(b) {
				return dst, fmt.Errorf("%w: string is not valid UTF-8", ErrMalformed)
			}
		}
		if isKey {
			dst = append(dst, b...)
		}
		return dst, nil
	case fb.ValueTypeList:
		return dst, r.check(v.t, typ, 0)
	}
	slot, size = scalarSlot(k)
	p, err = r.tfield(v, slot, size)
	if err != nil {
		return dst, err
	}
	var x uint64
	if p != 0 {
		if size == 1 {
			x = uint64(r.buf[p])
		} else {
			x = flatbuffers.GetUint64(r.buf[p:])
		}
	}
	if err := scalarRange(k, x); err != nil {
		return dst, err
	}
	if isKey {
		dst = appendScalarKey(dst, k, x)
	}
	return dst, nil
}

// appendScalarKey appends the Key encoding of a scalar of kind k whose raw
// field is x (nothing for floats, never key types).
func appendScalarKey(dst []byte, k fb.ValueType, x uint64) []byte {
	switch k {
	case fb.ValueTypeBool:
		return append(dst, byte(min(x, 1)))
	case fb.ValueTypeU32:
		return binary.BigEndian.AppendUint32(dst, uint32(x))
	case fb.ValueTypeU64:
		return binary.BigEndian.AppendUint64(dst, x)
	case fb.ValueTypeI32:
		return binary.BigEndian.AppendUint32(dst, uint32(int32(x))^(1<<31))
	case fb.ValueTypeI64:
		return binary.BigEndian.AppendUint64(dst, x^(1<<63))
	}
	return dst
}
