package persistence

import (
	"fmt"
	"path/filepath"
)

// Rotate writes and syncs queued records, seals the active segment and
// starts a new one, then applies retention. Rotating an empty segment does
// nothing.
//
// The steps, and what Open finds after a crash at each:
//
//  1. fdatasync the active segment. Crash: the segment is intact; it stays
//     active.
//  2. truncate the active segment to its last frame and fsync it (sealed
//     segments carry no preallocated tail). Crash: the same; Open
//     preallocates it again.
//  3. create "<next>.log.tmp" (header, preallocation) and fsync it. Crash:
//     Open deletes the ".tmp" file.
//  4. rename it to "<next>.log" and fsync the directory. Crash after the
//     rename: the new, empty segment is active; its first LSN is the
//     sealed segment's last LSN + 1, so no LSN is claimed twice.
//  5. retention deletes the oldest deletable segments, oldest first, then
//     fsyncs the directory. Crash: a contiguous suffix of segments remains.
func (l *Log) Rotate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.idleLocked(); err != nil {
		return err
	}
	l.retainErr = nil
	l.flushLocked(true, true)
	if l.err != nil {
		return l.err
	}
	return l.retainErr
}

// rotateFlushingLocked runs rotation steps 1-5. It is called by the leader
// with l.mu held and l.flushing set; it releases l.mu during I/O.
func (l *Log) rotateFlushingLocked() error {
	f, off := l.f, l.writeOff
	cur := l.segs[len(l.segs)-1].name
	next := l.acked + 1
	if off <= segHeaderSize {
		return nil
	}
	l.mu.Unlock()
	nf, err := l.rotateIO(f, cur, off, next)
	l.mu.Lock()
	if err != nil {
		return err
	}
	l.segs = append(l.segs, segInfo{name: segmentName(next), first: next})
	l.f, l.writeOff, l.filled, l.dirty = nf, segHeaderSize, segHeaderSize, false
	f.Close()
	if l.opts.RetainSegments > 0 {
		l.mu.Unlock()
		_, rerr := l.retainIO()
		l.mu.Lock()
		l.retainErr = rerr
	}
	return nil
}

func (l *Log) rotateIO(f File, cur string, off int64, next uint64) (File, error) {
	if err := f.Datasync(); err != nil {
		return nil, fmt.Errorf("persistence: rotate: fdatasync segment %s: %w", cur, err)
	}
	if err := f.Truncate(off); err != nil {
		return nil, fmt.Errorf("persistence: rotate: truncate segment %s to %d: %w", cur, off, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("persistence: rotate: fsync segment %s: %w", cur, err)
	}
	return createSegment(l.fsys, l.dir, next, l.opts.SegmentSize)
}

// Retain applies retention now: it deletes the oldest archived segments
// beyond the newest RetainSegments whose every LSN is <= the protected LSN,
// and returns the names deleted. It does nothing when RetainSegments is 0.
// Rotation applies retention by itself; Retain is for a caller that just
// raised the protected LSN.
func (l *Log) Retain() ([]string, error) {
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	for l.flushing {
		l.cond.Wait()
	}
	l.flushing = true
	l.mu.Unlock()
	removed, err := l.retainIO()
	l.mu.Lock()
	l.flushing = false
	l.cond.Broadcast()
	l.mu.Unlock()
	return removed, err
}

// retainIO deletes deletable segments. The caller holds l.flushing (not
// l.mu), so no other goroutine changes l.segs meanwhile.
func (l *Log) retainIO() ([]string, error) {
	if l.opts.RetainSegments <= 0 {
		return nil, nil
	}
	l.mu.Lock()
	segs := append([]segInfo(nil), l.segs...)
	l.mu.Unlock()
	floor := l.protected.Load()
	archived := len(segs) - 1
	var del int
	for i := 0; i < archived-l.opts.RetainSegments; i++ {
		if segs[i+1].first-1 > floor { // segment i holds LSNs above the floor
			break
		}
		del++
	}
	if del == 0 {
		return nil, nil
	}
	var removed []string
	var err error
	for i := 0; i < del; i++ {
		if rerr := l.fsys.Remove(filepath.Join(l.dir, segs[i].name)); rerr != nil {
			err = fmt.Errorf("persistence: retention: remove segment %s: %w", segs[i].name, rerr)
			break
		}
		removed = append(removed, segs[i].name)
	}
	if len(removed) > 0 {
		if serr := l.fsys.SyncDir(l.dir); serr != nil && err == nil {
			err = fmt.Errorf("persistence: retention: fsync directory: %w", serr)
		}
		l.mu.Lock()
		l.segs = l.segs[len(removed):]
		l.mu.Unlock()
	}
	return removed, err
}
