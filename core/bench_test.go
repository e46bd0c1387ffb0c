package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func BenchmarkCallNoop(b *testing.B) {
	rt := open(b, testConfig(b), kvWasm(b))
	args := row.MustEncode()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Call(ctx, "kv", "noop", args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallInsert(b *testing.B) {
	rt := open(b, testConfig(b), kvWasm(b))
	ctx := context.Background()
	bufs := make([][]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bufs)
		if j == 0 {
			b.StopTimer()
			for k := range bufs {
				bufs[k] = row.MustEncode(uint64(i+k), "name")
			}
			b.StartTimer()
		}
		if _, err := rt.Call(ctx, "kv", "put", bufs[j]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	rt := open(b, testConfig(b), kvWasm(b))
	for i := 0; i < 1000; i++ {
		mustCall(b, rt, "kv", "put", uint64(i), "name")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, _ := rt.Get("kv", "items", uint64(i%1000)); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkCallNoopNoDeadline(b *testing.B) {
	rt := open(b, testConfig(b).WithCallDeadline(0), kvWasm(b))
	args := row.MustEncode()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Call(ctx, "kv", "noop", args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallInsertNoDeadline(b *testing.B) {
	rt := open(b, testConfig(b).WithCallDeadline(0), kvWasm(b))
	ctx := context.Background()
	bufs := make([][]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bufs)
		if j == 0 {
			b.StopTimer()
			for k := range bufs {
				bufs[k] = row.MustEncode(uint64(i+k), "name")
			}
			b.StartTimer()
		}
		if _, err := rt.Call(ctx, "kv", "put", bufs[j]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWatchdogFastPath checks that reducer calls under a deadline run on
// the instrumented interrupt flag (no wazero termination checks, so no
// per-call watcher goroutine) and allocate nothing.
func TestWatchdogFastPath(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	if inst := rt.modules["kv"].inst; inst == nil || inst.target.Flag == nil {
		t.Fatal("the kv instance has no interrupt flag")
	}
	args := row.MustEncode()
	res := testing.AllocsPerRun(200, func() {
		if _, err := rt.Call(context.Background(), "kv", "noop", args); err != nil {
			t.Fatal(err)
		}
	})
	if res > 0 {
		t.Fatalf("noop call with a deadline allocates %.1f times", res)
	}
}

// BenchmarkDurableCall measures durable 1-insert reducer calls (SyncAlways:
// fdatasync before each acknowledgment, shared by concurrent callers) with
// 1 and 8 calling goroutines.
//
// In "callers=8-locked" each goroutine is locked to its OS thread, as the
// goroutine of a call through cgo (C, Python, Node) is: every park and
// wake-up then hands a P between OS threads (RATIONALE.md, "Why an
// executor goroutine for overlapping durable calls?").
func BenchmarkDurableCall(b *testing.B) {
	for _, callers := range []int{1, 8, -8} {
		name := fmt.Sprintf("callers=%d", callers)
		locked := callers < 0
		if locked {
			callers = -callers
			name = fmt.Sprintf("callers=%d-locked", callers)
		}
		b.Run(name, func(b *testing.B) {
			rt := open(b, durConfig(b, b.TempDir()), durV1(b))
			var next atomic.Uint64
			b.ResetTimer()
			if callers == 1 {
				for i := 0; i < b.N; i++ {
					if _, err := rt.Call(context.Background(), "dur", "put", row.MustEncode(next.Add(1), "name")); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				var wg sync.WaitGroup
				per := b.N/callers + 1
				for g := 0; g < callers; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if locked {
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
						}
						for i := 0; i < per; i++ {
							if _, err := rt.Call(context.Background(), "dur", "put", row.MustEncode(next.Add(1), "name")); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(next.Load())/b.Elapsed().Seconds(), "calls/s")
			if st := rt.LogStats(); st.Writes > 0 {
				b.ReportMetric(float64(st.Records)/float64(st.Writes), "recs/write")
			}
		})
	}
}

// BenchmarkReplay measures Open on a log of 250k transactions of 4 inserts
// each (1M mutations): replay of the whole log ("log"), and startup from a
// snapshot of the 1M rows ("snapshot"). In "ascending" the transactions
// insert keys in ascending order (an auto-increment key); in "shuffled" the
// transactions come in random order, so the keys arrive unsorted.
func BenchmarkReplay(b *testing.B) {
	for _, shuffled := range []bool{false, true} {
		name := "ascending"
		if shuffled {
			name = "shuffled"
		}
		b.Run(name, func(b *testing.B) {
			const calls = 250_000
			bases := make([]uint64, calls)
			for i := range bases {
				bases[i] = uint64(i + 1)
			}
			if shuffled {
				rand.New(rand.NewPCG(1, 2)).Shuffle(calls, func(i, j int) { bases[i], bases[j] = bases[j], bases[i] })
			}
			dir := b.TempDir()
			cfg := durConfig(b, dir).WithSync(persistence.SyncNone)
			rt := open(b, cfg, durV1(b))
			for _, base := range bases {
				if _, err := rt.Call(context.Background(), "dur", "batch", row.MustEncode(base)); err != nil {
					b.Fatal(err)
				}
			}
			rt.Close()
			benchOpen(b, "log", cfg, 4*calls)
			rt, err := Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Snapshot(); err != nil {
				b.Fatal(err)
			}
			rt.Close()
			benchOpen(b, "snapshot", cfg, 4*calls)
		})
	}
}

// benchOpen times Open(cfg) of a data directory holding rows rows in
// dur.items, reporting mutations (log) or rows (snapshot) per second.
func benchOpen(b *testing.B, name string, cfg Config, rows int) {
	b.Run(name, func(b *testing.B) {
		var n int64
		b.StopTimer()
		for i := 0; i < b.N; i++ {
			runtime.GC()
			b.StartTimer()
			rt, err := Open(cfg)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			st := rt.ReplayStats()
			n += st.Mutations + st.SnapshotRows
			if c := count(b, rt, "dur", "items"); c != rows {
				b.Fatalf("%d rows after Open, want %d", c, rows)
			}
			rt.Close()
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/open")
	})
}

// BenchmarkStartup measures Open of a data directory of 1M one-insert
// transactions: replaying the whole log ("log"), and loading a snapshot of
// its 1M rows ("snapshot").
func BenchmarkStartup(b *testing.B) {
	const calls = 1_000_000
	dir := b.TempDir()
	cfg := durConfig(b, dir).WithSync(persistence.SyncNone)
	rt := open(b, cfg, durV1(b))
	for i := 1; i <= calls; i++ {
		if _, err := rt.Call(context.Background(), "dur", "put", row.MustEncode(uint64(i), "player")); err != nil {
			b.Fatal(err)
		}
	}
	rt.Close()
	benchOpen(b, "log", cfg, calls)
	rt, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rt.Snapshot(); err != nil {
		b.Fatal(err)
	}
	rt.Close()
	benchOpen(b, "snapshot", cfg, calls)
}

// BenchmarkDurableCallAsync measures durable 1-insert reducer calls
// through CallAsync with 16 calls in flight from one goroutine (the shape
// of an event loop: each completion queues the next call).
func BenchmarkDurableCallAsync(b *testing.B) {
	rt := open(b, durConfig(b, b.TempDir()), durV1(b))
	const inFlight = 16
	slots := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slots <- struct{}{}
		wg.Add(1)
		if err := rt.CallAsync(context.Background(), "dur", "put", row.MustEncode(uint64(i+1), "name"), func(_ CallResult, err error) {
			if err != nil {
				b.Error(err)
			}
			<-slots
			wg.Done()
		}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	if st := rt.LogStats(); st.Writes > 0 {
		b.ReportMetric(float64(st.Records)/float64(st.Writes), "recs/write")
	}
}

// BenchmarkBankTransfer is one transfer of examples/bank in memory: a
// cascade of three transactions (the transfer, two statement lines).
func BenchmarkBankTransfer(b *testing.B) {
	rt := open(b, testConfig(b), bankWasm(b))
	for _, a := range []string{"a", "b"} {
		mustCall(b, rt, "bank", "open", a, int64(1)<<40)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := "a", "b"
		if i%2 == 1 {
			from, to = to, from
		}
		if _, err := rt.Call(ctx, "bank", "transfer", row.MustEncode(uint64(i+1), from, to, int64(1))); err != nil {
			b.Fatal(err)
		}
	}
}
