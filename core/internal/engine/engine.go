// Package engine is the WebAssembly side of a runtime: one wazero runtime
// with its compilation cache and deterministic WASI, the checks a module
// passes before and after it is compiled (implementation limits, the
// interrupt instrumentation, the exports and imports the guest ABI
// requires), guest memory with a page limit, and the call-deadline
// watchdog. It imports wazero and core/internal/interrupt only, and knows
// nothing of tables, transactions or the log; its errors carry a Kind
// that core turns into a core.Code.
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/interstice/interstice/core/internal/interrupt"
)

// Kind is the class of an Error.
type Kind int

// Error kinds.
const (
	KindInvalid       Kind = iota + 1 // not valid wasm, or it exports the reserved interrupt name
	KindLimit                         // over an implementation limit (docs/ABI.md "Limits")
	KindMissingExport                 // a required export is missing or mistyped
	KindBadImport                     // an import the host does not provide
)

// Error is a module the engine refuses.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Import is one function of the "interstice" host module, as a module's
// import of it must be typed.
type Import struct {
	Name            string
	Params, Results []api.ValueType
}

// Options configures an Engine.
type Options struct {
	Cache        wazero.CompilationCache // required
	CallDeadline time.Duration           // > 0: modules are instrumented with an interrupt flag
	MemoryPages  uint32                  // the memory limit of every instance
	Host         []Import                // the "interstice" host module's functions
}

// Engine compiles and checks modules for one runtime.
type Engine struct {
	wz   wazero.Runtime
	opts Options
	wasi map[string]api.FunctionDefinition // what wasi_snapshot_preview1 provides
	host map[string]Import
}

// New returns an engine with wasi_snapshot_preview1 instantiated; the
// caller instantiates its "interstice" host module in Runtime().
func New(ctx context.Context, o Options) (*Engine, error) {
	// No wazero termination checks: with a call deadline, modules are
	// instrumented with their own (Compile; core/RATIONALE.md "Why an
	// interrupt flag compiled into the guest?"). The memory limit is
	// enforced by Memory, which records a refused memory.grow, and checked
	// at load by interrupt.Prepare; wazero's own limit would refuse the
	// grow before any hook sees it.
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(false).
		WithMemoryLimitPages(MaxPages).
		WithCompilationCache(o.Cache)
	e := &Engine{wz: wazero.NewRuntimeWithConfig(ctx, rc), opts: o, host: make(map[string]Import, len(o.Host))}
	for _, h := range o.Host {
		e.host[h.Name] = h
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, e.wz); err != nil {
		e.wz.Close(ctx)
		return nil, fmt.Errorf("wasi: %w", err)
	}
	e.wasi = e.wz.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	return e, nil
}

// Runtime is the engine's wazero runtime.
func (e *Engine) Runtime() wazero.Runtime { return e.wz }

// Close closes the wazero runtime and every module in it.
func (e *Engine) Close(ctx context.Context) error { return e.wz.Close(ctx) }

// Compile checks and compiles wasm. Every index is checked against the
// module as written: under a call deadline the module is compiled
// instrumented with an interrupt flag (package interrupt), and no index
// the instrumentation appends can be named by the guest. A module the
// checks refuse is an *Error.
func (e *Engine) Compile(wasm []byte) (wazero.CompiledModule, error) {
	prepared, st, err := interrupt.Prepare(wasm, interrupt.Options{Instrument: e.opts.CallDeadline > 0, Limits: moduleLimits(e.opts.MemoryPages)})
	if err != nil {
		switch {
		case errors.Is(err, interrupt.ErrLimit):
			return nil, &Error{Kind: KindLimit, Msg: "the module exceeds an implementation limit (docs/ABI.md, Limits)", Err: err}
		case errors.Is(err, interrupt.ErrInstrumented):
			return nil, &Error{Kind: KindInvalid, Msg: "the module exports the reserved name " + interrupt.ExportName, Err: err}
		}
		return nil, &Error{Kind: KindInvalid, Msg: "invalid module", Err: err}
	}
	if err := checkImportKinds(st); err != nil {
		return nil, err
	}
	compiled, err := e.wz.CompileModule(context.Background(), prepared)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Err: err}
	}
	if err := e.checkExports(compiled); err != nil {
		compiled.Close(context.Background())
		return nil, err
	}
	return compiled, nil
}

// checkImportKinds refuses a module that imports a table, a memory or a
// global: the host provides none (only functions of wasi_snapshot_preview1
// and interstice), so instantiating it could only fail.
func checkImportKinds(st interrupt.Stats) error {
	for _, k := range []struct {
		n    uint32
		kind string
	}{{st.ImportedMemories, "a memory"}, {st.ImportedTables, "a table"}, {st.ImportedGlobals, "a global"}} {
		if k.n > 0 {
			return &Error{Kind: KindBadImport, Msg: "the module imports " + k.kind + "; the host provides only functions (wasi_snapshot_preview1, interstice)"}
		}
	}
	return nil
}

// checkExports checks the exports the guest ABI requires (docs/ABI.md)
// and every import against what the host provides.
func (e *Engine) checkExports(c wazero.CompiledModule) error {
	fns := c.ExportedFunctions()
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []Import{
		{"interstice_describe", nil, []api.ValueType{i64}},
		{"interstice_alloc", []api.ValueType{i32}, []api.ValueType{i32}},
		{"interstice_call", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	}
	for _, w := range want {
		f, ok := fns[w.Name]
		if !ok {
			return &Error{Kind: KindMissingExport, Msg: "the module does not export " + w.Name}
		}
		if !bytes.Equal(f.ParamTypes(), w.Params) || !bytes.Equal(f.ResultTypes(), w.Results) {
			return &Error{Kind: KindMissingExport, Msg: fmt.Sprintf("export %s has signature %v -> %v", w.Name, f.ParamTypes(), f.ResultTypes())}
		}
	}
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return &Error{Kind: KindMissingExport, Msg: "the module does not export memory"}
	}
	if f, ok := fns["_initialize"]; ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		return &Error{Kind: KindMissingExport, Msg: "export _initialize must be () -> ()"}
	}
	if _, ok := fns["_initialize"]; !ok {
		if _, cmd := fns["_start"]; cmd {
			// A WASI command: its runtime starts in _start, which the host
			// never runs, so every export would trap "before runtime
			// initialization". Go builds one without -buildmode=c-shared.
			return &Error{Kind: KindMissingExport, Msg: "the module is a WASI command (it exports _start, not _initialize): " +
				"build it as a reactor; for Go: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared"}
		}
	}
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
			if err := e.checkWASIImport(f); err != nil {
				return err
			}
		case "interstice":
			h, ok := e.host[name]
			if !ok {
				return &Error{Kind: KindBadImport, Msg: "unknown import interstice." + name}
			}
			if !bytes.Equal(f.ParamTypes(), h.Params) || !bytes.Equal(f.ResultTypes(), h.Results) {
				return &Error{Kind: KindBadImport, Msg: fmt.Sprintf("import interstice.%s has signature %v -> %v", name, f.ParamTypes(), f.ResultTypes())}
			}
		default:
			return &Error{Kind: KindBadImport, Msg: fmt.Sprintf("import from unknown module %q (%s)", mod, name)}
		}
	}
	return nil
}

// checkWASIImport refuses an import of wasi_snapshot_preview1 that the
// host does not provide with that signature.
func (e *Engine) checkWASIImport(f api.FunctionDefinition) error {
	_, name, _ := f.Import()
	def, ok := e.wasi[name]
	if !ok {
		return &Error{Kind: KindBadImport, Msg: "unknown import wasi_snapshot_preview1." + name}
	}
	if !bytes.Equal(f.ParamTypes(), def.ParamTypes()) || !bytes.Equal(f.ResultTypes(), def.ResultTypes()) {
		return &Error{Kind: KindBadImport, Msg: fmt.Sprintf("import wasi_snapshot_preview1.%s has signature %s, the host's is %s",
			name, signature(f), signature(def))}
	}
	return nil
}

// signature formats a function type as "(i32, i64) -> (i32)".
func signature(f api.FunctionDefinition) string {
	list := func(ts []api.ValueType) string {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(names, ", ") + ")"
	}
	return list(f.ParamTypes()) + " -> " + list(f.ResultTypes())
}

// Bounded runs fn, a call into the instance of t outside any transaction
// (_initialize, describe), with budget d: a timer sets t's interrupt flag
// when it expires. It reports whether the timer fired. If fn returned
// before reaching a check, the flag is cleared and the instance stays
// usable. Without a flag (no call deadline) fn runs unbounded.
func Bounded(t *Target, d time.Duration, fn func() error) (timedOut bool, err error) {
	if t == nil || t.Flag == nil {
		return false, fn()
	}
	var mu sync.Mutex
	done := false
	timer := time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			timedOut = true
			t.Flag.Set(1)
		}
	})
	err = fn()
	timer.Stop()
	mu.Lock()
	defer mu.Unlock()
	done = true
	if timedOut && err == nil {
		t.Flag.Set(0)
	}
	return timedOut, err
}
