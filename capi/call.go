package main

// #include "capi_internal.h"
import "C"

import (
	"context"
	"strconv"
	"unsafe"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/row"
)

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
