/* test_crash: a writer process appends durably and prints each acked LSN;
 * it is SIGKILLed at a random moment; a reader then checks that every acked
 * LSN is in the log with its content, and that the log reopens and
 * continues. Repeated over several rounds on the same directory.
 *
 *   test_crash                  run the test (spawns itself as the writer)
 *   test_crash writer DIR START run as the writer (used by the test)
 */
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include "testutil.h"

extern char **environ;

#define ROUNDS 4
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

int main(int argc, char **argv) {
    char *dir;
    int round;
    uint64_t acked_total = 0;
    if (argc == 3 && strcmp(argv[1], "writer") == 0) return writer(argv[2]);
    dir = make_tmpdir("crash");
    srand((unsigned)time(NULL));
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
    printf("test_crash: ok\n");
    return 0;
}
