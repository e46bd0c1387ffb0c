package recovery

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// TestSortStaged checks the prefix sort against a stable sort by key, with
// keys sharing prefixes, shorter than 8 bytes and repeated.
func TestSortStaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"", "a", "ab", "abcdefgh", "abcdefghi", "abcdefgh\x00", "\x00", "\xff\xff", "zz"}
	for round := 0; round < 50; round++ {
		n := rng.IntN(300)
		ops := make([]stagedOp, n)
		for i := range ops {
			k := alphabet[rng.IntN(len(alphabet))] + alphabet[rng.IntN(len(alphabet))]
			ops[i] = newStagedOp(entry{Key: k}, uint64(i/3), uint32(i%3), fb.OpInsert)
		}
		want := slices.Clone(ops)
		slices.SortStableFunc(want, func(a, b stagedOp) int { return strings.Compare(a.e.Key, b.e.Key) })
		sortStaged(ops)
		for i := range ops {
			if ops[i].e.Key != want[i].e.Key || ops[i].lsn != want[i].lsn || ops[i].idx != want[i].idx {
				t.Fatalf("round %d: position %d holds %q (%d,%d), want %q (%d,%d)", round, i,
					ops[i].e.Key, ops[i].lsn, ops[i].idx, want[i].e.Key, want[i].lsn, want[i].idx)
			}
		}
	}
}

// TestApplier: rows sent through the stager land in the table's tree at
// Finish (appended inserts, then updates and deletes merged by key); a
// mutation that does not apply is the fault, the first in log order,
// naming its LSN, table and key column; a row that does not match the
// schema is one too.
func TestApplier(t *testing.T) {
	types := []row.Type{{Kind: fb.ValueTypeU64}, {Kind: fb.ValueTypeString}}
	newTable := func() *Table {
		return &Table{Table: &store.Table{Tree: store.NewTree()}, Module: "m", Name: "t", Version: "1", Types: types, Names: []string{"id", "name"}, PKField: "id"}
	}
	tb := newTable()
	a := NewApplier()
	s := a.Stage(tb)
	for i := uint64(1); i <= 100; i++ {
		if err := a.Send(s, fb.OpInsert, i, 0, row.MustEncode(i, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Send(s, fb.OpUpdate, 101, 0, row.MustEncode(uint64(7), "seven")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(s, fb.OpDelete, 102, 0, row.MustEncode(uint64(8), "x")); err != nil {
		t.Fatal(err)
	}
	if err := a.Finish(true); err != nil {
		t.Fatal(err)
	}
	if n := tb.Tree.Len(); n != 99 {
		t.Fatalf("%d rows, want 99", n)
	}
	key, _ := row.CheckKey(nil, row.MustEncode(uint64(7), ""), types, 0)
	if e, ok := tb.Tree.Get(store.Entry{Key: string(key)}); !ok || string(e.Row) != string(row.MustEncode(uint64(7), "seven")) {
		t.Fatalf("row 7 not updated: %v", ok)
	}

	// Faults: the first in log order wins, whichever table it is in.
	t1, t2 := newTable(), newTable()
	t2.Name = "u"
	a = NewApplier()
	s1, s2 := a.Stage(t1), a.Stage(t2)
	a.Send(s1, fb.OpInsert, 1, 0, row.MustEncode(uint64(1), "a"))
	a.Send(s2, fb.OpUpdate, 2, 3, row.MustEncode(uint64(9), "b")) // no row 9 in u
	a.Send(s1, fb.OpInsert, 3, 0, row.MustEncode(uint64(1), "again"))
	err := a.Finish(true)
	var f *Fault
	if !errors.As(err, &f) || f.LSN != 2 || f.Idx != 3 || f.Table != "u" || f.Column != "id" || !strings.Contains(f.Msg, "update of a key that does not exist") {
		t.Fatalf("fault %+v (%v)", f, err)
	}
	a = NewApplier()
	a.Send(a.Stage(newTable()), fb.OpInsert, 5, 1, row.MustEncode("not a u64", "x"))
	err = a.Finish(true)
	if !errors.As(err, &f) || f.LSN != 5 || f.Column != "id" || !strings.Contains(f.Msg, "does not match schema version 1") {
		t.Fatalf("schema fault %+v (%v)", f, err)
	}
}
