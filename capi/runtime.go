package main

/*
#include <stdlib.h>
#include <string.h>
#include "interstice.h"

typedef const char ist_cchar;
typedef const uint8_t ist_cu8;
typedef const interstice_runtime_options ist_crtopts;

static inline void ist_call_event(interstice_event_fn fn, void *u, const interstice_event *e) { fn(u, e); }
static inline void ist_call_progress(interstice_progress_fn fn, void *u, int64_t done, int64_t total) { fn(u, done, total); }
static inline void ist_call_log(interstice_log_fn fn, void *u, int32_t level, const char *module, const char *msg, size_t len) { fn(u, level, module, msg, len); }
*/
import "C"

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// rtObj is the object behind an interstice_runtime handle.
type rtObj struct {
	rt     *core.Runtime
	opts   runtimeOptions
	closed atomic.Bool

	// hookTid is the OS thread running a host subscription callback (0:
	// none). Callbacks run inside a call, under core's call lock, so a
	// reducer call, load or close from that thread would deadlock: they
	// return INTERSTICE_E_BUSY instead. At most one thread runs callbacks
	// of one runtime at a time.
	hookTid atomic.Int64

	subMu   sync.Mutex
	subs    map[uint64]*subObj
	nextSub uint64

	// names interns module, reducer and table names (an immutable map,
	// replaced on insert), so that a call or read allocates no Go string
	// for them: the hot path stays allocation-free, like a Go caller's.
	names   atomic.Pointer[map[string]string]
	namesMu sync.Mutex
	// hot caches the last name seen at a C address (programs pass the
	// same literals again and again): a hit costs one compare of the
	// bytes, no hashing.
	hot [64]atomic.Pointer[hotName]
}

type hotName struct {
	addr uintptr
	s    string
}

// maxInterned bounds the names cache; names beyond it are copied per call.
const maxInterned = 4096

// name returns the Go string of a NUL-terminated C name, interned; ok is
// false for NULL.
func (o *rtObj) name(p *C.ist_cchar) (string, bool) {
	if p == nil {
		return "", false
	}
	addr := uintptr(unsafe.Pointer(p))
	slot := &o.hot[(addr>>3)&63]
	if h := slot.Load(); h != nil && h.addr == addr && cEqual(unsafe.Pointer(p), h.s) {
		return h.s, true
	}
	s, ok := o.internName(p)
	slot.Store(&hotName{addr: addr, s: s})
	return s, ok
}

// cEqual reports whether the NUL-terminated C string at p is s.
func cEqual(p unsafe.Pointer, s string) bool {
	for i := 0; i < len(s); i++ {
		if *(*byte)(unsafe.Add(p, i)) != s[i] {
			return false
		}
	}
	return *(*byte)(unsafe.Add(p, len(s))) == 0
}

// internName is name's slow path: the interned names map.
func (o *rtObj) internName(p *C.ist_cchar) (string, bool) {
	b := (*byte)(unsafe.Pointer(p))
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(b), n)) != 0 {
		n++
	}
	view := unsafe.String(b, n) // C memory, valid during this call only
	if m := o.names.Load(); m != nil {
		if s, ok := (*m)[view]; ok {
			return s, true
		}
	}
	s := strings.Clone(view) // a copy in Go memory
	o.namesMu.Lock()
	defer o.namesMu.Unlock()
	old := o.names.Load()
	if old != nil && len(*old) >= maxInterned {
		return s, true
	}
	next := make(map[string]string, 1+func() int {
		if old == nil {
			return 0
		}
		return len(*old)
	}())
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[s] = s
	o.names.Store(&next)
	return s, true
}

func (*rtObj) kind() string { return "runtime" }

// subObj is one host subscription.
type subObj struct {
	id     uint64
	cancel func()
	fn     C.interstice_event_fn
	user   unsafe.Pointer // C memory owned by the application
	// mu is held for reading while the callback runs, so that
	// unsubscribe can wait for a running callback before returning.
	mu     sync.RWMutex
	active atomic.Bool
}

// reentrant reports whether the calling thread is inside a callback of o.
func (o *rtObj) reentrant() bool {
	t := o.hookTid.Load()
	return t != 0 && int64(syscall.Gettid()) == t
}

// runtimeOptions holds every option of interstice_runtime_options,
// validated.
type runtimeOptions struct {
	dataDir       string
	sync          int32
	syncInterval  time.Duration
	recovery      int32
	segmentSize   int64
	snapTxns      int
	snapBytes     int64
	keepSnapshots int
	retainSegs    int
	callDeadline  time.Duration
	memoryPages   uint32
	compileCache  string
	progress      C.interstice_progress_fn
	progressUser  unsafe.Pointer // C memory owned by the application
	logFn         C.interstice_log_fn
	logUser       unsafe.Pointer // C memory owned by the application
}

//export interstice_runtime_options_init
func interstice_runtime_options_init(o *C.interstice_runtime_options) {
	if o == nil {
		return
	}
	*o = C.interstice_runtime_options{}
	o.version = C.INTERSTICE_RUNTIME_OPTIONS_VERSION
}

func readRuntimeOptions(o *C.ist_crtopts) (runtimeOptions, error) {
	r := runtimeOptions{callDeadline: core.DefaultCallDeadline, memoryPages: core.DefaultMemoryLimitPages, keepSnapshots: core.DefaultKeepSnapshots}
	if o == nil {
		return r, nil
	}
	// Version 1 is the layout up to compilation_cache_dir, version 2 up to
	// progress_user; the fields of later versions are not read (they are
	// not there).
	if o.version < 1 || o.version > C.INTERSTICE_RUNTIME_OPTIONS_VERSION {
		return r, fmt.Errorf("interstice: runtime options version %d, want 1..%d (call interstice_runtime_options_init)", o.version, C.INTERSTICE_RUNTIME_OPTIONS_VERSION)
	}
	if o.data_dir != nil {
		r.dataDir = C.GoString((*C.char)(unsafe.Pointer(o.data_dir)))
	}
	if o.sync < C.INTERSTICE_SYNC_ALWAYS || o.sync > C.INTERSTICE_SYNC_NONE {
		return r, fmt.Errorf("interstice: runtime options: unknown sync policy %d", o.sync)
	}
	r.syncInterval = time.Duration(o.sync_interval_ms) * time.Millisecond
	if o.recovery < C.INTERSTICE_RECOVER_TRUNCATE_TAIL || o.recovery > C.INTERSTICE_RECOVER_READ_ONLY {
		return r, fmt.Errorf("interstice: runtime options: unknown recovery mode %d", o.recovery)
	}
	if o.segment_size != 0 && (o.segment_size < 1<<10 || o.segment_size > 1<<30) {
		return r, fmt.Errorf("interstice: runtime options: segment size %d outside [1024, 1073741824]", uint64(o.segment_size))
	}
	if o.snapshot_every > 1<<31 {
		return r, fmt.Errorf("interstice: runtime options: snapshot_every %d above 2^31", uint64(o.snapshot_every))
	}
	if o.call_deadline_ms > 24*3600*1000 && o.call_deadline_ms != C.INTERSTICE_DEADLINE_NONE {
		return r, fmt.Errorf("interstice: runtime options: call_deadline_ms %d is more than a day (INTERSTICE_DEADLINE_NONE disables deadlines)", uint64(o.call_deadline_ms))
	}
	if o.memory_limit_pages > 65536 {
		return r, fmt.Errorf("interstice: runtime options: memory_limit_pages %d above 65536", uint32(o.memory_limit_pages))
	}
	r.sync, r.recovery = int32(o.sync), int32(o.recovery)
	r.segmentSize = int64(o.segment_size)
	r.snapTxns = int(o.snapshot_every)
	switch o.call_deadline_ms {
	case 0:
	case C.INTERSTICE_DEADLINE_NONE:
		r.callDeadline = 0
	default:
		r.callDeadline = time.Duration(o.call_deadline_ms) * time.Millisecond
	}
	if o.memory_limit_pages != 0 {
		r.memoryPages = uint32(o.memory_limit_pages)
	}
	if o.compilation_cache_dir != nil {
		r.compileCache = C.GoString((*C.char)(unsafe.Pointer(o.compilation_cache_dir)))
	}
	if o.version < 2 {
		return r, nil
	}
	if o.snapshot_every_bytes > 1<<62 {
		return r, fmt.Errorf("interstice: runtime options: snapshot_every_bytes %d above 2^62", uint64(o.snapshot_every_bytes))
	}
	if o.keep_snapshots > 1<<20 || o.retain_segments > 1<<20 {
		return r, fmt.Errorf("interstice: runtime options: keep_snapshots %d or retain_segments %d above 2^20", uint32(o.keep_snapshots), uint32(o.retain_segments))
	}
	r.snapBytes = int64(o.snapshot_every_bytes)
	if o.keep_snapshots != 0 {
		r.keepSnapshots = int(o.keep_snapshots)
	}
	r.retainSegs = int(o.retain_segments)
	r.progress, r.progressUser = o.progress, o.progress_user
	if o.version < 3 {
		return r, nil
	}
	r.logFn, r.logUser = o.log, o.log_user
	return r, nil
}

// openRuntime maps the options onto core.Config and opens the runtime:
// in memory without a data directory, else durable (the state is rebuilt
// from the directory's snapshots and log before Open returns). obj is the
// handle's object, which the guest log callback marks as re-entered.
func openRuntime(o runtimeOptions, obj *rtObj) (*core.Runtime, error) {
	cfg := core.NewConfig().
		WithCallDeadline(o.callDeadline).
		WithMemoryLimitPages(o.memoryPages).
		WithCompilationCacheDir(o.compileCache).
		WithDataDir(o.dataDir).
		WithSync(persistence.SyncPolicy(o.sync)).
		WithSyncInterval(o.syncInterval).
		WithRecovery(persistence.RecoveryMode(o.recovery)).
		WithSegmentSize(o.segmentSize).
		WithSnapshotEvery(o.snapTxns, o.snapBytes).
		WithKeepSnapshots(o.keepSnapshots).
		WithRetainSegments(o.retainSegs)
	if fn, user := o.progress, o.progressUser; fn != nil {
		// Open runs the replay on this goroutine, which is the C caller's
		// thread: the callback runs there, synchronously.
		cfg = cfg.WithProgress(func(done, total int64) {
			C.ist_call_progress(fn, user, C.int64_t(done), C.int64_t(total))
		})
	}
	if o.logFn != nil {
		cfg = cfg.WithLogSink(obj.logLine)
	}
	return core.Open(cfg)
}

// logLine passes one guest log line to the C log callback. It runs on the
// goroutine (so the C thread) making the call, inside the call: the
// thread is marked as in a callback so that calls from it return BUSY.
func (o *rtObj) logLine(module string, level core.LogLevel, msg string) {
	n := len(module) + 1 + len(msg) + 1
	blk := C.malloc(C.size_t(n))
	if blk == nil {
		panic("out of memory")
	}
	defer C.free(blk)
	b := unsafe.Slice((*byte)(blk), n)
	i := copy(b, module)
	b[i] = 0
	i++
	copy(b[i:], msg)
	b[n-1] = 0
	prev := o.hookTid.Swap(int64(syscall.Gettid()))
	defer o.hookTid.Store(prev)
	C.ist_call_log(o.opts.logFn, o.opts.logUser, C.int32_t(level), (*C.char)(blk),
		(*C.char)(unsafe.Add(blk, i)), C.size_t(len(msg)))
}

//export interstice_runtime_open
func interstice_runtime_open(opts *C.ist_crtopts, out **C.interstice_runtime, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if out == nil {
		return bad(err, "runtime_open: out is NULL")
	}
	*out = nil
	o, e := readRuntimeOptions(opts)
	if e != nil {
		return C.int(setErr(err, eBadArgument, e.Error()))
	}
	obj := &rtObj{opts: o, subs: map[uint64]*subObj{}}
	rt, e := openRuntime(o, obj)
	if e != nil {
		return fail(err, e)
	}
	obj.rt = rt
	newHandle(unsafe.Pointer(out), obj)
	return eOK
}

// openRT resolves a runtime handle that must be open.
func openRT(p *C.interstice_runtime, err **C.interstice_error, what string) (*rtObj, C.int) {
	o, rc := lookup[*rtObj](unsafe.Pointer(p), err, what)
	if rc != eOK {
		return nil, rc
	}
	if o.closed.Load() {
		return nil, failCode(err, eClosed, "%s: runtime is closed", what)
	}
	return o, eOK
}

//export interstice_runtime_close
func interstice_runtime_close(p *C.interstice_runtime, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if p == nil {
		return eOK
	}
	o, rc := lookup[*rtObj](unsafe.Pointer(p), err, "runtime_close")
	if rc != eOK {
		return rc
	}
	if o.reentrant() {
		return failCode(err, eBusy, "runtime_close: called from inside a subscription callback")
	}
	if o.closed.Swap(true) {
		return failCode(err, eClosed, "runtime_close: runtime already closed")
	}
	deleteHandle(unsafe.Pointer(p))
	e := o.rt.Close()
	o.subMu.Lock()
	for id, s := range o.subs {
		s.active.Store(false)
		s.cancel()
		delete(o.subs, id)
	}
	o.subMu.Unlock()
	if e != nil {
		return fail(err, e)
	}
	return eOK
}

//export interstice_runtime_snapshot
func interstice_runtime_snapshot(p *C.interstice_runtime, outLSN *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if outLSN != nil {
		*outLSN = 0
	}
	o, rc := openRT(p, err, "runtime_snapshot")
	if rc != eOK {
		return rc
	}
	if o.reentrant() {
		return failCode(err, eBusy, "runtime_snapshot: called from inside a subscription callback")
	}
	info, e := o.rt.Snapshot()
	if e != nil {
		return fail(err, e)
	}
	if outLSN != nil {
		*outLSN = C.uint64_t(info.LSN)
	}
	return eOK
}

//export interstice_runtime_last_lsn
func interstice_runtime_last_lsn(p *C.interstice_runtime, out *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openRT(p, err, "runtime_last_lsn")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "runtime_last_lsn: out is NULL")
	}
	if o.reentrant() {
		return failCode(err, eBusy, "runtime_last_lsn: called from inside a subscription callback (the event carries its lsn)")
	}
	*out = C.uint64_t(o.rt.LastLSN())
	return eOK
}

//export interstice_runtime_replay_stats
func interstice_runtime_replay_stats(p *C.interstice_runtime, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, rc := openRT(p, err, "runtime_replay_stats")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "runtime_replay_stats: out is NULL")
	}
	st := o.rt.ReplayStats()
	b := append([]byte(`{"durable":`), strconv.FormatBool(o.opts.dataDir != "")...)
	b = append(b, `,"read_only":`...)
	b = strconv.AppendBool(b, o.opts.dataDir != "" && o.opts.recovery == C.INTERSTICE_RECOVER_READ_ONLY)
	b = append(b, `,"snapshot_lsn":`...)
	b = strconv.AppendUint(b, st.SnapshotLSN, 10)
	b = append(b, `,"snapshot_rows":`...)
	b = strconv.AppendInt(b, st.SnapshotRows, 10)
	b = append(b, `,"snapshots_skipped":[`...)
	for i, s := range st.SnapshotsSkipped {
		if i > 0 {
			b = append(b, ',')
		}
		b = row.AppendJSON(b, s)
	}
	b = append(b, `],"records":`...)
	b = strconv.AppendInt(b, st.Records, 10)
	b = append(b, `,"mutations":`...)
	b = strconv.AppendInt(b, st.Mutations, 10)
	b = append(b, `,"last_lsn":`...)
	b = strconv.AppendUint(b, st.LastLSN, 10)
	b = append(b, `,"duration_ns":`...)
	b = strconv.AppendInt(b, int64(st.Duration), 10)
	b = append(b, `,"torn_tail":`...)
	b = strconv.AppendBool(b, st.TornTail)
	b = append(b, `,"last_snapshot_error":`...)
	if e := o.rt.LastSnapshotError(); e != nil {
		b = row.AppendJSON(b, e.Error())
	} else {
		b = append(b, "null"...)
	}
	b = append(b, '}')
	putBytes(unsafe.Pointer(out), outLen, b)
	return eOK
}

//export interstice_runtime_log_stats
func interstice_runtime_log_stats(p *C.interstice_runtime, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, rc := openRT(p, err, "runtime_log_stats")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "runtime_log_stats: out is NULL")
	}
	putBytes(unsafe.Pointer(out), outLen, appendStatsJSON(nil, o.rt.LogStats()))
	return eOK
}

// ---- modules ----

func loadModule(o *rtObj, wasm []byte, outName **C.char, err **C.interstice_error) C.int {
	if outName != nil {
		*outName = nil
	}
	info, e := o.rt.LoadModule(wasm)
	if e != nil {
		return fail(err, e)
	}
	if outName != nil {
		*outName = (*C.char)(cCopy([]byte(info.Name)))
	}
	return eOK
}

//export interstice_module_load
func interstice_module_load(p *C.interstice_runtime, wasm *C.ist_cu8, n C.size_t, outName **C.char, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if outName != nil {
		*outName = nil
	}
	o, rc := openRT(p, err, "module_load")
	if rc != eOK {
		return rc
	}
	if wasm == nil || n == 0 {
		return bad(err, "module_load: wasm is NULL or empty")
	}
	if rc := inLen(err, n, maxWasmLen, "module_load: len"); rc != eOK {
		return rc
	}
	if o.reentrant() {
		return failCode(err, eBusy, "module_load: called from inside a subscription callback")
	}
	return loadModule(o, goBytes(wasm, n), outName, err)
}

//export interstice_module_load_file
func interstice_module_load_file(p *C.interstice_runtime, path *C.ist_cchar, outName **C.char, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if outName != nil {
		*outName = nil
	}
	o, rc := openRT(p, err, "module_load_file")
	if rc != eOK {
		return rc
	}
	name, ok := goString(path)
	if !ok || name == "" {
		return bad(err, "module_load_file: path is NULL or empty")
	}
	if o.reentrant() {
		return failCode(err, eBusy, "module_load_file: called from inside a subscription callback")
	}
	wasm, e := os.ReadFile(name)
	if e != nil {
		return C.int(setErr(err, statusOf(e), "interstice: module_load_file: "+e.Error()))
	}
	return loadModule(o, wasm, outName, err)
}

//export interstice_module_list
func interstice_module_list(p *C.interstice_runtime, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, rc := openRT(p, err, "module_list")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "module_list: out is NULL")
	}
	b := []byte{'['}
	for i, m := range o.rt.Modules() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = row.AppendJSON(b, m.Name)
		b = append(b, `,"version":`...)
		b = row.AppendJSON(b, m.Version)
		b = append(b, `,"wasm_sha256":"`...)
		b = hex.AppendEncode(b, m.WasmSHA256[:])
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	putBytes(unsafe.Pointer(out), outLen, b)
	return eOK
}

//export interstice_module_describe
func interstice_module_describe(p *C.interstice_runtime, module *C.ist_cchar, format C.int, out **C.uint8_t, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, rc := openRT(p, err, "module_describe")
	if rc != eOK {
		return rc
	}
	name, ok := goString(module)
	if !ok || out == nil {
		return bad(err, "module_describe: module or out is NULL")
	}
	if format != C.INTERSTICE_FORMAT_JSON && format != C.INTERSTICE_FORMAT_FLATBUFFERS {
		return bad(err, "module_describe: unknown format %d", int(format))
	}
	if format == C.INTERSTICE_FORMAT_FLATBUFFERS && outLen == nil {
		return bad(err, "module_describe: out_len is NULL (required for FLATBUFFERS: the buffer has no terminator)")
	}
	schema, js, e := o.rt.Describe(name)
	if e != nil {
		return fail(err, e)
	}
	if format == C.INTERSTICE_FORMAT_JSON {
		putBytes(unsafe.Pointer(out), outLen, js)
	} else {
		putBytes(unsafe.Pointer(out), outLen, schema)
	}
	return eOK
}

// ---- calls ----

var emptyRow = row.MustEncode()

func callResultJSON(res core.CallResult) []byte {
	b := append([]byte(`{"lsn":`), strconv.FormatUint(res.LSN, 10)...)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendUint(b, res.Timestamp, 10)
	b = append(b, `,"mutations":`...)
	b = strconv.AppendInt(b, int64(res.Mutations), 10)
	b = append(b, `,"cascade":[`...)
	for i, c := range res.Cascade {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"module":`...)
		b = row.AppendJSON(b, c.Module)
		b = append(b, `,"reducer":`...)
		b = row.AppendJSON(b, c.Reducer)
		b = append(b, `,"depth":`...)
		b = strconv.AppendInt(b, int64(c.Depth), 10)
		b = append(b, `,"lsn":`...)
		b = strconv.AppendUint(b, c.LSN, 10)
		b = append(b, `,"error":`...)
		if c.Err != nil {
			b = row.AppendJSON(b, c.Err.Error())
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
	}
	b = append(b, `],"cascade_error":`...)
	if res.CascadeErr != nil {
		b = row.AppendJSON(b, res.CascadeErr.Error())
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func doCall(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cu8, n C.size_t, isJSON bool,
	outLSN *C.uint64_t, outRes **C.char, outResLen *C.size_t, err **C.interstice_error, what string) C.int {
	putNone(unsafe.Pointer(outRes), outResLen)
	if outLSN != nil {
		*outLSN = 0
	}
	o, rc := openRT(p, err, what)
	if rc != eOK {
		return rc
	}
	mod, ok1 := o.name(module)
	red, ok2 := o.name(reducer)
	if !ok1 || !ok2 {
		return bad(err, "%s: module or reducer is NULL", what)
	}
	if args == nil && n != 0 {
		return bad(err, "%s: args is NULL but args_len is %d", what, uint64(n))
	}
	limit := maxArgsLen
	if isJSON {
		limit *= jsonFactor
	}
	if rc := inLen(err, n, limit, what+": args_len"); rc != eOK {
		return rc
	}
	if o.reentrant() {
		return failCode(err, eBusy, "%s: %s.%s called from inside a subscription callback", what, mod, red)
	}
	var res core.CallResult
	var e error
	if isJSON {
		var js []byte
		if n > 0 {
			js = goBytes(args, n)
		}
		res, e = o.rt.CallJSON(context.Background(), mod, red, js)
	} else {
		buf := emptyRow
		if n > 0 {
			buf = goBytes(args, n)
		}
		res, e = o.rt.Call(context.Background(), mod, red, buf)
	}
	if e != nil {
		return fail(err, e)
	}
	if outLSN != nil {
		*outLSN = C.uint64_t(res.LSN)
	}
	if outRes != nil {
		putBytes(unsafe.Pointer(outRes), outResLen, callResultJSON(res))
	}
	return eOK
}

//export interstice_call
func interstice_call(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cu8, n C.size_t,
	outLSN *C.uint64_t, outRes **C.char, outResLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	return doCall(p, module, reducer, args, n, false, outLSN, outRes, outResLen, err, "call")
}

//export interstice_call_json
func interstice_call_json(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cchar, n C.size_t,
	outLSN *C.uint64_t, outRes **C.char, outResLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	return doCall(p, module, reducer, (*C.ist_cu8)(unsafe.Pointer(args)), n, true, outLSN, outRes, outResLen, err, "call_json")
}

// ---- tables ----

// tableArgs resolves the runtime and the module and table names.
func tableArgs(p *C.interstice_runtime, module, table *C.ist_cchar, err **C.interstice_error, what string) (*rtObj, string, string, C.int) {
	o, rc := openRT(p, err, what)
	if rc != eOK {
		return nil, "", "", rc
	}
	mod, ok1 := o.name(module)
	tab, ok2 := o.name(table)
	if !ok1 || !ok2 {
		return nil, "", "", bad(err, "%s: module or table is NULL", what)
	}
	return o, mod, tab, eOK
}

//export interstice_get
func interstice_get(p *C.interstice_runtime, module, table *C.ist_cchar, key *C.ist_cu8, n C.size_t, out **C.uint8_t, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, mod, tab, rc := tableArgs(p, module, table, err, "get")
	if rc != eOK {
		return rc
	}
	if out == nil || key == nil || n == 0 {
		return bad(err, "get: key or out is NULL, or key_len is 0")
	}
	if rc := inLen(err, n, maxRowLen, "get: key_len"); rc != eOK {
		return rc
	}
	vals, e := row.Decode(cBytes(key, n))
	if e != nil {
		return bad(err, "get: key is not an encoded Row: %v", e)
	}
	if len(vals) != 1 {
		return bad(err, "get: key Row holds %d values, want 1", len(vals))
	}
	buf, found, e := o.rt.Get(mod, tab, vals[0])
	if e != nil {
		return fail(err, e)
	}
	if found {
		putBytes(unsafe.Pointer(out), outLen, buf)
	}
	return eOK
}

//export interstice_get_json
func interstice_get_json(p *C.interstice_runtime, module, table *C.ist_cchar, key *C.ist_cchar, n C.size_t, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, mod, tab, rc := tableArgs(p, module, table, err, "get_json")
	if rc != eOK {
		return rc
	}
	if out == nil || key == nil || n == 0 {
		return bad(err, "get_json: key or out is NULL, or key_len is 0")
	}
	if rc := inLen(err, n, maxRowLen*jsonFactor, "get_json: key_len"); rc != eOK {
		return rc
	}
	js, found, e := o.rt.GetJSON(mod, tab, goBytes((*C.ist_cu8)(unsafe.Pointer(key)), n))
	if e != nil {
		return fail(err, e)
	}
	if found {
		putBytes(unsafe.Pointer(out), outLen, js)
	}
	return eOK
}

//export interstice_count
func interstice_count(p *C.interstice_runtime, module, table *C.ist_cchar, out *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, mod, tab, rc := tableArgs(p, module, table, err, "count")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "count: out is NULL")
	}
	n, e := o.rt.Count(mod, tab)
	if e != nil {
		return fail(err, e)
	}
	*out = C.uint64_t(n)
	return eOK
}

//export interstice_row_to_json
func interstice_row_to_json(p *C.interstice_runtime, module, table *C.ist_cchar, rowp *C.ist_cu8, n C.size_t, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, mod, tab, rc := tableArgs(p, module, table, err, "row_to_json")
	if rc != eOK {
		return rc
	}
	if out == nil || rowp == nil || n == 0 {
		return bad(err, "row_to_json: row or out is NULL, or len is 0")
	}
	if rc := inLen(err, n, maxRowLen, "row_to_json: len"); rc != eOK {
		return rc
	}
	js, e := o.rt.RowJSON(mod, tab, cBytes(rowp, n))
	if e != nil {
		return fail(err, e)
	}
	putBytes(unsafe.Pointer(out), outLen, js)
	return eOK
}

// ---- scan ----

// scanObj is the object behind an interstice_scan handle.
type scanObj struct {
	mu     sync.Mutex
	rt     *rtObj
	mod    string
	tab    string
	sc     *core.Scanner
	json   bool
	closed bool
	// pending is a row read by scan_next_chunk that did not fit in its
	// chunk; it is returned first by the next call.
	pending []byte
}

func (*scanObj) kind() string { return "scan" }

//export interstice_scan_open
func interstice_scan_open(p *C.interstice_runtime, module, table *C.ist_cchar, format C.int, out **C.interstice_scan, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if out == nil {
		return bad(err, "scan_open: out is NULL")
	}
	*out = nil
	o, mod, tab, rc := tableArgs(p, module, table, err, "scan_open")
	if rc != eOK {
		return rc
	}
	if format != C.INTERSTICE_FORMAT_JSON && format != C.INTERSTICE_FORMAT_FLATBUFFERS {
		return bad(err, "scan_open: unknown format %d", int(format))
	}
	sc, e := o.rt.Scan(mod, tab, nil)
	if e != nil {
		return fail(err, e)
	}
	newHandle(unsafe.Pointer(out), &scanObj{rt: o, mod: mod, tab: tab, sc: sc, json: format == C.INTERSTICE_FORMAT_JSON})
	return eOK
}

// peekOrNext returns the pending row, else the next one.
func (s *scanObj) peekOrNext() ([]byte, error) {
	if b := s.pending; b != nil {
		s.pending = nil
		return b, nil
	}
	return s.next()
}

// next returns the next row in the iterator's format, nil at the end.
func (s *scanObj) next() ([]byte, error) {
	if !s.sc.Next() {
		return nil, s.sc.Err()
	}
	r := s.sc.Row()
	if s.json {
		return s.rt.rt.RowJSON(s.mod, s.tab, r)
	}
	return r, nil
}

func openScan(it *C.interstice_scan, err **C.interstice_error, what string) (*scanObj, C.int) {
	s, rc := lookup[*scanObj](unsafe.Pointer(it), err, what)
	if rc != eOK {
		return nil, rc
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, failCode(err, eClosed, "%s: iterator is closed", what)
	}
	if s.rt.closed.Load() {
		s.mu.Unlock()
		return nil, failCode(err, eClosed, "%s: runtime is closed", what)
	}
	return s, eOK
}

//export interstice_scan_next
func interstice_scan_next(it *C.interstice_scan, out **C.uint8_t, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	if out == nil {
		return bad(err, "scan_next: out is NULL")
	}
	s, rc := openScan(it, err, "scan_next")
	if rc != eOK {
		return rc
	}
	defer s.mu.Unlock()
	b, e := s.peekOrNext()
	if e != nil {
		return fail(err, e)
	}
	if b != nil {
		putBytes(unsafe.Pointer(out), outLen, b)
	}
	return eOK
}

//export interstice_scan_next_chunk
func interstice_scan_next_chunk(it *C.interstice_scan, maxRows, maxBytes C.size_t, out **C.uint8_t, outLen *C.size_t, outRows *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	if outRows != nil {
		*outRows = 0
	}
	if out == nil {
		return bad(err, "scan_next_chunk: out is NULL")
	}
	s, rc := openScan(it, err, "scan_next_chunk")
	if rc != eOK {
		return rc
	}
	defer s.mu.Unlock()
	var buf []byte
	rows := 0
	if s.json {
		buf = append(buf, '[')
	}
	rowCap, byteCap := capLen(maxRows), capLen(maxBytes)
	for rowCap == 0 || rows < rowCap {
		// Peek is not available: stop before a row that would overflow by
		// checking after the fact and keeping it for the next chunk.
		b, e := s.peekOrNext()
		if e != nil {
			return fail(err, e)
		}
		if b == nil {
			break
		}
		add := len(b) + 4
		if s.json {
			add = len(b) + 1
		}
		if byteCap != 0 && rows > 0 && len(buf)+add+1 > byteCap {
			s.pending = b
			break
		}
		if s.json {
			if rows > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, b...)
		} else {
			buf = append(buf, byte(len(b)), byte(len(b)>>8), byte(len(b)>>16), byte(len(b)>>24))
			buf = append(buf, b...)
		}
		rows++
	}
	if rows == 0 {
		return eOK
	}
	if s.json {
		buf = append(buf, ']')
	}
	putBytes(unsafe.Pointer(out), outLen, buf)
	if outRows != nil {
		*outRows = C.size_t(rows)
	}
	return eOK
}

//export interstice_scan_close
func interstice_scan_close(it *C.interstice_scan, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if it == nil {
		return eOK
	}
	s, rc := lookup[*scanObj](unsafe.Pointer(it), err, "scan_close")
	if rc != eOK {
		return rc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return failCode(err, eClosed, "scan_close: iterator already closed")
	}
	s.closed = true
	s.sc = nil
	deleteHandle(unsafe.Pointer(it))
	return eOK
}

// ---- subscriptions ----

//export interstice_subscribe
func interstice_subscribe(p *C.interstice_runtime, module, table *C.ist_cchar, events C.uint32_t, fn C.interstice_event_fn, user unsafe.Pointer, outID *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if outID != nil {
		*outID = 0
	}
	o, mod, tab, rc := tableArgs(p, module, table, err, "subscribe")
	if rc != eOK {
		return rc
	}
	if fn == nil {
		return bad(err, "subscribe: callback is NULL")
	}
	if events == 0 || events&^C.INTERSTICE_EVENT_ALL != 0 {
		return bad(err, "subscribe: events mask %#x must be a non-empty combination of INTERSTICE_EVENT_*", uint32(events))
	}
	s := &subObj{fn: fn, user: user}
	s.active.Store(true)
	mask := core.EventMask(0)
	if events&C.INTERSTICE_EVENT_INSERT != 0 {
		mask |= core.EventInsert
	}
	if events&C.INTERSTICE_EVENT_UPDATE != 0 {
		mask |= core.EventUpdate
	}
	if events&C.INTERSTICE_EVENT_DELETE != 0 {
		mask |= core.EventDelete
	}
	cancel, e := o.rt.Subscribe(mod, tab, mask, func(ev core.Event) { o.fire(s, ev) })
	if e != nil {
		return fail(err, e)
	}
	s.cancel = cancel
	o.subMu.Lock()
	o.nextSub++
	s.id = o.nextSub
	o.subs[s.id] = s
	o.subMu.Unlock()
	if outID != nil {
		*outID = C.uint64_t(s.id)
	}
	return eOK
}

// fire delivers one event to a C callback, with every pointer in one C
// block freed after the callback returns.
func (o *rtObj) fire(s *subObj, ev core.Event) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.active.Load() {
		return
	}
	n := len(ev.Module) + 1 + len(ev.Table) + 1 + len(ev.Old) + len(ev.New)
	blk := C.malloc(C.size_t(n))
	if blk == nil {
		panic("out of memory")
	}
	defer C.free(blk)
	b := unsafe.Slice((*byte)(blk), n)
	i := copy(b, ev.Module)
	b[i] = 0
	i++
	tabOff := i
	i += copy(b[i:], ev.Table)
	b[i] = 0
	i++
	var cev C.interstice_event
	cev.op = C.int32_t(ev.Op)
	cev.module = (*C.char)(blk)
	cev.table = (*C.char)(unsafe.Add(blk, tabOff))
	if ev.Old != nil {
		cev.old_row = (*C.uint8_t)(unsafe.Add(blk, i))
		cev.old_len = C.size_t(len(ev.Old))
		i += copy(b[i:], ev.Old)
	}
	if ev.New != nil {
		cev.new_row = (*C.uint8_t)(unsafe.Add(blk, i))
		cev.new_len = C.size_t(len(ev.New))
		copy(b[i:], ev.New)
	}
	cev.lsn = C.uint64_t(ev.LSN)
	cev.timestamp = C.uint64_t(ev.Timestamp)
	prev := o.hookTid.Swap(int64(syscall.Gettid()))
	defer o.hookTid.Store(prev)
	// cev lives on the Go stack; pass a C copy so C holds no Go pointer.
	cp := (*C.interstice_event)(C.malloc(C.size_t(unsafe.Sizeof(cev))))
	if cp == nil {
		panic("out of memory")
	}
	defer C.free(unsafe.Pointer(cp))
	*cp = cev
	C.ist_call_event(s.fn, s.user, cp)
}

//export interstice_unsubscribe
func interstice_unsubscribe(p *C.interstice_runtime, id C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openRT(p, err, "unsubscribe")
	if rc != eOK {
		return rc
	}
	o.subMu.Lock()
	s := o.subs[uint64(id)]
	delete(o.subs, uint64(id))
	o.subMu.Unlock()
	if s == nil {
		return failCode(err, eNotFound, "unsubscribe: no subscription %d", uint64(id))
	}
	s.active.Store(false)
	s.cancel()
	// Wait for a callback running on another thread, unless we are inside
	// a callback ourselves (callbacks of one runtime never run on two
	// threads at once, so none other can be running).
	if !o.reentrant() {
		s.mu.Lock()
		s.mu.Unlock() //nolint:staticcheck // an empty critical section is the wait
	}
	return eOK
}
