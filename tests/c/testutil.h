/* testutil.h — tiny helpers shared by the C tests (not public API). */
#ifndef INTERSTICE_TESTUTIL_H
#define INTERSTICE_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "interstice.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

/* RC(want, call): call must return want. The call passes &err as its error
 * out-parameter; on failure err must carry the same code and a message. */
static interstice_error *err;
#define RC(want, call)                                                                       \
    do {                                                                                     \
        int rc_;                                                                             \
        err = NULL;                                                                          \
        rc_ = (call);                                                                        \
        if (rc_ != (want)) {                                                                 \
            fprintf(stderr, "%s:%d: %s\n  returned %d (%s), want %d (%s): %s\n", __FILE__,   \
                    __LINE__, #call, rc_, interstice_status_str(rc_), (want),                \
                    interstice_status_str(want), err ? err->message : "(no error)");         \
            exit(1);                                                                         \
        }                                                                                    \
        if (rc_ != INTERSTICE_OK) {                                                          \
            CHECK(err != NULL && err->code == rc_ && err->message && err->message[0]);       \
        } else {                                                                             \
            CHECK(err == NULL);                                                              \
        }                                                                                    \
        interstice_error_free(err);                                                          \
        err = NULL;                                                                          \
    } while (0)
#define OK(call) RC(INTERSTICE_OK, call)

/* RCMSG(want, substring, call): as RC, and the message contains substring. */
#define RCMSG(want, sub, call)                                                          \
    do {                                                                                \
        int rc_;                                                                        \
        err = NULL;                                                                     \
        rc_ = (call);                                                                   \
        if (rc_ != (want) || !err || !strstr(err->message, (sub))) {                    \
            fprintf(stderr, "%s:%d: %s\n  returned %d (%s), want %d with \"%s\": %s\n", \
                    __FILE__, __LINE__, #call, rc_, interstice_status_str(rc_), (want), \
                    (sub), err ? err->message : "(no error)");                          \
            exit(1);                                                                    \
        }                                                                               \
        interstice_error_free(err);                                                     \
        err = NULL;                                                                     \
    } while (0)

static inline const char *wasm_dir(void) {
    const char *d = getenv("WASM");
    return d && *d ? d : "build/wasm";
}

static inline char *wasm_path(const char *name) {
    static char buf[4][1024];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s.wasm", wasm_dir(), name);
    return b;
}

static inline const char *vectors_dir(void) {
    const char *d = getenv("VECTORS");
    return d && *d ? d : "tests/vectors";
}

/* make_tmpdir returns a new empty directory under $TMPDIR (static buffer
 * per call site is the caller's business: it returns malloc'ed memory). */
static inline char *make_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *p = (char *)malloc(1024);
    CHECK(p);
    snprintf(p, 1024, "%s/istc-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    CHECK(mkdtemp(p) != NULL);
    return p;
}

/* json_u64 reads the unsigned integer member `member` of a flat JSON object
 * (the first occurrence of "member":); the member must be there. */
static inline uint64_t json_u64(const char *js, const char *member) {
    char pat[128];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", member);
    p = strstr(js, pat);
    CHECK(p != NULL);
    return strtoull(p + strlen(pat), NULL, 10);
}

static inline void rm_rf(const char *dir) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static inline void cp_r(const char *from, const char *to) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    CHECK(system(cmd) == 0);
}

/* read_file returns the file's bytes, NUL-terminated, malloc'ed. */
static inline char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    CHECK(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    buf = (char *)malloc((size_t)n + 1);
    CHECK(buf);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

static inline double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An encoded Row holding the one string value "alice" (row.MustEncode("alice")). */
static const uint8_t ROW_ALICE[] = {
    0x0c,0x00,0x00,0x00,0x00,0x00,0x06,0x00,0x08,0x00,0x04,0x00,0x06,0x00,0x00,0x00,0x04,0x00,0x00,0x00,
    0x01,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x10,0x00,0x0c,0x00,0x0b,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x04,0x00,0x10,0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x08,0x05,0x00,0x00,0x00,
    0x61,0x6c,0x69,0x63,0x65,0x00,0x00,0x00};
/* row.MustEncode("alice", int64(2)): the arguments of counter.add. */
static const uint8_t ROW_ALICE_2[] = {
    0x0c,0x00,0x00,0x00,0x00,0x00,0x06,0x00,0x08,0x00,0x04,0x00,0x06,0x00,0x00,0x00,0x04,0x00,0x00,0x00,
    0x02,0x00,0x00,0x00,0x38,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x0c,0x00,0x14,0x00,0x13,0x00,0x00,0x00,
    0x00,0x00,0x04,0x00,0x0c,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x05,0x10,0x00,0x0c,0x00,0x0b,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x04,0x00,
    0x10,0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x08,0x05,0x00,0x00,0x00,0x61,0x6c,0x69,0x63,
    0x65,0x00,0x00,0x00};
/* row.MustEncode(uint64(1)). */
static const uint8_t ROW_U64_1[] = {
    0x10,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x06,0x00,0x08,0x00,0x04,0x00,0x06,0x00,0x00,0x00,
    0x04,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x0a,0x00,0x14,0x00,0x13,0x00,
    0x00,0x00,0x04,0x00,0x0a,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x03};

/* A JSON record for interstice_log_append_json. */
static inline int make_record_json(char *buf, size_t cap, const char *module, long long n) {
    return snprintf(buf, cap,
                    "{\"timestamp\":%lld,\"kind\":\"External\",\"module\":\"%s\",\"reducer\":\"put\","
                    "\"args\":[%lld,\"v%lld\"],\"mutations\":[{\"op\":\"Insert\",\"module\":\"%s\","
                    "\"table\":\"t\",\"row\":[%lld,\"v%lld\",1.5,true,null,[1,2]],\"old_row\":null}]}",
                    n, module, n, n, module, n, n);
}

#endif
