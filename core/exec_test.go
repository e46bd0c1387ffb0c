package core

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/interstice/interstice/row"
)

// TestConcurrentCallsDeliverHooksInCommitOrder: with 8 goroutines (half of
// them locked to OS threads, as cgo callers are) calling at once through
// the executor, every committed event reaches its hook exactly once, in
// LSN order across all callers, never two hooks at once, each before its
// own Call returns and only once its record is durable.
func TestConcurrentCallsDeliverHooksInCommitOrder(t *testing.T) {
	rt := openDur(t, durConfig(t, t.TempDir()), durV1(t))
	defer rt.Close()
	var (
		mu      sync.Mutex
		lsns    []uint64
		running atomic.Int32
		overlap atomic.Bool
		seen    sync.Map // id -> true, set by the hook
	)
	if _, err := rt.Subscribe("dur", "items", EventInsert, func(e Event) {
		if running.Add(1) != 1 {
			overlap.Store(true)
		}
		defer running.Add(-1)
		if e.LSN > rt.log.LastLSN() {
			t.Errorf("hook for lsn %d ran before the log acknowledged it (acknowledged %d)", e.LSN, rt.log.LastLSN())
		}
		mu.Lock()
		lsns = append(lsns, e.LSN)
		mu.Unlock()
		seen.Store(e.LSN, true)
	}); err != nil {
		t.Fatal(err)
	}
	const callers, per = 8, 150
	var wg sync.WaitGroup
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g%2 == 0 {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			for i := 0; i < per; i++ {
				res, err := call(t, rt, "dur", "put", uint64(g*per+i+1), "x")
				if err != nil {
					t.Error(err)
					return
				}
				if _, ok := seen.Load(res.LSN); !ok {
					t.Errorf("call at lsn %d returned before its hook ran", res.LSN)
				}
			}
		}()
	}
	wg.Wait()
	if overlap.Load() {
		t.Error("two hooks ran at once")
	}
	if len(lsns) != callers*per {
		t.Fatalf("%d events delivered, want %d", len(lsns), callers*per)
	}
	for i := 1; i < len(lsns); i++ {
		if lsns[i] <= lsns[i-1] {
			t.Fatalf("event %d has lsn %d after lsn %d: not in commit order", i, lsns[i], lsns[i-1])
		}
	}
	if st := rt.LogStats(); st.Syncs >= st.Records {
		t.Errorf("%d fdatasyncs for %d records: no group commit", st.Syncs, st.Records)
	}
}

// TestHookSkipsEventThatIsNotDurable: when the fdatasync of a call's record
// fails, the call is POISONED (outcome unknown) and its hook does not run:
// hooks see only durable events.
func TestHookSkipsEventThatIsNotDurable(t *testing.T) {
	ffs := &failFS{}
	rt := openDur(t, failConfig(t, t.TempDir(), ffs), durV1(t))
	defer rt.Close()
	var fired atomic.Int32
	if _, err := rt.Subscribe("dur", "items", EventInsert, func(Event) { fired.Add(1) }); err != nil {
		t.Fatal(err)
	}
	mustCall(t, rt, "dur", "put", uint64(1), "a")
	if fired.Load() != 1 {
		t.Fatalf("hook fired %d times for a durable call, want 1", fired.Load())
	}
	ffs.set(func(f *failFS) { f.failDatasync = true })
	if _, err := call(t, rt, "dur", "put", uint64(2), "b"); !errors.Is(err, ErrPoisoned) {
		t.Fatalf("call with a failing fdatasync: %v", err)
	}
	if n := fired.Load(); n != 1 {
		t.Errorf("hook fired for an event whose record was not made durable (%d calls)", n)
	}
}

// TestCallAsync: 2,000 asynchronous calls queued at once all complete,
// each done exactly once with its own LSN, in LSN order, after its hook,
// on one OS thread, once durable, sharing fdatasyncs; a CallAsync after
// Close is refused and those queued before it completed.
func TestCallAsync(t *testing.T) {
	rt := openDur(t, durConfig(t, t.TempDir()), durV1(t))
	var (
		mu        sync.Mutex
		order     []string
		tids      = map[int]bool{}
		doneLSN   []uint64
		remaining sync.WaitGroup
	)
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		tids[syscall.Gettid()] = true
		mu.Unlock()
	}
	if _, err := rt.Subscribe("dur", "items", EventInsert, func(e Event) { note(fmt.Sprintf("hook %d", e.LSN)) }); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	remaining.Add(n)
	for i := 0; i < n; i++ {
		err := rt.CallAsync(context.Background(), "dur", "put", row.MustEncode(uint64(i+1), "x"), func(res CallResult, err error) {
			defer remaining.Done()
			if err != nil {
				t.Error(err)
				return
			}
			if res.LSN > rt.log.LastLSN() {
				t.Errorf("done for lsn %d before the log acknowledged it", res.LSN)
			}
			note(fmt.Sprintf("done %d", res.LSN))
			mu.Lock()
			doneLSN = append(doneLSN, res.LSN)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	remaining.Wait()
	if len(tids) != 1 {
		t.Errorf("callbacks and done ran on %d OS threads, want 1", len(tids))
	}
	for i := 1; i < len(doneLSN); i++ {
		if doneLSN[i] <= doneLSN[i-1] {
			t.Fatalf("done of lsn %d after lsn %d", doneLSN[i], doneLSN[i-1])
		}
	}
	for i := 0; i+1 < len(order); i += 2 {
		var h, d uint64
		if _, err := fmt.Sscanf(order[i]+" "+order[i+1], "hook %d done %d", &h, &d); err != nil || h != d {
			t.Fatalf("callback order %q, %q: want each call's hook right before its done", order[i], order[i+1])
		}
	}
	if st := rt.LogStats(); st.Syncs*4 > st.Records {
		t.Errorf("%d fdatasyncs for %d records: queued calls should share them", st.Syncs, st.Records)
	}
	// Calls queued before Close complete; after it, CallAsync refuses.
	var after sync.WaitGroup
	after.Add(100)
	for i := 0; i < 100; i++ {
		if err := rt.CallAsync(context.Background(), "dur", "put", row.MustEncode(uint64(n+i+1), "y"), func(_ CallResult, err error) {
			if err != nil {
				t.Error(err)
			}
			after.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	after.Wait()
	err := rt.CallAsync(context.Background(), "dur", "put", row.MustEncode(uint64(1), "z"), func(CallResult, error) { t.Error("done called for a refused call") })
	if CodeOf(err) != CodeClosed {
		t.Errorf("CallAsync after Close: %v, want CodeClosed", err)
	}
	// The 100 queued before Close are in the log.
	rt2 := openDur(t, durConfig(t, rt.dir.Path()))
	defer rt2.Close()
	if got := rt2.LastLSN(); got != uint64(n+100+1) {
		t.Errorf("reopened at lsn %d, want %d (1 load + %d calls)", got, n+100+1, n+100)
	}
}

// TestCallAsyncErrors: a call that fails reaches done with its error; one
// that cannot be queued returns its error and never calls done.
func TestCallAsyncErrors(t *testing.T) {
	rt := openDur(t, durConfig(t, t.TempDir()), durV1(t))
	defer rt.Close()
	got := make(chan error, 1)
	if err := rt.CallAsync(context.Background(), "dur", "trap", row.MustEncode(), func(_ CallResult, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; CodeOf(err) != CodeTrap {
		t.Errorf("trap through CallAsync: %v, want CodeTrap", err)
	}
	if err := rt.CallAsync(context.Background(), "dur", "nope", nil, func(_ CallResult, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; CodeOf(err) != CodeNotFound {
		t.Errorf("unknown reducer through CallAsync: %v, want CodeNotFound", err)
	}
	err := rt.CallJSONAsync(context.Background(), "dur", "put", []byte(`[1]`), func(CallResult, error) { t.Error("done called for refused arguments") })
	if CodeOf(err) != CodeType {
		t.Errorf("CallJSONAsync with missing arguments: %v, want CodeType", err)
	}
	if err := rt.CallJSONAsync(context.Background(), "dur", "put", []byte(`[7,"j"]`), func(_ CallResult, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("CallJSONAsync: %v", err)
	}
}
