/*
 * spill.c - anonymous scratch files (see spill.h).
 *
 * Linux O_TMPFILE gives a file that never had a name; elsewhere (or on a
 * file system without support) mkstemp + unlink gives one that loses its
 * name immediately. Writes go through a 1 MiB buffer.
 */
#define _GNU_SOURCE
#include "spill.h"

#include "alloc.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPILL_BUF_CAP (1u << 20)

struct spill_file {
    int fd;
    uint8_t *buf; /* owned: SPILL_BUF_CAP bytes of unflushed data */
    size_t buf_len;
    uint64_t flushed; /* bytes already in the file */
    const uint8_t *map; /* owned mapping after spill_map(), else NULL */
    size_t map_len;
    bool mapped;
};

static int open_anonymous(const char *dir)
{
    char path[4096];
    int fd;

#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    /* EOPNOTSUPP / EISDIR / EINVAL: fall back to a named file */
#endif
    if ((size_t)snprintf(path, sizeof path, "%s/.infino-spill-XXXXXX",
                         dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    unlink(path);
    return fd;
}

infino_status spill_open(struct spill_file **out, const char *dir)
{
    struct spill_file *f;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0') {
        dir = getenv("TMPDIR");
        if (dir == NULL || dir[0] == '\0')
            dir = "/tmp";
    }
    f = mem_calloc(1, sizeof *f);
    if (f == NULL)
        return err_nomem();
    f->buf = mem_alloc(SPILL_BUF_CAP);
    if (f->buf == NULL) {
        mem_free(f);
        return err_nomem();
    }
    f->fd = open_anonymous(dir);
    if (f->fd < 0) {
        infino_status st = err_set(INFINO_ERR_IO, "%s: cannot create spill "
                                   "file: %s", dir, strerror(errno));
        mem_free(f->buf);
        mem_free(f);
        return st;
    }
    *out = f;
    return INFINO_OK;
}

static infino_status flush(struct spill_file *f)
{
    size_t off = 0;

    while (off < f->buf_len) {
        ssize_t w = write(f->fd, f->buf + off, f->buf_len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return err_set(INFINO_ERR_IO, "spill file: write: %s",
                           strerror(errno));
        }
        off += (size_t)w;
    }
    f->flushed += f->buf_len;
    f->buf_len = 0;
    return INFINO_OK;
}

infino_status spill_write(struct spill_file *f, const void *p, size_t n)
{
    const uint8_t *src = p;
    infino_status st;

    if (f->mapped)
        return err_set(INFINO_ERR_INVALID, "spill file: write after map");
    while (n > 0) {
        size_t room = SPILL_BUF_CAP - f->buf_len;
        size_t take = n < room ? n : room;

        memcpy(f->buf + f->buf_len, src, take);
        f->buf_len += take;
        src += take;
        n -= take;
        if (f->buf_len == SPILL_BUF_CAP && (st = flush(f)) != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

uint64_t spill_tell(const struct spill_file *f)
{
    return f->flushed + f->buf_len;
}

infino_status spill_map(struct spill_file *f, const uint8_t **data_out,
                        size_t *len_out)
{
    infino_status st;
    void *m;

    if (!f->mapped) {
        if ((st = flush(f)) != INFINO_OK)
            return st;
        if (f->flushed > SIZE_MAX)
            return err_set(INFINO_ERR_NOMEM, "spill file too large to map");
        if (f->flushed > 0) {
            m = mmap(NULL, (size_t)f->flushed, PROT_READ, MAP_PRIVATE, f->fd,
                     0);
            if (m == MAP_FAILED)
                return err_set(INFINO_ERR_IO, "spill file: mmap: %s",
                               strerror(errno));
            (void)madvise(m, (size_t)f->flushed, MADV_SEQUENTIAL);
            f->map = m;
            f->map_len = (size_t)f->flushed;
        }
        f->mapped = true;
        mem_free(f->buf);
        f->buf = NULL;
    }
    *data_out = f->map;
    *len_out = f->map_len;
    return INFINO_OK;
}

void spill_release(struct spill_file *f, uint64_t off, uint64_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t a, b;

    if (f->map == NULL || page <= 0 || off > f->map_len ||
        len > f->map_len - off)
        return;
    a = (off + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
    b = (off + len) / (uint64_t)page * (uint64_t)page;
    if (a < b)
        (void)madvise((void *)(f->map + a), (size_t)(b - a), MADV_DONTNEED);
}

void spill_close(struct spill_file *f)
{
    if (f == NULL)
        return;
    if (f->map != NULL)
        munmap((void *)f->map, f->map_len);
    if (f->fd >= 0)
        close(f->fd);
    mem_free(f->buf);
    mem_free(f);
}
