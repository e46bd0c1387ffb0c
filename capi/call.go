package main

// #include "capi_internal.h"
import "C"

import (
	"context"
	"syscall"
	"unsafe"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/row"
)

var emptyRow = row.MustEncode()

// callInput checks the arguments common to every reducer call function
// and returns the runtime, the names and the argument bytes (JSON text, or
// a Row: the empty Row for none).
func callInput(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cu8, n C.size_t, isJSON bool,
	err **C.interstice_error, what string) (o *rtObj, mod, red string, in []byte, rc C.int) {
	o, rc = openRT(p, err, what)
	if rc != eOK {
		return nil, "", "", nil, rc
	}
	mod, ok1 := o.name(module)
	red, ok2 := o.name(reducer)
	if !ok1 || !ok2 {
		return nil, "", "", nil, bad(err, "%s: module or reducer is NULL", what)
	}
	if args == nil && n != 0 {
		return nil, "", "", nil, bad(err, "%s: args is NULL but args_len is %d", what, uint64(n))
	}
	limit := maxArgsLen
	if isJSON {
		limit *= jsonFactor
	}
	if rc := inLen(err, n, limit, what+": args_len"); rc != eOK {
		return nil, "", "", nil, rc
	}
	if o.reentrant() {
		return nil, "", "", nil, failCode(err, eBusy, "%s: %s.%s called from inside a callback (subscription callback, log callback or call done)", what, mod, red)
	}
	switch {
	case n > 0:
		in = goBytes(args, n)
	case !isJSON:
		in = emptyRow
	}
	return o, mod, red, in, eOK
}

func doCall(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cu8, n C.size_t, isJSON bool,
	outLSN *C.uint64_t, outRes **C.char, outResLen *C.size_t, err **C.interstice_error, what string) C.int {
	putNone(unsafe.Pointer(outRes), outResLen)
	if outLSN != nil {
		*outLSN = 0
	}
	o, mod, red, in, rc := callInput(p, module, reducer, args, n, isJSON, err, what)
	if rc != eOK {
		return rc
	}
	var res core.CallResult
	var e error
	if isJSON {
		res, e = o.rt.CallJSON(context.Background(), mod, red, in)
	} else {
		res, e = o.rt.Call(context.Background(), mod, red, in)
	}
	if e != nil {
		return fail(err, e)
	}
	if outLSN != nil {
		*outLSN = C.uint64_t(res.LSN)
	}
	if outRes != nil {
		putBytes(unsafe.Pointer(outRes), outResLen, res.AppendJSON(nil))
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

// asyncDone is the completion of a call queued by interstice_call_async:
// the callback, its user pointer and the runtime (for the BUSY guard).
type asyncDone struct {
	o    *rtObj
	fn   C.interstice_call_done_fn
	user unsafe.Pointer
}

// run calls the C done callback on the runtime's completion thread with
// the outcome; result and error live only during the callback.
func (d *asyncDone) run(res core.CallResult, e error) {
	var cerr *C.interstice_error
	var js unsafe.Pointer
	var n C.size_t
	st := C.int(eOK)
	lsn := C.uint64_t(0)
	if e != nil {
		st = fail(&cerr, e)
	} else {
		lsn = C.uint64_t(res.LSN)
		putBytes(unsafe.Pointer(&js), &n, res.AppendJSON(nil))
	}
	prev := d.o.hookTid.Swap(int64(syscall.Gettid()))
	defer d.o.hookTid.Store(prev)
	defer C.free(js)
	defer interstice_error_free(cerr)
	C.ist_call_done(d.fn, d.user, st, lsn, (*C.char)(js), n, cerr)
}

func doCallAsync(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cu8, n C.size_t, isJSON bool,
	done C.interstice_call_done_fn, user unsafe.Pointer, err **C.interstice_error, what string) C.int {
	if done == nil {
		return bad(err, "%s: done is NULL", what)
	}
	o, mod, red, in, rc := callInput(p, module, reducer, args, n, isJSON, err, what)
	if rc != eOK {
		return rc
	}
	d := &asyncDone{o: o, fn: done, user: user}
	var e error
	if isJSON {
		e = o.rt.CallJSONAsync(context.Background(), mod, red, in, d.run)
	} else {
		e = o.rt.CallAsync(context.Background(), mod, red, in, d.run)
	}
	if e != nil {
		return fail(err, e)
	}
	return eOK
}

//export interstice_call_async
func interstice_call_async(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cu8, n C.size_t,
	done C.interstice_call_done_fn, user unsafe.Pointer, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	return doCallAsync(p, module, reducer, args, n, false, done, user, err, "call_async")
}

//export interstice_call_json_async
func interstice_call_json_async(p *C.interstice_runtime, module, reducer *C.ist_cchar, args *C.ist_cchar, n C.size_t,
	done C.interstice_call_done_fn, user unsafe.Pointer, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	return doCallAsync(p, module, reducer, (*C.ist_cu8)(unsafe.Pointer(args)), n, true, done, user, err, "call_json_async")
}
