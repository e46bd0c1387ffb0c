package main

// #include "capi_internal.h"
import "C"

import (
	"bytes"
	"math"
	"unsafe"

	"github.com/interstice/interstice/core"
)

// goString copies a NUL-terminated C string; ok is false for NULL.
func goString(p *C.ist_cchar) (string, bool) {
	if p == nil {
		return "", false
	}
	return C.GoString((*C.char)(unsafe.Pointer(p))), true
}

// cBytes views n bytes of C memory as a Go slice, without copying. The
// slice must not outlive the call. n must have passed inLen.
func cBytes(p *C.ist_cu8, n C.size_t) []byte {
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// Length limits of the C API (include/interstice.h, "Lengths"). openRuntime
// keeps core's default row and argument limits, so they are the runtime's.
const (
	maxArgsLen = core.DefaultMaxArgsSize // an encoded argument Row
	maxRowLen  = core.DefaultMaxRowSize  // an encoded row or key Row
	// jsonFactor bounds JSON text by the encoded form's limit: JSON is at
	// most 6 times a Row (a control character escaped as \u00XX).
	jsonFactor = 8
	maxWasmLen = 1 << 30 // a module; core's own module limits apply below it
)

// inLen checks n, the length of an input buffer, before anything converts
// or reads it: above PTRDIFF_MAX no C object is that large (a negative
// length cast to size_t), which is BAD_ARGUMENT; above limit it is LIMIT.
// C.GoBytes (which takes a C int) is never used on a caller's length.
func inLen(err **C.interstice_error, n C.size_t, limit int, what string) C.int {
	if uint64(n) > math.MaxInt64 {
		return bad(err, "%s is %d, larger than any object (a negative length?)", what, uint64(n))
	}
	if uint64(n) > uint64(limit) {
		return failCode(err, eLimit, "%s is %d bytes, the limit is %d", what, uint64(n), limit)
	}
	return eOK
}

// goBytes copies n bytes of C memory (n checked by inLen) to Go memory.
func goBytes(p *C.ist_cu8, n C.size_t) []byte {
	return bytes.Clone(cBytes(p, n))
}

// capLen converts a size_t maximum (0: none) to an int, saturating: a cap
// larger than any int caps nothing.
func capLen(n C.size_t) int {
	if uint64(n) > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}
