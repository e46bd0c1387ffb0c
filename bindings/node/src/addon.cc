// addon.cc — the Node-API addon over libinterstice (include/interstice.h).
//
// This file is the only native code of the package. It is deliberately
// thin: lib/*.js validates every argument and shapes every result; this
// layer converts values, calls the C ABI and turns failures into the
// IntersticeError objects that lib/errors.js builds.
//
// Signals (README "Signals"). libinterstice is a Go c-shared library. Go
// requires SA_ONSTACK on every handler of a signal that can arrive while a
// thread runs Go code, and libuv installs its handlers (process.on('SIG...'),
// SIGCHLD on the first child process) without it. So no asynchronous signal
// may be delivered to a thread while it runs Go code:
//   1. The library is not linked (no DT_NEEDED). It is dlopen'ed once per
//      process, by absolute path next to this .node file, while the loading
//      thread blocks every asynchronous signal. Go's runtime records that
//      mask at initialisation and every thread it ever creates keeps those
//      signals blocked (in library mode only synchronous signals and SIGURG
//      are unblocked on Go threads).
//   2. Every thread that calls into the library blocks the asynchronous
//      signals while it runs Go code. A signal that arrives meanwhile stays
//      pending and is delivered when the mask is restored, on the thread's
//      normal stack, or goes to another thread that does not block it.
//      - Other Node threads that call in (SigBlock: two rt_sigprocmask
//        calls) block them around each call. callAsync runs no Go code on
//        a Node thread beyond queueing the call.
//      - A JS thread (main or worker) blocks them at its first call and
//        restores its mask when its event loop next turns (a uv_prepare and a
//        uv_check handle), not after every call: the two syscalls cost about
//        0.4 us on this kind of machine, as much as the call itself. JS
//        cannot run a signal listener before the loop turns anyway, and a
//        signal's default action (e.g. SIGINT with no listener) still
//        happens at once: the kernel delivers a process-wide signal to a
//        thread that does not block it (libuv's threadpool, V8's workers).
//        INTERSTICE_NODE_SIGMASK=call restores after every call instead;
//        =off disables all masking, at load too (unsafe; the control
//        experiment of the signal stress test, for diagnostics only).
//   SIGURG (Go's preemption signal, whose handler is Go's own, SA_ONSTACK)
//   and the synchronous signals stay unblocked.
//
// Threads. The addon is context-aware: every Node environment (main thread,
// each worker_thread) gets its own instance data; the library is loaded once
// per process. Subscription and log callbacks of a synchronous call run JS
// right inside the C callback (it runs on the calling thread's system
// stack). Those of callAsync fire on the library's completion thread right
// before the call's done (interstice_call_json_async): they are copied into
// the runtime's queue there and delivered on the JS thread, in commit order,
// before the call's promise settles (drain()).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <node_api.h>
#include <uv.h>

#include "interstice.h"

// ---------------------------------------------------------------------------
// The library: every function of interstice.h, resolved with dlsym.
// ---------------------------------------------------------------------------

#define IST_FUNCS(X)                                                                      \
  X(interstice_version_number) X(interstice_abi_version) X(interstice_version_string)    \
  X(interstice_status_str) X(interstice_error_free) X(interstice_free)                   \
  X(interstice_log_options_init) X(interstice_log_open) X(interstice_log_close)          \
  X(interstice_log_append) X(interstice_log_append_json) X(interstice_log_append_batch)  \
  X(interstice_log_sync) X(interstice_log_rotate) X(interstice_log_first_lsn)            \
  X(interstice_log_last_lsn) X(interstice_log_stats) X(interstice_log_replay)            \
  X(interstice_log_validate) X(interstice_log_report_free) X(interstice_log_inspect)     \
  X(interstice_log_repair) X(interstice_record_to_json)                                  \
  X(interstice_runtime_options_init) X(interstice_runtime_open)                          \
  X(interstice_runtime_close) X(interstice_runtime_snapshot)                             \
  X(interstice_runtime_last_lsn) X(interstice_runtime_replay_stats)                      \
  X(interstice_runtime_log_stats) X(interstice_module_load) X(interstice_module_load_file) \
  X(interstice_module_list) X(interstice_module_describe) X(interstice_call)             \
  X(interstice_call_json) X(interstice_get) X(interstice_get_json) X(interstice_count)   \
  X(interstice_scan_open) X(interstice_scan_next) X(interstice_scan_next_chunk)          \
  X(interstice_scan_close) X(interstice_row_to_json) X(interstice_subscribe)             \
  X(interstice_unsubscribe) X(interstice_call_async) X(interstice_call_json_async)

namespace {

struct Lib {
#define IST_FIELD(name) decltype(&::name) name;
  IST_FUNCS(IST_FIELD)
#undef IST_FIELD
};

Lib L;
std::once_flag g_load_once;
std::string g_load_error;  // empty: loaded
std::string g_lib_path;
sigset_t g_async;          // the signals blocked around every call
enum SigMode { kMaskOff, kMaskCall, kMaskDeferred };
SigMode g_sigmode = kMaskDeferred;  // INTERSTICE_NODE_SIGMASK=deferred|call|off
void (*g_free)(void *) = nullptr;   // free() as the library sees it (see load_library)

void sigset_async(sigset_t *s, bool keep_urg) {
  sigfillset(s);
  const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
  for (int sig : sync_sigs) sigdelset(s, sig);
  if (keep_urg) sigdelset(s, SIGURG);
}

// SigBlock blocks the asynchronous signals on this thread for its scope and
// then restores the exact previous mask (so nested blocks are harmless).
struct SigBlock {
  sigset_t old;
  bool on;
  SigBlock() : on(g_sigmode != kMaskOff) {
    if (on) pthread_sigmask(SIG_BLOCK, &g_async, &old);
  }
  ~SigBlock() {
    if (on) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  SigBlock(const SigBlock &) = delete;
  SigBlock &operator=(const SigBlock &) = delete;
};

// The deferred mask of a JS thread: blocked by its first call, restored by
// restore_js_mask() when its event loop turns.
thread_local bool t_js_blocked = false;
thread_local sigset_t t_js_saved;

void restore_js_mask() {
  if (t_js_blocked) {
    t_js_blocked = false;
    pthread_sigmask(SIG_SETMASK, &t_js_saved, nullptr);
  }
}

// JsBlock guards a call made on a JS thread (every synchronous function).
struct JsBlock {
  sigset_t old;
  bool restore = false;
  JsBlock() {
    if (g_sigmode == kMaskDeferred) {
      if (!t_js_blocked) {
        pthread_sigmask(SIG_BLOCK, &g_async, &t_js_saved);
        t_js_blocked = true;
      }
    } else if (g_sigmode == kMaskCall) {
      pthread_sigmask(SIG_BLOCK, &g_async, &old);
      restore = true;
    }
  }
  ~JsBlock() {
    if (restore) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  JsBlock(const JsBlock &) = delete;
  JsBlock &operator=(const JsBlock &) = delete;
};

void load_library() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&load_library), &info) == 0 || info.dli_fname == nullptr) {
    g_load_error = "interstice: cannot find the addon's own path (dladdr failed)";
    return;
  }
  std::string self = info.dli_fname;
  size_t slash = self.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".") : self.substr(0, slash);
  g_lib_path = dir + "/libinterstice.so.1";
  const char *mode = getenv("INTERSTICE_NODE_SIGMASK");
  if (mode && strcmp(mode, "off") == 0) g_sigmode = kMaskOff;
  else if (mode && strcmp(mode, "call") == 0) g_sigmode = kMaskCall;
  sigset_async(&g_async, true);

  // Load with every asynchronous signal blocked: the Go runtime's threads
  // inherit this mask (see the top of this file).
  sigset_t all, old;
  sigset_async(&all, false);
  if (g_sigmode == kMaskOff) sigemptyset(&all);  // the unprotected control of test/07-signals
  pthread_sigmask(SIG_BLOCK, &all, &old);
  void *h = dlopen(g_lib_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char *e = dlerror();
    g_load_error = std::string("interstice: cannot load ") + g_lib_path + ": " + (e ? e : "unknown error");
  } else {
    std::string missing;
#define IST_RESOLVE(name)                                                   \
  L.name = reinterpret_cast<decltype(&::name)>(dlsym(h, #name));            \
  if (L.name == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#name);
    IST_FUNCS(IST_RESOLVE)
#undef IST_RESOLVE
    if (L.interstice_abi_version == nullptr) {
      g_load_error = "interstice: " + g_lib_path + " is not libinterstice (no interstice_abi_version)";
    } else if (L.interstice_abi_version() != INTERSTICE_ABI_VERSION) {
      g_load_error = "interstice: ABI version mismatch: " + g_lib_path + " has ABI version " +
                     std::to_string(L.interstice_abi_version()) + ", this addon was built for ABI version " +
                     std::to_string(INTERSTICE_ABI_VERSION) + " (interstice.h " INTERSTICE_VERSION_STRING
                     "); rebuild the package against the library (npm rebuild interstice)";
    } else if (!missing.empty()) {
      g_load_error = "interstice: " + g_lib_path + " (version " + L.interstice_version_string() +
                     ") lacks functions this addon needs: " + missing + "; rebuild the package";
    }
    // interstice.h: interstice_free is "equivalent to free() from the C
    // library the shared object links against". That free, looked up in the
    // library's own scope, releases returned buffers without a second trip
    // into Go (an interstice_free call costs as much as a small call).
    g_free = reinterpret_cast<void (*)(void *)>(dlsym(h, "free"));
    if (g_free == nullptr) g_free = L.interstice_free;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// ---------------------------------------------------------------------------
// Per-environment state and helpers
// ---------------------------------------------------------------------------

struct EnvData {
  napi_ref make_error = nullptr;           // (status, message, detail, guestMessage) -> IntersticeError
  napi_ref make_callback_error = nullptr;  // (cause, resultJson) -> CallbackError
  napi_ref scratch = nullptr;              // Float64Array(3): lsn, timestamp, mutations
  double *scratch_data = nullptr;
};

EnvData *env_data(napi_env env) {
  void *p = nullptr;
  napi_get_instance_data(env, &p);
  return static_cast<EnvData *>(p);
}

#define NAPI_OK(env, call)                                                   \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      throw_napi_failure(env, #call);                                        \
      return nullptr;                                                        \
    }                                                                        \
  } while (0)

void throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = nullptr;
  napi_get_last_error_info(env, &info);
  std::string msg = std::string("interstice: internal Node-API failure in ") + what;
  if (info && info->error_message) msg += std::string(": ") + info->error_message;
  napi_throw_error(env, nullptr, msg.c_str());
}

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}
napi_value null_value(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}
napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}
napi_value str(napi_env env, const char *s, size_t n) {
  napi_value v;
  napi_create_string_utf8(env, s ? s : "", s ? n : 0, &v);
  return v;
}
napi_value str(napi_env env, const std::string &s) { return str(env, s.data(), s.size()); }

// CError is a copy of a C call's interstice_error (which it frees), kept
// until it can be thrown on the JS thread.
struct CError {
  int status = 0;
  int detail = 0;
  std::string message;
  bool has_guest = false;  // guest_message was not NULL
  std::string guest;       // the module's own words (REDUCER_FAILED, a guest panic)
  void take(int rc, interstice_error *e) {
    copy(rc, e);
    L.interstice_error_free(e);
  }
  void copy(int rc, const interstice_error *e) {
    status = rc;
    detail = e ? e->detail : 0;
    message = e && e->message ? e->message : L.interstice_status_str(rc);
    has_guest = e && e->guest_message;
    guest = has_guest ? e->guest_message : "";
  }
};

// make_error builds the IntersticeError for a failed C call (lib/errors.js).
napi_value make_error(napi_env env, const CError &ce) {
  EnvData *ed = env_data(env);
  napi_value fn = nullptr, argv[4], result = nullptr, global;
  int status = ce.status, detail = ce.detail;
  const char *msg = ce.message.c_str();
  if (ed && ed->make_error) napi_get_reference_value(env, ed->make_error, &fn);
  if (fn == nullptr) {
    napi_value m;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, nullptr, m, &result);
    return result;
  }
  napi_create_int32(env, status, &argv[0]);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_int32(env, detail, &argv[2]);
  if (ce.has_guest) {
    napi_create_string_utf8(env, ce.guest.data(), ce.guest.size(), &argv[3]);
  } else {
    napi_get_null(env, &argv[3]);
  }
  napi_get_global(env, &global);
  if (napi_call_function(env, global, fn, 4, argv, &result) != napi_ok) return nullptr;
  return result;
}

// An error captured from a C call, to be thrown later or on another thread.

// throw_c throws the error of a failed C call and frees it.
napi_value throw_c(napi_env env, int rc, interstice_error *e) {
  CError ce;
  ce.take(rc, e);
  napi_value err = make_error(env, ce);
  if (err) napi_throw(env, err);
  return nullptr;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, nullptr, msg);
  return nullptr;
}

// Args reads a callback's arguments.
struct Args {
  size_t argc = 8;
  napi_value argv[8];
  napi_value self = nullptr;
  bool ok;
  Args(napi_env env, napi_callback_info info) {
    ok = napi_get_cb_info(env, info, &argc, argv, &self, nullptr) == napi_ok;
    for (size_t i = argc; i < 8; i++) argv[i] = nullptr;
  }
};

// get_string copies a JS string (UTF-8) into out.
bool get_string(napi_env env, napi_value v, std::string &out) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return false;
  out.resize(n + 1);
  if (napi_get_value_string_utf8(env, v, &out[0], n + 1, &n) != napi_ok) return false;
  out.resize(n);
  return true;
}

// SmallStr holds a short JS string without a heap allocation.
struct SmallStr {
  char buf[256];
  std::string big;
  const char *p = buf;
  size_t len = 0;
  bool read(napi_env env, napi_value v) {
    if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) return false;
    if (len < sizeof buf - 1) return true;
    if (!get_string(env, v, big)) return false;
    p = big.c_str();
    len = big.size();
    return true;
  }
};

// get_bytes returns the bytes of a Buffer or any TypedArray / DataView / ArrayBuffer.
bool get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type t;
    size_t n;
    void *p;
    size_t off;
    if (napi_get_typedarray_info(env, v, &t, &n, &p, nullptr, &off) != napi_ok) return false;
    size_t elem = 1;
    switch (t) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: break;
    }
    *data = static_cast<const uint8_t *>(p);
    *len = n * elem;
    return true;
  }
  napi_is_dataview(env, v, &is);
  if (is) {
    size_t n;
    void *p;
    if (napi_get_dataview_info(env, v, &n, &p, nullptr, nullptr) != napi_ok) return false;
    *data = static_cast<const uint8_t *>(p);
    *len = n;
    return true;
  }
  napi_is_arraybuffer(env, v, &is);
  if (is) {
    void *p;
    size_t n;
    if (napi_get_arraybuffer_info(env, v, &p, &n) != napi_ok) return false;
    *data = static_cast<const uint8_t *>(p);
    *len = n;
    return true;
  }
  return false;
}

bool get_u64(napi_env env, napi_value obj, const char *name, uint64_t *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  *out = d < 0 ? 0 : static_cast<uint64_t>(d);
  return true;
}

template <typename T>
bool get_int(napi_env env, napi_value obj, const char *name, T *out) {
  uint64_t u = static_cast<uint64_t>(*out);
  if (!get_u64(env, obj, name, &u)) return false;
  *out = static_cast<T>(u);
  return true;
}

bool get_opt_string(napi_env env, napi_value obj, const char *name, std::string &out, bool *present) {
  napi_value v;
  napi_valuetype t;
  *present = false;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  napi_typeof(env, v, &t);
  if (t != napi_string) return true;
  *present = true;
  return get_string(env, v, out);
}

napi_value get_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v = nullptr;
  napi_get_named_property(env, obj, name, &v);
  return v;
}

bool is_function(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  return t == napi_function;
}

// Takes ownership of a malloc'ed C string and returns it as a JS string.
napi_value take_cstring(napi_env env, char *s, size_t n) {
  napi_value v = str(env, s, n);
  g_free(s);
  return v;
}

napi_value copy_buffer(napi_env env, const void *p, size_t n) {
  napi_value v;
  void *dst;
  napi_create_buffer_copy(env, n, p ? p : "", &dst, &v);
  return v;
}

// Handles are externals pointing at one of these, told apart by kind.
enum Kind : uint32_t { kRuntime = 0x52554e54, kLog = 0x4c4f4721, kScan = 0x5343414e };

template <typename T>
T *unwrap(napi_env env, napi_value v, Kind kind) {
  void *p = nullptr;
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  if (t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || p == nullptr ||
      static_cast<T *>(p)->kind != kind) {
    napi_throw_type_error(env, nullptr, "interstice: not a handle of the right kind");
    return nullptr;
  }
  return static_cast<T *>(p);
}

// ---------------------------------------------------------------------------
// Runtime, subscriptions, the event queue and the call context
// ---------------------------------------------------------------------------

struct AsyncCall;
struct Runtime;

// An event or a log line whose JS callback has not run yet.
struct Item {
  bool is_log = false;
  uint64_t sub_key = 0;
  int32_t op = 0;
  bool has_new = false, has_old = false;
  std::string new_json, old_json;
  uint64_t lsn = 0, ts = 0;
  int32_t level = 0;
  std::string module, message;
  AsyncCall *owner = nullptr;  // the async call that produced it; null for a sync call
};

struct Sub {
  Runtime *rt;
  uint64_t key;       // the addon's id (the queue refers to it)
  uint64_t c_id = 0;  // the library's id
  bool active = true;
  napi_ref fn = nullptr;
  std::string module, table;
};

struct Runtime {
  Kind kind = kRuntime;
  napi_env env;
  interstice_runtime *h = nullptr;
  bool closed = false;
  napi_ref log_fn = nullptr;
  std::mutex qmu;
  std::deque<Item> queue;
  std::unordered_map<uint64_t, Sub *> subs;  // every subscription ever made (freed with the runtime)
  uint64_t next_key = 1;
  // callAsync: calls the library completed, to settle on the JS thread
  // (qmu); the thread-safe function that wakes the loop for them; the
  // calls in flight (JS thread), while which tsfn keeps the loop alive.
  std::vector<AsyncCall *> completed;
  napi_threadsafe_function tsfn = nullptr;  // qmu for the completion thread's read
  size_t in_flight = 0;
  // The struct is freed when both the handle's finalizer and tsfn's have
  // run (either may come first while the environment shuts down).
  int owners = 1;
};

void runtime_release(Runtime *rt) {
  if (--rt->owners == 0) delete rt;
}

// The context of the sync call in progress on this thread (thread_local):
// its runtime, the JS environment, and the first error its callbacks threw.
// Callbacks that arrive with none are those of an async call, on the
// library's completion thread (tls_unowned).
struct CallCtx {
  Runtime *rt = nullptr;
  napi_env env = nullptr;
  napi_ref first_error = nullptr;
};
thread_local CallCtx *tls_ctx = nullptr;

struct CtxScope {
  CallCtx *prev;
  explicit CtxScope(CallCtx *c) : prev(tls_ctx) { tls_ctx = c; }
  ~CtxScope() { tls_ctx = prev; }
};

struct AsyncCall {
  Runtime *rt;
  napi_ref handle_ref = nullptr;  // keeps the runtime handle alive
  napi_deferred deferred = nullptr;
  int rc = 0;
  CError err;
  std::string result;
  napi_ref first_error = nullptr;
};

// Items that callbacks produced on this thread outside any addon call: on
// the library's completion thread, those of the asynchronous call whose
// done comes next on the same thread (interstice_call_async).
thread_local std::vector<Item> tls_unowned;

void keep_first_error(napi_env env, napi_ref *slot, napi_value exc) {
  if (*slot == nullptr) napi_create_reference(env, exc, 1, slot);
}

// run_item runs one queued or inline item's JS callback and records a thrown
// exception as the first error of the call that produced it.
void run_item(napi_env env, Runtime *rt, Item &it, napi_ref *err_slot) {
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn = nullptr, global, argv[5], ignored;
  int argc = 0;
  if (it.is_log) {
    if (rt->log_fn) napi_get_reference_value(env, rt->log_fn, &fn);
    if (fn) {
      napi_create_int32(env, it.level, &argv[0]);
      argv[1] = str(env, it.module);
      argv[2] = str(env, it.message);
      argc = 3;
    }
  } else {
    auto s = rt->subs.find(it.sub_key);
    if (s != rt->subs.end() && s->second->active) {
      napi_get_reference_value(env, s->second->fn, &fn);
      napi_create_int32(env, it.op, &argv[0]);
      argv[1] = it.has_new ? str(env, it.new_json) : null_value(env);
      argv[2] = it.has_old ? str(env, it.old_json) : null_value(env);
      argv[3] = num(env, static_cast<double>(it.lsn));
      argv[4] = num(env, static_cast<double>(it.ts));
      argc = 5;
    }
  }
  if (fn) {
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, argc, argv, &ignored) != napi_ok) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
        if (err_slot) {
          keep_first_error(env, err_slot, exc);
        } else {
          napi_fatal_exception(env, exc);  // no call to report it to: 'uncaughtException'
        }
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

napi_ref *error_slot_for(Item &it) {
  if (it.owner) return &it.owner->first_error;
  if (tls_ctx && tls_ctx->env) return &tls_ctx->first_error;
  return nullptr;
}

// drain delivers every queued item, oldest first (commit order), on the JS
// thread. Re-entrant: a callback's own sync call drains from the same queue.
void drain(napi_env env, Runtime *rt) {
  for (;;) {
    Item it;
    {
      std::lock_guard<std::mutex> g(rt->qmu);
      if (rt->queue.empty()) return;
      it = std::move(rt->queue.front());
      rt->queue.pop_front();
    }
    run_item(env, rt, it, error_slot_for(it));
  }
}

// deliver runs an item now (sync call on the JS thread, after the older
// queued items), keeps it for the next done on this thread (an async call,
// on the completion thread), or queues it.
void deliver(Runtime *rt, Item &&it) {
  CallCtx *c = tls_ctx;
  if (c && c->env && c->rt == rt) {
    drain(c->env, rt);
    run_item(c->env, rt, it, &c->first_error);
    return;
  }
  if (c == nullptr) {  // the completion thread: owned by the next done
    tls_unowned.push_back(std::move(it));
    return;
  }
  std::lock_guard<std::mutex> g(rt->qmu);  // a call of another runtime is in progress here
  rt->queue.push_back(std::move(it));
}

bool row_json(Runtime *rt, const char *module, const char *table, const uint8_t *row, size_t len, std::string &out) {
  char *js = nullptr;
  size_t n = 0;
  if (L.interstice_row_to_json(rt->h, module, table, row, len, &js, &n, nullptr) != INTERSTICE_OK) {
    out = "null";
    return true;
  }
  out.assign(js, n);
  g_free(js);
  return true;
}

extern "C" void on_event(void *user, const interstice_event *ev) {
  Sub *s = static_cast<Sub *>(user);
  Item it;
  it.sub_key = s->key;
  it.op = ev->op;
  it.lsn = ev->lsn;
  it.ts = ev->timestamp;
  if (ev->new_row) {
    it.has_new = true;
    row_json(s->rt, ev->module, ev->table, ev->new_row, ev->new_len, it.new_json);
  }
  if (ev->old_row) {
    it.has_old = true;
    row_json(s->rt, ev->module, ev->table, ev->old_row, ev->old_len, it.old_json);
  }
  deliver(s->rt, std::move(it));
}

extern "C" void on_log(void *user, int32_t level, const char *module, const char *message, size_t len) {
  Runtime *rt = static_cast<Runtime *>(user);
  Item it;
  it.is_log = true;
  it.level = level;
  it.module = module ? module : "";
  it.message.assign(message ? message : "", message ? len : 0);
  deliver(rt, std::move(it));
}

struct ProgressCtx {
  napi_env env;
  napi_ref fn;
  napi_ref first_error = nullptr;
};

extern "C" void on_progress(void *user, int64_t done, int64_t total) {
  ProgressCtx *p = static_cast<ProgressCtx *>(user);
  napi_handle_scope scope;
  napi_open_handle_scope(p->env, &scope);
  napi_value fn, global, argv[2], ignored;
  napi_get_reference_value(p->env, p->fn, &fn);
  napi_get_global(p->env, &global);
  argv[0] = num(p->env, static_cast<double>(done));
  argv[1] = num(p->env, static_cast<double>(total));
  if (napi_call_function(p->env, global, fn, 2, argv, &ignored) != napi_ok) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(p->env, &exc) == napi_ok) keep_first_error(p->env, &p->first_error, exc);
  }
  napi_close_handle_scope(p->env, scope);
}

void runtime_free(Runtime *rt) {
  if (!rt->closed && rt->h) {
    JsBlock sb;
    L.interstice_runtime_close(rt->h, nullptr);
  }
  for (auto &kv : rt->subs) {
    if (kv.second->fn) napi_delete_reference(rt->env, kv.second->fn);
    delete kv.second;
  }
  if (rt->log_fn) napi_delete_reference(rt->env, rt->log_fn);
  napi_threadsafe_function f;
  {
    std::lock_guard<std::mutex> g(rt->qmu);
    f = rt->tsfn;
  }
  if (f) napi_release_threadsafe_function(f, napi_tsfn_release);
  runtime_release(rt);
}

void finalize_runtime(napi_env, void *data, void *) { runtime_free(static_cast<Runtime *>(data)); }

// ---------------------------------------------------------------------------
// Module functions
// ---------------------------------------------------------------------------

// setup(makeError, makeCallbackError, scratch Float64Array)
napi_value Setup(napi_env env, napi_callback_info info) {
  Args a(env, info);
  EnvData *ed = env_data(env);
  if (!a.ok || a.argc < 3 || !is_function(env, a.argv[0]) || !is_function(env, a.argv[1])) {
    return throw_type(env, "interstice: setup(makeError, makeCallbackError, scratch)");
  }
  if (ed->make_error) napi_delete_reference(env, ed->make_error);
  if (ed->make_callback_error) napi_delete_reference(env, ed->make_callback_error);
  if (ed->scratch) napi_delete_reference(env, ed->scratch);
  napi_create_reference(env, a.argv[0], 1, &ed->make_error);
  napi_create_reference(env, a.argv[1], 1, &ed->make_callback_error);
  napi_typedarray_type t;
  size_t n;
  void *p;
  if (napi_get_typedarray_info(env, a.argv[2], &t, &n, &p, nullptr, nullptr) != napi_ok || t != napi_float64_array ||
      n < 3) {
    return throw_type(env, "interstice: setup: scratch must be a Float64Array(3)");
  }
  napi_create_reference(env, a.argv[2], 1, &ed->scratch);
  ed->scratch_data = static_cast<double *>(p);
  return undefined(env);
}

napi_value Versions(napi_env env, napi_callback_info) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "version", str(env, L.interstice_version_string(), strlen(L.interstice_version_string())));
  napi_set_named_property(env, o, "versionNumber", num(env, L.interstice_version_number()));
  napi_set_named_property(env, o, "abiVersion", num(env, L.interstice_abi_version()));
  napi_set_named_property(env, o, "headerAbiVersion", num(env, INTERSTICE_ABI_VERSION));
  napi_set_named_property(env, o, "headerVersion", str(env, INTERSTICE_VERSION_STRING, strlen(INTERSTICE_VERSION_STRING)));
  napi_set_named_property(env, o, "libraryPath", str(env, g_lib_path));
  const char *modes[] = {"off", "call", "deferred"};
  napi_set_named_property(env, o, "signalMask", str(env, modes[g_sigmode], strlen(modes[g_sigmode])));
  return o;
}

napi_value StatusStr(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int32_t code = 0;
  napi_get_value_int32(env, a.argv[0], &code);
  const char *s = L.interstice_status_str(code);
  return str(env, s, strlen(s));
}

// open(dir|null, opts) -> handle. opts: numeric fields as in lib/database.js.
napi_value Open(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (a.argc < 2) return throw_type(env, "interstice: open(dir, opts)");
  struct {
    interstice_runtime_options o;
    char pad[512];  // a newer library's _init may write more fields
  } ro;
  memset(&ro, 0, sizeof ro);
  L.interstice_runtime_options_init(&ro.o);
  uint32_t lib_version = ro.o.version;
  ro.o.version = INTERSTICE_RUNTIME_OPTIONS_VERSION;
  std::string dir, cache;
  napi_valuetype t;
  napi_typeof(env, a.argv[0], &t);
  if (t == napi_string) {
    if (!get_string(env, a.argv[0], dir)) return nullptr;
    ro.o.data_dir = dir.c_str();
  }
  napi_value o = a.argv[1];
  bool have_cache = false, no_deadline = false;
  if (!get_int(env, o, "sync", &ro.o.sync) || !get_int(env, o, "syncIntervalMs", &ro.o.sync_interval_ms) ||
      !get_int(env, o, "recovery", &ro.o.recovery) || !get_int(env, o, "segmentSize", &ro.o.segment_size) ||
      !get_int(env, o, "snapshotEvery", &ro.o.snapshot_every) ||
      !get_int(env, o, "callDeadlineMs", &ro.o.call_deadline_ms) ||
      !get_int(env, o, "memoryLimitPages", &ro.o.memory_limit_pages) ||
      !get_int(env, o, "snapshotEveryBytes", &ro.o.snapshot_every_bytes) ||
      !get_int(env, o, "keepSnapshots", &ro.o.keep_snapshots) ||
      !get_int(env, o, "retainSegments", &ro.o.retain_segments) ||
      !get_int(env, o, "noDeadline", &no_deadline) ||
      !get_opt_string(env, o, "compilationCacheDir", cache, &have_cache)) {
    throw_napi_failure(env, "reading options");
    return nullptr;
  }
  if (no_deadline) ro.o.call_deadline_ms = INTERSTICE_DEADLINE_NONE;
  if (have_cache) ro.o.compilation_cache_dir = cache.c_str();
  napi_value log_fn = get_prop(env, o, "log");
  napi_value progress_fn = get_prop(env, o, "onProgress");
  if (is_function(env, log_fn) && lib_version < 3) {
    return throw_type(env, "interstice: option log needs libinterstice with runtime options version 3");
  }
  Runtime *rt = new Runtime();
  rt->env = env;
  if (is_function(env, log_fn)) {
    napi_create_reference(env, log_fn, 1, &rt->log_fn);
    ro.o.log = on_log;
    ro.o.log_user = rt;
  }
  ProgressCtx pc{env, nullptr};
  if (is_function(env, progress_fn)) {
    napi_create_reference(env, progress_fn, 1, &pc.fn);
    ro.o.progress = on_progress;
    ro.o.progress_user = &pc;
  }
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_runtime_open(&ro.o, &rt->h, &err);
  }
  if (pc.fn) napi_delete_reference(env, pc.fn);
  if (rc != INTERSTICE_OK) {
    if (pc.first_error) napi_delete_reference(env, pc.first_error);
    rt->closed = true;
    runtime_free(rt);
    return throw_c(env, rc, err);
  }
  if (pc.first_error) {  // the progress callback threw: do not hand out the runtime
    napi_value exc;
    napi_get_reference_value(env, pc.first_error, &exc);
    napi_delete_reference(env, pc.first_error);
    runtime_free(rt);
    napi_throw(env, exc);
    return nullptr;
  }
  napi_value h;
  NAPI_OK(env, napi_create_external(env, rt, finalize_runtime, nullptr, &h));
  return h;
}

napi_value Close(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  if (rt->closed) return undefined(env);
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_runtime_close(rt->h, &err);
  }
  if (rc == INTERSTICE_E_BUSY) return throw_c(env, rc, err);
  rt->closed = true;
  for (auto &kv : rt->subs) kv.second->active = false;
  if (rc != INTERSTICE_OK && rc != INTERSTICE_E_CLOSED) return throw_c(env, rc, err);
  L.interstice_error_free(err);
  return undefined(env);
}

// The runtime functions that return a JSON string.
typedef int (*json_fn)(interstice_runtime *, char **, size_t *, interstice_error **);

napi_value runtime_json(napi_env env, napi_callback_info info, json_fn fn) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  char *out = nullptr;
  size_t n = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = fn(rt->h, &out, &n, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return take_cstring(env, out, n);
}

napi_value ModuleList(napi_env env, napi_callback_info info) { return runtime_json(env, info, L.interstice_module_list); }
napi_value ReplayStats(napi_env env, napi_callback_info info) { return runtime_json(env, info, L.interstice_runtime_replay_stats); }
napi_value RuntimeLogStats(napi_env env, napi_callback_info info) { return runtime_json(env, info, L.interstice_runtime_log_stats); }

// handle_u64 runs a C function that reads one uint64_t of a runtime or a
// log (an LSN) and returns it as a number.
template <typename T, typename H>
napi_value handle_u64(napi_env env, napi_callback_info info, Kind kind,
                      int (*fn)(H *, uint64_t *, interstice_error **)) {
  Args a(env, info);
  T *o = unwrap<T>(env, a.argv[0], kind);
  if (!o) return nullptr;
  uint64_t v = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = fn(o->h, &v, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return num(env, static_cast<double>(v));
}

napi_value LastLsn(napi_env env, napi_callback_info info) {
  return handle_u64<Runtime>(env, info, kRuntime, L.interstice_runtime_last_lsn);
}
napi_value Snapshot(napi_env env, napi_callback_info info) {
  return handle_u64<Runtime>(env, info, kRuntime, L.interstice_runtime_snapshot);
}

// finish_sync throws the first callback error of a sync call (wrapped with
// the committed result) or returns ok.
napi_value finish_sync(napi_env env, CallCtx &ctx, napi_value ok, const std::string *result_json) {
  if (!ctx.first_error) return ok;
  napi_value cause, fn = nullptr, argv[2], global, wrapped = nullptr;
  napi_get_reference_value(env, ctx.first_error, &cause);
  napi_delete_reference(env, ctx.first_error);
  ctx.first_error = nullptr;
  EnvData *ed = env_data(env);
  if (ed->make_callback_error) napi_get_reference_value(env, ed->make_callback_error, &fn);
  if (fn) {
    argv[0] = cause;
    argv[1] = result_json ? str(env, *result_json) : null_value(env);
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, 2, argv, &wrapped) != napi_ok) return nullptr;
  }
  napi_throw(env, wrapped ? wrapped : cause);
  return nullptr;
}

napi_value LoadModule(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  napi_valuetype t;
  napi_typeof(env, a.argv[1], &t);
  std::string path;
  const uint8_t *data = nullptr;
  size_t len = 0;
  if (t == napi_string) {
    if (!get_string(env, a.argv[1], path)) return nullptr;
  } else if (!get_bytes(env, a.argv[1], &data, &len)) {
    return throw_type(env, "interstice: loadModule needs bytes or a path");
  }
  std::vector<uint8_t> copy(data, data + len);  // the bytes must not move while Go reads them
  char *name = nullptr;
  interstice_error *err = nullptr;
  CallCtx ctx;
  ctx.rt = rt;
  ctx.env = env;
  int rc;
  {
    CtxScope cs(&ctx);
    JsBlock sb;
    rc = t == napi_string ? L.interstice_module_load_file(rt->h, path.c_str(), &name, &err)
                          : L.interstice_module_load(rt->h, copy.data(), copy.size(), &name, &err);
  }
  if (rc != INTERSTICE_OK) {
    if (ctx.first_error) napi_delete_reference(env, ctx.first_error);
    return throw_c(env, rc, err);
  }
  napi_value v = take_cstring(env, name, strlen(name));
  return finish_sync(env, ctx, v, nullptr);
}

napi_value Describe(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  SmallStr mod;
  if (!mod.read(env, a.argv[1])) return nullptr;
  uint8_t *out = nullptr;
  size_t n = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_module_describe(rt->h, mod.p, INTERSTICE_FORMAT_JSON, &out, &n, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return take_cstring(env, reinterpret_cast<char *>(out), n);
}

// parse_u64 reads the digits at *p and advances it.
bool parse_u64(const char *&p, const char *end, uint64_t *out) {
  uint64_t v = 0;
  const char *s = p;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  *out = v;
  return p > s;
}

bool expect(const char *&p, const char *end, const char *lit) {
  size_t n = strlen(lit);
  if (static_cast<size_t>(end - p) < n || memcmp(p, lit, n) != 0) return false;
  p += n;
  return true;
}

// fast_result reads the usual call result {"lsn":N,"timestamp":N,"mutations":N,
// "cascade":[],"cascade_error":null} into d[0..2]; false for any other form.
bool fast_result(const char *s, size_t n, double *d) {
  const char *p = s, *end = s + n;
  uint64_t lsn, ts, muts;
  if (!expect(p, end, "{\"lsn\":") || !parse_u64(p, end, &lsn) || !expect(p, end, ",\"timestamp\":") ||
      !parse_u64(p, end, &ts) || !expect(p, end, ",\"mutations\":") || !parse_u64(p, end, &muts) ||
      !expect(p, end, ",\"cascade\":[],\"cascade_error\":null}") || p != end) {
    return false;
  }
  d[0] = static_cast<double>(lsn);
  d[1] = static_cast<double>(ts);
  d[2] = static_cast<double>(muts);
  return true;
}

// call(handle, module, reducer, args, lsnOnly) -> undefined (result in the
// scratch array) | result JSON string | the LSN (lsnOnly). args: undefined (no
// arguments), a string (JSON text) or bytes (an encoded Row).
napi_value Call(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  SmallStr mod, red;
  if (!mod.read(env, a.argv[1]) || !red.read(env, a.argv[2])) return nullptr;
  napi_valuetype t = napi_undefined;
  if (a.argv[3]) napi_typeof(env, a.argv[3], &t);
  std::string json;
  const uint8_t *bytes = nullptr;
  size_t blen = 0;
  if (t == napi_string) {
    if (!get_string(env, a.argv[3], json)) return nullptr;
  } else if (t != napi_undefined && !get_bytes(env, a.argv[3], &bytes, &blen)) {
    return throw_type(env, "interstice: call args must be JSON text or bytes");
  }
  bool lsn_only = false;
  if (a.argv[4]) napi_get_value_bool(env, a.argv[4], &lsn_only);
  char *res = nullptr;
  size_t res_len = 0;
  uint64_t lsn = 0;
  interstice_error *err = nullptr;
  CallCtx ctx;
  ctx.rt = rt;
  ctx.env = env;
  int rc;
  {
    CtxScope cs(&ctx);
    JsBlock sb;
    char **rp = lsn_only ? nullptr : &res;  // run(): no result JSON to build, copy and parse
    if (t == napi_string) {
      rc = L.interstice_call_json(rt->h, mod.p, red.p, json.data(), json.size(), &lsn, rp, &res_len, &err);
    } else {
      rc = L.interstice_call(rt->h, mod.p, red.p, bytes, blen, &lsn, rp, &res_len, &err);
    }
  }
  if (rc != INTERSTICE_OK) {
    if (ctx.first_error) napi_delete_reference(env, ctx.first_error);
    return throw_c(env, rc, err);
  }
  if (lsn_only) {
    std::string result = "{\"lsn\":" + std::to_string(lsn) + "}";
    return finish_sync(env, ctx, num(env, static_cast<double>(lsn)), &result);
  }
  EnvData *ed = env_data(env);
  napi_value out;
  if (!ctx.first_error && ed->scratch_data && fast_result(res, res_len, ed->scratch_data)) {
    g_free(res);
    return undefined(env);
  }
  std::string result(res, res_len);
  g_free(res);
  out = str(env, result);
  return finish_sync(env, ctx, out, &result);
}

// on_call_done runs on the library's completion thread, right after the
// call's subscription and log callbacks (queued in tls_unowned): it hands
// the call and its items to the JS thread.
extern "C" void on_call_done(void *user, int status, uint64_t, const char *result, size_t len,
                             const interstice_error *e) {
  AsyncCall *c = static_cast<AsyncCall *>(user);
  Runtime *rt = c->rt;
  c->rc = status;
  if (status != INTERSTICE_OK) {
    c->err.copy(status, e);
  } else {
    c->result.assign(result, len);
  }
  bool wake;
  {
    std::lock_guard<std::mutex> g(rt->qmu);
    for (Item &it : tls_unowned) {
      it.owner = c;
      rt->queue.push_back(std::move(it));
    }
    rt->completed.push_back(c);
    wake = rt->completed.size() == 1 && rt->tsfn;
    // Under qmu: finalize_tsfn clears rt->tsfn under it, so the function
    // is not called after its finalizer.
    if (wake) napi_call_threadsafe_function(rt->tsfn, nullptr, napi_tsfn_nonblocking);
  }
  tls_unowned.clear();
}

// settle resolves or rejects a completed call's promise (JS thread), after
// the callbacks queued before it.
void settle(napi_env env, AsyncCall *c) {
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  drain(env, c->rt);
  napi_value v = nullptr;
  bool reject = true;
  if (c->rc != INTERSTICE_OK) {
    v = make_error(env, c->err);
  } else if (c->first_error) {
    napi_value cause, fn = nullptr, argv[2], global;
    napi_get_reference_value(env, c->first_error, &cause);
    EnvData *ed = env_data(env);
    if (ed->make_callback_error) napi_get_reference_value(env, ed->make_callback_error, &fn);
    v = cause;
    if (fn) {
      argv[0] = cause;
      argv[1] = str(env, c->result);
      napi_get_global(env, &global);
      napi_value wrapped;
      if (napi_call_function(env, global, fn, 2, argv, &wrapped) == napi_ok) v = wrapped;
    }
  } else {
    v = str(env, c->result);
    reject = false;
  }
  if (v == nullptr) {  // building the error threw: reject with that exception
    napi_get_and_clear_last_exception(env, &v);
  }
  if (reject) {
    napi_reject_deferred(env, c->deferred, v);
  } else {
    napi_resolve_deferred(env, c->deferred, v);
  }
  if (c->first_error) napi_delete_reference(env, c->first_error);
  napi_delete_reference(env, c->handle_ref);
  napi_close_handle_scope(env, scope);
}

// settle_completed is the thread-safe function's call: it settles every
// completed call, in completion (commit) order.
void settle_completed(napi_env env, napi_value, void *context, void *) {
  Runtime *rt = static_cast<Runtime *>(context);
  std::vector<AsyncCall *> batch;
  {
    std::lock_guard<std::mutex> g(rt->qmu);
    batch.swap(rt->completed);
  }
  for (AsyncCall *c : batch) {
    if (env) settle(env, c);  // env is NULL while the environment shuts down
    delete c;
    if (--rt->in_flight == 0 && env) napi_unref_threadsafe_function(env, rt->tsfn);
  }
}

// The thread-safe function's finalizer.
void finalize_tsfn(napi_env, void *data, void *) {
  Runtime *rt = static_cast<Runtime *>(data);
  {
    std::lock_guard<std::mutex> g(rt->qmu);
    rt->tsfn = nullptr;
  }
  runtime_release(rt);
}

// callAsync(handle, module, reducer, args) -> Promise<result JSON string>
napi_value CallAsync(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  std::string module, reducer, json;
  if (!get_string(env, a.argv[1], module) || !get_string(env, a.argv[2], reducer)) return nullptr;
  napi_valuetype t = napi_undefined;
  if (a.argv[3]) napi_typeof(env, a.argv[3], &t);
  const uint8_t *bytes = nullptr;
  size_t blen = 0;
  if (t == napi_string) {
    if (!get_string(env, a.argv[3], json)) return nullptr;
  } else if (t != napi_undefined && !get_bytes(env, a.argv[3], &bytes, &blen)) {
    return throw_type(env, "interstice: callAsync args must be JSON text or bytes");
  }
  if (rt->tsfn == nullptr) {
    napi_value name;
    napi_create_string_utf8(env, "interstice.callAsync", NAPI_AUTO_LENGTH, &name);
    napi_threadsafe_function f;
    NAPI_OK(env, napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, rt, finalize_tsfn, rt,
                                                 settle_completed, &f));
    napi_unref_threadsafe_function(env, f);
    std::lock_guard<std::mutex> g(rt->qmu);
    rt->tsfn = f;
    rt->owners++;
  }
  AsyncCall *c = new AsyncCall();
  c->rt = rt;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    if (t == napi_string) {
      rc = L.interstice_call_json_async(rt->h, module.c_str(), reducer.c_str(), json.data(), json.size(), on_call_done,
                                        c, &err);
    } else {
      rc = L.interstice_call_async(rt->h, module.c_str(), reducer.c_str(), bytes, blen, on_call_done, c, &err);
    }
  }
  napi_value promise;
  napi_create_promise(env, &c->deferred, &promise);
  if (rc != INTERSTICE_OK) {  // not queued: done never runs
    CError ce;
    ce.take(rc, err);
    napi_reject_deferred(env, c->deferred, make_error(env, ce));
    delete c;
    return promise;
  }
  napi_create_reference(env, a.argv[0], 1, &c->handle_ref);
  if (rt->in_flight++ == 0) napi_ref_threadsafe_function(env, rt->tsfn);
  return promise;
}

// getJson(handle, module, table, keyJson) -> row JSON | null
napi_value GetJson(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  SmallStr mod, tab;
  std::string key;
  if (!mod.read(env, a.argv[1]) || !tab.read(env, a.argv[2]) || !get_string(env, a.argv[3], key)) return nullptr;
  char *out = nullptr;
  size_t n = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_get_json(rt->h, mod.p, tab.p, key.data(), key.size(), &out, &n, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  if (out == nullptr) return null_value(env);
  return take_cstring(env, out, n);
}

napi_value Count(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  SmallStr mod, tab;
  if (!mod.read(env, a.argv[1]) || !tab.read(env, a.argv[2])) return nullptr;
  uint64_t n = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_count(rt->h, mod.p, tab.p, &n, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return num(env, static_cast<double>(n));
}

struct Scan {
  Kind kind = kScan;
  interstice_scan *h = nullptr;
  bool closed = false;
};

void finalize_scan(napi_env, void *data, void *) {
  Scan *s = static_cast<Scan *>(data);
  if (!s->closed) {
    JsBlock sb;
    L.interstice_scan_close(s->h, nullptr);
  }
  delete s;
}

napi_value ScanOpen(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  SmallStr mod, tab;
  if (!mod.read(env, a.argv[1]) || !tab.read(env, a.argv[2])) return nullptr;
  interstice_scan *it = nullptr;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_scan_open(rt->h, mod.p, tab.p, INTERSTICE_FORMAT_JSON, &it, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  Scan *s = new Scan();
  s->h = it;
  napi_value h;
  NAPI_OK(env, napi_create_external(env, s, finalize_scan, nullptr, &h));
  return h;
}

// scanNext(scan, maxRows, maxBytes) -> JSON array text | null at the end
napi_value ScanNext(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Scan *s = unwrap<Scan>(env, a.argv[0], kScan);
  if (!s) return nullptr;
  if (s->closed) return null_value(env);
  int64_t rows = 0, bytes = 0;
  napi_get_value_int64(env, a.argv[1], &rows);
  napi_get_value_int64(env, a.argv[2], &bytes);
  uint8_t *out = nullptr;
  size_t n = 0, got = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_scan_next_chunk(s->h, static_cast<size_t>(rows), static_cast<size_t>(bytes), &out, &n, &got,
                                      &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  if (out == nullptr) return null_value(env);
  return take_cstring(env, reinterpret_cast<char *>(out), n);
}

napi_value ScanClose(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Scan *s = unwrap<Scan>(env, a.argv[0], kScan);
  if (!s) return nullptr;
  if (!s->closed) {
    s->closed = true;
    JsBlock sb;
    L.interstice_scan_close(s->h, nullptr);
  }
  return undefined(env);
}

// subscribe(handle, module, table, mask, fn) -> key
napi_value Subscribe(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  Sub *s = new Sub();
  s->rt = rt;
  uint32_t mask = 0;
  if (!get_string(env, a.argv[1], s->module) || !get_string(env, a.argv[2], s->table) ||
      napi_get_value_uint32(env, a.argv[3], &mask) != napi_ok || !is_function(env, a.argv[4])) {
    delete s;
    return throw_type(env, "interstice: subscribe(handle, module, table, mask, fn)");
  }
  s->key = rt->next_key++;
  napi_create_reference(env, a.argv[4], 1, &s->fn);
  rt->subs[s->key] = s;  // before the library can fire it from a threadpool call
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_subscribe(rt->h, s->module.c_str(), s->table.c_str(), mask, on_event, s, &s->c_id, &err);
  }
  if (rc != INTERSTICE_OK) {
    s->active = false;
    return throw_c(env, rc, err);
  }
  return num(env, static_cast<double>(s->key));
}

napi_value Unsubscribe(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Runtime *rt = unwrap<Runtime>(env, a.argv[0], kRuntime);
  if (!rt) return nullptr;
  double key = 0;
  napi_get_value_double(env, a.argv[1], &key);
  auto it = rt->subs.find(static_cast<uint64_t>(key));
  if (it == rt->subs.end() || !it->second->active) {
    napi_value f;
    napi_get_boolean(env, false, &f);
    return f;
  }
  Sub *s = it->second;
  s->active = false;  // queued events of it are dropped from now on
  if (!rt->closed) {
    JsBlock sb;
    L.interstice_unsubscribe(rt->h, s->c_id, nullptr);
  }
  // The Sub itself stays allocated until the runtime is freed: a callback
  // already running on a threadpool thread may still read it.
  napi_delete_reference(env, s->fn);
  s->fn = nullptr;
  napi_value tr;
  napi_get_boolean(env, true, &tr);
  return tr;
}

// ---------------------------------------------------------------------------
// Standalone log
// ---------------------------------------------------------------------------

struct Log {
  Kind kind = kLog;
  interstice_log *h = nullptr;
  bool closed = false;
};

void finalize_log(napi_env, void *data, void *) {
  Log *l = static_cast<Log *>(data);
  if (!l->closed) {
    JsBlock sb;
    L.interstice_log_close(l->h, nullptr);
  }
  delete l;
}

bool log_options(napi_env env, napi_value o, interstice_log_options *lo) {
  L.interstice_log_options_init(lo);
  lo->version = INTERSTICE_LOG_OPTIONS_VERSION;
  napi_valuetype t = napi_undefined;
  if (o) napi_typeof(env, o, &t);
  if (t != napi_object) return true;
  return get_int(env, o, "sync", &lo->sync) && get_int(env, o, "syncIntervalMs", &lo->sync_interval_ms) &&
         get_int(env, o, "recovery", &lo->recovery) && get_int(env, o, "segmentSize", &lo->segment_size) &&
         get_int(env, o, "retainSegments", &lo->retain_segments);
}

napi_value LogOpen(napi_env env, napi_callback_info info) {
  Args a(env, info);
  std::string dir;
  if (!get_string(env, a.argv[0], dir)) return nullptr;
  struct {
    interstice_log_options o;
    char pad[256];
  } lo;
  memset(&lo, 0, sizeof lo);
  if (!log_options(env, a.argv[1], &lo.o)) {
    throw_napi_failure(env, "reading log options");
    return nullptr;
  }
  Log *l = new Log();
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_open(dir.c_str(), &lo.o, &l->h, &err);
  }
  if (rc != INTERSTICE_OK) {
    delete l;
    return throw_c(env, rc, err);
  }
  napi_value h;
  NAPI_OK(env, napi_create_external(env, l, finalize_log, nullptr, &h));
  return h;
}

napi_value LogClose(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  if (l->closed) return undefined(env);
  l->closed = true;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_close(l->h, &err);
  }
  if (rc != INTERSTICE_OK && rc != INTERSTICE_E_CLOSED) return throw_c(env, rc, err);
  L.interstice_error_free(err);
  return undefined(env);
}

napi_value LogAppend(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  const uint8_t *p;
  size_t n;
  if (!get_bytes(env, a.argv[1], &p, &n)) return throw_type(env, "interstice: append needs bytes");
  uint64_t lsn = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_append(l->h, p, n, &lsn, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return num(env, static_cast<double>(lsn));
}

napi_value LogAppendJson(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  std::string js;
  if (!get_string(env, a.argv[1], js)) return nullptr;
  uint64_t lsn = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_append_json(l->h, js.data(), js.size(), &lsn, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return num(env, static_cast<double>(lsn));
}

napi_value LogAppendBatch(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  uint32_t count = 0;
  NAPI_OK(env, napi_get_array_length(env, a.argv[1], &count));
  std::vector<const uint8_t *> ptrs(count);
  std::vector<size_t> lens(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value e;
    NAPI_OK(env, napi_get_element(env, a.argv[1], i, &e));
    if (!get_bytes(env, e, &ptrs[i], &lens[i])) return throw_type(env, "interstice: appendBatch needs bytes");
  }
  uint64_t first = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_append_batch(l->h, ptrs.data(), lens.data(), count, &first, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return num(env, static_cast<double>(first));
}

typedef int (*log_op_fn)(interstice_log *, interstice_error **);
napi_value log_op(napi_env env, napi_callback_info info, log_op_fn fn) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = fn(l->h, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return undefined(env);
}
napi_value LogSync(napi_env env, napi_callback_info info) { return log_op(env, info, L.interstice_log_sync); }
napi_value LogRotate(napi_env env, napi_callback_info info) { return log_op(env, info, L.interstice_log_rotate); }

napi_value LogFirstLsn(napi_env env, napi_callback_info info) {
  return handle_u64<Log>(env, info, kLog, L.interstice_log_first_lsn);
}
napi_value LogLastLsn(napi_env env, napi_callback_info info) {
  return handle_u64<Log>(env, info, kLog, L.interstice_log_last_lsn);
}

napi_value LogStats(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  char *out = nullptr;
  size_t n = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_stats(l->h, &out, &n, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return take_cstring(env, out, n);
}

struct ReplayChunk {
  std::vector<std::pair<uint64_t, std::string>> recs;
  size_t max_records, max_bytes, bytes = 0;
  bool stopped = false;
};

extern "C" int on_replay(void *user, uint64_t lsn, const uint8_t *payload, size_t len) {
  ReplayChunk *c = static_cast<ReplayChunk *>(user);
  c->recs.emplace_back(lsn, std::string(reinterpret_cast<const char *>(payload), len));
  c->bytes += len;
  if (c->recs.size() >= c->max_records || c->bytes >= c->max_bytes) {
    c->stopped = true;
    return 1;
  }
  return 0;
}

// logReplay(handle, fromLsn, maxRecords, maxBytes) -> {lsns, payloads, more, error}
napi_value LogReplay(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Log *l = unwrap<Log>(env, a.argv[0], kLog);
  if (!l) return nullptr;
  double from = 0, maxr = 0, maxb = 0;
  napi_get_value_double(env, a.argv[1], &from);
  napi_get_value_double(env, a.argv[2], &maxr);
  napi_get_value_double(env, a.argv[3], &maxb);
  ReplayChunk c;
  c.max_records = static_cast<size_t>(maxr);
  c.max_bytes = static_cast<size_t>(maxb);
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_replay(l->h, static_cast<uint64_t>(from), on_replay, &c, &err);
  }
  napi_value o, lsns, payloads, b;
  napi_create_object(env, &o);
  napi_create_array_with_length(env, c.recs.size(), &lsns);
  napi_create_array_with_length(env, c.recs.size(), &payloads);
  for (size_t i = 0; i < c.recs.size(); i++) {
    napi_set_element(env, lsns, static_cast<uint32_t>(i), num(env, static_cast<double>(c.recs[i].first)));
    napi_set_element(env, payloads, static_cast<uint32_t>(i), copy_buffer(env, c.recs[i].second.data(), c.recs[i].second.size()));
  }
  napi_set_named_property(env, o, "lsns", lsns);
  napi_set_named_property(env, o, "payloads", payloads);
  napi_get_boolean(env, c.stopped && rc == INTERSTICE_OK, &b);
  napi_set_named_property(env, o, "more", b);
  if (rc != INTERSTICE_OK) {
    CError ce;
    ce.take(rc, err);
    napi_value e = make_error(env, ce);
    if (!e) return nullptr;
    napi_set_named_property(env, o, "error", e);
  }
  return o;
}

napi_value LogValidate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  std::string dir;
  if (!get_string(env, a.argv[0], dir)) return nullptr;
  struct {
    interstice_log_options o;
    char pad[256];
  } lo;
  memset(&lo, 0, sizeof lo);
  if (!log_options(env, a.argv[1], &lo.o)) return nullptr;
  interstice_log_report *r = nullptr;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_log_validate(dir.c_str(), &lo.o, &r, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  napi_value o, b;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "records", num(env, static_cast<double>(r->records)));
  napi_set_named_property(env, o, "bytes", num(env, static_cast<double>(r->bytes)));
  napi_set_named_property(env, o, "validBytes", num(env, static_cast<double>(r->valid_bytes)));
  napi_set_named_property(env, o, "firstLsn", num(env, static_cast<double>(r->first_lsn)));
  napi_set_named_property(env, o, "lastLsn", num(env, static_cast<double>(r->last_lsn)));
  napi_set_named_property(env, o, "segments", num(env, r->segments));
  napi_get_boolean(env, r->torn_tail != 0, &b);
  napi_set_named_property(env, o, "tornTail", b);
  if (r->torn_tail) {
    napi_value t;
    napi_create_object(env, &t);
    napi_set_named_property(env, t, "segment", str(env, r->torn_segment ? r->torn_segment : "", r->torn_segment ? strlen(r->torn_segment) : 0));
    napi_set_named_property(env, t, "offset", num(env, static_cast<double>(r->torn_offset)));
    napi_set_named_property(env, t, "lsn", num(env, static_cast<double>(r->torn_lsn)));
    napi_set_named_property(env, t, "reason", str(env, r->torn_reason ? r->torn_reason : "", r->torn_reason ? strlen(r->torn_reason) : 0));
    napi_set_named_property(env, o, "torn", t);
  } else {
    napi_set_named_property(env, o, "torn", null_value(env));
  }
  if (r->problem_code != INTERSTICE_OK) {
    napi_value p, code;
    napi_create_object(env, &p);
    napi_create_int32(env, r->problem_code, &code);
    napi_set_named_property(env, p, "status", code);
    napi_set_named_property(env, p, "segment", str(env, r->problem_segment ? r->problem_segment : "", r->problem_segment ? strlen(r->problem_segment) : 0));
    napi_set_named_property(env, p, "offset", num(env, static_cast<double>(r->problem_offset)));
    napi_set_named_property(env, p, "lsn", num(env, static_cast<double>(r->problem_lsn)));
    napi_set_named_property(env, p, "reason", str(env, r->problem_reason ? r->problem_reason : "", r->problem_reason ? strlen(r->problem_reason) : 0));
    napi_set_named_property(env, o, "problem", p);
  } else {
    napi_set_named_property(env, o, "problem", null_value(env));
  }
  L.interstice_log_report_free(r);
  return o;
}

typedef int (*dir_json_fn)(const char *, const interstice_log_options *, char **, size_t *, interstice_error **);
napi_value dir_json(napi_env env, napi_callback_info info, dir_json_fn fn) {
  Args a(env, info);
  std::string dir;
  if (!get_string(env, a.argv[0], dir)) return nullptr;
  struct {
    interstice_log_options o;
    char pad[256];
  } lo;
  memset(&lo, 0, sizeof lo);
  if (!log_options(env, a.argv[1], &lo.o)) return nullptr;
  char *out = nullptr;
  size_t n = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = fn(dir.c_str(), &lo.o, &out, &n, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return take_cstring(env, out, n);
}
napi_value LogInspect(napi_env env, napi_callback_info info) { return dir_json(env, info, L.interstice_log_inspect); }
napi_value LogRepair(napi_env env, napi_callback_info info) { return dir_json(env, info, L.interstice_log_repair); }

napi_value RecordToJson(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const uint8_t *p;
  size_t n;
  if (!get_bytes(env, a.argv[0], &p, &n)) return throw_type(env, "interstice: recordToJson needs bytes");
  char *out = nullptr;
  size_t len = 0;
  interstice_error *err = nullptr;
  int rc;
  {
    JsBlock sb;
    rc = L.interstice_record_to_json(p, n, &out, &len, &err);
  }
  if (rc != INTERSTICE_OK) return throw_c(env, rc, err);
  return take_cstring(env, out, len);
}

// sigmaskBench(n) runs n block/restore pairs and returns ns per pair (the
// cost the signal design adds to every call; bench/node reports it).
napi_value SigmaskBench(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = 0;
  napi_get_value_int64(env, a.argv[0], &n);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int64_t i = 0; i < n; i++) {  // always the per-call pair, whatever the mode
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &g_async, &old);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  return num(env, n > 0 ? ns / static_cast<double>(n) : 0);
}

// LoopHooks restore a JS thread's deferred mask every time its loop turns:
// before it waits for I/O (prepare) and after it polled (check). Both
// handles are unref'ed: they never keep a process or worker alive.
struct LoopHooks {
  uv_prepare_t prepare;
  uv_check_t check;
  int open = 2;
  napi_async_cleanup_hook_handle cleanup = nullptr;
};

void on_loop_turn_prepare(uv_prepare_t *) { restore_js_mask(); }
void on_loop_turn_check(uv_check_t *) { restore_js_mask(); }

void loop_hooks_closed(uv_handle_t *h) {
  LoopHooks *lh = static_cast<LoopHooks *>(h->data);
  if (--lh->open == 0) {
    napi_remove_async_cleanup_hook(lh->cleanup);
    delete lh;
  }
}

void loop_hooks_cleanup(napi_async_cleanup_hook_handle, void *arg) {
  LoopHooks *lh = static_cast<LoopHooks *>(arg);
  restore_js_mask();
  uv_close(reinterpret_cast<uv_handle_t *>(&lh->prepare), loop_hooks_closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&lh->check), loop_hooks_closed);
}

bool install_loop_hooks(napi_env env) {
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return false;
  LoopHooks *lh = new LoopHooks();
  lh->prepare.data = lh;
  lh->check.data = lh;
  uv_prepare_init(loop, &lh->prepare);
  uv_check_init(loop, &lh->check);
  uv_prepare_start(&lh->prepare, on_loop_turn_prepare);
  uv_check_start(&lh->check, on_loop_turn_check);
  uv_unref(reinterpret_cast<uv_handle_t *>(&lh->prepare));
  uv_unref(reinterpret_cast<uv_handle_t *>(&lh->check));
  napi_add_async_cleanup_hook(env, loop_hooks_cleanup, lh, &lh->cleanup);
  return true;
}

void free_env_data(napi_env env, void *data, void *) {
  EnvData *ed = static_cast<EnvData *>(data);
  if (ed->make_error) napi_delete_reference(env, ed->make_error);
  if (ed->make_callback_error) napi_delete_reference(env, ed->make_callback_error);
  if (ed->scratch) napi_delete_reference(env, ed->scratch);
  delete ed;
}

}  // namespace

NAPI_MODULE_INIT() {
  std::call_once(g_load_once, load_library);
  if (!g_load_error.empty()) {
    napi_throw_error(env, "INTERSTICE_LOAD", g_load_error.c_str());
    return nullptr;
  }
  napi_set_instance_data(env, new EnvData(), free_env_data, nullptr);
  if (g_sigmode == kMaskDeferred && !install_loop_hooks(env)) {
    napi_throw_error(env, "INTERSTICE_LOAD", "interstice: cannot install the event-loop hooks that restore the signal mask");
    return nullptr;
  }
  napi_property_descriptor props[] = {
#define FN(name, fn) {name, nullptr, fn, nullptr, nullptr, nullptr, napi_default, nullptr}
      FN("setup", Setup),
      FN("versions", Versions),
      FN("statusStr", StatusStr),
      FN("open", Open),
      FN("close", Close),
      FN("moduleList", ModuleList),
      FN("replayStats", ReplayStats),
      FN("logStats", RuntimeLogStats),
      FN("lastLsn", LastLsn),
      FN("snapshot", Snapshot),
      FN("loadModule", LoadModule),
      FN("describe", Describe),
      FN("call", Call),
      FN("callAsync", CallAsync),
      FN("getJson", GetJson),
      FN("count", Count),
      FN("scanOpen", ScanOpen),
      FN("scanNext", ScanNext),
      FN("scanClose", ScanClose),
      FN("subscribe", Subscribe),
      FN("unsubscribe", Unsubscribe),
      FN("logOpen", LogOpen),
      FN("logClose", LogClose),
      FN("logAppend", LogAppend),
      FN("logAppendJson", LogAppendJson),
      FN("logAppendBatch", LogAppendBatch),
      FN("logSync", LogSync),
      FN("logRotate", LogRotate),
      FN("logFirstLsn", LogFirstLsn),
      FN("logLastLsn", LogLastLsn),
      FN("logLogStats", LogStats),
      FN("logReplay", LogReplay),
      FN("logValidate", LogValidate),
      FN("logInspect", LogInspect),
      FN("logRepair", LogRepair),
      FN("recordToJson", RecordToJson),
      FN("sigmaskBench", SigmaskBench),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
