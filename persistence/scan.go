package persistence

import (
	"hash/crc32"
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel verification for Validate and ValidateEach (see RATIONALE.md,
// "Validate speed").
//
// Segments are independent apart from the LSN chain. A pool of workers
// (GOMAXPROCS) maps each segment, checks its header and cuts its bytes into
// chunks of about scanChunkBytes. A chunk's worker finds the first frame
// starting in its range (chunk 0: offset 32; the others: the first 8-byte
// aligned offset holding a frame with a plausible length and LSN and a
// valid CRC) and verifies frames from there with frameIter's checks (CRC,
// LSN chain, payload lsn) until it passes the end of its range, or stops at
// the first frame that fails or at a zero header. The chunks are linked in
// order: chunk k+1 is trusted only if it started exactly where chunk k's
// verified frames ended, with the next LSN, so every trusted frame lies on
// the true frame chain from offset 32. (A separate sequential pass over the
// frame headers to find the boundaries first was measured: it is a chain of
// dependent loads through memory, ~28 ms per fresh 64 MiB segment here,
// as slow as verifying the segment, so it cannot be the cheap part.)
//
// The calling goroutine assembles the segments in log order and runs the
// sequential code of scanSegment from the first frame that is not trusted:
// that frame's exact problem (or torn tail, with its validFrameAfter scan),
// the segment header and the LSN chain across segments are decided there,
// by the same code as a sequential scan, so the report is identical to
// one. The workers only ever shorten the sequential part: whenever their
// result is not usable (a segment skipped after an earlier one failed, a
// memory fault, a chunk that resynchronised on a frame-like run of bytes
// inside a payload), the assembler verifies sequentially from there.

// Tuning of the parallel scan; tests shrink them to exercise many chunks.
var (
	scanWorkers    = 0       // workers; 0: GOMAXPROCS; -1: the sequential scan, no workers
	scanChunkBytes = 1 << 20 // frame bytes per verification chunk
)

// scanChunk is the verification of the frames starting in [lo, hi).
type scanChunk struct {
	lo, hi   int
	start    int    // the first frame found in [lo, hi); -1: none
	startLSN uint64 // its LSN
	end      int    // just past the last frame verified from start
	count    int    // frames verified
	stop     int    // where verification stopped before hi; -1: it passed hi
	zero     bool   // the bytes from stop (no frame found: from lo) to hi are all zero
	zeroStop bool   // it stopped at a zero header or a short all-zero rest
	// bound is just past the last verified frame that ends a batch (one
	// without frameContinues), -1 if none did, and boundCount the frames
	// verified up to it: a prefix is trusted only up to a batch boundary.
	bound, boundCount int
}

// scanJob is the parallel work on one segment. The assembler reads it after
// done is closed.
type scanJob struct {
	idx  int
	seg  segInfo
	file File

	data    []byte
	release func()
	ioErr   error // the segment could not be read

	first      uint64 // the header's first LSN, if the header is valid
	mask       uint32 // the length bits of its frames (segHeader.lengthMask)
	chunks     []scanChunk
	incomplete atomic.Bool  // a chunk did not run: verify the segment sequentially
	pending    atomic.Int64 // chunks not yet finished
	verified   atomic.Int64 // frame bytes its chunks verified so far (for Progress)

	pre   segPrefix // the linked result, valid if preOK
	preOK bool
	done  chan struct{}
}

// segPrefix is the verified start of a segment: count valid frames on the
// chain from offset 32, ending at offset off; clean reports that every byte
// from off to the end is zero (the clean end of the records).
type segPrefix struct {
	off, count int
	clean      bool
	damage     bool // off is certainly damage: the scan ends in this segment
}

type chunkRef struct {
	job *scanJob
	i   int
}

// scanner schedules segment mappings (in order, at most window segments
// ahead of the assembler) and chunk verifications on a pool of workers.
type scanner struct {
	jobs       []*scanJob
	check      Check // Options.Check
	window     int
	chunkBytes int
	wg         sync.WaitGroup

	mu        sync.Mutex
	cond      sync.Cond
	mapPos    int
	mapping   int
	assembled int
	queue     []chunkRef
	closed    bool

	stopSeg atomic.Int64 // lowest segment known to end the scan
	// probe asks for the zero tail of the last segment (for Progress);
	// probeDone is closed when lastZeroTail holds it.
	probe        bool
	probeDone    chan struct{}
	lastZeroTail int64
	// tick (for Progress; nil without) wakes the assembler in
	// waitProgress whenever a chunk was verified.
	tick chan struct{}
}

// scanChunkHook, if set, runs after each chunk verification; tests slow
// the workers with it.
var scanChunkHook func()

func scanWorkerCount() int {
	if scanWorkers != 0 {
		return scanWorkers
	}
	return runtime.GOMAXPROCS(0)
}

// startScanner starts workers on segs; with progress, their first task
// measures the zero tail of the last segment (see probeZeroTail) and each
// verified chunk wakes waitProgress.
func startScanner(segs []segInfo, files []File, workers int, progress bool, check Check) *scanner {
	n := len(segs)
	cb := (max(scanChunkBytes, frameAlign) + frameAlign - 1) &^ (frameAlign - 1)
	sc := &scanner{jobs: make([]*scanJob, n), check: check, window: workers + 1, chunkBytes: cb, probe: progress, probeDone: make(chan struct{})}
	if progress {
		sc.tick = make(chan struct{}, 1)
	}
	sc.cond.L = &sc.mu
	sc.stopSeg.Store(int64(n))
	for i := range segs {
		sc.jobs[i] = &scanJob{idx: i, seg: segs[i], file: files[i], done: make(chan struct{})}
	}
	if !progress {
		close(sc.probeDone)
	}
	sc.wg.Add(workers)
	for range workers {
		go sc.work()
	}
	return sc
}

// stop ends the workers and unmaps every segment the assembler did not
// release.
func (sc *scanner) stop() {
	sc.mu.Lock()
	sc.closed = true
	sc.cond.Broadcast()
	sc.mu.Unlock()
	sc.wg.Wait()
	for _, j := range sc.jobs {
		if j.release != nil {
			j.release()
			j.release = nil
		}
	}
}

// stopAt records that the scan ends in segment i at the latest, so later
// segments need no work.
func (sc *scanner) stopAt(i int) {
	for {
		cur := sc.stopSeg.Load()
		if int64(i) >= cur || sc.stopSeg.CompareAndSwap(cur, int64(i)) {
			return
		}
	}
}

// wait returns segment i's job once its workers are done with it.
func (sc *scanner) wait(i int) *scanJob {
	<-sc.jobs[i].done
	return sc.jobs[i]
}

// waitProgress is wait that, while it waits, calls progress (on the
// calling goroutine) with the frame bytes of segment i verified so far,
// each time a worker finished a chunk: about every scanChunkBytes.
func (sc *scanner) waitProgress(i int, progress func(verified int64)) *scanJob {
	j := sc.jobs[i]
	if sc.tick == nil {
		<-j.done
		return j
	}
	for {
		select {
		case <-j.done:
			return j
		case <-sc.tick:
			progress(j.verified.Load())
		}
	}
}

// assembledOne lets mappings move one segment further ahead.
func (sc *scanner) assembledOne() {
	sc.mu.Lock()
	sc.assembled++
	sc.cond.Broadcast()
	sc.mu.Unlock()
}

func (sc *scanner) work() {
	defer sc.wg.Done()
	for {
		j, ci, ok := sc.next()
		switch {
		case !ok:
			return
		case ci == probeTask:
			sc.probeZeroTail(j)
		case ci < 0:
			sc.mapSegment(j)
		default:
			sc.verify(j, ci)
		}
	}
}

const (
	mapTask   = -1
	probeTask = -2
)

// next returns the next task: the zero-tail probe first, then mapping a
// segment (ci == mapTask) if one may start, else a chunk.
func (sc *scanner) next() (*scanJob, int, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for {
		if sc.closed {
			return nil, 0, false
		}
		if sc.probe {
			sc.probe = false
			return sc.jobs[len(sc.jobs)-1], probeTask, true
		}
		if sc.mapPos < len(sc.jobs) && sc.mapPos < sc.assembled+sc.window {
			sc.mapPos++
			sc.mapping++
			return sc.jobs[sc.mapPos-1], mapTask, true
		}
		if len(sc.queue) > 0 {
			r := sc.queue[0]
			sc.queue[0] = chunkRef{}
			sc.queue = sc.queue[1:]
			return r.job, r.i, true
		}
		if sc.mapPos == len(sc.jobs) && sc.mapping == 0 {
			return nil, 0, false
		}
		sc.cond.Wait()
	}
}

// mapSegment maps segment j, checks its header and queues its chunks.
func (sc *scanner) mapSegment(j *scanJob) {
	defer func() {
		sc.mu.Lock()
		sc.mapping--
		if len(j.chunks) > 0 {
			j.pending.Store(int64(len(j.chunks)))
			for i := range j.chunks {
				sc.queue = append(sc.queue, chunkRef{j, i})
			}
		} else {
			sc.finish(j)
		}
		sc.cond.Broadcast()
		sc.mu.Unlock()
	}()
	if int64(j.idx) > sc.stopSeg.Load() {
		j.incomplete.Store(true)
		return
	}
	data, _, release, err := segmentBytes(j.file, nil, -1)
	if err != nil {
		j.ioErr = err
		return
	}
	j.data, j.release = data, release
	var h segHeader
	if gerr := guardMapped(j.seg.name, func() { h, err = decodeSegHeader(data, j.seg.name) }); gerr != nil {
		j.incomplete.Store(true)
		sc.stopAt(j.idx)
		return
	}
	if err != nil || h.firstLSN != j.seg.first {
		sc.stopAt(j.idx) // the assembler reports it
		return
	}
	j.first, j.mask = h.firstLSN, h.lengthMask()
	for lo := segHeaderSize; lo < len(data); lo += sc.chunkBytes {
		j.chunks = append(j.chunks, scanChunk{lo: lo, hi: min(lo+sc.chunkBytes, len(data))})
	}
}

// verify checks the frames of one chunk; the last chunk of a segment to
// finish links them.
func (sc *scanner) verify(j *scanJob, ci int) {
	if int64(j.idx) > sc.stopSeg.Load() {
		j.incomplete.Store(true)
	} else if gerr := guardMapped(j.seg.name, func() { verifyChunk(j.data, &j.chunks[ci], j.first, ci == 0, sc.check, j.mask) }); gerr != nil {
		j.incomplete.Store(true)
		sc.stopAt(j.idx)
	} else if sc.tick != nil {
		if c := &j.chunks[ci]; c.start >= 0 {
			j.verified.Add(int64(c.end - c.start))
		}
		select {
		case sc.tick <- struct{}{}:
			// Let the assembler run now: readied by this goroutine, it
			// would otherwise wait for a P until a worker blocks or is
			// preempted (some 10 ms) when every P runs a worker.
			runtime.Gosched()
		default: // the assembler has a wake-up pending
		}
	}
	if scanChunkHook != nil {
		scanChunkHook()
	}
	if j.pending.Add(-1) == 0 {
		sc.finish(j)
	}
}

// finish links the chunks of j and releases its waiters.
func (sc *scanner) finish(j *scanJob) {
	if len(j.chunks) > 0 && !j.incomplete.Load() {
		j.pre, j.preOK = linkChunks(j.chunks, len(j.data), j.first), true
		if j.pre.damage {
			sc.stopAt(j.idx)
		}
	}
	close(j.done)
}

// probeZeroTail sets lastZeroTail to the number of zero bytes that end
// segment j (the log's last): the preallocated space after the records,
// give or take the zero bytes that end the last record. It maps the
// segment only for this, so that the segment is mapped for verification
// in its turn: a live writer cuts the active segment's tail at rotation,
// and a mapping held for the whole scan would more often see it shrink.
func (sc *scanner) probeZeroTail(j *scanJob) {
	defer close(sc.probeDone)
	data, _, release, err := segmentBytes(j.file, nil, -1)
	if err != nil {
		return
	}
	defer release()
	var n int
	if guardMapped(j.seg.name, func() { n = lastNonZero(data) }) == nil {
		sc.lastZeroTail = int64(len(data) - max(n, segHeaderSize))
	}
}

// prefix returns what the workers verified; ok is false when nothing may
// be trusted.
func (j *scanJob) prefix() (segPrefix, bool) { return j.pre, j.preOK }

// linkChunks follows the frame chain from offset 32 through the chunks and
// returns how far it is verified. A chunk is trusted only if it started at
// the offset and LSN where the chain arrived. The prefix ends at a batch
// boundary: frames of a batch whose end the chunks did not verify are
// verified again by the sequential walk, which decides whether the batch
// is whole (frameIter.completeBatch).
func linkChunks(chunks []scanChunk, size int, first uint64) segPrefix {
	p, want, count := segHeaderSize, first, 0
	bound, boundCount := segHeaderSize, 0 // a segment never starts inside a batch
	atBound := func(s segPrefix) segPrefix {
		if s.off == bound {
			return s
		}
		// The frames end inside a batch: at a clean end it has no last
		// frame, so the scan ends in this segment either way.
		return segPrefix{off: bound, count: boundCount, damage: s.damage || s.clean}
	}
	laterZero := func(k int) bool {
		for _, c := range chunks[k+1:] {
			if c.start >= 0 || !c.zero {
				return false
			}
		}
		return true
	}
	for k := range chunks {
		c := &chunks[k]
		if p >= c.hi {
			continue // inside a frame that started in an earlier chunk
		}
		if c.start < 0 && c.zero {
			// No frame and only zeros from p: the end of the records if
			// everything after is zero too.
			return atBound(segPrefix{off: p, count: count, clean: laterZero(k)})
		}
		if c.start != p || c.startLSN != want {
			return atBound(segPrefix{off: p, count: count}) // verify from p sequentially
		}
		if c.bound >= 0 {
			bound, boundCount = c.bound, count+c.boundCount
		}
		count += c.count
		want += uint64(c.count)
		p = c.end
		if c.stop >= 0 {
			clean := c.zeroStop && c.zero && laterZero(k)
			return atBound(segPrefix{off: c.stop, count: count, clean: clean, damage: !clean})
		}
	}
	return atBound(segPrefix{off: p, count: count, clean: p >= size})
}

// verifyChunk finds the first frame of c (chunk 0: the one at offset 32,
// carrying first) and verifies frames from it with the checks of
// frameIter.next, in the same order, until one starts at or after c.hi
// (mask: the length bits of the segment's frames).
func verifyChunk(data []byte, c *scanChunk, first uint64, isFirst bool, check Check, mask uint32) {
	c.start, c.stop, c.count, c.bound, c.boundCount = -1, -1, 0, -1, 0
	var o int
	var want uint64
	if isFirst {
		o, want = c.lo, first
	} else {
		if allZero(data[c.lo:c.hi]) {
			c.zero = true
			return
		}
		var ok bool
		if o, want, ok = resync(data, c.lo, c.hi, first, mask); !ok {
			return
		}
	}
	c.start, c.startLSN = o, want
	for o < c.hi {
		if o+frameHeaderSize > len(data) {
			c.stop, c.zeroStop, c.zero = o, true, allZero(data[o:c.hi])
			break
		}
		h := decodeFrameHeader(data[o:])
		if h.length == 0 {
			c.stop, c.zeroStop, c.zero = o, true, allZero(data[o:c.hi])
			break
		}
		n := h.length & mask
		fend := o + frameHeaderSize + int(n)
		if n == 0 || n > MaxRecordSize || fend > len(data) || crc32.Checksum(data[o+4:fend], crcTable) != h.crc || h.lsn != want {
			c.stop = o
			break
		}
		if check != nil && check(want, data[o+frameHeaderSize:fend]) != nil {
			c.stop = o
			break
		}
		o += frameSize(int(n))
		want++
		c.count++
		if h.length&^mask == 0 {
			c.bound, c.boundCount = o, c.count
		}
	}
	c.end = o
}

// resync returns the first 8-byte aligned offset in [lo, hi) holding a
// frame with a plausible length and LSN (one a frame at that offset of a
// segment starting at first could carry) and a valid CRC.
func resync(data []byte, lo, hi int, first uint64, mask uint32) (int, uint64, bool) {
	for o := (lo + frameAlign - 1) &^ (frameAlign - 1); o < hi && o+frameHeaderSize <= len(data); o += frameAlign {
		h := decodeFrameHeader(data[o:])
		n := h.length & mask
		if n == 0 || n > MaxRecordSize || o+frameHeaderSize+int(n) > len(data) {
			continue
		}
		if h.lsn < first || h.lsn-first > uint64(o-segHeaderSize)/uint64(frameSize(1)) {
			continue
		}
		if crc32.Checksum(data[o+4:o+frameHeaderSize+int(n)], crcTable) == h.crc {
			return o, h.lsn, true
		}
	}
	return 0, 0, false
}
