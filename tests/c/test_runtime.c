/* test_runtime: runtime, modules, calls, tables, scans and host subscriptions. */
#include "testutil.h"

typedef struct {
    interstice_runtime *rt;
    int inserts, updates, deletes;
    uint64_t last_lsn;
    char last_new[256];
    int busy_checked;
} events;

static void on_event(void *user, const interstice_event *ev) {
    events *e = (events *)user;
    char *js = NULL;
    interstice_error *er = NULL;
    CHECK(strcmp(ev->module, "counter") == 0 && strcmp(ev->table, "counters") == 0);
    e->last_lsn = ev->lsn;
    switch (ev->op) {
    case INTERSTICE_OP_INSERT:
        CHECK(ev->old_row == NULL && ev->new_row && ev->new_len > 0);
        e->inserts++;
        break;
    case INTERSTICE_OP_UPDATE:
        CHECK(ev->old_row && ev->new_row);
        e->updates++;
        break;
    case INTERSTICE_OP_DELETE:
        CHECK(ev->old_row && ev->new_row == NULL);
        e->deletes++;
        break;
    default:
        CHECK(0);
    }
    if (ev->new_row) {
        CHECK(interstice_row_to_json(e->rt, ev->module, ev->table, ev->new_row, ev->new_len, &js, NULL, &er) == 0);
        snprintf(e->last_new, sizeof e->last_new, "%s", js);
        interstice_free(js);
    }
    /* Reads are allowed inside a callback; calls, loads and close are BUSY. */
    if (!e->busy_checked) {
        uint64_t n = 0;
        CHECK(interstice_count(e->rt, "counter", "counters", &n, NULL) == 0 && n >= 1);
        CHECK(interstice_call_json(e->rt, "counter", "add", "[\"x\",1]", 7, NULL, NULL, NULL, &er) == INTERSTICE_E_BUSY);
        CHECK(er && er->code == INTERSTICE_E_BUSY && strstr(er->message, "subscription callback"));
        interstice_error_free(er);
        CHECK(interstice_runtime_close(e->rt, NULL) == INTERSTICE_E_BUSY);
        CHECK(interstice_module_load_file(e->rt, wasm_path("noop"), NULL, NULL) == INTERSTICE_E_BUSY);
        e->busy_checked = 1;
    }
}

/* on_delete_once unsubscribes itself from inside its first callback. */
typedef struct {
    interstice_runtime *rt;
    uint64_t id;
    int calls;
} once;

static void on_delete_once(void *user, const interstice_event *ev) {
    once *o = (once *)user;
    CHECK(ev->op == INTERSTICE_OP_DELETE);
    o->calls++;
    CHECK(interstice_unsubscribe(o->rt, o->id, NULL) == INTERSTICE_OK);
    CHECK(interstice_unsubscribe(o->rt, o->id, NULL) == INTERSTICE_E_NOT_FOUND);
}

int main(void) {
    interstice_runtime_options ro;
    interstice_runtime *rt = NULL;
    char *name = NULL, *js = NULL, *res = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, rows = 0;
    uint64_t lsn = 0, n = 0, sub = 0, sub2 = 0, sub3 = 1;
    interstice_scan *it = NULL;
    events ev;
    once on;
    size_t wasm_len = 0;
    char *wasm;
    char cache[1024];

    memset(&ev, 0, sizeof ev);
    memset(&on, 0, sizeof on);
    snprintf(cache, sizeof cache, "%s/.cache", wasm_dir());

    /* options: bad values are refused (durable options: test_durable) */
    interstice_runtime_options_init(&ro);
    ro.memory_limit_pages = 70000;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
    interstice_runtime_options_init(&ro);
    ro.sync = 9;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
    ro.version = 77;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(&ro, &rt, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_runtime_open(NULL, NULL, &err));

    /* an in-memory runtime with every option set */
    interstice_runtime_options_init(&ro);
    ro.call_deadline_ms = 300;
    ro.memory_limit_pages = 512;
    ro.sync = INTERSTICE_SYNC_NONE;
    ro.segment_size = 1 << 20;
    ro.retain_segments = 3;
    ro.keep_snapshots = 4;
    ro.compilation_cache_dir = cache;
    OK(interstice_runtime_open(&ro, &rt, &err));
    ev.rt = rt;

    /* modules: from bytes, from a file, reload, failures */
    wasm = read_file(wasm_path("counter"), &wasm_len);
    CHECK(wasm != NULL);
    OK(interstice_module_load(rt, (const uint8_t *)wasm, wasm_len, &name, &err));
    CHECK(strcmp(name, "counter") == 0);
    interstice_free(name);
    OK(interstice_module_load(rt, (const uint8_t *)wasm, wasm_len, NULL, &err)); /* same code: no-op */
    RC(INTERSTICE_E_INVALID_MODULE, interstice_module_load(rt, (const uint8_t *)wasm, 100, NULL, &err));
    RC(INTERSTICE_E_INVALID_MODULE, interstice_module_load(rt, (const uint8_t *)"\0asm\1\0\0\0", 8, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_load(rt, NULL, 5, NULL, &err));
    free(wasm);
    OK(interstice_module_load_file(rt, wasm_path("trapper"), &name, &err));
    CHECK(strcmp(name, "trapper") == 0);
    interstice_free(name);
    OK(interstice_module_load_file(rt, wasm_path("limits"), NULL, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_module_load_file(rt, "/nonexistent.wasm", &name, &err));
    CHECK(name == NULL);
    RC(INTERSTICE_E_IO, interstice_module_load_file(rt, "/", NULL, &err));

    OK(interstice_module_list(rt, &js, &len, &err));
    CHECK(len == strlen(js) && strstr(js, "[{\"name\":\"counter\",\"version\":\"1.0.0\",\"wasm_sha256\":\"") == js);
    CHECK(strstr(js, "\"name\":\"trapper\""));
    interstice_free(js);

    OK(interstice_module_describe(rt, "counter", INTERSTICE_FORMAT_JSON, &buf, &len, &err));
    CHECK(strstr((char *)buf, "counters") && strstr((char *)buf, "add"));
    interstice_free(buf);
    OK(interstice_module_describe(rt, "counter", INTERSTICE_FORMAT_FLATBUFFERS, &buf, &len, &err));
    CHECK(len > 16 && buf);
    interstice_free(buf);
    RC(INTERSTICE_E_NOT_FOUND, interstice_module_describe(rt, "nope", INTERSTICE_FORMAT_JSON, &buf, &len, &err));
    CHECK(buf == NULL && len == 0);
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_describe(rt, "counter", 9, &buf, &len, &err));

    /* subscriptions */
    OK(interstice_subscribe(rt, "counter", "counters", INTERSTICE_EVENT_ALL, on_event, &ev, &sub, &err));
    CHECK(sub != 0);
    OK(interstice_subscribe(rt, "counter", "counters", INTERSTICE_EVENT_DELETE, on_delete_once, &on, &sub2, &err));
    on.rt = rt;
    on.id = sub2;
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_subscribe(rt, "counter", "counters", 0, on_event, &ev, &sub3, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_subscribe(rt, "counter", "counters", 8, on_event, &ev, &sub3, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_subscribe(rt, "counter", "counters", 1, NULL, &ev, &sub3, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_subscribe(rt, "counter", "nope", 1, on_event, &ev, &sub3, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_subscribe(rt, "nope", "counters", 1, on_event, &ev, &sub3, &err));
    CHECK(sub3 == 0);

    /* calls: JSON and FlatBuffers arguments */
    OK(interstice_call_json(rt, "counter", "add", "[\"alice\", 5]", 12, &lsn, &res, &len, &err));
    CHECK(lsn > 0 && res && len == strlen(res));
    CHECK(strstr(res, "\"mutations\":1") && strstr(res, "\"cascade\":[]") && strstr(res, "\"cascade_error\":null"));
    interstice_free(res);
    CHECK(ev.inserts == 1 && ev.last_lsn == lsn && ev.busy_checked);
    CHECK(strcmp(ev.last_new, "{\"name\":\"alice\",\"value\":5}") == 0);
    OK(interstice_call_json(rt, "counter", "add", "{\"name\":\"bob\",\"by\":1}", 21, NULL, NULL, NULL, &err));
    OK(interstice_call(rt, "counter", "add", ROW_ALICE_2, sizeof ROW_ALICE_2, &lsn, NULL, NULL, &err));
    CHECK(ev.updates == 1 && strcmp(ev.last_new, "{\"name\":\"alice\",\"value\":7}") == 0);

    /* get: JSON and FlatBuffers */
    OK(interstice_get_json(rt, "counter", "counters", "\"alice\"", 7, &js, &len, &err));
    CHECK(strcmp(js, "{\"name\":\"alice\",\"value\":7}") == 0 && len == strlen(js));
    interstice_free(js);
    OK(interstice_get_json(rt, "counter", "counters", "\"nobody\"", 8, &js, &len, &err));
    CHECK(js == NULL && len == 0);
    RC(INTERSTICE_E_TYPE, interstice_get_json(rt, "counter", "counters", "42", 2, &js, &len, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_get_json(rt, "counter", "nope", "\"a\"", 3, &js, &len, &err));
    OK(interstice_get(rt, "counter", "counters", ROW_ALICE, sizeof ROW_ALICE, &buf, &len, &err));
    CHECK(buf && len > 0);
    /* the row (name, value) is also a valid argument Row for add(name, by) */
    OK(interstice_call(rt, "counter", "add", buf, len, NULL, NULL, NULL, &err));
    OK(interstice_row_to_json(rt, "counter", "counters", buf, len, &js, NULL, &err));
    CHECK(strcmp(js, "{\"name\":\"alice\",\"value\":7}") == 0);
    interstice_free(js);
    interstice_free(buf);
    OK(interstice_get_json(rt, "counter", "counters", "\"alice\"", 7, &js, NULL, &err));
    CHECK(strcmp(js, "{\"name\":\"alice\",\"value\":14}") == 0);
    interstice_free(js);
    RC(INTERSTICE_E_TYPE, interstice_get(rt, "counter", "counters", ROW_U64_1, sizeof ROW_U64_1, &buf, &len, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get(rt, "counter", "counters", ROW_ALICE_2, sizeof ROW_ALICE_2, &buf, &len, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_get(rt, "counter", "counters", ROW_ALICE, 10, &buf, &len, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_row_to_json(rt, "counter", "counters", ROW_ALICE, 9, &js, NULL, &err));

    /* call failures: each is a distinct status and changes nothing */
    RC(INTERSTICE_E_NOT_FOUND, interstice_call_json(rt, "nope", "add", NULL, 0, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_call_json(rt, "counter", "nope", NULL, 0, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_TYPE, interstice_call_json(rt, "counter", "add", "[1,2]", 5, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_TYPE, interstice_call_json(rt, "counter", "add", "[\"a\"", 4, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_TYPE, interstice_call(rt, "counter", "add", ROW_ALICE, sizeof ROW_ALICE, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call(rt, "counter", "add", ROW_ALICE, 7, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_call(rt, "counter", "add", NULL, 7, NULL, NULL, NULL, &err));
    RCMSG(INTERSTICE_E_REDUCER_FAILED, "no counter", interstice_call_json(rt, "counter", "reset", "[\"zed\"]", 7, NULL, NULL, NULL, &err));
    /* the module's own words, in guest_message and first in message, which
       says neither the status nor the place twice */
    {
        interstice_error *e = NULL;
        CHECK(interstice_call_json(rt, "counter", "reset", "[\"nobody\"]", 10, NULL, NULL, NULL, &e) == INTERSTICE_E_REDUCER_FAILED);
        CHECK(e && e->guest_message && strcmp(e->guest_message, "no counter \"nobody\"") == 0);
        CHECK(strstr(e->message, "no counter \"nobody\" (module counter, reducer reset)") == e->message);
        CHECK(!strstr(e->message, "reducer failed") && !strstr(e->message, "core:"));
        interstice_error_free(e);
        e = NULL;
        CHECK(interstice_call_json(rt, "counter", "add", "{\"name\":\"a\"}", 12, NULL, NULL, NULL, &e) == INTERSTICE_E_TYPE);
        CHECK(e && e->guest_message == NULL);
        CHECK(strcmp(e->message, "add(name string, by i64): missing argument \"by\" (i64) (module counter)") == 0);
        interstice_error_free(e);
        e = NULL;
        CHECK(interstice_call_json(rt, "trapper", "insert3_panic", "[10]", 4, NULL, NULL, NULL, &e) == INTERSTICE_E_REDUCER_FAILED);
        CHECK(e && e->guest_message && strcmp(e->guest_message, "panic: trapper: deliberate panic") == 0);
        interstice_error_free(e);
        e = NULL;
        CHECK(interstice_call_json(rt, "trapper", "insert3_trap", "[10]", 4, NULL, NULL, NULL, &e) == INTERSTICE_E_TRAP);
        CHECK(e && e->guest_message == NULL); /* a wasm trap, no words of the module */
        interstice_error_free(e);
    }
    RC(INTERSTICE_E_TRAP, interstice_call_json(rt, "trapper", "insert3_trap", "[10]", 4, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_REDUCER_FAILED, interstice_call_json(rt, "trapper", "insert3_error", "[10]", 4, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_REDUCER_FAILED, interstice_call_json(rt, "trapper", "insert_dup", "[10]", 4, NULL, NULL, NULL, &err));
    OK(interstice_count(rt, "trapper", "rows", &n, &err));
    CHECK(n == 0); /* atomic: nothing of the failed calls survived */
    OK(interstice_call_json(rt, "trapper", "insert_one", "[10]", 4, NULL, NULL, NULL, &err));
    RCMSG(INTERSTICE_E_TIMEOUT, "deadline", interstice_call_json(rt, "limits", "spin", NULL, 0, NULL, NULL, NULL, &err));
    {
        size_t big = (1u << 20) + 64;
        uint8_t *huge = (uint8_t *)calloc(1, big);
        CHECK(huge);
        RC(INTERSTICE_E_LIMIT, interstice_call(rt, "limits", "echo_len", huge, big, NULL, NULL, NULL, &err));
        free(huge);
    }
    OK(interstice_call_json(rt, "trapper", "insert_one", "[11]", 4, NULL, NULL, NULL, &err));

    /* count */
    OK(interstice_count(rt, "counter", "counters", &n, &err));
    CHECK(n == 2);
    OK(interstice_count(rt, "trapper", "rows", &n, &err));
    CHECK(n == 2);
    RC(INTERSTICE_E_NOT_FOUND, interstice_count(rt, "counter", "nope", &n, &err));

    /* scan: one row at a time (JSON), chunks (JSON, FlatBuffers) on a bigger table */
    {
        char args[64];
        int i, total = 0, nb;
        for (i = 0; i < 600; i++) {
            nb = snprintf(args, sizeof args, "[\"k%04d\", %d]", i, i);
            OK(interstice_call_json(rt, "counter", "add", args, (size_t)nb, NULL, NULL, NULL, &err));
        }
        OK(interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_JSON, &it, &err));
        OK(interstice_scan_next(it, &buf, &len, &err));
        CHECK(strcmp((char *)buf, "{\"name\":\"alice\",\"value\":14}") == 0);
        interstice_free(buf);
        OK(interstice_scan_next(it, &buf, &len, &err));
        CHECK(strcmp((char *)buf, "{\"name\":\"bob\",\"value\":1}") == 0);
        interstice_free(buf);
        for (total = 2;; total++) {
            OK(interstice_scan_next(it, &buf, &len, &err));
            if (!buf) break;
            interstice_free(buf);
        }
        CHECK(total == 602 && len == 0);
        OK(interstice_scan_next(it, &buf, &len, &err)); /* stays at the end */
        CHECK(buf == NULL);
        OK(interstice_scan_close(it, &err));
        RC(INTERSTICE_E_CLOSED, interstice_scan_close(it, &err));
        RC(INTERSTICE_E_CLOSED, interstice_scan_next(it, &buf, &len, &err));

        OK(interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_JSON, &it, &err));
        total = 0;
        for (;;) {
            OK(interstice_scan_next_chunk(it, 100, 0, &buf, &len, &rows, &err));
            if (!buf) { CHECK(rows == 0); break; }
            CHECK(rows <= 100 && buf[0] == '[' && buf[len - 1] == ']');
            total += (int)rows;
            interstice_free(buf);
        }
        CHECK(total == 602);
        OK(interstice_scan_close(it, &err));

        OK(interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_FLATBUFFERS, &it, &err));
        total = 0;
        for (;;) {
            size_t off = 0, k = 0;
            OK(interstice_scan_next_chunk(it, 0, 4096, &buf, &len, &rows, &err));
            if (!buf) break;
            CHECK(len <= 4096 && rows > 0);
            while (off < len) { /* 4-byte little-endian length, then the row */
                uint32_t rl = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 | (uint32_t)buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
                off += 4;
                if (total == 0 && k == 0) {
                    OK(interstice_row_to_json(rt, "counter", "counters", buf + off, rl, &js, NULL, &err));
                    CHECK(strcmp(js, "{\"name\":\"alice\",\"value\":14}") == 0);
                    interstice_free(js);
                }
                off += rl;
                k++;
            }
            CHECK(off == len && k == rows);
            total += (int)rows;
            interstice_free(buf);
        }
        CHECK(total == 602);
        OK(interstice_scan_close(it, &err));
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_scan_open(rt, "counter", "counters", 5, &it, &err));
        RC(INTERSTICE_E_NOT_FOUND, interstice_scan_open(rt, "counter", "nope", 0, &it, &err));
        CHECK(it == NULL);
    }

    /* delete events; the DELETE-only subscription removes itself on its first event */
    CHECK(ev.deletes == 0);
    OK(interstice_call_json(rt, "counter", "remove", "[\"bob\"]", 7, NULL, NULL, NULL, &err));
    CHECK(ev.deletes == 1 && on.calls == 1); /* both subscriptions saw it */
    OK(interstice_call_json(rt, "counter", "remove", "[\"k0000\"]", 9, NULL, NULL, NULL, &err));
    CHECK(ev.deletes == 2 && on.calls == 1);
    OK(interstice_unsubscribe(rt, sub, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_unsubscribe(rt, sub, &err));
    RC(INTERSTICE_E_NOT_FOUND, interstice_unsubscribe(rt, sub2, &err));
    OK(interstice_call_json(rt, "counter", "remove", "[\"k0001\"]", 9, NULL, NULL, NULL, &err));
    CHECK(ev.deletes == 2);

    /* snapshot needs the durable runtime (test_durable) */
    RC(INTERSTICE_E_UNSUPPORTED, interstice_runtime_snapshot(rt, &lsn, &err));

    /* a scan left open across close reports CLOSED */
    OK(interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_FLATBUFFERS, &it, &err));
    OK(interstice_runtime_close(rt, &err));
    RC(INTERSTICE_E_CLOSED, interstice_scan_next(it, &buf, &len, &err));
    OK(interstice_scan_close(it, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_close(rt, &err));
    RC(INTERSTICE_E_CLOSED, interstice_call_json(rt, "counter", "add", "[\"a\",1]", 7, NULL, NULL, NULL, &err));
    RC(INTERSTICE_E_CLOSED, interstice_get_json(rt, "counter", "counters", "\"a\"", 3, &js, NULL, &err));
    RC(INTERSTICE_E_CLOSED, interstice_count(rt, "counter", "counters", &n, &err));
    RC(INTERSTICE_E_CLOSED, interstice_module_list(rt, &js, NULL, &err));
    RC(INTERSTICE_E_CLOSED, interstice_subscribe(rt, "counter", "counters", 1, on_event, &ev, &sub, &err));
    RC(INTERSTICE_E_CLOSED, interstice_unsubscribe(rt, sub, &err));
    RC(INTERSTICE_E_CLOSED, interstice_runtime_snapshot(rt, &lsn, &err));

    /* NULL options: the defaults */
    OK(interstice_runtime_open(NULL, &rt, &err));
    OK(interstice_module_load_file(rt, wasm_path("noop"), NULL, &err));
    OK(interstice_call(rt, "noop", "noop", NULL, 0, &lsn, NULL, NULL, &err));
    OK(interstice_runtime_close(rt, NULL));

    printf("test_runtime: ok\n");
    return 0;
}
