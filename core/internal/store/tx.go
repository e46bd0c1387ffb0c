package store

import (
	"github.com/google/btree"

	"github.com/interstice/interstice/internal/record"
)

// overlay is a transaction's pending writes to one table, in key order.
type overlay struct {
	t     *Table
	tree  *Tree
	delta int // row count change
}

// Tx is the one transaction in flight: its writes to each table, kept
// apart from the committed rows until Apply, and the mutations they make
// (execution is serialized, so the runtime reuses a single Tx and its
// overlays).
type Tx struct {
	// Muts are the transaction's mutations in execution order, what its
	// log record will hold. Reset clears them.
	Muts     []record.Mutation
	overlays []*overlay // by table id; nil when untouched
	touched  []*overlay
	free     []*overlay
	freelist *btree.FreeListG[Entry]
}

// NewTx returns an empty transaction.
func NewTx() *Tx {
	return &Tx{freelist: btree.NewFreeListG[Entry](1024)}
}

// Touched reports whether the transaction wrote any table.
func (x *Tx) Touched() bool { return len(x.touched) > 0 }

func (x *Tx) overlay(t *Table) *overlay {
	if t.ID < len(x.overlays) {
		if ov := x.overlays[t.ID]; ov != nil {
			return ov
		}
	} else {
		x.overlays = append(x.overlays, make([]*overlay, t.ID+1-len(x.overlays))...)
	}
	var ov *overlay
	if n := len(x.free); n > 0 {
		ov = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		ov = &overlay{tree: btree.NewWithFreeListG[Entry](Degree, lessEntry, x.freelist)}
	}
	ov.t = t
	x.overlays[t.ID] = ov
	x.touched = append(x.touched, ov)
	return ov
}

func (x *Tx) peek(t *Table) *overlay {
	if t.ID < len(x.overlays) {
		return x.overlays[t.ID]
	}
	return nil
}

// Get returns the row of t with key as the transaction sees it.
func (x *Tx) Get(t *Table, key string) ([]byte, bool) {
	if ov := x.peek(t); ov != nil {
		if e, ok := ov.tree.Get(Entry{Key: key}); ok {
			return e.Row, e.Row != nil
		}
	}
	e, ok := t.Tree.Get(Entry{Key: key})
	return e.Row, ok
}

// Count returns t's number of rows as the transaction sees it.
func (x *Tx) Count(t *Table) int {
	n := t.Tree.Len()
	if ov := x.peek(t); ov != nil {
		n += ov.delta
	}
	return n
}

// Put writes e into t (a nil e.Row deletes e.Key), changing t's row
// count by delta, and records mutation m.
func (x *Tx) Put(t *Table, e Entry, delta int, m record.Mutation) {
	ov := x.overlay(t)
	ov.tree.ReplaceOrInsert(e)
	ov.delta += delta
	x.Muts = append(x.Muts, m)
}

// Seek returns the first visible entry of t with a key greater than after
// (or the first one when !started), merging the committed rows and the
// overlay.
func (x *Tx) Seek(t *Table, after string, started bool) (Entry, bool) {
	var best Entry
	found := false
	ov := x.peek(t)
	pivot := Entry{Key: after}
	t.Tree.AscendGreaterOrEqual(pivot, func(e Entry) bool {
		if started && e.Key == after {
			return true
		}
		if ov != nil {
			if o, ok := ov.tree.Get(e); ok && o.Row == nil {
				return true // deleted in this transaction
			}
		}
		best, found = e, true
		return false
	})
	if ov != nil {
		ov.tree.AscendGreaterOrEqual(pivot, func(e Entry) bool {
			if (started && e.Key == after) || e.Row == nil {
				return true
			}
			if !found || e.Key <= best.Key {
				best, found = e, true
			}
			return false
		})
	}
	return best, found
}

// Apply writes the overlays into the committed trees. The caller keeps
// readers out (the runtime's state lock, for writing).
func (x *Tx) Apply() {
	for _, ov := range x.touched {
		t := ov.t
		ov.tree.Ascend(func(e Entry) bool {
			if e.Row == nil {
				t.Tree.Delete(e)
			} else {
				t.Tree.ReplaceOrInsert(e)
			}
			return true
		})
	}
}

// Reset drops the pending writes and mutations (after a commit or a
// rollback).
func (x *Tx) Reset() {
	for _, ov := range x.touched {
		x.overlays[ov.t.ID] = nil
		ov.tree.Clear(true)
		ov.delta = 0
		ov.t = nil
		x.free = append(x.free, ov)
	}
	x.touched = x.touched[:0]
	clear(x.Muts)
	x.Muts = x.Muts[:0]
}
