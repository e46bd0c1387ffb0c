/* test_basics: versions, status strings, NULL-safe frees and closes, options init. */
#include "testutil.h"

int main(void) {
    int code;
    interstice_log_options lo;
    interstice_runtime_options ro;

    /* Versions: header and library agree. */
    CHECK(interstice_version_number() == INTERSTICE_VERSION_NUMBER);
    CHECK(interstice_abi_version() == INTERSTICE_ABI_VERSION);
    CHECK(strcmp(interstice_version_string(), INTERSTICE_VERSION_STRING) == 0);
    CHECK(INTERSTICE_VERSION_NUMBER == INTERSTICE_VERSION_MAJOR * 10000 + INTERSTICE_VERSION_MINOR * 100 + INTERSTICE_VERSION_PATCH);

    /* Status strings: static, distinct, pinned values. */
    CHECK(strcmp(interstice_status_str(INTERSTICE_OK), "ok") == 0);
    CHECK(strcmp(interstice_status_str(INTERSTICE_E_NOT_FOUND), "not found") == 0);
    CHECK(strcmp(interstice_status_str(INTERSTICE_E_CORRUPT), "corrupt log") == 0);
    CHECK(strcmp(interstice_status_str(INTERSTICE_E_CLOSED), "closed handle") == 0);
    CHECK(strcmp(interstice_status_str(-1), "unknown status") == 0);
    CHECK(strcmp(interstice_status_str(99999), "unknown status") == 0);
    CHECK(interstice_status_str(INTERSTICE_E_TRAP) == interstice_status_str(INTERSTICE_E_TRAP));
    for (code = 0; code <= 28; code++) {
        const char *s = interstice_status_str(code);
        CHECK(s && *s);
        if ((code > 16 && code < 20)) CHECK(strcmp(s, "unknown status") == 0);
        else CHECK(strcmp(s, "unknown status") != 0);
    }
    CHECK(INTERSTICE_E_BAD_ARGUMENT == 1 && INTERSTICE_E_INTERNAL == 11 && INTERSTICE_E_CORRUPT == 20 &&
          INTERSTICE_E_IO == 22 && INTERSTICE_E_BUSY == 27 && INTERSTICE_E_LOCKED == 28);

    /* NULL-safe frees and closes. */
    interstice_free(NULL);
    interstice_error_free(NULL);
    interstice_log_report_free(NULL);
    interstice_log_options_init(NULL);
    interstice_runtime_options_init(NULL);
    OK(interstice_log_close(NULL, &err));
    OK(interstice_runtime_close(NULL, &err));
    OK(interstice_scan_close(NULL, &err));
    CHECK(interstice_log_close(NULL, NULL) == INTERSTICE_OK);

    /* Options init sets the version and defaults (zero). */
    memset(&lo, 0xff, sizeof lo);
    interstice_log_options_init(&lo);
    CHECK(lo.version == INTERSTICE_LOG_OPTIONS_VERSION && lo.sync == INTERSTICE_SYNC_ALWAYS &&
          lo.recovery == INTERSTICE_RECOVER_TRUNCATE_TAIL && lo.segment_size == 0 && lo.retain_segments == 0);
    memset(&ro, 0xff, sizeof ro);
    interstice_runtime_options_init(&ro);
    CHECK(ro.version == INTERSTICE_RUNTIME_OPTIONS_VERSION && ro.data_dir == NULL && ro.call_deadline_ms == 0 &&
          ro.memory_limit_pages == 0 && ro.compilation_cache_dir == NULL);

    /* A record helper with a malformed payload is an error, not a crash. */
    {
        char *js = (char *)1;
        size_t n = 7;
        uint8_t junk[64];
        memset(junk, 0xAB, sizeof junk);
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_record_to_json(junk, sizeof junk, &js, &n, &err));
        CHECK(js == NULL && n == 0);
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_record_to_json(NULL, 10, &js, &n, &err));
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_record_to_json(junk, 0, &js, &n, &err));
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_record_to_json(junk, 3, &js, &n, &err));
    }
    printf("test_basics: ok\n");
    return 0;
}
