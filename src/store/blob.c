/*
 * blob.c - immutable byte ranges backed by mmap or memory (see store.h).
 */
#define _GNU_SOURCE
#include "store.h"

#include "util/alloc.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum blob_kind { BLOB_MMAP, BLOB_BORROWED, BLOB_OWNED, BLOB_WRAPPED };

struct store_blob {
    enum blob_kind kind;
    const uint8_t *data; /* mapping, borrowed or owned bytes */
    uint64_t size;
    char *name; /* owned */
    void (*release)(void *payload); /* BLOB_WRAPPED */
    void *payload;
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
    *out = b->data ? b->data + off : (const uint8_t *)"";
    return INFINO_OK;
}

void store_blob_release(struct store_blob *b, uint64_t off, uint64_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t a, e;

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
    else if (b->kind == BLOB_WRAPPED && b->release)
        b->release(b->payload);
    mem_free(b->name);
    mem_free(b);
}
