package persistence

import (
	"fmt"
	"testing"
	"time"
)

// bigSegmentLog writes about 6 MiB of ~4 KiB records into the first
// segment of a log of 16 MiB segments (so one segment, most of it
// preallocated zeros) and returns its directory.
func bigSegmentLog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 16 << 20, Sync: SyncNone})
	txs := make([]Payload, 100)
	for b := 0; b < 15; b++ {
		for i := range txs {
			n := b*len(txs) + i
			body := fmt.Appendf(nil, "record %d|", n)
			for len(body) < 4216 { // a 4224-byte payload
				body = append(body, byte(n+len(body)))
			}
			txs[i] = testRec{Body: body}
		}
		if _, err := l.AppendBatch(txs); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestValidateProgressAdvancesWithinASegment recreates a progress bar that
// moved once per whole (64 MiB) segment: Validate, ValidateEach and Repair
// report within a segment, sequentially every progressStep bytes and in
// parallel as the workers verify chunks, monotonically, on the calling
// goroutine, ending at (total, total).
func TestValidateProgressAdvancesWithinASegment(t *testing.T) {
	dir := bigSegmentLog(t)
	rep, err := Validate(dir, checkOpts)
	if err != nil || !rep.OK() || len(rep.Segments) != 1 || rep.ValidBytes < 6<<20 {
		t.Fatal(err, rep)
	}
	type call struct {
		name string
		run  func(o Options) error
	}
	calls := []call{
		{"validate", func(o Options) error { _, err := Validate(dir, o); return err }},
		{"validate each", func(o Options) error {
			n := 0
			rep, err := ValidateEach(dir, func(r Record) error {
				if _, err := decodeTestRec(r.Payload); err != nil {
					return err
				}
				n++
				return nil
			}, o)
			if err == nil && (!rep.OK() || n != 1500) {
				err = fmt.Errorf("ValidateEach saw %d records: %+v", n, rep)
			}
			return err
		}},
		{"repair", func(o Options) error { _, err := Repair(dir, o); return err }},
	}
	defer func() { scanChunkHook = nil }()
	for _, workers := range []int{-1, 1, 2} {
		// Slow workers, so that the test does not depend on the assembler
		// waking up before they finished the segment.
		scanChunkHook = nil
		if workers > 0 {
			scanChunkHook = func() { time.Sleep(10 * time.Millisecond) }
		}
		for _, c := range calls {
			var done, total []int64
			err := func() error {
				defer func(w int) { scanWorkers = w }(scanWorkers)
				scanWorkers = workers
				return c.run(Options{Check: testCheck, Progress: func(d, tt int64) { done, total = append(done, d), append(total, tt) }})
			}()
			if err != nil {
				t.Fatalf("%s, %d workers: %v", c.name, workers, err)
			}
			n := len(done)
			if n == 0 {
				t.Fatalf("%s, %d workers: no progress", c.name, workers)
			}
			end := total[n-1]
			if done[n-1] != end || end > rep.ValidBytes || end < rep.ValidBytes-64 {
				t.Fatalf("%s, %d workers: last report (%d, %d), want (total, total) within 64 bytes of %d", c.name, workers, done[n-1], end, rep.ValidBytes)
			}
			within := 0
			for i := range done {
				if done[i] > total[i] || (i > 0 && (done[i] < done[i-1] || total[i] > total[i-1])) {
					t.Fatalf("%s, %d workers: progress not monotonic: done %v total %v", c.name, workers, done, total)
				}
				if done[i] < end {
					within++
				}
				// Sequentially, no gap is much over progressStep (a frame
				// more). In parallel the gaps depend on when the scheduler
				// runs the assembler (make test runs two packages at once
				// on 2 cores): only "several reports" below is asserted.
				gap := done[i]
				if i > 0 {
					gap -= done[i-1]
				}
				if limit := int64(progressStep + 8<<10); workers < 0 && gap > limit {
					t.Fatalf("%s, %d workers: a gap of %d bytes between reports: %v", c.name, workers, gap, done)
				}
			}
			if within < 3 {
				t.Fatalf("%s, %d workers: %d reports before the end, want several: %v", c.name, workers, within, done)
			}
		}
	}
}
