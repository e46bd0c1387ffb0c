package sdk

import (
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// codec maps one Go type to one Interstice type. Codecs are built once per
// Go type, with reflect, and then work on raw pointers to the Go value, so
// a reducer call does no reflection and, for scalar and string columns, no
// allocation (in a wasm guest an allocation costs about a third of
// encoding a whole row).
//
// Values are encoded by the row writer (encode.go), not by the FlatBuffers
// Builder, into the same bytes as row.Encode; they are decoded with the
// generated accessors of fbs/fb. enc and dec are the top-level functions
// for the codec's op, so that a column costs one indirect call and no
// switch (in a wasm guest every taken branch is an indirect jump).
type codec struct {
	typ row.Type
	// op says how the Go value is laid out in memory: the load and store
	// of the exact Go type (int8 ... uint64, float32, float64, bool,
	// string, []byte), an optional (*T, elem is T's codec) or a list ([]T,
	// elem is T's codec, esize the size of a T).
	op codecOp
	// enc writes the Go value at p as a Value table (encFor); dec reads a
	// Value into it (decFor).
	enc   encFunc
	dec   decFunc
	elem  *codec
	esize uintptr
	// rtype is the Go type.
	rtype reflect.Type
	// lo, hi and uhi are the range of a Go integer type narrower than its
	// Interstice type (int8, uint16, ...), for values from the host.
	lo, hi int64
	uhi    uint64
	// get returns the Go value at p as a value of package row (bool,
	// uint32, ..., string, []byte, []any, nil): the slow, general path, for
	// Ctx.Call arguments and keys.
	get func(p unsafe.Pointer) any
}

// codecOp is the memory layout of a codec's Go type.
type codecOp uint8

const (
	opBool codecOp = iota + 1
	opI8
	opI16
	opI32
	opI64
	opU8
	opU16
	opU32
	opU64
	opF32
	opF64
	opString
	opBytes
	opOpt
	opList
)

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
	c.enc, c.dec = encFor(c.op), decFor(c.op)
	codecCache[t] = c
	return c, nil
}

func scalar(k fb.ValueType) row.Type { return row.Type{Kind: k} }

func newCodec(t reflect.Type, depth int) (*codec, error) {
	switch t.Kind() {
	case reflect.Bool:
		c := &codec{typ: scalar(fb.ValueTypeBool), op: opBool, rtype: t}
		c.get = func(p unsafe.Pointer) any { return *(*bool)(p) }
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
		c := &codec{typ: scalar(fb.ValueTypeF32), op: opF32, rtype: t}
		c.get = func(p unsafe.Pointer) any { return *(*float32)(p) }
		return c, nil
	case reflect.Float64:
		c := &codec{typ: scalar(fb.ValueTypeF64), op: opF64, rtype: t}
		c.get = func(p unsafe.Pointer) any { return *(*float64)(p) }
		return c, nil
	case reflect.String:
		c := &codec{typ: scalar(fb.ValueTypeString), op: opString, rtype: t}
		c.get = func(p unsafe.Pointer) any { return *(*string)(p) }
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
		c := &codec{typ: ec.typ, op: opOpt, elem: ec, rtype: t}
		c.typ.Optional = true
		c.get = func(p unsafe.Pointer) any {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return nil
			}
			return ec.get(q)
		}
		return c, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			c := &codec{typ: scalar(fb.ValueTypeBytes), op: opBytes, rtype: t}
			c.get = func(p unsafe.Pointer) any {
				if b := *(*[]byte)(p); b != nil {
					return b
				}
				return []byte{}
			}
			return c, nil
		}
		ec, err := codecDepth(t.Elem(), depth+1)
		if err != nil {
			return nil, err
		}
		elem := ec.typ
		c := &codec{typ: row.Type{Kind: fb.ValueTypeList, Elem: &elem}, op: opList, elem: ec, esize: t.Elem().Size(), rtype: t}
		c.get = func(p unsafe.Pointer) any {
			s := reflect.NewAt(t, p).Elem()
			out := make([]any, s.Len())
			for i := range out {
				out[i] = ec.get(s.Index(i).Addr().UnsafePointer())
			}
			return out
		}
		return c, nil
	}
	return nil, fmt.Errorf("Go type %s has no Interstice type (use bool, [u]int8..64, float32/64, string, []byte, *T or []T)", t)
}

// intCodec handles every integer kind. The Go size picks the memory access
// (op) and the Interstice kind the value type.
func intCodec(t reflect.Type, k fb.ValueType) *codec {
	c := &codec{typ: scalar(k), rtype: t}
	size := t.Size()
	signed := t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64
	// Range of the Go type, for values coming from the host.
	bits := uint(size * 8)
	c.lo, c.hi = int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	c.uhi = uint64(math.MaxUint64) >> (64 - bits)
	switch {
	case signed && size == 8:
		c.op = opI64
		c.get = func(p unsafe.Pointer) any { return *(*int64)(p) }
	case signed && size == 4:
		c.op = opI32
		c.get = func(p unsafe.Pointer) any {
			if k == fb.ValueTypeI64 { // int on a 32-bit platform
				return int64(*(*int32)(p))
			}
			return *(*int32)(p)
		}
	case signed && size == 2:
		c.op = opI16
		c.get = func(p unsafe.Pointer) any { return int32(*(*int16)(p)) }
	case signed:
		c.op = opI8
		c.get = func(p unsafe.Pointer) any { return int32(*(*int8)(p)) }
	case size == 8:
		c.op = opU64
		c.get = func(p unsafe.Pointer) any { return *(*uint64)(p) }
	case size == 4:
		c.op = opU32
		c.get = func(p unsafe.Pointer) any {
			if k == fb.ValueTypeU64 { // uint on a 32-bit platform
				return uint64(*(*uint32)(p))
			}
			return *(*uint32)(p)
		}
	case size == 2:
		c.op = opU16
		c.get = func(p unsafe.Pointer) any { return uint32(*(*uint16)(p)) }
	default:
		c.op = opU8
		c.get = func(p unsafe.Pointer) any { return uint32(*(*uint8)(p)) }
	}
	return c
}

// decFunc stores the Value v (from a host buffer) into the Go value at p
// of codec c, checking its type tag and, for Go integer types narrower
// than the Interstice type, its range. It reads v with the generated
// accessors of fbs/fb, each field once. Each codec has the one for its Go
// type (decFor): decoding a value is one indirect call to a short
// function, with no switch.
type decFunc func(c *codec, v *fb.Value, p unsafe.Pointer) error

// decFor returns the decFunc of codecs with op.
func decFor(op codecOp) decFunc {
	switch op {
	case opBool:
		return decBool
	case opI8, opI16, opI32:
		return decSmallInt
	case opI64:
		return decI64
	case opU8, opU16, opU32:
		return decSmallUint
	case opU64:
		return decU64
	case opF32:
		return decF32
	case opF64:
		return decF64
	case opString:
		return decString
	case opBytes:
		return decBytes
	case opOpt:
		return decOpt
	case opList:
		return decList
	}
	panic("sdk: no decoder for codec op")
}

// typeErr is the error for a value of type t where c's type is wanted.
func typeErr(c *codec, t fb.ValueType) error {
	return fmt.Errorf("%w: %s value for %s", ErrType, t, c.typ)
}

func decU64(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != c.typ.Kind {
		return typeErr(c, t)
	}
	*(*uint64)(p) = v.U()
	return nil
}

func decI64(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != c.typ.Kind {
		return typeErr(c, t)
	}
	*(*int64)(p) = v.I()
	return nil
}

func decString(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != fb.ValueTypeString {
		return typeErr(c, t)
	}
	*(*string)(p) = string(v.S())
	return nil
}

func decBytes(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != fb.ValueTypeBytes {
		return typeErr(c, t)
	}
	*(*[]byte)(p) = append([]byte{}, v.BytesBytes()...)
	return nil
}

func decBool(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != fb.ValueTypeBool {
		return typeErr(c, t)
	}
	*(*bool)(p) = v.B()
	return nil
}

func decF64(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != fb.ValueTypeF64 {
		return typeErr(c, t)
	}
	*(*float64)(p) = v.F()
	return nil
}

func decF32(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != fb.ValueTypeF32 {
		return typeErr(c, t)
	}
	*(*float32)(p) = float32(v.F())
	return nil
}

// decSmallUint decodes into uint32, uint16 and uint8 (and uint on a 32-bit
// platform), checking the range of the Go type.
func decSmallUint(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != c.typ.Kind {
		return typeErr(c, t)
	}
	u := v.U()
	if u > c.uhi {
		return fmt.Errorf("%w: %d out of range for Go %s", ErrType, u, c.rtype)
	}
	switch c.op {
	case opU32:
		*(*uint32)(p) = uint32(u)
	case opU16:
		*(*uint16)(p) = uint16(u)
	default:
		*(*uint8)(p) = uint8(u)
	}
	return nil
}

// decSmallInt decodes into int32, int16 and int8 (and int on a 32-bit
// platform), checking the range of the Go type.
func decSmallInt(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != c.typ.Kind {
		return typeErr(c, t)
	}
	i := v.I()
	if i < c.lo || i > c.hi {
		return fmt.Errorf("%w: %d out of range for Go %s", ErrType, i, c.rtype)
	}
	switch c.op {
	case opI32:
		*(*int32)(p) = int32(i)
	case opI16:
		*(*int16)(p) = int16(i)
	default:
		*(*int8)(p) = int8(i)
	}
	return nil
}

// decOpt decodes an optional: nil for Null, else a new element.
func decOpt(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if v.Type() == fb.ValueTypeNull {
		*(*unsafe.Pointer)(p) = nil
		return nil
	}
	e := c.elem
	q := reflect.New(e.rtype).UnsafePointer()
	if err := e.dec(e, v, q); err != nil {
		return err
	}
	*(*unsafe.Pointer)(p) = q
	return nil
}

// decList decodes a list into a new slice.
func decList(c *codec, v *fb.Value, p unsafe.Pointer) error {
	if t := v.Type(); t != fb.ValueTypeList {
		return typeErr(c, t)
	}
	n := v.ListLength()
	s := reflect.MakeSlice(c.rtype, n, n)
	data := s.UnsafePointer()
	e := c.elem
	var ev fb.Value
	for i := 0; i < n; i++ {
		v.List(&ev, i)
		if err := e.dec(e, &ev, unsafe.Add(data, uintptr(i)*c.esize)); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	reflect.NewAt(c.rtype, p).Elem().Set(s)
	return nil
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
