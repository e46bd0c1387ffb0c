package main

// #include "capi_internal.h"
import "C"

import (
	"unsafe"

	"github.com/interstice/interstice/row"
)

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
