/* bench_noop: ns per noop reducer call from C (FlatBuffers and JSON
 * arguments), durable reducer calls per second (noop.insert on a data
 * directory, SYNC_ALWAYS, group commit) and durable (fdatasync) log
 * appends per second from C, each with 1 and 8 threads. Prints one
 * "name value unit" line per figure.
 *
 * The noop figure is the C side of capi/noop_bench_test.go
 * (BenchmarkGoNoopCall): the same module (build/wasm/noop.wasm), the same
 * reducer with an empty argument Row, and the same default configuration
 * (NULL options = core.NewConfig(): 5 s call deadline on, 256 pages,
 * in-memory compilation cache). It reports the best of 5 batches, as
 * `go test -bench -count 5` is read by its best run.
 *
 *   bench_noop [noop.wasm] [dir-parent]
 *   bench_noop --noop-only [noop.wasm]     the noop figure only
 */
#include <pthread.h>
#include "testutil.h"

static interstice_log *lg;
static interstice_runtime *drt;
static int per_thread;

static void *caller(void *arg) {
    char args[64];
    int i, n;
    long id = (long)arg;
    for (i = 0; i < per_thread; i++) {
        n = snprintf(args, sizeof args, "[%ld,\"n\",%d]", id * 1000000 + i, i);
        CHECK(interstice_call_json(drt, "noop", "insert", args, (size_t)n, NULL, NULL, NULL, NULL) == 0);
    }
    return NULL;
}

static double calls_per_sec(const char *wasm, const char *parent, int threads, int total) {
    char dir[1024];
    pthread_t t[64];
    interstice_runtime_options ro;
    double t0, t1;
    long i;
    snprintf(dir, sizeof dir, "%s/istc-bench-rt-%d-XXXXXX", parent, threads);
    CHECK(mkdtemp(dir) != NULL);
    interstice_runtime_options_init(&ro);
    ro.data_dir = dir;
    OK(interstice_runtime_open(&ro, &drt, &err));
    OK(interstice_module_load_file(drt, wasm, NULL, &err));
    OK(interstice_call_json(drt, "noop", "insert", "[999999999,\"w\",0]", strlen("[999999999,\"w\",0]"), NULL, NULL, NULL, &err)); /* compile, warm */
    per_thread = total / threads;
    t0 = now_sec();
    for (i = 0; i < threads; i++) CHECK(pthread_create(&t[i], NULL, caller, (void *)i) == 0);
    for (i = 0; i < threads; i++) CHECK(pthread_join(t[i], NULL) == 0);
    t1 = now_sec();
    OK(interstice_runtime_close(drt, &err));
    rm_rf(dir);
    return (double)(per_thread * threads) / (t1 - t0);
}

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
    int noop_only = argc > 1 && strcmp(argv[1], "--noop-only") == 0;
    const char *wasm;
    if (noop_only) {
        argv++;
        argc--;
    }
    wasm = argc > 1 ? argv[1] : wasm_path("noop");
    const char *parent = argc > 2 ? argv[2] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    interstice_runtime *rt = NULL;
    int i, b, iters = 200000;
    double t0, t1, best = 1e30;

    OK(interstice_runtime_open(NULL, &rt, &err)); /* the defaults, as core.NewConfig() */
    OK(interstice_module_load_file(rt, wasm, NULL, &err));
    for (i = 0; i < 20000; i++) OK(interstice_call(rt, "noop", "noop", NULL, 0, NULL, NULL, NULL, NULL));
    for (b = 0; b < 5; b++) {
        t0 = now_sec();
        for (i = 0; i < iters; i++) interstice_call(rt, "noop", "noop", NULL, 0, NULL, NULL, NULL, NULL);
        t1 = now_sec();
        if ((t1 - t0) * 1e9 / iters < best) best = (t1 - t0) * 1e9 / iters;
    }
    printf("c_noop_call %.0f ns/call\n", best);
    if (noop_only) {
        OK(interstice_runtime_close(rt, &err));
        return 0;
    }
    t0 = now_sec();
    for (i = 0; i < iters / 4; i++) interstice_call_json(rt, "noop", "noop", "[]", 2, NULL, NULL, NULL, NULL);
    t1 = now_sec();
    printf("c_noop_call_json %.0f ns/call\n", (t1 - t0) * 1e9 / (iters / 4));
    OK(interstice_runtime_close(rt, &err));

    printf("c_durable_call_1thread %.0f calls/s\n", calls_per_sec(wasm, parent, 1, 2000));
    printf("c_durable_call_8threads %.0f calls/s\n", calls_per_sec(wasm, parent, 8, 8000));
    printf("c_durable_append_1thread %.0f appends/s\n", appends_per_sec(parent, 1, 2000));
    printf("c_durable_append_8threads %.0f appends/s\n", appends_per_sec(parent, 8, 8000));
    return 0;
}
