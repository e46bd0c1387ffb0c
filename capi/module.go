package main

// #include "capi_internal.h"
import "C"

import (
	"encoding/hex"
	"os"
	"unsafe"

	"github.com/interstice/interstice/row"
)

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
