package core

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"

	"github.com/interstice/interstice/core/internal/datadir"
	"github.com/interstice/interstice/core/internal/recovery"
	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// durable is the persistence state of a Runtime (embedded in it).
type durable struct {
	dir      *datadir.Dir // nil in memory
	log      *persistence.Log
	readOnly bool
	poisoned atomic.Pointer[Error]

	// waitLSN is the highest LSN committed by the transaction(s) of the
	// current Call or LoadModule (execMu); the caller waits for it after
	// releasing execMu.
	waitLSN uint64

	// Automatic snapshots (execMu for the counters).
	sinceTxns  int
	sinceBytes int64
	snapMu     sync.Mutex // serializes Snapshot and Close
	snapBusy   atomic.Bool
	snapErr    atomic.Pointer[error]

	replayStats  ReplayStats
	lastProgress int64
	replaying    atomic.Bool
	guestEntries atomic.Int64 // guest function entries (tests: replay runs none)
}

// ReplayStats describes what Open did to rebuild the state.
type ReplayStats struct {
	SnapshotLSN      uint64        // LSN of the snapshot loaded (0: none)
	SnapshotRows     int64         // rows loaded from it
	SnapshotsSkipped []string      // damaged or untrusted snapshots passed over, newest first
	Records          int64         // log records replayed after the snapshot
	Mutations        int64         // row changes applied from them
	LastLSN          uint64        // last LSN of the state
	Duration         time.Duration // whole rebuild: snapshot load plus replay
	TornTail         bool          // read-only: a torn tail was left in place, unread
}

// ReplayStats returns the statistics of the rebuild Open did (zero for an
// in-memory runtime).
func (r *Runtime) ReplayStats() ReplayStats { return r.replayStats }

// LogStats returns the transaction log's write counters since Open (zero
// for an in-memory runtime): Records/Writes is the mean group-commit batch.
func (r *Runtime) LogStats() persistence.Stats {
	if r.log == nil {
		return persistence.Stats{}
	}
	return r.log.Stats()
}

// SchemaVersion is one version of a module's schema in the registry: the
// LSN of the ModuleLoad record that put it in force, and its identity.
type SchemaVersion struct {
	LSN        uint64
	Version    string
	WasmSHA256 [32]byte
	Schema     []byte // the ModuleSchema bytes
}

// SchemaVersions returns the schema versions of module known to the
// runtime, oldest first: every load and upgrade since the snapshot the
// state was rebuilt from (the snapshot contributes the version in force
// at its LSN).
func (r *Runtime) SchemaVersions(module string) []SchemaVersion {
	r.stateMu.RLock()
	defer r.stateMu.RUnlock()
	return append([]SchemaVersion(nil), r.versions[module]...)
}

// LastLSN returns the LSN of the last committed transaction: for a
// durable runtime, the last one the log acknowledged. After a log failure
// (CodePoisoned) that is the last LSN acknowledged before it; a record
// whose write or fdatasync failed is not counted, although it may turn out
// to be in the log after a reopen (docs/RECOVERY.md, "Outcome unknown").
func (r *Runtime) LastLSN() uint64 {
	r.execMu.Lock()
	defer r.execMu.Unlock()
	lsn, _ := r.commit.last()
	if r.log != nil {
		lsn = min(lsn, r.log.LastLSN())
	}
	return lsn
}

// syncPolicy is the log's: the configured one, or none for a replica,
// whose durable log is the replication's.
func (r *Runtime) syncPolicy() persistence.SyncPolicy {
	if r.cfg.replicator != nil {
		return persistence.SyncNone
	}
	return r.cfg.syncPolicy
}

func (r *Runtime) logOptions() persistence.Options {
	o := persistence.Options{
		Check:          record.Check,
		SegmentSize:    r.cfg.segmentSize,
		Sync:           r.syncPolicy(),
		SyncInterval:   r.cfg.syncInterval,
		Recovery:       r.cfg.recovery,
		RetainSegments: r.cfg.retainSegments,
		FS:             r.cfg.logFS,
	}
	if fn := r.cfg.progress; fn != nil {
		o.Progress = func(done, total int64) {
			if r.replaying.Load() {
				r.lastProgress = done
				fn(done, total)
			}
		}
	}
	return o
}

// openData opens the data directory and rebuilds the state: the newest
// valid snapshot, then the log after it. No WASM runs, no subscription or
// host callback fires, and nothing is written to the log.
func (r *Runtime) openData() error {
	start := time.Now()
	dir := r.cfg.dataDir
	r.readOnly = r.cfg.recovery == persistence.RecoverReadOnly
	dd, err := datadir.Open(dir, r.readOnly, r.cfg.keepSnapshots)
	if err != nil {
		if r.readOnly {
			return &Error{Code: CodeNotFound, Msg: "data directory " + dir, Err: err}
		}
		return &Error{Code: CodeBadArgument, Msg: "data directory " + dir, Err: err}
	}
	r.dir = dd
	lg, err := persistence.Open(dd.LogPath(), r.logOptions())
	if err != nil {
		return logErr("open log in "+dir, err)
	}
	r.log = lg
	lc := &logCommitter{r: r, log: lg, now: r.cfg.now()}
	r.commit = lc
	if r.cfg.replicator != nil {
		// The log is written from ApplyCommitted; replay sets lc's LSN
		// and time, which the replicating committer takes over below.
		defer func() {
			r.appliedHash = r.hashAt(lc.lastLSN)
			r.commit = &replCommitter{r: r, rep: r.cfg.replicator, now: lc.now, lastLSN: lc.lastLSN, lastTS: lc.lastTS, lastHash: r.appliedHash}
		}()
	}
	st := &r.replayStats
	st.TornTail = lg.TornTail() != nil
	logLast := lg.LastLSN()

	// Snapshot.
	var snapLSN uint64
	lsn, body, skipped, err := dd.NewestSnapshot(logLast)
	if err != nil {
		return logErr("read snapshot", err)
	}
	for _, p := range skipped {
		st.SnapshotsSkipped = append(st.SnapshotsSkipped, p.Segment+": "+p.Reason)
		if p.LSN > logLast {
			return &Error{Code: CodeInternal, Msg: fmt.Sprintf("snapshot %s covers lsn %d but the log ends at lsn %d: acknowledged transactions are missing from the log (restore the log, or move the snapshot aside to proceed)", p.Segment, p.LSN, logLast)}
		}
	}
	if body != nil {
		if err := r.loadSnapshot(lsn, body); err != nil {
			return err
		}
		snapLSN = lsn
		st.SnapshotLSN = lsn
	}
	lc.lastLSN = snapLSN
	// Log suffix.
	if logLast > snapLSN {
		if first := lg.FirstLSN(); first > snapLSN+1 {
			return &Error{Code: CodeInternal, Msg: fmt.Sprintf("the log starts at lsn %d but the newest valid snapshot covers lsn %d: records %d..%d are missing", first, snapLSN, snapLSN+1, first-1)}
		}
		r.replaying.Store(true)
		rp := replayer{r: r, apply: recovery.NewApplier()}
		err := lg.Replay(snapLSN+1, rp.record)
		if ferr := rp.finish(err == nil); ferr != nil {
			err = ferr
		}
		r.replaying.Store(false)
		if fn := r.cfg.progress; fn != nil && err == nil && r.lastProgress > 0 {
			fn(r.lastProgress, r.lastProgress) // the reader's total counts preallocated space
		}
		st.Records, st.Mutations = rp.records, rp.mutations
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			return logErr("replay", err)
		}
		lc.lastLSN, lc.lastTS = rp.lastLSN, max(lc.lastTS, rp.lastTS)
		if rp.lastLSN != logLast {
			return &Error{Code: CodeInternal, Msg: fmt.Sprintf("replay ended at lsn %d, the log at %d", rp.lastLSN, logLast)}
		}
	}
	st.LastLSN = lc.lastLSN
	dd.Recovered(lg, snapLSN)
	st.Duration = time.Since(start)
	if !r.readOnly && r.cfg.syncPolicy == persistence.SyncAlways && r.cfg.replicator == nil {
		r.startExecutor()
	}
	return nil
}

func (r *Runtime) closeData() error {
	if r.log == nil {
		return nil
	}
	// r.log stays: a Call waiting for its records outside execMu may still
	// read it (a closed log answers ErrClosed, or nil for what it wrote).
	err := r.log.Close()
	if err != nil && !errors.Is(err, persistence.ErrClosed) {
		if r.poisoned.Load() != nil {
			return nil // already reported to the failed callers
		}
		return logErr("close log", err)
	}
	return nil
}

// usable reports why calls and loads are refused: closed, read-only or
// poisoned.
func (r *Runtime) usable() error {
	if r.closed.Load() {
		return errClosed
	}
	if r.readOnly {
		return &Error{Code: CodeReadOnly, Msg: "the runtime was opened read-only (inspect mode): calls, loads and snapshots are refused"}
	}
	if e := r.poisoned.Load(); e != nil {
		return e
	}
	return nil
}

// poison stops the runtime after a log failure: the in-memory state may
// hold transactions the log does not, so every later call, load, read and
// snapshot fails until the runtime is reopened (which replays exactly
// what the log holds).
func (r *Runtime) poison(cause error) {
	e := &Error{Code: CodePoisoned, Msg: "the transaction log failed; reopen the runtime to continue from what the log holds", Err: cause}
	r.poisoned.CompareAndSwap(nil, e)
}

// takeWait returns and clears the LSN the current caller must wait for
// (execMu held).
func (r *Runtime) takeWait() uint64 {
	w := r.waitLSN
	r.waitLSN = 0
	return w
}

// waitDurable returns once lsn is acknowledged by the log under its sync
// policy (group commit with every other waiter). A failure poisons the
// runtime.
func (r *Runtime) waitDurable(lsn uint64) error {
	if err := r.waitLog(lsn); err != nil {
		return err
	}
	if lsn != 0 {
		r.snapshotIfDue()
	}
	return nil
}

// waitLog is waitDurable without the snapshot policy.
func (r *Runtime) waitLog(lsn uint64) error { return r.waitLogAs(lsn, false) }

// waitLogNow is waitLog for the executor's flusher, the only waiter of
// asynchronous calls: it writes what is queued at once instead of
// gathering a group first (persistence.Log.WaitNow; RATIONALE.md).
func (r *Runtime) waitLogNow(lsn uint64) error { return r.waitLogAs(lsn, true) }

func (r *Runtime) waitLogAs(lsn uint64, now bool) error {
	if lsn == 0 || r.log == nil {
		return nil
	}
	if c, ok := r.commit.(*replCommitter); ok {
		return c.waitFor(lsn)
	}
	wait := r.log.Wait
	if now {
		wait = r.log.WaitNow
	}
	if err := wait(lsn); err != nil {
		r.poison(err)
		return &Error{Code: CodePoisoned, Msg: fmt.Sprintf("lsn %d was not made durable; the runtime is poisoned, reopen it", lsn), Err: err}
	}
	return nil
}

// snapshotIfDue starts an automatic snapshot when the policy says so.
func (r *Runtime) snapshotIfDue() {
	if r.cfg.snapTxns > 0 || r.cfg.snapBytes > 0 {
		r.maybeAutoSnapshot()
	}
}

// noteCommitted counts a committed record toward the automatic snapshot
// policy (execMu held).
func (r *Runtime) noteCommitted(rec *txn) {
	r.sinceTxns++
	n := int64(len(rec.Args))
	for i := range rec.Mutations {
		n += int64(len(rec.Mutations[i].Row) + len(rec.Mutations[i].OldRow))
	}
	r.sinceBytes += n
}

func (r *Runtime) maybeAutoSnapshot() {
	r.execMu.Lock()
	due := (r.cfg.snapTxns > 0 && r.sinceTxns >= r.cfg.snapTxns) || (r.cfg.snapBytes > 0 && r.sinceBytes >= r.cfg.snapBytes)
	r.execMu.Unlock()
	if !due || !r.snapBusy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer r.snapBusy.Store(false)
		if _, err := r.Snapshot(); err != nil && !errors.Is(err, ErrClosed) {
			r.snapErr.Store(&err)
		}
	}()
}

// LastSnapshotError returns the error of the last failed automatic
// snapshot, or nil.
func (r *Runtime) LastSnapshotError() error {
	if p := r.snapErr.Load(); p != nil {
		return *p
	}
	return nil
}

// ensureCompiled compiles a module restored from the log or a snapshot,
// on its first call, from the wasm kept under its hash.
func (r *Runtime) ensureCompiled(m *module) error {
	if m.compiled != nil {
		return nil
	}
	wasm, err := r.dir.LoadWasm(m.info.WasmSHA256)
	switch {
	case errors.Is(err, datadir.ErrWasmMissing):
		return &Error{Code: CodeNotFound, Module: m.info.Name, Msg: "the module's wasm is missing from the data directory (load the module again)", Err: errors.Unwrap(err)}
	case err != nil:
		return &Error{Code: CodeIncompatible, Module: m.info.Name, Msg: "the module's wasm file does not match the SHA-256 recorded in the log", Err: err}
	}
	compiled, err := r.compile(wasm)
	if err != nil {
		return err
	}
	m.compiled = compiled
	return nil
}

// newRestoredModule builds a module from a ModuleRecord (no WASM).
func newRestoredModule(mr *moduleRecord) (*module, error) {
	info, err := parseSchema(mr.Schema)
	if err != nil {
		return nil, err
	}
	if info.Name != mr.Name || info.Version != mr.Version {
		return nil, &Error{Code: CodeMalformed, Module: mr.Name, Msg: fmt.Sprintf("module record names %s %s but its schema %s %s", mr.Name, mr.Version, info.Name, info.Version)}
	}
	if len(mr.WasmSHA256) != 32 {
		return nil, &Error{Code: CodeMalformed, Module: mr.Name, Msg: fmt.Sprintf("module record has a %d-byte wasm hash", len(mr.WasmSHA256))}
	}
	copy(info.WasmSHA256[:], mr.WasmSHA256)
	m := &module{info: info, schema: mr.Schema}
	m.build()
	return m, nil
}

// replayer applies log records to the state.
type replayer struct {
	r         *Runtime
	t         fb.Transaction
	mu        fb.Mutation
	records   int64
	mutations int64
	lastLSN   uint64
	lastTS    uint64
	// one-entry cache of the last table looked up, and its stage
	lastMod, lastTable []byte
	lastT              *table
	lastS              *recovery.Stage

	apply  *recovery.Applier          // stages, checks and applies the rows
	tables map[*table]*recovery.Table // what the applier knows of each table mutated
}

// faultErr is the core error of a replay fault.
func faultErr(err error) error {
	var f *recovery.Fault
	if errors.As(err, &f) {
		return replayErr(f.LSN, f.Module, f.Table, f.Column, "%s", f.Msg)
	}
	return err
}

func replayErr(lsn uint64, module, tbl, col string, format string, args ...any) *Error {
	return &Error{Code: CodeInternal, Module: module, Table: tbl, Column: col, Msg: fmt.Sprintf("replay lsn %d: ", lsn) + fmt.Sprintf(format, args...)}
}

func (p *replayer) record(rec persistence.Record) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = replayErr(rec.LSN, "", "", "", "malformed transaction record: %v", x)
		}
	}()
	record.Init(&p.t, rec.Payload) // verified by the log (record.Check)
	t := &p.t
	lsn := rec.LSN
	switch t.Kind() {
	case fb.TxKindModuleLoad:
		var mrt fb.ModuleRecord
		if t.ModuleRecord(&mrt) == nil {
			return replayErr(lsn, string(t.Module()), "", "", "module-load record without a module record")
		}
		mr := &moduleRecord{Name: string(mrt.Name()), Version: string(mrt.Version()),
			Schema: bytes.Clone(mrt.SchemaBytes()), WasmSHA256: bytes.Clone(mrt.WasmSha256Bytes())}
		// An upgrade reads the module's rows: apply what is staged.
		p.lastT, p.lastS = nil, nil
		if err := p.apply.FlushModule(mr.Name); err != nil {
			return faultErr(err)
		}
		if err := p.r.replayModuleLoad(lsn, mr); err != nil {
			return err
		}
	case fb.TxKindReducer:
	case fb.TxKindExternal:
		// docs/FORMAT.md, "Transaction kinds".
		e := replayErr(lsn, string(t.Module()), "", "", "an External record (written through the standalone log API, interstice_log_append*): a runtime's log holds only Reducer and ModuleLoad records, so this log cannot back a runtime; read it with the log API or the CLI's log commands")
		e.Code = CodeUnsupported
		return e
	case fb.TxKindMigration:
		e := replayErr(lsn, string(t.Module()), "", "", "a Migration record: the kind is reserved and no version of Interstice writes it (an upgrade is one ModuleLoad record)")
		e.Code = CodeUnsupported
		return e
	default:
		return replayErr(lsn, string(t.Module()), "", "", "unknown transaction kind %d", t.Kind())
	}
	n := t.MutationsLength()
	for i := 0; i < n; i++ {
		if !t.Mutations(&p.mu, i) {
			return replayErr(lsn, "", "", "", "mutation %d unreadable", i)
		}
		if err := p.mutation(lsn, i, &p.mu); err != nil {
			return err
		}
	}
	p.records++
	p.mutations += int64(n)
	p.lastLSN = lsn
	p.lastTS = max(p.lastTS, t.Timestamp())
	return nil
}

// mutation finds one mutation's table in the schema in force and sends
// its row to the applier, which checks and stages it.
func (p *replayer) mutation(lsn uint64, idx int, mu *fb.Mutation) error {
	mt := record.MutationFields(mu)
	modName, tblName := mt.Module(), mt.Table()
	tb, s := p.lastT, p.lastS
	if tb == nil || !bytes.Equal(modName, p.lastMod) || !bytes.Equal(tblName, p.lastTable) {
		m := p.r.modules[string(modName)]
		if m == nil {
			return replayErr(lsn, string(modName), string(tblName), "", "mutation of a module that is not loaded at this lsn")
		}
		tb = m.tableByName[string(tblName)]
		if tb == nil {
			return replayErr(lsn, string(modName), string(tblName), "", "module %s version %s has no such table at this lsn", m.info.Name, m.info.Version)
		}
		s = p.stageOf(tb)
		// Copies: the payload is only valid during this record (mapped).
		p.lastT, p.lastS = tb, s
		p.lastMod = append(p.lastMod[:0], modName...)
		p.lastTable = append(p.lastTable[:0], tblName...)
	}
	op := mt.Op()
	var buf []byte
	what := "row"
	switch op {
	case fb.OpInsert, fb.OpUpdate:
		buf = mt.Row()
	case fb.OpDelete:
		buf, what = mt.OldRow(), "old_row"
	default:
		return replayErr(lsn, tb.mod.info.Name, tb.name, "", "unknown op %d", op)
	}
	if buf == nil {
		return replayErr(lsn, tb.mod.info.Name, tb.name, "", "%s %s has no %s", Op(op), what, what)
	}
	// The stager goroutine checks the row against the schema and stages
	// it (recovery.Applier).
	if err := p.apply.Send(s, op, lsn, uint32(idx), buf); err != nil {
		return faultErr(err)
	}
	return nil
}

func (p *replayer) stageOf(t *table) *recovery.Stage {
	rt := p.tables[t]
	if rt == nil {
		if p.tables == nil {
			p.tables = map[*table]*recovery.Table{}
		}
		rt = recoveryTable(t)
		p.tables[t] = rt
	}
	return p.apply.Stage(rt)
}

// recoveryTable is what recovery needs of t.
func recoveryTable(t *table) *recovery.Table {
	return &recovery.Table{Table: &t.Table, Module: t.mod.info.Name, Name: t.name, Version: t.mod.info.Version,
		Types: t.types, PK: t.pk, Names: t.names, PKField: t.pkField}
}

// finish applies every table's staged mutations (only checks them when
// build is false: the replay failed) and returns the first mutation, in
// log order, that did not apply.
func (p *replayer) finish(build bool) error {
	err := p.apply.Finish(build)
	p.lastT, p.lastS, p.tables = nil, nil, nil
	return faultErr(err)
}

// replayModuleLoad applies a ModuleLoad record's schema: a new module, or
// an upgrade of a loaded one (with column defaults applied to existing
// rows). The record's mutations (a migration's) are applied after it.
func (r *Runtime) replayModuleLoad(lsn uint64, mr *moduleRecord) error {
	m, err := newRestoredModule(mr)
	if err != nil {
		return replayErr(lsn, mr.Name, "", "", "module record: %v", err)
	}
	old := r.modules[mr.Name]
	if old == nil {
		if err := r.checkSubs(m, nil); err != nil {
			return replayErr(lsn, mr.Name, "", "", "%v", err)
		}
		r.addModuleLocked(m, lsn)
		return nil
	}
	if old.info.Version == m.info.Version && old.info.WasmSHA256 == m.info.WasmSHA256 {
		return replayErr(lsn, mr.Name, "", "", "module %s %s loaded twice (a transaction applied twice?)", mr.Name, mr.Version)
	}
	plan, err := r.planUpgrade(old, m)
	if err != nil {
		return replayErr(lsn, mr.Name, "", "", "upgrade %s -> %s: %v", old.info.Version, m.info.Version, err)
	}
	r.installUpgradeLocked(plan, lsn)
	return nil
}

// loadSnapshot restores modules and rows from a snapshot body.
func (r *Runtime) loadSnapshot(lsn uint64, body []byte) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = &Error{Code: CodeInternal, Msg: fmt.Sprintf("snapshot at lsn %d: malformed body: %v", lsn, x)}
		}
	}()
	s, err := record.ReadSnapshot(body)
	if err != nil {
		return &Error{Code: CodeInternal, Msg: fmt.Sprintf("snapshot at lsn %d: %v", lsn, err)}
	}
	if s.LSN() != lsn {
		return &Error{Code: CodeInternal, Msg: fmt.Sprintf("snapshot file at lsn %d holds a body for lsn %d", lsn, s.LSN())}
	}
	for _, mr := range s.Modules() {
		m, err := newRestoredModule(mr)
		if err != nil {
			return &Error{Code: CodeInternal, Module: mr.Name, Msg: fmt.Sprintf("snapshot at lsn %d: module record", lsn), Err: err}
		}
		if r.modules[m.info.Name] != nil {
			return &Error{Code: CodeInternal, Module: mr.Name, Msg: fmt.Sprintf("snapshot at lsn %d lists the module twice", lsn)}
		}
		r.addModuleLocked(m, lsn)
	}
	for i := 0; i < s.Tables(); i++ {
		ts := s.Table(i)
		modName, tblName := ts.Module(), ts.Name()
		m := r.modules[modName]
		var tb *table
		if m != nil {
			tb = m.tableByName[tblName]
		}
		if tb == nil {
			return &Error{Code: CodeInternal, Module: modName, Table: tblName, Msg: fmt.Sprintf("snapshot at lsn %d: rows of an unknown table", lsn)}
		}
		// Rows are written in key order: append them to the tree's right
		// edge (appender). Out of order (never from Snapshot), or for a
		// table listed twice, they are inserted one by one. Rows are
		// checked and copied in parallel, a chunk at a time
		// (recovery.CheckSnapshotRows), and added in order.
		var app *store.Appender
		if tb.Tree.Len() == 0 {
			app = store.NewAppender(tb.Tree)
		}
		n := ts.Rows()
		es := make([]entry, min(n, recovery.SnapshotChunk))
		rtb := recoveryTable(tb)
		for lo := 0; lo < n; lo += recovery.SnapshotChunk {
			chunk := es[:min(n-lo, recovery.SnapshotChunk)]
			if j, err := recovery.CheckSnapshotRows(&ts, lo, rtb, chunk); err != nil {
				return &Error{Code: CodeInternal, Module: modName, Table: tblName, Column: row.Column(err, tb.names), Msg: fmt.Sprintf("snapshot at lsn %d: row %d", lsn, j), Err: err}
			}
			for i, e := range chunk {
				if app != nil && (tb.Tree.Len() == 0 || e.Key > app.Last()) {
					app.Append(e)
				} else {
					if app != nil {
						app.Finish()
						app = nil
					}
					if _, dup := tb.Tree.ReplaceOrInsert(e); dup {
						return &Error{Code: CodeInternal, Module: modName, Table: tblName, Msg: fmt.Sprintf("snapshot at lsn %d: duplicate key in row %d", lsn, lo+i)}
					}
				}
			}
			r.replayStats.SnapshotRows += int64(len(chunk))
			clear(chunk)
		}
		if app != nil {
			app.Finish()
		}
	}
	lc := r.commit.(*logCommitter)
	lc.lastTS = s.Timestamp()
	return nil
}

// SnapshotInfo describes a snapshot written by Snapshot.
type SnapshotInfo struct {
	LSN    uint64 // the state after this transaction
	File   string // path of the snapshot file
	Tables int
	Rows   int64
	Bytes  int64 // body size
	// Removed lists the log segments and snapshots deleted by retention.
	Removed []string
}

// Snapshot writes the state (every module record and every table's rows)
// at the last committed LSN to dir/snapshots as a checksummed file, after
// that LSN is durable. It then prunes old snapshots (keeping
// WithKeepSnapshots) and lets the log's retention delete segments that the
// oldest snapshot kept covers. Calls go on while it encodes and writes:
// it copies the tables' B-trees (copy-on-write) under the executor lock.
// With nothing committed since the last snapshot it writes nothing and
// returns that snapshot's LSN.
func (r *Runtime) Snapshot() (SnapshotInfo, error) {
	if r.dir == nil {
		if err := r.usable(); err != nil {
			return SnapshotInfo{}, err
		}
		return SnapshotInfo{}, &Error{Code: CodeUnsupported, Msg: "snapshots need a data directory (Config.WithDataDir)"}
	}
	if r.cfg.replicator != nil {
		return SnapshotInfo{}, &Error{Code: CodeUnsupported, Msg: "a replicated runtime takes no snapshot of its own (its state may hold proposals the replication has not committed)"}
	}
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	r.execMu.Lock()
	if err := r.usable(); err != nil {
		r.execMu.Unlock()
		return SnapshotInfo{}, err
	}
	lsn, ts := r.commit.last()
	if lsn == 0 || lsn == r.dir.LastSnapshot() {
		r.execMu.Unlock()
		return SnapshotInfo{LSN: lsn}, nil
	}
	type tcopy struct {
		mod, name string
		tree      *btree.BTreeG[entry]
	}
	var mods []*moduleRecord
	var tables []tcopy
	r.stateMu.Lock() // Clone marks the original's nodes shared
	for _, m := range r.order {
		mods = append(mods, &moduleRecord{Name: m.info.Name, Version: m.info.Version, Schema: m.schema, WasmSHA256: append([]byte(nil), m.info.WasmSHA256[:]...)})
		for _, t := range m.tables {
			tables = append(tables, tcopy{m.info.Name, t.name, t.Tree.Clone()})
		}
	}
	r.stateMu.Unlock()
	r.sinceTxns, r.sinceBytes = 0, 0
	r.execMu.Unlock()

	if err := r.log.Wait(lsn); err != nil {
		r.poison(err)
		return SnapshotInfo{}, &Error{Code: CodePoisoned, Msg: "snapshot: the log failed", Err: err}
	}
	info := SnapshotInfo{LSN: lsn, Tables: len(tables)}
	e := record.NewSnapshotEncoder()
	for _, mr := range mods {
		e.Module(mr)
	}
	for _, tc := range tables {
		tc.tree.Ascend(func(en entry) bool {
			e.Row(en.Row)
			return true
		})
		info.Rows += int64(e.EndTable(tc.mod, tc.name))
	}
	body := e.Finish(lsn, ts)
	info.Bytes = int64(len(body))
	file, removed, err := r.dir.WriteSnapshot(r.log, lsn, body)
	info.File, info.Removed = file, removed
	if err != nil {
		return info, logErr("snapshot", err)
	}
	return info, nil
}
