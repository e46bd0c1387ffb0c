package main

// #include "capi_internal.h"
import "C"

import (
	"sync"
	"unsafe"

	"github.com/interstice/interstice/core"
)

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
