package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/interstice/interstice/fbs/fb"
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

type hostSig struct{ params, results []api.ValueType }

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostSigs lists the interstice imports (docs/ABI.md).
var hostSigs = map[string]hostSig{
	"table":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"insert":     {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"update":     {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"delete":     {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"get":        {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"count":      {[]api.ValueType{i32}, []api.ValueType{i64}},
	"scan_open":  {[]api.ValueType{i32}, []api.ValueType{i32}},
	"scan_next":  {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	"scan_close": {[]api.ValueType{i32}, []api.ValueType{i32}},
	"call":       {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"log":        {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"fail":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"abort":      {[]api.ValueType{i32, i32}, nil},
}

func (r *Runtime) instantiateHost(ctx context.Context) error {
	b := r.wz.NewHostModuleBuilder("interstice")
	fns := map[string]api.GoModuleFunc{
		"table": r.hTable, "insert": r.hInsert, "update": r.hUpdate, "delete": r.hDelete,
		"get": r.hGet, "count": r.hCount, "scan_open": r.hScanOpen, "scan_next": r.hScanNext,
		"scan_close": r.hScanClose, "call": r.hCall, "log": r.hLog, "fail": r.hFail, "abort": r.hAbort,
	}
	for name, fn := range fns {
		s := hostSigs[name]
		b.NewFunctionBuilder().WithGoModuleFunction(fn, s.params, s.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
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

// hostFail records a failed host call on the frame and returns its status.
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
		return nil, f.fail(stNoTable, nil, "", "invalid table handle %d", h)
	}
	hd := m.handles[h]
	if hd.t == nil {
		if st := r.resolve(f, hd); st != stOK {
			return nil, st
		}
	}
	return hd, stOK
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
			return f.fail(stNoTable, nil, "", "no table %q in module %s", tname, modName)
		}
		hd.t, hd.write = t, true
		return stOK
	}
	other := r.modules[modName]
	if other == nil {
		return f.fail(stNoTable, nil, "", "no module %q", modName)
	}
	t := other.tableByName[tname]
	if t == nil {
		return f.fail(stNoTable, nil, "", "no table %q in module %s", tname, modName)
	}
	if !t.public {
		return f.fail(stAccess, t, "", "table is private to module %s", modName)
	}
	hd.t = t
	return stOK
}

func (r *Runtime) hTable(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	name, ok := f.read(uint32(stack[0]), uint32(stack[1]))
	if !ok || len(name) == 0 || len(name) > 2*maxNameLen+1 {
		ret(stack, f.fail(stBadArgument, nil, "", "table: bad name pointer or length"))
		return
	}
	mod := f.mod
	if h, ok := mod.handleByName[string(name)]; ok {
		ret(stack, h)
		return
	}
	hd := &handle{name: string(name)}
	if f.tx != nil { // inside a transaction: resolve now, report errors now
		if st := r.resolve(f, hd); st != stOK {
			ret(stack, st)
			return
		}
	} // while initializing, the schema is unknown: resolve on first use
	mod.handles = append(mod.handles, hd)
	h := int32(len(mod.handles) - 1)
	mod.handleByName[hd.name] = h
	ret(stack, h)
}

// rowErr maps a row.Check failure to a status.
func (f *frame) rowErr(err error, t *table, names []string, what string) int32 {
	col := errColumn(err, names)
	if errors.Is(err, row.ErrMalformed) {
		return f.fail(stBadArgument, t, col, "%s: %v", what, err)
	}
	return f.fail(stType, t, col, "%s: %v", what, err)
}

// writable returns the frame's table for a write, or a status.
func (r *Runtime) writable(f *frame, h uint32) (*table, int32) {
	if f.tx == nil {
		return nil, f.fail(stBadArgument, nil, "", "no transaction (called during initialization)")
	}
	hd, st := r.handle(f, h)
	if st != stOK {
		return nil, st
	}
	if !hd.write {
		return nil, f.fail(stAccess, hd.t, "", "module %s cannot write another module's table", f.mod.info.Name)
	}
	return hd.t, stOK
}

// rowArg reads and checks a row for table t and leaves its primary key in
// r.keyBuf.
func (r *Runtime) rowArg(f *frame, t *table, ptr, n uint32) ([]byte, int32) {
	if int64(n) > int64(r.cfg.maxRowSize) {
		return nil, f.fail(stLimit, t, "", "row of %d bytes exceeds the limit of %d", n, r.cfg.maxRowSize)
	}
	buf, ok := f.read(ptr, n)
	if !ok {
		return nil, f.fail(stBadArgument, t, "", "row pointer %d length %d outside memory", ptr, n)
	}
	key, err := row.CheckKey(r.keyBuf[:0], buf, t.types, t.pk)
	if err != nil {
		return nil, f.rowErr(err, t, t.names, "row")
	}
	r.keyBuf = key
	return buf, stOK
}

// keyArg reads a key Row (one value of the primary-key type) into r.keyBuf.
func (r *Runtime) keyArg(f *frame, t *table, ptr, n uint32) ([]byte, int32) {
	if int64(n) > int64(r.cfg.maxRowSize) {
		return nil, f.fail(stLimit, t, t.pkField, "key of %d bytes exceeds the limit of %d", n, r.cfg.maxRowSize)
	}
	buf, ok := f.read(ptr, n)
	if !ok {
		return nil, f.fail(stBadArgument, t, t.pkField, "key pointer %d length %d outside memory", ptr, n)
	}
	key, err := row.CheckKey(r.keyBuf[:0], buf, []row.Type{t.pkType}, 0)
	if err != nil {
		return nil, f.rowErr(err, t, []string{t.pkField}, "key")
	}
	r.keyBuf = key
	return r.keyBuf, stOK
}

// rowWrite decodes the (table, row_ptr, row_len) arguments shared by insert
// and update: the current frame, a table the caller may write, and the
// verified row (its primary key is left in r.keyBuf).
func (r *Runtime) rowWrite(ctx context.Context, m api.Module, stack []uint64) (*frame, *table, []byte, int32) {
	f := r.cur(ctx, m)
	if f == nil {
		return nil, nil, nil, stBadArgument
	}
	t, st := r.writable(f, uint32(stack[0]))
	if st != stOK {
		return nil, nil, nil, st
	}
	buf, st := r.rowArg(f, t, uint32(stack[1]), uint32(stack[2]))
	return f, t, buf, st
}

func (r *Runtime) hInsert(ctx context.Context, m api.Module, stack []uint64) {
	f, t, buf, st := r.rowWrite(ctx, m, stack)
	if st != stOK {
		ret(stack, st)
		return
	}
	if _, found := f.tx.get(t, viewKey(r.keyBuf)); found {
		ret(stack, f.fail(stDuplicateKey, t, t.pkField, "a row with this primary key exists"))
		return
	}
	e := newEntry(r.keyBuf, buf)
	f.tx.put(t, e, 1, mutation{Op: fb.OpInsert, Module: t.mod.info.Name, Table: t.name, Row: e.row})
	ret(stack, stOK)
}

func (r *Runtime) hUpdate(ctx context.Context, m api.Module, stack []uint64) {
	f, t, buf, st := r.rowWrite(ctx, m, stack)
	if st != stOK {
		ret(stack, st)
		return
	}
	old, found := f.tx.get(t, viewKey(r.keyBuf))
	if !found {
		ret(stack, f.fail(stNotFound, t, t.pkField, "update: no row with this primary key"))
		return
	}
	e := newEntry(r.keyBuf, buf)
	f.tx.put(t, e, 0, mutation{Op: fb.OpUpdate, Module: t.mod.info.Name, Table: t.name, Row: e.row, OldRow: old})
	ret(stack, stOK)
}

func (r *Runtime) hDelete(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	t, st := r.writable(f, uint32(stack[0]))
	if st != stOK {
		ret(stack, st)
		return
	}
	key, st := r.keyArg(f, t, uint32(stack[1]), uint32(stack[2]))
	if st != stOK {
		ret(stack, st)
		return
	}
	old, found := f.tx.get(t, viewKey(key))
	if !found {
		ret(stack, f.fail(stNotFound, t, t.pkField, "delete: no row with this primary key"))
		return
	}
	f.tx.put(t, entry{key: ownedKey(key)}, -1, mutation{Op: fb.OpDelete, Module: t.mod.info.Name, Table: t.name, OldRow: old})
	ret(stack, stOK)
}

// readable returns the frame's table for a read, or a status.
func (r *Runtime) readable(f *frame, h uint32) (*table, int32) {
	if f.tx == nil {
		return nil, f.fail(stBadArgument, nil, "", "no transaction (called during initialization)")
	}
	hd, st := r.handle(f, h)
	if st != stOK {
		return nil, st
	}
	return hd.t, stOK
}

// out writes data to a guest out buffer per docs/ABI.md.
func (f *frame) out(t *table, data []byte, outPtr, outCap, lenPtr uint32) int32 {
	if _, ok := f.read(outPtr, outCap); !ok {
		return f.fail(stBadArgument, t, "", "out buffer %d+%d outside memory", outPtr, outCap)
	}
	if !f.inst.mem.WriteUint32Le(lenPtr, uint32(len(data))) {
		return f.fail(stBadArgument, t, "", "out length pointer %d outside memory", lenPtr)
	}
	if uint32(len(data)) > outCap {
		return stBufferTooSmall
	}
	f.inst.mem.Write(outPtr, data)
	return stOK
}

func (r *Runtime) hGet(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	t, st := r.readable(f, uint32(stack[0]))
	if st != stOK {
		ret(stack, st)
		return
	}
	outPtr, outCap, lenPtr := uint32(stack[3]), uint32(stack[4]), uint32(stack[5])
	if _, ok := f.read(outPtr, outCap); !ok {
		ret(stack, f.fail(stBadArgument, t, "", "out buffer %d+%d outside memory", outPtr, outCap))
		return
	}
	if _, ok := f.read(lenPtr, 4); !ok {
		ret(stack, f.fail(stBadArgument, t, "", "out length pointer %d outside memory", lenPtr))
		return
	}
	key, st := r.keyArg(f, t, uint32(stack[1]), uint32(stack[2]))
	if st != stOK {
		ret(stack, st)
		return
	}
	data, found := f.tx.get(t, viewKey(key))
	if !found {
		ret(stack, stNotFound)
		return
	}
	ret(stack, f.out(t, data, outPtr, outCap, lenPtr))
}

func (r *Runtime) hCount(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		st := int64(stBadArgument)
		stack[0] = uint64(st)
		return
	}
	t, st := r.readable(f, uint32(stack[0]))
	if st != stOK {
		stack[0] = uint64(int64(st))
		return
	}
	stack[0] = uint64(int64(f.tx.count(t)))
}

func (r *Runtime) hScanOpen(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	t, st := r.readable(f, uint32(stack[0]))
	if st != stOK {
		ret(stack, st)
		return
	}
	for i := range f.iters {
		if !f.iters[i].open {
			f.iters[i] = iterator{t: t, open: true}
			ret(stack, int32(i))
			return
		}
	}
	if len(f.iters) >= maxIterators {
		ret(stack, f.fail(stLimit, t, "", "more than %d open iterators", maxIterators))
		return
	}
	f.iters = append(f.iters, iterator{t: t, open: true})
	ret(stack, int32(len(f.iters)-1))
}

func (f *frame) iter(h uint32) *iterator {
	if int(h) >= len(f.iters) || !f.iters[h].open {
		return nil
	}
	return &f.iters[h]
}

func (r *Runtime) hScanNext(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil || f.tx == nil {
		ret(stack, stBadArgument)
		return
	}
	it := f.iter(uint32(stack[0]))
	if it == nil {
		ret(stack, f.fail(stBadIterator, nil, "", "unknown or closed iterator %d", uint32(stack[0])))
		return
	}
	e, ok := f.tx.seek(it.t, it.last, it.started)
	if !ok {
		ret(stack, stDone)
		return
	}
	st := f.out(it.t, e.row, uint32(stack[1]), uint32(stack[2]), uint32(stack[3]))
	if st == stOK {
		it.last, it.started = e.key, true
	}
	ret(stack, st)
}

func (r *Runtime) hScanClose(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	it := f.iter(uint32(stack[0]))
	if it == nil {
		ret(stack, f.fail(stBadIterator, nil, "", "unknown or closed iterator %d", uint32(stack[0])))
		return
	}
	*it = iterator{}
	ret(stack, stOK)
}

func (r *Runtime) hCall(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil || f.tx == nil {
		ret(stack, stBadArgument)
		return
	}
	modName, ok1 := f.read(uint32(stack[0]), uint32(stack[1]))
	redName, ok2 := f.read(uint32(stack[2]), uint32(stack[3]))
	if !ok1 || !ok2 {
		ret(stack, f.fail(stBadArgument, nil, "", "call: module or reducer name outside memory"))
		return
	}
	target := r.modules[string(modName)]
	if target == nil {
		ret(stack, f.fail(stNoReducer, nil, "", "call: no module %q", modName))
		return
	}
	red := target.reducerByName[string(redName)]
	if red == nil {
		ret(stack, f.fail(stNoReducer, nil, "", "call: module %s has no reducer %q", target.info.Name, redName))
		return
	}
	if target.onStack {
		ret(stack, f.fail(stCycle, nil, "", "call: %s.%s would re-enter module %s", target.info.Name, red.name, target.info.Name))
		return
	}
	if int64(uint32(stack[5])) > int64(r.cfg.maxArgsSize) {
		ret(stack, f.fail(stLimit, nil, "", "call: arguments of %d bytes exceed the limit of %d", uint32(stack[5]), r.cfg.maxArgsSize))
		return
	}
	args, ok := f.read(uint32(stack[4]), uint32(stack[5]))
	if !ok {
		ret(stack, f.fail(stBadArgument, nil, "", "call: arguments outside memory"))
		return
	}
	if err := row.Check(args, red.types); err != nil {
		ret(stack, f.rowErr(err, nil, red.names, "call "+target.info.Name+"."+red.name+" arguments"))
		return
	}
	if err := r.invoke(ctx, red, args, f.tx); err != nil {
		if f.tx.doomed == nil {
			f.tx.doomed = err
		}
		var ce *Error
		if errors.As(err, &ce) {
			f.hostErr = ce
		}
		ret(stack, stReducerFailed)
		return
	}
	ret(stack, stOK)
}

func (r *Runtime) hLog(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	msg, ok := f.read(uint32(stack[1]), uint32(stack[2]))
	if !ok {
		ret(stack, f.fail(stBadArgument, nil, "", "log: message outside memory"))
		return
	}
	if r.cfg.logSink != nil {
		name := ""
		if f.mod.info != nil {
			name = f.mod.info.Name
		}
		r.cfg.logSink(name, LogLevel(int32(uint32(stack[0]))), string(msg))
	}
	ret(stack, stOK)
}

func (r *Runtime) hFail(ctx context.Context, m api.Module, stack []uint64) {
	f := r.cur(ctx, m)
	if f == nil {
		ret(stack, stBadArgument)
		return
	}
	msg, ok := f.read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		ret(stack, f.fail(stBadArgument, nil, "", "fail: message outside memory"))
		return
	}
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen]
	}
	f.failMsg = string(msg)
	ret(stack, stOK)
}

// errAbort is the panic value of the abort import (wazero turns a host
// panic into a trap of the calling module).
var errAbort = errors.New("core: guest abort")

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
