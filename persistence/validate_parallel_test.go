package persistence

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestParallelValidateMatchesSequential damages a log of many segments in
// one to four random places (bit flips anywhere, including segment headers
// and the preallocated tail; a valid frame with the wrong LSN; a CRC-valid
// frame whose payload fails the check; a zeroed range; a truncated or
// removed segment; bytes written past the end) and checks that Validate,
// run on several workers with chunks much smaller than a segment and with
// the test format's check, reports exactly what the sequential scan (the
// implementation before the parallel one, kept below as refScanLog)
// reports: the first problem in log order, the same torn tail, the same
// counts. ValidateEach is compared with a sequential ValidateEach, on the
// records it hands out (their number, LSNs, places and a hash of their
// payloads). Some records carry a copy of a valid frame inside their
// payload, so that chunks can lock on to a frame that is not on the chain.
func TestParallelValidateMatchesSequential(t *testing.T) {
	base := t.TempDir()
	l := mustOpen(t, base, Options{SegmentSize: 4 << 10, Sync: SyncNone})
	for i := uint64(1); i <= 400; i++ {
		tx := testTxn(i)
		if i%5 == 0 {
			// A frame of a nearby LSN, valid CRC and payload, inside the
			// payload, at every alignment.
			inner, err := appendFrame(make([]byte, i/5%8), i+2, testTxn(i+2), testCheck, false)
			if err != nil {
				t.Fatal(err)
			}
			tx.Body = append(tx.Body, inner...)
		}
		// Every 7th record starts a batch of up to 4 (batches end inside
		// chunks and across chunk boundaries).
		if i%7 == 0 && i < 396 {
			batch := []Payload{tx}
			for k := uint64(1); k <= i%4; k++ {
				batch = append(batch, testTxn(i+k))
			}
			if _, err := l.AppendBatch(batch); err != nil {
				t.Fatal(err)
			}
			i += uint64(len(batch) - 1)
			continue
		}
		if _, err := l.Append(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(base, "*.log"))
	slices.Sort(names)
	if len(names) < 8 {
		t.Fatalf("only %d segments", len(names))
	}
	image := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		image[filepath.Base(n)] = b
	}

	configs := []struct{ workers, chunk int }{{1, 64}, {2, 64}, {4, 200}, {2, 512}, {3, 1000}, {3, 1 << 20}, {8, 8}}
	trials := 200
	if testing.Short() || raceEnabled {
		trials = 50
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < trials; trial++ {
		dir := t.TempDir()
		files := map[string][]byte{}
		for n, b := range image {
			files[n] = slices.Clone(b)
		}
		var did []string
		for d := 1 + rng.IntN(4); d > 0; d-- {
			did = append(did, damageRandomly(rng, files))
		}
		for n, b := range files {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ref, refErr := refScanLog(dir, []Options{checkOpts}, nil)
		want := reportString(ref, refErr)
		wantEach := withScanV(-1, 1<<20, func() string { return eachString(dir) })
		for _, c := range configs {
			var dones, totals []int64
			got := withScanV(c.workers, c.chunk, func() string {
				rep, err := Validate(dir, Options{Check: testCheck, Progress: func(done, total int64) {
					dones, totals = append(dones, done), append(totals, total)
				}})
				return reportString(rep, err)
			})
			if got != want {
				t.Fatalf("trial %d, damage %v, %d workers, %d-byte chunks:\nparallel   %s\nsequential %s", trial, did, c.workers, c.chunk, got, want)
			}
			for i := range dones {
				if dones[i] > totals[i] || (i > 0 && (dones[i] < dones[i-1] || totals[i] > totals[i-1])) {
					t.Fatalf("trial %d, damage %v, %d workers, %d-byte chunks: progress not monotonic: done %v total %v\n%s", trial, did, c.workers, c.chunk, dones, totals, got)
				}
			}
			if got := withScanV(c.workers, c.chunk, func() string { return eachString(dir) }); got != wantEach {
				t.Fatalf("trial %d, damage %v, %d workers, %d-byte chunks: ValidateEach\nparallel   %s\nsequential %s", trial, did, c.workers, c.chunk, got, wantEach)
			}
		}
	}
}

// TestValidateProgressSkipsZeroTail checks that Progress does not count the
// preallocated zero tail of the active segment as work: on a healthy log
// the last report is (total, total) with total ValidBytes (less the zero
// bytes that end the last record, with workers, which count the trailing
// zeros of the segment), and with workers the total is right from the
// first report.
func TestValidateProgressSkipsZeroTail(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10, Sync: SyncNone})
	appendN(t, l, 1000)
	l.Close()
	for _, w := range []int{-1, 1, 2, 4} {
		var done, total []int64
		rep, err := withScan(w, 4096, func() (*Report, error) {
			return Validate(dir, Options{Check: testCheck, Progress: func(d, tt int64) { done, total = append(done, d), append(total, tt) }})
		})
		if err != nil || !rep.OK() {
			t.Fatal(err, rep)
		}
		last := rep.Segments[len(rep.Segments)-1]
		if last.Bytes-last.DataBytes < 1024 {
			t.Fatalf("no preallocated tail: %+v", last)
		}
		n := len(done)
		if n < len(rep.Segments) || done[n-1] != total[n-1] || total[n-1] > rep.ValidBytes || total[n-1] < rep.ValidBytes-64 {
			t.Fatalf("%d workers: progress done %v total %v, want to end within 64 bytes of %d", w, done, total, rep.ValidBytes)
		}
		if w < 0 && total[n-1] != rep.ValidBytes {
			t.Fatalf("sequential: last total %d, want %d", total[n-1], rep.ValidBytes)
		}
		if w > 0 && (total[0] != total[n-1] || rep.ValidBytes-total[0] > 64) {
			t.Fatalf("%d workers: total %v, want it constant and within 64 bytes of %d", w, total, rep.ValidBytes)
		}
	}
}

func withScan[T any](workers, chunk int, f func() (T, error)) (T, error) {
	defer func(w, c int) { scanWorkers, scanChunkBytes = w, c }(scanWorkers, scanChunkBytes)
	scanWorkers, scanChunkBytes = workers, chunk
	return f()
}

func withScanV(workers, chunk int, f func() string) string {
	s, _ := withScan(workers, chunk, func() (string, error) { return f(), nil })
	return s
}

// damageRandomly changes one segment image (or removes one) and says what
// it did.
func damageRandomly(rng *rand.Rand, files map[string][]byte) string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "nothing left"
	}
	i := rng.IntN(len(names))
	n := names[i]
	b := files[n]
	if len(b) == 0 {
		return "empty " + n
	}
	switch k := rng.IntN(11); {
	case k < 4: // a bit flip anywhere
		off := rng.IntN(len(b))
		b[off] ^= 1 << rng.IntN(8)
		return fmt.Sprintf("flip %s@%d", n, off)
	case k == 4: // a bit flip in the header
		off := rng.IntN(min(len(b), segHeaderSize))
		b[off] ^= 1 << rng.IntN(8)
		return fmt.Sprintf("flip header %s@%d", n, off)
	case k == 5: // a valid frame carrying the wrong LSN
		offs := frameStarts(b)
		if len(offs) == 0 {
			return "no frame in " + n
		}
		off := offs[rng.IntN(len(offs))]
		l, cont := frameLength(b[off:])
		frame := b[off : off+frameHeaderSize+l]
		lsn := binary.LittleEndian.Uint64(frame[8:]) + uint64(rng.IntN(5)) - 2
		binary.LittleEndian.PutUint64(frame[frameHeaderSize:], lsn) // the payload's copy
		encodeFrameHeader(frame, l, lsn, cont)
		return fmt.Sprintf("lsn %s@%d=%d", n, off, lsn)
	case k == 9: // a CRC-valid frame whose payload fails the check
		offs := frameStarts(b)
		if len(offs) == 0 {
			return "no frame in " + n
		}
		off := offs[rng.IntN(len(offs))]
		l, cont := frameLength(b[off:])
		frame := b[off : off+frameHeaderSize+l]
		bit := rng.IntN(64) // in the payload's copy of the lsn
		frame[frameHeaderSize+bit/8] ^= 1 << (bit % 8)
		encodeFrameHeader(frame, l, binary.LittleEndian.Uint64(frame[8:]), cont)
		return fmt.Sprintf("payload lsn %s@%d^bit%d", n, off, bit)
	case k == 6: // a zeroed range
		from := rng.IntN(len(b))
		to := min(len(b), from+rng.IntN(400))
		clear(b[from:to])
		return fmt.Sprintf("zero %s@%d-%d", n, from, to)
	case k == 7: // cut the file (the last one most often)
		if rng.IntN(3) > 0 {
			n = names[len(names)-1]
			b = files[n]
		}
		at := rng.IntN(len(b) + 1)
		files[n] = b[:at]
		return fmt.Sprintf("truncate %s@%d", n, at)
	case k == 8: // bytes past the end of the records of the last segment
		n = names[len(names)-1]
		b = files[n]
		offs := frameStarts(b)
		end := segHeaderSize
		if len(offs) > 0 {
			o := offs[len(offs)-1]
			l, _ := frameLength(b[o:])
			end = o + frameSize(l)
		}
		if end >= len(b) {
			return "no tail in " + n
		}
		off := end + rng.IntN(len(b)-end)
		b[off] = byte(1 + rng.IntN(255))
		return fmt.Sprintf("tail byte %s@%d", n, off)
	default: // a removed segment
		delete(files, n)
		return "remove " + n
	}
}

// frameLength returns the payload length of the version 2 frame at the
// start of b and whether it carries the batch flag.
func frameLength(b []byte) (int, bool) {
	raw := binary.LittleEndian.Uint32(b[4:])
	return int(raw &^ frameContinues), raw&frameContinues != 0
}

// frameStarts returns the offsets of the frames a sequential walk finds.
func frameStarts(b []byte) []int {
	h, err := decodeSegHeader(b, "x")
	if err != nil {
		return nil
	}
	it := newFrameIter("x", b, h, true, testCheck)
	var offs []int
	for {
		_, off, _, ok := it.next()
		if !ok {
			return offs
		}
		offs = append(offs, off)
	}
}

func problemString(p *Problem) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("{%s err=%v}", p, p.Err)
}

func reportString(r *Report, err error) string {
	if r == nil {
		return fmt.Sprintf("nil report, err %v", err)
	}
	c := *r
	c.Problem, c.Torn = nil, nil
	return fmt.Sprintf("%+v problem=%s torn=%s err=%v", c, problemString(r.Problem), problemString(r.Torn), err)
}

// eachString runs ValidateEach (with the test format's check) on dir and
// describes its report and the records it handed out: their number, the
// sum of their LSNs, records per LSN class mod 3, body bytes, and a hash
// of every record's place and payload in the order seen.
func eachString(dir string) string {
	var n, lsnSum, bodyBytes int64
	var byClass [3]int64
	h := fnv.New64a()
	rep, err := ValidateEach(dir, func(r Record) error {
		rec, err := decodeTestRec(r.Payload)
		if err != nil {
			return err
		}
		n++
		lsnSum += int64(rec.LSN)
		byClass[rec.LSN%3]++
		bodyBytes += int64(len(rec.Body))
		fmt.Fprintf(h, "%d %s %d %d|", r.LSN, r.Segment, r.Offset, len(r.Payload))
		h.Write(r.Payload)
		return nil
	}, checkOpts)
	return fmt.Sprintf("%s records=%d lsnsum=%d classes=%v body=%d hash=%x", reportString(rep, err), n, lsnSum, byClass, bodyBytes, h.Sum64())
}

// The sequential scan as it was before the parallel one, kept as the
// reference of TestParallelValidateMatchesSequential (verbatim but for the
// payload check, now passed to the frame iterator from Options.Check).

// refScanLog walks every segment, filling a Report; fn, if set, sees each
// valid record (an error from it becomes the report's Problem).
func refScanLog(dir string, opts []Options, fn func(Record) error) (*Report, error) {
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
			stop, serr = refScanSegment(rep, si, s, i == len(segs)-1, data, &want, fn, o.Check)
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

// refScanSegment verifies one segment image, adding to rep and si. It reports
// whether the walk must stop (a problem or a torn tail was recorded).
func refScanSegment(rep *Report, si *SegmentInfo, s segInfo, lastSeg bool, buf []byte, wantp *uint64, fn func(Record) error, check Check) (bool, error) {
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
