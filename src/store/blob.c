/*
 * blob.c - immutable byte ranges backed by mmap, memory, or a remote
 * object fetched by ranges (see store.h).
 */
#define _GNU_SOURCE
#include "store.h"

#include "util/alloc.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum blob_kind {
    BLOB_MMAP,
    BLOB_BORROWED,
    BLOB_OWNED,
    BLOB_WRAPPED,
    BLOB_REMOTE,
    BLOB_HOOKS
};

/* Fetched bytes of a remote blob. */
struct chunk {
    uint64_t off;
    size_t len;
    uint8_t *data; /* owned */
};

struct remote {
    pthread_mutex_t mu;
    struct chunk *chunks; /* sorted by off; guarded by mu */
    size_t n_chunks, chunks_cap;
    store_fetch_fn fetch;
};

struct store_blob {
    enum blob_kind kind;
    const uint8_t *data; /* mapping, borrowed or owned bytes */
    uint64_t size;
    char *name; /* owned */
    void (*release)(void *payload); /* BLOB_WRAPPED, BLOB_REMOTE */
    void *payload;
    struct remote *remote; /* BLOB_REMOTE: owned */
    const struct store_blob_hooks *hooks; /* BLOB_HOOKS */
};

infino_status store_blob_open_file(struct store_blob **out, const char *path)
{
    struct store_blob *b = NULL;
    struct stat sb;
    int fd = -1;
    void *map = NULL;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(INFINO_ERR_NOTFOUND, "%s: no such file", path);
        return err_set(INFINO_ERR_IO, "%s: open: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0) {
        err_set(INFINO_ERR_IO, "%s: stat: %s", path, strerror(errno));
        close(fd);
        return INFINO_ERR_IO;
    }
    if (sb.st_size > 0) {
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            err_set(INFINO_ERR_IO, "%s: mmap: %s", path, strerror(errno));
            close(fd);
            return INFINO_ERR_IO;
        }
    }
    close(fd);
    b = mem_calloc(1, sizeof *b);
    if (b == NULL || (b->name = mem_strdup(path)) == NULL) {
        if (map)
            munmap(map, (size_t)sb.st_size);
        mem_free(b);
        return err_nomem();
    }
    b->kind = BLOB_MMAP;
    b->data = map;
    b->size = (uint64_t)sb.st_size;
    *out = b;
    return INFINO_OK;
}

static infino_status wrap(struct store_blob **out, enum blob_kind kind,
                          const void *data, size_t len, const char *name)
{
    struct store_blob *b = mem_calloc(1, sizeof *b);

    *out = NULL;
    if (b == NULL || (b->name = mem_strdup(name ? name : "<memory>")) == NULL) {
        mem_free(b);
        return err_nomem();
    }
    b->kind = kind;
    b->data = data;
    b->size = len;
    *out = b;
    return INFINO_OK;
}

infino_status store_blob_from_memory(struct store_blob **out, const void *data,
                                     size_t len, const char *name, bool copy)
{
    infino_status st;
    void *dup;

    if (!copy)
        return wrap(out, BLOB_BORROWED, data, len, name);
    dup = mem_alloc(len);
    if (dup == NULL) {
        *out = NULL;
        return err_nomem();
    }
    if (len)
        memcpy(dup, data, len);
    st = wrap(out, BLOB_OWNED, dup, len, name);
    if (st != INFINO_OK)
        mem_free(dup);
    return st;
}

infino_status store_blob_take_memory(struct store_blob **out, void *data,
                                     size_t len, const char *name)
{
    infino_status st = wrap(out, BLOB_OWNED, data, len, name);

    if (st != INFINO_OK)
        mem_free(data);
    return st;
}

infino_status store_blob_wrap(struct store_blob **out, const void *data,
                              size_t len, const char *name,
                              void (*release)(void *payload), void *payload)
{
    infino_status st = wrap(out, BLOB_WRAPPED, data, len, name);

    if (st != INFINO_OK) {
        if (release)
            release(payload);
        return st;
    }
    (*out)->release = release;
    (*out)->payload = payload;
    return INFINO_OK;
}

infino_status store_blob_open_hooks(struct store_blob **out, const char *name,
                                    uint64_t size,
                                    const struct store_blob_hooks *hooks,
                                    void *payload)
{
    infino_status st = wrap(out, BLOB_HOOKS, NULL, 0, name);

    if (st != INFINO_OK) {
        hooks->close(payload);
        return st;
    }
    (*out)->size = size;
    (*out)->hooks = hooks;
    (*out)->payload = payload;
    return INFINO_OK;
}

/* First index whose chunk starts after `off`. Caller holds mu. */
static size_t chunk_upper(const struct remote *r, uint64_t off)
{
    size_t lo = 0, hi = r->n_chunks;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->chunks[mid].off <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A held chunk covering [off, off + len), or NULL. Chunks overlap only
 * when two reads raced, so looking a few back suffices. */
static const uint8_t *remote_find(struct remote *r, uint64_t off, size_t len)
{
    const uint8_t *p = NULL;
    size_t i;

    pthread_mutex_lock(&r->mu);
    i = chunk_upper(r, off);
    for (size_t k = 0; k < 4 && i > 0; k++, i--) {
        const struct chunk *c = &r->chunks[i - 1];
        if (off - c->off <= c->len && len <= c->len - (off - c->off)) {
            p = c->data + (off - c->off);
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return p;
}

/* Takes `data` (freed on failure). */
static infino_status remote_add(struct remote *r, uint64_t off, size_t len,
                                uint8_t *data)
{
    size_t i;

    pthread_mutex_lock(&r->mu);
    if (MEM_RESERVE(r->chunks, r->chunks_cap, r->n_chunks + 1) != 0) {
        pthread_mutex_unlock(&r->mu);
        mem_free(data);
        return err_nomem();
    }
    i = chunk_upper(r, off);
    memmove(r->chunks + i + 1, r->chunks + i,
            (r->n_chunks - i) * sizeof *r->chunks);
    r->chunks[i] = (struct chunk){off, len, data};
    r->n_chunks++;
    pthread_mutex_unlock(&r->mu);
    return INFINO_OK;
}

static void remote_free(struct remote *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_chunks; i++)
        mem_free(r->chunks[i].data);
    mem_free(r->chunks);
    pthread_mutex_destroy(&r->mu);
    mem_free(r);
}

infino_status store_blob_open_remote(struct store_blob **out, const char *name,
                                     uint64_t size, uint8_t *head,
                                     uint64_t head_off, size_t head_len,
                                     store_fetch_fn fetch,
                                     void (*release)(void *payload),
                                     void *payload)
{
    struct remote *r = mem_calloc(1, sizeof *r);
    infino_status st;

    *out = NULL;
    if (r == NULL) {
        mem_free(head);
        if (release)
            release(payload);
        return err_nomem();
    }
    pthread_mutex_init(&r->mu, NULL);
    r->fetch = fetch;
    if (head && head_len > 0 && head_off <= size && head_len <= size - head_off) {
        st = remote_add(r, head_off, head_len, head);
        if (st != INFINO_OK) {
            remote_free(r);
            if (release)
                release(payload);
            return st;
        }
    } else {
        mem_free(head);
    }
    st = wrap(out, BLOB_REMOTE, NULL, 0, name);
    if (st != INFINO_OK) {
        remote_free(r);
        if (release)
            release(payload);
        return st;
    }
    (*out)->size = size;
    (*out)->remote = r;
    (*out)->release = release;
    (*out)->payload = payload;
    return INFINO_OK;
}

static infino_status remote_read(struct store_blob *b, uint64_t off,
                                 size_t len, const uint8_t **out)
{
    struct remote *r = b->remote;
    const uint8_t *p = remote_find(r, off, len);
    uint64_t from, to;
    uint8_t *data;
    infino_status st;

    if (p != NULL) {
        *out = p;
        return INFINO_OK;
    }
    if (len == 0) {
        *out = (const uint8_t *)"";
        return INFINO_OK;
    }
    /* Widen to whole blocks: neighbouring small reads (footers, headers,
     * index pages) then cost one request. */
    from = off / STORE_REMOTE_BLOCK * STORE_REMOTE_BLOCK;
    to = off + len;
    if (to % STORE_REMOTE_BLOCK) {
        uint64_t up = (to / STORE_REMOTE_BLOCK + 1) * STORE_REMOTE_BLOCK;
        to = up < b->size ? up : b->size;
    }
    if (to - from > SIZE_MAX)
        return err_set(INFINO_ERR_NOMEM, "%s: range too large", b->name);
    data = mem_alloc((size_t)(to - from));
    if (data == NULL)
        return err_nomem();
    st = r->fetch(b->payload, from, (size_t)(to - from), data);
    if (st != INFINO_OK) {
        mem_free(data);
        return st;
    }
    st = remote_add(r, from, (size_t)(to - from), data);
    if (st != INFINO_OK)
        return st;
    *out = data + (off - from);
    return INFINO_OK;
}

uint64_t store_blob_size(const struct store_blob *b)
{
    return b->size;
}

const char *store_blob_name(const struct store_blob *b)
{
    return b->name;
}

infino_status store_blob_read(struct store_blob *b, uint64_t off, size_t len,
                              const uint8_t **out)
{
    if (off > b->size || len > b->size - off)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: range %llu+%zu is past the end (%llu bytes)",
                       b->name, (unsigned long long)off, len,
                       (unsigned long long)b->size);
    if (b->kind == BLOB_REMOTE)
        return remote_read(b, off, len, out);
    if (b->kind == BLOB_HOOKS)
        return b->hooks->read(b->payload, off, len, out);
    *out = b->data ? b->data + off : (const uint8_t *)"";
    return INFINO_OK;
}

void store_blob_release(struct store_blob *b, uint64_t off, uint64_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t a, e;

    if (b->kind == BLOB_HOOKS) {
        if (b->hooks->release && off <= b->size && len <= b->size - off)
            b->hooks->release(b->payload, off, len);
        return;
    }

    /* Only file mappings: MADV_DONTNEED on anonymous memory would zero
     * it. The mapping is shared and read-only, so dropping its pages
     * loses nothing; the next access maps them again from the page
     * cache. */
    if (b->kind != BLOB_MMAP || b->data == NULL || page <= 0 ||
        off > b->size || len > b->size - off)
        return;
    a = (off + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
    e = (off + len) / (uint64_t)page * (uint64_t)page;
    if (a < e)
        (void)madvise((void *)(uintptr_t)(b->data + a), (size_t)(e - a),
                      MADV_DONTNEED);
}

void store_blob_close(struct store_blob *b)
{
    if (b == NULL)
        return;
    if (b->kind == BLOB_MMAP && b->data)
        munmap((void *)b->data, (size_t)b->size);
    else if (b->kind == BLOB_OWNED)
        mem_free((void *)b->data);
    else if ((b->kind == BLOB_WRAPPED || b->kind == BLOB_REMOTE) && b->release)
        b->release(b->payload);
    else if (b->kind == BLOB_HOOKS)
        b->hooks->close(b->payload);
    remote_free(b->remote);
    mem_free(b->name);
    mem_free(b);
}
