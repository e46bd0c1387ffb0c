/* test_log: the standalone transaction log API, every function and status path. */
#include "testutil.h"

typedef struct {
    uint64_t lsns[256];
    uint8_t *payloads[256];
    size_t lens[256];
    int n;
    int stop_after;
} collected;

static int collect(void *user, uint64_t lsn, const uint8_t *payload, size_t len) {
    collected *c = (collected *)user;
    CHECK(c->n < 256);
    c->lsns[c->n] = lsn;
    c->payloads[c->n] = (uint8_t *)malloc(len);
    CHECK(c->payloads[c->n]);
    memcpy(c->payloads[c->n], payload, len);
    c->lens[c->n] = len;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void collected_free(collected *c) {
    int i;
    for (i = 0; i < c->n; i++) free(c->payloads[i]);
    memset(c, 0, sizeof *c);
}

int main(void) {
    char *dir = make_tmpdir("log");
    char rec[1024];
    interstice_log_options opts;
    interstice_log *log = NULL, *log2 = NULL;
    uint64_t lsn = 0, first = 0, last = 0;
    collected c;
    char *js = NULL;
    size_t jslen = 0;
    int i, n;
    interstice_log_report *rep = NULL;

    memset(&c, 0, sizeof c);
    interstice_log_options_init(&opts);
    opts.segment_size = 4096;

    /* open creates the directory and a first segment */
    OK(interstice_log_open(dir, &opts, &log, &err));
    CHECK(log != NULL);
    OK(interstice_log_first_lsn(log, &first, &err));
    OK(interstice_log_last_lsn(log, &last, &err));
    CHECK(first == 0 && last == 0);

    /* a second writable open of the same directory is refused */
    RC(INTERSTICE_E_LOCKED, interstice_log_open(dir, &opts, &log2, &err));
    CHECK(log2 == NULL);

    /* append_json: the convenience encoder */
    for (i = 1; i <= 5; i++) {
        n = make_record_json(rec, sizeof rec, "m", i);
        OK(interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
        CHECK(lsn == (uint64_t)i);
    }
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "invalid JSON", interstice_log_append_json(log, "{", 1, &lsn, &err));
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "kind", interstice_log_append_json(log, "{\"kind\":\"Nope\"}", 15, &lsn, &err));
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "mutations[0].op",
          interstice_log_append_json(log, "{\"mutations\":[{\"op\":\"Upsert\"}]}", 31, &lsn, &err));

    /* replay returns the payloads; record_to_json renders them */
    OK(interstice_log_replay(log, 0, collect, &c, &err));
    CHECK(c.n == 5 && c.lsns[0] == 1 && c.lsns[4] == 5);
    OK(interstice_record_to_json(c.payloads[2], c.lens[2], &js, &jslen, &err));
    CHECK(jslen == strlen(js));
    CHECK(strncmp(js, "{\"lsn\":3,\"timestamp\":3,\"kind\":\"External\",\"module\":\"m\",\"reducer\":\"put\",\"args\":[3,\"v3\"]", 84) == 0);
    CHECK(strstr(js, "\"row\":[3,\"v3\",1.5,true,null,[1,2]]") != NULL);
    interstice_free(js);
    js = NULL;

    /* append: re-append an encoded payload; the log assigns a new LSN */
    OK(interstice_log_append(log, c.payloads[0], c.lens[0], &lsn, &err));
    CHECK(lsn == 6);
    OK(interstice_log_append(log, c.payloads[1], c.lens[1], NULL, NULL));

    /* append_batch: consecutive LSNs, one write */
    {
        const uint8_t *ps[3];
        size_t ls[3];
        for (i = 0; i < 3; i++) { ps[i] = c.payloads[i]; ls[i] = c.lens[i]; }
        OK(interstice_log_append_batch(log, ps, ls, 3, &first, &err));
        CHECK(first == 8);
        OK(interstice_log_append_batch(log, ps, ls, 0, &first, &err));
        CHECK(first == 0);
        ls[1] = 0;
        RCMSG(INTERSTICE_E_BAD_ARGUMENT, "payload 1", interstice_log_append_batch(log, ps, ls, 3, &first, &err));
        ps[1] = NULL;
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append_batch(log, ps, ls, 3, &first, &err));
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append_batch(log, NULL, ls, 3, &first, &err));
    }
    OK(interstice_log_last_lsn(log, &last, &err));
    CHECK(last == 10);

    /* wrong payloads: not a Transaction */
    {
        uint8_t junk[32];
        memset(junk, 0, sizeof junk);
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append(log, junk, sizeof junk, &lsn, &err));
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append(log, junk, 0, &lsn, &err));
        RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_append(log, NULL, 10, &lsn, &err));
    }

    /* sync, rotate (a new segment), more appends */
    OK(interstice_log_sync(log, &err));
    OK(interstice_log_rotate(log, &err));
    for (i = 11; i <= 40; i++) {
        n = make_record_json(rec, sizeof rec, "m", i);
        OK(interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
        CHECK(lsn == (uint64_t)i);
    }

    /* replay from an LSN, and stopping early */
    collected_free(&c);
    OK(interstice_log_replay(log, 38, collect, &c, &err));
    CHECK(c.n == 3 && c.lsns[0] == 38 && c.lsns[2] == 40);
    collected_free(&c);
    c.stop_after = 4;
    OK(interstice_log_replay(log, 0, collect, &c, &err));
    CHECK(c.n == 4 && c.lsns[3] == 4);
    collected_free(&c);
    RC(INTERSTICE_E_BAD_ARGUMENT, interstice_log_replay(log, 0, NULL, NULL, &err));

    /* close; double close is harmless */
    OK(interstice_log_close(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_close(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_sync(log, &err));
    RC(INTERSTICE_E_CLOSED, interstice_log_replay(log, 0, collect, &c, &err));

    /* validate and inspect a healthy log */
    OK(interstice_log_validate(dir, NULL, &rep, &err));
    CHECK(rep->records == 40 && rep->first_lsn == 1 && rep->last_lsn == 40 && rep->segments >= 2);
    CHECK(rep->torn_tail == 0 && rep->torn_segment == NULL && rep->problem_code == INTERSTICE_OK && rep->problem_segment == NULL);
    CHECK(rep->bytes >= rep->valid_bytes && rep->valid_bytes > 0);
    interstice_log_report_free(rep);
    OK(interstice_log_inspect(dir, NULL, &js, &jslen, &err));
    CHECK(strstr(js, "\"records\":40") && strstr(js, "\"by_kind\":{\"External\":40}") && strstr(js, "\"m.t\":40"));
    interstice_free(js);
    RC(INTERSTICE_E_NOT_FOUND, interstice_log_validate("/nonexistent/interstice", NULL, &rep, &err));
    CHECK(rep == NULL);

    /* reopen: state persisted; read-only mode refuses writes */
    OK(interstice_log_open(dir, NULL, &log, &err));
    OK(interstice_log_last_lsn(log, &last, &err));
    CHECK(last == 40);
    OK(interstice_log_close(log, &err));
    opts.recovery = INTERSTICE_RECOVER_READ_ONLY;
    OK(interstice_log_open(dir, &opts, &log, &err));
    RC(INTERSTICE_E_READ_ONLY, interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
    RC(INTERSTICE_E_READ_ONLY, interstice_log_sync(log, &err));
    RC(INTERSTICE_E_READ_ONLY, interstice_log_rotate(log, &err));
    OK(interstice_log_replay(log, 0, collect, &c, &err));
    CHECK(c.n == 40);
    collected_free(&c);
    /* a read-only open takes no lock: a writer may open beside it */
    OK(interstice_log_open(dir, NULL, &log2, &err));
    OK(interstice_log_close(log2, &err));
    OK(interstice_log_close(log, &err));

    /* repair of a healthy log does nothing */
    OK(interstice_log_repair(dir, NULL, &js, &jslen, &err));
    CHECK(strstr(js, "\"action\":\"none\"") && strstr(js, "\"last_lsn\":40"));
    interstice_free(js);
    OK(interstice_log_repair(dir, NULL, NULL, NULL, &err));

    /* damaged logs: a torn tail (from the vectors) */
    {
        char src[1024], tdir[1100];
        snprintf(src, sizeof src, "%s/torn_tail/log", vectors_dir());
        snprintf(tdir, sizeof tdir, "%s/torn", dir);
        cp_r(src, tdir);
        OK(interstice_log_validate(tdir, NULL, &rep, &err));
        CHECK(rep->torn_tail == 1 && rep->torn_segment && rep->torn_lsn == 16 && rep->torn_reason && rep->last_lsn == 15);
        interstice_log_report_free(rep);
        interstice_log_options_init(&opts);
        opts.recovery = INTERSTICE_RECOVER_STRICT;
        RC(INTERSTICE_E_TORN_TAIL, interstice_log_open(tdir, &opts, &log, &err));
        CHECK(log == NULL);
        /* the default mode cuts the tail (keeping its bytes) and continues */
        OK(interstice_log_open(tdir, NULL, &log, &err));
        OK(interstice_log_last_lsn(log, &last, &err));
        CHECK(last == 15);
        n = make_record_json(rec, sizeof rec, "m", 16);
        OK(interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
        CHECK(lsn == 16);
        OK(interstice_log_close(log, &err));

        /* repair of a torn copy */
        cp_r(src, tdir);
        OK(interstice_log_repair(tdir, NULL, &js, NULL, &err));
        CHECK(strstr(js, "\"action\":\"truncated torn tail\"") && strstr(js, ".broken"));
        interstice_free(js);

        /* mid-log corruption: open succeeds (only the last segment is read),
         * replay stops at the damage with its place, and it is sticky */
        snprintf(src, sizeof src, "%s/corrupt_middle/log", vectors_dir());
        cp_r(src, tdir);
        OK(interstice_log_validate(tdir, NULL, &rep, &err));
        CHECK(rep->problem_code == INTERSTICE_E_CORRUPT && rep->problem_segment &&
              strcmp(rep->problem_segment, "00000000000000000005.log") == 0 && rep->problem_lsn == 5 &&
              rep->problem_offset == 32 && rep->records == 4);
        interstice_log_report_free(rep);
        OK(interstice_log_open(tdir, NULL, &log, &err));
        RCMSG(INTERSTICE_E_CORRUPT, "00000000000000000005.log", interstice_log_replay(log, 0, collect, &c, &err));
        CHECK(c.n == 4);
        collected_free(&c);
        RC(INTERSTICE_E_CORRUPT, interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
        OK(interstice_log_close(log, &err));
        OK(interstice_log_repair(tdir, NULL, &js, NULL, &err));
        CHECK(strstr(js, "\"action\":\"truncated at corruption\"") && strstr(js, "\"last_lsn\":4"));
        interstice_free(js);
    }

    /* option errors */
    interstice_log_options_init(&opts);
    opts.segment_size = 100;
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "segment size", interstice_log_open(dir, &opts, &log, &err));
    interstice_log_options_init(&opts);
    opts.sync = 7;
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "sync policy", interstice_log_open(dir, &opts, &log, &err));
    interstice_log_options_init(&opts);
    opts.recovery = -1;
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "recovery", interstice_log_open(dir, &opts, &log, &err));
    interstice_log_options_init(&opts);
    opts.version = 0;
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "interstice_log_options_init", interstice_log_open(dir, &opts, &log, &err));
    RCMSG(INTERSTICE_E_BAD_ARGUMENT, "interstice_log_options_init", interstice_log_validate(dir, &opts, &rep, &err));

    /* sync policies: interval and none */
    interstice_log_options_init(&opts);
    opts.sync = INTERSTICE_SYNC_INTERVAL;
    opts.sync_interval_ms = 5;
    OK(interstice_log_open(dir, &opts, &log, &err));
    OK(interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
    CHECK(lsn == 41);
    OK(interstice_log_close(log, &err));
    opts.sync = INTERSTICE_SYNC_NONE;
    OK(interstice_log_open(dir, &opts, &log, &err));
    OK(interstice_log_append_json(log, rec, (size_t)n, &lsn, &err));
    OK(interstice_log_sync(log, &err));
    OK(interstice_log_close(log, &err));

    /* retention: keep 1 sealed segment (nothing is protected, so nothing goes) */
    interstice_log_options_init(&opts);
    opts.retain_segments = 1;
    OK(interstice_log_open(dir, &opts, &log, &err));
    OK(interstice_log_rotate(log, &err));
    OK(interstice_log_first_lsn(log, &first, &err));
    CHECK(first == 1);
    OK(interstice_log_close(log, &err));

    rm_rf(dir);
    free(dir);
    printf("test_log: ok\n");
    return 0;
}
