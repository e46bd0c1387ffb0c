package persistence

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncTrackFS wraps the OS file system and tracks, from the frames written,
// the highest LSN written and the highest LSN covered by a successful
// fdatasync, and counts fdatasyncs. Each fdatasync can be slowed down (to
// stand for a slow disk) or held at a gate and failed.
type syncTrackFS struct {
	OSFS
	delay time.Duration

	mu        sync.Mutex
	written   uint64 // highest LSN in a frame written so far
	synced    uint64 // highest LSN written before a successful fdatasync
	datasyncs int
	// gate, when set, holds the next fdatasync: it closes entered, waits
	// for a value on release and returns it (nil: sync for real).
	gate *syncGate
}

type syncGate struct {
	entered chan struct{}
	release chan error
}

func (f *syncTrackFS) armGate() *syncGate {
	g := &syncGate{entered: make(chan struct{}), release: make(chan error, 1)}
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
	return g
}

func (f *syncTrackFS) state() (written, synced uint64, datasyncs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written, f.synced, f.datasyncs
}

func (f *syncTrackFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &syncTrackFile{File: file, fs: f}, nil
}

type syncTrackFile struct {
	File
	fs *syncTrackFS
}

func (f *syncTrackFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	if err == nil && off >= segHeaderSize {
		// Frames are written whole, from a frame boundary: walk them.
		var last uint64
		for o := 0; o+frameHeaderSize <= len(p); {
			length := binary.LittleEndian.Uint32(p[o+4:])
			if length == 0 {
				break
			}
			last = binary.LittleEndian.Uint64(p[o+8:])
			o += frameSize(int(length))
		}
		f.fs.mu.Lock()
		f.fs.written = max(f.fs.written, last)
		f.fs.mu.Unlock()
	}
	return n, err
}

func (f *syncTrackFile) Datasync() error {
	f.fs.mu.Lock()
	covered := f.fs.written
	g := f.fs.gate
	f.fs.gate = nil
	f.fs.mu.Unlock()
	if g != nil {
		close(g.entered)
		if err := <-g.release; err != nil {
			return err
		}
	}
	if f.fs.delay > 0 {
		time.Sleep(f.fs.delay)
	}
	if err := f.File.Datasync(); err != nil {
		return err
	}
	f.fs.mu.Lock()
	f.fs.synced = max(f.fs.synced, covered)
	f.fs.datasyncs++
	f.fs.mu.Unlock()
	return nil
}

// TestSerializedExecutorGetsGroupCommit recreates a runtime that runs
// reducers one at a time under its own mutex: each of 8 goroutines takes
// the mutex, Enqueues, releases it and Waits outside it. Commits must still
// be grouped (one fdatasync per drained batch, far fewer than records), no
// Wait may return before a successful fdatasync covered its record, and
// the log must hold exactly the records in the executor's order.
func TestSerializedExecutorGetsGroupCommit(t *testing.T) {
	const goroutines, perG = 8, 150
	dir := t.TempDir()
	tfs := &syncTrackFS{delay: 300 * time.Microsecond}
	l := mustOpen(t, dir, Options{FS: tfs})
	var exec sync.Mutex // the runtime's executor lock
	var order []uint64  // LSNs in the order the executor enqueued them
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				exec.Lock()
				next := uint64(len(order)) + 1
				lsn, err := l.Enqueue(testTxn(next))
				if err == nil {
					order = append(order, lsn)
				}
				exec.Unlock()
				if err != nil {
					errs <- err
					return
				}
				if lsn != next {
					errs <- errors.New("Enqueue did not assign LSNs in executor order")
					return
				}
				if err := l.Wait(lsn); err != nil {
					errs <- err
					return
				}
				if _, synced, _ := tfs.state(); synced < lsn {
					t.Errorf("Wait(%d) returned but only lsn %d was fdatasynced", lsn, synced)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	records := goroutines * perG
	_, synced, syncs := tfs.state()
	t.Logf("%d records, %d fdatasyncs (%.1f records per sync)", records, syncs, float64(records)/float64(syncs))
	if synced != uint64(records) {
		t.Fatalf("synced up to lsn %d, want %d", synced, records)
	}
	// A single writer would need one sync per record. The callers one
	// sync acknowledges come back one after another; a leader that wrote at
	// once would carry only the first of them, and batches would alternate
	// between 1 and 7 records (a mean of 4). The leader waits for its group
	// instead (gatherLocked): demand a mean batch of at least 6 of the 8.
	if syncs*6 > records {
		t.Fatalf("%d fdatasyncs for %d records: a mean batch of %.1f, want >= 6: the leader did not gather its group", syncs, records, float64(records)/float64(syncs))
	}
	if st := l.Stats(); st.Records != uint64(records) || st.Syncs != uint64(syncs) {
		t.Fatalf("Stats %+v, want %d records in %d fdatasyncs", st, records, syncs)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkContiguous(t, readAll(t, l), 1, records)
}

// TestFailedSyncFailsEveryWaiterOfTheBatchAndLaterEnqueues holds the
// fdatasync of a batch (LSNs 3-5) at a gate while two more records (6, 7)
// are enqueued behind it, then fails it with EIO. Every waiter of the batch
// and of the records queued behind it must get the poison error, every
// later Enqueue ErrPoisoned, the earlier records stay acknowledged, and a
// reopened log holds only them.
func TestFailedSyncFailsEveryWaiterOfTheBatchAndLaterEnqueues(t *testing.T) {
	dir := t.TempDir()
	tfs := &syncTrackFS{}
	l := mustOpen(t, dir, Options{FS: tfs})
	appendN(t, l, 2)
	gate := tfs.armGate()
	waitAll := func(lsns ...uint64) chan error {
		ch := make(chan error, len(lsns))
		for _, lsn := range lsns {
			go func() { ch <- l.Wait(lsn) }()
		}
		return ch
	}
	for want := uint64(3); want <= 5; want++ {
		if lsn, err := l.Enqueue(testTxn(want)); err != nil || lsn != want {
			t.Fatalf("Enqueue: %d %v, want %d", lsn, err, want)
		}
	}
	batch := waitAll(3, 4, 5)
	<-gate.entered // a leader wrote 3-5 and is in fdatasync
	for want := uint64(6); want <= 7; want++ {
		if lsn, err := l.Enqueue(testTxn(want)); err != nil || lsn != want {
			t.Fatalf("Enqueue during the sync: %d %v, want %d", lsn, err, want)
		}
	}
	behind := waitAll(6, 7)
	gate.release <- syscall.EIO
	for i := 0; i < 3; i++ {
		if err := <-batch; !errors.Is(err, ErrPoisoned) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("waiter of the failed batch got %v, want ErrPoisoned wrapping EIO", err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := <-behind; !errors.Is(err, ErrPoisoned) {
			t.Fatalf("waiter queued behind the failed batch got %v, want ErrPoisoned", err)
		}
	}
	if _, err := l.Enqueue(testTxn(8)); !errors.Is(err, ErrPoisoned) {
		t.Fatalf("Enqueue after the failed sync: %v, want ErrPoisoned", err)
	}
	if _, err := l.Append(testTxn(8)); !errors.Is(err, ErrPoisoned) {
		t.Fatalf("Append after the failed sync: %v, want ErrPoisoned", err)
	}
	if err := l.Wait(2); err != nil {
		t.Fatalf("Wait for a record acknowledged before the failure: %v", err)
	}
	if l.LastLSN() != 2 {
		t.Fatalf("LastLSN %d, want 2", l.LastLSN())
	}
	if err := l.Close(); !errors.Is(err, ErrPoisoned) {
		t.Fatalf("Close: %v", err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkContiguous(t, readAll(t, l), 1, 2)
	appendN(t, l, 1)
}

// TestEnqueuedRecordIsWrittenByAnyLaterFlush checks that records queued
// without a Wait are not stranded: a later Wait of a higher LSN, Sync and
// Close each write them, and under SyncInterval the background sync does.
func TestEnqueuedRecordIsWrittenByAnyLaterFlush(t *testing.T) {
	t.Run("wait for a later lsn", func(t *testing.T) {
		l := mustOpen(t, t.TempDir(), Options{})
		defer l.Close()
		l.Enqueue(testTxn(1))
		lsn, _ := l.Enqueue(testTxn(2))
		if err := l.Wait(lsn); err != nil || l.LastLSN() != 2 {
			t.Fatalf("Wait: %v, LastLSN %d", err, l.LastLSN())
		}
		if err := l.Wait(1); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("close", func(t *testing.T) {
		dir := t.TempDir()
		l := mustOpen(t, dir, Options{})
		for i := uint64(1); i <= 3; i++ {
			l.Enqueue(testTxn(i))
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(3); err != nil {
			t.Fatalf("Wait after Close for a record Close wrote: %v", err)
		}
		l = mustOpen(t, dir, Options{})
		defer l.Close()
		checkContiguous(t, readAll(t, l), 1, 3)
	})
	t.Run("background sync", func(t *testing.T) {
		l := mustOpen(t, t.TempDir(), Options{Sync: SyncInterval, SyncInterval: 2 * time.Millisecond})
		defer l.Close()
		l.Enqueue(testTxn(1))
		deadline := time.Now().Add(5 * time.Second)
		for l.LastLSN() < 1 {
			if time.Now().After(deadline) {
				t.Fatal("an enqueued record was never written by the background sync")
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func TestWaitForAnLSNNeverEnqueuedIsAnError(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 2)
	for _, lsn := range []uint64{0, 3, 100} {
		if err := l.Wait(lsn); err == nil {
			t.Fatalf("Wait(%d) on a log whose last lsn is 2 returned nil", lsn)
		}
	}
	if err := l.Wait(2); err != nil {
		t.Fatal(err)
	}
}

// TestLoneWriterDoesNotGather: a single appender's group is one record, so
// its leader never waits for more.
func TestLoneWriterDoesNotGather(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 20)
	if st := l.Stats(); st.Gathers != 0 || st.Records != 20 || st.Syncs != 20 {
		t.Fatalf("a lone writer: %+v, want 20 records in 20 fdatasyncs and no gathering", st)
	}
}

// TestWaitNowWritesWithoutGathering: a producer enqueues while one
// pipelined waiter (the runtime's flusher) calls WaitNow for the newest
// record: every record is acknowledged, batches form from what queued
// during each fdatasync, and no write first waits for its group.
func TestWaitNowWritesWithoutGathering(t *testing.T) {
	tfs := &syncTrackFS{delay: 300 * time.Microsecond}
	l := mustOpen(t, t.TempDir(), Options{FS: tfs})
	defer l.Close()
	const n = 400
	lsns := make(chan uint64, n)
	go func() {
		for i := 1; i <= n; i++ {
			lsn, err := l.Enqueue(testTxn(uint64(i)))
			if err != nil {
				t.Error(err)
				close(lsns)
				return
			}
			lsns <- lsn
			if i%4 == 0 {
				time.Sleep(50 * time.Microsecond) // callers trickle in
			}
		}
		close(lsns)
	}()
	var last uint64
	for lsn := range lsns {
		if len(lsns) > 0 {
			continue // wait for the newest only, as the flusher does for a batch
		}
		if err := l.WaitNow(lsn); err != nil {
			t.Fatal(err)
		}
		last = lsn
	}
	if last != n || l.LastLSN() != n {
		t.Fatalf("waited up to %d, log at %d, want %d", last, l.LastLSN(), n)
	}
	st := l.Stats()
	if st.Gathers != 0 {
		t.Errorf("%d writes gathered first; WaitNow must not", st.Gathers)
	}
	if st.Records != n || st.Syncs >= n {
		t.Errorf("%+v: want %d records in fewer fdatasyncs", st, n)
	}
	if err := l.WaitNow(n + 1); err == nil {
		t.Error("WaitNow for an lsn never enqueued returned nil")
	}
}

// BenchmarkEnqueueWait8 runs 8 goroutines through a serialized executor
// (Enqueue under a mutex, Wait outside it), the runtime's commit path.
func BenchmarkEnqueueWait8(b *testing.B) {
	l := mustOpen(b, b.TempDir(), Options{})
	defer l.Close()
	var exec sync.Mutex
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var tx Payload = smallTxn() // boxed once, outside the timed loop
		for pb.Next() {
			exec.Lock()
			lsn, err := l.Enqueue(tx)
			exec.Unlock()
			if err == nil {
				err = l.Wait(lsn)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	reportBatch(b, l)
}
