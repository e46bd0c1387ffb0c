package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/interstice/interstice/fbs/fb"
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
// I/O error).
func Validate(dir string, opts ...Options) (*Report, error) {
	return scanLog(dir, opts, nil)
}

// Info is the result of Inspect: the Validate report plus counts taken from
// the decoded records.
type Info struct {
	Report
	Mutations int64
	ByKind    map[string]int64 // TxKind name -> records
	ByModule  map[string]int64 // module -> mutations
	ByTable   map[string]int64 // "module.table" -> mutations
	ByOp      map[string]int64 // Op name -> mutations
}

// Inspect reads the log in dir like Validate and also counts records per
// kind and mutations per module, table and op. It never writes.
func Inspect(dir string, opts ...Options) (*Info, error) {
	info := &Info{ByKind: map[string]int64{}, ByModule: map[string]int64{}, ByTable: map[string]int64{}, ByOp: map[string]int64{}}
	var t fb.Transaction
	var m fb.Mutation
	rep, err := scanLog(dir, opts, func(rec Record) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = placeErr(ErrCorrupt, rec.Segment, rec.Offset, rec.LSN, "malformed transaction flatbuffer: %v", r)
			}
		}()
		rec.InitTransaction(&t)
		info.ByKind[kindName(t.Kind())]++
		n := t.MutationsLength()
		info.Mutations += int64(n)
		for i := 0; i < n; i++ {
			if !t.Mutations(&m, i) {
				continue
			}
			mod := string(m.Module())
			info.ByModule[mod]++
			info.ByTable[mod+"."+string(m.TableName())]++
			info.ByOp[opName(m.Op())]++
		}
		return nil
	})
	if rep != nil {
		info.Report = *rep
	}
	return info, err
}

func kindName(k fb.TxKind) string {
	if s, ok := fb.EnumNamesTxKind[k]; ok {
		return s
	}
	return fmt.Sprintf("TxKind(%d)", k)
}

func opName(o fb.Op) string {
	if s, ok := fb.EnumNamesOp[o]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", o)
}

// scanLog walks every segment, filling a Report; fn, if set, sees each
// valid record (an error from it becomes the report's Problem).
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
	var buf []byte
	var want uint64
	var done int64
	for i, s := range segs {
		si := &rep.Segments[i]
		var data []byte
		var release func()
		data, buf, release, err = segmentBytes(files[i], buf, -1)
		if err != nil {
			return rep, fmt.Errorf("persistence: read segment %s: %w", s.name, err)
		}
		var stop bool
		var serr error
		// No lock: a live writer may shrink the segment under the mapping.
		if gerr := guardMapped(s.name, func() {
			stop, serr = scanSegment(rep, si, s, i == len(segs)-1, data, &want, fn)
		}); gerr != nil {
			release()
			return rep, gerr
		}
		release()
		done += int64(len(data))
		if o.Progress != nil {
			o.Progress(done, rep.Bytes)
		}
		if stop || serr != nil {
			return rep, serr
		}
	}
	return rep, nil
}

// scanSegment verifies one segment image, adding to rep and si. It reports
// whether the walk must stop (a problem or a torn tail was recorded).
func scanSegment(rep *Report, si *SegmentInfo, s segInfo, lastSeg bool, buf []byte, wantp *uint64, fn func(Record) error) (bool, error) {
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
		it := newFrameIter(s.name, buf, h.firstLSN, lastSeg)
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

func problemOf(err error, seg string, off int64, lsn uint64) *Problem {
	p := &Problem{Segment: seg, Offset: off, LSN: lsn, Reason: err.Error(), Err: err}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
		p.Err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return p
}
