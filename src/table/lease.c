/*
 * lease.c - leases on objects about to be published (lease.h).
 */
#include "lease.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_SEP '~'
#define LEASE_TAG_HEX 16

static const char *basename_of(const char *key)
{
    const char *slash = strrchr(key, '/');
    return slash ? slash + 1 : key;
}

/* Restores the thread's message after best-effort cleanup. */
struct saved_err {
    char text[1024];
};

static void save_err(struct saved_err *e)
{
    snprintf(e->text, sizeof e->text, "%s", err_last());
}

static void restore_err(const struct saved_err *e)
{
    err_set(INFINO_OK, "%s", e->text);
}

static infino_status write_lease(struct objstore *s, const char *key)
{
    return objstore_put(s, key, "", 0, STORE_REPLACE | STORE_NOSYNC);
}

infino_status lease_take(struct lease_set *ls, struct objstore *s,
                         const char *lease_dir, const char *object_key)
{
    char tag[LEASE_TAG_HEX + 1], key[1024];
    uint8_t rnd[LEASE_TAG_HEX / 2];
    struct lease_item *it;
    infino_status st;
    int n;

    random_bytes(rnd, sizeof rnd);
    hex_encode(tag, rnd, sizeof rnd);
    n = snprintf(key, sizeof key, "%s%s%c%s", lease_dir,
                 basename_of(object_key), LEASE_SEP, tag);
    if (n < 0 || (size_t)n >= sizeof key)
        return err_set(INFINO_ERR_INVALID, "lease key too long for '%s'",
                       object_key);
    if (MEM_RESERVE(ls->items, ls->cap, ls->n + 1))
        return err_nomem();
    it = &ls->items[ls->n];
    it->lease_key = mem_strdup(key);
    it->object_key = mem_strdup(object_key);
    if (it->lease_key == NULL || it->object_key == NULL) {
        mem_free(it->lease_key);
        mem_free(it->object_key);
        return err_nomem();
    }
    it->mono_ns = clock_mono_ns();
    st = write_lease(s, key);
    if (st != INFINO_OK) {
        mem_free(it->lease_key);
        mem_free(it->object_key);
        return err_context(st, "leasing %s", object_key);
    }
    if (ls->n == 0)
        ls->renewed_mono_ns = it->mono_ns;
    ls->n++;
    return INFINO_OK;
}

static void drop_item(struct lease_set *ls, struct objstore *s, size_t i)
{
    objstore_delete(s, ls->items[i].lease_key); /* else it expires */
    mem_free(ls->items[i].lease_key);
    mem_free(ls->items[i].object_key);
    ls->items[i] = ls->items[--ls->n];
}

void lease_drop(struct lease_set *ls, struct objstore *s,
                const char *object_key)
{
    struct saved_err e;

    save_err(&e);
    for (size_t i = ls->n; i-- > 0;)
        if (strcmp(ls->items[i].object_key, object_key) == 0)
            drop_item(ls, s, i);
    restore_err(&e);
}

void lease_drop_all(struct lease_set *ls, struct objstore *s)
{
    struct saved_err e;

    save_err(&e);
    while (ls->n > 0)
        drop_item(ls, s, ls->n - 1);
    restore_err(&e);
    mem_free(ls->items);
    memset(ls, 0, sizeof *ls);
}

infino_status lease_renew_due(struct lease_set *ls, struct objstore *s)
{
    int64_t now = clock_mono_ns();
    infino_status st;

    if (ls->n == 0 ||
        now - ls->renewed_mono_ns < (int64_t)LEASE_RENEW_SECS * 1000000000)
        return INFINO_OK;
    for (size_t i = 0; i < ls->n; i++) {
        st = write_lease(s, ls->items[i].lease_key);
        if (st != INFINO_OK)
            return err_context(st, "renewing the lease on %s",
                               ls->items[i].object_key);
        ls->items[i].mono_ns = now;
    }
    ls->renewed_mono_ns = now;
    return INFINO_OK;
}

bool lease_is_safe(const struct lease_set *ls, const char *object_key)
{
    int64_t now = clock_mono_ns();

    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(ls->items[i].object_key, object_key) == 0)
            return now - ls->items[i].mono_ns <
                   (int64_t)LEASE_SECS * 1000000000 / 2;
    return false;
}

int64_t lease_storage_now(struct objstore *s, const char *dir)
{
    char key[1024], tag[17];
    uint8_t rnd[8];
    struct objstore_entry e;
    int64_t now = clock_now_ns();

    random_bytes(rnd, sizeof rnd);
    hex_encode(tag, rnd, sizeof rnd);
    snprintf(key, sizeof key, "%sclock%c%s", dir, LEASE_SEP, tag);
    if (write_lease(s, key) == INFINO_OK) {
        if (objstore_stat(s, key, &e) == INFINO_OK)
            now = e.mtime_ns;
        objstore_delete(s, key);
    }
    err_clear();
    return now;
}

bool lease_parse(char *out, size_t cap, const char *lease_name)
{
    const char *base = basename_of(lease_name);
    const char *sep = strrchr(base, LEASE_SEP);
    size_t n;

    if (sep == NULL) {
        /* Leases of earlier versions carried no tag: the whole name. */
        n = strlen(base);
    } else {
        if (strlen(sep + 1) != LEASE_TAG_HEX)
            return false;
        n = (size_t)(sep - base);
    }
    if (n == 0 || n >= cap || base[0] == '.')
        return false;
    memcpy(out, base, n);
    out[n] = '\0';
    return strcmp(out, "clock") != 0;
}

int64_t lease_read_secs(void)
{
    const char *e = getenv("INFINO_READ_LEASE_SECS");
    char *end;
    long long v;

    if (e == NULL || *e == '\0')
        return READ_LEASE_SECS;
    v = strtoll(e, &end, 10);
    return *end == '\0' && v >= 0 ? (int64_t)v : READ_LEASE_SECS;
}
