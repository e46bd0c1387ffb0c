package main

// #include "capi_internal.h"
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"syscall"
	"unsafe"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/persistence"
)

// Status codes, pinned (include/interstice.h "Status codes"): one table
// with core.Code, whose primary classes are the statuses (untyped here so
// that they compare with C ints; TestCoreCodesMapped checks each against
// its core.Code and the header's #define). BUSY is the library's own: a
// re-entrant call from a C callback.
const (
	eOK            = 0
	eBadArgument   = 1
	eNotFound      = 2
	eTrap          = 3
	eTimeout       = 4
	eLimit         = 5
	eSchema        = 6
	eAccess        = 7
	eDuplicateKey  = 8
	eType          = 9
	eClosed        = 10
	eInternal      = 11
	eReducerFailed = 12
	eCycle         = 13
	eUnsupported   = 14
	eIncompatible  = 15
	eInvalidModule = 16
	eCorrupt       = 20
	eTornTail      = 21
	eIO            = 22
	ePoisoned      = 23
	eReadOnly      = 24
	eVersion       = 25
	eCompacted     = 26
	eBusy          = 27
	eLocked        = 28
)

// statusNames are the static strings of interstice_status_str, allocated
// once in C memory and never freed.
var statusNames = func() map[int]*C.char {
	m := map[int]string{
		eOK: "ok", eBadArgument: "bad argument", eNotFound: "not found",
		eTrap: "module trap", eTimeout: "timeout", eLimit: "limit exceeded",
		eSchema: "schema invalid", eAccess: "access denied", eDuplicateKey: "duplicate key",
		eType: "type mismatch", eClosed: "closed handle", eInternal: "internal error",
		eReducerFailed: "reducer failed", eCycle: "call cycle", eUnsupported: "unsupported",
		eIncompatible: "schema incompatible", eInvalidModule: "invalid module",
		eCorrupt: "corrupt log", eTornTail: "torn tail", eIO: "i/o error",
		ePoisoned: "poisoned", eReadOnly: "read-only", eVersion: "unsupported format version",
		eCompacted: "lsn compacted", eBusy: "busy (re-entrant call)", eLocked: "log locked",
	}
	out := make(map[int]*C.char, len(m)+1)
	for k, v := range m {
		out[k] = C.CString(v)
	}
	out[-1] = C.CString("unknown status")
	return out
}()

//export interstice_status_str
func interstice_status_str(code C.int) *C.ist_cchar {
	if s, ok := statusNames[int(code)]; ok {
		return (*C.ist_cchar)(s)
	}
	return (*C.ist_cchar)(statusNames[-1])
}

// statusOf maps a Go error from core or persistence to its status: a core
// error's primary class (core.Code is the status; an extended code's
// class is its Primary). A core INTERNAL error that wraps a persistence or
// file-system error reports the more precise status of its cause: LOCKED,
// CORRUPT, TORN_TAIL, VERSION, IO ...
func statusOf(err error) int {
	if err == nil {
		return eOK
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		if s := coreStatus(ce.Code); s != eInternal {
			return s
		}
		if ce.Err != nil {
			return causeStatus(ce.Err)
		}
		return eInternal
	}
	return causeStatus(err)
}

// coreStatus is the status of a core.Code (eInternal for an unknown one).
func coreStatus(c core.Code) int {
	p := c.Primary()
	if _, ok := statusNames[int(p)]; !ok || p == core.CodeOK {
		return eInternal
	}
	return int(p)
}

// detailOf is interstice_error.detail (pinned, header "Status codes"): an
// extended code itself (100..109), otherwise the runtime's class in the
// numbering detail has carried since 0.1 (legacyDetail), 0 if err is not
// a core error.
func detailOf(err error) int {
	var ce *core.Error
	if !errors.As(err, &ce) {
		return 0
	}
	if ce.Code.Primary() != ce.Code {
		return int(ce.Code)
	}
	if d, ok := legacyDetail[ce.Code]; ok {
		return d
	}
	return int(ce.Code)
}

// legacyDetail is the detail of the classes whose number changed when
// core.Code became the status: detail is pinned, and it carried core's
// own numbering before (1..15 are the same in both). COMPACTED reached C
// through a core INTERNAL error then, hence 11.
var legacyDetail = map[core.Code]int{
	core.CodeReadOnly: 16, core.CodePoisoned: 17,
	core.CodeCorrupt: 18, core.CodeTornTail: 19, core.CodeIO: 20, core.CodeLocked: 21, core.CodeVersion: 22,
	core.CodeCompacted: 11,
}

// messageOf is interstice_error.message for err under status st. A core
// error is its Text, without core's "core: <code>: " prefix, since the
// status names the class (a host prints interstice_status_str(st) and the
// message: "reducer failed: no account "zed" (module bank, reducer
// deposit)"); only a load failure keeps its finer code's name, which the
// status does not say ("bad name: ..." under SCHEMA). Any other error is
// its own text.
func messageOf(err error, st int) string {
	ce, ok := err.(*core.Error)
	if !ok {
		return err.Error()
	}
	t := ce.Text()
	finer := ce.Code.Primary() != ce.Code
	switch {
	case t == "":
		return ce.Code.String()
	case finer:
		return ce.Code.String() + ": " + t
	}
	return t
}

// guestOf is interstice_error.guest_message: the module's own message
// (core.Error.GuestMsg) of a reducer failure or a trap, "" for any other
// error (stored as NULL).
func guestOf(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) && (ce.Code == core.CodeReducerFailed || ce.Code == core.CodeTrap) {
		return ce.GuestMsg
	}
	return ""
}

// causeStatus maps a persistence or operating-system error.
func causeStatus(err error) int {
	switch {
	case errors.Is(err, persistence.ErrCorrupt):
		return eCorrupt
	case errors.Is(err, persistence.ErrTornTail):
		return eTornTail
	case errors.Is(err, persistence.ErrClosed):
		return eClosed
	case errors.Is(err, persistence.ErrPoisoned):
		return ePoisoned
	case errors.Is(err, persistence.ErrReadOnly):
		return eReadOnly
	case errors.Is(err, persistence.ErrVersion):
		return eVersion
	case errors.Is(err, persistence.ErrRecordTooLarge):
		return eLimit
	case errors.Is(err, persistence.ErrBadRecord):
		return eBadArgument
	case errors.Is(err, persistence.ErrLocked):
		return eLocked
	case errors.Is(err, persistence.ErrCompacted):
		return eCompacted
	case errors.Is(err, fs.ErrNotExist):
		return eNotFound
	}
	var pe *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &pe) || errors.As(err, &errno) {
		return eIO
	}
	return eInternal
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
