/*
 * capi_internal.h — the private cgo preamble of package capi, included by
 * every Go file of the package that uses C. It is not installed and not
 * public API (include/interstice.h is).
 *
 * The ist_c* typedefs exist only to spell the public header's
 * const-qualified parameter types in Go: cgo generates each exported
 * function's prototype from its Go signature, and _cgo_export.c, which
 * also includes this file, must agree with include/interstice.h.
 *
 * The ist_call_* trampolines call C function pointers, which Go cannot
 * call directly. They are static inline, so including this header from
 * several preambles defines no symbol twice.
 */
#ifndef INTERSTICE_CAPI_INTERNAL_H
#define INTERSTICE_CAPI_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "interstice.h"

typedef const char ist_cchar;
typedef const uint8_t ist_cu8;
typedef const size_t ist_csize;
typedef const uint8_t *const ist_cu8p;
typedef const interstice_log_options ist_clogopts;
typedef const interstice_runtime_options ist_crtopts;

/* A handle is a cgo.Handle number stored as an opaque pointer value. */
static inline void ist_set_handle(void **out, uintptr_t h) { *out = (void *)h; }

static inline void ist_call_event(interstice_event_fn fn, void *u, const interstice_event *e) { fn(u, e); }
static inline void ist_call_progress(interstice_progress_fn fn, void *u, int64_t done, int64_t total) { fn(u, done, total); }
static inline void ist_call_log(interstice_log_fn fn, void *u, int32_t level, const char *module, const char *msg, size_t len) { fn(u, level, module, msg, len); }
static inline int64_t ist_call_clock(interstice_clock_fn fn, void *u) { return fn(u); }
static inline void ist_call_done(interstice_call_done_fn fn, void *u, int status, uint64_t lsn, const char *res, size_t len, const interstice_error *e) {
	fn(u, status, lsn, res, len, e);
}
static inline int ist_call_replay(interstice_replay_fn fn, void *u, uint64_t lsn, const void *p, size_t n) {
	return fn(u, lsn, (const uint8_t *)p, n);
}

#endif /* INTERSTICE_CAPI_INTERNAL_H */
