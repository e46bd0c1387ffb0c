/* test_crash: crash tests of the standalone log and of the durable runtime.
 *
 * Log: a writer process appends durably and prints each acked LSN; it is
 * SIGKILLed at a random moment; a reader then checks that every acked LSN
 * is in the log with its content, and that the log reopens and continues.
 *
 * Runtime: a writer process opens a durable runtime (loading the modules
 * only the first time), then alternates two reducer calls, each its own
 * transaction: caller.call_record(a), which inserts caller.log row a,
 * calls callee.record(a) (a callee.hits row) and updates its log row to
 * "ok" (three mutations in two modules, atomically), and counter.add("c",
 * 1). After each acknowledged call it prints the number of transactions of
 * that sequence done so far (P = a + c). It is SIGKILLed at a random
 * moment (some rounds during its start-up: replay, module compilation),
 * with automatic snapshots, small segments and retention on. A reader
 * reopens the directory READ_ONLY and checks that the state is an exact
 * prefix of the sequence (log and hits hold ids 0..a-1 and nothing else,
 * every log row is "ok", c is a or a-1: no partial transaction) that
 * contains every acknowledged call (P >= the last P printed) and at most
 * the one call in flight, and that it never goes back between rounds.
 * Finally a normal open continues.
 *
 * Each part runs several rounds on one directory.
 *
 *   test_crash                  run the test (spawns itself as the writer)
 *   test_crash writer DIR       run as the log writer (used by the test)
 *   test_crash rtwriter DIR     run as the runtime writer (used by the test)
 */
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include "testutil.h"

extern char **environ;

#define ROUNDS 4
#define RT_ROUNDS 12
#define MAX_ACK 100000

static int writer(const char *dir) {
    interstice_log *log = NULL;
    char rec[512];
    uint64_t lsn = 0;
    int n;
    if (interstice_log_open(dir, NULL, &log, &err) != 0) {
        fprintf(stderr, "writer: open: %s\n", err->message);
        return 2;
    }
    CHECK(interstice_log_last_lsn(log, &lsn, NULL) == 0);
    for (;;) {
        /* the record's content names its own LSN: timestamp = lsn */
        n = make_record_json(rec, sizeof rec, "crash", (long long)lsn + 1);
        if (interstice_log_append_json(log, rec, (size_t)n, &lsn, &err) != 0) {
            fprintf(stderr, "writer: append: %s\n", err->message);
            return 3;
        }
        printf("%llu\n", (unsigned long long)lsn);
        fflush(stdout);
    }
}

static uint64_t max_seen;
static int check_record(void *user, uint64_t lsn, const uint8_t *payload, size_t len) {
    char *js = NULL, want[64];
    (void)user;
    CHECK(lsn == max_seen + 1);
    max_seen = lsn;
    CHECK(interstice_record_to_json(payload, len, &js, NULL, NULL) == 0);
    snprintf(want, sizeof want, "\"timestamp\":%llu,", (unsigned long long)lsn);
    CHECK(strstr(js, want) != NULL);
    interstice_free(js);
    return 0;
}

static char cache[1024];

static void sleep_us(long us) {
    struct timespec ts;
    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000;
    nanosleep(&ts, NULL);
}

static void rt_opts(interstice_runtime_options *ro, const char *dir, int32_t recovery) {
    interstice_runtime_options_init(ro);
    ro->data_dir = dir;
    ro->recovery = recovery;
    ro->compilation_cache_dir = cache;
    if (recovery != INTERSTICE_RECOVER_READ_ONLY) {
        ro->segment_size = 64 << 10;
        ro->snapshot_every = 25;
        ro->keep_snapshots = 2;
        ro->retain_segments = 2;
    }
}

/* scan_ids checks that module.table holds exactly the ids 0..n-1 (and, if
 * must is not NULL, that every row's JSON contains it); returns n. */
static uint64_t scan_ids(interstice_runtime *rt, const char *module, const char *table, const char *must) {
    uint64_t rows = 0, next = 0;
    interstice_scan *it = NULL;
    uint8_t *buf = NULL;
    OK(interstice_count(rt, module, table, &rows, &err));
    OK(interstice_scan_open(rt, module, table, INTERSTICE_FORMAT_JSON, &it, &err));
    for (;;) {
        OK(interstice_scan_next(it, &buf, NULL, &err));
        if (!buf) break;
        CHECK(strncmp((char *)buf, "{\"id\":", 6) == 0);
        if (strtoull((char *)buf + 6, NULL, 10) != next || (must && !strstr((char *)buf, must))) {
            fprintf(stderr, "%s.%s: row %llu is %s\n", module, table, (unsigned long long)next, (char *)buf);
            exit(1);
        }
        next++;
        interstice_free(buf);
    }
    OK(interstice_scan_close(it, &err));
    CHECK(next == rows);
    return rows;
}

/* rt_state reads (a, c): a = the caller.log rows (= callee.hits rows), c =
 * counter "c", checking that they are a prefix of the writer's sequence. */
static void rt_state(interstice_runtime *rt, uint64_t *a, uint64_t *c) {
    char *js = NULL;
    *a = scan_ids(rt, "caller", "log", "\"result\":\"ok\"");
    CHECK(scan_ids(rt, "callee", "hits", "\"by\":\"caller\"") == *a);
    OK(interstice_get_json(rt, "counter", "counters", "\"c\"", 3, &js, NULL, &err));
    *c = 0;
    if (js) {
        const char *p = strstr(js, "\"value\":");
        CHECK(p);
        *c = strtoull(p + 8, NULL, 10);
        interstice_free(js);
    }
    CHECK(*c == *a || *c + 1 == *a); /* a prefix of call_record, add, call_record, add ... */
}

static int rt_writer(const char *dir) {
    interstice_runtime_options ro;
    interstice_runtime *rt = NULL;
    char *js = NULL, args[64];
    uint64_t a, c;
    rt_opts(&ro, dir, INTERSTICE_RECOVER_TRUNCATE_TAIL);
    if (interstice_runtime_open(&ro, &rt, &err) != 0) {
        fprintf(stderr, "rtwriter: open: %s\n", err->message);
        return 2;
    }
    /* modules are loaded once; later rounds get them back from the log */
    CHECK(interstice_module_list(rt, &js, NULL, NULL) == 0);
    if (!strstr(js, "\"callee\"")) CHECK(interstice_module_load_file(rt, wasm_path("callee"), NULL, NULL) == 0);
    if (!strstr(js, "\"caller\"")) CHECK(interstice_module_load_file(rt, wasm_path("caller"), NULL, NULL) == 0);
    if (!strstr(js, "\"counter\"")) CHECK(interstice_module_load_file(rt, wasm_path("counter"), NULL, NULL) == 0);
    interstice_free(js);
    rt_state(rt, &a, &c);
    for (;;) {
        int n, rc;
        if (a == c) {
            n = snprintf(args, sizeof args, "[%llu]", (unsigned long long)a);
            rc = interstice_call_json(rt, "caller", "call_record", args, (size_t)n, NULL, NULL, NULL, &err);
            a++;
        } else {
            rc = interstice_call_json(rt, "counter", "add", "[\"c\",1]", 7, NULL, NULL, NULL, &err);
            c++;
        }
        if (rc != 0) {
            fprintf(stderr, "rtwriter: call: %s\n", err->message);
            return 3;
        }
        printf("%llu\n", (unsigned long long)(a + c));
        fflush(stdout);
    }
}

static pid_t spawn_writer(char *self, const char *mode, char *dir, FILE **out) {
    int fds[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;
    char *args[4];
    CHECK(pipe(fds) == 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    args[0] = self;
    args[1] = (char *)mode;
    args[2] = dir;
    args[3] = NULL;
    /* spawn (fork+exec) rather than fork: the library is not fork-safe */
    CHECK(posix_spawn(&pid, self, &fa, NULL, args, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    *out = fdopen(fds[0], "r");
    CHECK(*out);
    return pid;
}

static void kill_wait(pid_t pid) {
    int status;
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        fprintf(stderr, "writer exited by itself (status %d) before the kill\n", status);
        exit(1);
    }
}

static void runtime_crash(char *self) {
    char *dir = make_tmpdir("rtcrash");
    uint64_t acked = 0, seen = 0, a, c, snap = 0;
    int round, kills_during_startup = 0;
    interstice_runtime_options ro;
    interstice_runtime *rt = NULL;
    for (round = 0; round < RT_ROUNDS; round++) {
        FILE *in;
        char line[64];
        uint64_t got = acked, target = 1 + (uint64_t)(rand() % 60);
        int early = round > 0 && round % 4 == 3;
        pid_t pid = spawn_writer(self, "rtwriter", dir, &in);
        if (early) {
            /* somewhere in start-up: replay, compilation, the first calls */
            sleep_us(rand() % 800000);
            kills_during_startup++;
        } else {
            while (fgets(line, sizeof line, in)) {
                got = strtoull(line, NULL, 10);
                if (got >= acked + target) break;
            }
            CHECK(got > acked);
            sleep_us(rand() % 3000); /* a random moment after an ack */
        }
        kill_wait(pid);
        while (fgets(line, sizeof line, in)) got = strtoull(line, NULL, 10);
        fclose(in);
        CHECK(got >= acked);
        acked = got;

        /* read-only: nothing written, a torn tail left in place */
        rt_opts(&ro, dir, INTERSTICE_RECOVER_READ_ONLY);
        OK(interstice_runtime_open(&ro, &rt, &err));
        rt_state(rt, &a, &c);
        {
            char *js = NULL;
            const char *p;
            OK(interstice_runtime_replay_stats(rt, &js, NULL, &err));
            p = strstr(js, "\"snapshot_lsn\":");
            CHECK(p);
            snap = strtoull(p + 15, NULL, 10);
            interstice_free(js);
        }
        if (a + c < acked || a + c > acked + 1 || a + c < seen) {
            fprintf(stderr, "round %d: state holds %llu transactions; acked %llu, seen before %llu\n", round,
                    (unsigned long long)(a + c), (unsigned long long)acked, (unsigned long long)seen);
            exit(1);
        }
        OK(interstice_runtime_close(rt, &err));
        printf("runtime round %d%s: acked %llu, state holds %llu (log/hits %llu rows, c %llu, snapshot at lsn %llu)\n", round,
               early ? " (killed during start-up)" : "", (unsigned long long)acked,
               (unsigned long long)(a + c), (unsigned long long)a, (unsigned long long)c, (unsigned long long)snap);
        seen = a + c;
    }
    CHECK(kills_during_startup >= 2);
    /* a normal open (truncating a torn tail) holds the same state and continues */
    rt_opts(&ro, dir, INTERSTICE_RECOVER_TRUNCATE_TAIL);
    OK(interstice_runtime_open(&ro, &rt, &err));
    rt_state(rt, &a, &c);
    CHECK(a + c == seen);
    OK(interstice_call_json(rt, "counter", "add", "[\"c\",1]", 7, NULL, NULL, NULL, &err));
    OK(interstice_runtime_close(rt, &err));
    rm_rf(dir);
    free(dir);
}

int main(int argc, char **argv) {
    char *dir;
    int round;
    uint64_t acked_total = 0;
    snprintf(cache, sizeof cache, "%s/.cache", wasm_dir());
    if (argc == 3 && strcmp(argv[1], "writer") == 0) return writer(argv[2]);
    if (argc == 3 && strcmp(argv[1], "rtwriter") == 0) return rt_writer(argv[2]);
    dir = make_tmpdir("crash");
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (round = 0; round < ROUNDS; round++) {
        int fds[2], status;
        pid_t pid;
        posix_spawn_file_actions_t fa;
        char *args[4];
        FILE *in;
        char line[64];
        uint64_t acked = 0, target = 50 + (uint64_t)(rand() % 400);
        interstice_log *log = NULL;

        CHECK(pipe(fds) == 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        args[0] = argv[0];
        args[1] = (char *)"writer";
        args[2] = dir;
        args[3] = NULL;
        /* spawn (fork+exec) rather than fork: the library is not fork-safe */
        CHECK(posix_spawn(&pid, argv[0], &fa, NULL, args, environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        in = fdopen(fds[0], "r");
        CHECK(in);
        while (fgets(line, sizeof line, in)) {
            acked = strtoull(line, NULL, 10);
            if (acked >= acked_total + target) break;
        }
        CHECK(kill(pid, SIGKILL) == 0);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* lines already written to the pipe after the kill decision are acked too */
        while (fgets(line, sizeof line, in)) acked = strtoull(line, NULL, 10);
        fclose(in);
        CHECK(acked > acked_total);

        /* every acked LSN is present, in order, with its content */
        OK(interstice_log_open(dir, NULL, &log, &err));
        max_seen = 0;
        OK(interstice_log_replay(log, 0, check_record, NULL, &err));
        CHECK(max_seen >= acked);
        OK(interstice_log_close(log, &err));
        printf("round %d: acked %llu, log holds %llu\n", round, (unsigned long long)acked, (unsigned long long)max_seen);
        acked_total = max_seen;
    }
    rm_rf(dir);
    free(dir);
    runtime_crash(argv[0]);
    printf("test_crash: ok\n");
    return 0;
}
