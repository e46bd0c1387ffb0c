package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/interstice/interstice/core/internal/engine"
	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/abi"
	"github.com/interstice/interstice/row"
)

// frame is one reducer invocation on the call stack of a transaction.
type frame struct {
	mod     *module
	inst    *instance
	red     *reducer
	tx      *tx // nil while instantiating or describing
	failMsg string
	hostErr *Error // the last failed host call, the cause of a reducer failure
	aborted bool
	iters   []iterator
	prev    *frame
}

// iterator is a guest scan cursor (re-seeks after the last key returned,
// so writes during a scan are safe and visible in key order).
type iterator struct {
	t       *table
	last    string
	started bool
	open    bool
}

const (
	maxIterators  = 64
	maxMessageLen = 4096
)

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one import of the "interstice" host module (docs/ABI.md):
// its name, its wasm signature and its implementation. The host module is
// built from hostFuncs and a module's imports are checked against it, so
// the two cannot disagree.
type hostFunc struct {
	name            string
	params, results []api.ValueType
	// fn implements an import with one i32 result: it runs for the frame
	// of the calling guest and returns the status (or value) the guest
	// receives. A call with no current frame gets BAD_ARGUMENT without
	// reaching fn.
	fn func(r *Runtime, ctx context.Context, f *frame, stack []uint64) int32
	// raw, set instead of fn, is the whole wazero function, for the
	// imports that do not fit fn's shape (an i64 result; a trap).
	raw func(r *Runtime, ctx context.Context, m api.Module, stack []uint64)
}

// hostFuncs lists the interstice imports (docs/ABI.md).
var hostFuncs = []hostFunc{
	{name: "table", params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hTable},
	{name: "insert", params: []api.ValueType{i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hInsert},
	{name: "update", params: []api.ValueType{i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hUpdate},
	{name: "delete", params: []api.ValueType{i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hDelete},
	{name: "get", params: []api.ValueType{i32, i32, i32, i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hGet},
	{name: "count", params: []api.ValueType{i32}, results: []api.ValueType{i64}, raw: (*Runtime).hCount},
	{name: "scan_open", params: []api.ValueType{i32}, results: []api.ValueType{i32}, fn: (*Runtime).hScanOpen},
	{name: "scan_next", params: []api.ValueType{i32, i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hScanNext},
	{name: "scan_close", params: []api.ValueType{i32}, results: []api.ValueType{i32}, fn: (*Runtime).hScanClose},
	{name: "call", params: []api.ValueType{i32, i32, i32, i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hCall},
	{name: "log", params: []api.ValueType{i32, i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hLog},
	{name: "fail", params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}, fn: (*Runtime).hFail},
	{name: "abort", params: []api.ValueType{i32, i32}, raw: (*Runtime).hAbort},
}

// hostImports is hostFuncs as the engine checks a module's imports
// against them.
func hostImports() []engine.Import {
	out := make([]engine.Import, len(hostFuncs))
	for i, h := range hostFuncs {
		out[i] = engine.Import{Name: h.name, Params: h.params, Results: h.results}
	}
	return out
}

func (r *Runtime) instantiateHost(ctx context.Context) error {
	b := r.eng.Runtime().NewHostModuleBuilder("interstice")
	for i := range hostFuncs {
		h := &hostFuncs[i]
		b.NewFunctionBuilder().WithGoModuleFunction(r.goFunc(h), h.params, h.results).Export(h.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// goFunc is the wazero function of h bound to r: the prologue every
// import shares (the calling guest's frame, BAD_ARGUMENT without one),
// then h.fn, whose status is the i32 result.
func (r *Runtime) goFunc(h *hostFunc) api.GoModuleFunc {
	if raw := h.raw; raw != nil {
		return func(ctx context.Context, m api.Module, stack []uint64) { raw(r, ctx, m, stack) }
	}
	fn := h.fn
	return func(ctx context.Context, m api.Module, stack []uint64) {
		f := r.cur(ctx, m)
		if f == nil {
			ret(stack, abi.StatusBadArgument)
			return
		}
		ret(stack, fn(r, ctx, f, stack))
	}
}

// cur returns the frame of the guest making a host call.
func (r *Runtime) cur(ctx context.Context, m api.Module) *frame {
	if ic, ok := ctx.(*initCtx); ok {
		return ic.f
	}
	if f := r.top; f != nil && f.inst.mod == m {
		return f
	}
	return nil
}

func ret(stack []uint64, st int32) { stack[0] = uint64(uint32(st)) }

// fail records a failed host call in f.hostErr (the cause reported if the
// reducer then fails; f may be nil) and returns its status st.
func (f *frame) fail(st int32, t *table, column string, format string, args ...any) int32 {
	e := &Error{Code: statusCode(st), Msg: fmt.Sprintf(format, args...)}
	if f != nil {
		if f.mod.info != nil {
			e.Module = f.mod.info.Name
		}
		if f.red != nil {
			e.Reducer = f.red.name
		}
		f.hostErr = e
	}
	if t != nil {
		e.Table = t.mod.info.Name + "." + t.name
	}
	e.Column = column
	return st
}

func (f *frame) read(ptr, n uint32) ([]byte, bool) { return f.inst.mem.Read(ptr, n) }

// handle returns the table for a guest handle, resolving it on first use.
func (r *Runtime) handle(f *frame, h uint32) (*handle, int32) {
	m := f.mod
	if int(h) >= len(m.handles) {
		return nil, f.fail(abi.StatusNoTable, nil, "", "invalid table handle %d", h)
	}
	hd := m.handles[h]
	if hd.t == nil {
		if st := r.resolve(f, hd); st != abi.StatusOK {
			return nil, st
		}
	}
	return hd, abi.StatusOK
}

func (r *Runtime) resolve(f *frame, hd *handle) int32 {
	m := f.mod
	modName, tname, qualified := strings.Cut(hd.name, ".")
	if !qualified {
		modName, tname = m.info.Name, hd.name
	}
	if modName == m.info.Name {
		t := m.tableByName[tname]
		if t == nil {
			return f.fail(abi.StatusNoTable, nil, "", "no table %q in module %s", tname, modName)
		}
		hd.t, hd.write = t, true
		return abi.StatusOK
	}
	other := r.modules[modName]
	if other == nil {
		return f.fail(abi.StatusNoTable, nil, "", "no module %q", modName)
	}
	t := other.tableByName[tname]
	if t == nil {
		return f.fail(abi.StatusNoTable, nil, "", "no table %q in module %s", tname, modName)
	}
	if !t.public {
		return f.fail(abi.StatusAccess, t, "", "table is private to module %s", modName)
	}
	hd.t = t
	return abi.StatusOK
}

func (r *Runtime) hTable(_ context.Context, f *frame, stack []uint64) int32 {
	name, ok := f.read(uint32(stack[0]), uint32(stack[1]))
	if !ok || len(name) == 0 || len(name) > 2*maxNameLen+1 {
		return f.fail(abi.StatusBadArgument, nil, "", "table: bad name pointer or length")
	}
	mod := f.mod
	if h, ok := mod.handleByName[string(name)]; ok {
		return h
	}
	hd := &handle{name: string(name)}
	if f.tx != nil { // inside a transaction: resolve now, report errors now
		if st := r.resolve(f, hd); st != abi.StatusOK {
			return st
		}
	} // while initializing, the schema is unknown: resolve on first use
	mod.handles = append(mod.handles, hd)
	h := int32(len(mod.handles) - 1)
	mod.handleByName[hd.name] = h
	return h
}

// rowErr maps a row.Check failure to a status.
func (f *frame) rowErr(err error, t *table, names []string, what string) int32 {
	col := row.Column(err, names)
	if errors.Is(err, row.ErrMalformed) {
		return f.fail(abi.StatusBadArgument, t, col, "%s: %v", what, err)
	}
	return f.fail(abi.StatusType, t, col, "%s: %v", what, err)
}

// writable returns the frame's table for a write, or a status.
func (r *Runtime) writable(f *frame, h uint32) (*table, int32) {
	if f.tx == nil {
		return nil, f.fail(abi.StatusBadArgument, nil, "", "no transaction (called during initialization)")
	}
	hd, st := r.handle(f, h)
	if st != abi.StatusOK {
		return nil, st
	}
	if !hd.write {
		return nil, f.fail(abi.StatusAccess, hd.t, "", "module %s cannot write another module's table", f.mod.info.Name)
	}
	return hd.t, abi.StatusOK
}

// rowArg reads and checks a row for table t and leaves its primary key in
// r.keyBuf.
func (r *Runtime) rowArg(f *frame, t *table, ptr, n uint32) ([]byte, int32) {
	if int64(n) > int64(r.cfg.maxRowSize) {
		return nil, f.fail(abi.StatusLimit, t, "", "row of %d bytes exceeds the limit of %d", n, r.cfg.maxRowSize)
	}
	buf, ok := f.read(ptr, n)
	if !ok {
		return nil, f.fail(abi.StatusBadArgument, t, "", "row pointer %d length %d outside memory", ptr, n)
	}
	key, err := row.CheckKey(r.keyBuf[:0], buf, t.types, t.pk)
	if err != nil {
		return nil, f.rowErr(err, t, t.names, "row")
	}
	r.keyBuf = key
	return buf, abi.StatusOK
}

// keyArg reads a key Row (one value of the primary-key type) into r.keyBuf.
func (r *Runtime) keyArg(f *frame, t *table, ptr, n uint32) ([]byte, int32) {
	if int64(n) > int64(r.cfg.maxRowSize) {
		return nil, f.fail(abi.StatusLimit, t, t.pkField, "key of %d bytes exceeds the limit of %d", n, r.cfg.maxRowSize)
	}
	buf, ok := f.read(ptr, n)
	if !ok {
		return nil, f.fail(abi.StatusBadArgument, t, t.pkField, "key pointer %d length %d outside memory", ptr, n)
	}
	key, err := row.CheckKey(r.keyBuf[:0], buf, []row.Type{t.pkType}, 0)
	if err != nil {
		return nil, f.rowErr(err, t, []string{t.pkField}, "key")
	}
	r.keyBuf = key
	return r.keyBuf, abi.StatusOK
}

// rowWrite decodes the (table, row_ptr, row_len) arguments shared by insert
// and update: a table the caller may write, and the verified row (its
// primary key is left in r.keyBuf).
func (r *Runtime) rowWrite(f *frame, stack []uint64) (*table, []byte, int32) {
	t, st := r.writable(f, uint32(stack[0]))
	if st != abi.StatusOK {
		return nil, nil, st
	}
	buf, st := r.rowArg(f, t, uint32(stack[1]), uint32(stack[2]))
	return t, buf, st
}

func (r *Runtime) hInsert(_ context.Context, f *frame, stack []uint64) int32 {
	t, buf, st := r.rowWrite(f, stack)
	if st != abi.StatusOK {
		return st
	}
	if _, found := f.tx.Get(&t.Table, store.ViewKey(r.keyBuf)); found {
		return f.fail(abi.StatusDuplicateKey, t, t.pkField, "a row with this primary key exists")
	}
	e := store.NewEntry(r.keyBuf, buf)
	f.tx.Put(&t.Table, e, 1, mutation{Op: fb.OpInsert, Module: t.mod.info.Name, Table: t.name, Row: e.Row})
	return abi.StatusOK
}

func (r *Runtime) hUpdate(_ context.Context, f *frame, stack []uint64) int32 {
	t, buf, st := r.rowWrite(f, stack)
	if st != abi.StatusOK {
		return st
	}
	old, found := f.tx.Get(&t.Table, store.ViewKey(r.keyBuf))
	if !found {
		return f.fail(abi.StatusNotFound, t, t.pkField, "update: no row with this primary key")
	}
	e := store.NewEntry(r.keyBuf, buf)
	f.tx.Put(&t.Table, e, 0, mutation{Op: fb.OpUpdate, Module: t.mod.info.Name, Table: t.name, Row: e.Row, OldRow: old})
	return abi.StatusOK
}

func (r *Runtime) hDelete(_ context.Context, f *frame, stack []uint64) int32 {
	t, st := r.writable(f, uint32(stack[0]))
	if st != abi.StatusOK {
		return st
	}
	key, st := r.keyArg(f, t, uint32(stack[1]), uint32(stack[2]))
	if st != abi.StatusOK {
		return st
	}
	old, found := f.tx.Get(&t.Table, store.ViewKey(key))
	if !found {
		return f.fail(abi.StatusNotFound, t, t.pkField, "delete: no row with this primary key")
	}
	f.tx.Put(&t.Table, entry{Key: store.OwnedKey(key)}, -1, mutation{Op: fb.OpDelete, Module: t.mod.info.Name, Table: t.name, OldRow: old})
	return abi.StatusOK
}

// readable returns the frame's table for a read, or a status.
func (r *Runtime) readable(f *frame, h uint32) (*table, int32) {
	if f.tx == nil {
		return nil, f.fail(abi.StatusBadArgument, nil, "", "no transaction (called during initialization)")
	}
	hd, st := r.handle(f, h)
	if st != abi.StatusOK {
		return nil, st
	}
	return hd.t, abi.StatusOK
}

// out writes data to a guest out buffer per docs/ABI.md.
func (f *frame) out(t *table, data []byte, outPtr, outCap, lenPtr uint32) int32 {
	if _, ok := f.read(outPtr, outCap); !ok {
		return f.fail(abi.StatusBadArgument, t, "", "out buffer %d+%d outside memory", outPtr, outCap)
	}
	if !f.inst.mem.WriteUint32Le(lenPtr, uint32(len(data))) {
		return f.fail(abi.StatusBadArgument, t, "", "out length pointer %d outside memory", lenPtr)
	}
	if uint32(len(data)) > outCap {
		return abi.StatusBufferTooSmall
	}
	f.inst.mem.Write(outPtr, data)
	return abi.StatusOK
}

func (r *Runtime) hGet(_ context.Context, f *frame, stack []uint64) int32 {
	t, st := r.readable(f, uint32(stack[0]))
	if st != abi.StatusOK {
		return st
	}
	outPtr, outCap, lenPtr := uint32(stack[3]), uint32(stack[4]), uint32(stack[5])
	if _, ok := f.read(outPtr, outCap); !ok {
		return f.fail(abi.StatusBadArgument, t, "", "out buffer %d+%d outside memory", outPtr, outCap)
	}
	if _, ok := f.read(lenPtr, 4); !ok {
		return f.fail(abi.StatusBadArgument, t, "", "out length pointer %d outside memory", lenPtr)
	}
	key, st := r.keyArg(f, t, uint32(stack[1]), uint32(stack[2]))
	if st != abi.StatusOK {
		return st
	}
	data, found := f.tx.Get(&t.Table, store.ViewKey(key))
	if !found {
		return abi.StatusNotFound
	}
	return f.out(t, data, outPtr, outCap, lenPtr)
}

// hCount is raw: its i64 result is the row count, or a negative status.
func (r *Runtime) hCount(ctx context.Context, m api.Module, stack []uint64) {
	st := int32(abi.StatusBadArgument)
	if f := r.cur(ctx, m); f != nil {
		var t *table
		if t, st = r.readable(f, uint32(stack[0])); st == abi.StatusOK {
			stack[0] = uint64(int64(f.tx.Count(&t.Table)))
			return
		}
	}
	stack[0] = uint64(int64(st))
}

func (r *Runtime) hScanOpen(_ context.Context, f *frame, stack []uint64) int32 {
	t, st := r.readable(f, uint32(stack[0]))
	if st != abi.StatusOK {
		return st
	}
	for i := range f.iters {
		if !f.iters[i].open {
			f.iters[i] = iterator{t: t, open: true}
			return int32(i)
		}
	}
	if len(f.iters) >= maxIterators {
		return f.fail(abi.StatusLimit, t, "", "more than %d open iterators", maxIterators)
	}
	f.iters = append(f.iters, iterator{t: t, open: true})
	return int32(len(f.iters) - 1)
}

func (f *frame) iter(h uint32) *iterator {
	if int(h) >= len(f.iters) || !f.iters[h].open {
		return nil
	}
	return &f.iters[h]
}

func (r *Runtime) hScanNext(_ context.Context, f *frame, stack []uint64) int32 {
	if f.tx == nil {
		return abi.StatusBadArgument
	}
	it := f.iter(uint32(stack[0]))
	if it == nil {
		return f.fail(abi.StatusBadIterator, nil, "", "unknown or closed iterator %d", uint32(stack[0]))
	}
	e, ok := f.tx.Seek(&it.t.Table, it.last, it.started)
	if !ok {
		return abi.StatusDone
	}
	st := f.out(it.t, e.Row, uint32(stack[1]), uint32(stack[2]), uint32(stack[3]))
	if st == abi.StatusOK {
		it.last, it.started = e.Key, true
	}
	return st
}

func (r *Runtime) hScanClose(_ context.Context, f *frame, stack []uint64) int32 {
	it := f.iter(uint32(stack[0]))
	if it == nil {
		return f.fail(abi.StatusBadIterator, nil, "", "unknown or closed iterator %d", uint32(stack[0]))
	}
	*it = iterator{}
	return abi.StatusOK
}

func (r *Runtime) hCall(ctx context.Context, f *frame, stack []uint64) int32 {
	if f.tx == nil {
		return abi.StatusBadArgument
	}
	modName, ok1 := f.read(uint32(stack[0]), uint32(stack[1]))
	redName, ok2 := f.read(uint32(stack[2]), uint32(stack[3]))
	if !ok1 || !ok2 {
		return f.fail(abi.StatusBadArgument, nil, "", "call: module or reducer name outside memory")
	}
	target := r.modules[string(modName)]
	if target == nil {
		return f.fail(abi.StatusNoReducer, nil, "", "call: no module %q", modName)
	}
	red := target.reducerByName[string(redName)]
	if red == nil {
		return f.fail(abi.StatusNoReducer, nil, "", "call: module %s has no reducer %q", target.info.Name, redName)
	}
	if target.onStack {
		return f.fail(abi.StatusCycle, nil, "", "call: %s.%s would re-enter module %s", target.info.Name, red.name, target.info.Name)
	}
	if int64(uint32(stack[5])) > int64(r.cfg.maxArgsSize) {
		return f.fail(abi.StatusLimit, nil, "", "call: arguments of %d bytes exceed the limit of %d", uint32(stack[5]), r.cfg.maxArgsSize)
	}
	args, ok := f.read(uint32(stack[4]), uint32(stack[5]))
	if !ok {
		return f.fail(abi.StatusBadArgument, nil, "", "call: arguments outside memory")
	}
	if err := row.Check(args, red.types); err != nil {
		return f.rowErr(err, nil, red.names, "call "+target.info.Name+"."+red.name+" arguments")
	}
	if err := r.invoke(ctx, red, args, f.tx); err != nil {
		if f.tx.doomed == nil {
			f.tx.doomed = err
		}
		var ce *Error
		if errors.As(err, &ce) {
			f.hostErr = ce
		}
		return abi.StatusReducerFailed
	}
	return abi.StatusOK
}

func (r *Runtime) hLog(_ context.Context, f *frame, stack []uint64) int32 {
	msg, ok := f.read(uint32(stack[1]), uint32(stack[2]))
	if !ok {
		return f.fail(abi.StatusBadArgument, nil, "", "log: message outside memory")
	}
	if r.cfg.logSink != nil {
		name := ""
		if f.mod.info != nil {
			name = f.mod.info.Name
		}
		r.emitLog(name, LogLevel(int32(uint32(stack[0]))), string(msg))
	}
	return abi.StatusOK
}

func (r *Runtime) hFail(_ context.Context, f *frame, stack []uint64) int32 {
	msg, ok := f.read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		return f.fail(abi.StatusBadArgument, nil, "", "fail: message outside memory")
	}
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen]
	}
	f.failMsg = string(msg)
	return abi.StatusOK
}

// errAbort is the panic value of the abort import (wazero turns a host
// panic into a trap of the calling module).
var errAbort = errors.New("core: guest abort")

// hAbort is raw: it traps, with or without a frame, and has no result.
func (r *Runtime) hAbort(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f != nil {
		msg, ok := f.read(uint32(stack[0]), uint32(stack[1]))
		switch {
		case !ok:
			f.failMsg = "abort (message outside memory)"
		case len(msg) > maxMessageLen:
			f.failMsg = string(msg[:maxMessageLen])
		default:
			f.failMsg = string(msg)
		}
		f.aborted = true
	}
	panic(errAbort)
}
