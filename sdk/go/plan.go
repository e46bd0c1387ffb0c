package sdk

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// rowPlan is the column layout of a row struct, built once with reflect:
// one column per exported field, in field order.
type rowPlan struct {
	typ  reflect.Type
	cols []column
	pk   int
}

type column struct {
	name  string
	field string
	typ   reflect.Type
	off   uintptr
	c     *codec
	// def is the column's default value (Default) as a one-value Row, or
	// nil.
	def []byte
}

// planFor reads the `ist` tags of struct type t:
//
//	Name  string `ist:"name,pk"` // column "name", the primary key
//	Score int64                  // column "score" (snake_case of the field name)
//	Tmp   int    `ist:"-"`       // not stored
//
// Exactly one column is the primary key (a bool, integer, string or []byte
// field). Unexported fields are skipped.
func planFor(t reflect.Type) (*rowPlan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("row type %s is not a struct", t)
	}
	p := &rowPlan{typ: t, pk: -1}
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, hasTag := f.Tag.Lookup("ist")
		if tag == "-" {
			continue
		}
		if f.Anonymous && !hasTag {
			return nil, fmt.Errorf("%s.%s: embedded fields are not supported; name the field", t, f.Name)
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = snakeCase(f.Name)
		}
		if !isIdent(name) {
			return nil, fmt.Errorf("%s.%s: column name %q is not an identifier", t, f.Name, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s.%s: duplicate column name %q", t, f.Name, name)
		}
		seen[name] = true
		c, err := codecFor(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %v", t, f.Name, err)
		}
		for _, o := range strings.Split(opts, ",") {
			switch strings.TrimSpace(o) {
			case "":
			case "pk", "primarykey", "primary_key":
				if p.pk >= 0 {
					return nil, fmt.Errorf("%s: two primary keys (%s and %s)", t, p.cols[p.pk].field, f.Name)
				}
				if !row.KeyType(c.typ) {
					return nil, fmt.Errorf("%s.%s: type %s cannot be a primary key (use bool, an integer, string or []byte)", t, f.Name, c.typ)
				}
				p.pk = len(p.cols)
			default:
				return nil, fmt.Errorf("%s.%s: unknown ist tag option %q", t, f.Name, o)
			}
		}
		p.cols = append(p.cols, column{name: name, field: f.Name, typ: f.Type, off: f.Offset, c: c})
	}
	if len(p.cols) == 0 {
		return nil, fmt.Errorf("row type %s has no exported fields", t)
	}
	if p.pk < 0 {
		return nil, fmt.Errorf("row type %s has no primary key: tag one field `ist:\"name,pk\"`", t)
	}
	return p, nil
}

// types returns the column types in order.
func (p *rowPlan) types() []row.Type {
	ts := make([]row.Type, len(p.cols))
	for i, c := range p.cols {
		ts[i] = c.c.typ
	}
	return ts
}

// encode writes the struct at ptr as a Row with the shared row writer and
// returns the bytes (valid until the next encode).
func (p *rowPlan) encode(ptr unsafe.Pointer) []byte {
	w := &wr
	w.start()
	for i := range p.cols {
		c := &p.cols[i]
		w.offs = append(w.offs, c.c.enc(w, c.c, unsafe.Add(ptr, c.off)))
	}
	return w.finishRow(0)
}

// encodeOne writes a Row holding the one value at p with the shared row
// writer.
func encodeOne(c *codec, p unsafe.Pointer) []byte {
	w := &wr
	w.start()
	w.offs = append(w.offs, c.enc(w, c, p))
	return w.finishRow(0)
}

// The Row and Value being decoded: package variables, so decoding does not
// allocate them (decoding never re-enters itself).
var (
	decRow fb.Row
	decVal fb.Value
)

// openRow points decRow at buf and returns its number of values.
//
// Buffers come from the host, which verified every row and argument list
// against the declared types before handing it over (docs/ABI.md), so the
// generated accessors of fbs/fb read them directly; row.Decode's verifying
// walk into []any costs several microseconds per row in a wasm guest.
// Should a buffer still be malformed, the accessors' bounds-check panic is
// turned into an error by a recover: p.decode's own, and dispatch's for
// decodeArgs.
func openRow(buf []byte) int {
	if len(buf) < 8 {
		shortRow(len(buf))
	}
	decRow.Init(buf, flatbuffers.GetUOffsetT(buf))
	return decRow.ValuesLength()
}

func shortRow(n int) { panic(fmt.Sprintf("%d bytes is shorter than a Row", n)) }

func recoverMalformed(err *error) {
	if r := recover(); r != nil {
		*err = malformed(r)
	}
}

func malformed(r any) error { return fmt.Errorf("%w: %v", row.ErrMalformed, r) }

// decode decodes a Row that the host wrote into the struct at ptr. Values
// beyond the struct's columns (columns a newer version of another module
// appended) are ignored.
func (p *rowPlan) decode(buf []byte, ptr unsafe.Pointer) (err error) {
	defer recoverMalformed(&err)
	if n := openRow(buf); n < len(p.cols) {
		return fmt.Errorf("%w: row has %d values, %s has %d columns", ErrType, n, p.typ, len(p.cols))
	}
	for i := range p.cols {
		c := &p.cols[i]
		decRow.Values(&decVal, i)
		if err := c.c.dec(c.c, &decVal, unsafe.Add(ptr, c.off)); err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	return nil
}

// decodingArgs is set while decodeArgs runs. decodeArgs has no deferred
// recover of its own (in a wasm guest a defer and recover cost about as
// much as decoding a scalar): it runs under dispatch, whose recover turns
// a malformed buffer's panic into the error decodeArgs would return
// (argsPanicErr).
var decodingArgs bool

// decodeArgs decodes the argument Row of reducer into the Go variables at
// ptrs.
func decodeArgs(reducer string, args []byte, codecs []*codec, ptrs []unsafe.Pointer) error {
	decodingArgs = true
	// openRow, inlined.
	if len(args) < 8 {
		shortRow(len(args))
	}
	decRow.Init(args, flatbuffers.GetUOffsetT(args))
	if n := decRow.ValuesLength(); n != len(codecs) {
		decodingArgs = false
		return fmt.Errorf("reducer %s: %w: %d arguments, want %d", reducer, ErrType, n, len(codecs))
	}
	for i, c := range codecs {
		decRow.Values(&decVal, i)
		if err := c.dec(c, &decVal, ptrs[i]); err != nil {
			decodingArgs = false
			return fmt.Errorf("reducer %s: argument %d: %w", reducer, i, err)
		}
	}
	decodingArgs = false
	return nil
}

// argsPanicErr is the error for a panic r while decoding the arguments of
// reducer.
func argsPanicErr(reducer string, r any) error {
	return fmt.Errorf("reducer %s: %w", reducer, malformed(r))
}

// snakeCase turns a Go field name into a column name: "PlayerID" ->
// "player_id", "JoinedAt" -> "joined_at".
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isIdent reports whether s matches [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
