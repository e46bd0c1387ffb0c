package row

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
)

func mustType(t *testing.T, s string) Type {
	t.Helper()
	ty, err := ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return ty
}

func TestRoundTripEveryType(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		v    any
	}{
		{"bool", "bool", true},
		{"u32 max", "u32", uint32(math.MaxUint32)},
		{"u64 max", "u64", uint64(math.MaxUint64)},
		{"i32 min", "i32", int32(math.MinInt32)},
		{"i64 min", "i64", int64(math.MinInt64)},
		{"f32", "f32", float32(1.5)},
		{"f64", "f64", math.Pi},
		{"string", "string", "héllo"},
		{"empty string", "string", ""},
		{"bytes", "bytes", []byte{0, 1, 255}},
		{"null optional", "u64?", nil},
		{"list", "list<i32>", []any{int32(1), int32(-2)}},
		{"nested list", "list<list<string?>>", []any{[]any{"a", nil}, []any{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := mustType(t, tc.typ)
			buf, err := Encode([]any{tc.v})
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(buf, []Type{typ}); err != nil {
				t.Fatalf("Check: %v", err)
			}
			got, err := Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.v
			if b, ok := want.([]byte); ok && len(b) == 0 {
				want = []byte{}
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Fatalf("got %#v want %#v", got[0], want)
			}
			js := AppendJSON(nil, got[0])
			back, err := ParseJSON(append(append([]byte("["), js...), ']'), nil, []Type{typ})
			if err != nil {
				t.Fatalf("ParseJSON(%s): %v", js, err)
			}
			if !reflect.DeepEqual(back[0], want) {
				t.Fatalf("json round trip %s: got %#v want %#v", js, back[0], want)
			}
		})
	}
}

func TestCheckRejectsWrongTypes(t *testing.T) {
	tests := []struct {
		name  string
		types []string
		vals  []any
	}{
		{"wrong kind", []string{"u64"}, []any{int64(1)}},
		{"null for required", []string{"string"}, []any{nil}},
		{"too few", []string{"u64", "u64"}, []any{uint64(1)}},
		{"too many", []string{"u64"}, []any{uint64(1), uint64(2)}},
		{"list element", []string{"list<u32>"}, []any{[]any{"x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			types := make([]Type, len(tc.types))
			for i, s := range tc.types {
				types[i] = mustType(t, s)
			}
			buf := MustEncode(tc.vals...)
			if err := Check(buf, types); !errors.Is(err, ErrType) {
				t.Fatalf("Check = %v, want ErrType", err)
			}
		})
	}
}

func TestDecodeNeverPanicsOnGarbage(t *testing.T) {
	good := MustEncode(uint64(7), "name", []any{int32(1), nil}, []byte("xyz"))
	rng := rand.New(rand.NewSource(1))
	types := []Type{mustType(t, "u64"), mustType(t, "string"), mustType(t, "list<i32?>"), mustType(t, "bytes")}
	for i := 0; i < 20000; i++ {
		b := append([]byte{}, good...)
		switch i % 3 {
		case 0:
			b[rng.Intn(len(b))] ^= byte(1 << rng.Intn(8))
		case 1:
			b = b[:rng.Intn(len(b))]
		default:
			rng.Read(b)
		}
		_, _ = Decode(b)
		_ = Check(b, types)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(MustEncode(uint64(1), "a", []any{[]any{true}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := Decode(b)
		if err != nil {
			return
		}
		re, err := Encode(vals)
		if err != nil {
			t.Fatalf("decoded values do not re-encode: %v", err)
		}
		again, err := Decode(re)
		if err != nil || len(again) != len(vals) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestKeyPreservesOrder(t *testing.T) {
	tests := []struct {
		name string
		vals []any
	}{
		{"i64", []any{int64(math.MinInt64), int64(-1), int64(0), int64(1), int64(math.MaxInt64)}},
		{"i32", []any{int32(math.MinInt32), int32(-5), int32(0), int32(7)}},
		{"u64", []any{uint64(0), uint64(255), uint64(256), uint64(math.MaxUint64)}},
		{"string", []any{"", "a", "ab", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([]string, len(tc.vals))
			for i, v := range tc.vals {
				k, err := Key(v)
				if err != nil {
					t.Fatal(err)
				}
				keys[i] = k
			}
			if !sort.StringsAreSorted(keys) {
				t.Fatalf("keys out of order: %q", keys)
			}
		})
	}
	if _, err := Key(1.5); err == nil {
		t.Fatal("float accepted as key")
	}
}

func TestParseJSONObjectAndErrors(t *testing.T) {
	names := []string{"id", "name", "tags"}
	types := []Type{mustType(t, "u64"), mustType(t, "string?"), mustType(t, "list<string>")}
	got, err := ParseJSON([]byte(`{"id": 18446744073709551615, "tags": ["x"]}`), names, types)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{uint64(math.MaxUint64), nil, []any{"x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for _, bad := range []string{`{"id": -1, "tags": []}`, `{"id": 1.5, "tags": []}`, `{"id": 1, "tags": [], "zzz": 1}`, `[1]`, `nope`, `{"tags": []}`} {
		if _, err := ParseJSON([]byte(bad), names, types); !errors.Is(err, ErrType) {
			t.Errorf("ParseJSON(%s) = %v, want ErrType", bad, err)
		}
	}
	obj := AppendJSONObject(nil, names, want)
	if !bytes.Equal(obj, []byte(`{"id":18446744073709551615,"name":null,"tags":["x"]}`)) {
		t.Fatalf("AppendJSONObject = %s", obj)
	}
}

func TestTypeStringParse(t *testing.T) {
	for _, s := range []string{"bool", "u32", "u64?", "list<i64>", "list<list<bytes?>>?", "f32", "string"} {
		ty, err := ParseType(s)
		if err != nil || ty.String() != s || ty.Valid() != nil {
			t.Errorf("ParseType(%q) = %v, %v", s, ty, err)
		}
	}
	if (Type{Kind: fb.ValueTypeNull}).Valid() == nil {
		t.Error("null type accepted as column type")
	}
}

func TestCheckAllocatesNothingForScalars(t *testing.T) {
	types := []Type{mustType(t, "u64"), mustType(t, "i64"), mustType(t, "f64"), mustType(t, "bool"), mustType(t, "u32")}
	buf := MustEncode(uint64(1<<40), int64(-1<<40), 2.5, true, uint32(7))
	if n := testing.AllocsPerRun(100, func() {
		if err := Check(buf, types); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Check allocates %v times per row", n)
	}
}

func TestCheckRangeErrors(t *testing.T) {
	// A u32 column holding a value above 2^32 can only come from a forged
	// buffer: build one by encoding a u64 and relabelling its type.
	buf := MustEncode(uint64(1 << 33))
	r, _ := open(buf)
	v, _ := r.vectorTable(r.root, slotValues, 0)
	p, _ := r.field(v, slotType, 1)
	buf[p] = byte(fb.ValueTypeU32)
	if err := Check(buf, []Type{mustType(t, "u32")}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Check = %v, want ErrMalformed", err)
	}
}

func TestCheckKeyMatchesCheckAndKey(t *testing.T) {
	tests := []struct {
		name  string
		types []string
		vals  []any
		pk    int
	}{
		{"u64 key", []string{"u64", "string", "i64"}, []any{uint64(1 << 40), "x", int64(-3)}, 0},
		{"string key last", []string{"list<u32>", "f64", "string"}, []any{[]any{uint32(1)}, 2.5, "héllo"}, 2},
		{"i32 key", []string{"i32", "bytes?"}, []any{int32(-7), nil}, 0},
		{"bool key", []string{"bool"}, []any{true}, 0},
		{"bytes key", []string{"bytes", "u32"}, []any{[]byte{0, 1}, uint32(9)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			types := make([]Type, len(tc.types))
			for i, s := range tc.types {
				types[i] = mustType(t, s)
			}
			buf := MustEncode(tc.vals...)
			got, err := CheckKey([]byte("prefix"), buf, types, tc.pk)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Key(tc.vals[tc.pk])
			if string(got) != "prefix"+want {
				t.Fatalf("CheckKey = %q, want %q", got, "prefix"+want)
			}
			// Every corruption Check rejects, CheckKey rejects too.
			rng := rand.New(rand.NewSource(int64(len(buf))))
			for i := 0; i < 2000; i++ {
				b := append([]byte{}, buf...)
				b[rng.Intn(len(b))] ^= byte(1 << rng.Intn(8))
				_, e1 := CheckKey(nil, b, types, tc.pk)
				e2 := Check(b, types)
				if (e1 == nil) != (e2 == nil) {
					t.Fatalf("CheckKey error %v, Check error %v", e1, e2)
				}
			}
		})
	}
}

// FuzzCheckKey: CheckKey's one-pass check (checkKeyValue) accepts exactly
// what Check accepts, with the same error, and returns the Key of the
// primary-key value.
func FuzzCheckKey(f *testing.F) {
	schemas := [][]string{
		{"u64", "string", "i64"},
		{"string", "bytes?", "list<u32>"},
		{"i32", "bool", "f32", "f64"},
		{"bytes", "u32?", "list<list<string>>"},
		{"bool", "i64?", "string?"},
	}
	f.Add(MustEncode(uint64(1), "a", int64(-2)), uint8(0))
	f.Add(MustEncode("k", nil, []any{uint32(3)}), uint8(1))
	f.Add(MustEncode(int32(-7), true, float32(1.5), 2.25), uint8(2))
	f.Add(MustEncode([]byte{1, 2}, uint32(5), []any{[]any{"x"}}), uint8(3))
	f.Add(MustEncode(false, nil, "s"), uint8(4))
	f.Fuzz(func(t *testing.T, buf []byte, sel uint8) {
		names := schemas[int(sel)%len(schemas)]
		types := make([]Type, len(names))
		for i, s := range names {
			types[i] = mustType(t, s)
		}
		key, err := CheckKey([]byte("p"), buf, types, 0)
		cerr := Check(buf, types)
		if (err == nil) != (cerr == nil) || (err != nil && err.Error() != cerr.Error()) {
			t.Fatalf("CheckKey error %v, Check error %v", err, cerr)
		}
		if err != nil {
			if string(key) != "p" {
				t.Fatalf("CheckKey changed dst on error: %q", key)
			}
			return
		}
		v, ferr := Field(buf, 0)
		if ferr != nil {
			t.Fatalf("Check accepted a row whose value 0 does not decode: %v", ferr)
		}
		want := ""
		if v != nil {
			want, _ = Key(v)
		}
		if string(key) != "p"+want {
			t.Fatalf("CheckKey key %q, want %q", key, "p"+want)
		}
	})
}

// BenchmarkCheckKey is the per-row check of replay and of every row write:
// a u64 key, a string and an i64.
func BenchmarkCheckKey(b *testing.B) {
	types := []Type{{Kind: fb.ValueTypeU64}, {Kind: fb.ValueTypeString}, {Kind: fb.ValueTypeI64}}
	buf := MustEncode(uint64(1<<40), "player", int64(-3))
	var key []byte
	b.ReportAllocs()
	for b.Loop() {
		k, err := CheckKey(key[:0], buf, types, 0)
		if err != nil {
			b.Fatal(err)
		}
		key = k
	}
}
