package persistence

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
)

// Record is one verified record of the log: its frame's checksum and LSN
// were checked, and its payload passed Options.Check.
type Record struct {
	LSN     uint64
	Segment string // segment file name
	Offset  int64  // byte offset of the frame in the segment
	// Payload is the record's body, opaque to the log. It is valid only until the
	// next call of Next (or the end of the Replay callback); copy it to keep it.
	Payload []byte
}

// Reader iterates the records of a log directory in LSN order, verifying
// each one, without an open Log. It never writes. It is not safe for
// concurrent use.
//
//	r, err := persistence.NewReader(dir, 0)
//	if err != nil { ... }
//	defer r.Close()
//	for r.Next() {
//		rec := r.Record()
//		...
//	}
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	fsys FS
	dir  string
	opts Options
	segs []segInfo
	idx  int    // next segment to load
	from uint64 // first LSN to return
	want uint64 // LSN the next segment must start with (0: any)
	// lastEnd limits how much of the last segment is read (Log.Replay reads
	// only acknowledged bytes); -1 reads the whole file.
	lastEnd int64
	// guard runs Next under guardMapped: set when no lock keeps writers out.
	guard bool

	buf     []byte
	release func() // unmaps the current segment
	it      frameIter
	loaded  bool
	rec     Record
	err     error
	torn    *Problem
	done    bool

	total, read int64
}

// NewReader returns a Reader of the log in dir starting at fromLSN (0: the
// first record held). A fromLSN below the first record held is
// ErrCompacted. opts may carry FS, Recovery and Progress: under
// RecoverStrict a torn tail ends the iteration with ErrTornTail; otherwise
// iteration stops cleanly before it and Torn reports it.
func NewReader(dir string, fromLSN uint64, opts ...Options) (*Reader, error) {
	o, err := firstOptions(opts)
	if err != nil {
		return nil, err
	}
	segs, _, err := listSegments(o.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("persistence: list log directory: %w", err)
	}
	return newReader(o.FS, dir, segs, fromLSN, o, -1, true)
}

func newReader(fsys FS, dir string, segs []segInfo, from uint64, o Options, lastEnd int64, guard bool) (*Reader, error) {
	r := &Reader{fsys: fsys, dir: dir, opts: o, segs: segs, from: from, lastEnd: lastEnd, guard: guard}
	if len(segs) == 0 {
		r.done = true
		return r, nil
	}
	if from > 0 {
		if from < segs[0].first {
			return nil, fmt.Errorf("%w: lsn %d requested, the first segment %s starts at lsn %d", ErrCompacted, from, segs[0].name, segs[0].first)
		}
		for r.idx+1 < len(segs) && segs[r.idx+1].first <= from {
			r.idx++
		}
	}
	if o.Progress != nil {
		for _, s := range segs[r.idx:] {
			if f, err := fsys.OpenFile(filepath.Join(dir, s.name), os.O_RDONLY, 0); err == nil {
				if n, err := f.Size(); err == nil {
					r.total += n
				}
				f.Close()
			}
		}
	}
	return r, nil
}

// Next advances to the next record and reports whether there is one.
//
// A Reader from NewReader takes no lock, so a live writer may shrink a
// segment while it is mapped (see guardMapped); Next then stops with an
// error instead of a SIGBUS. Log.Replay of a writable Log (which holds the
// lock) reads only bytes no rotation cuts, and runs unguarded.
func (r *Reader) Next() bool {
	if r.guard {
		return r.nextGuarded()
	}
	return r.next()
}

func (r *Reader) nextGuarded() (ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if !isMemoryFault(p) {
				panic(p)
			}
			r.err = shrunkErr(r.it.seg, p)
			r.unmap()
			r.loaded = false
			ok = false
		}
	}()
	return r.next()
}

func (r *Reader) next() bool {
	for {
		if r.err != nil || r.done {
			return false
		}
		if r.loaded {
			lsn, off, payload, ok := r.it.next()
			if ok {
				if lsn < r.from {
					continue
				}
				r.rec = Record{LSN: lsn, Segment: r.it.seg, Offset: int64(off), Payload: payload}
				return true
			}
			r.loaded = false
			r.read += int64(len(r.it.data))
			if r.opts.Progress != nil {
				r.opts.Progress(r.read, max(r.total, r.read))
			}
			switch {
			case r.it.err != nil:
				r.err = r.it.err
				return false
			case r.it.torn != nil:
				r.torn = r.it.torn
				if r.opts.Recovery == RecoverStrict {
					r.err = r.torn.Err
				}
				r.done = true
				return false
			}
			r.want = r.it.want
		}
		if r.idx >= len(r.segs) {
			r.done = true
			r.unmap()
			return false
		}
		if err := r.load(); err != nil {
			r.err = err
			return false
		}
	}
}

// load reads segment r.idx and checks its header and its place in the chain.
func (r *Reader) load() error {
	s := r.segs[r.idx]
	last := r.idx == len(r.segs)-1
	r.idx++
	f, err := r.fsys.OpenFile(filepath.Join(r.dir, s.name), os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: segment %s was removed while reading", ErrCompacted, s.name)
		}
		return fmt.Errorf("persistence: open segment %s: %w", s.name, err)
	}
	limit := int64(-1)
	if last {
		limit = r.lastEnd
	}
	r.unmap()
	var data []byte
	data, r.buf, r.release, err = segmentBytes(f, r.buf, limit)
	f.Close()
	if err != nil {
		return fmt.Errorf("persistence: read segment %s: %w", s.name, err)
	}
	h, err := decodeSegHeader(data, s.name)
	if err != nil {
		return err
	}
	if h.firstLSN != s.first {
		return placeErr(ErrCorrupt, s.name, 0, s.first, "header first lsn %d disagrees with the file name", h.firstLSN)
	}
	if r.want != 0 && h.firstLSN != r.want {
		return placeErr(ErrCorrupt, s.name, 0, r.want, "segment starts at lsn %d but the previous segment ended at lsn %d", h.firstLSN, r.want-1)
	}
	r.it = newFrameIter(s.name, data, h, last && r.lastEnd < 0, r.opts.Check)
	r.loaded = true
	return nil
}

// Record returns the current record. Its Payload is valid until Next.
func (r *Reader) Record() Record { return r.rec }

// Err returns the error that ended the iteration, or nil at a clean end
// (including a torn tail outside RecoverStrict).
func (r *Reader) Err() error { return r.err }

// Torn returns the torn tail the iteration stopped at, or nil.
func (r *Reader) Torn() *Problem { return r.torn }

// Close releases the Reader's memory (segments are memory-mapped; a
// Payload must not be used after Next or Close). It holds no open file.
func (r *Reader) Close() error {
	r.unmap()
	r.buf, r.it, r.done = nil, frameIter{}, true
	return nil
}

func (r *Reader) unmap() {
	if r.release != nil {
		r.release()
		r.release = nil
	}
}
