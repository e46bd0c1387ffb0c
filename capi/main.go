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
// The prototypes cgo generates must agree with include/interstice.h: every
// preamble includes the private capi_internal.h, which includes the public
// header, so the C compiler rejects any disagreement when it compiles
// _cgo_export.c. capi_internal.h also holds the ist_c* typedefs (the
// header's const-qualified parameter types, spelled for Go) and the
// trampolines that call C callbacks.
//
// The files follow the sections of include/interstice.h:
//
//	version.go    Versions
//	errors.go     Status codes; Errors (interstice_error, guard, fail)
//	alloc.go      Memory (interstice_free, C copies of results)
//	input.go      Lengths (C inputs to Go, checked)
//	handles.go    Handles
//	log.go        Standalone transaction log (logjson.go: its JSON records)
//	options.go    interstice_runtime_options
//	runtime.go    Runtime: open, close, snapshot, stats
//	module.go     Modules
//	call.go       Reducer calls
//	table.go      Tables: get, count, row_to_json
//	scan.go       Tables: scan iterators
//	subscribe.go  Host subscriptions
package main

// #cgo CFLAGS: -I${SRCDIR}/../include
// #include "capi_internal.h"
import "C"

import (
	"os"
	"runtime"
)

func main() {}

// minProcs is the least GOMAXPROCS the library runs with (init).
const minProcs = 4

// init raises GOMAXPROCS to at least minProcs unless the GOMAXPROCS
// environment variable sets it. Every thread of the host that calls in
// needs a P to run Go code, besides the runtime's own goroutines (the
// executor, flusher and completion goroutine of asynchronous calls); with
// as many Ps as cores (Go's default), a calling thread often finds none
// free and waits for one to be handed over. 16 asynchronous calls in
// flight from Node, 5 alternated runs: 25.8k calls/s with 2 Ps (this
// machine's cores), 30.3k with 4. 8 C threads calling synchronously:
// 14.3-15.5k with 2, 15.7-16.0k with 4, within noise.
func init() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
}
