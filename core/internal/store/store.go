// Package store is the runtime's in-memory state: each table's committed
// rows in a B-tree by primary key, the one transaction in flight as
// overlays on those trees (with the mutations it will commit), and bulk
// loading of trees from rows in key order (snapshots, replay, upgrades).
// It imports google/btree and internal/record (for the Mutation type)
// only, and knows nothing of WASM, schemas or the log: keys and rows
// arrive checked and encoded (row.CheckKey), and the mutation list is
// handed to the commit step as record.Mutations.
package store

import (
	"unsafe"

	"github.com/google/btree"
)

// Entry is one row in a table's primary-key index. Key is row.Key of the
// primary-key value; it shares one allocation with Row (see NewEntry). In
// a transaction overlay a nil Row marks a deleted key.
type Entry struct {
	Key string
	Row []byte
}

func lessEntry(a, b Entry) bool { return a.Key < b.Key }

// Degree gives nodes of up to 63 entries (2.5 KiB): shallow trees and
// cache-friendly binary search.
const Degree = 32

// Tree is a table's committed rows.
type Tree = btree.BTreeG[Entry]

// NewTree returns an empty tree.
func NewTree() *Tree { return btree.NewG[Entry](Degree, lessEntry) }

// Table is what the store knows of a table: its index in the runtime's
// table list (which names its overlay in a Tx) and its committed rows.
// The runtime writes Tree only from the goroutine that runs transactions,
// and then only while it also keeps readers out (commit apply); readers
// hold the runtime's state lock.
type Table struct {
	ID   int
	Tree *Tree
}

// NewEntry copies buf (a verified row) and its key into one allocation.
func NewEntry(key []byte, buf []byte) Entry {
	n := len(buf)
	b := make([]byte, n+len(key))
	copy(b, buf)
	copy(b[n:], key)
	e := Entry{Row: b[:n:n]}
	if len(key) > 0 {
		e.Key = unsafe.String(&b[n], len(key))
	}
	return e
}

// OwnedKey copies a scratch key into its own allocation.
func OwnedKey(key []byte) string { return string(key) }

// ViewKey returns a string viewing key without copying, for lookups only.
func ViewKey(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	return unsafe.String(&key[0], len(key))
}
