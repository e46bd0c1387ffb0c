// Package interrupt instruments a WebAssembly module so that its host can
// stop it from another goroutine, at a cost of a few instructions per loop
// iteration and function call.
//
// Instrument adds to the module, without moving any existing index:
//
//   - a mutable i32 global $flag, initially 0, exported as ExportName:
//     the host sets it to 1 to stop the guest;
//   - a mutable i32 global $countdown, initially Interval (not exported);
//   - a function $poll (with a new type () -> ()) that calls
//     `memory.grow 0` (an exit from compiled code into the engine's Go
//     code), resets $countdown to Interval and traps (`unreachable`) if
//     $flag is set; a module without a memory gets an empty one for it;
//   - at every function entry (after the locals) and after every `loop`
//     instruction's block type, the check
//     `$countdown -= 1; if $countdown == 0 { call $poll }`.
//
// So a guest notices the flag within Interval loop iterations or function
// calls. The countdown is there because wazero's compiled code cannot be
// preempted by the Go scheduler: a guest that never leaves it would hold
// its thread through a stop-the-world (a GC) forever, and with it every
// goroutine, including the one that would set the flag. $poll's
// memory.grow(0) runs Go code, where the goroutine can be preempted, every
// Interval checks; $flag itself is read only there, and only the host
// writes it. The countdown is private to the guest (no data race).
//
// New globals, types and the function are appended (indices = the previous
// totals), so no function, global, type, local or branch index changes,
// and the checks leave the operand stack as they found it and close their
// own block. A module that already exports ExportName or StartExport (for
// instance, one instrumented before) is refused with ErrInstrumented.
//
// A start section is removed and its function exported as StartExport
// instead: the start function runs inside instantiation, before the host
// can reach the flag, so the host calls it itself right after
// instantiating (which is when the start function would have run).
//
// Custom sections are kept, except those that address code by byte offset
// and would be wrong after the rewrite: DWARF (".debug_*"),
// "sourceMappingURL", "external_debug_info", "linking" and "reloc.*". The
// "name" section stays valid (no index moves) and keeps function names in
// trap stack traces; $poll has no name.
//
// The instruction walker knows the immediates of every instruction of
// WebAssembly 2.0 as wazero's default feature set (api.CoreFeaturesV2)
// accepts it: MVP, sign extension, non-trapping float-to-int conversions,
// multi-value block types (a type index as s33), bulk memory and reference
// types (0xFC prefix) and fixed-width SIMD (0xFD prefix, including memarg
// and lane immediates and v128.const's 16 bytes). Anything else (threads,
// tail calls, exception handling, GC, relaxed SIMD, unassigned opcodes)
// and any structural inconsistency is an error: a module is refused, never
// instrumented wrongly.
//
// The walk is strict about the module as written: every global, function
// and type index in code (global.get/set, call, ref.func, call_indirect,
// block types), every export, every element segment's functions and the
// start function (which must be () -> ()) are checked against the
// module's own counts, so nothing the rewrite appends becomes nameable by
// the guest and a module valid only once instrumented is refused. The
// compiler validates the rest (types, stack discipline) afterwards.
//
// Prepare runs the same walk with or without instrumenting and enforces
// Limits (module, body and table sizes, nesting, a code cost budget)
// before anything is compiled; it also lowers table maxima to the table
// budget, so table.grow cannot allocate past it.
//
// It reads and writes module bytes only: it imports the standard library
// and nothing of wazero or the runtime.
package interrupt

import (
	"errors"
	"fmt"
	"strings"
)

// ExportName is the name under which the interrupt flag is exported.
// Instrument refuses a module that already exports it.
const ExportName = "__interstice_interrupt"

// StartExport is the name under which the module's start function (from
// its start section, which Instrument removes) is exported; the host must
// call it after instantiation. Instrument refuses a module that already
// exports it.
const StartExport = "__interstice_start"

// Interval is the number of checks (loop iterations and function entries)
// between two polls of the flag, each of which leaves compiled code for
// the engine's Go code. A poll costs about as much as one of wazero's own
// termination checks (~20–80 ns), so at 1024 polls cost well under 0.1 ns
// per check, and a guest reaches a preemption point (and sees the flag)
// within a few microseconds of work.
const Interval = 1024

// ErrInstrumented reports a module that already exports ExportName or
// StartExport.
var ErrInstrumented = errors.New("interrupt: module already instrumented")

// Stats describes one instrumentation.
type Stats struct {
	Flag      uint32 // global index of the flag
	Countdown uint32 // global index of the countdown
	Poll      uint32 // function index of $poll
	Functions int    // function bodies instrumented (one entry check each)
	Loops     int    // loop checks inserted
	AddMemory bool   // the module had no memory and got one
	Start     bool   // the start section became export StartExport

	// What the module imports besides functions (a host may refuse it).
	ImportedTables, ImportedMemories, ImportedGlobals uint32
	// TableElements is the sum of every table's maximum size (after
	// capping) and every element segment's length.
	TableElements uint64
	// MaxNesting is the deepest block nesting of any body (blocks, loops
	// and ifs), MaxLoopNesting the deepest loop nesting; CodeCost is the
	// sum over bodies of size in bytes times (nesting + LoopWeight x loop
	// nesting), see Limits.CodeCost.
	MaxNesting     int
	MaxLoopNesting int
	CodeCost       uint64
	// MaxBodyBytes and MaxLocals are the largest body and local count.
	MaxBodyBytes int
	MaxLocals    uint64
}

// Instrument returns a copy of the module wasm with the interrupt flag and
// its checks (see the package documentation), or an error naming the first
// problem and its byte offset. It never modifies wasm. It applies no
// Limits (Prepare does).
func Instrument(wasm []byte) ([]byte, error) {
	out, _, err := InstrumentStats(wasm)
	return out, err
}

// InstrumentStats is Instrument, also reporting what it inserted.
func InstrumentStats(wasm []byte) ([]byte, Stats, error) {
	return Prepare(wasm, Options{Instrument: true})
}

// Options configures Prepare.
type Options struct {
	// Instrument adds the interrupt flag and its checks. Without it,
	// Prepare only checks the module and bounds its tables.
	Instrument bool
	// Limits are checked before anything is rewritten; a zero field is no
	// limit.
	Limits Limits
}

// Prepare checks wasm strictly as written (every index the rewrite could
// make valid, and opt.Limits), caps its tables' maximum sizes to the
// table budget (Limits.TableElements) and, with opt.Instrument, adds the
// interrupt flag and its checks. It returns wasm itself when nothing
// changes. It never modifies wasm.
func Prepare(wasm []byte, opt Options) ([]byte, Stats, error) {
	var st Stats
	lim := &opt.Limits
	if lim.ModuleBytes > 0 && len(wasm) > lim.ModuleBytes {
		return nil, st, limitErr(0, "module of %d bytes exceeds the limit of %d bytes", len(wasm), lim.ModuleBytes)
	}
	m, err := parse(wasm, lim, opt.Instrument)
	if err != nil {
		return nil, st, err
	}
	st.ImportedTables, st.ImportedMemories, st.ImportedGlobals = m.importedTables, m.importedMemories, m.importedGlobals
	tableSec, capped, err := m.capTables(wasm, lim)
	if err != nil {
		return nil, st, err
	}
	st.TableElements = m.tableElements
	if !opt.Instrument {
		// Check every body (limits, indices) without rewriting it.
		if s := m.section(secCode); s != nil {
			if _, err := instrumentCode(wasm, s, m, nil, nil, &st, false); err != nil {
				return nil, st, err
			}
		}
		if !capped {
			return wasm, st, nil
		}
		out := make([]byte, 0, len(wasm)+16)
		out = append(out, wasm[:8]...)
		for i := range m.sections {
			s := &m.sections[i]
			if s.id == secTable {
				out = appendSection(out, secTable, tableSec)
				continue
			}
			out = append(out, wasm[s.start:s.end]...)
		}
		return out, st, nil
	}
	st.Flag = m.importedGlobals + m.definedGlobals
	st.Countdown = st.Flag + 1
	st.Poll = m.importedFuncs + m.definedFuncs
	st.AddMemory = m.importedMemories+m.definedMemories == 0
	st.Start = m.hasStart
	pollType := m.types

	// check: countdown -= 1; if countdown == 0 { call $poll }
	check := appendU32([]byte{opGlobalGet}, st.Countdown)
	check = append(check, opI32Const, 1, opI32Sub, opGlobalSet)
	check = appendU32(check, st.Countdown)
	check = append(check, opGlobalGet)
	check = appendU32(check, st.Countdown)
	check = append(check, opI32Eqz, opIf, blockEmpty, opCall)
	check = appendU32(check, st.Poll)
	check = append(check, opEnd)

	// $poll: drop(memory.grow 0); countdown = Interval; if flag { unreachable }
	poll := []byte{0x00, opI32Const, 0x00, opMemoryGrow, 0x00, opDrop, opI32Const}
	poll = appendS32(poll, Interval)
	poll = append(poll, opGlobalSet)
	poll = appendU32(poll, st.Countdown)
	poll = append(poll, opGlobalGet)
	poll = appendU32(poll, st.Flag)
	poll = append(poll, opIf, blockEmpty, opUnreachable, opEnd, opEnd)

	// newSection returns the content of a section the rewrite changes,
	// given the original (nil if the module has none).
	newSection := func(id byte, s *section) ([]byte, error) {
		var body []byte
		switch id {
		case secType:
			body = appendU32(nil, m.types+1)
			if s != nil {
				body = append(body, wasm[s.entries:s.end]...)
			}
			return append(body, 0x60, 0x00, 0x00), nil // () -> ()
		case secFunction:
			body = appendU32(nil, m.definedFuncs+1)
			if s != nil {
				body = append(body, wasm[s.entries:s.end]...)
			}
			return appendU32(body, pollType), nil
		case secMemory: // only when the module has no memory (maybe an empty section)
			return []byte{1, 0x01, 0, 0}, nil // (memory 0 0)
		case secGlobal:
			body = appendU32(nil, m.definedGlobals+2)
			if s != nil {
				body = append(body, wasm[s.entries:s.end]...)
			}
			body = append(body, valI32, 0x01, opI32Const, 0x00, opEnd)
			body = append(body, valI32, 0x01, opI32Const)
			body = appendS32(body, Interval)
			return append(body, opEnd), nil
		case secExport:
			n := m.exports + 1
			if m.hasStart {
				n++
			}
			body = appendU32(nil, n)
			if s != nil {
				body = append(body, wasm[s.entries:s.end]...)
			}
			body = appendExport(body, ExportName, 0x03, st.Flag)
			if m.hasStart {
				body = appendExport(body, StartExport, 0x00, m.start)
			}
			return body, nil
		case secCode:
			return instrumentCode(wasm, s, m, check, poll, &st, true)
		case secTable:
			return tableSec, nil
		}
		panic("unreachable")
	}
	changed := []byte{secType, secFunction, secGlobal, secExport, secCode}
	if capped {
		changed = append(changed, secTable)
	}
	if st.AddMemory {
		changed = append(changed, secMemory)
	}
	isChanged := func(id byte) bool {
		for _, c := range changed {
			if c == id {
				return true
			}
		}
		return false
	}
	done := map[byte]bool{}
	out := make([]byte, 0, len(wasm)+len(wasm)/8+256)
	out = append(out, wasm[:8]...)
	// emitMissing adds the changed sections the module lacks right before
	// the first section that must follow them.
	emitMissing := func(nextRank int) error {
		for _, id := range []byte{secType, secFunction, secMemory, secGlobal, secExport, secCode} {
			if isChanged(id) && !done[id] && rankOf(id) < nextRank {
				body, err := newSection(id, nil)
				if err != nil {
					return err
				}
				out = appendSection(out, id, body)
				done[id] = true
			}
		}
		return nil
	}
	for i := range m.sections {
		s := &m.sections[i]
		if s.id == secCustom {
			if s.name == "name" {
				// The name section comes after all known sections.
				if err := emitMissing(rankOf(secData) + 1); err != nil {
					return nil, st, err
				}
			}
			if !dropCustom(s.name) {
				out = append(out, wasm[s.start:s.end]...)
			}
			continue
		}
		if err := emitMissing(rankOf(s.id)); err != nil {
			return nil, st, err
		}
		if s.id == secStart {
			continue // exported as StartExport
		}
		if !isChanged(s.id) {
			out = append(out, wasm[s.start:s.end]...)
			continue
		}
		body, err := newSection(s.id, s)
		if err != nil {
			return nil, st, err
		}
		out = appendSection(out, s.id, body)
		done[s.id] = true
	}
	if err := emitMissing(rankOf(secData) + 1); err != nil {
		return nil, st, err
	}
	return out, st, nil
}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// rankOf is the position of a known section in the required order (the
// data count section comes before code, the tag section before global);
// 0 for an unknown id.
func rankOf(id byte) int {
	switch id {
	case secType, secImport, secFunction, secTable, secMemory:
		return int(id)
	case secTag:
		return 6
	case secGlobal, secExport, secStart, secElement:
		return int(id) + 1 // 7..10
	case secDataCount:
		return 11
	case secCode:
		return 12
	case secData:
		return 13
	}
	return 0
}

// dropCustom reports custom sections that address code by byte offset.
func dropCustom(name string) bool {
	return strings.HasPrefix(name, ".debug_") || strings.HasPrefix(name, "reloc.") ||
		name == "sourceMappingURL" || name == "external_debug_info" || name == "linking"
}

type section struct {
	id         byte
	start, end int // the whole section, id byte included
	entries    int // after the entry count (vector sections)
	count      uint32
	name       string // custom sections
}

type module struct {
	sections         []section
	types            uint32
	emptyType        []bool   // type i is () -> ()
	funcTypes        []uint32 // type of each defined function
	importedFuncs    uint32
	importedTables   uint32
	importedMemories uint32
	importedGlobals  uint32
	definedTables    uint32
	tables           []tableType // imported, then defined
	elemElements     uint64      // elements of all element segments
	tableElements    uint64      // after capTables
	lim              *Limits
	reserve          bool   // ExportName and StartExport are reserved
	kinds            []byte // the walker's block stack (reused)
	definedFuncs     uint32
	definedMemories  uint32
	definedGlobals   uint32
	exports          uint32
	start            uint32 // the start function, if hasStart
	hasStart         bool
}

// Error is an instrumentation failure at a byte offset of the input.
type Error struct {
	Offset int
	Msg    string
	Err    error // ErrInstrumented, or nil
}

func (e *Error) Error() string { return fmt.Sprintf("interrupt: offset %#x: %s", e.Offset, e.Msg) }

func (e *Error) Unwrap() error { return e.Err }

func errAt(off int, format string, args ...any) error {
	return &Error{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func parse(b []byte, lim *Limits, reserve bool) (*module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errAt(0, "not a WebAssembly module (bad magic)")
	}
	if string(b[4:8]) != "\x01\x00\x00\x00" {
		return nil, errAt(4, "unsupported binary version % x", b[4:8])
	}
	m := &module{lim: lim, reserve: reserve}
	r := reader{b: b, off: 8}
	lastRank := 0
	codeCount := uint32(0)
	for r.off < len(b) {
		start := r.off
		id := r.b[r.off]
		r.off++
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(len(b)-r.off) {
			return nil, errAt(start, "section %d of %d bytes runs past the end of the module", id, size)
		}
		s := section{id: id, start: start, end: r.off + int(size)}
		sr := reader{b: b[:s.end], off: r.off}
		if id == secCustom {
			name, err := sr.name()
			if err != nil {
				return nil, err
			}
			s.name = name
		} else {
			rank := rankOf(id)
			if rank == 0 {
				return nil, errAt(start, "unknown section id %d", id)
			}
			if rank <= lastRank {
				return nil, errAt(start, "section %d out of order or repeated", id)
			}
			lastRank = rank
			switch id {
			case secImport:
				if err := m.parseImports(&sr, lim); err != nil {
					return nil, err
				}
			case secDataCount:
				// Exactly one u32. An empty section is invalid; wazero
				// would read its count from the next section's bytes,
				// which our inserted sections then change.
				if _, err := sr.u32(); err != nil {
					return nil, err
				}
				if sr.off != s.end {
					return nil, errAt(sr.off, "data count section has trailing bytes")
				}
			case secStart:
				if m.start, err = sr.u32(); err != nil {
					return nil, err
				}
				if err := m.checkStart(sr.off - 1); err != nil {
					return nil, err
				}
				if sr.off != s.end {
					return nil, errAt(sr.off, "start section has trailing bytes")
				}
				m.hasStart = true
			case secType, secFunction, secTable, secMemory, secGlobal, secExport, secElement, secCode, secData:
				if s.count, err = sr.u32(); err != nil {
					return nil, err
				}
				s.entries = sr.off
				switch id {
				case secType:
					m.types = s.count
					if err := lim.check(start, "types", uint64(m.types), uint64(lim.Types)); err != nil {
						return nil, err
					}
					if err := m.parseTypes(&sr); err != nil {
						return nil, err
					}
				case secFunction:
					m.definedFuncs = s.count
					if err := lim.check(start, "functions", uint64(m.importedFuncs)+uint64(m.definedFuncs), uint64(lim.Functions)); err != nil {
						return nil, err
					}
					if err := m.parseFunctions(&sr); err != nil {
						return nil, err
					}
				case secTable:
					m.definedTables = s.count
					if err := lim.check(start, "tables", uint64(m.importedTables)+uint64(m.definedTables), uint64(lim.Tables)); err != nil {
						return nil, err
					}
					for i := uint32(0); i < s.count; i++ {
						t, err := sr.tableType()
						if err != nil {
							return nil, err
						}
						m.tables = append(m.tables, t)
					}
				case secMemory:
					m.definedMemories = s.count
					for i := uint32(0); i < s.count; i++ {
						if err := sr.memoryType(lim); err != nil {
							return nil, err
						}
					}
				case secGlobal:
					m.definedGlobals = s.count
					if err := lim.check(start, "globals", uint64(m.importedGlobals)+uint64(m.definedGlobals), uint64(lim.Globals)); err != nil {
						return nil, err
					}
				case secExport:
					m.exports = s.count
					if err := m.checkExports(&sr, s.count); err != nil {
						return nil, err
					}
				case secElement:
					if err := m.parseElements(&sr, s.count, lim); err != nil {
						return nil, err
					}
				case secData:
					if err := m.parseData(&sr, s.count); err != nil {
						return nil, err
					}
				case secCode:
					codeCount = s.count
				}
				if id != secGlobal && id != secExport && id != secCode && sr.off != s.end {
					return nil, errAt(sr.off, "section %d has trailing bytes", id)
				}
			}
		}
		m.sections = append(m.sections, s)
		r.off = s.end
	}
	if codeCount != m.definedFuncs {
		return nil, errAt(0, "%d function declarations but %d bodies", m.definedFuncs, codeCount)
	}
	const most = 1<<32 - 3
	if uint64(m.importedGlobals)+uint64(m.definedGlobals) > most || uint64(m.importedFuncs)+uint64(m.definedFuncs) > most ||
		m.types > most || m.exports > most {
		return nil, errAt(0, "too many types, functions, globals or exports")
	}
	return m, nil
}

// parseImports reads the import section, counting imported functions,
// memories and globals.
func (m *module) parseImports(r *reader, lim *Limits) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.name(); err != nil {
			return err
		}
		if _, err := r.name(); err != nil {
			return err
		}
		kindAt := r.off
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00: // function: type index
			var ti uint32
			if ti, err = r.u32(); err == nil && ti >= m.types {
				err = errAt(r.off-1, "import of type %d, the module has %d types", ti, m.types)
			}
			m.funcTypes = append(m.funcTypes, ti)
			m.importedFuncs++
		case 0x01: // table: reference type, limits
			var t tableType
			if t, err = r.tableType(); err == nil {
				m.tables = append(m.tables, t)
			}
			m.importedTables++
		case 0x02: // memory: limits
			err = r.memoryType(lim)
			m.importedMemories++
		case 0x03: // global: value type, mutability
			if err = r.valType(); err == nil {
				var mut byte
				if mut, err = r.byte(); err == nil && mut > 1 {
					err = errAt(r.off-1, "bad global mutability %#x", mut)
				}
			}
			m.importedGlobals++
		default:
			err = errAt(kindAt, "unsupported import kind %#x", kind)
		}
		if err != nil {
			return err
		}
	}
	if r.off != len(r.b) {
		return errAt(r.off, "import section has trailing bytes")
	}
	return nil
}

// checkExports reads n export entries and refuses a module that already
// exports ExportName, or exports an index it does not have.
func (m *module) checkExports(r *reader, n uint32) error {
	for i := uint32(0); i < n; i++ {
		at := r.off
		name, err := r.name()
		if err != nil {
			return err
		}
		if m.reserve && (name == ExportName || name == StartExport) {
			return &Error{Offset: at, Msg: "the module already exports " + name, Err: ErrInstrumented}
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		idx, err := r.u32()
		if err != nil {
			return err
		}
		var have uint32
		switch kind {
		case 0x00:
			have = m.importedFuncs + m.definedFuncs
		case 0x01:
			have = m.importedTables + m.definedTables
		case 0x02:
			have = m.importedMemories + m.definedMemories
		case 0x03:
			have = m.importedGlobals + m.definedGlobals
		default:
			return errAt(at, "export %q of unknown kind %#x", name, kind)
		}
		if idx >= have {
			return errAt(at, "export %q names index %d of kind %d, the module has %d", name, idx, kind, have)
		}
	}
	if r.off != len(r.b) {
		return errAt(r.off, "export section has trailing bytes")
	}
	return nil
}

func appendExport(b []byte, name string, kind byte, index uint32) []byte {
	b = appendU32(b, uint32(len(name)))
	b = append(b, name...)
	b = append(b, kind)
	return appendU32(b, index)
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}

// instrumentCode returns the new content of the code section s (nil: the
// module has none): its bodies instrumented, then $poll. Without emit it
// only checks the bodies (limits, indices) and returns nil.
func instrumentCode(wasm []byte, s *section, m *module, check, poll []byte, st *Stats, emit bool) ([]byte, error) {
	n := m.definedFuncs
	var out []byte
	if emit {
		size := len(poll) + 8
		if s != nil {
			size += (s.end - s.start) + (s.end-s.start)/8
		}
		out = make([]byte, 0, size)
		out = appendU32(out, n+1)
	}
	if s != nil {
		r := reader{b: wasm[:s.end], off: s.entries}
		var body []byte
		for i := uint32(0); i < n; i++ {
			at := r.off
			size, err := r.u32()
			if err != nil {
				return nil, err
			}
			if uint64(size) > uint64(len(r.b)-r.off) {
				return nil, errAt(at, "function body %d of %d bytes runs past its section", i, size)
			}
			if m.lim.FunctionBytes > 0 && int(size) > m.lim.FunctionBytes {
				return nil, limitErr(at, "function %d: body of %d bytes exceeds the limit of %d bytes", m.importedFuncs+i, size, m.lim.FunctionBytes)
			}
			end := r.off + int(size)
			var depth, loops int
			body, depth, loops, err = instrumentBody(body[:0], wasm[:end], r.off, check, st, m, emit)
			if err != nil {
				return nil, err
			}
			st.MaxNesting = max(st.MaxNesting, depth)
			st.MaxLoopNesting = max(st.MaxLoopNesting, loops)
			st.MaxBodyBytes = max(st.MaxBodyBytes, int(size))
			st.CodeCost += uint64(size) * uint64(depth+LoopWeight*loops)
			if m.lim.CodeCost > 0 && st.CodeCost > m.lim.CodeCost {
				return nil, limitErr(at, "function %d: code cost (body bytes x nesting depth, summed over functions) exceeds the limit of %d", m.importedFuncs+i, m.lim.CodeCost)
			}
			if emit {
				out = appendU32(out, uint32(len(body)))
				out = append(out, body...)
			}
			r.off = end
			st.Functions++
		}
		if r.off != s.end {
			return nil, errAt(r.off, "code section has trailing bytes")
		}
	}
	if !emit {
		return nil, nil
	}
	out = appendU32(out, uint32(len(poll)))
	return append(out, poll...), nil
}

// Opcodes and types the rewriter writes or needs to recognize.
const (
	opUnreachable  = 0x00
	opBlock        = 0x02
	opLoop         = 0x03
	opIf           = 0x04
	opEnd          = 0x0b
	opCall         = 0x10
	opCallIndirect = 0x11
	opRefFunc      = 0xd2
	opDrop         = 0x1a
	opGlobalGet    = 0x23
	opGlobalSet    = 0x24
	opMemoryGrow   = 0x40
	opI32Const     = 0x41
	opI32Eqz       = 0x45
	opI32Sub       = 0x6b
	blockEmpty     = 0x40
	valI32         = 0x7f
)

// instrumentBody appends the instrumented function body b[off:len(b)] to
// out (with emit; otherwise it only walks it) and returns its deepest
// block nesting. It refuses an index the module as written does not have
// (a global, function or type the rewrite appends would otherwise become
// reachable), and the limits on locals and nesting.
func instrumentBody(out, b []byte, off int, check []byte, st *Stats, m *module, emit bool) (_ []byte, depth, loops int, err error) {
	r := reader{b: b, off: off}
	groups, err := r.u32()
	if err != nil {
		return nil, 0, 0, err
	}
	var locals uint64
	for i := uint32(0); i < groups; i++ {
		n, err := r.u32()
		if err != nil {
			return nil, 0, 0, err
		}
		locals += uint64(n)
		if m.lim.Locals > 0 && locals > uint64(m.lim.Locals) {
			return nil, 0, 0, limitErr(off, "function declares more than %d locals", m.lim.Locals)
		}
		if err := r.valType(); err != nil {
			return nil, 0, 0, err
		}
	}
	st.MaxLocals = max(st.MaxLocals, locals)
	if emit {
		out = append(out, b[off:r.off]...)
		out = append(out, check...)
	}
	globals := m.importedGlobals + m.definedGlobals
	funcs := m.importedFuncs + m.definedFuncs
	hasMemory := m.importedMemories+m.definedMemories > 0
	copied := r.off // b[copied:r.off] is still to be copied
	// kinds[i] is the kind of the block at depth i+1 (the body is depth 1).
	kinds := m.kinds[:0]
	depth, deepest, loop, deepestLoop := 1, 1, 0, 0
	for depth > 0 {
		if r.off >= len(b) {
			return nil, 0, 0, errAt(r.off, "function body ends inside a block")
		}
		at := r.off
		op := b[r.off]
		r.off++
		switch {
		case op == opLoop, op == opBlock, op == opIf:
			if err := r.blockType(m.types); err != nil {
				return nil, 0, 0, err
			}
			depth++
			kinds = append(kinds, op)
			if op == opLoop {
				loop++
				deepestLoop = max(deepestLoop, loop)
			}
			if depth > deepest {
				deepest = depth
				if m.lim.Nesting > 0 && depth-1 > m.lim.Nesting {
					return nil, 0, 0, limitErr(at, "blocks nested deeper than the limit of %d", m.lim.Nesting)
				}
			}
			if op == opLoop {
				if emit {
					out = append(out, b[copied:r.off]...)
					out = append(out, check...)
				}
				copied = r.off
				st.Loops++
			}
		case op == opEnd:
			depth--
			if depth > 0 {
				if kinds[len(kinds)-1] == opLoop {
					loop--
				}
				kinds = kinds[:len(kinds)-1]
			}
		case op == opGlobalGet, op == opGlobalSet:
			if err := r.index("global", globals); err != nil {
				return nil, 0, 0, err
			}
		case op == opCall, op == opRefFunc:
			if err := r.index("function", funcs); err != nil {
				return nil, 0, 0, err
			}
		case op == opCallIndirect:
			if err := r.index("type", m.types); err != nil {
				return nil, 0, 0, err
			}
			if _, err := r.u32(); err != nil {
				return nil, 0, 0, err
			}
		default:
			if !hasMemory && usesMemory(b, at) {
				return nil, 0, 0, errAt(at, "memory instruction %#02x in a module without a memory", op)
			}
			if err := r.immediates(op); err != nil {
				return nil, 0, 0, err
			}
		}
	}
	if r.off != len(b) {
		return nil, 0, 0, errAt(r.off, "function body has %d bytes after its final end", len(b)-r.off)
	}
	m.kinds = kinds
	if emit {
		out = append(out, b[copied:r.off]...)
	}
	return out, deepest - 1, deepestLoop, nil
}

// usesMemory reports whether the instruction at b[at] addresses a linear
// memory (a module without one gets one from the rewrite, which must not
// make such an instruction valid). It reads the 0xfc and 0xfd sub-opcodes
// leniently; immediates checks them afterwards.
func usesMemory(b []byte, at int) bool {
	op := b[at]
	switch {
	case op >= 0x28 && op <= 0x40: // loads, stores, memory.size, memory.grow
		return true
	case op == 0xfc, op == 0xfd:
		r := reader{b: b, off: at + 1}
		sub, err := r.u32()
		if err != nil {
			return false
		}
		if op == 0xfc {
			return sub == 8 || sub == 10 || sub == 11 // memory.init, memory.copy, memory.fill
		}
		return sub <= 11 || (sub >= 84 && sub <= 93) // v128 loads and stores
	}
	return false
}

// index reads an index immediate and refuses one >= have.
func (r *reader) index(kind string, have uint32) error {
	at := r.off
	i, err := r.u32()
	if err != nil {
		return err
	}
	if i >= have {
		return errAt(at, "%s index %d out of range: the module has %d", kind, i, have)
	}
	return nil
}

// immediates skips the immediates of op (read at r.off-1), which is not a
// block, loop, if or end.
func (r *reader) immediates(op byte) error {
	switch {
	case op == opUnreachable, op == 0x01, op == 0x05, op == 0x0f, // unreachable, nop, else, return
		op == 0x1a, op == 0x1b, // drop, select
		op == 0xd1,               // ref.is_null
		op >= 0x45 && op <= 0xc4: // numeric, sign extension
		return nil
	case op == 0x0c, op == 0x0d, // br, br_if
		op == 0x10,               // call
		op >= 0x20 && op <= 0x26, // local.*, global.*, table.get/set
		op == 0x3f, op == 0x40,   // memory.size/grow (memory index)
		op == 0xd2: // ref.func
		_, err := r.u32()
		return err
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint64(0); i <= uint64(n); i++ {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		return nil
	case op == 0x11: // call_indirect: type, table
		return r.u32s(2)
	case op == 0x1c: // select t*
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.valType(); err != nil {
				return err
			}
		}
		return nil
	case op >= 0x28 && op <= 0x3e: // loads and stores
		return r.memarg()
	case op == opI32Const:
		return r.sleb(5)
	case op == 0x42: // i64.const
		return r.sleb(10)
	case op == 0x43: // f32.const
		return r.skip(4)
	case op == 0x44: // f64.const
		return r.skip(8)
	case op == 0xd0: // ref.null
		return r.refType()
	case op == 0xfc:
		return r.prefixFC()
	case op == 0xfd:
		return r.prefixFD()
	}
	return errAt(r.off-1, "unsupported opcode %#02x", op)
}

func (r *reader) prefixFC() error {
	at := r.off - 1
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // i*.trunc_sat_f*
		return nil
	case sub == 9, sub == 11, sub == 13, sub == 15, sub == 16, sub == 17:
		// data.drop, memory.fill, elem.drop, table.grow/size/fill
		_, err := r.u32()
		return err
	case sub == 8, sub == 10, sub == 12, sub == 14:
		// memory.init, memory.copy, table.init, table.copy
		return r.u32s(2)
	}
	return errAt(at, "unsupported opcode 0xfc %d", sub)
}

// simdNone marks the SIMD opcodes (0xfd prefix, 0..255) that exist and have
// no immediates; the others are listed in prefixFD.
var simdNone = func() (t [256]bool) {
	for op := 14; op <= 20; op++ { // i8x16.swizzle, *.splat
		t[op] = true
	}
	for op := 35; op <= 83; op++ { // comparisons, v128 bitwise, any_true
		t[op] = true
	}
	for op := 94; op <= 255; op++ { // arithmetic, conversions
		t[op] = true
	}
	// Unassigned in the final SIMD proposal (wazero has no opcode there).
	for _, op := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb,
		0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[op] = false
	}
	return t
}()

func (r *reader) prefixFD() error {
	at := r.off - 1
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11, sub == 92, sub == 93: // v128.load*, v128.store, load*_zero
		return r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load*_lane, store*_lane
		if err := r.memarg(); err != nil {
			return err
		}
		return r.skip(1)
	case sub < 256 && simdNone[sub]:
		return nil
	}
	return errAt(at, "unsupported opcode 0xfd %d", sub)
}

// reader decodes b from off; every method fails (never panics) at the end
// of b.
type reader struct {
	b   []byte
	off int
}

const errEOF = "unexpected end of section"

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errAt(r.off, "%s", errEOF)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) skip(n int) error {
	if len(r.b)-r.off < n {
		return errAt(r.off, "%s", errEOF)
	}
	r.off += n
	return nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes that fits 32 bits.
func (r *reader) u32() (uint32, error) {
	at := r.off
	var v uint32
	for shift := 0; ; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift == 28 && c > 0x0f {
			return 0, errAt(at, "u32 LEB128 out of range")
		}
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
}

func (r *reader) u32s(n int) error {
	for ; n > 0; n-- {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// sleb skips a signed LEB128 of at most max bytes.
func (r *reader) sleb(max int) error {
	at := r.off
	for i := 0; i < max; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c < 0x80 {
			return nil
		}
	}
	return errAt(at, "signed LEB128 longer than %d bytes", max)
}

// blockType skips a block type: empty (0x40), a value type, or a type
// index as a non-negative s33, which must be < types.
func (r *reader) blockType(types uint32) error {
	at := r.off
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c == blockEmpty || isValType(c) {
		return nil
	}
	// s33: the first byte's bit 6 is the sign unless it continues.
	var v int64
	shift := 0
	for i := 0; ; i++ {
		v |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			break
		}
		if i == 4 {
			return errAt(at, "block type LEB128 longer than 5 bytes")
		}
		if c, err = r.byte(); err != nil {
			return err
		}
	}
	if shift < 64 && c&0x40 != 0 {
		v |= -1 << shift
	}
	if v < 0 || v >= int64(types) {
		return errAt(at, "bad block type %d (the module has %d types)", v, types)
	}
	return nil
}

func (r *reader) memarg() error {
	at := r.off
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 { // multi-memory: a memory index follows
		if _, err := r.u32(); err != nil {
			return err
		}
		align &^= 0x40
	}
	if align >= 64 {
		return errAt(at, "bad alignment %d", align)
	}
	_, err = r.u32() // offset
	return err
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	at := r.off
	if err := r.skip(int(n)); err != nil {
		return "", errAt(at, "name of %d bytes runs past the end", n)
	}
	return string(r.b[at:r.off]), nil
}

func isValType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return true
	}
	return false
}

func (r *reader) valType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if !isValType(c) {
		return errAt(r.off-1, "unsupported value type %#02x", c)
	}
	return nil
}

func (r *reader) refType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c != 0x70 && c != 0x6f {
		return errAt(r.off-1, "unsupported reference type %#02x", c)
	}
	return nil
}

// appendS32 appends v as a signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
