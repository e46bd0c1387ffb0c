package sdk

import (
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// codec maps one Go type to one Interstice type. Codecs are built once per
// Go type, with reflect, and then work on raw pointers to the Go value, so
// a reducer call does no reflection and, for scalar and string columns, no
// allocation (in a wasm guest each allocation costs about as much as
// encoding a whole row).
type codec struct {
	typ row.Type
	// get returns the Go value at p as a value of package row (bool,
	// uint32, ..., string, []byte, []any, nil): the slow, general path, for
	// Ctx.Call arguments and keys.
	get func(p unsafe.Pointer) any
	// enc writes the Go value at p as a FlatBuffers Value with the
	// generated builders of fbs/fb, in exactly the order row.Build uses, so
	// the bytes are identical (TestEncodeMatchesRowBuild).
	enc func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT
	// dec stores the Value v (from a host buffer) into the Go value at p,
	// checking its type tag.
	dec func(v *fb.Value, p unsafe.Pointer) error
}

func tagErr(v *fb.Value, t row.Type) error {
	return fmt.Errorf("%w: %s value for %s", ErrType, v.Type(), t)
}

var (
	codecMu    sync.Mutex
	codecCache = map[reflect.Type]*codec{}
)

// codecFor returns the codec of Go type t.
//
//	bool                  -> bool
//	int32, int16, int8    -> i32
//	int64, int            -> i64
//	uint32, uint16, uint8 -> u32
//	uint64, uint          -> u64
//	float32 / float64     -> f32 / f64
//	string                -> string
//	[]byte                -> bytes
//	*T                    -> T? (optional; nil is null)
//	[]T                   -> list<T>
//
// Named types (type PlayerID uint64) map like their underlying type.
func codecFor(t reflect.Type) (*codec, error) {
	codecMu.Lock()
	defer codecMu.Unlock()
	return codecDepth(t, 0)
}

func codecDepth(t reflect.Type, depth int) (*codec, error) {
	if c, ok := codecCache[t]; ok {
		return c, nil
	}
	if depth > row.MaxDepth {
		return nil, fmt.Errorf("type %s nests deeper than %d", t, row.MaxDepth)
	}
	c, err := newCodec(t, depth)
	if err != nil {
		return nil, err
	}
	codecCache[t] = c
	return c, nil
}

func scalar(k fb.ValueType) row.Type { return row.Type{Kind: k} }

// Value table builders, each one the same sequence of builder calls as the
// matching case of row.Build.

func buildNull(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	fb.ValueStart(b)
	fb.ValueAddType(b, fb.ValueTypeNull)
	return fb.ValueEnd(b)
}

// Value slots (fbs/value.fbs field order), for the builds below that call
// the Builder's Prepend/Slot directly: fb.ValueAddX(b, x) is
// b.PrependXSlot(slot, x, 0), which is "if x != 0 { b.PrependX(x);
// b.Slot(slot) }". Skipping the two wrapper calls saves two non-inlined
// calls per value (each a termination check under a call deadline) and
// writes the same bytes (TestEncodeMatchesRowBuild).
const (
	slotType = 0
	slotU    = 2
	slotI    = 3
	slotS    = 5
)

func buildU(b *flatbuffers.Builder, k fb.ValueType, u uint64) flatbuffers.UOffsetT {
	fb.ValueStart(b)
	b.PrependByte(byte(k)) // k is never ValueTypeNull (0) here
	b.Slot(slotType)
	if u != 0 {
		b.PrependUint64(u)
		b.Slot(slotU)
	}
	return b.EndObject()
}

func buildI(b *flatbuffers.Builder, k fb.ValueType, i int64) flatbuffers.UOffsetT {
	fb.ValueStart(b)
	b.PrependByte(byte(k))
	b.Slot(slotType)
	if i != 0 {
		b.PrependInt64(i)
		b.Slot(slotI)
	}
	return b.EndObject()
}

func buildF(b *flatbuffers.Builder, k fb.ValueType, f float64) flatbuffers.UOffsetT {
	fb.ValueStart(b)
	fb.ValueAddType(b, k)
	fb.ValueAddF(b, f)
	return fb.ValueEnd(b)
}

func buildString(b *flatbuffers.Builder, s string) flatbuffers.UOffsetT {
	child := b.CreateString(s)
	fb.ValueStart(b)
	b.PrependByte(byte(fb.ValueTypeString))
	b.Slot(slotType)
	b.PrependUOffsetT(child) // child != 0: an offset is never 0
	b.Slot(slotS)
	return b.EndObject()
}

func buildBytes(b *flatbuffers.Builder, x []byte) flatbuffers.UOffsetT {
	child := b.CreateByteVector(x)
	fb.ValueStart(b)
	fb.ValueAddType(b, fb.ValueTypeBytes)
	fb.ValueAddBytes(b, child)
	return fb.ValueEnd(b)
}

// offStack holds Value offsets of rows and lists being built: an element
// range is pushed, written out as a vector, then popped.
var offStack = make([]flatbuffers.UOffsetT, 0, 64)

// endOffsets writes offStack[base:] as a vector of offsets and pops it.
func endOffsets(b *flatbuffers.Builder, base int) flatbuffers.UOffsetT {
	offs := offStack[base:]
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	offStack = offStack[:base]
	return b.EndVector(len(offs))
}

func newCodec(t reflect.Type, depth int) (*codec, error) {
	switch t.Kind() {
	case reflect.Bool:
		c := &codec{typ: scalar(fb.ValueTypeBool)}
		c.get = func(p unsafe.Pointer) any { return *(*bool)(p) }
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			fb.ValueStart(b)
			fb.ValueAddType(b, fb.ValueTypeBool)
			fb.ValueAddB(b, *(*bool)(p))
			return fb.ValueEnd(b)
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != fb.ValueTypeBool {
				return tagErr(v, c.typ)
			}
			*(*bool)(p) = v.B()
			return nil
		}
		return c, nil
	case reflect.Int32, reflect.Int16, reflect.Int8:
		return intCodec(t, fb.ValueTypeI32), nil
	case reflect.Int64, reflect.Int:
		return intCodec(t, fb.ValueTypeI64), nil
	case reflect.Uint32, reflect.Uint16, reflect.Uint8:
		return intCodec(t, fb.ValueTypeU32), nil
	case reflect.Uint64, reflect.Uint:
		return intCodec(t, fb.ValueTypeU64), nil
	case reflect.Float32:
		c := &codec{typ: scalar(fb.ValueTypeF32)}
		c.get = func(p unsafe.Pointer) any { return *(*float32)(p) }
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildF(b, fb.ValueTypeF32, float64(*(*float32)(p)))
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != fb.ValueTypeF32 {
				return tagErr(v, c.typ)
			}
			*(*float32)(p) = float32(v.F())
			return nil
		}
		return c, nil
	case reflect.Float64:
		c := &codec{typ: scalar(fb.ValueTypeF64)}
		c.get = func(p unsafe.Pointer) any { return *(*float64)(p) }
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildF(b, fb.ValueTypeF64, *(*float64)(p))
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != fb.ValueTypeF64 {
				return tagErr(v, c.typ)
			}
			*(*float64)(p) = v.F()
			return nil
		}
		return c, nil
	case reflect.String:
		c := &codec{typ: scalar(fb.ValueTypeString)}
		c.get = func(p unsafe.Pointer) any { return *(*string)(p) }
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildString(b, *(*string)(p))
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != fb.ValueTypeString {
				return tagErr(v, c.typ)
			}
			*(*string)(p) = string(v.S())
			return nil
		}
		return c, nil
	case reflect.Pointer:
		et := t.Elem()
		if et.Kind() == reflect.Pointer {
			return nil, fmt.Errorf("type %s: a pointer to a pointer has no Interstice type", t)
		}
		ec, err := codecDepth(et, depth+1)
		if err != nil {
			return nil, err
		}
		if ec.typ.Optional {
			return nil, fmt.Errorf("type %s: optional of optional", t)
		}
		c := &codec{typ: ec.typ}
		c.typ.Optional = true
		c.get = func(p unsafe.Pointer) any {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return nil
			}
			return ec.get(q)
		}
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return buildNull(b)
			}
			return ec.enc(b, q)
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() == fb.ValueTypeNull {
				*(*unsafe.Pointer)(p) = nil
				return nil
			}
			q := reflect.New(et).UnsafePointer()
			if err := ec.dec(v, q); err != nil {
				return err
			}
			*(*unsafe.Pointer)(p) = q
			return nil
		}
		return c, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			c := &codec{typ: scalar(fb.ValueTypeBytes)}
			c.get = func(p unsafe.Pointer) any {
				if b := *(*[]byte)(p); b != nil {
					return b
				}
				return []byte{}
			}
			c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
				return buildBytes(b, *(*[]byte)(p))
			}
			c.dec = func(v *fb.Value, p unsafe.Pointer) error {
				if v.Type() != fb.ValueTypeBytes {
					return tagErr(v, c.typ)
				}
				*(*[]byte)(p) = append([]byte{}, v.BytesBytes()...)
				return nil
			}
			return c, nil
		}
		ec, err := codecDepth(t.Elem(), depth+1)
		if err != nil {
			return nil, err
		}
		elem := ec.typ
		c := &codec{typ: row.Type{Kind: fb.ValueTypeList, Elem: &elem}}
		c.get = func(p unsafe.Pointer) any {
			s := reflect.NewAt(t, p).Elem()
			out := make([]any, s.Len())
			for i := range out {
				out[i] = ec.get(s.Index(i).Addr().UnsafePointer())
			}
			return out
		}
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			s := reflect.NewAt(t, p).Elem()
			base := len(offStack)
			for i := 0; i < s.Len(); i++ {
				o := ec.enc(b, s.Index(i).Addr().UnsafePointer())
				offStack = append(offStack, o)
			}
			child := endOffsets(b, base)
			fb.ValueStart(b)
			fb.ValueAddType(b, fb.ValueTypeList)
			fb.ValueAddList(b, child)
			return fb.ValueEnd(b)
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != fb.ValueTypeList {
				return tagErr(v, c.typ)
			}
			n := v.ListLength()
			s := reflect.MakeSlice(t, n, n)
			var e fb.Value
			for i := 0; i < n; i++ {
				v.List(&e, i)
				if err := ec.dec(&e, s.Index(i).Addr().UnsafePointer()); err != nil {
					return fmt.Errorf("element %d: %w", i, err)
				}
			}
			reflect.NewAt(t, p).Elem().Set(s)
			return nil
		}
		return c, nil
	}
	return nil, fmt.Errorf("Go type %s has no Interstice type (use bool, [u]int8..64, float32/64, string, []byte, *T or []T)", t)
}

// intCodec handles every integer kind. The Go size picks the memory access
// and the Interstice kind the value type; the exact 32- and 64-bit types get
// code without size switches.
func intCodec(t reflect.Type, k fb.ValueType) *codec {
	c := &codec{typ: scalar(k)}
	size := t.Size()
	signed := t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64
	unsigned := k == fb.ValueTypeU32 || k == fb.ValueTypeU64
	switch {
	case size == 8 && signed:
		c.get = func(p unsafe.Pointer) any { return *(*int64)(p) }
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildI(b, k, *(*int64)(p))
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != k {
				return tagErr(v, c.typ)
			}
			*(*int64)(p) = v.I()
			return nil
		}
		return c
	case size == 8:
		c.get = func(p unsafe.Pointer) any { return *(*uint64)(p) }
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildU(b, k, *(*uint64)(p))
		}
		c.dec = func(v *fb.Value, p unsafe.Pointer) error {
			if v.Type() != k {
				return tagErr(v, c.typ)
			}
			*(*uint64)(p) = v.U()
			return nil
		}
		return c
	}
	load := func(p unsafe.Pointer) uint64 {
		switch size {
		case 1:
			if signed {
				return uint64(int64(*(*int8)(p)))
			}
			return uint64(*(*uint8)(p))
		case 2:
			if signed {
				return uint64(int64(*(*int16)(p)))
			}
			return uint64(*(*uint16)(p))
		}
		if signed {
			return uint64(int64(*(*int32)(p)))
		}
		return uint64(*(*uint32)(p))
	}
	store := func(p unsafe.Pointer, u uint64) {
		switch size {
		case 1:
			*(*uint8)(p) = uint8(u)
		case 2:
			*(*uint16)(p) = uint16(u)
		default:
			*(*uint32)(p) = uint32(u)
		}
	}
	// Range of the Go type, for values coming from the host.
	bits := uint(size * 8)
	lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	uhi := uint64(math.MaxUint64) >> (64 - bits)
	if signed {
		c.get = func(p unsafe.Pointer) any {
			if k == fb.ValueTypeI64 { // int on a 32-bit platform
				return int64(load(p))
			}
			return int32(int64(load(p)))
		}
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildI(b, k, int64(load(p)))
		}
	} else {
		c.get = func(p unsafe.Pointer) any {
			if k == fb.ValueTypeU64 { // uint on a 32-bit platform
				return load(p)
			}
			return uint32(load(p))
		}
		c.enc = func(b *flatbuffers.Builder, p unsafe.Pointer) flatbuffers.UOffsetT {
			return buildU(b, k, load(p))
		}
	}
	c.dec = func(v *fb.Value, p unsafe.Pointer) error {
		if v.Type() != k {
			return tagErr(v, c.typ)
		}
		if unsigned {
			u := v.U()
			if u > uhi {
				return fmt.Errorf("%w: %d out of range for Go %s", ErrType, u, t)
			}
			store(p, u)
			return nil
		}
		i := v.I()
		if i < lo || i > hi {
			return fmt.Errorf("%w: %d out of range for Go %s", ErrType, i, t)
		}
		store(p, uint64(i))
		return nil
	}
	return c
}

// toValue converts a Go value of any supported type (see codecFor) to a row
// value: int becomes int64, *string becomes string or nil, []string becomes
// []any, a named type becomes its underlying type.
func toValue(v any) (any, error) {
	switch v.(type) {
	case nil, bool, uint32, uint64, int32, int64, float32, float64, string, []byte:
		return v, nil
	}
	rv := reflect.ValueOf(v)
	c, err := codecFor(rv.Type())
	if err != nil {
		return nil, err
	}
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	return c.get(p.UnsafePointer()), nil
}
