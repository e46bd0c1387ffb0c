package core

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"sync"

	"github.com/interstice/interstice/core/internal/recovery"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

// A Unit is what commits as one: the records (Transaction FlatBuffers, as
// in the log) of a reducer call and its cascade, or of one module load or
// upgrade, with consecutive LSNs from FirstLSN. Wasm is a module load's
// wasm (nil otherwise): a replica needs it to run the module's reducers if
// it becomes the leader.
//
// Prev fences a unit to the history it was built on: the UnitHash of the
// record before FirstLSN in the proposer's state (0 before the first). A
// committed unit whose Prev is not the hash of the last record applied
// was built on a history that did not commit (a leader that lost the lead
// with proposals in flight, or a runtime reopened under a call in flight):
// every replica skips it alike (ErrStale).
type Unit struct {
	FirstLSN uint64
	Prev     uint64
	Records  [][]byte
	Wasm     []byte
}

// UnitHash is the hash Unit.Prev holds: CRC-64 (ECMA) of a record's bytes.
// A record carries its LSN and its timestamp (strictly increasing wall
// clock nanoseconds), so two histories never hold the same bytes at the
// same LSN.
func UnitHash(record []byte) uint64 { return crc64.Checksum(record, crcECMA) }

var crcECMA = crc64.MakeTable(crc64.ECMA)

// LastLSN is the LSN of the unit's last record.
func (u Unit) LastLSN() uint64 { return u.FirstLSN + uint64(len(u.Records)) - 1 }

// A Replicator makes a runtime's commits durable by replicating them
// instead of by the runtime's own log (Config.WithReplicator; package
// cluster). Propose is called under the runtime's transaction lock, once
// per unit, in LSN order; it must copy what it keeps (u's slices are
// reused) and must not block for long. The returned wait blocks until the
// unit is committed by the replication and applied by this runtime
// (ApplyCommitted), and returns nil, or why it never will be; a caller is
// acknowledged only after wait returned nil.
type Replicator interface {
	Propose(u Unit) (wait func() error)
}

// WithReplicator makes the runtime a replica (package cluster): every
// commit unit goes to rep instead of the runtime's own log, and the
// runtime's log is written from ApplyCommitted in commit order, without an
// fdatasync of its own (the replication's log is the durable one). Needs a
// data directory. A runtime that is not the replication's leader must make
// no call or load: its proposals fail and poison it.
func (c Config) WithReplicator(rep Replicator) Config { c.replicator = rep; return c }

// replCommitter commits through a Replicator: a unit is proposed at end
// (a call and its cascade) or at once (a module load), and waited for by
// the runtime's waitDurable.
type replCommitter struct {
	r        *Runtime
	rep      Replicator
	now      func() uint64
	lastLSN  uint64 // last committed: proposed, or applied from the replication
	lastTS   uint64
	lastHash uint64 // UnitHash of the record at lastLSN
	observe  func(*txn)

	open bool
	buf  []byte
	ends []int

	mu      sync.Mutex
	pending []*proposal // proposed, not yet applied, in LSN order
}

// proposal is a unit this runtime proposed and applied to its own state
// before the replication committed it.
type proposal struct {
	unit Unit         // owned copies
	wait func() error // set once Propose returned (mu)
}

func (c *replCommitter) next() (uint64, uint64) { return c.lastLSN + 1, nextTime(c.now, c.lastTS) }
func (c *replCommitter) last() (uint64, uint64) { return c.lastLSN, c.lastTS }

func (c *replCommitter) begin() { c.open, c.buf, c.ends = true, c.buf[:0], c.ends[:0] }

func (c *replCommitter) commit(rec *txn) error {
	var err error
	if c.buf, err = holdRecord(c.buf, rec); err != nil {
		return err
	}
	c.ends = append(c.ends, len(c.buf))
	c.lastLSN, c.lastTS = rec.LSN, rec.Timestamp
	c.r.waitLSN = rec.LSN
	c.r.noteCommitted(rec)
	if c.observe != nil {
		c.observe(rec)
	}
	if !c.open {
		c.propose(c.r.unitWasm)
	}
	return nil
}

func (c *replCommitter) end() error {
	c.open = false
	c.propose(nil)
	return nil
}

// propose hands the held records to the replication as one unit.
func (c *replCommitter) propose(wasm []byte) {
	if len(c.ends) == 0 {
		return
	}
	buf := bytes.Clone(c.buf) // owned: kept until the unit is applied
	u := Unit{FirstLSN: c.lastLSN - uint64(len(c.ends)) + 1, Prev: c.lastHash, Records: make([][]byte, len(c.ends)), Wasm: wasm}
	start := 0
	for i, e := range c.ends {
		u.Records[i] = buf[start:e:e]
		start = e
	}
	c.lastHash = UnitHash(u.Records[len(u.Records)-1])
	c.buf, c.ends = c.buf[:0], c.ends[:0]
	// Pending before it is proposed: the replication may commit and apply
	// it (takeOwn) before Propose returns.
	p := &proposal{unit: u}
	c.mu.Lock()
	c.pending = append(c.pending, p)
	c.mu.Unlock()
	wait := c.rep.Propose(u)
	c.mu.Lock()
	p.wait = wait
	c.mu.Unlock()
}

// waitFor waits until every unit proposed up to lsn is applied; a failure
// poisons the runtime (its state holds a unit the replication refused).
func (c *replCommitter) waitFor(lsn uint64) error {
	c.mu.Lock()
	var waits []func() error
	for _, p := range c.pending { // an applied unit has left pending: durable
		if p.unit.FirstLSN > lsn {
			break
		}
		if p.wait != nil {
			waits = append(waits, p.wait)
		}
	}
	c.mu.Unlock()
	for _, w := range waits {
		if err := w(); err != nil {
			c.r.poison(err)
			return &Error{Code: CodePoisoned, Msg: fmt.Sprintf("lsn %d was not committed by the replication; the runtime is poisoned, reopen it", lsn), Err: err}
		}
	}
	return nil
}

// takeOwn removes and reports whether u is this runtime's oldest pending
// proposal (the same LSNs and the same bytes).
func (c *replCommitter) takeOwn(u Unit) (own, diverged bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return false, false
	}
	p := c.pending[0].unit
	if p.FirstLSN == u.FirstLSN && len(p.Records) == len(u.Records) {
		same := true
		for i := range p.Records {
			if !bytes.Equal(p.Records[i], u.Records[i]) {
				same = false
				break
			}
		}
		if same {
			c.pending = append(c.pending[:0], c.pending[1:]...)
			return true, false
		}
	}
	// Another unit took the LSNs this runtime proposed for: its state is
	// ahead of the replication's on a branch that will never commit.
	return false, true
}

// ErrStale is returned by ApplyCommitted for a unit built on a history
// that did not commit (see Unit.Prev): it is skipped, by every replica
// alike, and its proposer's call fails. ApplyCommitted returns this very
// value (compare with ==: errors.Is matches every CodeInternal error).
var ErrStale = &Error{Code: CodeInternal, Msg: "the unit was built on a history that was not committed: skipped"}

// ErrDiverged is returned by ApplyCommitted when the runtime applied a
// unit of its own that the replication did not commit (it lost the lead
// with proposals in flight): its state is not the replication's, and it
// must be reopened from its data directory (which holds only committed
// units) before it applies more.
var ErrDiverged = &Error{Code: CodePoisoned, Msg: "the runtime applied proposals the replication did not commit: reopen it from its data directory"}

// ApplyCommitted applies a unit the replication committed, on every
// replica, in commit order: it appends the unit's records to the
// runtime's own log and, unless the unit is the runtime's own proposal
// (already applied to its state), applies them as replay does: mutations
// and module loads, no WASM, no subscription, no host callback. A module
// load's wasm is stored in the data directory first. A unit at or below
// the log's last LSN is one the log already holds (replayed at Open) and
// is skipped; a gap is an error.
func (r *Runtime) ApplyCommitted(u Unit) error {
	c, ok := r.commit.(*replCommitter)
	if !ok {
		return &Error{Code: CodeUnsupported, Msg: "ApplyCommitted needs a runtime opened with a Replicator"}
	}
	if len(u.Records) == 0 {
		return &Error{Code: CodeBadArgument, Msg: "an empty unit"}
	}
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if e := r.poisoned.Load(); e != nil {
		return e
	}
	logLast := r.log.NextLSN() - 1
	if u.LastLSN() <= logLast && u.Prev == r.hashAt(u.FirstLSN-1) {
		return nil // the log holds it: replayed at Open
	}
	if u.FirstLSN != logLast+1 || u.Prev != r.appliedHash {
		// Built on another history: skip it, here as everywhere; a
		// runtime that applied proposals of its own has diverged.
		if c.hasPending() {
			r.poison(ErrDiverged)
			return ErrDiverged
		}
		return ErrStale
	}
	for i, b := range u.Records {
		if err := record.Check(u.FirstLSN+uint64(i), b); err != nil {
			return &Error{Code: CodeCorrupt, Msg: fmt.Sprintf("committed unit, record lsn %d", u.FirstLSN+uint64(i)), Err: err}
		}
	}
	own, diverged := c.takeOwn(u)
	if diverged {
		r.poison(ErrDiverged)
		return ErrDiverged
	}
	if !own {
		if err := r.applyReplicated(c, u); err != nil {
			r.poison(err)
			return err
		}
	}
	ps := make([]persistence.Payload, len(u.Records))
	for i := range u.Records {
		ps[i] = persistence.Bytes(u.Records[i])
	}
	if _, err := r.log.EnqueueBatch(ps); err != nil {
		r.poison(err)
		return logErr("append committed unit", err)
	}
	if err := r.log.Wait(u.LastLSN()); err != nil {
		r.poison(err)
		return logErr("append committed unit", err)
	}
	r.appliedHash = UnitHash(u.Records[len(u.Records)-1])
	return nil
}

// hashAt is RecordHash, 0 when the log cannot read the record.
func (r *Runtime) hashAt(lsn uint64) uint64 {
	h, _ := r.RecordHash(lsn)
	return h
}

// RecordHash returns the UnitHash of the runtime's log record lsn (0 for
// lsn 0): what a unit built after it carries as Prev.
func (r *Runtime) RecordHash(lsn uint64) (uint64, error) {
	if lsn == 0 {
		return 0, nil
	}
	if r.dir == nil {
		return 0, &Error{Code: CodeUnsupported, Msg: "a runtime without a data directory has no log to read"}
	}
	rd, err := persistence.NewReader(r.dir.LogPath(), lsn, r.logOptions())
	if err != nil {
		return 0, logErr(fmt.Sprintf("read lsn %d", lsn), err)
	}
	defer rd.Close()
	if !rd.Next() || rd.Record().LSN != lsn {
		return 0, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("lsn %d is not in the log", lsn), Err: rd.Err()}
	}
	return UnitHash(rd.Record().Payload), nil
}

func (c *replCommitter) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// applyReplicated applies another replica's unit to the state, as replay.
func (r *Runtime) applyReplicated(c *replCommitter, u Unit) error {
	r.execMu.Lock()
	defer r.execMu.Unlock()
	if u.Wasm != nil {
		if err := r.dir.StoreWasm(sha256.Sum256(u.Wasm), u.Wasm); err != nil {
			return logErr("store module wasm in "+r.dir.ModulesPath(), err)
		}
	}
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	rp := replayer{r: r, apply: recovery.NewSmallApplier()}
	var err error
	for i, b := range u.Records {
		if err = rp.record(persistence.Record{LSN: u.FirstLSN + uint64(i), Payload: b}); err != nil {
			break
		}
	}
	if ferr := rp.finish(err == nil); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	c.lastLSN, c.lastTS = u.LastLSN(), max(c.lastTS, rp.lastTS)
	c.lastHash = UnitHash(u.Records[len(u.Records)-1])
	return nil
}

// ModuleWasm returns the wasm stored in the data directory under its
// SHA-256 (a ModuleRecord's wasm_sha256): what a replica sends a peer that
// installs a snapshot of its log.
func (r *Runtime) ModuleWasm(sum [32]byte) ([]byte, error) {
	if r.dir == nil {
		return nil, &Error{Code: CodeUnsupported, Msg: "a runtime without a data directory keeps no wasm"}
	}
	return r.dir.LoadWasm(sum)
}

// LogDir is the runtime's log directory ("" in memory): a replica reads
// its committed records there.
func (r *Runtime) LogDir() string {
	if r.dir == nil {
		return ""
	}
	return r.dir.LogPath()
}
