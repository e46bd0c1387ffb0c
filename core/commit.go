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
// runtime calls next to learn the LSN and the timestamp the running
// transaction will get if it commits (the LSN seeds the guest's random
// source, the timestamp is its clock), then commit with the finished
// record. The timestamp is the host's wall clock (Config.WithClock) in
// nanoseconds since the Unix epoch, made strictly greater than the last
// committed one. commit must not
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

// memCommitter commits in memory: the LSN counts up from 1.
type memCommitter struct {
	now     func() uint64
	lastLSN uint64
	lastTS  uint64
	// observe, when set (tests), sees every committed record.
	observe func(*txn)
}

func (c *memCommitter) next() (uint64, uint64) { return c.lastLSN + 1, nextTime(c.now, c.lastTS) }

func (c *memCommitter) commit(rec *txn) error {
	c.lastLSN, c.lastTS = rec.LSN, rec.Timestamp
	if c.observe != nil {
		c.observe(rec)
	}
	return nil
}

func (c *memCommitter) last() (uint64, uint64) { return c.lastLSN, c.lastTS }

// nextTime is the timestamp of the next transaction: the clock, or one
// nanosecond after the last one if the clock is not past it (a clock
// stepped back, two commits within its resolution, or a log whose
// timestamps were logical).
func nextTime(now func() uint64, last uint64) uint64 { return max(now(), last+1) }

// logCommitter commits through the durable log: Enqueue under execMu (so
// LSN order is execution order), Wait outside it. The LSN is the log's:
// the runtime is its only writer (it holds the directory lock, and every
// commit runs under execMu), so the log's next LSN, read before the
// transaction runs, is the one Enqueue assigns.
type logCommitter struct {
	r       *Runtime
	log     *persistence.Log
	now     func() uint64
	lastLSN uint64 // last enqueued
	lastTS  uint64
	// observe, when set (tests), sees every committed record.
	observe func(*txn)
}

// next continues strictly above everything replayed: the LSN is the log's
// next one and the timestamp is after the last one committed or replayed.
func (c *logCommitter) next() (uint64, uint64) {
	return c.log.NextLSN(), nextTime(c.now, c.lastTS)
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
