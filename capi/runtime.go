package main

// #include "capi_internal.h"
import "C"

import (
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

// reentrant reports whether the calling thread is inside a callback of o.
func (o *rtObj) reentrant() bool {
	t := o.hookTid.Load()
	return t != 0 && int64(syscall.Gettid()) == t
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
	if fn, user := o.clockFn, o.clockUser; fn != nil {
		cfg = cfg.WithClock(func() time.Time { return time.Unix(0, int64(C.ist_call_clock(fn, user))) })
	}
	if o.compileCache == "" && (o.dataDir == "" || o.recovery == C.INTERSTICE_RECOVER_READ_ONLY) {
		// The header's default: an in-memory cache shared by the process.
		c, err := processCache()
		if err != nil {
			return nil, err
		}
		cfg = cfg.WithCompilationCache(c)
	}
	return core.Open(cfg)
}

var (
	memCacheOnce sync.Once
	memCache     *core.CompilationCache
	memCacheErr  error
)

// processCache is the in-memory compilation cache every runtime of the
// process shares when its options name no cache directory (never closed:
// it lives as long as the library).
func processCache() (*core.CompilationCache, error) {
	memCacheOnce.Do(func() { memCache, memCacheErr = core.NewCompilationCache("") })
	return memCache, memCacheErr
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
