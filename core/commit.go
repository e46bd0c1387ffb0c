package core

import (
	"errors"
	"fmt"

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
// A reducer call and the subscriber transactions it triggers commit as
// one unit (docs/ABI.md, "A cascade commits as one unit"): the runtime
// calls begin before the call's root transaction and end after its
// cascade, and the records committed in between are queued in the log as
// one batch, which recovery keeps whole or cuts whole (persistence,
// EnqueueBatch). Outside begin/end (module loads and upgrades) commit
// queues its record at once.
//
// commit only orders the record (its LSN is final when commit returns);
// the record is durable once the runtime's waitDurable(lsn) returned nil,
// which a Call does after releasing execMu so that concurrent callers
// share one fdatasync (group commit).
type committer interface {
	next() (lsn, ts uint64)
	commit(rec *txn) error
	begin()
	// end queues the records committed since begin. An error means they
	// are not in the log although the runtime applied them: it poisons.
	end() error
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

func (c *memCommitter) begin()     {}
func (c *memCommitter) end() error { return nil }

// nextTime is the timestamp of the next transaction: the clock, or one
// nanosecond after the last one if the clock is not past it (a clock
// stepped back, two commits within its resolution, or a log whose
// timestamps were logical).
func nextTime(now func() uint64, last uint64) uint64 { return max(now(), last+1) }

// logCommitter commits through the durable log: Enqueue (or, for a
// cascade, EnqueueBatch) under execMu, so LSN order is execution order;
// Wait outside it. The LSN is the log's: the runtime is its only writer
// (it holds the directory lock, and every commit runs under execMu), so
// the log's next LSN plus the records a cascade holds, read before the
// transaction runs, is the one the log assigns.
type logCommitter struct {
	r       *Runtime
	log     *persistence.Log
	now     func() uint64
	lastLSN uint64 // last committed (queued, or held by the open cascade)
	lastTS  uint64
	// observe, when set (tests), sees every committed record.
	observe func(*txn)

	// The open cascade (between begin and end): its records, encoded, in
	// held (each a slice of buf), and their Payload views for EnqueueBatch.
	open bool
	buf  []byte
	held []persistence.Bytes
	ps   []persistence.Payload
}

// next continues strictly above everything replayed: the LSN is the log's
// next one (after the records the open cascade holds) and the timestamp
// is after the last one committed or replayed.
func (c *logCommitter) next() (uint64, uint64) {
	return c.log.NextLSN() + uint64(len(c.held)), nextTime(c.now, c.lastTS)
}

func (c *logCommitter) begin() {
	c.open, c.buf, c.held = true, c.buf[:0], c.held[:0]
}

func (c *logCommitter) commit(rec *txn) error {
	if c.open {
		// Held until end: encoded now (the runtime reuses rec), and
		// refused now if the log would refuse it, so that a subscriber's
		// record that is too large rolls back that subscriber alone.
		start := len(c.buf)
		var err error
		if c.buf, err = holdRecord(c.buf, rec); err != nil {
			return err
		}
		c.held = append(c.held, persistence.Bytes(c.buf[start:]))
	} else if err := c.enqueue(rec); err != nil {
		return err
	}
	c.lastLSN, c.lastTS = rec.LSN, rec.Timestamp
	c.r.waitLSN = rec.LSN
	c.r.noteCommitted(rec)
	if c.observe != nil {
		c.observe(rec)
	}
	return nil
}

// holdRecord appends rec, encoded, to buf, or refuses it as the log would
// refuse it (too large) and leaves buf as it was: a committer that holds
// records before it hands them on keeps the log's rule.
func holdRecord(buf []byte, rec *txn) ([]byte, error) {
	start := len(buf)
	buf = rec.AppendPayload(buf, rec.LSN)
	if n := len(buf) - start; n > persistence.MaxRecordSize {
		return buf[:start], fmt.Errorf("record lsn %d: %w: %d bytes, the maximum is %d", rec.LSN, persistence.ErrRecordTooLarge, n, persistence.MaxRecordSize)
	}
	return buf, nil
}

// enqueue queues one record at once (outside a cascade).
func (c *logCommitter) enqueue(rec *txn) error {
	want := rec.LSN
	lsn, err := c.log.Enqueue(rec) // rec.AppendPayload writes the log's LSN
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
	return c.checkLSN(lsn, want)
}

// checkLSN poisons if the log assigned another LSN than the runtime
// predicted: only this runtime appends to the log (it holds the directory
// lock), so that is a bug, and the records are queued.
func (c *logCommitter) checkLSN(got, want uint64) error {
	if got == want {
		return nil
	}
	err := errf(CodeInternal, "log assigned lsn %d, the runtime expected %d", got, want)
	c.r.poison(err)
	return err
}

func (c *logCommitter) end() error {
	c.open = false
	if len(c.held) == 0 {
		return nil
	}
	c.ps = c.ps[:0]
	for i := range c.held {
		c.ps = append(c.ps, &c.held[i])
	}
	want := c.lastLSN - uint64(len(c.held)) + 1
	first, err := c.log.EnqueueBatch(c.ps)
	clear(c.ps)
	c.held = c.held[:0]
	if cap(c.buf) > 1<<20 {
		c.buf = nil // do not keep a huge cascade's buffer
	}
	if err != nil {
		// The cascade's transactions are applied in memory, not in the
		// log: poison, whatever the cause.
		c.r.poison(err)
		return err
	}
	return c.checkLSN(first, want)
}

func (c *logCommitter) last() (uint64, uint64) { return c.lastLSN, c.lastTS }
