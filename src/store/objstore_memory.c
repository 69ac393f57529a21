/*
 * objstore_memory.c - objects in process memory (memory://).
 *
 * Each object is immutable and reference counted: a reader's blob keeps its
 * bytes alive after the object is replaced or deleted, which gives readers
 * the same snapshot behaviour as unlinked-but-mapped files. A mutex guards
 * the index; it is held only for lookups and swaps, never while copying.
 *
 * Keys are indexed twice: a hash table for the point operations (get, put,
 * create-if-absent, stat, exists, delete: O(1)) and a skip list in strcmp
 * order for listings. Keys under a prefix are contiguous in that order, so
 * a listing seeks to the first key not below the prefix in O(log n) and
 * walks the matches: O(log n + matches), whatever else the store holds
 * (every commit lists a table's snapshot folder). A skip list rather than
 * a sorted array because puts and deletes interleave with listings (an
 * array pays O(n) moves per insert); rather than a balanced tree because
 * insert and delete need no rebalancing and the level-0 chain is the
 * ordered walk.
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

/* Skip list heights: a node reaches level i+1 with probability 1/4, so 16
 * levels index 4^16 keys at the expected O(log n) search cost. */
#define MAX_HEIGHT 16

struct slot {
    char *key; /* owned; NULL only for the skip list's head */
    struct mobj *obj;
    struct slot *next; /* hash chain */
    unsigned height;   /* entries of fwd[] */
    struct slot *fwd[]; /* skip list: next key in strcmp order per level */
};

struct memstore {
    struct objstore base;
    pthread_mutex_t mu; /* guards everything below */
    struct slot **buckets;
    size_t n_buckets; /* power of two */
    size_t n_items;
    struct slot *head;  /* skip list head, MAX_HEIGHT levels, no key */
    unsigned height;    /* levels in use (1 when empty) */
    uint64_t rng;       /* xorshift state for node heights */
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

/* A height for a new node: geometric, p = 1/4. mu held. */
static unsigned random_height(struct memstore *m)
{
    uint64_t x = m->rng;
    unsigned h = 1;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rng = x;
    x *= 0x2545F4914F6CDD1Dull;
    while (h < MAX_HEIGHT && (x & 3) == 0) {
        h++;
        x >>= 2;
    }
    return h;
}

/* The last node of each level whose key is below `key` (the head when
 * none), into prev[0 .. m->height). Returns prev[0]. mu held. */
static struct slot *seek(struct memstore *m, const char *key,
                         struct slot **prev)
{
    struct slot *x = m->head;

    for (unsigned i = m->height; i-- > 0;) {
        while (x->fwd[i] && strcmp(x->fwd[i]->key, key) < 0)
            x = x->fwd[i];
        if (prev)
            prev[i] = x;
    }
    return x;
}

/* Links `sl` (its key absent from the list) into the skip list. mu held. */
static void skip_insert(struct memstore *m, struct slot *sl)
{
    struct slot *prev[MAX_HEIGHT];

    seek(m, sl->key, prev);
    for (unsigned i = m->height; i < sl->height; i++)
        prev[i] = m->head;
    if (sl->height > m->height)
        m->height = sl->height;
    for (unsigned i = 0; i < sl->height; i++) {
        sl->fwd[i] = prev[i]->fwd[i];
        prev[i]->fwd[i] = sl;
    }
}

/* Unlinks `sl` (in the list) from the skip list. mu held. */
static void skip_remove(struct memstore *m, struct slot *sl)
{
    struct slot *prev[MAX_HEIGHT];

    seek(m, sl->key, prev);
    for (unsigned i = 0; i < sl->height; i++)
        if (prev[i]->fwd[i] == sl)
            prev[i]->fwd[i] = sl->fwd[i];
    while (m->height > 1 && m->head->fwd[m->height - 1] == NULL)
        m->height--;
}

static struct slot *slot_new(const char *key, unsigned height)
{
    struct slot *sl = mem_calloc(1, sizeof *sl + height * sizeof sl->fwd[0]);

    if (sl == NULL)
        return NULL;
    sl->height = height;
    if (key && (sl->key = mem_strdup(key)) == NULL) {
        mem_free(sl);
        return NULL;
    }
    return sl;
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
    sl = slot_new(key, random_height(m));
    if (sl == NULL) {
        st = err_nomem();
        goto done;
    }
    sl->obj = o;
    o = NULL;
    *pp = sl;
    skip_insert(m, sl);
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
    size_t n, cap;
};

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->keys[i]);
    mem_free(l->keys);
    mem_free(l->items);
    memset(l, 0, sizeof *l); /* collect() frees on failure, callers again */
}

static infino_status listing_add(struct listing *l, const struct slot *s)
{
    char *k;

    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct objstore_entry *items =
            mem_realloc(l->items, cap * sizeof *items);
        if (items == NULL)
            return err_nomem();
        l->items = items;
        char **keys = mem_realloc(l->keys, cap * sizeof *keys);
        if (keys == NULL)
            return err_nomem();
        l->keys = keys;
        l->cap = cap;
    }
    if ((k = mem_strdup(s->key)) == NULL)
        return err_nomem();
    l->keys[l->n] = k;
    l->items[l->n].key = k;
    l->items[l->n].size = s->obj->len;
    l->items[l->n].mtime_ns = s->obj->mtime_ns;
    l->n++;
    return INFINO_OK;
}

/* Copies the entries under `prefix`, in key order: a seek to the first key
 * not below it, then a walk while keys match. */
static infino_status collect(struct memstore *m, const char *prefix,
                             struct listing *out)
{
    size_t plen = strlen(prefix);
    infino_status st = INFINO_OK;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->mu);
    for (struct slot *s = seek(m, prefix, NULL)->fwd[0];
         s && strncmp(s->key, prefix, plen) == 0; s = s->fwd[0]) {
        st = listing_add(out, s);
        if (st != INFINO_OK)
            break;
    }
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
        skip_remove(m, sl);
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

    for (struct slot *sl = m->head->fwd[0], *next; sl; sl = next) {
        next = sl->fwd[0]; /* every object is on level 0 */
        mobj_unref(sl->obj);
        mem_free(sl->key);
        mem_free(sl);
    }
    mem_free(m->head);
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
    m->head = slot_new(NULL, MAX_HEIGHT);
    m->height = 1;
    m->rng = clock_mono_ns() | 1; /* heights need no unpredictability */
    m->base.uri = mem_strdup(uri);
    if (m->buckets == NULL || m->head == NULL || m->base.uri == NULL) {
        mem_free(m->head);
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
