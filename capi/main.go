// Command capi is the C ABI of Interstice: built with -buildmode=c-shared
// (build/libinterstice.so) and -buildmode=c-archive (build/libinterstice.a).
// include/interstice.h is its hand-written public header and manual; the
// header cgo generates is an internal build file.
//
// Every exported function:
//   - returns an int status (include/interstice.h "Status codes");
//   - recovers panics into INTERSTICE_E_INTERNAL (guard);
//   - takes handles as cgo.Handle numbers disguised as opaque pointers
//     (handles.go), never Go pointers;
//   - hands out only C.malloc'ed copies (alloc.go);
//   - checks every size_t it is given before converting it (inLen).
//
// The prototypes cgo generates must agree with include/interstice.h: the
// preamble includes the public header, so the C compiler rejects any
// disagreement when it compiles _cgo_export.c. The ist_c* typedefs below
// exist only to spell the header's const-qualified parameter types in Go.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#include <stdlib.h>
#include <string.h>
#include "interstice.h"

typedef const char ist_cchar;
typedef const uint8_t ist_cu8;
typedef const size_t ist_csize;
typedef const uint8_t *const ist_cu8p;
typedef const interstice_log_options ist_clogopts;
typedef const interstice_runtime_options ist_crtopts;
*/
import "C"

import (
	"bytes"
	"fmt"
	"math"
	"runtime/debug"
	"unsafe"

	"github.com/interstice/interstice/core"
)

func main() {}

// Library version. Keep in step with include/interstice.h.
const (
	versionMajor  = 0
	versionMinor  = 1
	versionPatch  = 0
	versionNumber = versionMajor*10000 + versionMinor*100 + versionPatch
	abiVersion    = 1
)

var versionString = C.CString(fmt.Sprintf("%d.%d.%d", versionMajor, versionMinor, versionPatch))

//export interstice_version_number
func interstice_version_number() C.int { return versionNumber }

//export interstice_abi_version
func interstice_abi_version() C.int { return abiVersion }

//export interstice_version_string
func interstice_version_string() *C.ist_cchar { return (*C.ist_cchar)(versionString) }

//export interstice_free
func interstice_free(p unsafe.Pointer) {
	if p != nil {
		C.free(p)
	}
}

//export interstice_error_free
func interstice_error_free(e *C.interstice_error) {
	if e == nil {
		return
	}
	if e.message != nil {
		C.free(unsafe.Pointer(e.message))
	}
	if e.guest_message != nil {
		C.free(unsafe.Pointer(e.guest_message))
	}
	C.free(unsafe.Pointer(e))
}

// guard is deferred first by every exported function that returns a
// status: it turns a panic into INTERSTICE_E_INTERNAL.
func guard(rc *C.int, err **C.interstice_error) {
	if r := recover(); r != nil {
		*rc = C.int(setErr(err, eInternal, fmt.Sprintf("interstice: internal error: panic: %v\n%s", r, debug.Stack())))
	}
}

// begin clears the optional error out-parameter.
func begin(err **C.interstice_error) {
	if err != nil {
		*err = nil
	}
}

// setErr stores a new error in *err (if err is not NULL) and returns code.
func setErr(err **C.interstice_error, code int, msg string) int {
	return setErrDetail(err, code, 0, msg)
}

// setErrDetail is setErr with interstice_error.detail.
func setErrDetail(err **C.interstice_error, code, detail int, msg string) int {
	return setErrFull(err, code, detail, msg, "")
}

// setErrFull is setErrDetail with interstice_error.guest_message (NULL
// when guest is empty).
func setErrFull(err **C.interstice_error, code, detail int, msg, guest string) int {
	if err != nil {
		e := (*C.interstice_error)(C.malloc(C.size_t(unsafe.Sizeof(C.interstice_error{}))))
		if e != nil {
			e.code = C.int(code)
			e.message = C.CString(msg)
			e.detail = C.int(detail)
			e.guest_message = nil
			if guest != "" {
				e.guest_message = C.CString(guest)
			}
			*err = e
		}
	}
	return code
}

// fail converts a Go error to its status and stores it in *err.
func fail(err **C.interstice_error, e error) C.int {
	if err == nil {
		return C.int(statusOf(e))
	}
	st := statusOf(e)
	return C.int(setErrFull(err, st, detailOf(e), messageOf(e, st), guestOf(e)))
}

// bad is a BAD_ARGUMENT failure with a message.
func bad(err **C.interstice_error, format string, args ...any) C.int {
	if err == nil {
		return eBadArgument
	}
	return C.int(setErr(err, eBadArgument, "interstice: "+fmt.Sprintf(format, args...)))
}

// failCode is a failure with an explicit status.
func failCode(err **C.interstice_error, code int, format string, args ...any) C.int {
	if err == nil {
		return C.int(code)
	}
	return C.int(setErr(err, code, "interstice: "+fmt.Sprintf(format, args...)))
}

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
