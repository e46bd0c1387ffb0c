package core

import (
	"errors"

	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

// txn is the record of one committed transaction (internal/record): a
// persistence.Payload, so a commit hands it to the log without conversion.
type txn = record.Txn

// mutation is one row change of a txn.
type mutation = record.Mutation

// moduleRecord describes a module load or upgrade.
type moduleRecord = record.ModuleRecord

// committer is the one commit step every transaction goes through. The
// runtime calls next to learn the LSN and logical timestamp the running
// transaction will get if it commits (they seed the guest's clock and
// random source), then commit with the finished record. commit must not
// retain rec or its slices after it returns (the runtime reuses them); an
// error means nothing was committed and the transaction is rolled back.
// Calls are serialized by the runtime (execMu).
//
// commit only orders the record (its LSN is final when commit returns);
// the record is durable once the runtime's waitDurable(lsn) returned nil,
// which a Call does after releasing execMu so that concurrent callers
// share one fdatasync (group commit).
type committer interface {
	next() (lsn, ts uint64)
	commit(rec *txn) error
	// last returns the LSN and timestamp of the last committed record.
	last() (lsn, ts uint64)
}

// memCommitter commits in memory: LSN and timestamp both count up from 1.
type memCommitter struct {
	lastLSN uint64
	// observe, when set (tests), sees every committed record.
	observe func(*txn)
}

func (c *memCommitter) next() (uint64, uint64) { return c.lastLSN + 1, c.lastLSN + 1 }

func (c *memCommitter) commit(rec *txn) error {
	c.lastLSN = rec.LSN
	if c.observe != nil {
		c.observe(rec)
	}
	return nil
}

func (c *memCommitter) last() (uint64, uint64) { return c.lastLSN, c.lastLSN }

// logCommitter commits through the durable log: Enqueue under execMu (so
// LSN order is execution order), Wait outside it. The LSN is the log's:
// the runtime is its only writer (it holds the directory lock, and every
// commit runs under execMu), so the log's next LSN, read before the
// transaction runs, is the one Enqueue assigns.
type logCommitter struct {
	r       *Runtime
	log     *persistence.Log
	lastLSN uint64 // last enqueued
	lastTS  uint64
	// observe, when set (tests), sees every committed record.
	observe func(*txn)
}

// next continues strictly above everything replayed: the LSN is the log's
// next one and the logical clock is max(lsn, last timestamp + 1).
func (c *logCommitter) next() (uint64, uint64) {
	lsn := c.log.NextLSN()
	return lsn, max(lsn, c.lastTS+1)
}

func (c *logCommitter) commit(rec *txn) error {
	want := rec.LSN
	lsn, err := c.log.Enqueue(rec) // rec.AppendPayload sets rec.LSN
	if err != nil {
		// A record refused before it was queued (too large) leaves the
		// log as it was: the transaction is rolled back and the runtime
		// goes on. Any other failure may have left the log behind the
		// runtime: poison.
		if !errors.Is(err, persistence.ErrRecordTooLarge) && !errors.Is(err, persistence.ErrBadRecord) {
			c.r.poison(err)
		}
		return err
	}
	if lsn != want {
		// Only this runtime appends to the log (it holds the directory
		// lock), so this is a bug; the record is queued, so poison.
		err := errf(CodeInternal, "log assigned lsn %d, the runtime expected %d", lsn, want)
		c.r.poison(err)
		return err
	}
	c.lastLSN, c.lastTS = lsn, rec.Timestamp
	c.r.waitLSN = lsn
	c.r.noteCommitted(rec)
	if c.observe != nil {
		c.observe(rec)
	}
	return nil
}

func (c *logCommitter) last() (uint64, uint64) { return c.lastLSN, c.lastTS }
