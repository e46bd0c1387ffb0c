package main

// #include "capi_internal.h"
import "C"

import (
	"fmt"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// A C handle (interstice_log *, interstice_runtime *, interstice_scan *) is
// a cgo.Handle number passed around as an opaque pointer value: C never
// sees a Go pointer, and the garbage collector keeps the object alive
// through the handle table. cgo.Handle numbers are never reused, so a
// closed (deleted) handle is always detected: its lookup panics inside
// cgo, which handleValue turns into INTERSTICE_E_CLOSED.

// closer is implemented by every handle object.
type closer interface {
	kind() string
}

// handleCache is a lock-free direct-mapped cache in front of the cgo.Handle
// table (a sync.Map): a hit costs two loads instead of hashing an
// interface, which matters on the per-call path. An entry is removed
// before its handle is deleted; a lookup racing with a close may still
// return the object, whose own closed flag then refuses the call (as it
// would if the lookup had won the race against cgo.Handle.Delete).
var handleCache [1024]atomic.Pointer[handleEntry]

type handleEntry struct {
	h   uintptr
	obj any
}

// newHandle registers obj and stores its handle in *out.
func newHandle(out unsafe.Pointer, obj closer) cgo.Handle {
	h := cgo.NewHandle(obj)
	handleCache[uintptr(h)%uintptr(len(handleCache))].Store(&handleEntry{h: uintptr(h), obj: obj})
	C.ist_set_handle((*unsafe.Pointer)(out), C.uintptr_t(h))
	return h
}

// clearHandle stores NULL in *out.
func clearHandle(out unsafe.Pointer) {
	if out != nil {
		*(*unsafe.Pointer)(out) = nil
	}
}

// handleValue returns the object behind a handle, or a status and message.
func handleValue(p unsafe.Pointer) (obj any, code int, msg string) {
	if p == nil {
		return nil, eBadArgument, "NULL handle"
	}
	if e := handleCache[uintptr(p)%uintptr(len(handleCache))].Load(); e != nil && e.h == uintptr(p) {
		return e.obj, eOK, ""
	}
	defer func() {
		if r := recover(); r != nil {
			obj, code, msg = nil, eClosed, "handle is closed (or was never a handle)"
		}
	}()
	return cgo.Handle(uintptr(p)).Value(), eOK, ""
}

// lookup returns the object of kind T behind a handle.
func lookup[T closer](p unsafe.Pointer, err **C.interstice_error, what string) (T, C.int) {
	var zero T
	v, code, msg := handleValue(p)
	if code != eOK {
		return zero, C.int(setErr(err, code, fmt.Sprintf("interstice: %s: %s", what, msg)))
	}
	t, ok := v.(T)
	if !ok {
		return zero, C.int(setErr(err, eBadArgument, fmt.Sprintf("interstice: %s: handle is a %s handle", what, v.(closer).kind())))
	}
	return t, eOK
}

// deleteHandle removes a handle from the table (after its object closed).
func deleteHandle(p unsafe.Pointer) {
	slot := &handleCache[uintptr(p)%uintptr(len(handleCache))]
	if e := slot.Load(); e != nil && e.h == uintptr(p) {
		slot.CompareAndSwap(e, nil)
	}
	defer func() { _ = recover() }()
	cgo.Handle(uintptr(p)).Delete()
}
