package engine

import (
	"github.com/interstice/interstice/core/internal/interrupt"
)

// Module limits: what a module may declare, checked by interrupt.Prepare
// before anything is compiled (docs/ABI.md "Limits", core/RATIONALE.md
// "Implementation limits" gives the reasons and the figures).
const (
	MaxModuleBytes   = 16 << 20 // a Go guest is ~3.4 MB
	MaxTypes         = 1 << 16
	MaxFunctions     = 1 << 17 // imported and defined; a Go guest has ~6,600
	MaxGlobals       = 1 << 16
	MaxWasmTables    = 16
	MaxFunctionBytes = 1 << 20 // one body; a Go guest's largest is ~29 KB
	MaxLocals        = 50000   // per function (the JS API's limit); Go uses ~17
	MaxNesting       = 2048    // blocks within one body; a Go guest reaches ~550
	// MaxCodeCost bounds the sum over bodies of size x nesting depth,
	// weighted by loop nesting, which wazero's compile time follows (a Go
	// guest: ~198M).
	MaxCodeCost = 1 << 30

	// tableElementBytes is what one table or element-segment element costs
	// the host (a wazero reference); tables take at most 1/4 of the memory
	// limit's bytes.
	tableElementBytes = 8
	tableShare        = 4

	// PageSize is the size of a wasm memory page; MaxPages the most
	// pages a 32-bit memory has.
	PageSize = 65536
	MaxPages = 65536
)

// moduleLimits returns the limits of a runtime whose memory limit is
// pages.
func moduleLimits(pages uint32) interrupt.Limits {
	return interrupt.Limits{
		ModuleBytes:   MaxModuleBytes,
		Types:         MaxTypes,
		Functions:     MaxFunctions,
		Globals:       MaxGlobals,
		Tables:        MaxWasmTables,
		FunctionBytes: MaxFunctionBytes,
		Locals:        MaxLocals,
		Nesting:       MaxNesting,
		CodeCost:      MaxCodeCost,
		TableElements: MaxTableElements(pages),
		MemoryPages:   pages,
	}
}

// MaxTableElements is the table budget under a memory limit of pages:
// 1/4 of its bytes, in elements (524,288 at the default 256 pages).
func MaxTableElements(pages uint32) uint64 {
	return uint64(pages) * PageSize / tableShare / tableElementBytes
}

// Memory is a module instance's linear memory (wazero's
// experimental.LinearMemory): a []byte grown on memory.grow up to its
// limit. A grow past the limit fails (memory.grow returns -1) and is
// recorded (Refused), so that the runtime reports a trap that follows as
// a limit and any other trap as a trap, whatever the memory's size (it
// calls Reset before each call).
type Memory struct {
	buf     []byte
	limit   uint64
	refused bool
}

// NewMemory returns a memory of capacity bytes (what wazero asks for)
// limited to pages pages.
func NewMemory(capacity uint64, pages uint32) *Memory {
	return &Memory{buf: make([]byte, 0, capacity), limit: uint64(pages) * PageSize}
}

// Refused reports whether a grow was refused since the last Reset.
func (g *Memory) Refused() bool { return g.refused }

// Reset forgets a refused grow.
func (g *Memory) Reset() { g.refused = false }

// Reallocate implements experimental.LinearMemory.
func (g *Memory) Reallocate(size uint64) []byte {
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
func (g *Memory) Free() { g.buf = nil }
