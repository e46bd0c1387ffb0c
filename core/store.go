package core

import (
	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/row"
)

// entry is one row in a table's primary-key index (core/internal/store).
type entry = store.Entry

// table is one declared table: its committed rows (store.Table: ID, the
// index in Runtime.tables, and Tree), its schema and its subscribers.
type table struct {
	store.Table
	mod     *module
	name    string
	info    *TableInfo
	types   []row.Type
	names   []string
	pk      int
	pkType  row.Type
	public  bool
	pkField string

	subs  [3][]*reducer // guest subscribers by Op, in load then declaration order
	hooks hookList      // host callbacks
}

// tx is the one transaction in flight: its store overlays and mutations
// (store.Tx), the LSN and timestamp it will commit at, and whether a
// nested call doomed it.
type tx struct {
	*store.Tx
	lsn, ts uint64
	doomed  error // set when a nested call failed: the whole transaction rolls back
}

func newTx() *tx { return &tx{Tx: store.NewTx()} }

// reset drops the pending writes (after a commit or a rollback).
func (x *tx) reset() {
	x.Tx.Reset()
	x.doomed = nil
}
