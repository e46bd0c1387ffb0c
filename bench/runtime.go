package main

// Runtime benchmarks (issue 3): reducer calls in memory against SQLite
// in-memory inserts, a noop reducer call against a bare wazero call of the
// same export, and resident memory per row against the row's encoded size.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/row"
)

func init() {
	register("runtime/in-memory", benchRuntimeMemory)
}

// buildGuest builds a Go guest package (path relative to the repo root) to
// wasm and returns its bytes.
func buildGuest(dir, pkg string) []byte {
	out, err := filepath.Abs(filepath.Join(dir, filepath.Base(pkg)+".wasm"))
	must(err)
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+pkg)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		fatal(fmt.Errorf("build %s: %v\n%s", pkg, err, b))
	}
	b, err := os.ReadFile(out)
	must(err)
	return b
}

func openNoop(wasm []byte) *core.Runtime {
	rt, err := core.Open(core.NewConfig())
	must(err)
	_, err = rt.LoadModule(wasm)
	must(err)
	return rt
}

func benchRuntimeMemory(cfg config) []Result {
	n := 300_000
	if cfg.quick {
		n = 30_000
	}
	wasm := buildGuest(cfg.dir, "tests/modules/go/noop")
	ctx := context.Background()

	// 1-insert reducer calls, in memory, Go host.
	rt := openNoop(wasm)
	args := make([][]byte, n)
	for i := range args {
		args[i] = row.MustEncode(uint64(i+1), "player", int64(i))
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := rt.Call(ctx, "noop", "insert", args[i]); err != nil {
			fatal(err)
		}
	}
	insert := Figure{Name: "core.Runtime.Call, 1-insert reducer (Go SDK guest)", Value: rate(n, time.Since(start)), Unit: "ops/s"}
	sqlMem := sqliteMemoryInsert(n)

	// The same calls to a minimal WAT guest (watguest.go): the runtime's
	// share of the Go SDK figure.
	wrt := openNoop(watInsertGuest(cfg.dir))
	start = time.Now()
	for i := 0; i < n; i++ {
		if _, err := wrt.Call(ctx, "watkv", "insert", args[i]); err != nil {
			fatal(err)
		}
	}
	watInsert := Figure{Name: "core.Runtime.Call, 1-insert reducer (minimal WAT guest)", Value: rate(n, time.Since(start)), Unit: "ops/s"}
	wrt.Close()
	sqlMem2 := sqliteMemoryInsert(n)

	// Noop reducer call latency.
	empty := row.MustEncode()
	calls := n
	start = time.Now()
	for i := 0; i < calls; i++ {
		if _, err := rt.Call(ctx, "noop", "noop", empty); err != nil {
			fatal(err)
		}
	}
	noop := Figure{Name: "core.Runtime.Call, noop reducer", Value: float64(time.Since(start).Nanoseconds()) / float64(calls), Unit: "ns/op"}
	rt.Close()
	bare := bareWazeroNoop(wasm, calls)

	// Resident memory per row.
	perRow, encoded := memoryPerRow(wasm, n)

	return []Result{
		{Name: "reducer call in memory (1 insert) vs SQLite :memory: insert", Ours: insert, Peer: sqlMem, Target: 1.0},
		{Name: "reducer call in memory (1 insert), minimal WAT guest vs SQLite :memory: insert", Ours: watInsert, Peer: sqlMem2, Target: 1.0},
		{Name: "noop reducer call from Go vs bare wazero call (floor)", Ours: noop, Peer: bare, Target: 0},
		{Name: "resident memory per row vs 2x encoded + 64 B bound", Ours: Figure{Name: "heap bytes per row", Value: perRow, Unit: "B/row",
			Note: fmt.Sprintf("%d rows of %d encoded bytes", n, encoded)},
			Peer: Figure{Name: "2 x encoded + 64", Value: float64(2*encoded + 64), Unit: "B/row"}, Target: 1.0},
	}
}

// bareWazeroNoop instantiates the same module in plain wazero, with host
// imports that do nothing, and times calls of its interstice_call export
// for the noop reducer: the floor under any runtime built on wazero.
func bareWazeroNoop(wasm []byte, calls int) Figure {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	compiled, err := r.CompileModule(ctx, wasm)
	must(err)
	hb := r.NewHostModuleBuilder("interstice")
	for _, imp := range compiled.ImportedFunctions() {
		mod, name, _ := imp.Import()
		if mod != "interstice" {
			continue
		}
		params, results := imp.ParamTypes(), imp.ResultTypes()
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			if len(results) > 0 {
				stack[0] = 0
			}
		}), params, results).Export(name)
	}
	_, err = hb.Instantiate(ctx)
	must(err)
	m, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	must(err)
	// Reducer index of "noop": find it in the schema.
	rt := openNoop(wasm)
	idx := -1
	for _, mi := range rt.Modules() {
		for i, red := range mi.Reducers {
			if red.Name == "noop" {
				idx = i
			}
		}
	}
	rt.Close()
	if idx < 0 {
		fatal(fmt.Errorf("noop module has no noop reducer"))
	}
	empty := row.MustEncode()
	ptr, err := m.ExportedFunction("interstice_alloc").Call(ctx, uint64(len(empty)))
	must(err)
	m.Memory().Write(uint32(ptr[0]), empty)
	call := m.ExportedFunction("interstice_call")
	stack := make([]uint64, 3)
	start := time.Now()
	for i := 0; i < calls; i++ {
		stack[0], stack[1], stack[2] = uint64(idx), ptr[0], uint64(len(empty))
		if err := call.CallWithStack(ctx, stack); err != nil {
			fatal(err)
		}
	}
	return Figure{Name: "bare wazero CallWithStack(interstice_call, noop)", Value: float64(time.Since(start).Nanoseconds()) / float64(calls), Unit: "ns/op"}
}

// memoryPerRow inserts n rows into a fresh runtime and returns the growth of
// the live heap per row, and the encoded size of one row.
func memoryPerRow(wasm []byte, n int) (float64, int) {
	rt := openNoop(wasm)
	defer rt.Close()
	ctx := context.Background()
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	var enc int
	for i := 0; i < n; i++ {
		a := row.MustEncode(uint64(i+1), "player", int64(i))
		if _, err := rt.Call(ctx, "noop", "insert", a); err != nil {
			fatal(err)
		}
		if i == 0 {
			if b, ok, err := rt.Get("noop", "kv", uint64(1)); err != nil || !ok {
				fatal(fmt.Errorf("row 1 not found: %v", err))
			} else {
				enc = len(b)
			}
		}
	}
	after := heap()
	return float64(after-before) / float64(n), enc
}
