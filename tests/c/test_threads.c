/* test_threads: one runtime and one log shared by many pthreads. Writers
 * call reducers while readers get, count and scan; many threads append to
 * one log (group commit) and every LSN is present exactly once. */
#include <pthread.h>
#include "testutil.h"

#define WRITERS 4
#define CALLS 300
#define READERS 3
#define APPENDERS 8
#define APPENDS 150

static interstice_runtime *rt;
static interstice_log *lg;
static volatile int writers_done;

static void *writer(void *arg) {
    long id = (long)arg;
    char args[64];
    int i, n;
    for (i = 0; i < CALLS; i++) {
        interstice_error *e = NULL;
        n = snprintf(args, sizeof args, "[\"w%ld\", 1]", id);
        if (interstice_call_json(rt, "counter", "add", args, (size_t)n, NULL, NULL, NULL, &e) != 0) {
            fprintf(stderr, "writer %ld: %s\n", id, e ? e->message : "?");
            exit(1);
        }
    }
    return NULL;
}

static void *reader(void *arg) {
    long reads = 0;
    (void)arg;
    while (!writers_done || reads < 50) {
        uint64_t n = 0;
        char *js = NULL;
        uint8_t *row = NULL;
        size_t len = 0, rows = 0;
        interstice_scan *it = NULL;
        CHECK(interstice_count(rt, "counter", "counters", &n, NULL) == 0 && n <= WRITERS);
        CHECK(interstice_get_json(rt, "counter", "counters", "\"w0\"", 4, &js, &len, NULL) == 0);
        interstice_free(js);
        CHECK(interstice_scan_open(rt, "counter", "counters", reads % 2 ? INTERSTICE_FORMAT_JSON : INTERSTICE_FORMAT_FLATBUFFERS, &it, NULL) == 0);
        CHECK(interstice_scan_next_chunk(it, 0, 0, &row, &len, &rows, NULL) == 0 && rows <= WRITERS);
        interstice_free(row);
        CHECK(interstice_scan_close(it, NULL) == 0);
        reads++;
    }
    return NULL;
}

static void *appender(void *arg) {
    long id = (long)arg;
    char rec[512];
    int i, n;
    uint64_t lsn, prev = 0;
    for (i = 0; i < APPENDS; i++) {
        n = make_record_json(rec, sizeof rec, "t", id * 100000 + i);
        CHECK(interstice_log_append_json(lg, rec, (size_t)n, &lsn, NULL) == 0);
        CHECK(lsn > prev); /* a thread's own appends get increasing LSNs */
        prev = lsn;
    }
    return NULL;
}

static unsigned char seen[APPENDERS * APPENDS + 1];
static int count_lsn(void *user, uint64_t lsn, const uint8_t *p, size_t n) {
    (void)user; (void)p; (void)n;
    CHECK(lsn >= 1 && lsn <= APPENDERS * APPENDS && !seen[lsn]);
    seen[lsn] = 1;
    return 0;
}

int main(void) {
    pthread_t w[WRITERS], r[READERS], a[APPENDERS];
    long i;
    uint64_t last = 0;
    char *dir = make_tmpdir("threads");
    char key[16], *js = NULL;
    int n;

    OK(interstice_runtime_open(NULL, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    for (i = 0; i < READERS; i++) CHECK(pthread_create(&r[i], NULL, reader, (void *)i) == 0);
    for (i = 0; i < WRITERS; i++) CHECK(pthread_create(&w[i], NULL, writer, (void *)i) == 0);
    for (i = 0; i < WRITERS; i++) CHECK(pthread_join(w[i], NULL) == 0);
    writers_done = 1;
    for (i = 0; i < READERS; i++) CHECK(pthread_join(r[i], NULL) == 0);
    for (i = 0; i < WRITERS; i++) {
        n = snprintf(key, sizeof key, "\"w%ld\"", i);
        OK(interstice_get_json(rt, "counter", "counters", key, (size_t)n, &js, NULL, &err));
        CHECK(js && strstr(js, "\"value\":300}"));
        interstice_free(js);
    }
    OK(interstice_runtime_close(rt, &err));

    OK(interstice_log_open(dir, NULL, &lg, &err));
    for (i = 0; i < APPENDERS; i++) CHECK(pthread_create(&a[i], NULL, appender, (void *)i) == 0);
    for (i = 0; i < APPENDERS; i++) CHECK(pthread_join(a[i], NULL) == 0);
    OK(interstice_log_last_lsn(lg, &last, &err));
    CHECK(last == APPENDERS * APPENDS);
    OK(interstice_log_replay(lg, 0, count_lsn, NULL, &err));
    for (i = 1; i <= APPENDERS * APPENDS; i++) CHECK(seen[i]);
    OK(interstice_log_close(lg, &err));

    /* concurrent close and use: every call either works or says CLOSED */
    OK(interstice_runtime_open(NULL, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    {
        pthread_t t[3];
        for (i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, writer, (void *)(i + 10)) == 0);
        for (i = 0; i < 3; i++) CHECK(pthread_join(t[i], NULL) == 0);
    }
    OK(interstice_runtime_close(rt, &err));

    rm_rf(dir);
    free(dir);
    printf("test_threads: ok\n");
    return 0;
}
