/* bench_noop: ns per noop reducer call from C (FlatBuffers and JSON
 * arguments), and durable (fdatasync) log appends per second from C with 1
 * and 8 threads. Prints one "name value unit" line per figure.
 *
 *   bench_noop [noop.wasm] [log-dir-parent]
 */
#include <pthread.h>
#include "testutil.h"

static interstice_log *lg;
static int per_thread;

static void *appender(void *arg) {
    char rec[512];
    int i, n;
    long id = (long)arg;
    for (i = 0; i < per_thread; i++) {
        n = make_record_json(rec, sizeof rec, "bench", id * 1000000 + i);
        CHECK(interstice_log_append_json(lg, rec, (size_t)n, NULL, NULL) == 0);
    }
    return NULL;
}

static double appends_per_sec(const char *parent, int threads, int total) {
    char dir[1024];
    pthread_t t[64];
    double t0, t1;
    long i;
    snprintf(dir, sizeof dir, "%s/istc-bench-%d-XXXXXX", parent, threads);
    CHECK(mkdtemp(dir) != NULL);
    OK(interstice_log_open(dir, NULL, &lg, &err));
    per_thread = total / threads;
    t0 = now_sec();
    for (i = 0; i < threads; i++) CHECK(pthread_create(&t[i], NULL, appender, (void *)i) == 0);
    for (i = 0; i < threads; i++) CHECK(pthread_join(t[i], NULL) == 0);
    t1 = now_sec();
    OK(interstice_log_close(lg, &err));
    rm_rf(dir);
    return (double)(per_thread * threads) / (t1 - t0);
}

int main(int argc, char **argv) {
    const char *wasm = argc > 1 ? argv[1] : wasm_path("noop");
    const char *parent = argc > 2 ? argv[2] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    interstice_runtime *rt = NULL;
    int i, iters = 200000;
    double t0, t1;

    OK(interstice_runtime_open(NULL, &rt, &err));
    OK(interstice_module_load_file(rt, wasm, NULL, &err));
    for (i = 0; i < 20000; i++) OK(interstice_call(rt, "noop", "noop", NULL, 0, NULL, NULL, NULL, NULL));
    t0 = now_sec();
    for (i = 0; i < iters; i++) interstice_call(rt, "noop", "noop", NULL, 0, NULL, NULL, NULL, NULL);
    t1 = now_sec();
    printf("c_noop_call %.0f ns/call\n", (t1 - t0) * 1e9 / iters);
    t0 = now_sec();
    for (i = 0; i < iters / 4; i++) interstice_call_json(rt, "noop", "noop", "[]", 2, NULL, NULL, NULL, NULL);
    t1 = now_sec();
    printf("c_noop_call_json %.0f ns/call\n", (t1 - t0) * 1e9 / (iters / 4));
    OK(interstice_runtime_close(rt, &err));

    printf("c_durable_append_1thread %.0f appends/s\n", appends_per_sec(parent, 1, 2000));
    printf("c_durable_append_8threads %.0f appends/s\n", appends_per_sec(parent, 8, 8000));
    return 0;
}
