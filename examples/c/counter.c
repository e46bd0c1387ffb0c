/* counter.c — the smallest Interstice host in C: load the counter example
 * module, call its reducers, print its table.
 *
 *   make example-c        (or: cc counter.c $(pkg-config --cflags --libs interstice))
 *   ./counter build/wasm/counter.wasm            in memory
 *   ./counter build/wasm/counter.wasm DATA_DIR   durable: run it twice, the
 *                                                second run starts from the
 *                                                first one's state
 */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "interstice.h"

/* die prints a failed call's error and exits. */
static void die(const char *what, int rc, interstice_error *err) {
    fprintf(stderr, "%s: %s (%d): %s\n", what, interstice_status_str(rc), rc, err ? err->message : "");
    interstice_error_free(err);
    exit(1);
}

/* on_change is a host subscription: it runs inside the call that committed the change. */
static void on_change(void *user, const interstice_event *ev) {
    static const char *ops[] = {"insert", "update", "delete"};
    (void)user;
    printf("  event: %s on %s.%s at lsn %llu\n", ops[ev->op], ev->module, ev->table, (unsigned long long)ev->lsn);
}

static void call(interstice_runtime *rt, const char *reducer, const char *json_args) {
    interstice_error *err = NULL;
    size_t n = 0;
    uint64_t lsn = 0;
    int rc;
    while (json_args[n]) n++;
    rc = interstice_call_json(rt, "counter", reducer, json_args, n, &lsn, NULL, NULL, &err);
    if (rc != INTERSTICE_OK) {
        printf("%s%s -> %s: %s\n", reducer, json_args, interstice_status_str(rc), err->message);
        interstice_error_free(err);
        return;
    }
    printf("%s%s -> committed at lsn %llu\n", reducer, json_args, (unsigned long long)lsn);
}

int main(int argc, char **argv) {
    const char *wasm = argc > 1 ? argv[1] : "build/wasm/counter.wasm";
    const char *data_dir = argc > 2 ? argv[2] : NULL;
    interstice_runtime_options opts;
    interstice_runtime *rt = NULL;
    char *list = NULL;
    uint64_t last = 0;
    interstice_scan *it = NULL;
    interstice_error *err = NULL;
    char *name = NULL;
    uint8_t *row = NULL;
    uint64_t count = 0, sub = 0;
    int rc;

    if (interstice_abi_version() != INTERSTICE_ABI_VERSION) {
        fprintf(stderr, "libinterstice ABI %d, header ABI %d\n", interstice_abi_version(), INTERSTICE_ABI_VERSION);
        return 1;
    }
    printf("libinterstice %s\n", interstice_version_string());
    interstice_runtime_options_init(&opts);
    opts.data_dir = data_dir; /* NULL: in memory */
    if ((rc = interstice_runtime_open(&opts, &rt, &err)) != 0) die("open", rc, err);
    if ((rc = interstice_runtime_last_lsn(rt, &last, &err)) != 0) die("last_lsn", rc, err);
    if (data_dir) printf("opened %s: state rebuilt up to lsn %llu\n", data_dir, (unsigned long long)last);
    /* a durable runtime brings its modules back from the log: load only if missing */
    if ((rc = interstice_module_list(rt, &list, NULL, &err)) != 0) die("list", rc, err);
    if (!strstr(list, "\"name\":\"counter\"")) {
        if ((rc = interstice_module_load_file(rt, wasm, &name, &err)) != 0) die("load", rc, err);
        printf("loaded module %s\n", name);
        interstice_free(name);
    } else {
        printf("module counter restored from the log\n");
    }
    interstice_free(list);
    if ((rc = interstice_subscribe(rt, "counter", "counters", INTERSTICE_EVENT_ALL, on_change, NULL, &sub, &err)) != 0)
        die("subscribe", rc, err);

    call(rt, "add", "[\"apples\", 3]");
    call(rt, "add", "{\"name\": \"pears\", \"by\": 10}");
    call(rt, "add", "[\"apples\", 2]");
    call(rt, "reset", "[\"pears\"]");
    call(rt, "add", "[\"plums\", 7]");
    call(rt, "remove", "[\"plums\"]");
    call(rt, "reset", "[\"kiwis\"]"); /* fails: the reducer returns an error, nothing changes */

    if ((rc = interstice_count(rt, "counter", "counters", &count, &err)) != 0) die("count", rc, err);
    printf("counters (%llu rows):\n", (unsigned long long)count);
    if ((rc = interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_JSON, &it, &err)) != 0) die("scan", rc, err);
    for (;;) {
        if ((rc = interstice_scan_next(it, &row, NULL, &err)) != 0) die("scan_next", rc, err);
        if (!row) break;
        printf("  %s\n", (char *)row);
        interstice_free(row);
    }
    interstice_scan_close(it, NULL);
    interstice_unsubscribe(rt, sub, NULL);
    if (data_dir) {
        uint64_t snap = 0;
        if ((rc = interstice_runtime_snapshot(rt, &snap, &err)) != 0) die("snapshot", rc, err);
        printf("snapshot at lsn %llu\n", (unsigned long long)snap);
    }
    if ((rc = interstice_runtime_close(rt, &err)) != 0) die("close", rc, err);
    return 0;
}
