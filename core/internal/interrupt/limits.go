package interrupt

import (
	"errors"
	"fmt"
)

// Limits bounds what a module may declare, so that neither compiling it
// nor instantiating it costs the host more than its limits allow. Prepare
// checks them before anything is compiled. A zero field is no limit.
type Limits struct {
	ModuleBytes   int    // the whole module
	Types         uint32 // type section entries
	Functions     uint32 // imported and defined
	Globals       uint32 // imported and defined
	Tables        uint32 // imported and defined
	FunctionBytes int    // one function body
	Locals        uint32 // declared locals of one function (parameters excluded)
	Nesting       int    // block, loop and if nesting depth within one body
	// CodeCost bounds the sum over function bodies of body bytes times
	// (nesting depth + LoopWeight x loop nesting depth): wazero's compile
	// time grows with size and depth (superlinearly in the depth of one
	// body, and far more for loops, whose interrupt checks add blocks), so
	// a cap on each alone would still let many deep bodies take minutes.
	CodeCost uint64
	// TableElements bounds the sum of all tables' sizes and all element
	// segments' lengths (each element costs the host 8 bytes). Tables
	// declared without a maximum, or with a larger one, get their maximum
	// lowered so that the sum stays within it; table.grow past it
	// returns -1. A module whose minimum sizes alone exceed it is refused.
	TableElements uint64
	// MemoryPages bounds a memory's declared minimum and maximum.
	MemoryPages uint32
}

// LoopWeight is how much more a level of loop nesting costs than one of
// blocks in Limits.CodeCost (measured with wazero 1.12: instrumented
// nested loops compile ~30x slower per byte than nested blocks).
const LoopWeight = 32

// ErrLimit reports a module that exceeds one of Prepare's Limits.
var ErrLimit = errors.New("interrupt: module exceeds an implementation limit")

func limitErr(off int, format string, args ...any) error {
	return &Error{Offset: off, Msg: fmt.Sprintf(format, args...), Err: ErrLimit}
}

// check refuses n > limit (a zero limit is none).
func (l *Limits) check(off int, what string, n, limit uint64) error {
	if limit > 0 && n > limit {
		return limitErr(off, "%d %s exceed the limit of %d", n, what, limit)
	}
	return nil
}

type tableType struct {
	min, max uint32
	hasMax   bool
	ref      byte
}

func (r *reader) tableType() (tableType, error) {
	var t tableType
	ref, err := r.byte()
	if err != nil {
		return t, err
	}
	if ref != 0x70 && ref != 0x6f {
		return t, errAt(r.off-1, "unsupported reference type %#02x", ref)
	}
	t.ref = ref
	at := r.off
	flag, err := r.byte()
	if err != nil {
		return t, err
	}
	if flag > 1 {
		return t, errAt(at, "unsupported table limits flag %#02x", flag)
	}
	if t.min, err = r.u32(); err != nil {
		return t, err
	}
	if flag == 1 {
		t.hasMax = true
		if t.max, err = r.u32(); err != nil {
			return t, err
		}
		if t.max < t.min {
			return t, errAt(at, "table maximum %d below its minimum %d", t.max, t.min)
		}
	}
	return t, nil
}

// memoryType reads a memory's limits and refuses a minimum or maximum
// above lim.MemoryPages.
func (r *reader) memoryType(lim *Limits) error {
	at := r.off
	flag, err := r.byte()
	if err != nil {
		return err
	}
	if flag > 3 { // 0: min; 1: min, max; 2, 3: shared (threads)
		return errAt(at, "unsupported limits flag %#02x", flag)
	}
	min, err := r.u32()
	if err != nil {
		return err
	}
	if lim.MemoryPages > 0 && min > lim.MemoryPages {
		return limitErr(at, "memory minimum of %d pages exceeds the limit of %d pages", min, lim.MemoryPages)
	}
	if flag&1 != 0 {
		max, err := r.u32()
		if err != nil {
			return err
		}
		if lim.MemoryPages > 0 && max > lim.MemoryPages {
			return limitErr(at, "memory maximum of %d pages exceeds the limit of %d pages", max, lim.MemoryPages)
		}
	}
	return nil
}

// parseTypes reads the type section's entries (function types only).
func (m *module) parseTypes(r *reader) error {
	m.emptyType = make([]bool, 0, min(m.types, 4096))
	for i := uint32(0); i < m.types; i++ {
		at := r.off
		form, err := r.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return errAt(at, "unsupported type form %#02x", form)
		}
		var n [2]uint32
		for k := range n {
			if n[k], err = r.u32(); err != nil {
				return err
			}
			for j := uint32(0); j < n[k]; j++ {
				if err := r.valType(); err != nil {
					return err
				}
			}
		}
		m.emptyType = append(m.emptyType, n[0] == 0 && n[1] == 0)
	}
	return nil
}

// parseFunctions reads the function section's type indices.
func (m *module) parseFunctions(r *reader) error {
	for i := uint32(0); i < m.definedFuncs; i++ {
		at := r.off
		t, err := r.u32()
		if err != nil {
			return err
		}
		if t >= m.types {
			return errAt(at, "function %d of type %d, the module has %d types", m.importedFuncs+i, t, m.types)
		}
		m.funcTypes = append(m.funcTypes, t)
	}
	return nil
}

// checkStart refuses a start function the module does not have or whose
// type is not () -> () (the rewrite exports it instead, where wazero
// would not check its type).
func (m *module) checkStart(at int) error {
	if m.start >= m.importedFuncs+m.definedFuncs {
		return errAt(at, "start function %d out of range: the module has %d functions", m.start, m.importedFuncs+m.definedFuncs)
	}
	if t := m.funcTypes[m.start]; !m.emptyType[t] {
		return errAt(at, "start function %d is not of type () -> ()", m.start)
	}
	return nil
}

// parseElements reads the element section's n segments, checking the
// function and global indices they name and counting their elements.
func (m *module) parseElements(r *reader, n uint32, lim *Limits) error {
	funcs := m.importedFuncs + m.definedFuncs
	for i := uint32(0); i < n; i++ {
		at := r.off
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return errAt(at, "unsupported element segment flags %d", flags)
		}
		if flags&2 != 0 && flags&1 == 0 { // 2, 6: explicit table index
			if err := r.index("table", m.importedTables+m.definedTables); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: offset
			if err := m.constExpr(r); err != nil {
				return err
			}
		}
		exprs := flags&4 != 0
		if flags&3 != 0 { // 1, 2, 3: elemkind; 5, 6, 7: reftype
			if exprs {
				if err := r.refType(); err != nil {
					return err
				}
			} else if k, err := r.byte(); err != nil {
				return err
			} else if k != 0 {
				return errAt(r.off-1, "unsupported element kind %#02x", k)
			}
		}
		count, err := r.u32()
		if err != nil {
			return err
		}
		m.elemElements += uint64(count)
		if lim.TableElements > 0 && m.elemElements > lim.TableElements {
			return limitErr(at, "element segments of more than %d elements exceed the table element limit", lim.TableElements)
		}
		for j := uint32(0); j < count; j++ {
			if exprs {
				err = m.constExpr(r)
			} else {
				err = r.index("function", funcs)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// parseData reads the data section's n segments and refuses an active one
// in a module without a memory (the rewrite would add one).
func (m *module) parseData(r *reader, n uint32) error {
	for i := uint32(0); i < n; i++ {
		at := r.off
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case 0, 2:
			if m.importedMemories+m.definedMemories == 0 {
				return errAt(at, "active data segment in a module without a memory")
			}
			if flags == 2 {
				if err := r.index("memory", m.importedMemories+m.definedMemories); err != nil {
					return err
				}
			}
			if err := m.constExpr(r); err != nil {
				return err
			}
		case 1:
		default:
			return errAt(at, "unsupported data segment flags %d", flags)
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		if err := r.skip(int(size)); err != nil {
			return err
		}
	}
	return nil
}

// constExpr skips a constant expression up to its end, checking the
// function and global indices it names.
func (m *module) constExpr(r *reader) error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case opEnd:
			return nil
		case opGlobalGet:
			err = r.index("global", m.importedGlobals+m.definedGlobals)
		case opRefFunc:
			err = r.index("function", m.importedFuncs+m.definedFuncs)
		case opBlock, opLoop, opIf:
			err = errAt(r.off-1, "block in a constant expression")
		default:
			err = r.immediates(op)
		}
		if err != nil {
			return err
		}
	}
}

// section returns the module's section id, or nil.
func (m *module) section(id byte) *section {
	for i := range m.sections {
		if m.sections[i].id == id {
			return &m.sections[i]
		}
	}
	return nil
}

// capTables applies lim.TableElements: it refuses a module whose tables'
// minimum sizes and element segments exceed it, and lowers the maximum of
// each defined table, in order, so that all maxima together stay within
// it. It returns the new table section's content and whether it differs.
func (m *module) capTables(wasm []byte, lim *Limits) ([]byte, bool, error) {
	sum := m.elemElements
	for _, t := range m.tables {
		sum += uint64(t.min)
	}
	if lim.TableElements == 0 {
		m.tableElements = sum
		return nil, false, nil
	}
	if sum > lim.TableElements {
		return nil, false, limitErr(0, "tables of %d elements (minimum sizes and element segments) exceed the limit of %d", sum, lim.TableElements)
	}
	free := lim.TableElements - sum
	s := m.section(secTable)
	if s == nil {
		m.tableElements = sum
		return nil, false, nil
	}
	changed := false
	body := appendU32(nil, m.definedTables)
	for _, t := range m.tables[m.importedTables:] {
		want := uint64(1<<32-1) - uint64(t.min)
		if t.hasMax {
			want = uint64(t.max - t.min)
		}
		extra := min(want, free)
		free -= extra
		newMax := uint32(uint64(t.min) + extra)
		if !t.hasMax || newMax != t.max {
			changed = true
		}
		body = append(body, t.ref, 0x01)
		body = appendU32(body, t.min)
		body = appendU32(body, newMax)
	}
	m.tableElements = lim.TableElements - free
	return body, changed, nil
}
