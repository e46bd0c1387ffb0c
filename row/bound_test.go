package row

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

// dagRow builds a one-value Row whose list nests depth levels deep, each
// level a vector of n offsets to the same child: a buffer of about 4*n*depth
// bytes whose naive walk visits n^depth values.
func dagRow(depth, n int) ([]byte, Type) {
	b := flatbuffers.NewBuilder(0)
	fb.ValueStart(b)
	fb.ValueAddType(b, fb.ValueTypeI32)
	fb.ValueAddI(b, 1)
	cur := fb.ValueEnd(b)
	typ := Type{Kind: fb.ValueTypeI32}
	for d := 0; d < depth; d++ {
		fb.ValueStartListVector(b, n)
		for i := 0; i < n; i++ {
			b.PrependUOffsetT(cur)
		}
		vec := b.EndVector(n)
		fb.ValueStart(b)
		fb.ValueAddType(b, fb.ValueTypeList)
		fb.ValueAddList(b, vec)
		cur = fb.ValueEnd(b)
		elem := typ
		typ = Type{Kind: fb.ValueTypeList, Elem: &elem}
	}
	return finishRow(b, []flatbuffers.UOffsetT{cur}), typ
}

// sharedRow builds a Row of n values that are all the same Value table,
// of kind k, whose string or bytes child holds size bytes: a buffer of
// about size+4*n bytes whose naive walk reads n*size bytes.
func sharedRow(k fb.ValueType, n, size int) ([]byte, []Type) {
	b := flatbuffers.NewBuilder(0)
	child := b.CreateString(strings.Repeat("é", size/2))
	fb.ValueStart(b)
	fb.ValueAddType(b, k)
	if k == fb.ValueTypeString {
		fb.ValueAddS(b, child)
	} else {
		fb.ValueAddBytes(b, child)
	}
	v := fb.ValueEnd(b)
	offs := make([]flatbuffers.UOffsetT, n)
	types := make([]Type, n)
	for i := range offs {
		offs[i], types[i] = v, Type{Kind: k}
	}
	return finishRow(b, offs), types
}

func finishRow(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) []byte {
	fb.RowStartValuesVector(b, len(offs))
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	vec := b.EndVector(len(offs))
	fb.RowStart(b)
	fb.RowAddValues(b, vec)
	b.Finish(fb.RowEnd(b))
	return b.FinishedBytes()
}

// verifiers runs every verifying entry point of the package on buf.
var verifiers = []struct {
	name string
	run  func(buf []byte, types []Type) error
}{
	{"Check", Check},
	{"CheckKey", func(buf []byte, types []Type) error { _, err := CheckKey(nil, buf, types, 0); return err }},
	{"Decode", func(buf []byte, _ []Type) error { _, err := Decode(buf); return err }},
	{"Field", func(buf []byte, _ []Type) error { _, err := Field(buf, 0); return err }},
}

// checkBound is the time any verification of a buffer of at most 1 MiB
// may take: the budget allows milliseconds; the naive walks of the rows
// below take from seconds to years.
const checkBound = 2 * time.Second

// TestCheckOnSharedChildren: a row whose offsets share children (a DAG)
// is refused as malformed in time proportional to its size, by every
// verifier, instead of being walked once per path.
func TestCheckOnSharedChildren(t *testing.T) {
	dag3, dag3Type := dagRow(3, 800)
	dag16, dag16Type := dagRow(16, 16)
	str, strTypes := sharedRow(fb.ValueTypeString, 1<<17, 1<<19)
	byt, bytTypes := sharedRow(fb.ValueTypeBytes, 1<<17, 1<<19)
	tests := []struct {
		name  string
		buf   []byte
		types []Type
		skip  map[string]bool // verifiers for which the row costs nothing
	}{
		{name: "list of 800 offsets to one list, 3 deep (10 KB, 5e8 paths)", buf: dag3, types: []Type{dag3Type}},
		{name: "list of 16 offsets to one list, 16 deep (1 KB, 2^64 paths)", buf: dag16, types: []Type{dag16Type}},
		{name: "128K values sharing one 512 KiB string", buf: str, types: strTypes},
		// Check validates no bytes: only Decode copies them per path.
		{name: "128K values sharing one 512 KiB bytes", buf: byt, types: bytTypes, skip: map[string]bool{"Check": true, "CheckKey": true, "Field": true}},
	}
	for _, tc := range tests {
		for _, v := range verifiers {
			if tc.skip[v.name] {
				continue
			}
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				if v.name == "Field" && len(tc.types) > 1 {
					t.Skip("Field reads one value: no path is walked twice")
				}
				start := time.Now()
				err := v.run(tc.buf, tc.types)
				if d := time.Since(start); d > checkBound {
					t.Errorf("took %v for %d bytes (bound %v)", d, len(tc.buf), checkBound)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
			})
		}
	}
}

// maximalRows are 1 MiB rows shaped as builders write them (trees), each
// the worst case of one cost: list elements, UTF-8 bytes, nesting.
func maximalRows(tb testing.TB) []struct {
	name  string
	buf   []byte
	types []Type
} {
	const size = 1 << 20
	i32 := Type{Kind: fb.ValueTypeI32, Optional: true}
	nulls := make([]any, size/12) // a null Value is a 4-byte table + a 4-byte offset + vtable share
	list := Type{Kind: fb.ValueTypeList, Elem: &i32}
	// Binary trees of lists 10 deep under 6 levels of one-element lists
	// (MaxDepth in all), as many as fit in size (Encode writes every
	// subtree of its own: the row is a tree).
	deep := any(nil)
	deepType := i32
	for d := 0; d < MaxDepth; d++ {
		if d < 10 {
			deep = []any{deep, deep}
		} else {
			deep = []any{deep}
		}
		e := deepType
		deepType = Type{Kind: fb.ValueTypeList, Elem: &e}
	}
	deepVals := []any{deep}
	deepTypes := []Type{deepType}
	for len(MustEncode(append(deepVals, deep)...)) <= size {
		deepVals, deepTypes = append(deepVals, deep), append(deepTypes, deepType)
	}
	rows := []struct {
		name  string
		buf   []byte
		types []Type
	}{
		{"list of nulls", MustEncode(nulls), []Type{list}},
		{"one non-ASCII string", MustEncode(strings.Repeat("é", size/2-64)), []Type{{Kind: fb.ValueTypeString}}},
		{"binary trees 16 deep", MustEncode(deepVals...), deepTypes},
	}
	for _, r := range rows {
		if len(r.buf) > size {
			tb.Fatalf("%s: %d bytes, more than %d", r.name, len(r.buf), size)
		}
	}
	return rows
}

// TestCheckAcceptsMaximalTreeRows: the work bound refuses no row as
// builders write it, up to the 1 MiB row size limit.
func TestCheckAcceptsMaximalTreeRows(t *testing.T) {
	for _, r := range maximalRows(t) {
		for _, v := range verifiers {
			t.Run(r.name+"/"+v.name, func(t *testing.T) {
				if err := v.run(r.buf, r.types); err != nil {
					t.Fatalf("%d bytes: %v", len(r.buf), err)
				}
			})
		}
	}
}

// TestCheckAcceptsSharedChildrenWithinBudget: a builder that shares a
// string (CreateSharedString) a few times is within the budget.
func TestCheckAcceptsSharedChildrenWithinBudget(t *testing.T) {
	buf, types := sharedRow(fb.ValueTypeString, 3, 4096)
	for _, v := range verifiers {
		if err := v.run(buf, types); err != nil {
			t.Errorf("%s: %v", v.name, err)
		}
	}
}

// BenchmarkCheckMaximalRow is the time to check a maximal (1 MiB) row of
// each shape, the figure in core/RATIONALE.md "Implementation limits".
func BenchmarkCheckMaximalRow(b *testing.B) {
	for _, r := range maximalRows(b) {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(len(r.buf)))
			for b.Loop() {
				if err := Check(r.buf, r.types); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	dag, typ := dagRow(3, 1<<18/3)
	b.Run("refused DAG", func(b *testing.B) {
		b.SetBytes(int64(len(dag)))
		for b.Loop() {
			if err := Check(dag, []Type{typ}); err == nil {
				b.Fatal("DAG accepted")
			}
		}
	})
}

// FuzzCheckBounded builds DAG-shaped rows (depth levels of n offsets to
// one child) and shifts one of their words by delta, then runs every
// verifier under a time bound: none may take longer than checkBound,
// whatever the sharing or the shifted offsets.
func FuzzCheckBounded(f *testing.F) {
	f.Add(uint8(3), uint16(800), uint16(0), int32(0))
	f.Add(uint8(16), uint16(16), uint16(0), int32(0))
	f.Add(uint8(4), uint16(100), uint16(40), int32(-4))
	f.Add(uint8(2), uint16(1000), uint16(12), int32(8))
	f.Add(uint8(8), uint16(30), uint16(100), int32(4))
	f.Add(uint8(1), uint16(3), uint16(4), int32(-8))
	f.Fuzz(func(t *testing.T, depth uint8, n uint16, pos uint16, delta int32) {
		d := int(depth%(MaxDepth+2)) + 1
		k := int(n)%4096 + 1
		buf, typ := dagRow(d, k)
		if p := int(pos) &^ 3; delta != 0 && p+4 <= len(buf) {
			binary.LittleEndian.PutUint32(buf[p:], binary.LittleEndian.Uint32(buf[p:])+uint32(delta))
		}
		types := []Type{typ}
		for _, v := range verifiers {
			start := time.Now()
			_ = v.run(buf, types)
			if el := time.Since(start); el > checkBound {
				t.Fatalf("%s took %v on %d bytes (depth %d, %d offsets per level)", v.name, el, len(buf), d, k)
			}
		}
	})
}
