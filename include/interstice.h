/*
 * interstice.h — the C ABI of Interstice, an embeddable, durable,
 * deterministic WebAssembly runtime.
 *
 * This header is the reference manual. Anything not declared here is not
 * public API (in particular cgo's generated _cgo_export.h is an internal
 * build file).
 *
 * ===========================================================================
 * Conventions (they hold for every function unless its block says otherwise)
 * ===========================================================================
 *
 * Status.   Every function that can fail returns an int status:
 *           INTERSTICE_OK (0) or one of the INTERSTICE_E_* codes below.
 *
 * Errors.   Functions that can fail take a last parameter
 *           `interstice_error **err`. It is optional: pass NULL to get the
 *           status only. When it is not NULL, *err is set to NULL on success
 *           and, on failure, to a new interstice_error (code + message) that
 *           the caller releases with interstice_error_free().
 *
 * Handles.  interstice_log, interstice_runtime and interstice_scan are opaque.
 *           A handle value is a cgo.Handle (a number), never an address of
 *           Go or WASM memory. Passing a closed handle returns
 *           INTERSTICE_E_CLOSED; passing a handle of the wrong kind or a
 *           value that was never a handle returns INTERSTICE_E_BAD_ARGUMENT
 *           (or INTERSTICE_E_CLOSED: handle numbers are never reused, so a
 *           stale handle is always detected). Closing twice is harmless: the
 *           second close returns INTERSTICE_E_CLOSED and does nothing.
 *           Closing NULL returns INTERSTICE_OK and does nothing.
 *
 * Memory.   Every buffer or string the library returns is a malloc'ed copy
 *           owned by the caller. Free it with interstice_free() (the one
 *           free for buffers and strings), an error with
 *           interstice_error_free(), a validation report with
 *           interstice_log_report_free(). All frees accept NULL. No returned
 *           pointer points into Go memory or into a module's WASM memory.
 *           Pointers passed to callbacks are valid only during the callback.
 *           Returned strings are NUL-terminated; their length (when an
 *           out_len parameter exists) excludes the NUL.
 *
 * Threads.  Every handle may be used from several threads at once, except an
 *           interstice_scan iterator (one thread at a time; it locks itself,
 *           so concurrent use is safe but serialised). Reducer calls on one
 *           runtime are serialised; reads (get, scan, count) run in parallel
 *           with each other and with calls.
 *
 * Panics.   No Go panic crosses this boundary: every function recovers and
 *           returns INTERSTICE_E_INTERNAL with the panic in the message.
 *
 * Lengths.  Every size_t length of an input buffer is checked before the
 *           library reads the buffer, and is never cut to 32 bits. A length
 *           above PTRDIFF_MAX (no object is that large: typically a
 *           negative value cast to size_t) is INTERSTICE_E_BAD_ARGUMENT; a
 *           length above the function's limit is INTERSTICE_E_LIMIT:
 *             call args_len (a Row)                    1 MiB (the argument limit)
 *             call_json args_len (JSON text)           8 MiB
 *             get key_len, row_to_json len (a Row)     1 MiB (the row limit)
 *             get_json key_len (JSON text)             8 MiB
 *             module_load len                          1 GiB (the module limits
 *                                                      of module_load apply below)
 *             log_append len, log_append_batch lens[i],
 *             record_to_json len                       64 MiB (the record limit)
 *             log_append_json len (JSON text)          512 MiB
 *           A maximum that is not a buffer length (scan_next_chunk's
 *           max_rows and max_bytes) takes any value: one above INT64_MAX
 *           limits nothing.
 *
 * Process rules
 *   - Not fork-safe. The Go runtime does not survive fork(): a child may only
 *     exec(). Open runtimes and logs after fork, never before, and call no
 *     interstice_* function in a child of a process that already did.
 *   - Never dlclose() the library. The Go runtime cannot be unloaded; loading
 *     it with dlopen() once and keeping it is fine.
 *   - The Go runtime installs signal handlers when the library loads. A
 *     signal handler the application installs afterwards must use
 *     SA_ONSTACK (and should chain to the previous handler for SIGSEGV,
 *     SIGBUS, SIGFPE and SIGPIPE), or Go code may crash when the signal
 *     arrives on a Go thread.
 *   - The library runs Go with GOMAXPROCS of at least 4 (Go's default is
 *     the number of CPUs): every calling thread needs one of those slots to
 *     run Go code. The GOMAXPROCS environment variable, when set, wins.
 *   - Static linking (libinterstice.a) also needs -lpthread (see
 *     interstice.pc, Libs.private).
 *
 * Versions: the library follows semantic versioning. INTERSTICE_ABI_VERSION
 * changes only when a binary built against an older header would misbehave
 * with this library (a changed struct layout, a changed signature, a reused
 * status value). A binding should check at load time that
 * interstice_abi_version() == INTERSTICE_ABI_VERSION.
 *
 * History (every change kept ABI version 1: only additions):
 *   0.5.0  A reducer call and every subscriber transaction it triggers
 *          commit as one unit: one batch of records in the log (one
 *          write, one fdatasync), kept whole or cut whole after a crash
 *          (docs/ABI.md, "A cascade commits as one unit"); before, each
 *          was made durable on its own, and a crash could keep a trigger
 *          without its subscribers' effects. interstice_log_append_batch
 *          is all-or-nothing across crashes too. Log segments are written
 *          in format version 2, which marks batches (docs/FORMAT.md,
 *          "Batches"); version 1 logs are still read, and a writable open
 *          starts a version 2 segment after them. Builds before 0.5.0
 *          refuse a version 2 segment with INTERSTICE_E_VERSION.
 *   0.4.0  A call that changes nothing writes no record, costs no
 *          fdatasync and takes no LSN (it returns the last committed
 *          LSN). Transactions carry the wall clock (ns since the Unix
 *          epoch) instead of a logical clock; runtime options version 4
 *          adds the clock callback (interstice_clock_fn). Log segments
 *          over 1 MiB are preallocated 1 MiB at a time (a new data
 *          directory takes about 1 MiB on disk; docs/FORMAT.md). core.Code is the status number (one error table);
 *          interstice_error.detail keeps its values (see Status codes).
 *   0.3.0  interstice_call_async and interstice_call_json_async.
 *          GOMAXPROCS is at least 4 (see Process rules).
 *          Subscription callbacks and a reducer call's guest log lines
 *          run once the call's records are durable (a call that ends
 *          POISONED fires no subscription callback), one call at a time
 *          across threads, in commit order; they used to run during the
 *          call, before its fdatasync.
 *   0.2.0  runtime options version 3 (the guest log callback, log/log_user);
 *          interstice_runtime_log_stats and interstice_log_stats;
 *          interstice_error.guest_message; every size_t input checked
 *          (see "Lengths"); JSON inputs must be exactly one value.
 *   0.1.0  the first release.
 */
#ifndef INTERSTICE_H
#define INTERSTICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* =========================================================================
 * Versions
 * ========================================================================= */

#define INTERSTICE_VERSION_MAJOR 0
#define INTERSTICE_VERSION_MINOR 5
#define INTERSTICE_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH, e.g. 200 for 0.2.0. */
#define INTERSTICE_VERSION_NUMBER \
    (INTERSTICE_VERSION_MAJOR * 10000 + INTERSTICE_VERSION_MINOR * 100 + INTERSTICE_VERSION_PATCH)
#define INTERSTICE_VERSION_STRING "0.5.0"
/** The binary interface version. Bumped on any incompatible change. */
#define INTERSTICE_ABI_VERSION 1

/* -------------------------------------------------------------------------
 * interstice_version_number / interstice_abi_version / interstice_version_string
 *
 * Return the library's INTERSTICE_VERSION_NUMBER, INTERSTICE_ABI_VERSION and
 * INTERSTICE_VERSION_STRING, so a program can check that the library it runs
 * with matches the header it was built with.
 *
 * Returns:  the value; never fails. The string is static: do not free it.
 * Threads:  any thread, any time (no initialisation needed).
 * ------------------------------------------------------------------------- */
int interstice_version_number(void);
int interstice_abi_version(void);
const char *interstice_version_string(void);

/* =========================================================================
 * Status codes
 *
 * Values are pinned: a code never changes meaning. New codes may be added;
 * treat an unknown non-zero code as a failure and print
 * interstice_status_str(code).
 *
 * One table with the Go core package: a core.Code is its status, the same
 * number (core.CodeReadOnly is 24, INTERSTICE_E_READ_ONLY), and the core's
 * extended codes 100..109 report their primary class: 100..102 (invalid
 * wasm, missing export, bad import) INTERSTICE_E_INVALID_MODULE, 103..109
 * (malformed schema, abi version, bad name, duplicate name, unknown type,
 * bad primary key, bad subscription) INTERSTICE_E_SCHEMA. BUSY is the
 * library's own. A core INTERNAL error caused by the log or the file
 * system reports the cause's status instead: LOCKED, CORRUPT, TORN_TAIL,
 * VERSION, COMPACTED, IO, NOT_FOUND.
 *
 * interstice_error.detail is pinned as it was in 0.1 and 0.2: an extended
 * code itself (100..109); 1..15 for the statuses of the same numbers;
 * READ_ONLY 16, POISONED 17, CORRUPT 18, TORN_TAIL 19, IO 20, LOCKED 21,
 * VERSION 22 and COMPACTED 11 when the runtime reported them (core's
 * numbering before it became the status's); 0 for the library's own
 * checks.
 * ========================================================================= */

#define INTERSTICE_OK                 0  /* success */
#define INTERSTICE_E_BAD_ARGUMENT     1  /* NULL/malformed argument, wrong length, bad option, wrong handle kind */
#define INTERSTICE_E_NOT_FOUND        2  /* no such module, reducer, table, subscription or file */
#define INTERSTICE_E_TRAP             3  /* the module trapped (unreachable, bad memory access, guest panic, exit) */
#define INTERSTICE_E_TIMEOUT          4  /* the per-call deadline passed */
#define INTERSTICE_E_LIMIT            5  /* a size, memory, cascade or record-size limit was exceeded */
#define INTERSTICE_E_SCHEMA           6  /* a module's schema (describe) is invalid */
#define INTERSTICE_E_ACCESS           7  /* a module wrote another module's table or read a private one */
#define INTERSTICE_E_DUPLICATE_KEY    8  /* insert of an existing primary key */
#define INTERSTICE_E_TYPE             9  /* a row, key or argument does not match the declared types */
#define INTERSTICE_E_CLOSED          10  /* the handle (or the runtime/log behind it) is closed */
#define INTERSTICE_E_INTERNAL        11  /* a bug: a recovered panic or an unexpected host failure */
#define INTERSTICE_E_REDUCER_FAILED  12  /* the reducer returned an error (its message is in err) */
#define INTERSTICE_E_CYCLE           13  /* a nested call would re-enter a module already on the stack */
#define INTERSTICE_E_UNSUPPORTED     14  /* not supported by this kind of runtime, e.g. a snapshot of an
                                            in-memory runtime */
#define INTERSTICE_E_INCOMPATIBLE    15  /* schema incompatible: conflicts with a loaded module */
#define INTERSTICE_E_INVALID_MODULE  16  /* not valid WebAssembly, or missing exports / bad imports */
#define INTERSTICE_E_CORRUPT         20  /* log corruption (checksum, LSN chain, header): never skipped */
#define INTERSTICE_E_TORN_TAIL       21  /* a torn last record (only under INTERSTICE_RECOVER_STRICT) */
#define INTERSTICE_E_IO              22  /* an operating-system I/O error (open, read, write, fsync) */
#define INTERSTICE_E_POISONED        23  /* a log write/fsync failed: the outcome of the call that hit it
                                            is UNKNOWN (its record may or may not be in the log); the
                                            log refuses writes, a durable runtime refuses calls, loads,
                                            reads and snapshots. Close it, open it again, and compare
                                            interstice_runtime_last_lsn (or read the state) to learn
                                            whether the call happened (docs/RECOVERY.md) */
#define INTERSTICE_E_READ_ONLY       24  /* the log or runtime was opened with INTERSTICE_RECOVER_READ_ONLY */
#define INTERSTICE_E_VERSION         25  /* a segment of an unknown format version */
#define INTERSTICE_E_COMPACTED       26  /* the requested LSN was deleted by retention */
#define INTERSTICE_E_BUSY            27  /* re-entrant call from inside a callback (would deadlock) */
#define INTERSTICE_E_LOCKED          28  /* the log (or data) directory is locked by another open log or
                                            durable runtime, in this or another process */

/* -------------------------------------------------------------------------
 * interstice_status_str
 *
 * Returns a short static English name for a status code, e.g. "not found";
 * "unknown status" for a value that is not a code.
 *
 * Parameters: code IN — any int.
 * Ownership:  static string; never free it.
 * Threads:    any.
 * ------------------------------------------------------------------------- */
const char *interstice_status_str(int code);

/* =========================================================================
 * Errors and memory
 * ========================================================================= */

/** A failure's details. Allocated by the library; free with interstice_error_free. */
typedef struct interstice_error {
    int code;       /* the status returned by the failing call */
    char *message;  /* NUL-terminated, names the problem (module, table, segment, offset ...),
                       each fact once and without the status's own name, which
                       interstice_status_str(code) gives: print both, e.g.
                       "reducer failed: no account "zed" (module bank, reducer deposit)" */
    int detail;     /* the finer reason when the failure came from the runtime (e.g. 105
                       "bad name" under INTERSTICE_E_SCHEMA; "Status codes" pins every
                       value), else 0.
                       Added in 0.1 without an ABI change: the library allocates the
                       struct, so an older program simply does not read it. */
    char *guest_message; /* the module's own words, NUL-terminated, or NULL when the failure
                       did not come from them: for INTERSTICE_E_REDUCER_FAILED the reducer's
                       error (the SDK's returned error, fail or abort), for INTERSTICE_E_TRAP
                       the panic line the module wrote on stderr, if it wrote one. Show it
                       to users as is; message holds it too, followed by where it happened
                       (e.g. message `no account "zed" (module bank, reducer deposit)`,
                       guest_message `no account "zed"`). Owned by the error: freed by
                       interstice_error_free. Added without an ABI change, like detail
                       (appended at the end of a struct the library allocates). */
} interstice_error;

/* -------------------------------------------------------------------------
 * interstice_error_free
 *
 * Frees an error and its strings (message, guest_message).
 *
 * Parameters: err IN — an error from any function, or NULL (no-op).
 * Threads:    any.
 * Restrictions:
 *   - Free each error exactly once.
 * ------------------------------------------------------------------------- */
void interstice_error_free(interstice_error *err);

/* -------------------------------------------------------------------------
 * interstice_free
 *
 * Frees a buffer or string returned by this library (JSON, FlatBuffers
 * bytes, names). Equivalent to free() from the C library the shared object
 * links against; use this function so a program with another allocator
 * stays correct.
 *
 * Parameters: p IN — a returned buffer, or NULL (no-op).
 * Threads:    any.
 * ------------------------------------------------------------------------- */
void interstice_free(void *p);

/* =========================================================================
 * Common options values
 * ========================================================================= */

/* Sync policy: when an appended record (a committed call) reaches disk. */
#define INTERSTICE_SYNC_ALWAYS    0  /* default: fdatasync before returning (group commit) */
#define INTERSTICE_SYNC_INTERVAL  1  /* written at once; fdatasync every sync_interval_ms */
#define INTERSTICE_SYNC_NONE      2  /* written at once; synced only on sync/rotate/close */

/* Recovery mode: what opening does with a damaged log. */
#define INTERSTICE_RECOVER_TRUNCATE_TAIL 0 /* default: cut a torn tail (bytes kept in <segment>.broken) */
#define INTERSTICE_RECOVER_STRICT        1 /* refuse any damage (a torn tail is INTERSTICE_E_TORN_TAIL) */
#define INTERSTICE_RECOVER_READ_ONLY     2 /* never write; appends (and runtime calls, loads and
                                              snapshots) return INTERSTICE_E_READ_ONLY */

/* =========================================================================
 * Standalone transaction log
 *
 * A log is a directory of checksummed, LSN-chained segment files holding
 * one record per transaction. Each record's payload is an encoded
 * interstice.fb.Transaction FlatBuffer (fbs/transaction.fbs). The runtime
 * writes the same format; these functions use it with no runtime.
 * ========================================================================= */

typedef struct interstice_log interstice_log;

#define INTERSTICE_LOG_OPTIONS_VERSION 1

/** Options of interstice_log_open, _validate, _inspect and _repair.
 *  Initialise with interstice_log_options_init, then change fields. */
typedef struct interstice_log_options {
    uint32_t version;          /* INTERSTICE_LOG_OPTIONS_VERSION (set by _init) */
    int32_t sync;              /* INTERSTICE_SYNC_*; default INTERSTICE_SYNC_ALWAYS */
    uint32_t sync_interval_ms; /* fdatasync period under SYNC_INTERVAL; 0 = 100 ms */
    int32_t recovery;          /* INTERSTICE_RECOVER_*; default TRUNCATE_TAIL */
    uint64_t segment_size;     /* bytes before rotation; 0 = 64 MiB; range 1 KiB..1 GiB */
    uint32_t retain_segments;  /* sealed segments kept at least; 0 = never delete any */
} interstice_log_options;

/* -------------------------------------------------------------------------
 * interstice_log_options_init
 *
 * Sets every field of *opts to its default and opts->version to
 * INTERSTICE_LOG_OPTIONS_VERSION.
 *
 * Parameters: opts OUT — must not be NULL (NULL is ignored).
 * Threads:    any.
 * ------------------------------------------------------------------------- */
void interstice_log_options_init(interstice_log_options *opts);

/* -------------------------------------------------------------------------
 * interstice_log_open
 *
 * Opens (creating it if needed) the log in directory dir and recovers it
 * according to opts->recovery: leftover temporary files are removed, every
 * segment header is checked and the last segment is verified frame by
 * frame; a torn tail is cut and its bytes saved to "<segment>.broken".
 *
 * Parameters:
 *   dir  IN  — directory path, NUL-terminated.
 *   opts IN  — options, or NULL for the defaults.
 *   out  OUT — receives the new handle; set to NULL on failure.
 *   err  OUT — optional error.
 * Ownership:  close the handle with interstice_log_close.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT (NULL dir/out, bad option or options
 *             version); LOCKED (another writable log, in this or another
 *             process, has the directory open); CORRUPT; TORN_TAIL (strict
 *             mode); VERSION; IO; INTERNAL.
 * Restrictions:
 *   - One writable log per directory: open takes an exclusive flock on
 *     "<dir>/LOCK" (READ_ONLY mode takes none), released by close.
 * ------------------------------------------------------------------------- */
int interstice_log_open(const char *dir, const interstice_log_options *opts,
                        interstice_log **out, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_close
 *
 * Writes and fdatasyncs queued records, stops background syncing and
 * closes the files. The handle becomes invalid.
 *
 * Parameters: log IN — an open log, or NULL (no-op, returns OK).
 *             err OUT — optional error.
 * Threads:    any; concurrent calls on the same log finish or fail with
 *             INTERSTICE_E_CLOSED.
 * Returns:    OK; CLOSED (already closed: harmless); POISONED (the log had
 *             failed earlier: closed anyway); IO; INTERNAL.
 * ------------------------------------------------------------------------- */
int interstice_log_close(interstice_log *log, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_append
 *
 * Appends one record whose payload is an encoded Transaction FlatBuffer
 * (fbs/transaction.fbs) that carries an lsn field (any value: the log
 * writes the assigned LSN into its copy). Under INTERSTICE_SYNC_ALWAYS it
 * returns only after the record is on disk (fdatasync); concurrent
 * appenders share one write and one fdatasync (group commit).
 *
 * Parameters:
 *   log     IN  — open log.
 *   payload IN  — len bytes; not retained, not modified.
 *   len     IN  — 1 .. 64 MiB.
 *   out_lsn OUT — optional; the record's LSN.
 *   err     OUT — optional error.
 * Threads:    any; many threads may append at once.
 * Returns:    OK; BAD_ARGUMENT (NULL payload, len 0 or above PTRDIFF_MAX, not
 *             a Transaction with an lsn field, or a payload the record
 *             verifier refuses: an offset, vector length or string outside
 *             the payload, which readers would report as corruption);
 *             LIMIT (larger than 64 MiB);
 *             CLOSED; READ_ONLY;
 *             POISONED (an earlier write or fsync failed; the failed fsync
 *             is never retried); CORRUPT (replay found corruption); IO.
 * Restrictions:
 *   - On failure the record must be treated as not committed.
 * ------------------------------------------------------------------------- */
int interstice_log_append(interstice_log *log, const uint8_t *payload, size_t len,
                          uint64_t *out_lsn, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_append_json
 *
 * Convenience: encodes a record given in the JSON form that
 * interstice_record_to_json prints (the "lsn" member is ignored; "kind" is
 * "Reducer", "ModuleLoad", "Migration" or "External", default "External")
 * and appends it like interstice_log_append. Row and argument values are
 * typed by inference: an integer is i64 (u64 above INT64_MAX), a number with
 * a fraction or exponent is f64, then string, bool, null, and arrays are
 * lists. Use FlatBuffers payloads when exact types (u32, f32, bytes)
 * matter.
 *
 * Parameters: log IN; json IN (len bytes, need not be NUL-terminated);
 *             out_lsn OUT optional; err OUT optional.
 * Threads:    any.
 * Returns:    as interstice_log_append, plus BAD_ARGUMENT for invalid JSON
 *             (the message names the member), for anything but JSON
 *             whitespace after the one object, and for len above
 *             PTRDIFF_MAX; LIMIT for len above 512 MiB.
 * ------------------------------------------------------------------------- */
int interstice_log_append_json(interstice_log *log, const char *json, size_t len,
                               uint64_t *out_lsn, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_append_batch
 *
 * Appends count records as consecutive LSNs with one write and one
 * fdatasync, as one batch: either all are acknowledged or the call fails,
 * and after a crash the log holds all of them or none (a batch whose last
 * record did not reach the disk is a torn tail cut whole; no reader ever
 * delivers part of a batch; docs/FORMAT.md, "Batches").
 *
 * Parameters:
 *   log           IN  — open log.
 *   payloads      IN  — count pointers to Transaction FlatBuffers.
 *   lens          IN  — count lengths.
 *   count         IN  — 0 is a no-op (out_first_lsn gets 0).
 *   out_first_lsn OUT — optional; the first record's LSN.
 *   err           OUT — optional error.
 * Threads:    any.
 * Returns:    as interstice_log_append, for each lens[i] too (LIMIT above
 *             64 MiB, BAD_ARGUMENT above PTRDIFF_MAX); BAD_ARGUMENT names the
 *             index of a malformed payload, and is returned for a count
 *             above 2^24 (nothing is appended then).
 * ------------------------------------------------------------------------- */
int interstice_log_append_batch(interstice_log *log, const uint8_t *const *payloads,
                                const size_t *lens, size_t count,
                                uint64_t *out_first_lsn, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_sync / interstice_log_rotate
 *
 * sync: writes and fdatasyncs everything appended so far (useful under
 * SYNC_INTERVAL and SYNC_NONE). rotate: seals the active segment and starts
 * a new one (then applies retention).
 *
 * Parameters: log IN; err OUT optional.
 * Threads:    any.
 * Returns:    OK; CLOSED; READ_ONLY; POISONED; IO; BAD_ARGUMENT (NULL log).
 * ------------------------------------------------------------------------- */
int interstice_log_sync(interstice_log *log, interstice_error **err);
int interstice_log_rotate(interstice_log *log, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_first_lsn / interstice_log_last_lsn
 *
 * Read the LSN of the first record the log holds and of the last
 * acknowledged record (0 when there is none).
 *
 * Parameters: log IN; out OUT (not NULL); err OUT optional.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT; CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_log_first_lsn(interstice_log *log, uint64_t *out, interstice_error **err);
int interstice_log_last_lsn(interstice_log *log, uint64_t *out, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_stats
 *
 * Reads the log's write counters since open, as JSON, in the form of
 * interstice_runtime_log_stats:
 *   {"writes":N,"fdatasyncs":N,"records":N,"gathers":N}
 *
 * Parameters: log IN; out OUT; out_len OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT (NULL log or out); CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_log_stats(interstice_log *log, char **out, size_t *out_len, interstice_error **err);

/** Replay callback. payload (len bytes) is an encoded Transaction valid only
 *  during the call. Return 0 to continue, non-zero to stop the replay. */
typedef int (*interstice_replay_fn)(void *user, uint64_t lsn, const uint8_t *payload, size_t len);

/* -------------------------------------------------------------------------
 * interstice_log_replay
 *
 * Calls fn for every acknowledged record with LSN >= from_lsn, in LSN order,
 * verifying each record's checksum and the LSN chain. from_lsn 0 starts at
 * the first record. Records appended during the replay are not visited.
 *
 * Parameters:
 *   log      IN — open log (any recovery mode, including READ_ONLY).
 *   from_lsn IN — first LSN to visit.
 *   fn       IN — callback, not NULL.
 *   user     IN — passed to fn unchanged.
 *   err      OUT — optional error.
 * Threads:    any; fn runs on the calling thread, synchronously.
 * Returns:    OK (also when fn stopped the replay); BAD_ARGUMENT; CLOSED;
 *             CORRUPT (segment, offset and LSN in the message; sticky: later
 *             appends fail too); COMPACTED; VERSION; IO.
 * Restrictions:
 *   - fn may call read-only functions on this log; it must not close it.
 * ------------------------------------------------------------------------- */
int interstice_log_replay(interstice_log *log, uint64_t from_lsn, interstice_replay_fn fn,
                          void *user, interstice_error **err);

/** The result of interstice_log_validate. Allocated by the library; free
 *  with interstice_log_report_free. Fields may be added at the end. */
typedef struct interstice_log_report {
    uint64_t records;        /* valid records */
    uint64_t bytes;          /* total size of the segment files */
    uint64_t valid_bytes;    /* headers plus valid frames */
    uint64_t first_lsn;      /* first valid record, 0 if none */
    uint64_t last_lsn;       /* last valid record, 0 if none */
    uint32_t segments;       /* number of segment files */
    int32_t  torn_tail;      /* 1 if the last record is torn, else 0 */
    char    *torn_segment;   /* where the torn record is (NULL if none) */
    int64_t  torn_offset;
    uint64_t torn_lsn;
    char    *torn_reason;
    int32_t  problem_code;   /* INTERSTICE_OK, INTERSTICE_E_CORRUPT or INTERSTICE_E_VERSION */
    char    *problem_segment;/* first corruption found (NULL if none); nothing after it was read */
    int64_t  problem_offset;
    uint64_t problem_lsn;    /* the LSN expected at that place */
    char    *problem_reason;
} interstice_log_report;

/* -------------------------------------------------------------------------
 * interstice_log_validate
 *
 * Reads every segment of the log in dir (which must not be open for
 * writing elsewhere in a way that races) and verifies every header,
 * checksum, the LSN chain and every record's FlatBuffer (the same verifier
 * replay uses: a record whose checksum is right but whose offsets or
 * lengths point outside it is corruption, with its segment, offset and LSN). It never writes. Damage is described in the
 * report, not returned as a status.
 *
 * Parameters: dir IN; opts IN (NULL = defaults; only segment options
 *             matter); out OUT — receives the report; err OUT optional.
 * Ownership:  free *out with interstice_log_report_free.
 * Threads:    any.
 * Returns:    OK (even for a damaged log); BAD_ARGUMENT; NOT_FOUND (no such
 *             directory); IO.
 * ------------------------------------------------------------------------- */
int interstice_log_validate(const char *dir, const interstice_log_options *opts,
                            interstice_log_report **out, interstice_error **err);

/* interstice_log_report_free — frees a report and its strings; NULL-safe. */
void interstice_log_report_free(interstice_log_report *report);

/* -------------------------------------------------------------------------
 * interstice_log_inspect
 *
 * Like validate, and also counts records per kind and mutations per module,
 * table and op. Returns a JSON object:
 *   {"segments":[{"name":..,"first_lsn":..,"last_lsn":..,"records":..,
 *     "bytes":..,"data_bytes":..}],"records":N,"bytes":N,"valid_bytes":N,
 *    "first_lsn":N,"last_lsn":N,"torn_tail":bool,"torn":{..}|null,
 *    "problem":{"segment":..,"offset":..,"lsn":..,"reason":..}|null,
 *    "mutations":N,"by_kind":{..},"by_module":{..},"by_table":{..},"by_op":{..}}
 *
 * Parameters: dir IN; opts IN (NULL = defaults); out OUT, out_len OUT
 *             (optional); err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT; NOT_FOUND; IO.
 * ------------------------------------------------------------------------- */
int interstice_log_inspect(const char *dir, const interstice_log_options *opts,
                           char **out, size_t *out_len, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_log_repair
 *
 * The operator's repair of a damaged log in dir, which must not be open. It
 * never discards bytes: a torn tail or everything from a mid-log corruption
 * on is saved to "*.broken" files first, then the log is truncated there.
 * Returns a JSON report:
 *   {"action":"none"|"truncated torn tail"|"truncated at corruption",
 *    "problem":{..}|null,"broken_files":[..],"moved_segments":[..],"last_lsn":N}
 *
 * Parameters: dir IN; opts IN (NULL = defaults); out OUT optional,
 *             out_len OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any (but never while the log is open).
 * Returns:    OK; BAD_ARGUMENT; NOT_FOUND; LOCKED (the log is open);
 *             VERSION (never touched); IO.
 * ------------------------------------------------------------------------- */
int interstice_log_repair(const char *dir, const interstice_log_options *opts,
                          char **out, size_t *out_len, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_record_to_json
 *
 * Renders one record payload (an encoded Transaction) as canonical JSON,
 * the form of `interstice log dump --json` and of tests/vectors:
 *   {"lsn":N,"timestamp":N,"kind":"Reducer","module":"m","reducer":"r",
 *    "args":[..]|null,"mutations":[{"op":"Insert","module":"m","table":"t",
 *    "row":[..]|null,"old_row":[..]|null}],"module_record":{..}}
 *
 * Parameters: payload IN (len bytes); out OUT; out_len OUT optional;
 *             err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT (NULL, empty or malformed payload, len above
 *             PTRDIFF_MAX); LIMIT (len above 64 MiB).
 * ------------------------------------------------------------------------- */
int interstice_record_to_json(const uint8_t *payload, size_t len, char **out, size_t *out_len,
                              interstice_error **err);

/* =========================================================================
 * Runtime
 * ========================================================================= */

typedef struct interstice_runtime interstice_runtime;

#define INTERSTICE_RUNTIME_OPTIONS_VERSION 4

/** call_deadline_ms value that disables deadlines (trusted modules only:
 *  modules are compiled without termination checks, and a guest stuck in a
 *  loop blocks the runtime forever). */
#define INTERSTICE_DEADLINE_NONE UINT64_MAX

/** Replay progress of interstice_runtime_open: bytes of log read so far
 *  and in total. Called on the opening thread, synchronously, during
 *  interstice_runtime_open only; it must not call into the library. */
typedef void (*interstice_progress_fn)(void *user, int64_t done, int64_t total);

/* Levels of a guest log line (docs/ABI.md, host function `log`). */
#define INTERSTICE_LOG_DEBUG 0
#define INTERSTICE_LOG_INFO  1  /* also each line a guest writes to stdout */
#define INTERSTICE_LOG_WARN  2  /* also each line a guest writes to stderr */
#define INTERSTICE_LOG_ERROR 3

/** Guest log callback (runtime option `log`, added in version 3).
 *
 *  Receives each line a module logs (the SDK's ctx.Logf, the `log` host
 *  function) and each line it writes to stdout (level INFO) or stderr
 *  (WARN). level is one of INTERSTICE_LOG_*, or another value a guest
 *  passed (the guest chooses it: treat unknown values as INFO). module is
 *  the module's name ("" while a module's _initialize runs before its
 *  name is known); message is message_len bytes of guest text, not
 *  necessarily UTF-8, NUL-terminated at message_len for convenience.
 *  Both pointers are valid only during the call.
 *
 *  Threads: called synchronously on the thread making the call (inside
 *  interstice_call, interstice_call_json or interstice_module_load).
 *  The lines of a reducer call are delivered after the reducer and its
 *  subscribers ran, before the call returns, in the order they were
 *  written and in turn with the call's subscription events (callbacks of
 *  one runtime never run at once); lines logged while a module loads are
 *  delivered as they are written. A call's lines are delivered even when
 *  the call fails. A reducer call, module load, close, snapshot or
 *  last_lsn on the same runtime from inside it returns INTERSTICE_E_BUSY. Reads (get, scan, count) are allowed. It must not
 *  longjmp or throw out of the library. */
typedef void (*interstice_log_fn)(void *user, int32_t level, const char *module,
                                  const char *message, size_t message_len);

/** Clock (runtime option `clock`, added in version 4).
 *
 *  Returns the time in nanoseconds since the Unix epoch. Each transaction
 *  is stamped with the clock's reading when it starts, made strictly
 *  greater than the previous transaction's; the stamp is recorded in the
 *  log, reported as a call's timestamp, and is what the guest's clocks
 *  read (docs/ABI.md, "Determinism"). Without one the library reads the
 *  system's wall clock. A program that compares logs byte for byte gives
 *  its runtimes the same clock.
 *
 *  Threads: called on the thread that runs the transaction (the caller's
 *  for interstice_call and module loads, the library's executor thread
 *  for interstice_call_async), once per transaction, with the runtime's
 *  calls serialised; it must be fast, must not call into the library, and
 *  must not longjmp or throw out of it. */
typedef int64_t (*interstice_clock_fn)(void *user);

/** Options of interstice_runtime_open. Initialise with
 *  interstice_runtime_options_init, then change fields.
 *
 *  Versions: a program built against version 1 of this struct (which ended
 *  at compilation_cache_dir), version 2 (which ended at progress_user) or
 *  version 3 (which ended at log_user) keeps working: the library reads
 *  only the fields of the version the caller set. Fields marked "durable" apply only
 *  with a data_dir; the snapshot policy without one is BAD_ARGUMENT. */
typedef struct interstice_runtime_options {
    uint32_t version;              /* INTERSTICE_RUNTIME_OPTIONS_VERSION (set by _init) */
    const char *data_dir;          /* data directory; NULL or "" = in memory (nothing written).
                                      Created if missing (except under READ_ONLY). Layout:
                                      log/ (the transaction log), snapshots/, modules/ */
    int32_t sync;                  /* durable: INTERSTICE_SYNC_*; default ALWAYS (a call returns
                                      after its record is fdatasynced; group commit) */
    uint32_t sync_interval_ms;     /* fdatasync period under INTERSTICE_SYNC_INTERVAL;
                                      0 = 100 ms */
    int32_t recovery;              /* durable: INTERSTICE_RECOVER_*; default TRUNCATE_TAIL.
                                      READ_ONLY: the state is rebuilt and readable; calls,
                                      loads and snapshots return INTERSTICE_E_READ_ONLY;
                                      no lock is taken and nothing is written */
    uint64_t segment_size;         /* durable: log segment size; 0 = 64 MiB; 1 KiB..1 GiB */
    uint64_t snapshot_every;       /* durable: snapshot automatically (in the background) after
                                      this many transactions; 0 = no transaction trigger */
    uint64_t call_deadline_ms;     /* wall-clock budget of one transaction; 0 = 5000;
                                      INTERSTICE_DEADLINE_NONE disables it; at most a day */
    uint32_t memory_limit_pages;   /* max 64 KiB pages per module instance; 0 = 256 (16 MiB) */
    const char *compilation_cache_dir; /* directory caching compiled modules; NULL = data_dir/cache
                                          for a durable runtime (not READ_ONLY), else an in-memory
                                          cache shared by the process */
    /* ---- version 2 ---- */
    uint64_t snapshot_every_bytes; /* durable: also snapshot after this many bytes of row data
                                      committed; 0 = no byte trigger */
    uint32_t keep_snapshots;       /* durable: snapshots kept (the newest and older fallbacks;
                                      the log is kept from the oldest); 0 = 2 */
    uint32_t retain_segments;      /* durable: sealed log segments kept at least; older ones a
                                      kept snapshot covers are deleted; 0 = never delete */
    interstice_progress_fn progress; /* optional replay progress callback (NULL = none) */
    void *progress_user;           /* passed to progress unchanged */
    /* ---- version 3 ---- */
    interstice_log_fn log;         /* optional guest log callback (NULL = guest logs are
                                      discarded); see interstice_log_fn */
    void *log_user;                /* passed to log unchanged; must stay valid until the
                                      runtime is closed */
    /* ---- version 4 ---- */
    interstice_clock_fn clock;     /* optional clock of transaction timestamps (NULL = the
                                      system's wall clock); see interstice_clock_fn */
    void *clock_user;              /* passed to clock unchanged; must stay valid until the
                                      runtime is closed */
} interstice_runtime_options;

/* interstice_runtime_options_init — sets defaults and version; NULL ignored. */
void interstice_runtime_options_init(interstice_runtime_options *opts);

/* -------------------------------------------------------------------------
 * interstice_runtime_open
 *
 * Creates a runtime. With no data_dir it keeps its state in memory and
 * writes nothing. With a data_dir it is durable: every reducer call and
 * module load is a record of the log in data_dir, durable (under
 * SYNC_ALWAYS) before the call returns, and opening rebuilds the state
 * from the newest valid snapshot plus the log after it. The rebuild
 * applies the logged row changes only: no WASM runs, no subscription
 * callback fires, nothing is written. Modules come back with the state
 * (do not load them again; loading the same code again is a no-op): each
 * is compiled on its first call from the wasm kept in data_dir/modules.
 *
 * Parameters: opts IN (NULL = defaults, in memory); out OUT — new handle
 *             (NULL on failure); err OUT optional.
 * Ownership:  close with interstice_runtime_close (releases the directory
 *             lock).
 * Threads:    any. opts->progress runs on the calling thread.
 * Returns:    OK;
 *             BAD_ARGUMENT (NULL out, a bad option or options version, the
 *               snapshot policy without a data_dir, a data_dir that cannot
 *               be created);
 *             LOCKED (another durable runtime or writable log has the
 *               directory open, in this or another process);
 *             NOT_FOUND (READ_ONLY and no such data_dir);
 *             CORRUPT (mid-log damage, any mode); TORN_TAIL (STRICT and a
 *               torn last record); VERSION (unknown segment format);
 *             IO; INTERNAL (e.g. a snapshot newer than the log, or a log
 *               that does not reach back to the newest valid snapshot: the
 *               message says what is missing).
 * ------------------------------------------------------------------------- */
int interstice_runtime_open(const interstice_runtime_options *opts, interstice_runtime **out,
                            interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_runtime_close
 *
 * Waits for a running call, releases every module, flushes and closes the
 * log (durable runtime) and releases the handle. Open scan iterators of
 * this runtime then return INTERSTICE_E_CLOSED.
 *
 * Parameters: rt IN — runtime or NULL (no-op, OK); err OUT optional.
 * Threads:    any thread, except from inside a subscription callback
 *             (returns BUSY).
 * Returns:    OK; CLOSED (already closed: harmless); BUSY; IO / INTERNAL
 *             (the log failed to close: the runtime is closed anyway).
 * ------------------------------------------------------------------------- */
int interstice_runtime_close(interstice_runtime *rt, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_runtime_snapshot
 *
 * Writes a snapshot of the whole state at the last committed LSN to
 * data_dir/snapshots (after that LSN is durable), prunes old snapshots to
 * keep_snapshots and lets log retention delete segments the oldest kept
 * snapshot covers. Calls continue while it writes. With nothing committed
 * since the last snapshot it writes nothing and returns that LSN.
 *
 * Parameters: rt IN; out_lsn OUT optional (the LSN the snapshot covers; 0
 *             when nothing was ever committed); err OUT optional.
 * Threads:    any, except from inside a subscription callback (BUSY).
 * Returns:    OK; BAD_ARGUMENT (NULL rt); CLOSED; UNSUPPORTED (in-memory
 *             runtime); READ_ONLY; POISONED; BUSY; IO; INTERNAL.
 * ------------------------------------------------------------------------- */
int interstice_runtime_snapshot(interstice_runtime *rt, uint64_t *out_lsn, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_runtime_last_lsn
 *
 * Reads the LSN of the last committed transaction (reducer call or module
 * load; after a reopen, the last one rebuilt). 0 when none. An in-memory
 * runtime numbers its transactions too. For a durable runtime it is the
 * last LSN the log acknowledged: after POISONED, the last one acknowledged
 * before the failure (a record whose write or fsync failed is not
 * counted; after a reopen it is counted if it turned out to be in the
 * log, which is how a caller learns the outcome of a POISONED call).
 *
 * Parameters: rt IN; out OUT (not NULL); err OUT optional.
 * Threads:    any, except from inside a subscription callback (BUSY: the
 *             event carries its LSN).
 * Returns:    OK; BAD_ARGUMENT; CLOSED; BUSY.
 * ------------------------------------------------------------------------- */
int interstice_runtime_last_lsn(interstice_runtime *rt, uint64_t *out, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_runtime_replay_stats
 *
 * Describes what interstice_runtime_open did to rebuild the state, as a
 * JSON object (all zero / empty for an in-memory runtime):
 *   {"durable":bool,"read_only":bool,"snapshot_lsn":N,"snapshot_rows":N,
 *    "snapshots_skipped":[".."],"records":N,"mutations":N,"last_lsn":N,
 *    "duration_ns":N,"torn_tail":bool,"last_snapshot_error":null|".."}
 * snapshot_lsn: the snapshot loaded (0: none); snapshots_skipped: damaged
 * snapshots passed over; records / mutations: replayed from the log after
 * it; torn_tail: READ_ONLY left a torn last record unread;
 * last_snapshot_error: the last failed automatic snapshot (null if none).
 *
 * Parameters: rt IN; out OUT; out_len OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT; CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_runtime_replay_stats(interstice_runtime *rt, char **out, size_t *out_len,
                                    interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_runtime_log_stats
 *
 * Reads the write counters of the runtime's transaction log since open, as
 * a JSON object (all zero for an in-memory runtime):
 *   {"writes":N,"fdatasyncs":N,"records":N,"gathers":N}
 * writes: flushes of queued records (one write(2) each); fdatasyncs: the
 * syncs among them; records: records they acknowledged (records/writes is
 * the mean group-commit batch); gathers: writes whose leader first waited
 * for concurrent callers to queue. Added in 0.2 without an ABI change.
 *
 * Parameters: rt IN; out OUT; out_len OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT (NULL rt or out); CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_runtime_log_stats(interstice_runtime *rt, char **out, size_t *out_len,
                                 interstice_error **err);

/* =========================================================================
 * Modules
 * ========================================================================= */

/* -------------------------------------------------------------------------
 * interstice_module_load / interstice_module_load_file
 *
 * Compiles, instantiates and registers a module (from wasm bytes, or from a
 * file), validates its schema, and commits a ModuleLoad transaction.
 * Loading the same name, version and code again is a no-op. Loading
 * another version of a loaded module upgrades it, migrating its tables
 * (docs/MIGRATIONS.md: added columns get their declared defaults). A
 * durable runtime first stores the wasm in data_dir/modules, so a reopen
 * needs no load.
 *
 * Parameters:
 *   rt       IN  — runtime.
 *   wasm,len IN  — the module bytes (copied). / path IN — a file path.
 *   out_name OUT — optional; the module's name (free with interstice_free).
 *   err      OUT — optional error.
 * Threads:    any; loads are serialised with calls.
 * Returns:    OK; BAD_ARGUMENT (NULL, len 0); NOT_FOUND / IO (path);
 *             INVALID_MODULE (not WebAssembly, missing exports, bad imports);
 *             SCHEMA (invalid describe: the message names what);
 *             INCOMPATIBLE (same name and version, other code; or another
 *               version whose schema change cannot be migrated: the
 *               message names the table and column);
 *             LIMIT (memory; len above 1 GiB; a module over a load limit:
 *               size, functions, nesting depth, code cost, table elements;
 *               docs/ABI.md "Limits" lists them, the message names which);
 *             TRAP; TIMEOUT; CLOSED;
 *             BUSY (from a callback);
 *             READ_ONLY (runtime opened READ_ONLY); POISONED (an earlier
 *             log failure: reopen); IO (durable: the wasm could not be
 *             stored in data_dir/modules); INTERNAL.
 * ------------------------------------------------------------------------- */
int interstice_module_load(interstice_runtime *rt, const uint8_t *wasm, size_t len,
                           char **out_name, interstice_error **err);
int interstice_module_load_file(interstice_runtime *rt, const char *path, char **out_name,
                                interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_module_list
 *
 * Returns the loaded modules, in load order, as a JSON array:
 *   [{"name":"counter","version":"1.0.0","wasm_sha256":"<hex>"}, ...]
 *
 * Parameters: rt IN; out OUT; out_len OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT; CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_module_list(interstice_runtime *rt, char **out, size_t *out_len, interstice_error **err);

/* Output formats of describe, get, scan and row helpers. */
#define INTERSTICE_FORMAT_JSON         0  /* UTF-8 JSON text, NUL-terminated */
#define INTERSTICE_FORMAT_FLATBUFFERS  1  /* FlatBuffers bytes (see the fbs directory) */

/* -------------------------------------------------------------------------
 * interstice_module_describe
 *
 * Returns a loaded module's schema: the ModuleSchema FlatBuffer
 * (fbs/schema.fbs) its describe export returned, or its JSON form.
 *
 * Parameters: rt IN; module IN (name); format IN (INTERSTICE_FORMAT_*);
 *             out OUT; out_len OUT (not NULL for FLATBUFFERS: the buffer
 *             has no terminator; optional for JSON); err OUT.
 * Ownership:  free *out with interstice_free.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT (NULL module or out, an unknown format,
 *             FLATBUFFERS with a NULL out_len); NOT_FOUND; CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_module_describe(interstice_runtime *rt, const char *module, int format,
                               uint8_t **out, size_t *out_len, interstice_error **err);

/* =========================================================================
 * Reducer calls
 * ========================================================================= */

/* -------------------------------------------------------------------------
 * interstice_call / interstice_call_json
 *
 * Runs reducer `reducer` of module `module` as one atomic transaction, then
 * runs the subscriber reducers its events trigger (each its own
 * transaction) and fires host subscription callbacks, all before returning.
 * On failure nothing the reducer did is applied or logged, except after
 * POISONED, whose outcome is unknown (see Returns).
 *
 * interstice_call takes the arguments as an encoded Row FlatBuffer
 * (fbs/value.fbs) with one value per parameter; interstice_call_json takes
 * a JSON array (by position) or object (by parameter name); NULL/0 means no
 * arguments. The JSON must be exactly one value with only JSON whitespace
 * around it: "[1,\"x\"]]" is refused with TYPE. The arguments are checked
 * under the call deadline (a check that outlasts it gives TIMEOUT), and a
 * Row whose offsets share children past 4 times its size to verify is
 * malformed (BAD_ARGUMENT).
 *
 * A call whose reducer makes no mutation (and so triggers no subscriber)
 * writes no record and costs no fdatasync: it takes no LSN, and returns
 * the LSN of the last committed transaction, the state it ran against
 * (0 before the first one), with mutations 0. It still returns only once
 * that state is durable (joining an fdatasync in flight, if one is). The
 * same holds for a subscriber that changes nothing: its cascade entry's
 * lsn is 0. Since 0.4.0; before, every call took an LSN and wrote a record.
 *
 * Parameters:
 *   rt, module, reducer IN.
 *   args, args_len      IN  — copied; not retained.
 *   out_lsn             OUT — optional; the committed transaction's LSN
 *                       (for a call that changed nothing, the last
 *                       committed one: see above).
 *   out_result          OUT — optional; a JSON object describing the commit:
 *       {"lsn":N,"timestamp":N,"mutations":N,"cascade":[{"module":..,
 *        "reducer":..,"depth":N,"lsn":N,"error":null|".."}],
 *        "cascade_error":null|".."}
 *   out_result_len      OUT — optional.
 *   err                 OUT — optional error.
 * Ownership:  free *out_result with interstice_free.
 * Threads:    any; calls on one runtime are serialised.
 * Returns:    OK (a failed subscriber does not fail the call: see
 *             "cascade_error"); BAD_ARGUMENT (NULL names, malformed Row,
 *             args_len above PTRDIFF_MAX); LIMIT (args_len above 1 MiB, JSON
 *             above 8 MiB, or the call's memory or cascade limits);
 *             NOT_FOUND (module or reducer); TYPE (arguments do not match);
 *             REDUCER_FAILED; TRAP; TIMEOUT; ACCESS; DUPLICATE_KEY;
 *             CYCLE; CLOSED; BUSY (called from inside a subscription
 *             callback); READ_ONLY (runtime opened READ_ONLY); POISONED
 *             (durable: this call's record, or an earlier one, could not be
 *             made durable. The OUTCOME OF THIS CALL IS UNKNOWN: the log
 *             cuts the failed bytes only on a best-effort basis, so the
 *             record may be in the log when it is reopened. The runtime
 *             refuses everything until closed. Do not retry blindly: close
 *             the runtime, open it again, and check whether the call
 *             happened: interstice_runtime_last_lsn above the value it had
 *             before the failure, or the rows the call writes; retry only
 *             if it did not. docs/RECOVERY.md, "A full disk"); INTERNAL.
 * ------------------------------------------------------------------------- */
int interstice_call(interstice_runtime *rt, const char *module, const char *reducer,
                    const uint8_t *args, size_t args_len, uint64_t *out_lsn,
                    char **out_result, size_t *out_result_len, interstice_error **err);
int interstice_call_json(interstice_runtime *rt, const char *module, const char *reducer,
                         const char *args_json, size_t args_len, uint64_t *out_lsn,
                         char **out_result, size_t *out_result_len, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_call_async / interstice_call_json_async
 *
 * Queues the reducer call that interstice_call / interstice_call_json
 * would make and returns at once; `done` later receives the outcome that
 * call would have returned. No thread of the caller waits: queued calls
 * run one after another on the library's executor and share fdatasyncs,
 * so an event loop (or any program) can keep many calls in flight
 * without a thread for each. Since 0.3.0.
 *
 * done(user, status, lsn, result, result_len, error) runs exactly once for
 * every call that was queued (return value OK), once the call's records
 * are durable (under the sync policy) or it failed: status is what
 * interstice_call would have returned; lsn and result (the JSON object of
 * interstice_call's out_result, result_len bytes, NUL-terminated) are set
 * on OK, else 0 and NULL; error is the failure (NULL on OK). result and
 * error are owned by the library and valid only during the callback: copy
 * what you keep, and do not free them.
 *
 * Threads: done, and the subscription callbacks and guest log lines of an
 * asynchronous call, run on the runtime's completion thread, one library
 * thread for the runtime's life: a call's callbacks run right before its
 * done, on that thread, with no other callback of the runtime between
 * them. Completions run one at a time, in commit order. done must return
 * quickly (later completions, and the log write of the calls queued
 * meanwhile, wait for it: the completion thread is also the one that waits
 * for the fdatasync) and must not longjmp or throw
 * out of the library; a reducer call, module load or close from inside it
 * (or from inside those callbacks) returns INTERSTICE_E_BUSY. Reads are
 * allowed.
 *
 * A runtime whose log does not fdatasync every record (in memory, or
 * sync INTERVAL or NONE) runs the call at once, on the calling thread,
 * and calls done before interstice_call_async returns.
 *
 * interstice_runtime_close waits until every queued call completed (done
 * ran); calls queued after it began are refused with CLOSED.
 *
 * Parameters: as interstice_call / interstice_call_json, with done IN
 *             (not NULL) and user IN (passed to done) in place of the
 *             outputs; err OUT for a call that could not be queued.
 * Returns:    OK (queued: done will run); BAD_ARGUMENT (NULL names, NULL
 *             done, args NULL with args_len > 0, args_len above
 *             PTRDIFF_MAX); LIMIT (arguments over the limits of
 *             interstice_call); NOT_FOUND and TYPE (JSON form: the
 *             arguments are converted before the call is queued); CLOSED;
 *             BUSY (from inside a callback); POISONED. On any of these
 *             done is not called. Every other failure (TRAP, TIMEOUT,
 *             NOT_FOUND for the FlatBuffers form ...) reaches done.
 * ------------------------------------------------------------------------- */
typedef void (*interstice_call_done_fn)(void *user, int status, uint64_t lsn, const char *result,
                                        size_t result_len, const interstice_error *error);
int interstice_call_async(interstice_runtime *rt, const char *module, const char *reducer,
                          const uint8_t *args, size_t args_len, interstice_call_done_fn done,
                          void *user, interstice_error **err);
int interstice_call_json_async(interstice_runtime *rt, const char *module, const char *reducer,
                               const char *args_json, size_t args_len, interstice_call_done_fn done,
                               void *user, interstice_error **err);

/* =========================================================================
 * Tables
 * ========================================================================= */

/* -------------------------------------------------------------------------
 * interstice_get / interstice_get_json
 *
 * Reads the committed row of module.table whose primary key is key.
 * interstice_get takes the key as an encoded Row holding one value and
 * returns the row as an encoded Row FlatBuffer; interstice_get_json takes
 * the key as exactly one JSON value (e.g. "\"alice\"" or "42"; JSON
 * whitespace around it is allowed, anything else after it, as in "42]", is
 * TYPE) and returns the row as a JSON object keyed by column name.
 *
 * Parameters: rt, module, table IN; key, key_len IN; out OUT — the row, or
 *             NULL when no row has that key; out_len OUT optional (0 when
 *             not found); err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any; reads run in parallel.
 * Returns:    OK (found or not); BAD_ARGUMENT (key_len above PTRDIFF_MAX, a
 *             malformed key Row); LIMIT (key_len above 1 MiB, JSON above
 *             8 MiB); NOT_FOUND (module or table); TYPE (the key's type);
 *             ACCESS; CLOSED;
 *             POISONED (durable runtime after a log failure).
 * ------------------------------------------------------------------------- */
int interstice_get(interstice_runtime *rt, const char *module, const char *table,
                   const uint8_t *key, size_t key_len, uint8_t **out, size_t *out_len,
                   interstice_error **err);
int interstice_get_json(interstice_runtime *rt, const char *module, const char *table,
                        const char *key_json, size_t key_len, char **out, size_t *out_len,
                        interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_count
 *
 * Counts the committed rows of module.table.
 *
 * Parameters: rt, module, table IN; out OUT (not NULL); err OUT optional.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT; NOT_FOUND; CLOSED; POISONED.
 * ------------------------------------------------------------------------- */
int interstice_count(interstice_runtime *rt, const char *module, const char *table,
                     uint64_t *out, interstice_error **err);

typedef struct interstice_scan interstice_scan;

/* -------------------------------------------------------------------------
 * interstice_scan_open
 *
 * Starts an iterator over the committed rows of module.table in primary-key
 * order. It copies rows in chunks of 256 under a short read lock, so it
 * works on tables of any size and never blocks commits for long; a row
 * committed or deleted during the scan may or may not be seen, but each key
 * is seen at most once and in order.
 *
 * Parameters: rt, module, table IN; format IN — INTERSTICE_FORMAT_JSON
 *             (rows as JSON objects) or _FLATBUFFERS (encoded Rows);
 *             out OUT — the iterator; err OUT optional.
 * Ownership:  close with interstice_scan_close (before or after the
 *             runtime: after it, next returns CLOSED).
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT; NOT_FOUND; CLOSED; POISONED.
 * ------------------------------------------------------------------------- */
int interstice_scan_open(interstice_runtime *rt, const char *module, const char *table, int format,
                         interstice_scan **out, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_scan_next
 *
 * Returns the next row: *out receives it (JSON object or encoded Row as
 * chosen at open) or NULL at the end of the table.
 *
 * Parameters: it IN; out OUT; out_len OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    one thread at a time per iterator (concurrent calls are
 *             serialised).
 * Returns:    OK; BAD_ARGUMENT; CLOSED (iterator or runtime closed).
 * ------------------------------------------------------------------------- */
int interstice_scan_next(interstice_scan *it, uint8_t **out, size_t *out_len, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_scan_next_chunk
 *
 * Returns up to max_rows rows (0 = no row limit) in one buffer, stopping
 * before the buffer would exceed max_bytes (0 = no byte limit; at least
 * one row is always returned if any is left). Any value is valid: SIZE_MAX
 * limits nothing. JSON: a JSON array of row
 * objects. FLATBUFFERS: each row as a 4-byte little-endian length followed
 * by that many bytes of encoded Row. At the end *out is NULL and *out_rows 0.
 *
 * Parameters: it IN; max_rows, max_bytes IN; out OUT; out_len OUT optional;
 *             out_rows OUT optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    as interstice_scan_next.
 * Returns:    OK; BAD_ARGUMENT; CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_scan_next_chunk(interstice_scan *it, size_t max_rows, size_t max_bytes,
                               uint8_t **out, size_t *out_len, size_t *out_rows,
                               interstice_error **err);

/* interstice_scan_close — releases an iterator. NULL: no-op, OK; closed
 * again: INTERSTICE_E_CLOSED, harmless. Any thread. */
int interstice_scan_close(interstice_scan *it, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_row_to_json
 *
 * Converts an encoded Row of module.table (from interstice_get, a scan or a
 * subscription event) to a JSON object keyed by column name.
 *
 * Parameters: rt, module, table IN; row, len IN; out OUT; out_len OUT
 *             optional; err OUT optional.
 * Ownership:  free *out with interstice_free.
 * Threads:    any, including inside a subscription callback.
 * Returns:    OK; BAD_ARGUMENT (malformed row, len above PTRDIFF_MAX); LIMIT
 *             (len above 1 MiB); NOT_FOUND; CLOSED; POISONED.
 * ------------------------------------------------------------------------- */
int interstice_row_to_json(interstice_runtime *rt, const char *module, const char *table,
                           const uint8_t *row, size_t len, char **out, size_t *out_len,
                           interstice_error **err);

/* =========================================================================
 * Host subscriptions
 * ========================================================================= */

#define INTERSTICE_EVENT_INSERT 1u
#define INTERSTICE_EVENT_UPDATE 2u
#define INTERSTICE_EVENT_DELETE 4u
#define INTERSTICE_EVENT_ALL    7u

#define INTERSTICE_OP_INSERT 0
#define INTERSTICE_OP_UPDATE 1
#define INTERSTICE_OP_DELETE 2

/** One committed row change. Every pointer is valid only during the callback. */
typedef struct interstice_event {
    int32_t op;               /* INTERSTICE_OP_* */
    const char *module;
    const char *table;
    const uint8_t *old_row;   /* encoded Row; NULL for an insert */
    size_t old_len;
    const uint8_t *new_row;   /* encoded Row; NULL for a delete */
    size_t new_len;
    uint64_t lsn;             /* the committing transaction */
    uint64_t timestamp;       /* when it ran: ns since the Unix epoch (see Clock) */
} interstice_event;

typedef void (*interstice_event_fn)(void *user_data, const interstice_event *event);

/* -------------------------------------------------------------------------
 * interstice_subscribe
 *
 * Registers fn for the committed events in `events` (INTERSTICE_EVENT_*
 * bits) on module.table.
 *
 * Callbacks run synchronously, on the thread that made the reducer call
 * that committed the event, inside that interstice_call, before it
 * returns, once the call's records are durable (the log acknowledged
 * them, under the runtime's sync policy), in commit order. Callbacks of
 * one runtime never run at once: those of calls made concurrently from
 * several threads run one call after another, in commit order. A call
 * whose record could not be made durable (POISONED) fires no callback:
 * a callback sees only events that survive a crash. A callback that reads
 * sees the committed state when it runs, which may already include later
 * calls of other threads. A callback may read
 * (get, scan, count, row_to_json); a reducer call, module load or runtime
 * close from inside a callback returns INTERSTICE_E_BUSY. Replay fires no
 * callback.
 *
 * Parameters: rt, module, table IN; events IN (non-zero mask); fn IN (not
 *             NULL); user_data IN (passed to fn); out_id OUT (optional) —
 *             the subscription id for interstice_unsubscribe; err OUT.
 * Threads:    any.
 * Returns:    OK; BAD_ARGUMENT (NULL fn, empty mask); NOT_FOUND; CLOSED; POISONED.
 * Restrictions:
 *   - user_data must stay valid until interstice_unsubscribe returns or the
 *     runtime is closed.
 *   - A callback must not longjmp or throw out of the library.
 * ------------------------------------------------------------------------- */
int interstice_subscribe(interstice_runtime *rt, const char *module, const char *table,
                         uint32_t events, interstice_event_fn fn, void *user_data,
                         uint64_t *out_id, interstice_error **err);

/* -------------------------------------------------------------------------
 * interstice_unsubscribe
 *
 * Removes a subscription. A callback already running finishes; none starts
 * after this returns.
 *
 * Parameters: rt IN; id IN; err OUT optional.
 * Threads:    any, also from inside a callback.
 * Returns:    OK; NOT_FOUND (unknown or already removed id); BAD_ARGUMENT;
 *             CLOSED.
 * ------------------------------------------------------------------------- */
int interstice_unsubscribe(interstice_runtime *rt, uint64_t id, interstice_error **err);

#ifdef __cplusplus
}
#endif

#endif /* INTERSTICE_H */
