package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Name      string
	FirstLSN  uint64 // from the header (the name)
	LastLSN   uint64 // last valid record; FirstLSN-1 if none
	Records   int64
	Bytes     int64 // file size, including any preallocated tail
	DataBytes int64 // header plus valid frames
}

// Report is the result of Validate.
type Report struct {
	Segments   []SegmentInfo
	Records    int64  // valid records
	Bytes      int64  // total size of the segment files
	ValidBytes int64  // headers plus valid frames
	FirstLSN   uint64 // first valid record, 0 if none
	LastLSN    uint64 // last valid record, 0 if none
	TempFiles  []string
	// TornTail reports a torn last record; Torn says where.
	TornTail bool
	Torn     *Problem
	// Problem is the first corruption or unsupported version found, after
	// which nothing was read; nil if none.
	Problem *Problem
}

// OK reports whether the log has neither corruption nor a torn tail.
func (r *Report) OK() bool { return r.Problem == nil && !r.TornTail }

// Err returns the problem's error (ErrCorrupt or ErrVersion), else the
// torn tail's (ErrTornTail), else nil.
func (r *Report) Err() error {
	if r.Problem != nil {
		return r.Problem.Err
	}
	if r.Torn != nil {
		return r.Torn.Err
	}
	return nil
}

// Validate reads every segment of the log in dir and verifies every header,
// frame checksum and the LSN chain within and across segments. It never
// writes. Damage is described in the Report, not returned as an error; the
// error is for a log that cannot be read at all (a missing directory, an
// I/O error). The frames are verified on GOMAXPROCS goroutines (see
// RATIONALE.md, "Validate speed"); the report is the one a sequential scan
// gives: the first problem in log order.
func Validate(dir string, opts ...Options) (*Report, error) {
	return scanLog(dir, opts, nil)
}

// ValidateEach is Validate that also hands every valid record, in log
// order, to fn on the calling goroutine (the format above the log counts or
// prints them this way: internal/record's Inspect, the CLI's dump). An
// error from fn stops the scan and becomes the report's Problem at that
// record.
func ValidateEach(dir string, fn func(Record) error, opts ...Options) (*Report, error) {
	return scanLog(dir, opts, fn)
}

// scanLog walks every segment, filling a Report; fn, if set, sees each
// valid record in log order, on the calling goroutine (an error from it
// becomes the report's Problem). With more than one worker (scan.go) the
// frames are verified in parallel and the segments assembled here in log
// order, so the report is the one a sequential scan gives.
func scanLog(dir string, opts []Options, fn func(Record) error) (*Report, error) {
	o, err := firstOptions(opts)
	if err != nil {
		return nil, err
	}
	segs, tmps, err := listSegments(o.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("persistence: list log directory: %w", err)
	}
	rep := &Report{TempFiles: tmps}
	files := make([]File, len(segs))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, s := range segs {
		f, err := o.FS.OpenFile(filepath.Join(dir, s.name), os.O_RDONLY, 0)
		if err != nil {
			return rep, fmt.Errorf("persistence: open segment %s: %w", s.name, err)
		}
		files[i] = f
		n, err := f.Size()
		if err != nil {
			return rep, fmt.Errorf("persistence: stat segment %s: %w", s.name, err)
		}
		rep.Segments = append(rep.Segments, SegmentInfo{Name: s.name, FirstLSN: s.first, LastLSN: s.first - 1, Bytes: n})
		rep.Bytes += n
	}
	var sc *scanner
	if w := scanWorkerCount(); w > 0 && len(segs) > 0 {
		sc = startScanner(segs, files, w, o.Progress != nil, o.Check)
		defer sc.stop()
	}
	// Progress: the preallocated zero tail of the last segment is not work;
	// it leaves the total as soon as it is known (before the first report
	// with workers, at the last one in the sequential scan of the tests).
	var prog *scanProgress
	if o.Progress != nil {
		prog = &scanProgress{fn: o.Progress, total: rep.Bytes, next: progressStep}
		if sc != nil {
			<-sc.probeDone
			prog.total -= sc.lastZeroTail
		}
	}
	var buf []byte
	var want uint64
	for i, s := range segs {
		si := &rep.Segments[i]
		lastSeg := i == len(segs)-1
		var data []byte
		release := func() {}
		var pre *segPrefix
		if sc != nil {
			var j *scanJob
			if prog != nil {
				j = sc.waitProgress(i, func(n int64) { prog.at(min(n, si.Bytes)) })
			} else {
				j = sc.wait(i)
			}
			if j.ioErr != nil {
				return rep, fmt.Errorf("persistence: read segment %s: %w", s.name, j.ioErr)
			}
			if p, ok := j.prefix(); ok {
				pre = &p
			}
			if j.data != nil {
				// Ours now: the workers are done with it. Drop the job's
				// references so that memory stays bounded by the window.
				data, release = j.data, j.release
				j.data, j.release = nil, nil
			}
		}
		if data == nil {
			data, buf, release, err = segmentBytes(files[i], buf, -1)
			if err != nil {
				return rep, fmt.Errorf("persistence: read segment %s: %w", s.name, err)
			}
		}
		var stop bool
		var serr error
		// No lock: a live writer may shrink the segment under the mapping.
		if gerr := guardMapped(s.name, func() {
			stop, serr = scanSegment(rep, si, s, lastSeg, data, &want, fn, pre, prog, o.Check)
		}); gerr != nil {
			release()
			return rep, gerr
		}
		release()
		if sc != nil {
			sc.assembledOne()
		}
		if prog != nil {
			work := int64(len(data))
			if lastSeg {
				if sc != nil {
					work = max(work-sc.lastZeroTail, 0) // as taken from total
				} else if !stop {
					// It ended cleanly: everything after the valid frames is zero.
					zt := work - min(si.DataBytes, work)
					work -= zt
					prog.total -= zt
				}
			}
			prog.segmentDone(work)
		}
		if stop || serr != nil {
			return rep, serr
		}
	}
	return rep, nil
}

// progressStep is how many bytes of a segment scanLog verifies (or walks
// for ValidateEach's callback) between two reports.
const progressStep = 1 << 20

// scanProgress reports Options.Progress for scanLog, always on its
// goroutine: within a segment at least every progressStep bytes (by frame
// offset in scanSegment and acceptPrefix, by the bytes the workers
// verified in waitProgress), and at the end of each segment. What it
// reports never decreases and never exceeds total.
type scanProgress struct {
	fn    func(done, total int64)
	total int64 // shrinks by the zero tail at the end of a sequential scan
	done  int64 // the work of the segments before the current one
	last  int64 // the last done reported
	next  int   // the offset in the current segment of the next report
}

// at reports n bytes done in the current segment (never more than its
// work: the frames end before the zero tail).
func (p *scanProgress) at(n int64) {
	if v := min(p.done+n, p.total); v > p.last {
		p.last = v
		p.fn(v, p.total)
	}
}

// frameEnd reports, every progressStep bytes, off: the end of the frames
// verified in the current segment.
func (p *scanProgress) frameEnd(off int) {
	if off >= p.next {
		p.next = off + progressStep
		p.at(int64(off))
	}
}

// segmentDone ends the current segment, work bytes of it counted.
func (p *scanProgress) segmentDone(work int64) {
	p.done += work
	p.next = progressStep
	p.last = max(p.last, p.done)
	p.fn(p.last, max(p.total, p.last))
}

// scanSegment verifies one segment image, adding to rep and si. It reports
// whether the walk must stop (a problem or a torn tail was recorded). pre,
// if set, says which frames the parallel workers already verified; the
// frames from there on are verified here. prog, if set, hears of the
// progress within the segment.
func scanSegment(rep *Report, si *SegmentInfo, s segInfo, lastSeg bool, buf []byte, wantp *uint64, fn func(Record) error, pre *segPrefix, prog *scanProgress, check Check) (bool, error) {
	want := *wantp
	{
		h, herr := decodeSegHeader(buf, s.name)
		if herr == nil && h.firstLSN != s.first {
			herr = placeErr(ErrCorrupt, s.name, 0, s.first, "header first lsn %d disagrees with the file name", h.firstLSN)
		}
		if herr == nil && want != 0 && h.firstLSN != want {
			herr = placeErr(ErrCorrupt, s.name, 0, want, "segment starts at lsn %d but the previous segment ended at lsn %d", h.firstLSN, want-1)
		}
		if herr != nil {
			rep.Problem = problemOf(herr, s.name, 0, max(want, s.first))
			return true, nil
		}
		si.DataBytes = segHeaderSize
		it := newFrameIter(s.name, buf, h, lastSeg, check)
		if pre != nil {
			if stop := acceptPrefix(rep, si, s, &it, *pre, fn, prog); stop {
				return true, nil
			}
		}
		for {
			lsn, off, payload, ok := it.next()
			if !ok {
				break
			}
			if fn != nil {
				if ferr := fn(Record{LSN: lsn, Segment: s.name, Offset: int64(off), Payload: payload}); ferr != nil {
					rep.Problem = problemOf(ferr, s.name, int64(off), lsn)
					return true, nil
				}
			}
			if rep.FirstLSN == 0 {
				rep.FirstLSN = lsn
			}
			rep.LastLSN = lsn
			rep.Records++
			si.Records++
			si.LastLSN = lsn
			si.DataBytes = int64(off + frameSize(len(payload)))
			if prog != nil {
				prog.frameEnd(it.off)
			}
		}
		rep.ValidBytes += min(si.DataBytes, int64(len(buf)))
		if it.err != nil {
			rep.Problem = it.prob
			return true, nil
		}
		if it.torn != nil {
			rep.TornTail, rep.Torn = true, it.torn
			return true, nil
		}
		*wantp = it.want
	}
	return false, nil
}

// acceptPrefix counts the frames the workers verified, as the loop of
// scanSegment would, calling fn on each in order, and moves it past them.
// It reports whether fn failed (the Problem is recorded).
func acceptPrefix(rep *Report, si *SegmentInfo, s segInfo, it *frameIter, p segPrefix, fn func(Record) error, prog *scanProgress) bool {
	if fn == nil {
		if p.count > 0 {
			first, last := it.want, it.want+uint64(p.count)-1
			if rep.FirstLSN == 0 {
				rep.FirstLSN = first
			}
			rep.LastLSN, si.LastLSN = last, last
			rep.Records += int64(p.count)
			si.Records += int64(p.count)
			si.DataBytes = int64(p.off)
		}
		it.off, it.want = p.off, it.want+uint64(p.count)
	} else {
		// Walk the verified frames again for fn; should the bytes have
		// changed since (a live writer), stop and verify from there.
		buf := it.data
		for it.off < p.off {
			off := it.off
			if off+frameHeaderSize > len(buf) {
				return false
			}
			h := decodeFrameHeader(buf[off:])
			n := h.length & it.mask
			end := off + frameHeaderSize + int(n)
			if n == 0 || n > MaxRecordSize || end > len(buf) || h.lsn != it.want {
				return false
			}
			lsn, payload := h.lsn, buf[off+frameHeaderSize:end]
			if ferr := fn(Record{LSN: lsn, Segment: s.name, Offset: int64(off), Payload: payload}); ferr != nil {
				rep.Problem = problemOf(ferr, s.name, int64(off), lsn)
				return true
			}
			if rep.FirstLSN == 0 {
				rep.FirstLSN = lsn
			}
			rep.LastLSN = lsn
			rep.Records++
			si.Records++
			si.LastLSN = lsn
			si.DataBytes = int64(off + frameSize(len(payload)))
			it.off = off + frameSize(len(payload))
			it.want++
			if prog != nil {
				prog.frameEnd(it.off)
			}
		}
		if it.off != p.off {
			return false
		}
	}
	if p.clean {
		it.off = len(it.data) // the end of the records: all zero from p.off
	}
	return false
}

func problemOf(err error, seg string, off int64, lsn uint64) *Problem {
	p := &Problem{Segment: seg, Offset: off, LSN: lsn, Reason: err.Error(), Err: err}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
		p.Err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return p
}
