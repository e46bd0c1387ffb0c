package row

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/interstice/interstice/fbs/fb"
)

// JSON is the convenient form of rows and arguments. The mapping is:
//
//	bool -> true/false; integers -> numbers (exact, also beyond 2^53);
//	f32/f64 -> numbers, or the strings "NaN", "Infinity", "-Infinity";
//	string -> string; bytes -> base64 (standard, padded) string;
//	list -> array; null -> null.
//
// A row is a JSON object keyed by column name, in column order. Arguments may
// be given as an array (by position) or an object (by parameter name).

// ParseJSON reads JSON arguments or a row for the given names and types and
// returns exactly typed values. data may be an array with one element per
// type, or an object with one member per name (missing optional members are
// null; unknown members are an error). Empty data means no values.
//
// A wrong number of array elements is a *CountError, a missing
// non-optional member a *MissingError and a bad value a *ValueError
// naming it; all match ErrType.
//
// data must be exactly one JSON value, with only JSON whitespace around it.
func ParseJSON(data []byte, names []string, types []Type) ([]any, error) {
	if len(trimJSONSpace(data)) == 0 {
		data = []byte("[]")
	}
	raw, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	var in []any
	switch x := raw.(type) {
	case []any:
		if len(x) != len(types) {
			return nil, &CountError{Given: len(x), Want: len(types)}
		}
		in = x
	case map[string]any:
		in = make([]any, len(types))
		seen := 0
		for i, n := range names {
			if v, ok := x[n]; ok {
				in[i] = v
				seen++
			}
		}
		if seen != len(x) {
			for k := range x {
				if indexOf(names, k) < 0 {
					return nil, fmt.Errorf("%w: unknown name %q", ErrType, k)
				}
			}
		}
		for i, n := range names {
			if i < len(types) && !types[i].Optional {
				if _, ok := x[n]; !ok {
					return nil, &MissingError{Index: i, Name: n, Type: types[i]}
				}
			}
		}
	default:
		return nil, fmt.Errorf("%w: JSON must be an array or an object, not %s", ErrType, jsonKind(raw))
	}
	out := make([]any, len(types))
	for i, t := range types {
		v, err := fromJSON(in[i], t)
		if err != nil {
			ve := &ValueError{Index: i, Err: err}
			if i < len(names) {
				ve.Name = names[i]
			}
			return nil, ve
		}
		out[i] = v
	}
	return out, nil
}

// ParseJSONValue reads exactly one JSON value of type t (a primary key,
// for example) and returns it exactly typed.
func ParseJSONValue(data []byte, t Type) (any, error) {
	raw, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	return fromJSON(raw, t)
}

// decodeJSON decodes data, which must be one JSON value and then the end
// of input, with numbers kept as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON: %v", ErrType, err)
	}
	if err := JSONEnd(dec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrType, err)
	}
	return raw, nil
}

// JSONEnd returns an error unless dec, having decoded one value, has only
// JSON whitespace left: a JSON argument, key or record is one value, then
// the end of input. (dec.More cannot tell: it reports false before a
// stray ']' or '}', so "[1]]" would pass.)
func JSONEnd(dec *json.Decoder) error {
	if tok, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("trailing data after the JSON value (%v at offset %d)", tok, dec.InputOffset())
		}
		return fmt.Errorf("trailing data after the JSON value: %v", err)
	}
	return nil
}

// trimJSONSpace removes JSON whitespace (RFC 8259: space, tab, LF, CR)
// from both ends of b.
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func indexOf(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return -1
}

func fromJSON(v any, t Type) (any, error) {
	if v == nil {
		return nil, CheckValue(nil, t)
	}
	switch t.Kind {
	case fb.ValueTypeU32, fb.ValueTypeU64, fb.ValueTypeI32, fb.ValueTypeI64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%w: JSON %s for %s", ErrType, jsonKind(v), t)
		}
		if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
			return convertInt(u, t)
		}
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return convertInt(i, t)
		}
		return nil, fmt.Errorf("%w: %s is not an integer in range for %s", ErrType, n, t)
	case fb.ValueTypeF32, fb.ValueTypeF64:
		var f float64
		switch x := v.(type) {
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(string(x), 64); err != nil {
				return nil, fmt.Errorf("%w: %s is not a number", ErrType, x)
			}
		case string:
			switch x {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return nil, fmt.Errorf("%w: string %q for %s", ErrType, x, t)
			}
		default:
			return nil, fmt.Errorf("%w: JSON %s for %s", ErrType, jsonKind(v), t)
		}
		return Convert(f, t)
	case fb.ValueTypeBytes:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: JSON %s for bytes (want base64 string)", ErrType, jsonKind(v))
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: bytes are not base64: %v", ErrType, err)
		}
		return b, nil
	case fb.ValueTypeList:
		xs, ok := v.([]any)
		if !ok || t.Elem == nil {
			return nil, fmt.Errorf("%w: JSON %s for %s", ErrType, jsonKind(v), t)
		}
		out := make([]any, len(xs))
		for i, e := range xs {
			c, err := fromJSON(e, *t.Elem)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case fb.ValueTypeString:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("%w: JSON %s for %s", ErrType, jsonKind(v), t)
		}
	case fb.ValueTypeBool:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("%w: JSON %s for %s", ErrType, jsonKind(v), t)
		}
	}
	return v, CheckValue(v, t)
}

// jsonKind names the JSON kind of a decoded value: "number", "string",
// "bool", "array", "object" or "null".
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case json.Number:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// AppendJSON appends the JSON form of one value to dst.
func AppendJSON(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float32:
		return appendFloat(dst, float64(x), 32)
	case float64:
		return appendFloat(dst, x, 64)
	case string:
		b, _ := json.Marshal(x)
		return append(dst, b...)
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, '"')
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, e)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// AppendJSONObject appends values as a JSON object keyed by names, in order.
func AppendJSONObject(dst []byte, names []string, values []any) []byte {
	dst = append(dst, '{')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		name := strconv.Itoa(i)
		if i < len(names) {
			name = names[i]
		}
		dst = AppendJSON(dst, name)
		dst = append(dst, ':')
		dst = AppendJSON(dst, v)
	}
	return append(dst, '}')
}
