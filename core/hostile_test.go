package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interstice/interstice/core/internal/engine"
	"github.com/interstice/interstice/internal/testwasm"
)

// Hostile modules: tests/modules/hostile (README.md there).

func hostileSchema() sdesc {
	return sdesc{abi: 1, name: "hostile", version: "1.0.0",
		tables:   []tdef{{name: "items", cols: itemCols, public: true}},
		reducers: []rdef{{"run", nil}}}
}

// hostileModule expands tests/modules/hostile/file (;;@include lines
// relative to that directory, {{SCHEMA}}) and compiles it with wat2wasm
// --no-check, so that modules invalid as written compile too.
func hostileModule(t testing.TB, file string) []byte {
	t.Helper()
	dir := filepath.Join(testwasm.Root(t), "tests", "modules", "hostile")
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	text := expandIncludes(t, dir, string(src))
	schema := hostileSchema().build()
	var sb strings.Builder
	for _, c := range schema {
		sb.WriteString("\\" + hex.EncodeToString([]byte{c}))
	}
	text = strings.ReplaceAll(text, "{{SCHEMA}}", sb.String())
	text = strings.ReplaceAll(text, "{{len:SCHEMA}}", strconv.Itoa(len(schema)))
	return watNoCheck(t, strings.TrimSuffix(file, ".wat"), text)
}

// watNoCheck is testwasm.WATSource with wat2wasm's validation off. Its
// outputs go to build/hostile, not build/wasm, whose modules other tests
// expect to be valid.
func watNoCheck(t testing.TB, name, src string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(src))
	dir := filepath.Join(testwasm.Root(t), "build", "hostile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hostile-"+name+"-"+hex.EncodeToString(sum[:8])+".wasm")
	if b, err := os.ReadFile(out); err == nil {
		return b
	}
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (Debian package wabt) is not installed")
	}
	tmp := filepath.Join(t.TempDir(), "m")
	if err := os.WriteFile(tmp+".wat", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wat2wasm", "--enable-all", "--no-check", "-o", tmp+".wasm", tmp+".wat").CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(tmp + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out+".tmp", b, 0o644); err == nil {
		os.Rename(out+".tmp", out)
	}
	return b
}

// loadOutcome loads wasm into a fresh runtime and returns it and the load error.
func loadOutcome(t *testing.T, cfg Config, wasm []byte) (*Runtime, error) {
	t.Helper()
	rt, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	_, err = rt.LoadModule(wasm)
	return rt, err
}

// TestInjectedGlobalUnreachable checks that modules that are invalid as
// written, but would be valid once the host appends its interrupt flag,
// countdown, $poll or type, are refused at load (with and without a call
// deadline): no guest instruction can name the host's injected state.
func TestInjectedGlobalUnreachable(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"set countdown in a reducer", "global_injected.wat"},
		{"clear the flag", "global_injected_flag.wat"},
		{"set countdown in _initialize", "global_injected_init.wat"},
		{"call $poll", "call_poll.wat"},
		{"export a global it lacks", "export_injected.wat"},
		{"start function with a parameter", "start_typed.wat"},
	} {
		for _, d := range []time.Duration{time.Second, 0} {
			t.Run(tc.name+"/deadline="+d.String(), func(t *testing.T) {
				_, err := loadOutcome(t, testConfig(t).WithCallDeadline(d), hostileModule(t, tc.file))
				wantCode(t, err, CodeInvalidWasm)
				t.Log(err)
			})
		}
	}
}

// TestSpinningGuestDoesNotBlockReaders spins a reducer built to keep the
// deadline from firing (it writes globals in a tight loop) and checks that
// the deadline stops it (CodeTimeout) while reads on other goroutines,
// with forced garbage collections between them (a stop-the-world that
// must not wait on the spinning goroutine), keep returning promptly. The
// variant that writes the host's countdown is refused at load.
func TestSpinningGuestDoesNotBlockReaders(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		load       Code // CodeOK: loads, and run must time out
	}{
		{"own globals", "spin_own_global.wat", CodeOK},
		{"host countdown", "global_injected.wat", CodeInvalidWasm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const deadline = 500 * time.Millisecond
			rt, err := loadOutcome(t, testConfig(t).WithCallDeadline(deadline), hostileModule(t, tc.file))
			switch {
			case err != nil:
				wantCode(t, err, tc.load)
				return
			case tc.load != CodeOK:
				// Loaded although it must not: it must still not stall the
				// host (before the fix, the readers below hung in runtime.GC).
				t.Errorf("loaded, want %v", tc.load)
			}
			var running atomic.Bool
			running.Store(true)
			var wg sync.WaitGroup
			var slowest atomic.Int64
			var reads atomic.Int64
			for g := 0; g < 2; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for running.Load() {
						start := time.Now()
						if g == 0 {
							runtime.GC()
						}
						if _, err := rt.Count("hostile", "items"); err != nil {
							t.Error(err)
							return
						}
						reads.Add(1)
						if d := int64(time.Since(start)); d > slowest.Load() {
							slowest.Store(d)
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			start := time.Now()
			_, err = rt.CallJSON(context.Background(), "hostile", "run", []byte("[]"))
			took := time.Since(start)
			running.Store(false)
			wg.Wait()
			wantCode(t, err, CodeTimeout)
			if took > 10*deadline {
				t.Errorf("the spin took %v to stop (deadline %v)", took, deadline)
			}
			if s := time.Duration(slowest.Load()); s > 200*time.Millisecond {
				t.Errorf("a read (with a forced GC) took %v while the guest spun", s)
			}
			if reads.Load() < 10 {
				t.Errorf("only %d reads returned while the guest spun for %v", reads.Load(), took)
			}
			t.Logf("stopped after %v; %d reads, slowest %v", took, reads.Load(), time.Duration(slowest.Load()))
		})
	}
}

// TestTableGrowHugeDeltaIsBounded checks that table elements count against
// the memory limit: a huge table.grow fails (returns -1) instead of
// allocating host memory, a table declared larger than the budget is
// refused at load, and growth within the budget works.
func TestTableGrowHugeDeltaIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		load, call Code
	}{
		{"grow by 2^31-1", "table_grow_huge.wat", CodeOK, CodeOK},
		{"grow by 2^27 filled", "table_fill.wat", CodeOK, CodeOK},
		{"declared 2^27", "table_declared_huge.wat", CodeLimit, 0},
		{"grow within the budget", "table_within_budget.wat", CodeOK, CodeOK},
	} {
		for _, d := range []time.Duration{time.Second, 0} {
			t.Run(tc.name+"/deadline="+d.String(), func(t *testing.T) {
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				rt, err := loadOutcome(t, testConfig(t).WithCallDeadline(d), hostileModule(t, tc.file))
				if tc.load != CodeOK {
					wantCode(t, err, tc.load)
					if !strings.Contains(err.Error(), "limit") {
						t.Fatalf("the error does not name the limit: %v", err)
					}
					t.Log(err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				_, err = rt.CallJSON(context.Background(), "hostile", "run", []byte("[]"))
				if tc.call == CodeOK && err != nil {
					t.Fatalf("run: %v (status 1: the grow succeeded)", err)
				}
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 64<<20 {
					t.Fatalf("the host heap grew by %d MiB", grew>>20)
				}
			})
		}
	}
}

// TestTableElementBudget checks the budget's arithmetic: element segments
// count, and the budget follows the memory limit.
func TestTableElementBudget(t *testing.T) {
	if got := engine.MaxTableElements(DefaultMemoryLimitPages); got != 524288 {
		t.Fatalf("default table budget %d", got)
	}
	// A passive element segment of 600,000 null references is over the
	// default budget (524,288).
	var sb strings.Builder
	sb.WriteString("(module (memory (export \"memory\") 1)\n(func (export \"interstice_describe\") (result i64) (i64.const 0))\n(func (export \"interstice_alloc\") (param i32) (result i32) (i32.const 0))\n(func (export \"interstice_call\") (param i32 i32 i32) (result i32) (i32.const 0))\n(elem funcref")
	sb.WriteString(strings.Repeat(" (ref.null func)", 600000))
	sb.WriteString("))")
	_, err := loadOutcome(t, testConfig(t), watNoCheck(t, "elem_huge", sb.String()))
	wantCode(t, err, CodeLimit)
	t.Log(err)
}

// TestImportKindsRefused checks that a module importing what the host
// does not provide (a memory, a table, a global, a WASI function with
// another signature or one WASI does not have) is refused at load as a
// bad import, not reported as a trap at instantiation.
func TestImportKindsRefused(t *testing.T) {
	for _, file := range []string{"import_memory.wat", "import_memory_wasi.wat", "import_global.wat", "import_table.wat",
		"wasi_bad_signature.wat", "wasi_unknown.wat"} {
		for _, d := range []time.Duration{time.Second, 0} {
			t.Run(strings.TrimSuffix(file, ".wat")+"/deadline="+d.String(), func(t *testing.T) {
				_, err := loadOutcome(t, testConfig(t).WithCallDeadline(d), hostileModule(t, file))
				wantCode(t, err, CodeBadImport)
				t.Log(err)
			})
		}
	}
}

// TestUnreachableNearLimitIsTrap checks that a trap is reported as the
// memory limit only when a memory.grow was refused, not because the
// memory happens to be close to the limit.
func TestUnreachableNearLimitIsTrap(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       Code
	}{
		{"plain unreachable at 48 of 52 pages", "unreachable_near_limit.wat", CodeTrap},
		{"unreachable after a refused grow", "grow_refused.wat", CodeLimit},
	} {
		for _, d := range []time.Duration{time.Second, 0} {
			t.Run(tc.name+"/deadline="+d.String(), func(t *testing.T) {
				rt, err := loadOutcome(t, testConfig(t).WithCallDeadline(d).WithMemoryLimitPages(52), hostileModule(t, tc.file))
				if err != nil {
					t.Fatal(err)
				}
				_, err = rt.CallJSON(context.Background(), "hostile", "run", []byte("[]"))
				wantCode(t, err, tc.want)
				t.Log(err)
			})
		}
	}
}
