package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/interstice/interstice/row"
)

// Tests of the row writer (encode.go) against row.Encode, the reference
// encoder built on the official flatbuffers.Builder: every buffer must be
// byte-identical.

// rowValue converts the Go value v to the value of package row that
// row.Encode takes, by reflection: a mapping independent of the codecs.
func rowValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool()
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return int32(v.Int())
	case reflect.Int, reflect.Int64:
		return v.Int()
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return uint32(v.Uint())
	case reflect.Uint, reflect.Uint64:
		return v.Uint()
	case reflect.Float32:
		return float32(v.Float())
	case reflect.Float64:
		return v.Float()
	case reflect.String:
		return v.String()
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return rowValue(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append([]byte{}, v.Bytes()...)
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = rowValue(v.Index(i))
		}
		return out
	}
	panic("no row value for " + v.Type().String())
}

// manualPlan is a rowPlan over every field of struct type t, without the
// primary-key and naming rules of planFor: an argument list, say, has no
// key, and the writer does not care.
func manualPlan(t testing.TB, st reflect.Type) *rowPlan {
	t.Helper()
	p := &rowPlan{typ: st}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		c, err := codecFor(f.Type)
		if err != nil {
			t.Fatalf("%s: %v", f.Type, err)
		}
		p.cols = append(p.cols, column{name: f.Name, field: f.Name, typ: f.Type, off: f.Offset, c: c})
	}
	return p
}

// checkEncode encodes the struct v (addressable) with its plan, and each
// of its fields alone with encodeOne, and compares with row.Encode. The
// writer's buffer is filled with garbage first, so a padding byte or
// vtable entry that is not written explicitly shows up.
func checkEncode(t testing.TB, p *rowPlan, v reflect.Value) {
	t.Helper()
	vals := make([]any, v.NumField())
	for i := range vals {
		vals[i] = rowValue(v.Field(i))
	}
	want, err := row.Encode(vals)
	if err != nil {
		t.Fatal(err)
	}
	for i := range wr.buf {
		wr.buf[i] = 0xA5
	}
	got := p.encode(v.Addr().UnsafePointer())
	if !bytes.Equal(got, want) {
		t.Fatalf("row encoding differs from row.Encode for %s %#v\n%s", v.Type(), vals, bufDiff(got, want))
	}
	if len(wr.offs) != 0 {
		t.Fatalf("offset stack not popped: %d", len(wr.offs))
	}
	// The same values as []any (Ctx.Call arguments, DynamicTable rows).
	if got, err := encode(vals); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("encode(%#v): %v\n%s", vals, err, bufDiff(got, want))
	}
	for i := range p.cols {
		c := &p.cols[i]
		want := row.MustEncode(vals[i])
		got := encodeOne(c.c, unsafe.Add(v.Addr().UnsafePointer(), c.off))
		if !bytes.Equal(got, want) {
			t.Fatalf("encodeOne(%s %#v) differs from row.Encode\n%s", c.typ, vals[i], bufDiff(got, want))
		}
	}
}

// bufDiff describes where got and want differ: their lengths and the
// bytes around the first difference.
func bufDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(i-16, 0)
	return fmt.Sprintf("lengths %d, %d; first difference at %d\n got [%d:] %x\nwant [%d:] %x",
		len(got), len(want), i, lo, got[lo:min(i+32, len(got))], lo, want[lo:min(i+32, len(want))])
}

// encodeCase is a row given as its Go field values.
type encodeCase struct {
	name   string
	fields []any
}

// structOf returns an addressable struct value whose fields hold vals, in
// order, with their Go types.
func structOf(vals []any) reflect.Value {
	fields := make([]reflect.StructField, len(vals))
	for i, x := range vals {
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: reflect.TypeOf(x)}
	}
	v := reflect.New(reflect.StructOf(fields)).Elem()
	for i, x := range vals {
		v.Field(i).Set(reflect.ValueOf(x))
	}
	return v
}

func TestEncodeCases(t *testing.T) {
	nan32 := float32(math.NaN())
	var cases []encodeCase
	add := func(name string, fields ...any) { cases = append(cases, encodeCase{name, fields}) }

	// Every scalar with its default (omitted) and non-default values.
	add("bool", false, true, false, true, true)
	add("u32", uint32(0), uint32(1), uint32(math.MaxUint32), uint16(7), uint8(0), uint8(255))
	add("u64", uint64(0), uint64(1), uint64(math.MaxUint64), uint(3))
	add("i32", int32(0), int32(-1), int32(math.MinInt32), int32(math.MaxInt32), int16(-5), int8(-128))
	add("i64", int64(0), int64(-1), int64(math.MinInt64), int64(math.MaxInt64), int(-7))
	add("f32", float32(0), float32(math.Copysign(0, -1)), float32(1.5), nan32, float32(math.Inf(-1)))
	add("f64", 0.0, math.Copysign(0, -1), math.Pi, math.NaN(), math.Inf(1), math.SmallestNonzeroFloat64)
	add("nan payloads", math.Float64frombits(0x7ff8000000000001), math.Float64frombits(0xfff0000000000001))
	// Strings and bytes of every length modulo 4 (padding before the
	// length), and empty ones.
	for n := 0; n <= 9; n++ {
		s := strings.Repeat("s", n)
		add(fmt.Sprintf("string len %d", n), s, int64(n), s, []byte(s), uint8(1), s+"é")
	}
	add("empty bytes", []byte{}, []byte(nil), "", []byte{0})
	add("utf8 and nul", "é\x00\xff", []byte{0, 0, 0})
	// Optionals.
	add("optionals", ptr(int64(0)), (*int64)(nil), ptr("x"), (*string)(nil), ptr(false), ptr(true),
		ptr(math.Copysign(0, -1)), (*[]byte)(nil), ptr([]byte{}), ptr(uint32(9)))
	add("all null", (*string)(nil), (*int32)(nil), (*bool)(nil))
	add("one null", (*uint64)(nil))
	// Lists, nested, with optionals and empties.
	add("lists", []int32{}, []int32(nil), []int32{0, 1, -1}, []string{"", "a", "bc"}, [][]byte{nil, {1}, {}},
		[]*string{nil, ptr("x"), nil}, [][]int64{{}, {0}, {1, 2}, nil}, ptr([]bool{true, false}), (*[]bool)(nil))
	add("deep", [][][][]string{{{{"a"}, {}}, nil}, {}}, [][][]float64{{{0, math.NaN()}}}, []*[]*uint16{nil, ptr([]*uint16{nil, ptr(uint16(3))})})
	add("list of nulls", []*int64{nil, nil, nil})
	// Vtable sharing between values of one shape at both alignments (a
	// Value starts at an even offset, so its type field is at offset 5 or
	// 7 and the Row's vtable, [4], is never shared with a Value's).
	for n := 0; n < 4; n++ {
		add(fmt.Sprintf("type-only values after string %d", n), strings.Repeat("x", n), false, uint32(0), false)
		add(fmt.Sprintf("type-only values after bytes %d", n), make([]byte, n), int64(0), ptr(int8(0)))
	}
	add("floats wide", float32(1), uint32(1), true)
	add("no 8-byte scalar", "x", true, uint32(0), int64(0), []string{"y"})
	// Many columns, and long values (the writer's buffer grows).
	many := make([]any, 300)
	for i := range many {
		switch i % 5 {
		case 0:
			many[i] = uint64(i)
		case 1:
			many[i] = strings.Repeat("m", i%7)
		case 2:
			many[i] = i%3 == 0
		case 3:
			many[i] = (*int32)(nil)
		case 4:
			many[i] = float32(i)
		}
	}
	add("many columns", many...)
	add("long", strings.Repeat("L", 100000), bytes.Repeat([]byte{7}, 70001), []string{strings.Repeat("l", 5000)})
	add("after long", uint64(1), "name", int64(2))

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := structOf(tc.fields)
			checkEncode(t, manualPlan(t, v.Type()), v)
		})
	}
}

// TestEncodeEmptyRow checks a Row with no values (a call without
// arguments).
func TestEncodeEmptyRow(t *testing.T) {
	wr.start()
	if got, want := wr.finishRow(0), row.MustEncode(); !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
	if got, err := encode(nil); err != nil || !bytes.Equal(got, row.MustEncode()) {
		t.Fatalf("encode(nil) = %x, %v", got, err)
	}
}

// TestEncodeAnyErrors checks that encode fails where row.Encode fails,
// with the same message.
func TestEncodeAnyErrors(t *testing.T) {
	deep := any(int32(1))
	for range row.MaxDepth + 1 {
		deep = []any{deep}
	}
	for _, vals := range [][]any{
		{uint64(1), int(5)},
		{[]any{"x", struct{}{}}},
		{"a", deep},
		{[]any{[]any{}, map[string]int{}}},
	} {
		_, want := row.Encode(vals)
		_, got := encode(vals)
		if want == nil || got == nil || got.Error() != want.Error() || errors.Is(want, row.ErrType) != errors.Is(got, row.ErrType) {
			t.Errorf("encode(%#v): %v, row.Encode: %v", vals, got, want)
		}
	}
	// Nested just deep enough is fine.
	ok := any(int32(1))
	for range row.MaxDepth {
		ok = []any{ok}
	}
	if got, err := encode([]any{ok}); err != nil || !bytes.Equal(got, row.MustEncode(ok)) {
		t.Fatalf("depth %d: %v", row.MaxDepth, err)
	}
}

// TestEncodeGenerationWraps checks the vtable index across the wrap of
// the writer's generation counter: entries of the generation before must
// not be taken for the current one's.
func TestEncodeGenerationWraps(t *testing.T) {
	p, err := planFor(reflect.TypeFor[allKinds]())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	wr.gen = math.MaxUint32 - 3
	for range 8 {
		a := sample(r)
		if got, want := p.encode(unsafe.Pointer(&a)), row.MustEncode(values(a)...); !bytes.Equal(got, want) {
			t.Fatalf("generation %d: %+v\n%s", wr.gen, a, bufDiff(got, want))
		}
	}
	if wr.gen == 0 || wr.gen > 8 {
		t.Fatalf("generation %d after the wrap", wr.gen)
	}
}

// TestEncodeAllocatesNothing: encoding scalars, strings, bytes and
// optionals allocates nothing once the writer's buffers have grown.
func TestEncodeAllocatesNothing(t *testing.T) {
	type r struct {
		ID   uint64 `ist:"id,pk"`
		Name string
		V    int64
		B    []byte
		O    *string
		F    float64
		T    bool
		L    []int32
	}
	p, err := planFor(reflect.TypeFor[r]())
	if err != nil {
		t.Fatal(err)
	}
	x := r{ID: 1, Name: "name", V: -2, B: []byte("b"), O: ptr("o"), F: 1.5, T: true, L: []int32{1, 2}}
	p.encode(unsafe.Pointer(&x))
	if n := testing.AllocsPerRun(100, func() { p.encode(unsafe.Pointer(&x)) }); n != 0 {
		t.Fatalf("%v allocations per encode", n)
	}
}

// fuzzSrc draws choices from the fuzzer's bytes, then from a generator
// seeded by the fuzzer.
type fuzzSrc struct {
	data []byte
	r    *rand.Rand
}

func (s *fuzzSrc) intn(n int) int {
	if len(s.data) > 0 {
		b := s.data[0]
		s.data = s.data[1:]
		return int(b) % n
	}
	return s.r.IntN(n)
}

func (s *fuzzSrc) u64() uint64 {
	if len(s.data) >= 8 {
		x := binary.LittleEndian.Uint64(s.data)
		s.data = s.data[8:]
		return x
	}
	return s.r.Uint64()
}

var scalarTypes = []reflect.Type{
	reflect.TypeFor[bool](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](),
	reflect.TypeFor[int64](), reflect.TypeFor[int](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](),
	reflect.TypeFor[uint32](), reflect.TypeFor[uint64](), reflect.TypeFor[uint](), reflect.TypeFor[float32](),
	reflect.TypeFor[float64](), reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[PlayerID](),
}

// randType returns a random Go column type: a scalar, *T or []T.
func (s *fuzzSrc) randType(depth int) reflect.Type {
	switch k := s.intn(10); {
	case k < 6 || depth >= 5:
		return scalarTypes[s.intn(len(scalarTypes))]
	case k < 8:
		for {
			if et := s.randType(depth + 1); et.Kind() != reflect.Pointer {
				return reflect.PointerTo(et)
			}
		}
	default:
		return reflect.SliceOf(s.randType(depth + 1))
	}
}

// randValue fills v with a random value, often a default, an edge or an
// empty one.
func (s *fuzzSrc) randValue(v reflect.Value) {
	edge := s.intn(4)
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(s.intn(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := int64(s.u64())
		switch edge {
		case 0:
			x = 0
		case 1:
			x = int64(s.intn(5)) - 2
		}
		v.SetInt(x) // truncated to the field's size
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x := s.u64()
		switch edge {
		case 0:
			x = 0
		case 1:
			x = uint64(s.intn(3))
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		specials := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1, -1.5,
			math.Float64frombits(0x7ff0000000000001), math.MaxFloat64, math.SmallestNonzeroFloat64}
		x := math.Float64frombits(s.u64())
		if edge < 2 {
			x = specials[s.intn(len(specials))]
		}
		if v.Kind() == reflect.Float32 {
			f := float32(x)
			if edge == 2 {
				f = math.Float32frombits(uint32(s.u64()))
			}
			v.SetFloat(float64(f))
			return
		}
		v.SetFloat(x)
	case reflect.String:
		v.SetString(string(s.randBytes()))
	case reflect.Pointer:
		if edge == 0 {
			v.SetZero()
			return
		}
		e := reflect.New(v.Type().Elem())
		s.randValue(e.Elem())
		v.Set(e)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := s.randBytes()
			if edge == 0 {
				b = nil
			}
			v.SetBytes(b)
			return
		}
		if edge == 0 {
			v.SetZero()
			return
		}
		n := s.intn(6)
		l := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			s.randValue(l.Index(i))
		}
		v.Set(l)
	default:
		panic(v.Type().String())
	}
}

func (s *fuzzSrc) randBytes() []byte {
	n := s.intn(12)
	if s.intn(8) == 0 {
		n = s.intn(300)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.intn(256))
		if s.intn(2) == 0 {
			b[i] = 'a' + byte(i%26)
		}
	}
	return b
}

// encodeRandom encodes rows of a random shape (up to 12 columns of random
// types) with the row writer and compares each with row.Encode.
func encodeRandom(t testing.TB, s *fuzzSrc, rows int) {
	n := s.intn(13)
	fields := make([]reflect.StructField, n)
	for i := range fields {
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: s.randType(0)}
	}
	st := reflect.StructOf(fields)
	p := manualPlan(t, st)
	for range rows {
		v := reflect.New(st).Elem()
		for i := 0; i < n; i++ {
			s.randValue(v.Field(i))
		}
		checkEncode(t, p, v)
	}
}

// FuzzEncodeMatchesRowBuild encodes random rows of random column types
// (scalars with their defaults and edges, NaN and -0 floats, empty and nil
// strings, bytes and lists, optionals, lists of lists) with the row writer
// and compares each with row.Encode.
func FuzzEncodeMatchesRowBuild(f *testing.F) {
	f.Add(uint64(0), []byte{})
	f.Add(uint64(1), []byte{3, 9, 9, 9, 9, 0, 0, 0, 0, 0})
	f.Add(uint64(2), []byte{12, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9})
	f.Add(uint64(3), bytes.Repeat([]byte{7}, 64))
	f.Add(uint64(4), []byte{1, 0, 13, 0, 0})
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		encodeRandom(t, &fuzzSrc{data: data, r: rand.New(rand.NewPCG(seed, uint64(len(data))))}, 3)
	})
}

// TestEncodeRandomShapes runs the fuzz body on many generated inputs (go
// test without -fuzz runs only the seed corpus).
// TestEncodeWithoutIndex runs the random shapes with the vtable index off,
// through the writer's fallback list (endTableMore), which real encodings
// never reach.
func TestEncodeWithoutIndex(t *testing.T) {
	wr.noIndex = true
	defer func() { wr.noIndex = false }()
	r := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		encodeRandom(t, &fuzzSrc{r: rand.New(rand.NewPCG(r.Uint64(), 0))}, 2)
	}
	p, err := planFor(reflect.TypeFor[allKinds]())
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		a := sample(r)
		if got, want := p.encode(unsafe.Pointer(&a)), row.MustEncode(values(a)...); !bytes.Equal(got, want) {
			t.Fatalf("%+v\n%s", a, bufDiff(got, want))
		}
	}
}

func TestEncodeRandomShapes(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range n {
		encodeRandom(t, &fuzzSrc{r: rand.New(rand.NewPCG(r.Uint64(), 0))}, 2)
	}
}
