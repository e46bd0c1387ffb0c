package main

// #include "capi_internal.h"
import "C"

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/interstice/interstice/core"
)

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
	clockFn       C.interstice_clock_fn
	clockUser     unsafe.Pointer // C memory owned by the application
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
	// progress_user, version 3 up to log_user; the fields of later versions
	// are not read (they are not there).
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
	if o.version < 4 {
		return r, nil
	}
	r.clockFn, r.clockUser = o.clock, o.clock_user
	return r, nil
}
