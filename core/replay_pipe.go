package core

import (
	"sync"
	"sync/atomic"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// Replay runs on two goroutines. The log's goroutine (replayer.record)
// reads each record (read, CRC32C, decode) and finds each mutation's table
// in the schema in force: the part that needs the mapped log and the
// module registry. It copies each row into a batch and hands full batches
// to the stager goroutine, which checks every row against its table's
// schema, extracts its key, copies it into its own allocation and stages
// it (stage.insert / stage.add). The two halves cost about the same, so on
// two cores Open replays faster than one goroutine doing both
// (RATIONALE.md, "Replay speed").
//
// Ownership: while it runs, the stager alone touches the stages' contents
// and the tables' trees; the log's goroutine alone touches everything else
// (the stage map, the module registry, the counters). Whatever needs both
// (a ModuleLoad record's flush and upgrade, the final flush) first waits
// for the stager to drain (replayer.drain).
//
// Errors: a row that does not match its schema stops the stager (it stages
// nothing after it) and the log's goroutine stops at its next record. The
// error reported is the first in log order, as one-by-one replay would
// have reported it (replayer.finish).

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
	cur     *replayBatch
	work    chan *replayBatch
	free    chan *replayBatch
	pending sync.WaitGroup // batches sent and not yet staged
	done    chan struct{}  // closed when the stager exits
	failed  atomic.Bool    // the stager stopped at err
	err     *replayFault   // the stager's error (read after drain)
	key     []byte         // the stager's key scratch
}

// start starts the stager goroutine.
func (p *replayer) start() {
	q := &p.pipe
	q.work = make(chan *replayBatch, replayBatches)
	q.free = make(chan *replayBatch, replayBatches)
	for range replayBatches {
		q.free <- &replayBatch{ops: make([]replayOp, 0, replayBatchOps), arena: make([]byte, 0, replayBatchBytes)}
	}
	q.done = make(chan struct{})
	go q.stager()
}

// send queues one mutation for the stager. It returns the stager's error
// once the stager has stopped at one, so the replay stops soon after.
func (p *replayer) send(s *stage, op fb.Op, lsn uint64, idx uint32, buf []byte) error {
	q := &p.pipe
	if q.failed.Load() {
		return p.drain()
	}
	if q.cur == nil {
		q.cur = <-q.free
	}
	b := q.cur
	r0 := uint32(len(b.arena))
	b.arena = append(b.arena, buf...)
	b.ops = append(b.ops, replayOp{s: s, lsn: lsn, idx: idx, r0: r0, r1: uint32(len(b.arena)), op: op})
	if len(b.ops) == replayBatchOps || len(b.arena) >= replayBatchBytes {
		p.flushBatch()
	}
	return nil
}

func (p *replayer) flushBatch() {
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

// drain returns once the stager has handled every mutation sent, with its
// error if it stopped at one.
func (p *replayer) drain() error {
	p.flushBatch()
	p.pipe.pending.Wait()
	if f := p.pipe.err; f != nil {
		return f.err
	}
	return nil
}

// stop drains and stops the stager and returns its fault, if any.
func (p *replayer) stop() *replayFault {
	q := &p.pipe
	if q.work != nil {
		p.drain()
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
func (q *replayPipe) stageBatch(b *replayBatch) (fault *replayFault) {
	var o *replayOp
	defer func() {
		if x := recover(); x != nil {
			fault = &replayFault{lsn: o.lsn, idx: o.idx, err: replayErr(o.lsn, "", "", "", "staging mutation %d: %v", o.idx, x)}
		}
	}()
	for i := range b.ops {
		o = &b.ops[i]
		buf := b.arena[o.r0:o.r1]
		t := o.s.t
		key, err := row.CheckKey(q.key[:0], buf, t.types, t.pk)
		if err != nil {
			what := "row"
			if o.op == fb.OpDelete {
				what = "old_row"
			}
			return &replayFault{lsn: o.lsn, idx: o.idx, err: replayErr(o.lsn, t.mod.info.Name, t.name, errColumn(err, t.names), "%s does not match schema version %s: %v", what, t.mod.info.Version, err)}
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
