/*
 * vlog.c - numbered create-if-absent objects with a lagging hint, a floor
 * and reservations (vlog.h; docs/commit-protocol.md).
 */
#include "vlog.h"

#include "lease.h"
#include "objlist.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HINT_NAME "LATEST"
#define FLOOR_DIR "floor/"

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

/* A 20-digit number, or 0. */
static uint64_t parse_digits(const char *p)
{
    uint64_t v = 0;

    if (strlen(p) != VLOG_DIGITS)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

uint64_t vlog_parse(const char *key, const char *prefix)
{
    size_t plen = strlen(prefix);

    if (strncmp(key, prefix, plen) != 0)
        return 0;
    return parse_digits(key + plen);
}

bool vlog_is_floor_key(const char *key, const char *prefix)
{
    size_t plen = strlen(prefix);

    return strncmp(key, prefix, plen) == 0 &&
           strncmp(key + plen, FLOOR_DIR, strlen(FLOOR_DIR)) == 0 &&
           parse_digits(key + plen + strlen(FLOOR_DIR)) != 0;
}

infino_status vlog_init(struct vlog *l, struct objstore *s,
                        const char *prefix, const char *lease_dir)
{
    memset(l, 0, sizeof *l);
    l->s = s;
    if (strlen(prefix) + 64 >= sizeof l->prefix ||
        strlen(lease_dir) + 64 >= sizeof l->lease_dir)
        return err_set(INFINO_ERR_INVALID, "log prefix '%s' is too long",
                       prefix);
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
    snprintf(l->lease_dir, sizeof l->lease_dir, "%s", lease_dir);
    return INFINO_OK;
}

static bool exists(const struct vlog *l, uint64_t v)
{
    char key[VLOG_KEY_MAX + 32];

    vlog_key(key, sizeof key, l->prefix, v);
    return objstore_exists(l->s, key);
}

/* The newest version, given that `v` exists. Versions at and above the
 * lowest one present are contiguous (created in order; gc deletes from
 * the bottom, in ascending order), so existence is monotone above `v`:
 * gallop, then bisect. One check when nothing is newer. */
static uint64_t probe_forward(const struct vlog *l, uint64_t v)
{
    uint64_t lo = v, step = 1, hi;

    for (;;) { /* invariant: lo exists */
        if (step > UINT64_MAX - lo || !exists(l, lo + step)) {
            hi = step > UINT64_MAX - lo ? UINT64_MAX : lo + step;
            break;
        }
        lo += step;
        if (step < (UINT64_MAX >> 2))
            step *= 2;
    }
    while (hi - lo > 1) { /* lo exists, hi does not */
        uint64_t mid = lo + (hi - lo) / 2;
        if (exists(l, mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
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

static infino_status floor_cb(const struct objstore_entry *e, void *payload)
{
    struct max_ctx *c = payload;
    uint64_t v = vlog_is_floor_key(e->key, c->prefix)
                     ? parse_digits(strrchr(e->key, '/') + 1)
                     : 0;

    if (v > c->max)
        c->max = v;
    return INFINO_OK;
}

static void floor_prefix(char *out, size_t cap, const struct vlog *l)
{
    snprintf(out, cap, "%s%s", l->prefix, FLOOR_DIR);
}

infino_status vlog_floor(const struct vlog *l, uint64_t *out)
{
    char prefix[VLOG_KEY_MAX + 16];
    struct max_ctx c = {l->prefix, 0};
    infino_status st;

    floor_prefix(prefix, sizeof prefix, l);
    st = objstore_list(l->s, prefix, floor_cb, &c);
    *out = c.max;
    return st;
}

static uint64_t read_hint(const struct vlog *l)
{
    char key[VLOG_KEY_MAX + 16];
    struct store_blob *b = NULL;
    const uint8_t *p;
    uint64_t hint = 0;

    snprintf(key, sizeof key, "%s%s", l->prefix, HINT_NAME);
    if (objstore_get(l->s, key, &b) == INFINO_OK) {
        size_t n = (size_t)store_blob_size(b);
        if (n > 0 && n <= VLOG_DIGITS &&
            store_blob_read(b, 0, n, &p) == INFINO_OK) {
            char tmp[VLOG_DIGITS + 1];
            char *end;
            memcpy(tmp, p, n);
            tmp[n] = '\0';
            hint = strtoull(tmp, &end, 10);
            if (*end != '\0')
                hint = 0;
        }
        store_blob_close(b);
    }
    err_clear(); /* a missing or damaged hint only costs a listing */
    return hint;
}

infino_status vlog_latest(const struct vlog *l, uint64_t *out)
{
    uint64_t v = read_hint(l), floor;
    infino_status st;

    *out = 0;
    if (v > 0 && exists(l, v))
        v = probe_forward(l, v);
    else
        v = 0;
    st = vlog_floor(l, &floor);
    if (st != INFINO_OK)
        return st;
    /* The newest version is never below the floor: a hint that leads
     * there is stale beyond gc (or found a hole a writer is about to
     * take back), so list. */
    if (v == 0 || v < floor) {
        struct max_ctx c = {l->prefix, 0};
        st = objstore_list(l->s, l->prefix, max_cb, &c);
        if (st != INFINO_OK)
            return st;
        v = c.max > 0 ? probe_forward(l, c.max) : 0;
    }
    *out = v;
    return INFINO_OK;
}

infino_status vlog_refresh(const struct vlog *l, uint64_t have, uint64_t *out)
{
    if (have > 0 && exists(l, have + 1)) {
        *out = probe_forward(l, have + 1);
        return INFINO_OK;
    }
    /* have + 1 is absent: either nothing is newer, or gc deleted both
     * have + 1 and have (it deletes in ascending order). */
    if (have > 0 && exists(l, have)) {
        *out = have;
        return INFINO_OK;
    }
    return vlog_latest(l, out);
}

infino_status vlog_refresh_kept(const struct vlog *l, uint64_t have,
                                int64_t kept_until_ns, uint64_t *out)
{
    char key[VLOG_KEY_MAX + 32];
    struct objstore_entry e;
    infino_status st;

    if (have == 0 || kept_until_ns == 0)
        return vlog_refresh(l, have, out);
    /* A status, not exists(): a check that failed (the network, a 5xx
     * beyond the retries) must not pass for "absent", or a reader cut off
     * from the store would keep answering from `have` as if current.
     * Failures take vlog_refresh's path, which reports them. */
    vlog_key(key, sizeof key, l->prefix, have + 1);
    st = objstore_stat(l->s, key, &e);
    if (st == INFINO_OK) {
        *out = probe_forward(l, have + 1);
        return INFINO_OK;
    }
    if (st != INFINO_ERR_NOTFOUND) {
        err_clear();
        return vlog_refresh(l, have, out);
    }
    err_clear();
    /* The clock is read after the answer: gc must have kept `have` up to
     * the moment the store answered, not merely until we asked. */
    if (clock_mono_ns() < kept_until_ns || exists(l, have)) {
        *out = have; /* have + 1 absent, have there: nothing is newer */
        return INFINO_OK;
    }
    return vlog_latest(l, out);
}

infino_status vlog_get(const struct vlog *l, uint64_t v,
                       struct store_blob **out)
{
    char key[VLOG_KEY_MAX + 32];

    vlog_key(key, sizeof key, l->prefix, v);
    return objstore_get(l->s, key, out);
}

/* After a failed publish: 1 when `key` holds exactly our bytes, 0 when it
 * is absent, -1 when it holds someone else's, -2 when we cannot tell. */
static int read_back(struct objstore *s, const char *key, const void *data,
                     size_t len)
{
    struct store_blob *b = NULL;
    const uint8_t *p;
    infino_status st;
    int r;

    st = objstore_get(s, key, &b);
    if (st == INFINO_ERR_NOTFOUND)
        return 0;
    if (st != INFINO_OK)
        return -2;
    if (store_blob_size(b) != len)
        r = -1;
    else if (store_blob_read(b, 0, len, &p) != INFINO_OK)
        r = -2;
    else
        r = memcmp(p, data, len) == 0 ? 1 : -1;
    store_blob_close(b);
    return r;
}

static void write_hint(const struct vlog *l, uint64_t v)
{
    char key[VLOG_KEY_MAX + 16], num[32];
    int n;

    snprintf(key, sizeof key, "%s%s", l->prefix, HINT_NAME);
    n = snprintf(num, sizeof num, "%" PRIu64, v);
    /* The hint is advisory: failing to write it loses nothing. */
    if (objstore_put(l->s, key, num, (size_t)n, STORE_REPLACE | STORE_NOSYNC) !=
        INFINO_OK)
        err_clear();
}

infino_status vlog_publish(const struct vlog *l, uint64_t v, const void *data,
                           size_t len, enum vlog_outcome *outcome,
                           bool *stale_out)
{
    char key[VLOG_KEY_MAX + 32];
    struct lease_set reserve = {0};
    uint64_t floor = 0;
    infino_status st;
    int r;

    *outcome = VLOG_NOT_PUBLISHED;
    *stale_out = false;
    vlog_key(key, sizeof key, l->prefix, v);
    st = lease_take(&reserve, l->s, l->lease_dir, key);
    if (st != INFINO_OK)
        goto done;
    st = objstore_put(l->s, key, data, len, STORE_NOREPLACE);
    if (st == INFINO_ERR_EXISTS) {
        st = err_set(INFINO_ERR_CONFLICT,
                     "%s: version %" PRIu64 " was published concurrently",
                     l->prefix, v);
        goto done;
    }
    if (st != INFINO_OK) {
        /* The object may be visible although the call failed (e.g. the
         * directory fsync after the rename): look. */
        r = read_back(l->s, key, data, len);
        if (r == 0)
            goto done; /* certainly not published: keep the error */
        if (r == -1) {
            st = err_set(INFINO_ERR_CONFLICT,
                         "%s: version %" PRIu64 " was published concurrently",
                         l->prefix, v);
            goto done;
        }
        if (r == -2) {
            *outcome = VLOG_UNKNOWN;
            st = err_context(st, "%s: version %" PRIu64 " may or may not "
                                 "have been published",
                             l->prefix, v);
            goto done;
        }
        err_clear(); /* ours is there: the publish counts */
    }
    /* Published. Prove it was not into a hole below the floor. */
    for (int attempt = 0;; attempt++) {
        st = vlog_floor(l, &floor);
        if (st == INFINO_OK)
            break;
        if (attempt == 3) {
            *outcome = VLOG_UNKNOWN;
            st = err_context(st, "%s: version %" PRIu64 " was published but "
                                 "its place could not be checked",
                             l->prefix, v);
            goto done;
        }
        clock_backoff(attempt, 1000, 16000);
    }
    if (floor > v) {
        if (!lease_is_safe(&reserve, key)) {
            /* Our reservation may have expired meanwhile, so gc may have
             * raised the floor past a legitimate version: do not guess. */
            *outcome = VLOG_UNKNOWN;
            st = err_set(INFINO_ERR_IO,
                         "%s: version %" PRIu64 " is below the floor %" PRIu64
                         " after a stall longer than the lease",
                         l->prefix, v, floor);
            goto done;
        }
        /* A hole gc made: nothing above can name our object; take it
         * back so that no reader settles on it. */
        if (objstore_delete(l->s, key) != INFINO_OK)
            err_clear(); /* below the floor: gc's to remove */
        *stale_out = true;
        st = err_set(INFINO_ERR_CONFLICT,
                     "%s: version %" PRIu64 " lies below the floor %" PRIu64
                     ": the newest version moved on",
                     l->prefix, v, floor);
        goto done;
    }
    *outcome = VLOG_PUBLISHED;
    st = INFINO_OK;
    write_hint(l, v);
done:
    lease_drop_all(&reserve, l->s);
    return st;
}

struct prune_ctx {
    const struct vlog *l;
    uint64_t below;
};

static infino_status prune_cb(const struct objstore_entry *e, void *payload)
{
    struct prune_ctx *c = payload;

    if (vlog_is_floor_key(e->key, c->l->prefix) &&
        parse_digits(strrchr(e->key, '/') + 1) < c->below &&
        objstore_delete(c->l->s, e->key) != INFINO_OK)
        err_clear(); /* a stale floor record is harmless */
    return INFINO_OK;
}

infino_status vlog_raise_floor(const struct vlog *l, uint64_t f)
{
    char prefix[VLOG_KEY_MAX + 16], key[VLOG_KEY_MAX + 48];
    struct prune_ctx c = {l, f};
    uint64_t cur;
    infino_status st;

    st = vlog_floor(l, &cur);
    if (st != INFINO_OK || cur >= f)
        return st;
    floor_prefix(prefix, sizeof prefix, l);
    vlog_key(key, sizeof key, prefix, f);
    st = objstore_put(l->s, key, "", 0, STORE_NOREPLACE);
    /* the marker is empty: any object under its name is as good (also
     * when an attempt landed whose answer was lost) */
    if (st == INFINO_ERR_EXISTS ||
        (st != INFINO_OK && st != INFINO_ERR_NOMEM &&
         objstore_exists(l->s, key))) {
        err_clear();
        st = INFINO_OK;
    }
    if (st != INFINO_OK)
        return err_context(st, "%s: raising the floor to %" PRIu64,
                           l->prefix, f);
    return objstore_list(l->s, prefix, prune_cb, &c);
}

struct reserved_ctx {
    int64_t fresh_after;
    uint64_t min;
};

static infino_status reserved_cb(const struct objstore_entry *e,
                                 void *payload)
{
    struct reserved_ctx *c = payload;
    char base[256];
    uint64_t v;

    if (e->mtime_ns < c->fresh_after || !lease_parse(base, sizeof base,
                                                     e->key))
        return INFINO_OK;
    v = parse_digits(base);
    if (v > 0 && v < c->min)
        c->min = v;
    return INFINO_OK;
}

infino_status vlog_min_reserved(const struct vlog *l, int64_t fresh_after_ns,
                                uint64_t *out)
{
    struct reserved_ctx c = {fresh_after_ns, UINT64_MAX};
    infino_status st = objstore_list(l->s, l->lease_dir, reserved_cb, &c);

    *out = c.min;
    return st;
}

struct victim {
    uint64_t v;
    size_t at;
};

static int cmp_victim(const void *a, const void *b)
{
    const struct victim *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v;
}

infino_status vlog_delete_below(const struct vlog *l,
                                const struct objlist *objs, uint64_t floor,
                                uint64_t *n_deleted, uint64_t *bytes)
{
    struct victim *vs = mem_alloc(objs->n * sizeof *vs + 1);
    size_t n = 0;
    infino_status st = INFINO_OK;

    if (vs == NULL)
        return err_nomem();
    for (size_t i = 0; i < objs->n; i++) {
        uint64_t v = vlog_parse(objs->items[i].key, l->prefix);
        if (v > 0 && v < floor)
            vs[n++] = (struct victim){v, i};
    }
    if (n > 1)
        qsort(vs, n, sizeof *vs, cmp_victim);
    for (size_t i = 0; i < n; i++) {
        const struct obj *o = &objs->items[vs[i].at];
        st = objstore_delete(l->s, o->key);
        if (st == INFINO_ERR_NOTFOUND) { /* a concurrent collector */
            err_clear();
            st = INFINO_OK;
            continue;
        }
        if (st != INFINO_OK)
            break;
        if (n_deleted)
            (*n_deleted)++;
        if (bytes)
            *bytes += o->size;
    }
    mem_free(vs);
    return st;
}
