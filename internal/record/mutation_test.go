package record

import (
	"bytes"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
)

// TestMutationFieldsMatchGeneratedAccessors: replay's field reader returns
// what the generated accessors return, for present, empty and absent
// fields, in records whose mutations share or do not share a vtable.
func TestMutationFieldsMatchGeneratedAccessors(t *testing.T) {
	txs := []*Txn{
		testTxn(1), testTxn(36),
		{Mutations: []Mutation{{}, {Op: fb.OpDelete, OldRow: []byte{9}}, {Row: []byte{}, OldRow: []byte{}}, {Op: fb.OpUpdate, Module: "m", Table: "t", Row: []byte{1}, OldRow: []byte{2, 3}}}},
	}
	b := flatbuffers.NewBuilder(0)
	for i, tx := range txs {
		p := Encode(b, tx)
		if err := Verify(p); err != nil {
			t.Fatal(err)
		}
		v := View(p)
		var m fb.Mutation
		for j := 0; j < v.MutationsLength(); j++ {
			if !v.Mutations(&m, j) {
				t.Fatalf("tx %d mutation %d unreadable", i, j)
			}
			f := MutationFields(&m)
			same := func(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }
			if f.Op() != m.Op() || !same(f.Module(), m.Module()) || !same(f.Table(), m.TableName()) ||
				!same(f.Row(), m.RowBytes()) || !same(f.OldRow(), m.OldRowBytes()) {
				t.Fatalf("tx %d mutation %d: fields %v %q %q %v %v, accessors %v %q %q %v %v", i, j,
					f.Op(), f.Module(), f.Table(), f.Row(), f.OldRow(), m.Op(), m.Module(), m.TableName(), m.RowBytes(), m.OldRowBytes())
			}
			want := tx.Mutations[j]
			if !bytes.Equal(f.Row(), want.Row) || (f.Row() == nil) != (want.Row == nil) || string(f.Table()) != want.Table {
				t.Fatalf("tx %d mutation %d: %q %v, encoded %+v", i, j, f.Table(), f.Row(), want)
			}
		}
	}
}
