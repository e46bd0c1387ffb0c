// Command wasmexec runs a GOOS=wasip1 test binary of the Go SDK under
// wazero, for benchmarks of guest-side code (encoding, decoding,
// dispatch) as it runs inside a module:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "go run ./sdk/go/internal/wasmexec" \
//	    -run '^$' -bench Guest ./sdk/go/
//
// The interstice host imports are stubs that return 0 (OK) at once, so a
// benchmark measures the guest's own work plus the bare cost of crossing
// into the host. The guest sees the real clock. WASMEXEC_TERMINATION=1
// compiles the module as core does with a call deadline
// (wazero's WithCloseOnContextDone: a termination check at every loop
// header, that is at every Go function entry). GOGC and GODEBUG are passed
// to the guest. WASMEXEC_COUNT=1 counts the calls of every guest function
// and prints the most called ones at exit (run one benchmark with a fixed
// -benchtime, like 1000x, and divide).
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmexec module.wasm [args...]")
		os.Exit(2)
	}
	code, err := run(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmexec:", err)
		os.Exit(1)
	}
	os.Exit(int(code))
}

func run(path string, args []string) (uint32, error) {
	ctx := context.Background()
	bin, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if os.Getenv("WASMEXEC_COUNT") == "1" {
		ctx = experimental.WithFunctionListenerFactory(ctx, counter)
		defer counter.print()
	}
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(os.Getenv("WASMEXEC_TERMINATION") == "1")
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return 0, err
	}
	// Every interstice import answers 0 (OK, or handle 0) at once.
	hb := rt.NewHostModuleBuilder("interstice")
	n := 0
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != "interstice" {
			continue
		}
		results := f.ResultTypes()
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			for i := range results {
				stack[i] = 0
			}
		}), f.ParamTypes(), results).Export(name)
		n++
	}
	if n > 0 {
		if _, err := hb.Instantiate(ctx); err != nil {
			return 0, err
		}
	}
	mc := wazero.NewModuleConfig().
		WithArgs(append([]string{path}, args...)...).
		WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithSysNanotime().WithSysWalltime().WithSysNanosleep()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GODEBUG=") {
			k, v, _ := strings.Cut(kv, "=")
			mc = mc.WithEnv(k, v)
		}
	}
	_, err = rt.InstantiateModule(ctx, cm, mc)
	if err != nil {
		if ee, ok := err.(*sys.ExitError); ok {
			return ee.ExitCode(), nil
		}
		return 0, err
	}
	return 0, nil
}

// callCounter counts guest function calls (WASMEXEC_COUNT=1).
type callCounter struct{ n map[string]int }

var counter = &callCounter{n: map[string]int{}}

func (c *callCounter) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.GoFunction() != nil {
		return nil
	}
	name := def.DebugName()
	return experimental.FunctionListenerFunc(func(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
		c.n[name]++
	})
}

func (c *callCounter) print() {
	type kv struct {
		k string
		v int
	}
	var all []kv
	total := 0
	for k, v := range c.n {
		all = append(all, kv{k, v})
		total += v
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	fmt.Fprintf(os.Stderr, "wasmexec: %d guest calls\n", total)
	for i, e := range all {
		if i == 40 {
			break
		}
		fmt.Fprintf(os.Stderr, "%10d %s\n", e.v, e.k)
	}
}
