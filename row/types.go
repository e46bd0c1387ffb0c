package row

import (
	"fmt"
	"math"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

// Type is a column or parameter type (fbs/schema.fbs TypeRef).
type Type struct {
	Kind     fb.ValueType
	Optional bool
	Elem     *Type // element type of a List
}

var kindNames = map[fb.ValueType]string{
	fb.ValueTypeNull: "null", fb.ValueTypeBool: "bool",
	fb.ValueTypeU32: "u32", fb.ValueTypeU64: "u64",
	fb.ValueTypeI32: "i32", fb.ValueTypeI64: "i64",
	fb.ValueTypeF32: "f32", fb.ValueTypeF64: "f64",
	fb.ValueTypeString: "string", fb.ValueTypeBytes: "bytes",
	fb.ValueTypeList: "list",
}

func kindName(k fb.ValueType) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", k)
}

// String returns the type in the notation ParseType reads:
// "u64", "string?", "list<i32>", "list<string?>?".
func (t Type) String() string {
	s := kindName(t.Kind)
	if t.Kind == fb.ValueTypeList {
		elem := "?"
		if t.Elem != nil {
			elem = t.Elem.String()
		}
		s = "list<" + elem + ">"
	}
	if t.Optional {
		s += "?"
	}
	return s
}

// ParseType reads the notation of Type.String.
func ParseType(s string) (Type, error) {
	orig := s
	var t Type
	if strings.HasSuffix(s, "?") {
		t.Optional = true
		s = s[:len(s)-1]
	}
	if strings.HasPrefix(s, "list<") && strings.HasSuffix(s, ">") {
		elem, err := ParseType(s[5 : len(s)-1])
		if err != nil {
			return Type{}, err
		}
		t.Kind, t.Elem = fb.ValueTypeList, &elem
		return t, nil
	}
	for k, n := range kindNames {
		if n == s && k != fb.ValueTypeNull && k != fb.ValueTypeList {
			t.Kind = k
			return t, nil
		}
	}
	return Type{}, fmt.Errorf("row: unknown type %q", orig)
}

// Valid reports whether t is a usable column or parameter type.
func (t Type) Valid() error {
	for depth := 0; ; depth++ {
		if depth > MaxDepth {
			return fmt.Errorf("row: list type nested deeper than %d", MaxDepth)
		}
		if t.Kind == fb.ValueTypeNull || t.Kind > fb.ValueTypeList {
			return fmt.Errorf("row: unknown column type %s", kindName(t.Kind))
		}
		if t.Kind != fb.ValueTypeList {
			return nil
		}
		if t.Elem == nil {
			return fmt.Errorf("row: list type without element type")
		}
		t = *t.Elem
	}
}

// TypeFromFB converts a schema TypeRef (nil gives the invalid Null type).
func TypeFromFB(r *fb.TypeRef) Type {
	return typeFromFB(r, 0)
}

func typeFromFB(r *fb.TypeRef, depth int) Type {
	if r == nil || depth > MaxDepth+1 {
		return Type{}
	}
	t := Type{Kind: r.Kind(), Optional: r.Optional()}
	if t.Kind == fb.ValueTypeList {
		if e := r.Elem(nil); e != nil {
			et := typeFromFB(e, depth+1)
			t.Elem = &et
		}
	}
	return t
}

// BuildTypeRef writes t as a schema TypeRef into b and returns its offset.
func BuildTypeRef(b *flatbuffers.Builder, t Type) flatbuffers.UOffsetT {
	var elem flatbuffers.UOffsetT
	if t.Elem != nil {
		elem = BuildTypeRef(b, *t.Elem)
	}
	fb.TypeRefStart(b)
	fb.TypeRefAddKind(b, t.Kind)
	fb.TypeRefAddOptional(b, t.Optional)
	if elem != 0 {
		fb.TypeRefAddElem(b, elem)
	}
	return fb.TypeRefEnd(b)
}

// CheckValue reports whether the Go value v has type t.
func CheckValue(v any, t Type) error {
	if v == nil {
		if !t.Optional {
			return fmt.Errorf("%w: null for non-optional %s", ErrType, t)
		}
		return nil
	}
	ok := false
	switch x := v.(type) {
	case bool:
		ok = t.Kind == fb.ValueTypeBool
	case uint32:
		ok = t.Kind == fb.ValueTypeU32
	case uint64:
		ok = t.Kind == fb.ValueTypeU64
	case int32:
		ok = t.Kind == fb.ValueTypeI32
	case int64:
		ok = t.Kind == fb.ValueTypeI64
	case float32:
		ok = t.Kind == fb.ValueTypeF32
	case float64:
		ok = t.Kind == fb.ValueTypeF64
	case string:
		ok = t.Kind == fb.ValueTypeString
	case []byte:
		ok = t.Kind == fb.ValueTypeBytes
	case []any:
		if t.Kind != fb.ValueTypeList || t.Elem == nil {
			break
		}
		for i, e := range x {
			if err := CheckValue(e, *t.Elem); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		ok = true
	}
	if !ok {
		return fmt.Errorf("%w: %T value for %s", ErrType, v, t)
	}
	return nil
}

// Key returns an order-preserving binary key for a primary-key value: for
// two values a and b of the same type, Key(a) < Key(b) (bytewise) exactly
// when a < b. Keys of unsigned and signed integers are big-endian (signed
// with the sign bit flipped); strings and bytes are their bytes; bool is one
// byte. Floats, lists and null are not key types.
func Key(v any) (string, error) {
	var b [8]byte
	put := func(u uint64, n int) string {
		for i := 0; i < n; i++ {
			b[i] = byte(u >> (8 * (n - 1 - i)))
		}
		return string(b[:n])
	}
	switch x := v.(type) {
	case bool:
		if x {
			return "\x01", nil
		}
		return "\x00", nil
	case uint32:
		return put(uint64(x), 4), nil
	case uint64:
		return put(x, 8), nil
	case int32:
		return put(uint64(uint32(x)^(1<<31)), 4), nil
	case int64:
		return put(uint64(x)^(1<<63), 8), nil
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("%w: %T cannot be a primary key", ErrType, v)
}

// KeyType reports whether t can be a primary-key type.
func KeyType(t Type) bool {
	if t.Optional {
		return false
	}
	switch t.Kind {
	case fb.ValueTypeBool, fb.ValueTypeU32, fb.ValueTypeU64, fb.ValueTypeI32,
		fb.ValueTypeI64, fb.ValueTypeString, fb.ValueTypeBytes:
		return true
	}
	return false
}

// FieldKey verifies buf as a Row and returns the Key of value i.
func FieldKey(buf []byte, i int) (string, error) {
	v, err := Field(buf, i)
	if err != nil {
		return "", err
	}
	return Key(v)
}

// Convert coerces a Go value of a related type (any Go int or float, as
// JSON decoding or a host language gives them) to the exact type t, with
// range checks. Values already of the right type are returned as they are.
func Convert(v any, t Type) (any, error) {
	if v == nil {
		return nil, CheckValue(nil, t)
	}
	switch t.Kind {
	case fb.ValueTypeU32, fb.ValueTypeU64, fb.ValueTypeI32, fb.ValueTypeI64:
		return convertInt(v, t)
	case fb.ValueTypeF32, fb.ValueTypeF64:
		var f float64
		switch x := v.(type) {
		case float32:
			f = float64(x)
		case float64:
			f = x
		default:
			i, err := convertInt(v, Type{Kind: fb.ValueTypeI64})
			if err != nil {
				return nil, fmt.Errorf("%w: %T value for %s", ErrType, v, t)
			}
			f = float64(i.(int64))
		}
		if t.Kind == fb.ValueTypeF32 {
			if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
				return nil, fmt.Errorf("%w: %v out of range for f32", ErrType, f)
			}
			return float32(f), nil
		}
		return f, nil
	case fb.ValueTypeList:
		xs, ok := v.([]any)
		if !ok || t.Elem == nil {
			return nil, fmt.Errorf("%w: %T value for %s", ErrType, v, t)
		}
		out := make([]any, len(xs))
		for i, e := range xs {
			c, err := Convert(e, *t.Elem)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	}
	return v, CheckValue(v, t)
}

func convertInt(v any, t Type) (any, error) {
	var neg bool
	var mag uint64
	switch x := v.(type) {
	case int:
		neg, mag = x < 0, absU(int64(x))
	case int8:
		neg, mag = x < 0, absU(int64(x))
	case int16:
		neg, mag = x < 0, absU(int64(x))
	case int32:
		neg, mag = x < 0, absU(int64(x))
	case int64:
		neg, mag = x < 0, absU(x)
	case uint:
		mag = uint64(x)
	case uint8:
		mag = uint64(x)
	case uint16:
		mag = uint64(x)
	case uint32:
		mag = uint64(x)
	case uint64:
		mag = x
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<64 {
			return nil, fmt.Errorf("%w: %v is not an integer for %s", ErrType, x, t)
		}
		neg, mag = x < 0, uint64(math.Abs(x))
	default:
		return nil, fmt.Errorf("%w: %T value for %s", ErrType, v, t)
	}
	rangeErr := fmt.Errorf("%w: %s%d out of range for %s", ErrType, map[bool]string{true: "-"}[neg], mag, t)
	switch t.Kind {
	case fb.ValueTypeU32:
		if neg || mag > math.MaxUint32 {
			return nil, rangeErr
		}
		return uint32(mag), nil
	case fb.ValueTypeU64:
		if neg {
			return nil, rangeErr
		}
		return mag, nil
	case fb.ValueTypeI32:
		if (!neg && mag > math.MaxInt32) || (neg && mag > 1<<31) {
			return nil, rangeErr
		}
		if neg {
			return int32(-int64(mag)), nil
		}
		return int32(mag), nil
	default: // I64
		if (!neg && mag > math.MaxInt64) || (neg && mag > 1<<63) {
			return nil, rangeErr
		}
		if neg {
			return int64(-mag), nil
		}
		return int64(mag), nil
	}
}

func absU(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}
