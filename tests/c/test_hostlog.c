/* test_hostlog: the guest log callback (runtime options version 3), the
 * older options versions that do not have it, and the log write counters
 * (interstice_runtime_log_stats, interstice_log_stats). */
#include "testutil.h"

typedef struct {
    interstice_runtime *rt;
    int lines;
    int32_t level;
    char module[64];
    char message[256];
    size_t message_len;
    int busy_checked;
} sink;

static void on_log(void *user, int32_t level, const char *module, const char *message,
                   size_t message_len) {
    sink *s = (sink *)user;
    uint64_t n = 0;
    s->lines++;
    s->level = level;
    snprintf(s->module, sizeof s->module, "%s", module);
    CHECK(message[message_len] == '\0');
    snprintf(s->message, sizeof s->message, "%s", message);
    s->message_len = message_len;
    if (!s->busy_checked) {
        /* reads are allowed inside the callback; calls and close are BUSY */
        CHECK(interstice_count(s->rt, "counter", "counters", &n, NULL) == INTERSTICE_OK);
        CHECK(interstice_call_json(s->rt, "counter", "add", "[\"y\",1]", 7, NULL, NULL, NULL, NULL) ==
              INTERSTICE_E_BUSY);
        CHECK(interstice_runtime_close(s->rt, NULL) == INTERSTICE_E_BUSY);
        s->busy_checked = 1;
    }
}

int main(void) {
    interstice_runtime_options ro;
    interstice_runtime *rt = NULL;
    interstice_log_options lo;
    interstice_log *log = NULL;
    char cache[1024], rec[256], *js = NULL, *dir, *logdir;
    sink s;
    uint64_t lsn = 0;
    int i, n;

    snprintf(cache, sizeof cache, "%s/.cache", wasm_dir());
    memset(&s, 0, sizeof s);

    /* version 3: every guest log line reaches the callback, on the calling
     * thread, inside the call */
    interstice_runtime_options_init(&ro);
    CHECK(ro.version == 4 && ro.log == NULL && ro.log_user == NULL);
    ro.compilation_cache_dir = cache;
    ro.log = on_log;
    ro.log_user = &s;
    OK(interstice_runtime_open(&ro, &rt, &err));
    s.rt = rt;
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    OK(interstice_call_json(rt, "counter", "add", "[\"x\",5]", 7, NULL, NULL, NULL, &err));
    CHECK(s.lines == 0); /* add does not log */
    OK(interstice_call_json(rt, "counter", "reset", "[\"x\"]", 5, NULL, NULL, NULL, &err));
    CHECK(s.lines == 1 && s.busy_checked);
    CHECK(s.level == INTERSTICE_LOG_INFO);
    CHECK(strcmp(s.module, "counter") == 0);
    CHECK(strcmp(s.message, "counter x reset") == 0 && s.message_len == strlen("counter x reset"));
    /* reset of a missing counter fails before it logs */
    RC(INTERSTICE_E_REDUCER_FAILED, interstice_call_json(rt, "counter", "reset", "[\"nope\"]", 8, NULL, NULL, NULL, &err));
    CHECK(s.lines == 1);

    /* in memory: the log counters are all zero */
    OK(interstice_runtime_log_stats(rt, &js, NULL, &err));
    CHECK(strcmp(js, "{\"writes\":0,\"fdatasyncs\":0,\"records\":0,\"gathers\":0}") == 0);
    interstice_free(js);
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_log_stats(rt, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_log_stats(NULL, &js, NULL, &err));
    CHECK(js == NULL);
    OK(interstice_runtime_close(rt, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_log_stats(rt, &js, NULL, &err));

    /* version 2 does not have the log fields: they are not read, even when
     * the memory behind the struct holds garbage there */
    interstice_runtime_options_init(&ro);
    ro.version = 2;
    ro.compilation_cache_dir = cache;
    ro.log = (interstice_log_fn)(uintptr_t)0x1; /* would crash if called */
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    OK(interstice_call_json(rt, "counter", "add", "[\"x\",1]", 7, NULL, NULL, NULL, &err));
    OK(interstice_call_json(rt, "counter", "reset", "[\"x\"]", 5, NULL, NULL, NULL, &err));
    OK(interstice_runtime_close(rt, &err));
    interstice_runtime_options_init(&ro);
    ro.version = 5;
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "options version 5", interstice_runtime_open(&ro, &rt, &err));

    /* durable: each call is one acknowledged record; fdatasyncs count */
    dir = make_tmpdir("hostlog");
    interstice_runtime_options_init(&ro);
    ro.data_dir = dir;
    ro.compilation_cache_dir = cache;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    for (i = 0; i < 5; i++) {
        OK(interstice_call_json(rt, "counter", "add", "[\"x\",1]", 7, NULL, NULL, NULL, &err));
    }
    OK(interstice_runtime_log_stats(rt, &js, NULL, &err));
    CHECK(json_u64(js, "records") == 6); /* the module load and 5 calls */
    CHECK(json_u64(js, "fdatasyncs") >= 6 && json_u64(js, "writes") >= 6);
    interstice_free(js);
    OK(interstice_runtime_close(rt, &err));
    rm_rf(dir);
    free(dir);

    /* a standalone log counts the same way */
    logdir = make_tmpdir("hostlog-log");
    interstice_log_options_init(&lo);
    OK(interstice_log_open(logdir, &lo, &log, &err));
    for (i = 1; i <= 3; i++) {
        n = snprintf(rec, sizeof rec, "{\"kind\":\"External\",\"module\":\"m\",\"mutations\":[]}");
        OK(interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
    }
    OK(interstice_log_stats(log, &js, NULL, &err));
    CHECK(json_u64(js, "records") == 3 && json_u64(js, "fdatasyncs") == 3);
    interstice_free(js);
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_stats(log, NULL, NULL, &err));
    OK(interstice_log_close(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_stats(log, &js, NULL, &err));
    rm_rf(logdir);
    free(logdir);
    puts("test_hostlog: ok");
    return 0;
}
