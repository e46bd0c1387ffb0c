package core

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/interstice/interstice/core/internal/interrupt"
)

// Module limits: what a module may declare, checked by interrupt.Prepare
// before anything is compiled (docs/ABI.md "Limits", RATIONALE.md
// "Implementation limits" gives the reasons and the figures).
const (
	maxModuleBytes   = 16 << 20 // a Go guest is ~3.4 MB
	maxTypes         = 1 << 16
	maxFunctions     = 1 << 17 // imported and defined; a Go guest has ~6,600
	maxGlobals       = 1 << 16
	maxWasmTables    = 16
	maxFunctionBytes = 1 << 20 // one body; a Go guest's largest is ~29 KB
	maxLocals        = 50000   // per function (the JS API's limit); Go uses ~17
	maxNesting       = 2048    // blocks within one body; a Go guest reaches ~550
	// maxCodeCost bounds the sum over bodies of size x nesting depth,
	// weighted by loop nesting, which wazero's compile time follows (a Go
	// guest: ~198M).
	maxCodeCost = 1 << 30

	// tableElementBytes is what one table or element-segment element costs
	// the host (a wazero reference); tables take at most 1/4 of the memory
	// limit's bytes.
	tableElementBytes = 8
	tableShare        = 4

	wasmPageSize = 65536
	wasmMaxPages = 65536
)

// moduleLimits returns the limits of a runtime whose memory limit is
// pages.
func moduleLimits(pages uint32) interrupt.Limits {
	return interrupt.Limits{
		ModuleBytes:   maxModuleBytes,
		Types:         maxTypes,
		Functions:     maxFunctions,
		Globals:       maxGlobals,
		Tables:        maxWasmTables,
		FunctionBytes: maxFunctionBytes,
		Locals:        maxLocals,
		Nesting:       maxNesting,
		CodeCost:      maxCodeCost,
		TableElements: maxTableElements(pages),
		MemoryPages:   pages,
	}
}

// maxTableElements is the table budget under a memory limit of pages:
// 1/4 of its bytes, in elements (524,288 at the default 256 pages).
func maxTableElements(pages uint32) uint64 {
	return uint64(pages) * wasmPageSize / tableShare / tableElementBytes
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
			return &Error{Code: CodeBadImport, Msg: "the module imports " + k.kind + "; the host provides only functions (wasi_snapshot_preview1, interstice)"}
		}
	}
	return nil
}

// checkWASIImport refuses an import of wasi_snapshot_preview1 that the
// host does not provide with that signature.
func (r *Runtime) checkWASIImport(f api.FunctionDefinition) error {
	_, name, _ := f.Import()
	def, ok := r.wasiFuncs[name]
	if !ok {
		return &Error{Code: CodeBadImport, Msg: "unknown import wasi_snapshot_preview1." + name}
	}
	if !equalTypes(f.ParamTypes(), def.ParamTypes()) || !equalTypes(f.ResultTypes(), def.ResultTypes()) {
		return &Error{Code: CodeBadImport, Msg: fmt.Sprintf("import wasi_snapshot_preview1.%s has signature %s, the host's is %s",
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

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// guestMemory is a module instance's linear memory (wazero's
// experimental.LinearMemory): a []byte grown on memory.grow up to limit
// bytes. A grow past the limit fails (memory.grow returns -1) and sets
// refused, so that a trap that follows is reported as CodeLimit and any
// other trap as CodeTrap, whatever the memory's size (instance.enter
// clears it for each call).
type guestMemory struct {
	buf     []byte
	limit   uint64
	refused bool
}

// Reallocate implements experimental.LinearMemory.
func (g *guestMemory) Reallocate(size uint64) []byte {
	if size > g.limit {
		g.refused = true
		return nil
	}
	if size <= uint64(cap(g.buf)) {
		// Bytes past len were zeroed when allocated and never written.
		g.buf = g.buf[:size]
		return g.buf
	}
	g.buf = append(g.buf, make([]byte, size-uint64(len(g.buf)))...)
	return g.buf
}

// Free implements experimental.LinearMemory.
func (g *guestMemory) Free() { g.buf = nil }
