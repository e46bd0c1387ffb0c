package core

import (
	"github.com/interstice/interstice/fbs/fb"
)

// txn is the record of one committed transaction. Its fields mirror
// persistence.Txn one for one (issue #4 converts it, or replaces it by an
// alias, when the durable log is plugged in).
type txn struct {
	LSN          uint64
	Timestamp    uint64
	Kind         fb.TxKind
	Module       string
	Reducer      string
	Args         []byte
	Mutations    []mutation
	ModuleRecord *moduleRecord
}

// mutation mirrors persistence.Mutation.
type mutation struct {
	Op     fb.Op
	Module string
	Table  string
	Row    []byte
	OldRow []byte
}

// moduleRecord mirrors persistence.ModuleRecord.
type moduleRecord struct {
	Name       string
	Version    string
	Schema     []byte
	WasmSHA256 []byte
}

// committer is the one commit step every transaction goes through. The
// runtime calls next to learn the LSN and logical timestamp the running
// transaction will get if it commits (they seed the guest's clock and
// random source), then commit with the finished record. commit must not
// retain rec or its slices after it returns (the runtime reuses them); an
// error means nothing was committed and the transaction is rolled back.
// Calls are serialized by the runtime.
type committer interface {
	next() (lsn, ts uint64)
	commit(rec *txn) error
}

// memCommitter commits in memory: LSN and timestamp both count up from 1.
type memCommitter struct {
	last uint64
	// observe, when set (tests), sees every committed record.
	observe func(*txn)
}

func (c *memCommitter) next() (uint64, uint64) { return c.last + 1, c.last + 1 }

func (c *memCommitter) commit(rec *txn) error {
	c.last = rec.LSN
	if c.observe != nil {
		c.observe(rec)
	}
	return nil
}
