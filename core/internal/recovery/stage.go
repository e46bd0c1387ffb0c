// Package recovery applies logged mutations to the store without running
// WASM: the replay half of a runtime's open (the runtime reads the log,
// follows module loads and finds each mutation's table; this package
// checks, stages and applies the rows) and the parallel row check of a
// snapshot's load. It imports store, row and record (for a snapshot's
// tables), nothing of WASM or the log; its faults (Fault) name the LSN,
// table and column, and core turns them into its errors.
package recovery

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// An Applier applies a table's mutations in batches instead of one B-tree
// operation each. Nothing reads the tables while Open replays, so the
// replayer checks every mutation against the schema in force at its LSN,
// copies its row out of the mapped log, and stages it per table:
//
//   - inserts of ascending keys above every key present (an auto-increment
//     key, a snapshot's rows, a new table filling up) cannot fail; while a
//     stage holds nothing else they are appended to the tree's right edge
//     directly (store.Appender), with no key comparison;
//   - anything else is kept, in log order, until the table is flushed: when
//     the replay ends, or before a ModuleLoad record of its module (an
//     upgrade reads and rewrites the rows). A flush sorts the mutations by
//     key (log order among equal keys; usually they are sorted already),
//     replays each key's sequence against the row present before it, and
//     then rebuilds the tree by bulk-loading the merged rows or, when the
//     changes are few against a large tree (a short log after a
//     snapshot), applies them in place.
//
// The result is the state that applying the mutations one by one gives,
// and so are the errors: a mutation that does not apply (an insert of a
// key present, an update or a delete of a key absent) fails the replay
// naming its LSN. Such a fault is found only at the flush, so when the
// replay stops (at a fault, a schema mismatch or a damaged record), every
// stage is checked and the first fault in log order wins: it comes before
// the point where the replay stopped, as one-by-one application would
// have reported it first.

type entry = store.Entry

// Table is what recovery needs of a table: its rows and the schema its
// mutations are checked against, with the names errors give.
type Table struct {
	*store.Table
	Module, Name, Version string
	Types                 []row.Type
	PK                    int
	Names                 []string // column names (errors name the column)
	PKField               string
}

// Fault is a mutation that does not apply, or a row that does not match
// its schema: the first in log order is the replay's error.
type Fault struct {
	LSN                   uint64
	Idx                   uint32 // the mutation's index in its record
	Module, Table, Column string
	Msg                   string
}

func (f *Fault) Error() string { return fmt.Sprintf("replay lsn %d: %s", f.LSN, f.Msg) }

func (f *Fault) before(g *Fault) bool {
	return g == nil || f.LSN < g.LSN || (f.LSN == g.LSN && f.Idx < g.Idx)
}

// stagedOp is one mutation read from the log, waiting for its table's flush.
type stagedOp struct {
	e   entry  // the new row and its key; for a delete, the key only
	lsn uint64 // its record
	pfx uint64 // keyPrefix(e.Key): most comparisons need not read the key
	idx uint32 // index of the mutation in its record
	op  fb.Op
}

func newStagedOp(e entry, lsn uint64, idx uint32, op fb.Op) stagedOp {
	return stagedOp{e: e, lsn: lsn, pfx: keyPrefix(e.Key), idx: idx, op: op}
}

// sameKey reports whether a and b have the same key.
func sameKey(a, b *stagedOp) bool { return a.pfx == b.pfx && a.e.Key == b.e.Key }

// stage holds the mutations of one table read since its last flush.
type stage struct {
	t      *Table
	app    *store.Appender // while the stage holds only inserts appended to the tree
	ops    []stagedOp      // in log order
	sorted bool            // ops are in key order so far (ties are in log order)
}

// insert stages an insert of row buf with key (a scratch buffer), copying
// both into one allocation.
func (s *stage) insert(key, buf []byte, lsn uint64, idx uint32) {
	if len(s.ops) == 0 {
		k := store.ViewKey(key)
		if s.app == nil {
			if max, ok := s.t.Tree.Max(); !ok || k > max.Key {
				s.app = store.NewAppender(s.t.Tree)
			}
		} else if k <= s.app.Last() {
			s.closeApp()
		}
		if s.app != nil {
			s.app.Append(store.NewEntry(key, buf))
			return
		}
	}
	s.add(newStagedOp(store.NewEntry(key, buf), lsn, idx, fb.OpInsert))
}

func (s *stage) closeApp() {
	if s.app != nil {
		s.app.Finish()
		s.app = nil
	}
}

// add stages a mutation that is not appended.
func (s *stage) add(op stagedOp) {
	s.closeApp()
	if n := len(s.ops); n > 0 && s.sorted {
		if last := &s.ops[n-1]; op.pfx < last.pfx || (op.pfx == last.pfx && op.e.Key < last.e.Key) {
			s.sorted = false
		}
	}
	s.ops = append(s.ops, op)
}

// rebuildRatio: a flush rebuilds the tree (merge and bulk load, linear in
// the table size) when the staged mutations are at least 1/rebuildRatio
// of the rows present; fewer are applied in place (a B-tree operation
// each). Either way a mutation costs O(rebuildRatio) row copies at most.
const rebuildRatio = 8

// sortStaged sorts ops by key, keeping log order among equal keys. It
// sorts 16-byte (key prefix, position) pairs, comparing whole keys only
// when their first 8 bytes are equal, then moves the ops in place.
func sortStaged(ops []stagedOp) {
	type sk struct {
		pfx uint64
		i   uint32
	}
	perm := make([]sk, len(ops))
	for i := range ops {
		perm[i] = sk{ops[i].pfx, uint32(i)}
	}
	slices.SortFunc(perm, func(a, b sk) int {
		if a.pfx != b.pfx {
			return cmp.Compare(a.pfx, b.pfx)
		}
		if c := strings.Compare(ops[a.i].e.Key, ops[b.i].e.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	// ops[j] must become the old ops[perm[j].i]: follow each cycle once.
	const done = math.MaxUint32
	for i := range perm {
		if perm[i].i == done {
			continue
		}
		tmp, j := ops[i], i
		for {
			k := int(perm[j].i)
			perm[j].i = done
			if k == i {
				ops[j] = tmp
				break
			}
			ops[j], j = ops[k], k
		}
	}
}

// keyPrefix is the first 8 bytes of key, big-endian, zero-padded: it
// orders keys as their bytes do, up to ties.
func keyPrefix(key string) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(unsafe.Slice(unsafe.StringData(key), 8))
	}
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// flush applies the staged mutations to the table's tree and empties the
// stage. It returns the first mutation that does not apply; the tree is
// then left in an unspecified state (the replay fails). With build false
// it only checks, leaving the tree as it was.
func (s *stage) flush(build bool) *Fault {
	s.closeApp()
	ops, sorted := s.ops, s.sorted
	s.ops, s.sorted = nil, true
	if len(ops) == 0 {
		return nil
	}
	if !sorted {
		sortStaged(ops)
	}
	t := s.t
	var fault *Fault
	note := func(op *stagedOp, msg string) {
		f := &Fault{LSN: op.lsn, Idx: op.idx, Module: t.Module, Table: t.Name, Column: t.PKField, Msg: msg}
		if f.before(fault) {
			fault = f
		}
		build = false
	}
	n := t.Tree.Len()
	if n > 0 && len(ops) < n/rebuildRatio {
		for i := 0; i < len(ops); {
			j := groupEnd(ops, i)
			cur, existed := t.Tree.Get(entry{Key: ops[i].e.Key})
			exists := existed
			if op, msg := applyKeyOps(ops[i:j], &cur, &exists); op != nil {
				note(op, msg)
			}
			if build {
				if exists {
					t.Tree.ReplaceOrInsert(cur)
				} else if existed {
					t.Tree.Delete(entry{Key: ops[i].e.Key})
				}
			}
			i = j
		}
		return fault
	}
	var base []entry
	if n > 0 {
		base = make([]entry, 0, n)
		t.Tree.Ascend(func(e entry) bool {
			base = append(base, e)
			return true
		})
	}
	out := make([]entry, 0, len(base)+len(ops))
	b := 0
	for i := 0; i < len(ops); {
		j := groupEnd(ops, i)
		key := ops[i].e.Key
		for b < len(base) && base[b].Key < key {
			out = append(out, base[b])
			b++
		}
		var cur entry
		exists := false
		if b < len(base) && base[b].Key == key {
			cur, exists = base[b], true
			b++
		}
		if op, msg := applyKeyOps(ops[i:j], &cur, &exists); op != nil {
			note(op, msg)
		}
		if exists {
			out = append(out, cur)
		}
		i = j
	}
	out = append(out, base[b:]...)
	if build {
		t.Tree.Clear(false)
		store.BulkLoad(t.Tree, out)
	}
	return fault
}

// groupEnd returns the end of the run of ops with the key of ops[i].
func groupEnd(ops []stagedOp, i int) int {
	j := i + 1
	for j < len(ops) && sameKey(&ops[j], &ops[i]) {
		j++
	}
	return j
}

// applyKeyOps applies the mutations of one key, in log order, to the row
// present before them (cur, if exists). It returns the first one that does
// not apply, with the reason.
func applyKeyOps(ops []stagedOp, cur *entry, exists *bool) (*stagedOp, string) {
	for k := range ops {
		op := &ops[k]
		switch op.op {
		case fb.OpInsert:
			if *exists {
				return op, "insert of a key that exists (a transaction applied twice?)"
			}
			*cur, *exists = op.e, true
		case fb.OpUpdate:
			if !*exists {
				return op, "update of a key that does not exist"
			}
			*cur = op.e
		default: // fb.OpDelete (apply accepts no other op)
			if !*exists {
				return op, "delete of a key that does not exist"
			}
			*cur, *exists = entry{}, false
		}
	}
	return nil, ""
}
