package core

import (
	"unsafe"

	"github.com/google/btree"

	"github.com/interstice/interstice/row"
)

// entry is one row in a table's primary-key index. key is row.Key of the
// primary-key value; it shares one allocation with row (see newEntry). In a
// transaction overlay a nil row marks a deleted key.
type entry struct {
	key string
	row []byte
}

func lessEntry(a, b entry) bool { return a.key < b.key }

// btreeDegree gives nodes of up to 63 entries (2.5 KiB): shallow trees and
// cache-friendly binary search.
const btreeDegree = 32

// table is one declared table: its schema, its committed rows and its
// subscribers.
type table struct {
	id      int // index in Runtime.tables and tx.overlays
	mod     *module
	name    string
	info    *TableInfo
	types   []row.Type
	names   []string
	pk      int
	pkType  row.Type
	public  bool
	pkField string

	// tree holds the committed rows. It is written only by the goroutine
	// that holds Runtime.execMu, and then only while it also holds
	// Runtime.stateMu for writing (commit apply); host readers hold
	// stateMu for reading, the executor reads it without stateMu.
	tree *btree.BTreeG[entry]

	subs  [3][]*reducer // guest subscribers by Op, in load then declaration order
	hooks hookList      // host callbacks
}

// newEntry copies buf (a verified row) and its key into one allocation.
func newEntry(key []byte, buf []byte) entry {
	n := len(buf)
	b := make([]byte, n+len(key))
	copy(b, buf)
	copy(b[n:], key)
	e := entry{row: b[:n:n]}
	if len(key) > 0 {
		e.key = unsafe.String(&b[n], len(key))
	}
	return e
}

// ownedKey copies a scratch key into its own allocation.
func ownedKey(key []byte) string { return string(key) }

// viewKey returns a string viewing key without copying, for lookups only.
func viewKey(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	return unsafe.String(&key[0], len(key))
}

// overlay is a transaction's pending writes to one table, in key order.
type overlay struct {
	t     *table
	tree  *btree.BTreeG[entry]
	delta int // row count change
}

// tx is the one transaction in flight (execution is serialized, so the
// Runtime reuses a single tx and its overlays).
type tx struct {
	lsn, ts  uint64
	overlays []*overlay // by table id; nil when untouched
	touched  []*overlay
	free     []*overlay
	muts     []mutation
	doomed   error // set when a nested call failed: the whole transaction rolls back
	freelist *btree.FreeListG[entry]
}

func newTx() *tx {
	return &tx{freelist: btree.NewFreeListG[entry](1024)}
}

func (x *tx) overlay(t *table) *overlay {
	if t.id < len(x.overlays) {
		if ov := x.overlays[t.id]; ov != nil {
			return ov
		}
	} else {
		x.overlays = append(x.overlays, make([]*overlay, t.id+1-len(x.overlays))...)
	}
	var ov *overlay
	if n := len(x.free); n > 0 {
		ov = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		ov = &overlay{tree: btree.NewWithFreeListG[entry](btreeDegree, lessEntry, x.freelist)}
	}
	ov.t = t
	x.overlays[t.id] = ov
	x.touched = append(x.touched, ov)
	return ov
}

func (x *tx) peek(t *table) *overlay {
	if t.id < len(x.overlays) {
		return x.overlays[t.id]
	}
	return nil
}

// get returns the row with key as the transaction sees it.
func (x *tx) get(t *table, key string) ([]byte, bool) {
	if ov := x.peek(t); ov != nil {
		if e, ok := ov.tree.Get(entry{key: key}); ok {
			return e.row, e.row != nil
		}
	}
	e, ok := t.tree.Get(entry{key: key})
	return e.row, ok
}

func (x *tx) count(t *table) int {
	n := t.tree.Len()
	if ov := x.peek(t); ov != nil {
		n += ov.delta
	}
	return n
}

func (x *tx) put(t *table, e entry, delta int, m mutation) {
	ov := x.overlay(t)
	ov.tree.ReplaceOrInsert(e)
	ov.delta += delta
	x.muts = append(x.muts, m)
}

// seek returns the first visible entry with a key greater than after (or
// the first one when !started), merging the committed rows and the overlay.
func (x *tx) seek(t *table, after string, started bool) (entry, bool) {
	var best entry
	found := false
	ov := x.peek(t)
	pivot := entry{key: after}
	t.tree.AscendGreaterOrEqual(pivot, func(e entry) bool {
		if started && e.key == after {
			return true
		}
		if ov != nil {
			if o, ok := ov.tree.Get(e); ok && o.row == nil {
				return true // deleted in this transaction
			}
		}
		best, found = e, true
		return false
	})
	if ov != nil {
		ov.tree.AscendGreaterOrEqual(pivot, func(e entry) bool {
			if (started && e.key == after) || e.row == nil {
				return true
			}
			if !found || e.key <= best.key {
				best, found = e, true
			}
			return false
		})
	}
	return best, found
}

// apply writes the overlays into the committed trees. The caller holds
// Runtime.stateMu for writing.
func (x *tx) apply() {
	for _, ov := range x.touched {
		t := ov.t
		ov.tree.Ascend(func(e entry) bool {
			if e.row == nil {
				t.tree.Delete(e)
			} else {
				t.tree.ReplaceOrInsert(e)
			}
			return true
		})
	}
}

// reset drops the pending writes (after a commit or a rollback).
func (x *tx) reset() {
	for _, ov := range x.touched {
		x.overlays[ov.t.id] = nil
		ov.tree.Clear(true)
		ov.delta = 0
		ov.t = nil
		x.free = append(x.free, ov)
	}
	x.touched = x.touched[:0]
	clear(x.muts)
	x.muts = x.muts[:0]
	x.doomed = nil
}
