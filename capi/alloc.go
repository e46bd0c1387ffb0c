package main

// #include "capi_internal.h"
import "C"

import "unsafe"

//export interstice_free
func interstice_free(p unsafe.Pointer) {
	if p != nil {
		C.free(p)
	}
}

// cCopy returns a C.malloc'ed copy of b followed by a NUL byte (so JSON and
// names are C strings too). The caller frees it with interstice_free.
// It panics if malloc fails (guard turns that into INTERSTICE_E_INTERNAL).
func cCopy(b []byte) unsafe.Pointer {
	p := C.malloc(C.size_t(len(b) + 1))
	if p == nil {
		panic("out of memory")
	}
	if len(b) > 0 {
		C.memcpy(p, unsafe.Pointer(&b[0]), C.size_t(len(b)))
	}
	*(*byte)(unsafe.Add(p, len(b))) = 0
	return p
}

// putBytes stores a C copy of b in *out and its length in *outLen (either
// may be NULL, in which case nothing is allocated for out).
func putBytes(out unsafe.Pointer, outLen *C.size_t, b []byte) {
	if out != nil {
		*(*unsafe.Pointer)(out) = cCopy(b)
	}
	if outLen != nil {
		*outLen = C.size_t(len(b))
	}
}

// putNone stores NULL and 0.
func putNone(out unsafe.Pointer, outLen *C.size_t) {
	if out != nil {
		*(*unsafe.Pointer)(out) = nil
	}
	if outLen != nil {
		*outLen = 0
	}
}

// scratch is a growable C buffer used to hand payloads to callbacks
// without exposing Go memory.
type scratch struct {
	p   unsafe.Pointer
	cap int
}

func (s *scratch) fill(b []byte) unsafe.Pointer {
	if len(b) > s.cap || s.p == nil {
		if s.p != nil {
			C.free(s.p)
		}
		n := max(len(b), 4096)
		s.p = C.malloc(C.size_t(n))
		if s.p == nil {
			panic("out of memory")
		}
		s.cap = n
	}
	if len(b) > 0 {
		C.memcpy(s.p, unsafe.Pointer(&b[0]), C.size_t(len(b)))
	}
	return s.p
}

func (s *scratch) free() {
	if s.p != nil {
		C.free(s.p)
		s.p, s.cap = nil, 0
	}
}
