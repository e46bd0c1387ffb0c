/* test_async: interstice_call_async / interstice_call_json_async.
 *
 * - 2,000 calls queued from one thread, none waited for: every done runs
 *   exactly once with OK and its own LSN, in LSN order, on one thread that
 *   is not the caller's, right after the call's subscription callback on
 *   that thread; the calls share fdatasyncs.
 * - A failing reducer reaches done with its status and error; arguments
 *   that do not fit are refused at once and done never runs.
 * - A reducer call from inside done returns BUSY.
 * - Close waits for queued calls; after it, call_async returns CLOSED.
 * - In memory, done runs before call_async returns, on the calling thread.
 */
#include <pthread.h>
#include "testutil.h"

#define CALLS 2000

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done, failed, busy_seen;
    uint64_t last_lsn, last_event_lsn;
    pthread_t thread;
    int threads_differ;
    int status[4];
    char message[512];
} state;

static state st = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
static interstice_runtime *rt;

static void note_thread(void) {
    if (st.done == 0 && st.last_event_lsn == 0) {
        st.thread = pthread_self();
    } else if (!pthread_equal(st.thread, pthread_self())) {
        st.threads_differ = 1;
    }
}

static void on_event(void *user, const interstice_event *ev) {
    (void)user;
    pthread_mutex_lock(&st.mu);
    note_thread();
    CHECK(ev->lsn > st.last_event_lsn);
    st.last_event_lsn = ev->lsn;
    pthread_mutex_unlock(&st.mu);
}

static void on_done(void *user, int status, uint64_t lsn, const char *result, size_t len, const interstice_error *e) {
    (void)user;
    pthread_mutex_lock(&st.mu);
    note_thread();
    if (status != INTERSTICE_OK) {
        fprintf(stderr, "done: status %d: %s\n", status, e ? e->message : "?");
        st.failed++;
    } else {
        CHECK(e == NULL && result != NULL && len > 0 && result[len] == '\0');
        CHECK(json_u64(result, "lsn") == lsn);
        CHECK(lsn > st.last_lsn);
        /* The call's own subscription callback ran right before. */
        CHECK(st.last_event_lsn == lsn);
        st.last_lsn = lsn;
    }
    st.done++;
    pthread_cond_broadcast(&st.cond);
    pthread_mutex_unlock(&st.mu);
}

static void wait_done(int n) {
    pthread_mutex_lock(&st.mu);
    while (st.done < n) pthread_cond_wait(&st.cond, &st.mu);
    pthread_mutex_unlock(&st.mu);
}

/* on_done_record keeps the status and message of a single call. */
static void on_done_record(void *user, int status, uint64_t lsn, const char *result, size_t len, const interstice_error *e) {
    int slot = (int)(intptr_t)user;
    (void)lsn;
    (void)result;
    (void)len;
    pthread_mutex_lock(&st.mu);
    st.status[slot] = status;
    if (e) snprintf(st.message, sizeof st.message, "%s", e->message);
    if (status != INTERSTICE_OK) CHECK(e != NULL && e->code == status && result == NULL);
    st.done++;
    pthread_cond_broadcast(&st.cond);
    pthread_mutex_unlock(&st.mu);
}

/* on_done_reenter calls into the runtime from inside done. */
static void on_done_reenter(void *user, int status, uint64_t lsn, const char *result, size_t len, const interstice_error *e) {
    interstice_error *er = NULL;
    (void)user;
    (void)lsn;
    (void)result;
    (void)len;
    (void)e;
    CHECK(status == INTERSTICE_OK);
    int rc = interstice_call_json(rt, "noop", "noop", NULL, 0, NULL, NULL, NULL, &er);
    int rc2 = interstice_call_json_async(rt, "noop", "noop", NULL, 0, on_done, NULL, NULL);
    pthread_mutex_lock(&st.mu);
    st.busy_seen = rc == INTERSTICE_E_BUSY && rc2 == INTERSTICE_E_BUSY && er && strstr(er->message, "callback");
    st.done++;
    pthread_cond_broadcast(&st.cond);
    pthread_mutex_unlock(&st.mu);
    interstice_error_free(er);
}

static void durable(void) {
    char *dir = make_tmpdir("async");
    interstice_runtime_options ro;
    char args[64];
    char *js = NULL;
    uint64_t sub;
    int i, n;
    interstice_runtime_options_init(&ro);
    ro.data_dir = dir;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("noop"), NULL, &err));
    OK(interstice_module_load_file(rt, wasm_path("trapper"), NULL, &err));
    OK(interstice_subscribe(rt, "noop", "kv", INTERSTICE_EVENT_INSERT, on_event, NULL, &sub, &err));

    for (i = 0; i < CALLS; i++) {
        n = snprintf(args, sizeof args, "[%d,\"n\",%d]", i + 1, i);
        OK(interstice_call_json_async(rt, "noop", "insert", args, (size_t)n, on_done, NULL, &err));
    }
    wait_done(CALLS);
    CHECK(st.failed == 0);
    CHECK(!st.threads_differ);
    CHECK(!pthread_equal(st.thread, pthread_self()));
    OK(interstice_runtime_log_stats(rt, &js, NULL, &err));
    CHECK(json_u64(js, "records") >= CALLS);
    CHECK(json_u64(js, "fdatasyncs") * 4 < json_u64(js, "records")); /* shared */
    interstice_free(js);
    OK(interstice_unsubscribe(rt, sub, &err));

    /* Failures reach done; refused arguments never do. */
    st.done = 0;
    OK(interstice_call_json_async(rt, "trapper", "insert3_panic", "[10]", 4, on_done_record, (void *)0, &err));
    OK(interstice_call_async(rt, "noop", "nope", NULL, 0, on_done_record, (void *)1, &err));
    wait_done(2);
    CHECK(st.status[0] == INTERSTICE_E_REDUCER_FAILED);
    CHECK(st.status[1] == INTERSTICE_E_NOT_FOUND);
    RC(INTERSTICE_E_TYPE, interstice_call_json_async(rt, "noop", "insert", "[1]", 3, on_done_record, (void *)2, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_call_json_async(rt, "noop", "nope", "[]", 2, on_done_record, (void *)2, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call_json_async(rt, "noop", "noop", NULL, 0, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call_async(rt, "noop", "noop", NULL, 5, on_done_record, (void *)2, &err));

    /* Re-entry from done is BUSY. */
    st.done = 0;
    OK(interstice_call_json_async(rt, "noop", "noop", NULL, 0, on_done_reenter, NULL, &err));
    wait_done(1);
    CHECK(st.busy_seen);

    /* Close waits for what was queued; then CLOSED. */
    st.done = 0;
    st.last_lsn = st.last_event_lsn = 0;
    OK(interstice_subscribe(rt, "noop", "kv", INTERSTICE_EVENT_INSERT, on_event, NULL, &sub, &err));
    for (i = 0; i < 200; i++) {
        n = snprintf(args, sizeof args, "[%d,\"m\",%d]", CALLS + i + 1, i);
        OK(interstice_call_json_async(rt, "noop", "insert", args, (size_t)n, on_done, NULL, &err));
    }
    OK(interstice_runtime_close(rt, &err));
    CHECK(st.done == 200 && st.failed == 0);
    rm_rf(dir);
}

static void in_memory(void) {
    interstice_runtime *mem;
    OK(interstice_runtime_open(NULL, &mem, &err));
    OK(interstice_module_load_file(mem, wasm_path("noop"), NULL, &err));
    st.done = 0;
    OK(interstice_call_json_async(mem, "noop", "insert", "[1,\"a\",1]", 9, on_done_record, (void *)3, &err));
    CHECK(st.done == 1 && st.status[3] == INTERSTICE_OK); /* ran before returning */
    OK(interstice_runtime_close(mem, &err));
    RC(INTERSTICE_E_CLOSED, interstice_call_json_async(mem, "noop", "noop", NULL, 0, on_done_record, (void *)3, &err));
}

int main(void) {
    durable();
    in_memory();
    /* After close of a durable runtime, CLOSED too. */
    RC(INTERSTICE_E_CLOSED, interstice_call_json_async(rt, "noop", "noop", NULL, 0, on_done, NULL, &err));
    printf("test_async: ok\n");
    return 0;
}
