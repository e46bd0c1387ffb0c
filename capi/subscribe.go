package main

// #include "capi_internal.h"
import "C"

import (
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/interstice/interstice/core"
)

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
