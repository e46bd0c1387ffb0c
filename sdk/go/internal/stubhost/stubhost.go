// Package stubhost is a small in-memory stand-in for the Interstice host,
// for testing the Go SDK and the example and test modules without core/. It
// implements docs/ABI.md's imports over maps, with whole-store snapshots
// for rollback, cross-module calls with cycle detection, and FIFO
// subscriptions after each commit. It is test scaffolding: no durability,
// no limits beyond what wazero gives, and no concurrency.
package stubhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/row"
)

// ABI status codes.
const (
	OK             = 0
	Done           = 1
	ErrBadArgument = -1
	ErrNoTable     = -2
	ErrAccess      = -3
	ErrType        = -4
	ErrDuplicate   = -5
	ErrNotFound    = -6
	ErrTooSmall    = -7
	ErrLimit       = -8
	ErrNoReducer   = -9
	ErrCycle       = -10
	ErrFailed      = -11
	ErrBadIterator = -12
)

// MaxRow is the stub's maximum encoded row size.
const MaxRow = 1 << 20

// Build returns the wasm bytes of the Go guest package pkg (a path relative
// to the repository root, like "examples/counter" or "./examples/counter"),
// built by internal/testwasm (cached in build/wasm, rebuilt when a source
// is newer).
func Build(t testing.TB, pkg string) []byte {
	t.Helper()
	return testwasm.Go(t, strings.TrimPrefix(pkg, "./"))
}

var (
	cacheOnce sync.Once
	cache     wazero.CompilationCache
)

// compilationCache is shared by every runtime of the test binary and, on
// disk in build/wazero-cache, with every other test process (compiling a Go
// guest takes about a second; loading it from the cache a few tens of
// milliseconds).
func compilationCache(t testing.TB) wazero.CompilationCache {
	cacheOnce.Do(func() {
		c, err := wazero.NewCompilationCacheWithDir(testwasm.CacheDir(t))
		if err != nil {
			c = wazero.NewCompilationCache()
		}
		cache = c
	})
	return cache
}

// Table is one table's rows, by primary key.
type Table struct {
	Module string
	Def    *fb.TableDef
	Types  []row.Type
	PK     int
	Public bool
	Rows   map[string][]byte
}

// Sorted returns the decoded rows in key order.
func (t *Table) Sorted() [][]any {
	var out [][]any
	for _, k := range slices.Sorted(maps.Keys(t.Rows)) {
		v, err := row.Decode(t.Rows[k])
		if err != nil {
			panic(err)
		}
		out = append(out, v)
	}
	return out
}

// Module is one loaded guest.
type Module struct {
	Name     string
	Schema   *fb.ModuleSchema
	Raw      []byte // describe bytes
	inst     api.Module
	reducers map[string]int
	failMsg  string
	alloc    api.Function
	call     api.Function
}

// Event is one table event of a committed transaction.
type Event struct {
	Module, Table string
	Kind          fb.Event
	Old, New      []byte
}

// Host is the stub runtime.
type Host struct {
	t       testing.TB
	rt      wazero.Runtime
	Mods    map[string]*Module
	byInst  map[string]*Module
	Tables  map[string]*Table // "module.table"
	handles []string          // handle -> "module.table"
	Logs    []string
	Stderr  bytes.Buffer // what guests wrote to stderr (Go panics, runtime errors)
	stack   []*Module
	events  []Event
	iters   map[int32]*iter
	undo    []undo
	doomed  error // set by a failed nested call
	nextIt  int32
	// MemoryLimitPages, if set before Load, limits guest memory.
	ctx context.Context
}

type undo struct {
	t   *Table
	key string
	old []byte // nil: the key did not exist
}

type iter struct {
	table string
	keys  []string
	pos   int
}

// New returns a host; it is closed when the test ends.
func New(t testing.TB) *Host { return NewWithConfig(t, wazero.NewRuntimeConfig()) }

// NewWithConfig is New with a wazero runtime configuration (memory limit,
// close on context done).
func NewWithConfig(t testing.TB, cfg wazero.RuntimeConfig) *Host {
	ctx := context.Background()
	h := &Host{t: t, ctx: ctx, Mods: map[string]*Module{}, byInst: map[string]*Module{},
		Tables: map[string]*Table{}, iters: map[int32]*iter{}}
	h.rt = wazero.NewRuntimeWithConfig(ctx, cfg.WithCompilationCache(compilationCache(t)))
	t.Cleanup(func() { h.rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, h.rt)
	h.exportHost()
	return h
}

// Load instantiates a module and reads its schema.
func (h *Host) Load(wasm []byte) (*Module, error) {
	return h.LoadCtx(h.ctx, wasm)
}

// LoadCtx is Load with a context.
func (h *Host) LoadCtx(ctx context.Context, wasm []byte) (*Module, error) {
	cm, err := h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	inst := fmt.Sprintf("guest%d", len(h.byInst))
	mod, err := h.rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(inst).
		WithStartFunctions("_initialize").WithStderr(&h.Stderr))
	if err != nil {
		return nil, err
	}
	res, err := mod.ExportedFunction("interstice_describe").Call(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	ptr, n := uint32(res[0]>>32), uint32(res[0])
	raw, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return nil, errors.New("describe: out of bounds")
	}
	raw = bytes.Clone(raw)
	s := fb.GetRootAsModuleSchema(raw, 0)
	m := &Module{Name: string(s.Name()), Schema: s, Raw: raw, inst: mod, reducers: map[string]int{},
		alloc: mod.ExportedFunction("interstice_alloc"), call: mod.ExportedFunction("interstice_call")}
	var rd fb.ReducerDef
	for i := 0; i < s.ReducersLength(); i++ {
		s.Reducers(&rd, i)
		m.reducers[string(rd.Name())] = i
	}
	var td fb.TableDef
	var col fb.Column
	for i := 0; i < s.TablesLength(); i++ {
		s.Tables(&td, i)
		tab := &Table{Module: m.Name, PK: int(td.PrimaryKey()), Public: td.Public(), Rows: map[string][]byte{}}
		for j := 0; j < td.ColumnsLength(); j++ {
			td.Columns(&col, j)
			tab.Types = append(tab.Types, row.TypeFromFB(col.Type(nil)))
		}
		h.Tables[m.Name+"."+string(td.Name())] = tab
	}
	h.Mods[m.Name] = m
	h.byInst[inst] = m
	return m, nil
}

// Call runs module.reducer with args as a root transaction, then runs the
// subscriptions its events trigger. It returns the module's error message
// as an error.
func (h *Host) Call(module, reducer string, args ...any) error {
	return h.CallCtx(h.ctx, module, reducer, args...)
}

// CallCtx is Call with a context (for deadlines).
func (h *Host) CallCtx(ctx context.Context, module, reducer string, args ...any) error {
	buf, err := row.Encode(args)
	if err != nil {
		return err
	}
	queue := []func() error{func() error { return h.tx(ctx, module, reducer, buf) }}
	var first error
	for i := 0; len(queue) > 0 && i < 100; i++ {
		f := queue[0]
		queue = queue[1:]
		h.events = nil
		err := f()
		if i == 0 {
			first = err
		}
		if err != nil {
			continue
		}
		for _, ev := range h.events {
			for _, m := range h.Mods {
				var sd fb.SubscriptionDef
				for j := 0; j < m.Schema.SubscriptionsLength(); j++ {
					m.Schema.Subscriptions(&sd, j)
					if string(sd.Module()) == ev.Module && string(sd.TableName()) == ev.Table && sd.Event() == ev.Kind {
						args, _ := row.Encode([]any{nilIfEmpty(ev.Old), nilIfEmpty(ev.New)})
						mod, red := m.Name, string(sd.Reducer())
						queue = append(queue, func() error { return h.tx(ctx, mod, red, args) })
					}
				}
			}
		}
	}
	return first
}

func nilIfEmpty(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// tx runs one reducer as a transaction, rolling back on failure.
func (h *Host) tx(ctx context.Context, module, reducer string, args []byte) error {
	h.undo = h.undo[:0]
	h.doomed = nil
	st, msg, err := h.invoke(ctx, module, reducer, args)
	if err == nil && st != 0 {
		err = errors.New(msg)
	}
	if err == nil && h.doomed != nil {
		err = h.doomed // a nested call failed: the whole transaction fails
	}
	if err != nil {
		for i := len(h.undo) - 1; i >= 0; i-- {
			u := h.undo[i]
			if u.old == nil {
				delete(u.t.Rows, u.key)
			} else {
				u.t.Rows[u.key] = u.old
			}
		}
		h.events = nil
	}
	h.iters = map[int32]*iter{}
	return err
}

func (h *Host) invoke(ctx context.Context, module, reducer string, args []byte) (int32, string, error) {
	m := h.Mods[module]
	if m == nil {
		return ErrNoReducer, "", fmt.Errorf("no module %q", module)
	}
	idx, ok := m.reducers[reducer]
	if !ok {
		return ErrNoReducer, "", fmt.Errorf("no reducer %s.%s", module, reducer)
	}
	for _, s := range h.stack {
		if s == m {
			return ErrCycle, "", fmt.Errorf("cycle: %s", module)
		}
	}
	h.stack = append(h.stack, m)
	defer func() { h.stack = h.stack[:len(h.stack)-1] }()
	res, err := m.alloc.Call(ctx, uint64(len(args)))
	if err != nil {
		return 0, "", fmt.Errorf("alloc: %w", err)
	}
	ptr := uint32(res[0])
	if ptr == 0 || !m.inst.Memory().Write(ptr, args) {
		return 0, "", errors.New("alloc returned a bad buffer")
	}
	m.failMsg = ""
	res, err = m.call.Call(ctx, uint64(idx), uint64(ptr), uint64(len(args)))
	if err != nil {
		return 0, "", fmt.Errorf("trap: %w", err)
	}
	msg := m.failMsg
	if msg == "" {
		msg = "reducer failed"
	}
	return int32(res[0]), msg, nil
}

// Instance returns the wazero module of a loaded guest.
func (m *Module) Instance() api.Module { return m.inst }

// ---- host imports --------------------------------------------------------

func (h *Host) caller(m api.Module) *Module { return h.byInst[m.Name()] }

func read(m api.Module, ptr, n uint32) ([]byte, bool) {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return bytes.Clone(b), true
}

func (h *Host) table(m api.Module, handle int32, write bool) (*Table, string, int32) {
	if handle < 0 || int(handle) >= len(h.handles) {
		return nil, "", ErrNoTable
	}
	name := h.handles[handle]
	t := h.Tables[name]
	if t == nil {
		return nil, "", ErrNoTable
	}
	own := t.Module == h.caller(m).Name
	if write && !own || !own && !t.Public {
		return nil, "", ErrAccess
	}
	return t, name, OK
}

func (h *Host) event(name string, t *Table, kind fb.Event, old, new []byte) {
	h.events = append(h.events, Event{Module: t.Module, Table: name[len(t.Module)+1:], Kind: kind, Old: old, New: new})
}

func (h *Host) exportHost() {
	i32 := api.ValueTypeI32
	b := h.rt.NewHostModuleBuilder("interstice")
	fn := func(name string, f func(m api.Module, s []uint64), params []api.ValueType, results []api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, s []uint64) {
			f(m, s)
		}), params, results).Export(name)
	}
	ret := func(s []uint64, v int32) { s[0] = uint64(uint32(v)) }
	fn("table", func(m api.Module, s []uint64) {
		nb, ok := read(m, uint32(s[0]), uint32(s[1]))
		if !ok {
			ret(s, ErrBadArgument)
			return
		}
		name := string(nb)
		if !bytes.Contains(nb, []byte(".")) {
			name = h.caller(m).Name + "." + name
		}
		t := h.Tables[name]
		if t == nil {
			ret(s, ErrNoTable)
			return
		}
		if t.Module != h.caller(m).Name && !t.Public {
			ret(s, ErrAccess)
			return
		}
		if i := slices.Index(h.handles, name); i >= 0 {
			ret(s, int32(i))
			return
		}
		h.handles = append(h.handles, name)
		ret(s, int32(len(h.handles)-1))
	}, []api.ValueType{i32, i32}, []api.ValueType{i32})

	write := func(op string) func(m api.Module, s []uint64) {
		return func(m api.Module, s []uint64) {
			t, name, st := h.table(m, int32(s[0]), true)
			if st != OK {
				ret(s, st)
				return
			}
			if uint32(s[2]) > MaxRow {
				ret(s, ErrLimit)
				return
			}
			buf, ok := read(m, uint32(s[1]), uint32(s[2]))
			if !ok {
				ret(s, ErrBadArgument)
				return
			}
			if op == "delete" {
				v, err := row.Decode(buf)
				if err != nil || len(v) != 1 {
					ret(s, ErrBadArgument)
					return
				}
				if err := row.CheckValue(v[0], t.Types[t.PK]); err != nil {
					ret(s, ErrType)
					return
				}
				k, _ := row.Key(v[0])
				old, ok := t.Rows[k]
				if !ok {
					ret(s, ErrNotFound)
					return
				}
				h.undo = append(h.undo, undo{t, k, old})
				delete(t.Rows, k)
				h.event(name, t, fb.EventDelete, old, nil)
				ret(s, OK)
				return
			}
			if _, err := row.Len(buf); err != nil {
				ret(s, ErrBadArgument)
				return
			}
			if err := row.Check(buf, t.Types); err != nil {
				ret(s, ErrType)
				return
			}
			k, err := row.FieldKey(buf, t.PK)
			if err != nil {
				ret(s, ErrType)
				return
			}
			old, exists := t.Rows[k]
			switch {
			case op == "insert" && exists:
				ret(s, ErrDuplicate)
				return
			case op == "update" && !exists:
				ret(s, ErrNotFound)
				return
			}
			h.undo = append(h.undo, undo{t, k, old})
			t.Rows[k] = buf
			if op == "insert" {
				h.event(name, t, fb.EventInsert, nil, buf)
			} else {
				h.event(name, t, fb.EventUpdate, old, buf)
			}
			ret(s, OK)
		}
	}
	fn("insert", write("insert"), []api.ValueType{i32, i32, i32}, []api.ValueType{i32})
	fn("update", write("update"), []api.ValueType{i32, i32, i32}, []api.ValueType{i32})
	fn("delete", write("delete"), []api.ValueType{i32, i32, i32}, []api.ValueType{i32})

	out := func(m api.Module, data []byte, ptr, capacity, lenPtr uint32) int32 {
		if !m.Memory().WriteUint32Le(lenPtr, uint32(len(data))) {
			return ErrBadArgument
		}
		if uint32(len(data)) > capacity {
			return ErrTooSmall
		}
		if !m.Memory().Write(ptr, data) {
			return ErrBadArgument
		}
		return OK
	}
	fn("get", func(m api.Module, s []uint64) {
		t, _, st := h.table(m, int32(s[0]), false)
		if st != OK {
			ret(s, st)
			return
		}
		buf, ok := read(m, uint32(s[1]), uint32(s[2]))
		if !ok {
			ret(s, ErrBadArgument)
			return
		}
		v, err := row.Decode(buf)
		if err != nil || len(v) != 1 {
			ret(s, ErrBadArgument)
			return
		}
		k, err := row.Key(v[0])
		if err != nil {
			ret(s, ErrType)
			return
		}
		r, ok := t.Rows[k]
		if !ok {
			ret(s, ErrNotFound)
			return
		}
		ret(s, out(m, r, uint32(s[3]), uint32(s[4]), uint32(s[5])))
	}, []api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32})
	fn("count", func(m api.Module, s []uint64) {
		t, _, st := h.table(m, int32(s[0]), false)
		if st != OK {
			s[0] = uint64(int64(st))
			return
		}
		s[0] = uint64(len(t.Rows))
	}, []api.ValueType{i32}, []api.ValueType{api.ValueTypeI64})
	fn("scan_open", func(m api.Module, s []uint64) {
		t, name, st := h.table(m, int32(s[0]), false)
		if st != OK {
			ret(s, st)
			return
		}
		h.nextIt++
		h.iters[h.nextIt] = &iter{table: name, keys: slices.Sorted(maps.Keys(t.Rows))}
		ret(s, h.nextIt)
	}, []api.ValueType{i32}, []api.ValueType{i32})
	fn("scan_next", func(m api.Module, s []uint64) {
		it := h.iters[int32(s[0])]
		if it == nil {
			ret(s, ErrBadIterator)
			return
		}
		t := h.Tables[it.table]
		for it.pos < len(it.keys) {
			r, ok := t.Rows[it.keys[it.pos]]
			if !ok {
				it.pos++
				continue
			}
			st := out(m, r, uint32(s[1]), uint32(s[2]), uint32(s[3]))
			if st == OK {
				it.pos++
			}
			ret(s, st)
			return
		}
		ret(s, Done)
	}, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	fn("scan_close", func(m api.Module, s []uint64) {
		if h.iters[int32(s[0])] == nil {
			ret(s, ErrBadIterator)
			return
		}
		delete(h.iters, int32(s[0]))
		ret(s, OK)
	}, []api.ValueType{i32}, []api.ValueType{i32})
	fn("call", func(m api.Module, s []uint64) {
		mod, ok1 := read(m, uint32(s[0]), uint32(s[1]))
		red, ok2 := read(m, uint32(s[2]), uint32(s[3]))
		args, ok3 := read(m, uint32(s[4]), uint32(s[5]))
		if !ok1 || !ok2 || !ok3 {
			ret(s, ErrBadArgument)
			return
		}
		if callee := h.Mods[string(mod)]; callee != nil {
			if idx, ok := callee.reducers[string(red)]; ok {
				var rd fb.ReducerDef
				var p fb.Param
				callee.Schema.Reducers(&rd, idx)
				types := make([]row.Type, rd.ParamsLength())
				for i := range types {
					rd.Params(&p, i)
					types[i] = row.TypeFromFB(p.Type(nil))
				}
				if err := row.Check(args, types); err != nil {
					ret(s, ErrType)
					return
				}
			}
		}
		st, msg, err := h.invoke(context.Background(), string(mod), string(red), args)
		switch {
		case st == ErrNoReducer || st == ErrCycle:
			ret(s, st)
		case err != nil || st != 0:
			if err == nil {
				err = errors.New(msg)
			}
			if h.doomed == nil {
				h.doomed = err
			}
			ret(s, ErrFailed)
		default:
			ret(s, OK)
		}
	}, []api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32})
	fn("log", func(m api.Module, s []uint64) {
		msg, ok := read(m, uint32(s[1]), uint32(s[2]))
		if !ok {
			ret(s, ErrBadArgument)
			return
		}
		h.Logs = append(h.Logs, fmt.Sprintf("%s[%d]: %s", h.caller(m).Name, s[0], msg))
		ret(s, OK)
	}, []api.ValueType{i32, i32, i32}, []api.ValueType{i32})
	fn("fail", func(m api.Module, s []uint64) {
		msg, ok := read(m, uint32(s[0]), uint32(s[1]))
		if !ok {
			ret(s, ErrBadArgument)
			return
		}
		h.caller(m).failMsg = string(msg)
		ret(s, OK)
	}, []api.ValueType{i32, i32}, []api.ValueType{i32})
	fn("abort", func(m api.Module, s []uint64) {
		msg, _ := read(m, uint32(s[0]), uint32(s[1]))
		panic(fmt.Errorf("abort: %s", msg))
	}, []api.ValueType{i32, i32}, nil)
	if _, err := b.Instantiate(h.ctx); err != nil {
		panic(err)
	}
}
