package store

import (
	"testing"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
)

// TestTxOverlay: a transaction sees its own writes over the committed
// rows (insert, update, delete, counts, ordered seeks that skip its
// deletes), the committed tree sees none of them until Apply, and Reset
// drops them with the mutations.
func TestTxOverlay(t *testing.T) {
	tbl := &Table{ID: 3, Tree: NewTree()}
	for _, k := range []string{"b", "d", "f"} {
		tbl.Tree.ReplaceOrInsert(NewEntry([]byte(k), []byte("old-"+k)))
	}
	x := NewTx()
	if x.Touched() || x.Count(tbl) != 3 {
		t.Fatalf("fresh tx: touched %v count %d", x.Touched(), x.Count(tbl))
	}
	x.Put(tbl, NewEntry([]byte("c"), []byte("new-c")), 1, record.Mutation{Op: fb.OpInsert})
	x.Put(tbl, NewEntry([]byte("d"), []byte("new-d")), 0, record.Mutation{Op: fb.OpUpdate})
	x.Put(tbl, Entry{Key: "b"}, -1, record.Mutation{Op: fb.OpDelete})
	if row, ok := x.Get(tbl, "d"); !ok || string(row) != "new-d" {
		t.Fatalf("Get d: %q %v", row, ok)
	}
	if _, ok := x.Get(tbl, "b"); ok {
		t.Fatal("a deleted row is visible to its transaction")
	}
	if x.Count(tbl) != 3 || tbl.Tree.Len() != 3 || len(x.Muts) != 3 || !x.Touched() {
		t.Fatalf("count %d committed %d muts %d", x.Count(tbl), tbl.Tree.Len(), len(x.Muts))
	}
	var seen []string
	for e, ok := x.Seek(tbl, "", false); ok; e, ok = x.Seek(tbl, e.Key, true) {
		seen = append(seen, e.Key+"="+string(e.Row))
	}
	if got := join(seen); got != "c=new-c d=new-d f=old-f" {
		t.Fatalf("seek order: %s", got)
	}
	if e, ok := tbl.Tree.Get(Entry{Key: "d"}); !ok || string(e.Row) != "old-d" {
		t.Fatalf("committed d before Apply: %q", e.Row)
	}
	x.Apply()
	x.Reset()
	if x.Touched() || len(x.Muts) != 0 {
		t.Fatal("Reset kept writes")
	}
	var committed []string
	tbl.Tree.Ascend(func(e Entry) bool { committed = append(committed, e.Key+"="+string(e.Row)); return true })
	if got := join(committed); got != "c=new-c d=new-d f=old-f" {
		t.Fatalf("after Apply: %s", got)
	}
	// A rolled-back transaction leaves nothing behind, and its overlay is reused.
	x.Put(tbl, NewEntry([]byte("z"), []byte("z")), 1, record.Mutation{})
	x.Reset()
	if _, ok := x.Get(tbl, "z"); ok || x.Count(tbl) != 3 {
		t.Fatal("a reset write is visible")
	}
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}
