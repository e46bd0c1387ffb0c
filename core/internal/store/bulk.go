package store

import (
	"reflect"
	"slices"
	"unsafe"

	"github.com/google/btree"
)

// Bulk loading of a table's B-tree from rows in ascending key order.
//
// github.com/google/btree has no bulk-load API: building a tree by
// ReplaceOrInsert costs a root-to-leaf binary search per row even for
// ascending input (~20 key comparisons through a function value: most of
// replay time). BulkLoad instead builds the nodes bottom-up, writing
// google/btree v1.1.3's unexported node layout through mirror types. The
// layout is checked by reflection when the package initializes
// (LayoutOK); if a btree upgrade changes it, BulkLoad falls back to
// ascending ReplaceOrInsert (correct, slower) and TestBulkLoadFastPath
// fails. See core/RATIONALE.md, "Replay speed".

// bnode mirrors btree.node[Entry].
type bnode struct {
	items    []Entry
	children []*bnode
	cow      unsafe.Pointer // *btree.copyOnWriteContext[Entry]
}

// btreeHdr mirrors btree.BTreeG[Entry].
type btreeHdr struct {
	degree int
	length int
	root   *bnode
	cow    unsafe.Pointer // *btree.copyOnWriteContext[Entry]
}

// LayoutOK reports whether the google/btree node layout is the one the
// fast paths mirror (tests set it false to exercise the fallback).
var LayoutOK = checkBTreeLayout()

// checkBTreeLayout reports whether btree.BTreeG[Entry] and its node type
// have exactly the fields (names, kinds, offsets, element types) of
// btreeHdr and bnode.
func checkBTreeLayout() bool {
	tt := reflect.TypeFor[btree.BTreeG[Entry]]()
	ht := reflect.TypeFor[btreeHdr]()
	if tt.Kind() != reflect.Struct || tt.NumField() != ht.NumField() || tt.Size() != ht.Size() {
		return false
	}
	for i := 0; i < ht.NumField(); i++ {
		f, m := tt.Field(i), ht.Field(i)
		if f.Name != m.Name || f.Offset != m.Offset || f.Type.Size() != m.Type.Size() {
			return false
		}
	}
	if tt.Field(0).Type.Kind() != reflect.Int || tt.Field(1).Type.Kind() != reflect.Int {
		return false
	}
	rootT, cowT := tt.Field(2).Type, tt.Field(3).Type
	if rootT.Kind() != reflect.Pointer || cowT.Kind() != reflect.Pointer {
		return false
	}
	nt, bt := rootT.Elem(), reflect.TypeFor[bnode]()
	if nt.Kind() != reflect.Struct || nt.NumField() != bt.NumField() || nt.Size() != bt.Size() {
		return false
	}
	for i := 0; i < bt.NumField(); i++ {
		f, m := nt.Field(i), bt.Field(i)
		if f.Name != m.Name || f.Offset != m.Offset {
			return false
		}
	}
	items, children, cow := nt.Field(0).Type, nt.Field(1).Type, nt.Field(2).Type
	return items.Kind() == reflect.Slice && items.Elem() == reflect.TypeFor[Entry]() &&
		children.Kind() == reflect.Slice && children.Elem() == rootT &&
		cow == cowT
}

// BulkLoad fills the empty tree t with es, which must be in strictly
// ascending key order. t keeps no reference to es.
func BulkLoad(t *btree.BTreeG[Entry], es []Entry) {
	if t.Len() != 0 {
		panic("core: BulkLoad into a non-empty tree")
	}
	a := NewAppender(t)
	if a == nil {
		for _, e := range es {
			t.ReplaceOrInsert(e)
		}
		return
	}
	for _, e := range es {
		a.Append(e)
	}
	a.Finish()
}

// Appender adds entries with ascending keys, all above the tree's, to the
// right edge of a tree, building full nodes bottom-up: O(1) amortized per
// Entry and no key comparison. It keeps the rightmost path (the spine);
// a spine node that is full is left behind and a new one started, with
// the Entry that did not fit going up as the separator. Until finish, the
// spine may hold nodes with fewer items than a B-tree allows, so the tree
// must not be used in between.
type Appender struct {
	h        *btreeHdr
	spine    []*bnode // spine[0]: the rightmost leaf; spine[i+1]: the parent of spine[i]; the last is the root
	maxItems int
	last     string // the greatest key in the tree (Last)
}

// NewAppender returns an appender to t, or nil if bulk loading is off
// (LayoutOK) or a node on t's right edge is shared with a clone
// (never during Open: trees are cloned only by Snapshot).
func NewAppender(t *btree.BTreeG[Entry]) *Appender {
	if !LayoutOK {
		return nil
	}
	h := (*btreeHdr)(unsafe.Pointer(t))
	a := &Appender{h: h, maxItems: 2*h.degree - 1}
	if h.root == nil {
		h.root = a.newNode(false)
		a.spine = append(a.spine, h.root)
		return a
	}
	for n := h.root; ; n = n.children[len(n.children)-1] {
		if n.cow != h.cow {
			return nil
		}
		a.spine = append(a.spine, n)
		if len(n.children) == 0 {
			break
		}
	}
	slices.Reverse(a.spine)
	if leaf := a.spine[0]; len(leaf.items) > 0 {
		a.last = leaf.items[len(leaf.items)-1].Key
	}
	return a
}

func (a *Appender) newNode(internal bool) *bnode {
	n := &bnode{items: make([]Entry, 0, a.maxItems), cow: a.h.cow}
	if internal {
		n.children = make([]*bnode, 0, a.maxItems+1)
	}
	return n
}

// append adds e, whose key must be greater than every key in the tree.
func (a *Appender) Append(e Entry) {
	a.h.length++
	a.last = e.Key
	if leaf := a.spine[0]; len(leaf.items) < a.maxItems {
		leaf.items = append(leaf.items, e)
		return
	}
	leaf := a.newNode(false)
	a.push(1, e, leaf)
	a.spine[0] = leaf
}

// push appends separator e and, after it, child c to the spine node at
// level lvl (a new root above the spine when lvl is its height).
func (a *Appender) push(lvl int, e Entry, c *bnode) {
	if lvl == len(a.spine) {
		root := a.newNode(true)
		root.items = append(root.items, e)
		root.children = append(root.children, a.spine[lvl-1], c)
		a.spine = append(a.spine, root)
		a.h.root = root
		return
	}
	if n := a.spine[lvl]; len(n.items) < a.maxItems {
		n.items = append(n.items, e)
		n.children = append(n.children, c)
		return
	}
	n := a.newNode(true)
	n.children = append(n.children, c)
	a.push(lvl+1, e, n)
	a.spine[lvl] = n
}

// finish makes the tree a valid B-tree again: a spine node below the
// root with fewer than degree-1 items takes items from its left sibling,
// which the appender left full (maxItems items), so both end with at
// least degree-1. Fixing top-down, the parent always has that sibling.
func (a *Appender) Finish() {
	minItems := a.h.degree - 1
	for lvl := len(a.spine) - 2; lvl >= 0; lvl-- {
		n, parent := a.spine[lvl], a.spine[lvl+1]
		if len(n.items) >= minItems {
			continue
		}
		last := len(parent.items) - 1
		l := parent.children[last]
		keep := (len(l.items) + len(n.items)) / 2 // items l keeps; the next one goes up
		items := make([]Entry, 0, a.maxItems)
		items = append(items, l.items[keep+1:]...)
		items = append(items, parent.items[last])
		items = append(items, n.items...)
		parent.items[last] = l.items[keep]
		clear(l.items[keep:])
		l.items = l.items[:keep]
		n.items = items
		if len(n.children) > 0 {
			children := make([]*bnode, 0, a.maxItems+1)
			children = append(children, l.children[keep+1:]...)
			children = append(children, n.children...)
			clear(l.children[keep+1:])
			l.children = l.children[:keep+1]
			n.children = children
		}
	}
	a.spine = nil
}

// Last is the greatest key in the tree.
func (a *Appender) Last() string { return a.last }
