/* test_misuse: NULL arguments, closed handles, double close, wrong handle
 * kinds, garbage handles and wrong lengths are errors, never crashes. */
#include "testutil.h"

static int never(void *u, uint64_t l, const uint8_t *p, size_t n) { (void)u; (void)l; (void)p; (void)n; return 0; }
static void never_ev(void *u, const interstice_event *e) { (void)u; (void)e; }

int main(void) {
    char *dir = make_tmpdir("misuse");
    interstice_log *log = NULL;
    interstice_runtime *rt = NULL;
    interstice_scan *it = NULL;
    interstice_log_report *rep = NULL;
    uint64_t u = 0;
    char *s = NULL;
    uint8_t *b = NULL;
    size_t n = 0, rows = 0;
    const uint8_t *ps[1];
    size_t ls[1];
    interstice_runtime *garbage = (interstice_runtime *)(uintptr_t)0x7fffffff;
    interstice_log *glog = (interstice_log *)(uintptr_t)12345678;

    /* NULL handles: BAD_ARGUMENT (closing NULL is OK) */
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append(NULL, ROW_ALICE, 4, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append_json(NULL, "{}", 2, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append_batch(NULL, ps, ls, 1, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_sync(NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_rotate(NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_first_lsn(NULL, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_last_lsn(NULL, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_replay(NULL, 0, never, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_snapshot(NULL, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_load(NULL, ROW_ALICE, 4, &s, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_load_file(NULL, "x", &s, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_list(NULL, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_describe(NULL, "m", 0, &b, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call(NULL, "m", "r", NULL, 0, &u, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call_json(NULL, "m", "r", NULL, 0, &u, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get(NULL, "m", "t", ROW_ALICE, sizeof ROW_ALICE, &b, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get_json(NULL, "m", "t", "1", 1, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_count(NULL, "m", "t", &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_open(NULL, "m", "t", 0, &it, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_next(NULL, &b, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_next_chunk(NULL, 1, 0, &b, &n, &rows, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_row_to_json(NULL, "m", "t", ROW_ALICE, sizeof ROW_ALICE, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_subscribe(NULL, "m", "t", 1, never_ev, NULL, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_unsubscribe(NULL, 1, &err));

    /* NULL pointers other than handles */
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_open(NULL, NULL, &log, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_open("", NULL, &log, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_open(dir, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_validate(NULL, NULL, &rep, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_validate(dir, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_inspect(NULL, NULL, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_inspect(dir, NULL, NULL, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_repair(NULL, NULL, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_record_to_json(ROW_ALICE, sizeof ROW_ALICE, NULL, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(NULL, NULL, &err));

    OK(interstice_log_open(dir, NULL, &log, &err));
    OK(interstice_runtime_open(NULL, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_first_lsn(log, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_last_lsn(log, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call_json(rt, NULL, "add", NULL, 0, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call_json(rt, "counter", NULL, NULL, 0, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get_json(rt, NULL, "counters", "1", 1, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get_json(rt, "counter", NULL, "1", 1, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get_json(rt, "counter", "counters", NULL, 1, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get_json(rt, "counter", "counters", "1", 0, &s, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get_json(rt, "counter", "counters", "1", 1, NULL, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_count(rt, "counter", "counters", NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_list(rt, NULL, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_describe(rt, NULL, 0, &b, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_load_file(rt, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_open(rt, "counter", "counters", 0, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_next((interstice_scan *)(uintptr_t)1, NULL, &n, &err));

    /* the wrong kind of handle */
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "log handle", interstice_count((interstice_runtime *)log, "counter", "counters", &u, &err));
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "runtime handle", interstice_log_sync((interstice_log *)rt, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_next((interstice_scan *)rt, &b, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_close((interstice_runtime *)log, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_close((interstice_log *)rt, &err));

    /* values that were never handles */
    RC(INTERSTICE_E_CLOSED, interstice_count(garbage, "counter", "counters", &u, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_close(garbage, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_append_json(glog, "{}", 2, &u, &err));

    /* wrong lengths */
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append(log, ROW_ALICE, 3, &u, &err));
    ps[0] = ROW_ALICE;
    ls[0] = 5;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append_batch(log, ps, ls, 1, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append_json(log, "{\"timestamp\":1}", 5, &u, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call(rt, "counter", "add", ROW_ALICE_2, sizeof ROW_ALICE_2 - 30, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get(rt, "counter", "counters", ROW_ALICE, sizeof ROW_ALICE / 2, &b, &n, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_load(rt, ROW_ALICE, 0, NULL, &err));
    OK(interstice_log_last_lsn(log, &u, &err));
    CHECK(u == 0); /* nothing was appended by the failures */

    /* no error out-parameter: statuses only */
    CHECK(interstice_log_sync(NULL, NULL) == INTERSTICE_E_BAD_ARGUMENT);
    CHECK(interstice_count(rt, "counter", "nope", &u, NULL) == INTERSTICE_E_NOT_FOUND);

    /* closed handles; double close */
    OK(interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_JSON, &it, &err));
    OK(interstice_log_close(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_close(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_append(log, ROW_ALICE, sizeof ROW_ALICE, &u, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_rotate(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_last_lsn(log, &u, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_first_lsn(log, &u, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_append_batch(log, ps, ls, 1, &u, &err));
    OK(interstice_runtime_close(rt, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_close(rt, &err));
    RC(INTERSTICE_E_CLOSED, interstice_module_load_file(rt, wasm_path("counter"), NULL, &err));
    RC(INTERSTICE_E_CLOSED, interstice_module_describe(rt, "counter", 0, &b, &n, &err));
    RC(INTERSTICE_E_CLOSED, interstice_call(rt, "counter", "add", ROW_ALICE_2, sizeof ROW_ALICE_2, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_CLOSED, interstice_get(rt, "counter", "counters", ROW_ALICE, sizeof ROW_ALICE, &b, &n, &err));
    {
        interstice_scan *it2 = it;
        RC(INTERSTICE_E_CLOSED, interstice_scan_open(rt, "counter", "counters", 0, &it2, &err));
        CHECK(it2 == NULL);
    }
    RC(INTERSTICE_E_CLOSED, interstice_row_to_json(rt, "counter", "counters", ROW_ALICE, sizeof ROW_ALICE, &s, &n, &err));
    RC(INTERSTICE_E_CLOSED, interstice_scan_next_chunk(it, 10, 0, &b, &n, &rows, &err));
    OK(interstice_scan_close(it, &err));
    RC(INTERSTICE_E_CLOSED, interstice_scan_close(it, &err));
    RC(INTERSTICE_E_CLOSED, interstice_scan_next_chunk(it, 10, 0, &b, &n, &rows, &err));

    rm_rf(dir);
    free(dir);
    printf("test_misuse: ok\n");
    return 0;
}
