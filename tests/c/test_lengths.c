/* test_lengths: every size_t a caller passes is checked before it is used.
 * A length above PTRDIFF_MAX (no object is that large: a negative length
 * cast to size_t) is BAD_ARGUMENT; one above the function's limit is LIMIT.
 * Neither is cut to 32 bits (2^32 + 4 used to load or call with 4 bytes)
 * nor panics into INTERNAL (2^31 + 8). The buffers passed are small: the
 * library must refuse the length without reading past them. Maximum
 * counts (scan_next_chunk) saturate instead. */
#include <stdint.h>
#include "testutil.h"

static interstice_runtime *rt;
static interstice_log *lg;
static uint8_t buf[256];

static int f_module_load(size_t n) { return interstice_module_load(rt, buf, n, NULL, &err); }
static int f_call(size_t n) { return interstice_call(rt, "counter", "add", buf, n, NULL, NULL, NULL, &err); }
static int f_call_json(size_t n) {
    return interstice_call_json(rt, "counter", "add", "[\"alice\",1]", n, NULL, NULL, NULL, &err);
}
static int f_get(size_t n) {
    uint8_t *out = NULL;
    return interstice_get(rt, "counter", "counters", buf, n, &out, NULL, &err);
}
static int f_get_json(size_t n) {
    char *out = NULL;
    return interstice_get_json(rt, "counter", "counters", "\"alice\"", n, &out, NULL, &err);
}
static int f_row_to_json(size_t n) {
    char *out = NULL;
    return interstice_row_to_json(rt, "counter", "counters", buf, n, &out, NULL, &err);
}
static int f_log_append(size_t n) { return interstice_log_append(lg, buf, n, NULL, &err); }
static int f_log_append_json(size_t n) { return interstice_log_append_json(lg, "{}", n, NULL, &err); }
static int f_log_append_batch(size_t n) {
    const uint8_t *ps[1] = {buf};
    size_t ls[1];
    ls[0] = n;
    return interstice_log_append_batch(lg, ps, ls, 1, NULL, &err);
}
static int f_record_to_json(size_t n) {
    char *out = NULL;
    return interstice_record_to_json(buf, n, &out, NULL, &err);
}

static const struct {
    const char *name;
    int (*fn)(size_t);
} funcs[] = {
    {"module_load", f_module_load},       {"call", f_call},
    {"call_json", f_call_json},           {"get", f_get},
    {"get_json", f_get_json},             {"row_to_json", f_row_to_json},
    {"log_append", f_log_append},         {"log_append_json", f_log_append_json},
    {"log_append_batch", f_log_append_batch}, {"record_to_json", f_record_to_json},
};

static const struct {
    const char *name;
    size_t len;
    int want;
} lens[] = {
    {"2^32 + 4 (cut to 4 bytes)", ((size_t)1 << 32) + 4, INTERSTICE_E_LIMIT},
    {"2^31 + 8 (a negative C int)", ((size_t)1 << 31) + 8, INTERSTICE_E_LIMIT},
    {"2^40", (size_t)1 << 40, INTERSTICE_E_LIMIT},
    {"PTRDIFF_MAX", (size_t)PTRDIFF_MAX, INTERSTICE_E_LIMIT},
    {"PTRDIFF_MAX + 1", (size_t)PTRDIFF_MAX + 1, INTERSTICE_E_BAD_ARGUMENT},
    {"SIZE_MAX ((size_t)-1)", SIZE_MAX, INTERSTICE_E_BAD_ARGUMENT},
};

int main(void) {
    char *dir = make_tmpdir("lengths");
    char logdir[1100], cache[1024];
    interstice_runtime_options ro;
    interstice_scan *it = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0, rows = 0;
    size_t i, j;
    size_t wasm_len = 0;
    char *wasm;

    memcpy(buf, ROW_ALICE_2, sizeof ROW_ALICE_2);
    interstice_runtime_options_init(&ro);
    snprintf(cache, sizeof cache, "%s/.cache", wasm_dir());
    ro.compilation_cache_dir = cache;
    OK(interstice_runtime_open(&ro, &rt, &err));
    wasm = read_file(wasm_path("counter"), &wasm_len);
    CHECK(wasm != NULL);
    OK(interstice_module_load(rt, (const uint8_t *)wasm, wasm_len, NULL, &err));
    free(wasm);
    snprintf(logdir, sizeof logdir, "%s/log", dir);
    OK(interstice_log_open(logdir, NULL, &lg, &err));

    for (i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        for (j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            int rc;
            err = NULL;
            rc = funcs[i].fn(lens[j].len);
            if (rc != lens[j].want || !err || err->code != rc) {
                fprintf(stderr, "%s with length %s: returned %d (%s), want %d (%s): %s\n", funcs[i].name,
                        lens[j].name, rc, interstice_status_str(rc), lens[j].want,
                        interstice_status_str(lens[j].want), err ? err->message : "(no error)");
                return 1;
            }
            interstice_error_free(err);
            err = NULL;
        }
    }
    /* Nothing was committed or appended by any of them. */
    {
        uint64_t n = 1, lsn = 1;
        OK(interstice_count(rt, "counter", "counters", &n, &err));
        CHECK(n == 0);
        OK(interstice_log_last_lsn(lg, &lsn, &err));
        CHECK(lsn == 0);
    }

    /* scan_next_chunk: max_rows and max_bytes above INT64_MAX cap nothing
     * (they used to turn negative: no rows, as at the end of the scan). */
    OK(interstice_call_json(rt, "counter", "add", "[\"alice\",1]", 11, NULL, NULL, NULL, &err));
    OK(interstice_call_json(rt, "counter", "add", "[\"bob\",2]", 9, NULL, NULL, NULL, &err));
    OK(interstice_scan_open(rt, "counter", "counters", INTERSTICE_FORMAT_JSON, &it, &err));
    OK(interstice_scan_next_chunk(it, SIZE_MAX, SIZE_MAX, &out, &out_len, &rows, &err));
    CHECK(rows == 2 && out != NULL && out_len > 0);
    interstice_free(out);
    OK(interstice_scan_close(it, &err));

    /* module_describe: out_len is required for FLATBUFFERS (the buffer has
     * no terminator), optional for JSON. */
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_module_describe(rt, "counter", INTERSTICE_FORMAT_FLATBUFFERS, &out, NULL, &err));
    CHECK(out == NULL);
    OK(interstice_module_describe(rt, "counter", INTERSTICE_FORMAT_JSON, &out, NULL, &err));
    CHECK(out != NULL && strstr((char *)out, "counters"));
    interstice_free(out);

    OK(interstice_log_close(lg, &err));
    OK(interstice_runtime_close(rt, &err));
    rm_rf(dir);
    free(dir);
    printf("test_lengths: ok\n");
    return 0;
}
