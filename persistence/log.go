package persistence

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Log is an open transaction log: a directory of segment files holding
// checksummed, LSN-chained records. It is safe for concurrent use.
//
// Appends from many goroutines are committed in groups: whoever finds no
// write in flight becomes the leader, takes every frame queued so far,
// writes them with one write and makes them durable with one fdatasync,
// then wakes the others. Nobody returns before its bytes are durable (under
// SyncAlways). Append is Enqueue (assign the LSN, queue the frame) plus
// Wait (lead or await the write); callers that serialize their own work
// call the two halves separately.
//
// A writable Log holds the directory's lock (see Open) until Close.
type Log struct {
	dir  string
	opts Options
	fsys FS
	ro   bool

	mu       sync.Mutex
	cond     sync.Cond
	segs     []segInfo // every segment; the last one is active
	f        File      // active segment
	pend     []byte    // frames queued for the next write
	spare    []byte    // the buffer of the previous write, reused
	nextLSN  uint64    // LSN the next Append gets
	acked    uint64    // last LSN written (and synced under SyncAlways)
	writeOff int64     // active segment offset after the last written frame
	filled   int64     // active segment bytes written, frames or zeros (zeroFill)
	flushing bool      // a leader is gathering, writing, syncing or rotating
	stats    Stats
	// Group commit (gatherLocked): a leader about to write waits briefly
	// for the group of the previous write to re-form.
	gather     sync.Cond     // the gathering leader waits here
	gatherWant uint64        // nonzero while gathering: queued records that end the wait
	taken      uint64        // last LSN handed to a write
	group      uint64        // records the next write expects: last write's plus those queued behind it
	lastSync   time.Duration // duration of the last fdatasync
	dirty      bool          // written but not synced
	closed     bool
	lock       io.Closer // the directory lock; nil when read-only
	err        error     // poison: wraps ErrPoisoned
	corrupt    error     // sticky corruption seen by Replay
	torn       *Problem  // read-only: the torn tail left in place
	// retainErr is the error of the last retention run, reported by Rotate.
	// A failed deletion loses nothing, so it does not poison the log.
	retainErr error

	protected atomic.Uint64
	stop      chan struct{}
	stopped   chan struct{}
}

// Open opens the log in dir, creating dir and a first segment (LSN 1) if
// there is none, and recovers it according to opts.Recovery:
//
//   - leftover "*.log.tmp" files of an interrupted segment creation are
//     deleted (not under RecoverReadOnly);
//   - every segment header is checked (ErrVersion, ErrCorrupt);
//   - the last segment is read and verified frame by frame. A torn tail is
//     cut off after its bytes are saved to "<segment>.broken"
//     (RecoverTruncateTail), refused with ErrTornTail (RecoverStrict) or left
//     in place unread (RecoverReadOnly). Corruption is ErrCorrupt in every
//     mode.
//
// Sealed segments are verified when they are read (Replay, NewReader,
// Validate), not at Open, so Open costs one segment's read.
//
// In the writable modes Open first takes an exclusive lock on "<dir>/LOCK"
// (flock, held until Close): a second writable Open of the same directory,
// in this process or another, fails at once with ErrLocked naming the
// directory. RecoverReadOnly takes no lock (see NewReader for what a reader
// of a live log sees).
func Open(dir string, opts Options) (_ *Log, err error) {
	sizeGiven := opts.SegmentSize != 0
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opts: o, fsys: o.FS, ro: o.Recovery == RecoverReadOnly}
	l.cond.L = &l.mu
	l.gather.L = &l.mu
	if !l.ro {
		if err := l.fsys.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("persistence: create log directory: %w", err)
		}
		if l.lock, err = lockDir(l.fsys, dir); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil && l.lock != nil {
				l.lock.Close()
			}
		}()
	}
	segs, tmps, err := listSegments(l.fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("persistence: list log directory: %w", err)
	}
	if !l.ro && len(tmps) > 0 {
		for _, t := range tmps {
			if err := l.fsys.Remove(filepath.Join(dir, t)); err != nil {
				return nil, fmt.Errorf("persistence: remove leftover %s: %w", t, err)
			}
		}
		if err := l.fsys.SyncDir(dir); err != nil {
			return nil, fmt.Errorf("persistence: fsync directory: %w", err)
		}
	}
	for _, s := range segs {
		if _, err := readSegmentHeader(l.fsys, dir, s); err != nil {
			return nil, err
		}
	}
	if !sizeGiven && len(segs) > 0 {
		// The log's own segment size (segsize.go), not the default.
		if n, ok := storedSegmentSize(l.fsys, dir, segs[len(segs)-1]); ok {
			l.opts.SegmentSize = n
		}
	}
	if len(segs) == 0 {
		if l.ro {
			l.nextLSN = 1
			return l, nil
		}
		f, err := createSegment(l.fsys, dir, 1, o.SegmentSize)
		if err != nil {
			return nil, err
		}
		l.segs = []segInfo{{name: segmentName(1), first: 1}}
		l.f, l.writeOff, l.filled, l.nextLSN = f, segHeaderSize, segHeaderSize, 1
	} else if err := l.recoverLast(segs); err != nil {
		return nil, err
	}
	l.acked = l.nextLSN - 1
	l.taken = l.acked
	if !l.ro && o.Sync == SyncInterval {
		l.stop, l.stopped = make(chan struct{}), make(chan struct{})
		go l.syncLoop()
	}
	return l, nil
}

// recoverLast reads and verifies the last segment and makes it active.
func (l *Log) recoverLast(segs []segInfo) error {
	last := segs[len(segs)-1]
	path := filepath.Join(l.dir, last.name)
	flag := os.O_RDWR
	if l.ro {
		flag = os.O_RDONLY
	}
	f, err := l.fsys.OpenFile(path, flag, 0)
	if err != nil {
		return fmt.Errorf("persistence: open segment %s: %w", last.name, err)
	}
	data, _, release, err := segmentBytes(f, nil, -1)
	if err != nil {
		f.Close()
		return fmt.Errorf("persistence: read segment %s: %w", last.name, err)
	}
	defer release()
	if l.opts.Progress != nil {
		l.opts.Progress(int64(len(data)), int64(len(data)))
	}
	h, err := decodeSegHeader(data, last.name)
	if err != nil {
		f.Close()
		return err
	}
	it := newFrameIter(last.name, data, h, true, l.opts.Check)
	end := segHeaderSize
	scan := func() {
		for {
			_, off, payload, ok := it.next()
			if !ok {
				break
			}
			end = off + frameSize(len(payload))
		}
	}
	if l.ro {
		// No lock: a live writer may shrink the segment under the mapping.
		if err := guardMapped(last.name, scan); err != nil {
			f.Close()
			return err
		}
	} else {
		scan()
	}
	if it.err != nil {
		f.Close()
		return it.err
	}
	if it.torn != nil {
		switch l.opts.Recovery {
		case RecoverStrict:
			f.Close()
			return it.torn.Err
		case RecoverReadOnly:
			l.torn = it.torn
		default:
			if _, err := cutTail(l.fsys, l.dir, last.name, f, data, it.torn.Offset); err != nil {
				f.Close()
				return err
			}
		}
	}
	if !l.ro {
		// A segment preallocated whole keeps its length as its size
		// (segsize.go): restore it. One preallocated in steps grows as it
		// is written (zeroFillLocked).
		size, err := f.Size()
		whole := h.sizeKiB == 0
		if err == nil && whole && size < l.opts.SegmentSize {
			if err = f.Allocate(l.opts.SegmentSize); err == nil {
				err = f.Sync()
			}
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("persistence: preallocate segment %s: %w", last.name, err)
		}
	}
	l.segs = segs
	l.f = f
	l.writeOff = int64(end)
	l.filled = l.writeOff
	l.nextLSN = it.want
	if !l.ro && h.version < formatVersion {
		return l.upgradeActive()
	}
	return nil
}

// upgradeActive gives a log written by an older build an active segment
// of this build's format version, so that every frame it appends may use
// that version's features (batches) and an older build refuses the
// segment (ErrVersion) instead of misreading it. An empty active segment
// is replaced by a new one (createSegment renames over it atomically); one
// holding records is sealed and a new segment follows it (rotation steps
// 1-4). The older segments stay as they are and are read as before.
func (l *Log) upgradeActive() error {
	cur := l.segs[len(l.segs)-1]
	var nf File
	var err error
	if l.writeOff <= segHeaderSize {
		l.f.Close()
		l.f = nil
		nf, err = createSegment(l.fsys, l.dir, cur.first, l.opts.SegmentSize)
	} else {
		nf, err = l.rotateIO(l.f, cur.name, l.writeOff, l.nextLSN)
		if err == nil {
			l.f.Close()
			l.segs = append(l.segs, segInfo{name: segmentName(l.nextLSN), first: l.nextLSN})
		}
	}
	if err != nil {
		if l.f != nil {
			l.f.Close()
		}
		return fmt.Errorf("persistence: start a version %d segment after %s: %w", formatVersion, cur.name, err)
	}
	l.f, l.writeOff, l.filled = nf, segHeaderSize, segHeaderSize
	return nil
}

// Append appends p as the next record and returns its LSN. Under
// SyncAlways it returns only after the record is durable. If it returns an
// error the record must be treated as not committed; after a write or sync
// failure every later call returns ErrPoisoned. A payload larger than
// MaxRecordSize (ErrRecordTooLarge), an empty one, or one refused by
// Options.Check (ErrBadRecord) leaves the log as it was.
func (l *Log) Append(p Payload) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lsn, err := l.enqueueLocked(p)
	if err != nil {
		return 0, err
	}
	return lsn, l.waitLocked(lsn, true)
}

// enqueueLocked assigns the next LSN to p and queues its frame.
func (l *Log) enqueueLocked(p Payload) (uint64, error) {
	if err := l.writableLocked(); err != nil {
		return 0, err
	}
	lsn := l.nextLSN
	pend, err := appendFrame(l.pend, lsn, p, l.opts.Check, false)
	l.pend = pend
	if err != nil {
		return 0, fmt.Errorf("persistence: record lsn %d: %w", lsn, err)
	}
	l.nextLSN++
	l.wakeGatherLocked()
	return lsn, nil
}

// Enqueue assigns p the next LSN and queues its frame behind every record
// enqueued or appended before it, without waiting for any I/O. It is the
// first half of Append, for a caller that must order its records under its
// own lock but wait for durability outside it:
//
//	mu.Lock()
//	apply(tx)                // e.g. run a reducer against in-memory state
//	lsn, err := log.Enqueue(tx)
//	mu.Unlock()
//	if err == nil {
//		err = log.Wait(lsn) // group commit with everyone else waiting
//	}
//
// The record is not committed until Wait(lsn) returns nil: until then a
// crash may lose it, and a failed write or fdatasync fails it. Records are
// written in LSN order, so when Wait(lsn) returns nil every lower LSN is
// durable too, and when a write fails every record at or after the failed
// batch fails (later Enqueues return ErrPoisoned). A queued record is
// written by the next flush, led by any Wait, Append, Sync, Rotate or
// Close (or, under SyncInterval, the background sync).
//
// Enqueue costs p.AppendPayload, Options.Check and a CRC of the frame
// under the log's lock; it never blocks on I/O.
func (l *Log) Enqueue(p Payload) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enqueueLocked(p)
}

// NextLSN returns the LSN the next Append or Enqueue will assign. A
// caller that is the log's only writer (it serializes its appends) can
// use it to know a record's LSN before it makes the record.
func (l *Log) NextLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextLSN
}

// Wait returns nil once the record lsn (returned by Enqueue) is
// acknowledged under the sync policy: written and fdatasynced under
// SyncAlways, written to the operating system under SyncInterval and
// SyncNone. If no write is in flight, the caller leads one for every
// record queued so far (one write, one fdatasync); otherwise it waits for
// the write in flight and then for the next one, which drains everything
// queued meanwhile. It returns the poison error (wrapping ErrPoisoned and
// the I/O error) if the write or fdatasync covering lsn failed, and
// ErrClosed if the log was closed without lsn being written. Waiting for an
// lsn that is already acknowledged returns nil at once, even after Close.
// Waiting for an lsn never enqueued is an error.
func (l *Log) Wait(lsn uint64) error { return l.wait(lsn, true) }

// WaitNow is Wait for a single pipelined waiter that keeps records
// flowing (an executor): it leads a write at once with whatever is queued
// instead of first waiting for the previous write's group to re-form
// (gatherLocked), so the records queued during one fdatasync are written
// by the next (persistence/RATIONALE.md, "Why does the leader wait for
// its group?").
func (l *Log) WaitNow(lsn uint64) error { return l.wait(lsn, false) }

func (l *Log) wait(lsn uint64, gather bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lsn == 0 || lsn >= l.nextLSN {
		return fmt.Errorf("persistence: wait for lsn %d, which was never enqueued (next lsn %d)", lsn, l.nextLSN)
	}
	return l.waitLocked(lsn, gather)
}

// AppendBatch appends ps as consecutive records with one write and one
// fdatasync and returns the first LSN: EnqueueBatch followed by Wait of
// its last LSN. Either every record of the batch is acknowledged or the
// call fails, and a crash never leaves part of it (EnqueueBatch).
func (l *Log) AppendBatch(ps []Payload) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, err := l.enqueueBatchLocked(ps)
	if err != nil || len(ps) == 0 {
		return first, err
	}
	if err := l.waitLocked(first+uint64(len(ps))-1, true); err != nil {
		return 0, err
	}
	return first, nil
}

// EnqueueBatch is Enqueue for a batch: it assigns ps consecutive LSNs and
// queues their frames as one unit, which readers deliver whole or not at
// all. Every frame but the last carries the batch flag (doc.go), one write
// carries the whole batch into one segment, and a batch whose last frame
// did not reach the disk is a torn tail cut whole by Open, never read in
// part. It returns the first LSN; Wait of the last one (first+len(ps)-1)
// waits for all of them. A payload that is too large, empty or refused by
// Options.Check fails the batch before anything is queued. An empty batch
// queues nothing and returns 0.
func (l *Log) EnqueueBatch(ps []Payload) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enqueueBatchLocked(ps)
}

func (l *Log) enqueueBatchLocked(ps []Payload) (uint64, error) {
	if len(ps) == 0 {
		return 0, nil
	}
	if err := l.writableLocked(); err != nil {
		return 0, err
	}
	first, start := l.nextLSN, len(l.pend)
	for i, p := range ps {
		pend, err := appendFrame(l.pend, first+uint64(i), p, l.opts.Check, i < len(ps)-1)
		l.pend = pend
		if err != nil {
			l.pend = l.pend[:start]
			return 0, fmt.Errorf("persistence: record %d of the batch (lsn %d): %w", i, first+uint64(i), err)
		}
	}
	l.nextLSN += uint64(len(ps))
	l.wakeGatherLocked()
	return first, nil
}

// idleLocked waits until no write is in flight, for a caller about to
// write itself (Sync, Rotate), and returns why the log cannot be written
// (closed, read-only, poisoned), if it cannot.
func (l *Log) idleLocked() error {
	if err := l.writableLocked(); err != nil {
		return err
	}
	for l.flushing {
		l.cond.Wait()
	}
	return l.err
}

func (l *Log) writableLocked() error {
	switch {
	case l.closed:
		return ErrClosed
	case l.ro:
		return ErrReadOnly
	case l.err != nil:
		return l.err
	case l.corrupt != nil:
		return l.corrupt
	}
	return nil
}

// waitLocked returns once lsn is acknowledged, leading writes as needed
// (after gathering the group first when gather is set).
func (l *Log) waitLocked(lsn uint64, gather bool) error {
	for l.acked < lsn {
		switch {
		case l.err != nil:
			return l.err
		case l.flushing:
			l.cond.Wait()
		case l.closed:
			// Close flushes everything queued, so this is reached only if the
			// log was closed before lsn was enqueued (a Wait racing Close).
			return ErrClosed
		default:
			if gather {
				l.gatherLocked()
			}
			l.flushLocked(false, false)
		}
	}
	return nil
}

// zeroFillChunk is how far ahead of the frames the active segment is
// written with zeros (zeroFillLocked).
const zeroFillChunk = 1 << 20

var zeroChunk = make([]byte, zeroFillChunk)

// zeroFillLocked returns the offset up to which a write ending at end
// should also write zeros: the next zeroFillChunk boundary when end passes
// what was written before, within the segment's size; otherwise end
// (nothing to add). In a segment preallocated in steps (preallocStep)
// these zeros are also what grows the file, a chunk ahead of the frames.
//
// Why: the segment is preallocated with fallocate, whose blocks stay
// "unwritten" until data lands in them, and the fdatasync after a write
// into one must also commit its conversion in the file system's journal
// (ext4). A batch of a few KiB touches new blocks on almost every write and
// its fdatasync cost 25-40% more than one into written blocks here
// (persistence/RATIONALE.md). Writing zeros a chunk ahead converts a MiB at
// a time, in a write that the same fdatasync makes durable. The zeros are
// what the unwritten blocks read as anyway, so recovery, Validate and the
// readers see exactly what they saw before.
func (l *Log) zeroFillLocked(end int64) int64 {
	if end <= l.filled || end >= l.opts.SegmentSize {
		return end
	}
	return min((end/zeroFillChunk+1)*zeroFillChunk, l.opts.SegmentSize)
}

// maxGather bounds a leader's wait for its group (gatherLocked).
const maxGather = time.Millisecond

// gatherLocked is what a leader does before it writes under SyncAlways:
// if the previous write's group (the records it acknowledged plus those
// queued behind it) has not re-formed in the queue yet, it waits for it, at
// most the last fdatasync's duration (and never over maxGather).
//
// Why: the callers one fdatasync acknowledges come back together and
// enqueue one after another. A leader that wrote at once would carry only
// the first of them, the rest would queue behind its fdatasync, and
// batches would alternate between one record and all the others: half the
// throughput the group could have (persistence/RATIONALE.md). A lone
// writer has a group of one and never waits.
func (l *Log) gatherLocked() {
	want := l.group
	if l.opts.Sync != SyncAlways || want <= 1 || l.nextLSN-1-l.taken >= want {
		return
	}
	// One fdatasync, not half: callers that enter through cgo (C, Python,
	// Node) come back on OS threads that must each be woken, which takes
	// longer than half a sync on 2 cores (persistence/RATIONALE.md).
	d := min(l.lastSync, maxGather)
	if d <= 0 {
		return
	}
	l.flushing = true // other waiters wait for this leader's write
	l.stats.Gathers++
	l.gatherWant = want
	expired := false
	t := time.AfterFunc(d, func() {
		l.mu.Lock()
		expired = true
		l.gather.Signal()
		l.mu.Unlock()
	})
	for !expired && l.nextLSN-1-l.taken < want {
		l.gather.Wait()
	}
	t.Stop()
	l.gatherWant = 0
	l.flushing = false
}

// wakeGatherLocked wakes a gathering leader once its group is queued.
func (l *Log) wakeGatherLocked() {
	if l.gatherWant > 0 && l.nextLSN-1-l.taken >= l.gatherWant {
		l.gather.Signal()
	}
}

// flushLocked writes every queued frame with one write, makes it durable
// with one fdatasync (under SyncAlways or when forceSync), acknowledges it,
// and rotates when the segment passed SegmentSize (or when forceRotate). It
// is called with l.mu held and !l.flushing; it releases l.mu while doing
// I/O and holds it again on return.
func (l *Log) flushLocked(forceSync, forceRotate bool) {
	l.flushing = true
	buf := l.pend
	l.pend, l.spare = l.spare[:0], nil
	last := l.nextLSN - 1
	l.taken = last
	off := l.writeOff
	f := l.f
	seg := l.segs[len(l.segs)-1].name
	doSync := forceSync || l.opts.Sync == SyncAlways
	zeroTo := l.zeroFillLocked(off + int64(len(buf)))
	l.mu.Unlock()

	var err error
	if len(buf) > 0 {
		if _, werr := f.WriteAt(buf, off); werr != nil {
			err = fmt.Errorf("persistence: write segment %s offset %d lsn %d: %w", seg, off, last, werr)
		}
	}
	if end := off + int64(len(buf)); err == nil && zeroTo > end {
		if _, werr := f.WriteAt(zeroChunk[:zeroTo-end], end); werr != nil {
			err = fmt.Errorf("persistence: write zeros to segment %s offset %d: %w", seg, end, werr)
		}
	}
	var syncDur time.Duration
	if err == nil && doSync {
		start := time.Now()
		if serr := f.Datasync(); serr != nil {
			err = fmt.Errorf("persistence: fdatasync segment %s offset %d lsn %d: %w", seg, off, last, serr)
		}
		syncDur = time.Since(start)
	}
	if err != nil && len(buf) > 0 {
		// Best effort: cut the unacknowledged bytes so that a later Open does
		// not resurrect records whose Append failed. Never retried.
		if f.Truncate(off) == nil {
			_ = f.Sync()
		}
	}
	newOff := off + int64(len(buf))

	l.mu.Lock()
	if cap(buf) <= 4<<20 {
		l.spare = buf[:0]
	}
	if err != nil {
		l.poisonLocked(err)
		l.flushing = false
		l.cond.Broadcast()
		return
	}
	l.stats.Writes++
	l.stats.Records += last - l.acked
	l.group = last - l.acked + (l.nextLSN - 1 - l.taken)
	l.writeOff, l.acked = newOff, last
	l.filled = max(l.filled, newOff, zeroTo)
	if doSync {
		l.stats.Syncs++
		l.lastSync = syncDur
		l.dirty = false
	} else if len(buf) > 0 {
		l.dirty = true
	}
	if forceRotate || newOff >= l.opts.SegmentSize {
		l.cond.Broadcast() // the batch is acknowledged; wake its callers now
		if rerr := l.rotateFlushingLocked(); rerr != nil {
			l.poisonLocked(rerr)
		}
	}
	l.flushing = false
	l.cond.Broadcast()
}

func (l *Log) poisonLocked(err error) {
	if l.err == nil {
		l.err = fmt.Errorf("%w: %w", ErrPoisoned, err)
	}
}

// Stats counts the log's write batches since Open: Records/Writes is the
// mean group-commit batch size.
type Stats struct {
	Writes  uint64 // successful flushes (one write each, possibly empty)
	Syncs   uint64 // fdatasyncs among them
	Records uint64 // records acknowledged by them
	Gathers uint64 // writes whose leader first waited for its group to queue
}

// Stats returns the counters of the log's writes since Open.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// unsyncedLocked reports whether the log holds bytes not yet made
// durable: frames queued, or written without an fdatasync since.
func (l *Log) unsyncedLocked() bool { return len(l.pend) > 0 || l.dirty }

// Sync writes queued records and fdatasyncs the active segment. When
// nothing is unsynced (always the case between Appends under SyncAlways)
// it does no I/O.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.idleLocked(); err != nil {
		return err
	}
	if l.unsyncedLocked() {
		l.flushLocked(true, false)
	}
	return l.err
}

func (l *Log) syncLoop() {
	defer close(l.stopped)
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			for l.flushing {
				l.cond.Wait()
			}
			if l.unsyncedLocked() && !l.closed && l.err == nil {
				l.flushLocked(true, false)
			}
			l.mu.Unlock()
		}
	}
}

// Close writes and syncs queued records, stops background work and closes
// the files. Later calls return ErrClosed. If the log was poisoned, Close
// still closes it and returns the poison error.
//
// Close fdatasyncs only when something is unsynced: records queued, or
// written under SyncInterval or SyncNone and not synced since. After the
// last Append under SyncAlways it syncs nothing, so a failing device
// cannot turn a close after durable records into an error (an
// fdatasync's failure there would report nothing about those records,
// which are already durable).
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	for l.flushing {
		l.cond.Wait()
	}
	l.closed = true
	if !l.ro && l.err == nil && l.f != nil && l.unsyncedLocked() {
		l.flushLocked(true, false)
	}
	err := l.err
	f := l.f
	l.f = nil
	l.mu.Unlock()
	if l.stop != nil {
		close(l.stop)
		<-l.stopped
	}
	if f != nil {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("persistence: close segment: %w", cerr)
		}
	}
	if l.lock != nil {
		// Released last: no other Log may open the directory while this one
		// still holds a file of it.
		if cerr := l.lock.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("persistence: release directory lock: %w", cerr)
		}
		l.lock = nil
	}
	return err
}

// FirstLSN returns the LSN of the first record held by the log, or 0 if it
// holds none.
func (l *Log) FirstLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) == 0 || l.segs[0].first > l.acked {
		return 0
	}
	return l.segs[0].first
}

// LastLSN returns the LSN of the last acknowledged record, or 0 if the log
// has never held one.
func (l *Log) LastLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// SetProtectedLSN sets the retention floor: a segment may be deleted by
// retention only if every LSN it holds is <= lsn. A snapshot that covers
// the state up to lsn sets it. The default floor 0 protects everything.
func (l *Log) SetProtectedLSN(lsn uint64) { l.protected.Store(lsn) }

// ProtectedLSN returns the retention floor set by SetProtectedLSN.
func (l *Log) ProtectedLSN() uint64 { return l.protected.Load() }

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// TornTail returns the torn tail found by Open under RecoverReadOnly, which
// was left in place and is not read, or nil.
func (l *Log) TornTail() *Problem { return l.torn }

// Replay calls fn for every acknowledged record with LSN >= fromLSN, in
// order, across segments, verifying each one. fromLSN 0 starts at the
// first record held. A fromLSN below the first held record (deleted by
// retention) is ErrCompacted. Records appended while Replay runs are not
// visited. An error from fn stops Replay and is returned as is.
// Corruption found is sticky: later Appends return it too.
func (l *Log) Replay(fromLSN uint64, fn func(r Record) error) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.corrupt != nil {
		err := l.corrupt
		l.mu.Unlock()
		return err
	}
	segs := append([]segInfo(nil), l.segs...)
	end := l.writeOff
	l.mu.Unlock()
	if len(segs) == 0 {
		return nil
	}
	r, err := newReader(l.fsys, l.dir, segs, fromLSN, l.opts, end, l.ro)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := fn(r.Record()); err != nil {
			return err
		}
	}
	err = r.Err()
	if errors.Is(err, ErrCorrupt) {
		l.mu.Lock()
		if l.corrupt == nil {
			l.corrupt = err
		}
		l.mu.Unlock()
	}
	return err
}
