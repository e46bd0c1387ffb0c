package core

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// bankWasm is examples/bank: transfer(id, from, to, amount) updates two
// accounts, and a subscriber to accounts writes a statement line for each,
// so one transfer is a cascade of three transactions.
func bankWasm(t testing.TB) []byte {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	return testwasm.Go(t, "examples/bank")
}

// TestCascadeCommitsAsOneBatch: a transfer and its two subscriber
// transactions are three records written with one write and one
// fdatasync, with consecutive LSNs, and the call returns after all three
// are durable.
func TestCascadeCommitsAsOneBatch(t *testing.T) {
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), bankWasm(t))
	defer rt.Close()
	mustCall(t, rt, "bank", "open", "alice", int64(100))
	mustCall(t, rt, "bank", "open", "bob", int64(0))
	before := rt.log.Stats()
	res := mustCall(t, rt, "bank", "transfer", uint64(1), "alice", "bob", int64(30))
	after := rt.log.Stats()
	if len(res.Cascade) != 2 || res.CascadeErr != nil || res.Cascade[0].LSN != res.LSN+1 || res.Cascade[1].LSN != res.LSN+2 {
		t.Fatalf("cascade %+v (root lsn %d), want two subscriber records right after the root", res.Cascade, res.LSN)
	}
	if w, s, n := after.Writes-before.Writes, after.Syncs-before.Syncs, after.Records-before.Records; w != 1 || s != 1 || n != 3 {
		t.Fatalf("the cascade took %d writes, %d fdatasyncs for %d records; want 1, 1, 3", w, s, n)
	}
	if got := rt.log.LastLSN(); got != res.LSN+2 {
		t.Fatalf("log ends at lsn %d, want %d", got, res.LSN+2)
	}
	if n := count(t, rt, "bank", "statements"); n != 2 {
		t.Fatalf("%d statement lines, want 2", n)
	}
}

// TestTornCascadeIsCutWhole cuts the log inside the batch of one transfer
// at many byte offsets, and checks that the reopened runtime holds the
// whole transfer (only when the cut is past its last record) or nothing of
// it: never a transfer without its statement lines, never statement lines
// without their transfer. The runtime then goes on from there.
func TestTornCascadeIsCutWhole(t *testing.T) {
	wasm := bankWasm(t)
	dir := t.TempDir()
	rt := openDur(t, durConfig(t, dir), wasm)
	mustCall(t, rt, "bank", "open", "alice", int64(100))
	mustCall(t, rt, "bank", "open", "bob", int64(0))
	res := mustCall(t, rt, "bank", "transfer", uint64(1), "alice", "bob", int64(30))
	rt.Close()

	logDir := filepath.Join(dir, "log")
	r, err := persistence.NewReader(logDir, res.LSN, record.LogOptions(persistence.Options{Recovery: persistence.RecoverReadOnly}))
	if err != nil {
		t.Fatal(err)
	}
	var seg string
	var bounds []int64 // where each record of the batch starts, then where the last one's payload ends
	for r.Next() {
		rec := r.Record()
		seg = rec.Segment
		bounds = append(bounds, rec.Offset)
		if rec.LSN == res.LSN+2 {
			bounds = append(bounds, rec.Offset+16+int64(len(rec.Payload)))
		}
	}
	r.Close()
	if len(bounds) != 4 {
		t.Fatalf("the transfer's batch: %v, want 3 records", bounds)
	}
	orig, err := os.ReadFile(filepath.Join(logDir, seg))
	if err != nil {
		t.Fatal(err)
	}
	start, end := bounds[0], bounds[3]
	// At each record boundary, a byte before and after it, and inside each
	// record's header and payload.
	cuts := []int64{start, start + 1, start + 12, start + 40, bounds[1] - 1, bounds[1], bounds[1] + 30,
		bounds[2] - 1, bounds[2], bounds[2] + 8, bounds[2] + 50, end - 1, end}
	for _, cut := range cuts {
		d := copyDir(t, dir)
		if err := os.WriteFile(filepath.Join(d, "log", seg), orig[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		rt := openDur(t, durConfig(t, d))
		whole := cut == end
		nt, ns := count(t, rt, "bank", "transfers"), count(t, rt, "bank", "statements")
		if whole && (nt != 1 || ns != 2) || !whole && (nt != 0 || ns != 0) {
			rt.Close()
			t.Fatalf("cut at %d of [%d, %d]: %d transfers and %d statement lines after reopen, want all or nothing", cut, start, end, nt, ns)
		}
		again := mustCall(t, rt, "bank", "transfer", uint64(2), "alice", "bob", int64(1))
		if len(again.Cascade) != 2 || again.CascadeErr != nil {
			rt.Close()
			t.Fatalf("cut at %d: the next transfer: %+v", cut, again)
		}
		rt.Close()
	}
}

// copyDir copies a data directory (without its lock) into a new
// temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

const bankCrashEnv = "INTERSTICE_BANK_CRASH_CHILD"

// bankAccounts are the accounts of the bank crash test, each opened with
// bankBalance, so no transfer of 1 ever runs short.
var bankAccounts = []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11"}

const bankBalance = int64(1) << 40

// bankCrashChild opens the data dir in spec ("dir|round|wasm path|cache
// dir"), loads the bank module (opening the accounts the first time), and
// makes transfers from 8 goroutines until killed, printing "ack <id>"
// after each acknowledged one.
func bankCrashChild(spec string) {
	p := strings.Split(spec, "|")
	round, _ := strconv.Atoi(p[1])
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(2)
	}
	wasm, err := os.ReadFile(p[2])
	if err != nil {
		fail(err)
	}
	rt, err := Open(NewConfig().WithCompilationCacheDir(p[3]).WithDataDir(p[0]))
	if err != nil {
		fail(err)
	}
	if _, err := rt.LoadModule(wasm); err != nil {
		fail(err)
	}
	if n, _ := rt.Count("bank", "accounts"); n == 0 {
		for _, a := range bankAccounts {
			if _, err := rt.Call(context.Background(), "bank", "open", row.MustEncode(a, bankBalance)); err != nil {
				fail(err)
			}
		}
	}
	fmt.Println("ready")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
			for i := 1; ; i++ {
				id := uint64(round)*1_000_000 + uint64(g)*100_000 + uint64(i)
				from := rng.IntN(len(bankAccounts))
				to := (from + 1 + rng.IntN(len(bankAccounts)-1)) % len(bankAccounts)
				res, err := rt.Call(context.Background(), "bank", "transfer", row.MustEncode(id, bankAccounts[from], bankAccounts[to], int64(1)))
				if err == nil && res.CascadeErr != nil {
					err = res.CascadeErr
				}
				if err != nil {
					fail(err)
				}
				mu.Lock()
				fmt.Printf("ack %d\n", id)
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}

// TestCrashCascadeIsAtomic SIGKILLs a process making transfers from 8
// goroutines (each a cascade of three transactions) at random moments, 30
// times, and checks after every kill that every acknowledged transfer is
// present, that every transfer present has both of its statement lines
// (no trigger lacks its subscribers' effects) and no statement line lacks
// its transfer, and that every balance is what its statement lines say.
func TestCrashCascadeIsAtomic(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	wasmPath := filepath.Join(dir, "bank.wasm")
	if err := os.WriteFile(wasmPath, bankWasm(t), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cache := testwasm.CacheDir(t)
	rng := rand.New(rand.NewPCG(3, 4))
	acked := map[uint64]bool{}
	const rounds = 30
	for round := 1; round <= rounds; round++ {
		killChild(t, round, bankCrashEnv, fmt.Sprintf("%s|%d|%s|%s", data, round, wasmPath, cache), time.Duration(10+rng.IntN(120))*time.Millisecond, acked)
		rt, err := Open(durConfig(t, data))
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		checkBank(t, rt, round, acked)
		rt.Close()
	}
	if len(acked) < rounds {
		t.Fatalf("only %d acknowledged transfers in %d rounds", len(acked), rounds)
	}
	t.Logf("%d rounds, %d acknowledged transfers, all present with their statement lines", rounds, len(acked))
}

// checkBank checks the bank's invariants after a crash (see
// TestCrashCascadeIsAtomic).
func checkBank(t *testing.T, rt *Runtime, round int, acked map[uint64]bool) {
	t.Helper()
	scan := func(table string, fn func(r []byte)) {
		sc, err := rt.Scan("bank", table, nil)
		if err != nil {
			t.Fatal(err)
		}
		for sc.Next() {
			fn(sc.Row())
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	field := func(r []byte, i int) any {
		v, err := row.Field(r, i)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	lines := map[string]int64{} // key -> delta
	sums := map[string]int64{}  // account -> sum of its deltas
	scan("statements", func(r []byte) {
		d := field(r, 2).(int64)
		lines[field(r, 0).(string)] = d
		sums[field(r, 1).(string)] += d
	})
	transfers := map[uint64]bool{}
	scan("transfers", func(r []byte) {
		id, from, to := field(r, 0).(uint64), field(r, 1).(string), field(r, 2).(string)
		transfers[id] = true
		if lines[fmt.Sprintf("%d/%s", id, from)] != -1 || lines[fmt.Sprintf("%d/%s", id, to)] != 1 {
			t.Fatalf("round %d: transfer %d (%s to %s) lacks its statement lines: its subscribers' effects were lost", round, id, from, to)
		}
	})
	if len(lines) != 2*len(transfers) {
		t.Fatalf("round %d: %d statement lines for %d transfers: lines without their transfer", round, len(lines), len(transfers))
	}
	for id := range acked {
		if !transfers[id] {
			t.Fatalf("round %d: acknowledged transfer %d is missing", round, id)
		}
	}
	total := int64(0)
	scan("accounts", func(r []byte) {
		name, bal := field(r, 0).(string), field(r, 1).(int64)
		total += bal
		if bal != bankBalance+sums[name] {
			t.Fatalf("round %d: account %s holds %d, its statement says %d", round, name, bal, bankBalance+sums[name])
		}
	})
	if want := bankBalance * int64(len(bankAccounts)); total != want {
		t.Fatalf("round %d: the accounts hold %d in all, want %d", round, total, want)
	}
}
