/* test_vectors: every golden log in tests/vectors reads through the C API
 * exactly as expected.jsonl says, and validates as expected_validate.json says. */
#include "testutil.h"

typedef struct {
    char *expected; /* remaining expected lines */
    int records;
} state;

static int compare(void *user, uint64_t lsn, const uint8_t *payload, size_t len) {
    state *s = (state *)user;
    char *js = NULL, *nl;
    size_t n = 0;
    interstice_error *e = NULL;
    if (interstice_record_to_json(payload, len, &js, &n, &e) != 0) {
        fprintf(stderr, "lsn %llu: %s\n", (unsigned long long)lsn, e->message);
        exit(1);
    }
    nl = strchr(s->expected, '\n');
    CHECK(nl != NULL);
    if ((size_t)(nl - s->expected) != n || memcmp(js, s->expected, n) != 0) {
        fprintf(stderr, "lsn %llu:\n got  %s\n want %.*s\n", (unsigned long long)lsn, js, (int)(nl - s->expected), s->expected);
        exit(1);
    }
    s->expected = nl + 1;
    s->records++;
    interstice_free(js);
    return 0;
}

/* pretty_u64 returns the number after "key": (with a space, as in the
 * pretty-printed expected_validate.json) in text, 0 if absent. */
static unsigned long long pretty_u64(const char *text, const char *key) {
    char pat[128];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = strstr(text, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

int main(void) {
    /* The vectors this build writes (segment format 2), then the frozen
     * ones of format 1 (tests/vectors/vectors.go). */
    const char *names[] = {"basic", "torn_tail", "corrupt_middle", "torn_batch",
                           "basic_v1", "torn_tail_v1", "corrupt_middle_v1"};
    int i;
    for (i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
        char path[1024], logdir[1024];
        char *expected, *validate;
        state s;
        interstice_log *log = NULL;
        interstice_log_options o;
        interstice_log_report *rep = NULL;
        int corrupt, torn;

        snprintf(logdir, sizeof logdir, "%s/%s/log", vectors_dir(), names[i]);
        snprintf(path, sizeof path, "%s/%s/expected.jsonl", vectors_dir(), names[i]);
        expected = read_file(path, NULL);
        CHECK(expected);
        snprintf(path, sizeof path, "%s/%s/expected_validate.json", vectors_dir(), names[i]);
        validate = read_file(path, NULL);
        CHECK(validate);
        /* what the vector is: its expected report says */
        corrupt = strstr(validate, "\"problem\": null") == NULL;
        torn = strstr(validate, "\"torn_tail\": true") != NULL;

        /* read-only: never modifies the committed fixture */
        interstice_log_options_init(&o);
        o.recovery = INTERSTICE_RECOVER_READ_ONLY;
        OK(interstice_log_open(logdir, &o, &log, &err));
        s.expected = expected;
        s.records = 0;
        if (corrupt) RC(INTERSTICE_E_CORRUPT, interstice_log_replay(log, 0, compare, &s, &err));
        else OK(interstice_log_replay(log, 0, compare, &s, &err));
        CHECK(*s.expected == 0); /* every expected line was delivered */
        OK(interstice_log_close(log, &err));

        OK(interstice_log_validate(logdir, NULL, &rep, &err));
        CHECK(rep->records == pretty_u64(validate, "records"));
        CHECK(rep->first_lsn == pretty_u64(validate, "first_lsn"));
        CHECK(rep->last_lsn == pretty_u64(validate, "last_lsn"));
        CHECK(rep->segments == pretty_u64(validate, "segments"));
        CHECK(rep->torn_tail == torn);
        CHECK((rep->problem_code == INTERSTICE_E_CORRUPT) == corrupt);
        if (corrupt) CHECK(strstr(validate, rep->problem_segment) && rep->problem_offset == (int64_t)pretty_u64(validate, "offset"));
        if (torn) CHECK(strstr(validate, rep->torn_segment) && rep->torn_offset == (int64_t)pretty_u64(validate, "offset"));
        interstice_log_report_free(rep);
        printf("vector %s: %d records ok\n", names[i], s.records);
        free(expected);
        free(validate);
    }
    printf("test_vectors: ok\n");
    return 0;
}
