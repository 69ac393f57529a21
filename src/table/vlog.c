/*
 * vlog.c - numbered create-if-absent objects with a lagging hint (vlog.h).
 */
#include "vlog.h"

#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HINT_NAME "LATEST"

void vlog_key(char *out, size_t cap, const char *prefix, uint64_t v)
{
    size_t n = strlen(prefix);

    /* "%s%0*llu", without printf's cost (once per query) */
    if (cap == 0)
        return;
    if (n + VLOG_DIGITS + 1 > cap) {
        snprintf(out, cap, "%s%0*" PRIu64, prefix, VLOG_DIGITS, v);
        return;
    }
    memcpy(out, prefix, n);
    for (int i = VLOG_DIGITS - 1; i >= 0; i--) {
        out[n + (size_t)i] = (char)('0' + v % 10);
        v /= 10;
    }
    out[n + VLOG_DIGITS] = '\0';
}

uint64_t vlog_parse(const char *key, const char *prefix)
{
    size_t plen = strlen(prefix);
    uint64_t v = 0;

    if (strncmp(key, prefix, plen) != 0 || strlen(key + plen) != VLOG_DIGITS)
        return 0;
    for (const char *p = key + plen; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

static bool exists(struct objstore *s, const char *prefix, uint64_t v)
{
    char key[512];

    vlog_key(key, sizeof key, prefix, v);
    return objstore_exists(s, key);
}

infino_status vlog_refresh(struct objstore *s, const char *prefix,
                           uint64_t from, uint64_t *out)
{
    uint64_t v = from;

    /* Probe forward one at a time; commits are rare relative to reads, so
     * this is almost always a single failed stat. */
    while (exists(s, prefix, v + 1))
        v++;
    *out = v;
    return INFINO_OK;
}

struct max_ctx {
    const char *prefix;
    uint64_t max;
};

static infino_status max_cb(const struct objstore_entry *e, void *payload)
{
    struct max_ctx *c = payload;
    uint64_t v = vlog_parse(e->key, c->prefix);

    if (v > c->max)
        c->max = v;
    return INFINO_OK;
}

infino_status vlog_latest(struct objstore *s, const char *prefix,
                          uint64_t *out)
{
    char key[512];
    struct store_blob *b = NULL;
    const uint8_t *p;
    uint64_t hint = 0;
    infino_status st;

    snprintf(key, sizeof key, "%s%s", prefix, HINT_NAME);
    st = objstore_get(s, key, &b);
    if (st == INFINO_OK) {
        size_t n = (size_t)store_blob_size(b);
        if (n > 0 && n <= VLOG_DIGITS &&
            store_blob_read(b, 0, n, &p) == INFINO_OK) {
            char tmp[VLOG_DIGITS + 1];
            char *end;
            memcpy(tmp, p, n);
            tmp[n] = '\0';
            hint = strtoull(tmp, &end, 10);
            if (*end != '\0' || !exists(s, prefix, hint))
                hint = 0; /* damaged or stale beyond gc: list instead */
        }
        store_blob_close(b);
    } else if (st != INFINO_ERR_NOTFOUND) {
        return st;
    }
    if (hint == 0) {
        struct max_ctx c = {prefix, 0};
        st = objstore_list(s, prefix, max_cb, &c);
        if (st != INFINO_OK)
            return st;
        hint = c.max;
        if (hint == 0) {
            *out = 0;
            return INFINO_OK;
        }
    }
    return vlog_refresh(s, prefix, hint, out);
}

infino_status vlog_get(struct objstore *s, const char *prefix, uint64_t v,
                       struct store_blob **out)
{
    char key[512];

    vlog_key(key, sizeof key, prefix, v);
    return objstore_get(s, key, out);
}

infino_status vlog_publish(struct objstore *s, const char *prefix, uint64_t v,
                           const void *data, size_t len)
{
    char key[512], num[32];
    infino_status st;
    int n;

    vlog_key(key, sizeof key, prefix, v);
    st = objstore_put(s, key, data, len, STORE_NOREPLACE);
    if (st == INFINO_ERR_EXISTS)
        return err_set(INFINO_ERR_CONFLICT, "%s: version %" PRIu64
                       " was published concurrently", prefix, v);
    if (st != INFINO_OK)
        return st;
    snprintf(key, sizeof key, "%s%s", prefix, HINT_NAME);
    n = snprintf(num, sizeof num, "%" PRIu64, v);
    /* The hint is advisory: failing to write it loses nothing. */
    if (objstore_put(s, key, num, (size_t)n, STORE_REPLACE | STORE_NOSYNC) !=
        INFINO_OK)
        err_clear();
    return INFINO_OK;
}
