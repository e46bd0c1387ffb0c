/* test_durable: the durable runtime through the C ABI — a data directory
 * round trip (reopen without loading the module: the state is replayed and
 * calls work), snapshots (manual and automatic), replay statistics and
 * progress, read-only mode, the directory lock, strict / truncate-tail /
 * read-only recovery of a torn tail, mid-log corruption, and the options
 * (version 1 layout, unsupported sync interval, snapshot policy without a
 * directory, INTERSTICE_DEADLINE_NONE). */
#include <sys/stat.h>
#include <dirent.h>
#include "testutil.h"

static char cache[1024];

static void opts_for(interstice_runtime_options *ro, const char *dir) {
    interstice_runtime_options_init(ro);
    ro->data_dir = dir;
    ro->compilation_cache_dir = cache;
}

static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        if (l > s && strcmp(e->d_name + l - s, suffix) == 0) n++;
    }
    closedir(d);
    return n;
}

static void expect_get(interstice_runtime *rt, const char *key, const char *want) {
    char *js = NULL;
    OK(interstice_get_json(rt, "counter", "counters", key, strlen(key), &js, NULL, &err));
    if (want == NULL) {
        CHECK(js == NULL);
        return;
    }
    if (!js || strcmp(js, want) != 0) {
        fprintf(stderr, "get %s: got %s, want %s\n", key, js ? js : "(none)", want);
        exit(1);
    }
    interstice_free(js);
}

static int progress_calls;
static int64_t progress_last;
static void on_progress(void *user, int64_t done, int64_t total) {
    CHECK(user == (void *)&progress_calls);
    CHECK(done >= 0 && total >= 0);
    progress_calls++;
    progress_last = done;
}

/* log_segment returns the path of the first log segment of a data dir. */
static void first_segment(const char *dir, char *out, size_t cap) {
    snprintf(out, cap, "%s/log/%020d.log", dir, 1);
}

/* a clock that stands still at 2026-12-03T00:00:00Z, counting its reads */
static int clock_reads;
static int64_t still_clock(void *user) {
    (void)user;
    clock_reads++;
    return INT64_C(1796256000000000000);
}

int main(void) {
    interstice_runtime_options ro;
    interstice_runtime *rt = NULL, *rt2 = NULL;
    interstice_log *lg = NULL;
    char *dir, *js = NULL, path[2048], *name = NULL;
    uint64_t lsn = 0, lsn2 = 0, last = 0, n = 0, snap = 0;
    int i;

    snprintf(cache, sizeof cache, "%s/.cache", wasm_dir());
    dir = make_tmpdir("durable");

    /* ---- round trip: load, call, close, reopen without loading ---- */
    opts_for(&ro, dir);
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_runtime_last_lsn(rt, &last, &err));
    CHECK(last == 0);
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(strstr(js, "\"durable\":true") && strstr(js, "\"records\":0"));
    interstice_free(js);
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    OK(interstice_call_json(rt, "counter", "add", "[\"alice\",5]", 11, &lsn, NULL, NULL, &err));
    CHECK(lsn == 2); /* lsn 1 is the ModuleLoad record */
    OK(interstice_call_json(rt, "counter", "add", "[\"bob\",1]", 9, NULL, NULL, NULL, &err));
    OK(interstice_call(rt, "counter", "add", ROW_ALICE_2, sizeof ROW_ALICE_2, &lsn, NULL, NULL, &err));
    OK(interstice_runtime_last_lsn(rt, &last, &err));
    CHECK(last == lsn && lsn == 4);
    /* a failed call logs nothing */
    RC(INTERSTICE_E_REDUCER_FAILED, interstice_call_json(rt, "counter", "reset", "[\"zed\"]", 7, NULL, NULL, NULL, &err));
    OK(interstice_runtime_last_lsn(rt, &last, &err));
    CHECK(last == 4);
    snprintf(path, sizeof path, "%s/modules", dir);
    CHECK(count_files(path, ".wasm") == 1);
    OK(interstice_runtime_close(rt, &err));

    opts_for(&ro, dir);
    OK(interstice_runtime_open(&ro, &rt, &err)); /* no module load */
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(json_u64(js, "records") == 4 && json_u64(js, "last_lsn") == 4 && json_u64(js, "snapshot_lsn") == 0);
    CHECK(json_u64(js, "mutations") == 3 && strstr(js, "\"last_snapshot_error\":null"));
    interstice_free(js);
    OK(interstice_module_list(rt, &js, NULL, &err));
    CHECK(strstr(js, "\"name\":\"counter\""));
    interstice_free(js);
    expect_get(rt, "\"alice\"", "{\"name\":\"alice\",\"value\":7}");
    expect_get(rt, "\"bob\"", "{\"name\":\"bob\",\"value\":1}");
    OK(interstice_call_json(rt, "counter", "add", "[\"alice\",3]", 11, &lsn, NULL, NULL, &err));
    CHECK(lsn == 5); /* the module is compiled on its first call after replay */
    expect_get(rt, "\"alice\"", "{\"name\":\"alice\",\"value\":10}");
    /* loading the same code again is a no-op (no record) */
    OK(interstice_module_load_file(rt, wasm_path("counter"), &name, &err));
    CHECK(strcmp(name, "counter") == 0);
    interstice_free(name);
    OK(interstice_runtime_last_lsn(rt, &last, &err));
    CHECK(last == 5);

    /* ---- the lock: one writer per directory ---- */
    opts_for(&ro, dir);
    RCMSG(INTERSTICE_E_LOCKED, "locked", interstice_runtime_open(&ro, &rt2, &err));
    CHECK(rt2 == NULL);
    snprintf(path, sizeof path, "%s/log", dir);
    RC(INTERSTICE_E_LOCKED, interstice_log_open(path, NULL, &lg, &err));
    {
        interstice_error *e = NULL;
        CHECK(interstice_runtime_open(&ro, &rt2, &e) == INTERSTICE_E_LOCKED);
        CHECK(e && e->code == INTERSTICE_E_LOCKED && strstr(e->message, "locked"));
        interstice_error_free(e);
    }

    /* ---- snapshot ---- */
    OK(interstice_runtime_snapshot(rt, &snap, &err));
    CHECK(snap == 5);
    snprintf(path, sizeof path, "%s/snapshots", dir);
    CHECK(count_files(path, ".snap") == 1);
    OK(interstice_runtime_snapshot(rt, &lsn, &err)); /* nothing new: same snapshot */
    CHECK(lsn == 5 && count_files(path, ".snap") == 1);
    OK(interstice_runtime_snapshot(rt, NULL, &err));
    for (i = 0; i < 10; i++) {
        char args[64];
        int nb = snprintf(args, sizeof args, "[\"k%d\",%d]", i, i);
        OK(interstice_call_json(rt, "counter", "add", args, (size_t)nb, NULL, NULL, NULL, &err));
    }
    OK(interstice_call_json(rt, "counter", "remove", "[\"bob\"]", 7, NULL, NULL, NULL, &err));
    OK(interstice_runtime_close(rt, &err));

    /* reopen: snapshot + 11 records, with a progress callback */
    opts_for(&ro, dir);
    ro.progress = on_progress;
    ro.progress_user = &progress_calls;
    OK(interstice_runtime_open(&ro, &rt, &err));
    CHECK(progress_calls > 0 && progress_last > 0);
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(json_u64(js, "snapshot_lsn") == 5 && json_u64(js, "snapshot_rows") == 2);
    CHECK(json_u64(js, "records") == 11 && json_u64(js, "last_lsn") == 16);
    interstice_free(js);
    expect_get(rt, "\"alice\"", "{\"name\":\"alice\",\"value\":10}");
    expect_get(rt, "\"bob\"", NULL);
    expect_get(rt, "\"k9\"", "{\"name\":\"k9\",\"value\":9}");
    OK(interstice_count(rt, "counter", "counters", &n, &err));
    CHECK(n == 11);
    OK(interstice_runtime_close(rt, &err));

    /* ---- read-only: readers work; calls, loads and snapshots are refused ---- */
    opts_for(&ro, dir);
    ro.recovery = INTERSTICE_RECOVER_READ_ONLY;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_runtime_open(&ro, &rt2, &err)); /* read-only takes no lock */
    OK(interstice_runtime_close(rt2, &err));
    expect_get(rt, "\"k3\"", "{\"name\":\"k3\",\"value\":3}");
    OK(interstice_runtime_last_lsn(rt, &last, &err));
    CHECK(last == 16);
    {
        interstice_error *e = NULL;
        CHECK(interstice_call_json(rt, "counter", "add", "[\"alice\",1]", 11, NULL, NULL, NULL, &e) == INTERSTICE_E_READ_ONLY);
        CHECK(e && e->code == INTERSTICE_E_READ_ONLY && e->detail == 16 && strstr(e->message, "read-only"));
        interstice_error_free(e);
    }
    RC(INTERSTICE_E_READ_ONLY, interstice_module_load_file(rt, wasm_path("noop"), NULL, &err));
    RC(INTERSTICE_E_READ_ONLY, interstice_runtime_snapshot(rt, &lsn, &err));
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(strstr(js, "\"read_only\":true"));
    interstice_free(js);
    OK(interstice_runtime_close(rt, &err));
    opts_for(&ro, "/nonexistent/interstice-data");
    ro.recovery = INTERSTICE_RECOVER_READ_ONLY;
    RC(INTERSTICE_E_NOT_FOUND, interstice_runtime_open(&ro, &rt, &err));

    /* ---- a torn tail: STRICT refuses, READ_ONLY leaves it, TRUNCATE_TAIL cuts it ---- */
    {
        interstice_log_report *rep = NULL;
        snprintf(path, sizeof path, "%s/log", dir);
        OK(interstice_log_validate(path, NULL, &rep, &err));
        CHECK(rep->last_lsn == 16 && rep->torn_tail == 0 && rep->problem_code == 0);
        first_segment(dir, path, sizeof path);
        CHECK(truncate(path, (off_t)rep->valid_bytes - 3) == 0); /* tear the last record (k remove bob) */
        interstice_log_report_free(rep);
    }
    opts_for(&ro, dir);
    ro.recovery = INTERSTICE_RECOVER_STRICT;
    RC(INTERSTICE_E_TORN_TAIL, interstice_runtime_open(&ro, &rt, &err));
    ro.recovery = INTERSTICE_RECOVER_READ_ONLY;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(strstr(js, "\"torn_tail\":true") && json_u64(js, "last_lsn") == 15);
    interstice_free(js);
    expect_get(rt, "\"bob\"", "{\"name\":\"bob\",\"value\":1}"); /* the torn remove is gone */
    OK(interstice_runtime_close(rt, &err));
    ro.recovery = INTERSTICE_RECOVER_TRUNCATE_TAIL;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_runtime_last_lsn(rt, &last, &err));
    CHECK(last == 15);
    expect_get(rt, "\"bob\"", "{\"name\":\"bob\",\"value\":1}");
    OK(interstice_call_json(rt, "counter", "remove", "[\"bob\"]", 7, &lsn, NULL, NULL, &err));
    CHECK(lsn == 16);
    OK(interstice_runtime_close(rt, &err));
    snprintf(path, sizeof path, "%s/log", dir);
    CHECK(count_files(path, ".broken") == 1);
    rm_rf(dir);
    free(dir);

    /* ---- mid-log corruption is CORRUPT in every mode ---- */
    dir = make_tmpdir("corrupt");
    opts_for(&ro, dir);
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    for (i = 0; i < 40; i++) OK(interstice_call_json(rt, "counter", "add", "[\"c\",1]", 7, NULL, NULL, NULL, &err));
    OK(interstice_runtime_close(rt, &err));
    {
        interstice_log_report *rep = NULL;
        FILE *f;
        long off;
        int c;
        snprintf(path, sizeof path, "%s/log", dir);
        OK(interstice_log_validate(path, NULL, &rep, &err));
        CHECK(rep->valid_bytes > 2000);
        off = (long)rep->valid_bytes - 600; /* a few records before the end */
        interstice_log_report_free(rep);
        first_segment(dir, path, sizeof path);
        f = fopen(path, "r+b");
        CHECK(f && fseek(f, off, SEEK_SET) == 0);
        c = fgetc(f);
        CHECK(c != EOF && fseek(f, off, SEEK_SET) == 0);
        fputc(c ^ 0x5a, f);
        fclose(f);
    }
    RC(INTERSTICE_E_CORRUPT, interstice_runtime_open(&ro, &rt, &err));
    ro.recovery = INTERSTICE_RECOVER_STRICT;
    RC(INTERSTICE_E_CORRUPT, interstice_runtime_open(&ro, &rt, &err));
    ro.recovery = INTERSTICE_RECOVER_READ_ONLY;
    RC(INTERSTICE_E_CORRUPT, interstice_runtime_open(&ro, &rt, &err));
    CHECK(rt == NULL);
    rm_rf(dir);
    free(dir);

    /* ---- automatic snapshots, retention, small segments ---- */
    dir = make_tmpdir("auto");
    opts_for(&ro, dir);
    ro.snapshot_every = 10;
    ro.keep_snapshots = 1;
    ro.segment_size = 4096;
    ro.retain_segments = 1;
    ro.sync = INTERSTICE_SYNC_NONE;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    for (i = 0; i < 200; i++) {
        char args[64];
        int nb = snprintf(args, sizeof args, "[\"n%03d\",%d]", i % 50, i);
        OK(interstice_call_json(rt, "counter", "add", args, (size_t)nb, NULL, NULL, NULL, &err));
    }
    OK(interstice_runtime_snapshot(rt, &snap, &err));
    CHECK(snap == 201);
    snprintf(path, sizeof path, "%s/snapshots", dir);
    CHECK(count_files(path, ".snap") == 1); /* keep_snapshots = 1 */
    snprintf(path, sizeof path, "%s/log", dir);
    {
        int segs = count_files(path, ".log");
        CHECK(segs >= 1 && segs <= 3); /* retention deleted the covered segments */
    }
    OK(interstice_runtime_close(rt, &err));
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(json_u64(js, "snapshot_lsn") == 201 && json_u64(js, "records") == 0);
    interstice_free(js);
    OK(interstice_count(rt, "counter", "counters", &n, &err));
    CHECK(n == 50);
    expect_get(rt, "\"n049\"", "{\"name\":\"n049\",\"value\":496}"); /* 49+99+149+199 */
    OK(interstice_runtime_close(rt, &err));
    rm_rf(dir);
    free(dir);

    /* ---- the clock (options version 4): transactions are stamped by it,
     * strictly increasing, and a call reports its stamp ---- */
    {
        char *res = NULL;
        interstice_runtime_options_init(&ro);
        CHECK(ro.clock == NULL && ro.clock_user == NULL);
        ro.clock = still_clock;
        ro.compilation_cache_dir = cache;
        OK(interstice_runtime_open(&ro, &rt, &err));
        OK(interstice_module_load_file(rt, wasm_path("noop"), NULL, &err)); /* stamp T */
        OK(interstice_call_json(rt, "noop", "insert", "[1,\"a\",1]", 9, NULL, &res, NULL, &err));
        CHECK(json_u64(res, "timestamp") == UINT64_C(1796256000000000001)); /* T + 1 ns */
        interstice_free(res);
        OK(interstice_call_json(rt, "noop", "insert", "[2,\"b\",2]", 9, NULL, &res, NULL, &err));
        CHECK(json_u64(res, "timestamp") == UINT64_C(1796256000000000002));
        interstice_free(res);
        CHECK(clock_reads >= 3);
        OK(interstice_runtime_close(rt, &err));
    }

    /* ---- options ---- */
    interstice_runtime_options_init(&ro);
    CHECK(ro.version == INTERSTICE_RUNTIME_OPTIONS_VERSION && ro.version == 4);
    ro.snapshot_every = 5; /* the snapshot policy needs a data directory */
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "data directory", interstice_runtime_open(&ro, &rt, &err));
    interstice_runtime_options_init(&ro);
    ro.snapshot_every_bytes = 1 << 20;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
    interstice_runtime_options_init(&ro);
    ro.sync_interval_ms = 50; /* accepted: the SYNC_INTERVAL period */
    ro.sync = INTERSTICE_SYNC_INTERVAL;
    RC(INTERSTICE_OK, interstice_runtime_open(&ro, &rt, &err));
    RC(INTERSTICE_OK, interstice_runtime_close(rt, &err));
    rt = NULL;
    interstice_runtime_options_init(&ro);
    ro.recovery = 3;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
    interstice_runtime_options_init(&ro);
    ro.call_deadline_ms = 2ull * 24 * 3600 * 1000;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
    /* "" is in memory, like NULL; INTERSTICE_DEADLINE_NONE disables deadlines */
    interstice_runtime_options_init(&ro);
    ro.data_dir = "";
    ro.call_deadline_ms = INTERSTICE_DEADLINE_NONE;
    OK(interstice_runtime_open(&ro, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("noop"), NULL, &err));
    OK(interstice_call(rt, "noop", "noop", NULL, 0, &lsn, NULL, NULL, &err));
    OK(interstice_runtime_last_lsn(rt, &lsn2, &err));
    CHECK(lsn2 == lsn && lsn > 0);
    RC(INTERSTICE_E_UNSUPPORTED, interstice_runtime_snapshot(rt, &lsn, &err));
    OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
    CHECK(strstr(js, "\"durable\":false") && json_u64(js, "last_lsn") == 0);
    interstice_free(js);
    OK(interstice_runtime_close(rt, &err));
    /* a version-1 options struct (the layout before snapshot_every_bytes) is accepted */
    {
        dir = make_tmpdir("v1");
        opts_for(&ro, dir);
        ro.version = 1;
        ro.keep_snapshots = 0xdead; /* not part of version 1: never read */
        OK(interstice_runtime_open(&ro, &rt, &err));
        OK(interstice_runtime_close(rt, &err));
        ro.version = INTERSTICE_RUNTIME_OPTIONS_VERSION + 1; /* a version this library does not know */
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
        rm_rf(dir);
        free(dir);
    }

    /* ---- misuse of the new functions ---- */
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_last_lsn(NULL, &lsn, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_replay_stats(NULL, &js, NULL, &err));
    OK(interstice_runtime_open(NULL, &rt, &err));
    {
        /* detail carries the core code under the grouped status; 0 for the library's own checks */
        interstice_error *e = NULL;
        CHECK(interstice_module_load(rt, (const uint8_t *)"\0asm\1\0\0\0", 8, NULL, &e) == INTERSTICE_E_INVALID_MODULE);
        CHECK(e && e->detail >= 100 && e->detail <= 102);
        interstice_error_free(e);
        e = NULL;
        CHECK(interstice_runtime_last_lsn(rt, NULL, &e) == INTERSTICE_E_BAD_ARGUMENT && e && e->detail == 0);
        interstice_error_free(e);
    }
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_last_lsn(rt, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_replay_stats(rt, NULL, NULL, &err));
    OK(interstice_runtime_close(rt, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_last_lsn(rt, &lsn, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_replay_stats(rt, &js, NULL, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_snapshot(rt, &lsn, &err));

    printf("test_durable: ok\n");
    return 0;
}
