package main

// Durable-runtime benchmarks (issue 4) and the C ABI comparison (issue 5):
// durable reducer commits against SQLite WAL FULL with 1 and 8 callers,
// startup (snapshot + replay) of a 1M-transaction data directory, and a noop
// reducer call from C against the same call from Go.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func init() {
	register("runtime/durable", benchDurableRuntime)
	register("runtime/startup", benchStartup)
	register("capi/noop", benchCNoop)
}

func openDurable(dir string, wasm []byte, sync persistence.SyncPolicy) *core.Runtime {
	rt, err := core.Open(core.NewConfig().WithDataDir(dir).WithSync(sync))
	must(err)
	if wasm != nil {
		_, err = rt.LoadModule(wasm)
		must(err)
	}
	return rt
}

// durableCalls runs n 1-insert reducer calls split over `callers`
// goroutines against a durable runtime (sync=always) and returns calls/s.
func durableCalls(dir string, wasm []byte, n, callers int) Figure {
	defer os.RemoveAll(dir)
	rt := openDurable(dir, wasm, persistence.SyncAlways)
	defer rt.Close()
	ctx := context.Background()
	el := spread(n, callers, func(id uint64) {
		if _, err := rt.Call(ctx, "noop", "insert", row.MustEncode(id, "player", int64(id))); err != nil {
			fatal(err)
		}
	})
	st := rt.LogStats()
	return Figure{Name: fmt.Sprintf("durable 1-insert reducer calls, sync=always, %d caller(s)", callers), Value: rate(n, el), Unit: "ops/s",
		Note: fmt.Sprintf("%.1f records per fdatasync (%d records, %d fdatasyncs, %d gathers)", float64(st.Records)/float64(max(st.Syncs, 1)), st.Records, st.Syncs, st.Gathers)}
}

// spread runs fn(id) for the ids 1..n, taken in order by `callers`
// goroutines, and returns how long it took.
func spread(n, callers int, fn func(id uint64)) time.Duration {
	var next atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := next.Add(1); id <= uint64(n); id = next.Add(1) {
				fn(id)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// callVsAppend measures durable 1-insert calls from one caller against
// persistence.Append of the very record such a call writes (its bytes
// copied from the runtime's log, the LSN restamped), to a log with the
// runtime's options in the same directory, alternating rounds of n of each
// five times so that the disk's drift hits both alike.
func callVsAppend(dir string, wasm []byte, n int) (Figure, Figure) {
	rdir, ldir := filepath.Join(dir, "cva-rt"), filepath.Join(dir, "cva-log")
	defer os.RemoveAll(rdir)
	defer os.RemoveAll(ldir)
	rt := openDurable(rdir, wasm, persistence.SyncAlways)
	defer rt.Close()
	ctx := context.Background()
	id := uint64(0)
	call := func() {
		id++
		if _, err := rt.Call(ctx, "noop", "insert", row.MustEncode(id, "player", int64(id))); err != nil {
			fatal(err)
		}
	}
	call()
	rd, err := persistence.NewReader(filepath.Join(rdir, "log"), 0, record.LogOptions(persistence.Options{Recovery: persistence.RecoverReadOnly}))
	must(err)
	var rec record.Encoded
	for rd.Next() {
		rec = record.Encoded(bytes.Clone(rd.Record().Payload))
	}
	must(rd.Err())
	rd.Close()
	l, err := persistence.Open(ldir, record.LogOptions(persistence.Options{}))
	must(err)
	defer l.Close()
	var tc, ta time.Duration
	for round := 0; round < 5; round++ {
		start := time.Now()
		for i := 0; i < n; i++ {
			call()
		}
		tc += time.Since(start)
		start = time.Now()
		for i := 0; i < n; i++ {
			if _, err := l.Append(rec); err != nil {
				fatal(err)
			}
		}
		ta += time.Since(start)
	}
	return Figure{Name: "core.Runtime.Call, 1-insert reducer, sync=always", Value: rate(5*n, tc), Unit: "ops/s", Note: fmt.Sprintf("%.0f µs per call; 5 rounds of %d alternated with the appends", tc.Seconds()*1e6/float64(5*n), n)},
		Figure{Name: "persistence.Append of the same record", Value: rate(5*n, ta), Unit: "ops/s", Note: fmt.Sprintf("%.0f µs per append, %d-byte payload", ta.Seconds()*1e6/float64(5*n), len(rec))}
}

func benchDurableRuntime(cfg config) []Result {
	n := 4000
	if cfg.quick {
		n = 400
	}
	wasm := buildGuest(cfg.dir, "tests/modules/go/noop")
	ours1 := durableCalls(filepath.Join(cfg.dir, "rt1"), wasm, n, 1)
	sql1 := sqliteDurable(cfg.dir, n, 1)
	ours8 := durableCalls(filepath.Join(cfg.dir, "rt8"), wasm, 4*n, 8)
	sql8 := sqliteDurable(cfg.dir, n, 8)
	call, app := callVsAppend(cfg.dir, wasm, n/4)
	return []Result{
		{Name: "durable 1-insert call, 1 caller, vs persistence.Append of the same record", Ours: call, Peer: app, Target: 0.9},
		{Name: "durable reducer commits, 1 caller vs SQLite WAL FULL", Ours: ours1, Peer: sql1, Target: 1.0},
		{Name: "durable reducer commits, 8 callers vs SQLite WAL FULL 8 writers", Ours: ours8, Peer: sql8, Target: 5.0},
	}
}

// benchStartup builds a data directory of n one-insert transactions, then
// times Open (replay) without and with a snapshot, against iterating the
// same log without applying anything.
func benchStartup(cfg config) []Result {
	n := 1_000_000
	if cfg.quick {
		n = 50_000
	}
	wasm := buildGuest(cfg.dir, "tests/modules/go/noop")
	dir := filepath.Join(cfg.dir, "startup")
	defer os.RemoveAll(dir)
	rt := openDurable(dir, wasm, persistence.SyncNone)
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		if _, err := rt.Call(ctx, "noop", "insert", row.MustEncode(uint64(i), "player", int64(i))); err != nil {
			fatal(err)
		}
	}
	must(rt.Close())

	// Log iteration alone: read + CRC + decode every record, apply nothing.
	start := time.Now()
	r, err := persistence.NewReader(filepath.Join(dir, "log"), 0, record.LogOptions(persistence.Options{}))
	must(err)
	var muts int
	for r.Next() {
		muts += record.View(r.Record().Payload).MutationsLength()
	}
	must(r.Err())
	r.Close()
	iter := time.Since(start)

	open := func() (time.Duration, core.ReplayStats) {
		// Collect what earlier phases left (the runtime that wrote the log
		// holds 1M rows until collected), as core's BenchmarkStartup does,
		// so that both opens start from the same heap.
		runtime.GC()
		start := time.Now()
		rt, err := core.Open(core.NewConfig().WithDataDir(dir).WithRecovery(persistence.RecoverReadOnly))
		must(err)
		d := time.Since(start)
		st := rt.ReplayStats()
		if c, err := rt.Count("noop", "kv"); err != nil || c != n {
			fatal(fmt.Errorf("replayed %d rows, want %d (%v)", c, n, err))
		}
		rt.Close()
		return d, st
	}
	noSnap, st := open()
	replayRate := float64(st.Mutations) / noSnap.Seconds()

	rt, err = core.Open(core.NewConfig().WithDataDir(dir))
	must(err)
	_, err = rt.Snapshot()
	must(err)
	must(rt.Close())
	withSnap, st2 := open()

	return []Result{
		{Name: fmt.Sprintf("replay %d txns (no snapshot) vs log iteration alone", n),
			Ours: Figure{Name: "core.Open replay", Value: replayRate, Unit: "mut/s", Note: fmt.Sprintf("startup %s, %d mutations", noSnap.Round(time.Millisecond), st.Mutations)},
			Peer: Figure{Name: "persistence.Reader iteration", Value: float64(muts) / iter.Seconds(), Unit: "mut/s", Note: fmt.Sprintf("%s", iter.Round(time.Millisecond))}, Target: 0},
		{Name: "replay speed vs 2M mutations/s target",
			Ours: Figure{Name: "core.Open replay", Value: replayRate, Unit: "mut/s"},
			Peer: Figure{Name: "BRIEF floor", Value: 2e6, Unit: "mut/s"}, Target: 1.0},
		{Name: fmt.Sprintf("startup of %d txns: with snapshot vs without", n),
			Ours: Figure{Name: "snapshot + empty suffix", Value: float64(withSnap.Milliseconds()), Unit: "ms", Note: fmt.Sprintf("%d rows from the snapshot", st2.SnapshotRows)},
			Peer: Figure{Name: "full log replay", Value: float64(noSnap.Milliseconds()), Unit: "ms"}, Target: 0},
	}
}

// benchCNoop runs the C benchmark (tests/c/bench_noop.c through
// libinterstice.so) and the same noop call from Go, on the same module and
// the same default configuration.
func benchCNoop(cfg config) []Result {
	bin, _ := filepath.Abs("../build/tests/c/bench_noop")
	wasmPath, _ := filepath.Abs("../build/wasm/noop.wasm")
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintln(os.Stderr, "capi/noop: skipped: build it with `make bench` (needs ../build/tests/c/bench_noop)")
		return nil
	}
	cmd := exec.Command(bin, wasmPath)
	cmd.Env = append(os.Environ(), "TMPDIR="+mustAbs(cfg.dir))
	out, err := cmd.Output()
	if err != nil {
		fatal(fmt.Errorf("bench_noop: %v", err))
	}
	c := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				c[f[0]] = v
			}
		}
	}
	wasm, err := os.ReadFile(wasmPath)
	must(err)
	rt := openNoop(wasm)
	defer rt.Close()
	empty := row.MustEncode()
	ctx := context.Background()
	calls := 200_000
	if cfg.quick {
		calls = 20_000
	}
	start := time.Now()
	for i := 0; i < calls; i++ {
		if _, err := rt.Call(ctx, "noop", "noop", empty); err != nil {
			fatal(err)
		}
	}
	goNs := float64(time.Since(start).Nanoseconds()) / float64(calls)
	n := 2000
	if cfg.quick {
		n = 400
	}
	return []Result{{Name: "noop reducer call from C vs from Go (target: C ≤ 1.5x Go)",
		Ours: Figure{Name: "interstice_call from C", Value: c["c_noop_call"], Unit: "ns/op"},
		Peer: Figure{Name: "core.Runtime.Call from Go", Value: goNs, Unit: "ns/op"}, Target: 1 / 1.5},
		{Name: "durable calls from C, 1 thread vs SQLite WAL FULL",
			Ours: Figure{Name: "interstice_call, data dir, sync=always", Value: c["c_durable_call_1thread"], Unit: "ops/s"},
			Peer: sqliteDurable(cfg.dir, n, 1), Target: 1.0},
		{Name: "durable calls from C, 8 threads vs SQLite WAL FULL 8 writers",
			Ours: Figure{Name: "interstice_call, data dir, sync=always", Value: c["c_durable_call_8threads"], Unit: "ops/s"},
			Peer: sqliteDurable(cfg.dir, n, 8), Target: 5.0}}
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	must(err)
	return a
}
