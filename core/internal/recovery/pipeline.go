package recovery

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// Replay runs on two goroutines. The caller's (the runtime reading the
// log) reads each record (read, CRC32C, decode) and finds each mutation's
// table in the schema in force: the part that needs the mapped log and the
// module registry. Send copies each row into a batch and hands full
// batches to the stager goroutine, which checks every row against its
// table's schema, extracts its key, copies it into its own allocation and
// stages it (stage.insert / stage.add). The two halves cost about the
// same, so on two cores Open replays faster than one goroutine doing both
// (core/RATIONALE.md, "Replay speed").
//
// Ownership: while it runs, the stager alone touches the stages' contents
// and the tables' trees; the caller's goroutine alone touches everything
// else (the stage map, the module registry, the counters). Whatever needs
// both (a ModuleLoad record's flush and upgrade, the final flush) first
// waits for the stager to drain (Drain, FlushModule, Finish).
//
// Errors: a row that does not match its schema stops the stager (it stages
// nothing after it) and Send returns its fault at the next mutation. The
// error reported is the first in log order, as one-by-one replay would
// have reported it (Finish).

const (
	replayBatchOps   = 1024    // mutations per batch
	replayBatchBytes = 1 << 18 // or this many bytes of rows
	replayBatches    = 4       // batches in flight or free
)

// replayOp is one mutation in a batch: its row (for a delete, the old
// row) is arena[r0:r1].
type replayOp struct {
	s      *stage
	lsn    uint64
	idx    uint32
	r0, r1 uint32
	op     fb.Op
}

type replayBatch struct {
	ops   []replayOp
	arena []byte
}

type replayPipe struct {
	batchOps, batchBytes int // a batch's size (replayBatchOps, or small)
	cur                  *replayBatch
	work                 chan *replayBatch
	free                 chan *replayBatch
	pending              sync.WaitGroup // batches sent and not yet staged
	done                 chan struct{}  // closed when the stager exits
	failed               atomic.Bool    // the stager stopped at err
	err                  *Fault         // the stager's error (read after drain)
	key                  []byte         // the stager's key scratch
}

// Applier stages and applies the mutations of a replay (see stage.go and
// above). Use it from one goroutine: Stage and Send for each mutation,
// FlushModule before a module's schema changes, Finish at the end.
type Applier struct {
	// Mutations waiting for their table's flush, by table and in the
	// order the tables were first mutated.
	stages map[*store.Table]*stage
	order  []*stage
	fault  *Fault // the first mutation found not to apply
	pipe   replayPipe
}

// Stage is the stage of one table (Applier.Stage).
type Stage = stage

// NewApplier starts an applier and its stager goroutine, with batches
// sized for a replay (1,024 mutations, 256 KiB of rows).
func NewApplier() *Applier {
	p := &Applier{}
	p.start(replayBatchOps, replayBatchBytes)
	return p
}

// NewSmallApplier is NewApplier for a few records (a replica applying one
// committed unit): batches of 64 mutations or 16 KiB, so that starting one
// does not clear a MiB of buffers.
func NewSmallApplier() *Applier {
	p := &Applier{}
	p.start(64, 16<<10)
	return p
}

// Stage returns t's stage, made on t's first mutation.
func (p *Applier) Stage(t *Table) *Stage {
	s := p.stages[t.Table]
	if s == nil {
		if p.stages == nil {
			p.stages = map[*store.Table]*stage{}
		}
		s = &stage{t: t, sorted: true}
		p.stages[t.Table] = s
		p.order = append(p.order, s)
	}
	return s
}

// FlushModule drains the stager and applies the staged mutations of
// module's tables (before a ModuleLoad record changes its schema). It
// returns the first fault found so far.
func (p *Applier) FlushModule(module string) error {
	if err := p.Drain(); err != nil {
		return err
	}
	kept := p.order[:0]
	for _, s := range p.order {
		if s.t.Module != module {
			kept = append(kept, s)
			continue
		}
		delete(p.stages, s.t.Table)
		if f := s.flush(p.fault == nil); f != nil && f.before(p.fault) {
			p.fault = f
		}
	}
	clear(p.order[len(kept):])
	p.order = kept
	if p.fault != nil {
		return p.fault
	}
	return nil
}

// Finish stops the stager and applies every table's staged mutations
// (only checks them when build is false: the replay failed), and returns
// the first mutation, in log order, that did not apply: it comes before
// wherever the replay stopped, so it is the error to report.
func (p *Applier) Finish(build bool) error {
	if f := p.stop(); f != nil && f.before(p.fault) {
		p.fault = f
	}
	for _, s := range p.order {
		if f := s.flush(build && p.fault == nil); f != nil && f.before(p.fault) {
			p.fault = f
		}
	}
	p.order, p.stages = nil, nil
	if p.fault != nil {
		return p.fault
	}
	return nil
}

// start starts the stager goroutine.
func (p *Applier) start(ops, bytes int) {
	q := &p.pipe
	q.batchOps, q.batchBytes = ops, bytes
	q.work = make(chan *replayBatch, replayBatches)
	q.free = make(chan *replayBatch, replayBatches)
	for range replayBatches {
		q.free <- &replayBatch{ops: make([]replayOp, 0, ops), arena: make([]byte, 0, bytes)}
	}
	q.done = make(chan struct{})
	go q.stager()
}

// Send queues one mutation of s's table for the stager: its row (for a
// delete, the old row), copied. It returns the stager's fault once the
// stager has stopped at one, so the replay stops soon after.
func (p *Applier) Send(s *Stage, op fb.Op, lsn uint64, idx uint32, buf []byte) error {
	q := &p.pipe
	if q.failed.Load() {
		return p.Drain()
	}
	if q.cur == nil {
		q.cur = <-q.free
	}
	b := q.cur
	r0 := uint32(len(b.arena))
	b.arena = append(b.arena, buf...)
	b.ops = append(b.ops, replayOp{s: s, lsn: lsn, idx: idx, r0: r0, r1: uint32(len(b.arena)), op: op})
	if len(b.ops) == q.batchOps || len(b.arena) >= q.batchBytes {
		p.flushBatch()
	}
	return nil
}

func (p *Applier) flushBatch() {
	q := &p.pipe
	if q.cur == nil {
		return
	}
	if len(q.cur.ops) == 0 {
		q.free <- q.cur
	} else {
		q.pending.Add(1)
		q.work <- q.cur
	}
	q.cur = nil
}

// Drain returns once the stager has handled every mutation sent, with its
// fault if it stopped at one.
func (p *Applier) Drain() error {
	p.flushBatch()
	p.pipe.pending.Wait()
	if f := p.pipe.err; f != nil {
		return f
	}
	return nil
}

// stop drains and stops the stager and returns its fault, if any.
func (p *Applier) stop() *Fault {
	q := &p.pipe
	if q.work != nil {
		p.Drain()
		close(q.work)
		<-q.done
		q.work = nil
	}
	return q.err
}

func (q *replayPipe) stager() {
	defer close(q.done)
	for b := range q.work {
		if q.err == nil {
			if q.err = q.stageBatch(b); q.err != nil {
				q.failed.Store(true)
			}
		}
		b.ops, b.arena = b.ops[:0], b.arena[:0]
		q.free <- b
		q.pending.Done()
	}
}

// stageBatch checks and stages the mutations of b in order, and stops at
// the first row that does not match its table's schema. A panic (a bug)
// becomes an internal error rather than a crash of the process from a
// goroutine nobody can recover.
func (q *replayPipe) stageBatch(b *replayBatch) (fault *Fault) {
	var o *replayOp
	defer func() {
		if x := recover(); x != nil {
			fault = &Fault{LSN: o.lsn, Idx: o.idx, Msg: fmt.Sprintf("staging mutation %d: %v", o.idx, x)}
		}
	}()
	for i := range b.ops {
		o = &b.ops[i]
		buf := b.arena[o.r0:o.r1]
		t := o.s.t
		key, err := row.CheckKey(q.key[:0], buf, t.Types, t.PK)
		if err != nil {
			what := "row"
			if o.op == fb.OpDelete {
				what = "old_row"
			}
			return &Fault{LSN: o.lsn, Idx: o.idx, Module: t.Module, Table: t.Name, Column: row.Column(err, t.Names),
				Msg: fmt.Sprintf("%s does not match schema version %s: %v", what, t.Version, err)}
		}
		q.key = key
		switch o.op {
		case fb.OpInsert:
			o.s.insert(key, buf, o.lsn, o.idx)
		case fb.OpUpdate:
			o.s.add(newStagedOp(store.NewEntry(key, buf), o.lsn, o.idx, o.op))
		default:
			o.s.add(newStagedOp(entry{Key: store.OwnedKey(key)}, o.lsn, o.idx, o.op))
		}
	}
	return nil
}
