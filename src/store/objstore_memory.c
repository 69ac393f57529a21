/*
 * objstore_memory.c - objects in process memory (memory://).
 *
 * Each object is immutable and reference counted: a reader's blob keeps its
 * bytes alive after the object is replaced or deleted, which gives readers
 * the same snapshot behaviour as unlinked-but-mapped files. A mutex guards
 * the table; it is held only for lookups and swaps, never while copying.
 */
#include "objstore.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/hash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

struct mobj {
    atomic_long refs;
    uint8_t *data; /* owned */
    size_t len;
    int64_t mtime_ns;
};

struct slot {
    char *key; /* owned; NULL = empty slot */
    struct mobj *obj;
    struct slot *next; /* chain */
};

struct memstore {
    struct objstore base;
    pthread_mutex_t mu;
    struct slot **buckets;
    size_t n_buckets; /* power of two */
    size_t n_items;
};

static void mobj_unref(void *payload)
{
    struct mobj *o = payload;

    if (atomic_fetch_sub(&o->refs, 1) == 1) {
        mem_free(o->data);
        mem_free(o);
    }
}

static struct slot **find(struct memstore *m, const char *key)
{
    uint64_t h = hash64(key, strlen(key));
    struct slot **pp = &m->buckets[h & (m->n_buckets - 1)];

    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static infino_status grow(struct memstore *m)
{
    size_t n = m->n_buckets * 2;
    struct slot **nb = mem_calloc(n, sizeof *nb);

    if (nb == NULL)
        return err_nomem();
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct slot *s = m->buckets[i], *next;
        for (; s; s = next) {
            next = s->next;
            uint64_t h = hash64(s->key, strlen(s->key));
            s->next = nb[h & (n - 1)];
            nb[h & (n - 1)] = s;
        }
    }
    mem_free(m->buckets);
    m->buckets = nb;
    m->n_buckets = n;
    return INFINO_OK;
}

static infino_status mem_get(struct objstore *s, const char *key,
                             struct store_blob **out)
{
    struct memstore *m = (struct memstore *)s;
    struct mobj *o = NULL;
    struct slot **pp;

    pthread_mutex_lock(&m->mu);
    pp = find(m, key);
    if (*pp) {
        o = (*pp)->obj;
        atomic_fetch_add(&o->refs, 1);
    }
    pthread_mutex_unlock(&m->mu);
    if (o == NULL)
        return err_set(INFINO_ERR_NOTFOUND, "%s: no such object", key);
    return store_blob_wrap(out, o->data, o->len, key, mobj_unref, o);
}

static infino_status publish(void *payload, const char *key, uint8_t *data,
                             size_t len, enum store_publish mode)
{
    struct memstore *m = payload;
    struct mobj *o = mem_calloc(1, sizeof *o), *old = NULL;
    struct slot **pp, *sl = NULL;
    infino_status st = INFINO_OK;

    if (o == NULL) {
        mem_free(data);
        return err_nomem();
    }
    atomic_init(&o->refs, 1);
    o->data = data;
    o->len = len;
    o->mtime_ns = clock_now_ns();
    pthread_mutex_lock(&m->mu);
    pp = find(m, key);
    if (*pp) {
        if (mode & STORE_NOREPLACE) {
            st = err_set(INFINO_ERR_EXISTS, "%s: object exists", key);
            goto done;
        }
        old = (*pp)->obj;
        (*pp)->obj = o;
        o = NULL;
        goto done;
    }
    sl = mem_calloc(1, sizeof *sl);
    if (sl == NULL || (sl->key = mem_strdup(key)) == NULL) {
        mem_free(sl);
        st = err_nomem();
        goto done;
    }
    sl->obj = o;
    o = NULL;
    *pp = sl;
    m->n_items++;
    if (m->n_items > m->n_buckets)
        grow(m); /* failure only costs longer chains */
done:
    pthread_mutex_unlock(&m->mu);
    if (o)
        mobj_unref(o);
    if (old)
        mobj_unref(old);
    return st;
}

static infino_status mem_put_sink(struct objstore *s, const char *key,
                                  struct store_sink **out)
{
    return store_sink_open_publish(out, key, publish, s);
}

static infino_status mem_stat(struct objstore *s, const char *key,
                              struct objstore_entry *out)
{
    struct memstore *m = (struct memstore *)s;
    struct slot **pp;
    infino_status st = INFINO_OK;

    pthread_mutex_lock(&m->mu);
    pp = find(m, key);
    if (*pp) {
        out->key = key;
        out->size = (*pp)->obj->len;
        out->mtime_ns = (*pp)->obj->mtime_ns;
    } else {
        st = err_set(INFINO_ERR_NOTFOUND, "%s: no such object", key);
    }
    pthread_mutex_unlock(&m->mu);
    return st;
}

static bool mem_exists(struct objstore *s, const char *key)
{
    struct memstore *m = (struct memstore *)s;
    bool found;

    pthread_mutex_lock(&m->mu);
    found = *find(m, key) != NULL;
    pthread_mutex_unlock(&m->mu);
    return found;
}

/* Snapshot of matching entries, so callbacks run without the lock. */
struct listing {
    struct objstore_entry *items;
    char **keys;
    size_t n;
};

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->keys[i]);
    mem_free(l->keys);
    mem_free(l->items);
    memset(l, 0, sizeof *l); /* collect() frees on failure, callers again */
}

static infino_status collect(struct memstore *m, const char *prefix,
                             struct listing *out)
{
    size_t plen = strlen(prefix), cap;
    infino_status st = INFINO_OK;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->mu);
    cap = m->n_items;
    out->items = mem_calloc(cap, sizeof *out->items);
    out->keys = mem_calloc(cap, sizeof *out->keys);
    if (out->items == NULL || out->keys == NULL) {
        st = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (struct slot *s = m->buckets[i]; s; s = s->next) {
            if (strncmp(s->key, prefix, plen) != 0)
                continue;
            char *k = mem_strdup(s->key);
            if (k == NULL) {
                st = err_nomem();
                goto done;
            }
            out->keys[out->n] = k;
            out->items[out->n].key = k;
            out->items[out->n].size = s->obj->len;
            out->items[out->n].mtime_ns = s->obj->mtime_ns;
            out->n++;
        }
    }
done:
    pthread_mutex_unlock(&m->mu);
    if (st != INFINO_OK)
        listing_free(out);
    return st;
}

static infino_status mem_list(struct objstore *s, const char *prefix,
                              bool include_temps, objstore_list_fn fn,
                              void *payload)
{
    struct listing l;
    infino_status st = collect((struct memstore *)s, prefix, &l);

    (void)include_temps; /* memory writes have no temporary objects */
    for (size_t i = 0; st == INFINO_OK && i < l.n; i++)
        st = fn(&l.items[i], payload);
    listing_free(&l);
    return st;
}

static infino_status mem_remove(struct objstore *s, const char *key)
{
    struct memstore *m = (struct memstore *)s;
    struct slot **pp, *sl = NULL;

    pthread_mutex_lock(&m->mu);
    pp = find(m, key);
    if (*pp) {
        sl = *pp;
        *pp = sl->next;
        m->n_items--;
    }
    pthread_mutex_unlock(&m->mu);
    if (sl == NULL)
        return err_set(INFINO_ERR_NOTFOUND, "%s: no such object", key);
    mobj_unref(sl->obj);
    mem_free(sl->key);
    mem_free(sl);
    return INFINO_OK;
}

static infino_status mem_remove_prefix(struct objstore *s, const char *prefix)
{
    struct listing l;
    infino_status st = collect((struct memstore *)s, prefix, &l);

    for (size_t i = 0; st == INFINO_OK && i < l.n; i++) {
        st = mem_remove(s, l.keys[i]);
        if (st == INFINO_ERR_NOTFOUND)
            st = INFINO_OK;
    }
    listing_free(&l);
    return st;
}

static void mem_close(struct objstore *s)
{
    struct memstore *m = (struct memstore *)s;

    for (size_t i = 0; m->buckets && i < m->n_buckets; i++) {
        struct slot *sl = m->buckets[i], *next;
        for (; sl; sl = next) {
            next = sl->next;
            mobj_unref(sl->obj);
            mem_free(sl->key);
            mem_free(sl);
        }
    }
    mem_free(m->buckets);
    pthread_mutex_destroy(&m->mu);
    mem_free(m->base.uri);
    mem_free(m);
}

static const struct objstore_ops mem_ops = {
    mem_get, mem_put_sink, mem_stat, mem_list, mem_remove, mem_remove_prefix,
    mem_close, mem_exists,
};

infino_status objstore_memory_open(struct objstore **out, const char *uri)
{
    struct memstore *m = mem_calloc(1, sizeof *m);

    *out = NULL;
    if (m == NULL)
        return err_nomem();
    m->n_buckets = 64;
    m->buckets = mem_calloc(m->n_buckets, sizeof *m->buckets);
    m->base.uri = mem_strdup(uri);
    if (m->buckets == NULL || m->base.uri == NULL) {
        mem_free(m->buckets);
        mem_free(m->base.uri);
        mem_free(m);
        return err_nomem();
    }
    pthread_mutex_init(&m->mu, NULL);
    m->base.ops = &mem_ops;
    m->base.durable = false;
    *out = &m->base;
    return INFINO_OK;
}
