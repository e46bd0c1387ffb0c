package row

import (
	"strings"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
)

// BenchmarkCheck is Check on a row with a list column (the general path
// that lists take, in Check and CheckKey alike).
func BenchmarkCheck(b *testing.B) {
	types := []Type{{Kind: fb.ValueTypeU64}, {Kind: fb.ValueTypeString}, {Kind: fb.ValueTypeList, Elem: &Type{Kind: fb.ValueTypeI32}}}
	buf := MustEncode(uint64(1), "player", []any{int32(1), int32(2), int32(3), int32(4)})
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(buf, types); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckKeyLongString is CheckKey on a row whose string column
// holds 1 KiB (the UTF-8 scan dominates).
func BenchmarkCheckKeyLongString(b *testing.B) {
	types := []Type{{Kind: fb.ValueTypeU64}, {Kind: fb.ValueTypeString}}
	buf := MustEncode(uint64(1), strings.Repeat("x", 1024))
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
