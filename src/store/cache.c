/*
 * cache.c - the local read cache of remote object stores: entry files,
 * blobs over them, background fills, eviction (see cache.h).
 */
#define _GNU_SOURCE
#include "cache.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/random.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define B STORE_CACHE_BLOCK
#define MAGIC "INFCACH1"
#define FORMAT 1
#define FIXED 64           /* fixed header fields, before ETag and id */
#define DATA_ALIGN 4096    /* the object's bytes start page-aligned */
#define ID_MAX 65535       /* store id + "\n" + key */
#define FILL_PIECE ((size_t)8 << 20) /* bytes per request of a fill */
#define READAHEAD ((uint64_t)1 << 20) /* hybrid: extra bytes per miss */
#define TMP_MAX_AGE_NS ((int64_t)3600 * 1000000000) /* abandoned temps */
#define TOUCH_EVERY_NS ((int64_t)30 * 1000000000)
#define ENTRY_SUFFIX ".ice"
#define TMP_PREFIX ".tmp-"

/* ---- the cache --------------------------------------------------------- */

struct fill_job {
    struct fill_job *next;
    struct entry *e;             /* holds a reference */
    struct objstore_ranges *src; /* owned */
};

struct counters {
    atomic_uint_fast64_t opens_warm, opens_cold, blocks_fetched,
        blocks_filled, blocks_corrupt, bytes_fetched, entries_evicted,
        write_errors;
};

struct store_cache {
    atomic_int refs; /* the store, open blobs, the fill thread */
    char *dir;       /* owned or NULL */
    char *scratch_dir; /* owned: where scratch files go */
    uint64_t budget;
    enum store_cache_mode mode;
    pid_t pid; /* a forked child does no background work */
    atomic_bool stop;
    atomic_uint_fast64_t since_trim; /* bytes added since the last trim */
    struct counters n;
    pthread_mutex_t mu; /* the fill queue */
    pthread_cond_t cv, idle;
    struct fill_job *head, *tail;
    bool worker, busy;
};

/* One open cache file, persistent or scratch. */
struct entry {
    atomic_int refs;
    pthread_mutex_t mu; /* guards fd */
    int fd;             /* -1: closed; reopened by path, same inode only */
    const uint8_t *map; /* the whole file, read-only, shared */
    size_t map_len;
    uint64_t size, n_blocks, slots_off, data_off;
    dev_t dev;
    ino_t ino;
    bool persistent;
    char *path; /* owned: persistent entries */
    char etag[OBJSTORE_ETAG_MAX];
};

static void job_free(struct fill_job *j);

static void cache_unref(struct store_cache *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    while (c->head) {
        struct fill_job *j = c->head;
        c->head = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->idle);
    mem_free(c->dir);
    mem_free(c->scratch_dir);
    mem_free(c);
}

static const struct {
    const char *name, *alias;
    enum store_cache_mode mode;
} modes[] = {
    {"lazy_foreground_with_background_fill", "lazy", STORE_CACHE_LAZY},
    {"hybrid_with_prefetch", "hybrid", STORE_CACHE_HYBRID},
    {"range_only", "range", STORE_CACHE_RANGE},
};

infino_status store_cache_mode_parse(enum store_cache_mode *out,
                                     const char *name)
{
    for (size_t i = 0; name && i < sizeof modes / sizeof modes[0]; i++)
        if (strcasecmp(name, modes[i].name) == 0 ||
            strcasecmp(name, modes[i].alias) == 0) {
            *out = modes[i].mode;
            return INFINO_OK;
        }
    return err_set(INFINO_ERR_INVALID,
                   "unknown cold_fetch_mode '%s'; use "
                   "'hybrid_with_prefetch', 'range_only', or "
                   "'lazy_foreground_with_background_fill' (or 'hybrid', "
                   "'range', 'lazy')",
                   name ? name : "(null)");
}

const char *store_cache_mode_name(enum store_cache_mode m)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (modes[i].mode == m)
            return modes[i].name;
    return "?";
}

static infino_status cache_new(struct store_cache **out,
                               const struct store_cache_opts *o)
{
    struct store_cache *c = mem_calloc(1, sizeof *c);
    const char *scratch = o->scratch_dir;

    *out = NULL;
    if (c == NULL)
        return err_nomem();
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_cond_init(&c->idle, NULL);
    c->pid = getpid();
    c->mode = o->mode;
    c->budget = o->budget_bytes ? o->budget_bytes : STORE_CACHE_DEFAULT_BUDGET;
    if (o->dir)
        scratch = o->dir; /* next to the entries: a disk, not tmpfs */
    if (scratch == NULL || *scratch == '\0')
        scratch = getenv("TMPDIR");
    if (scratch == NULL || *scratch == '\0')
        scratch = "/tmp";
    if ((o->dir && (c->dir = mem_strdup(o->dir)) == NULL) ||
        (c->scratch_dir = mem_strdup(scratch)) == NULL) {
        cache_unref(c);
        return err_nomem();
    }
    *out = c;
    return INFINO_OK;
}

/* ---- entry files --------------------------------------------------------- */

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) / to * to;
}

/* Nonzero for every block, so a slot never written (zeros) never looks
 * present; a torn slot (half old, half new) fails it too. */
static uint32_t slot_tag(uint64_t block, uint32_t crc)
{
    return ((crc * 0x9E3779B1u) ^ ((uint32_t)block * 0x85EBCA77u) ^
            0x1CE5A17Eu) |
           1u;
}

static uint64_t block_len(const struct entry *e, uint64_t i)
{
    uint64_t from = i * B;

    return e->size - from < B ? e->size - from : B;
}

/* Whether block `i`'s slot says it is in; *crc gets its CRC. */
static bool slot_present(const struct entry *e, uint64_t i, uint32_t *crc)
{
    const uint8_t *p = e->map + e->slots_off + 8 * i;
    uint32_t c = load_u32le(p), tag = load_u32le(p + 4);

    *crc = c;
    return tag == slot_tag(i, c);
}

static bool entry_complete(const struct entry *e)
{
    uint32_t crc;

    for (uint64_t i = 0; i < e->n_blocks; i++)
        if (!slot_present(e, i, &crc))
            return false;
    return true;
}

static void entry_unref(struct entry *e)
{
    if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    if (e->map)
        munmap((void *)e->map, e->map_len);
    if (e->fd >= 0)
        close(e->fd);
    pthread_mutex_destroy(&e->mu);
    mem_free(e->path);
    mem_free(e);
}

static infino_status pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const uint8_t *q = p;

    while (n > 0) {
        ssize_t w = pwrite(fd, q, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(INFINO_ERR_IO, "write: %s",
                           w < 0 ? strerror(errno) : "no progress");
        q += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return INFINO_OK;
}

/* The entry's writable descriptor, reopened by path if it was closed and
 * the path still names the mapped file; -1 otherwise. */
static int entry_fd(struct entry *e)
{
    int fd;

    pthread_mutex_lock(&e->mu);
    if (e->fd < 0 && e->persistent) {
        struct stat sb;
        fd = open(e->path, O_RDWR | O_CLOEXEC);
        if (fd >= 0 && (fstat(fd, &sb) != 0 || sb.st_dev != e->dev ||
                        sb.st_ino != e->ino)) {
            close(fd);
            fd = -1;
        }
        e->fd = fd;
    }
    fd = e->fd;
    pthread_mutex_unlock(&e->mu);
    return fd;
}

/* Writes blocks [first, first + n) from `data` (their bytes, back to
 * back), then their slots: a block's slot never precedes its bytes. */
static infino_status write_blocks(const struct entry *e, int fd,
                                  uint64_t first, uint64_t n,
                                  const uint8_t *data)
{
    uint8_t slots[8 * 64];
    infino_status st;

    if (fd < 0)
        return err_set(INFINO_ERR_IO, "the cache file is gone");
    while (n > 0) {
        uint64_t m = n < 64 ? n : 64, bytes = 0;
        for (uint64_t k = 0; k < m; k++) {
            uint64_t len = block_len(e, first + k);
            uint32_t crc = crc32c(data + bytes, (size_t)len);
            store_u32le(slots + 8 * k, crc);
            store_u32le(slots + 8 * k + 4, slot_tag(first + k, crc));
            bytes += len;
        }
        CHECK(pwrite_all(fd, data, (size_t)bytes, e->data_off + first * B));
        CHECK(pwrite_all(fd, slots, (size_t)(8 * m), e->slots_off + 8 * first));
        first += m;
        n -= m;
        data += bytes;
    }
    return INFINO_OK;
fail:
    return st;
}

/* Layout of an entry for an object of `size` bytes. */
static void layout(struct entry *e, uint64_t size, size_t etag_len,
                   size_t id_len)
{
    e->size = size;
    e->n_blocks = (size + B - 1) / B;
    e->slots_off = round_up(FIXED + etag_len + id_len, 8);
    e->data_off = round_up(e->slots_off + 8 * e->n_blocks, DATA_ALIGN);
}

static infino_status make_header(uint8_t **out, size_t *len_out,
                                 const struct entry *e, const char *id)
{
    size_t etag_len = strlen(e->etag), id_len = strlen(id);
    size_t n = FIXED + etag_len + id_len;
    uint8_t *h = mem_calloc(1, n);

    if (h == NULL)
        return err_nomem();
    memcpy(h, MAGIC, 8);
    store_u32le(h + 8, FORMAT);
    store_u32le(h + 12, (uint32_t)B);
    store_u64le(h + 16, e->size);
    store_u64le(h + 24, e->n_blocks);
    store_u64le(h + 32, e->slots_off);
    store_u64le(h + 40, e->data_off);
    store_u16le(h + 48, (uint16_t)etag_len);
    store_u16le(h + 50, (uint16_t)id_len);
    memcpy(h + FIXED, e->etag, etag_len);
    memcpy(h + FIXED + etag_len, id, id_len);
    store_u32le(h + 52, crc32c(h, n)); /* over the header with 0 here */
    *out = h;
    *len_out = n;
    return INFINO_OK;
}

static infino_status map_entry(struct entry *e, int fd)
{
    struct stat sb;
    void *m;

    if (fstat(fd, &sb) != 0)
        return err_set(INFINO_ERR_IO, "cache file: stat: %s", strerror(errno));
    e->dev = sb.st_dev;
    e->ino = sb.st_ino;
    e->map_len = (size_t)(e->data_off + e->size);
    m = mmap(NULL, e->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return err_set(INFINO_ERR_IO, "cache file: mmap: %s", strerror(errno));
    e->map = m;
    return INFINO_OK;
}

static struct entry *entry_alloc(void)
{
    struct entry *e = mem_calloc(1, sizeof *e);

    if (e == NULL)
        return NULL;
    atomic_init(&e->refs, 1);
    pthread_mutex_init(&e->mu, NULL);
    e->fd = -1;
    return e;
}

/* Opens the entry at `path` if it is a valid one for `id` (and of `size`
 * bytes, unless OBJSTORE_SIZE_UNKNOWN). *out is NULL when there is none;
 * *bad says one was there but invalid (torn, corrupt, another object's).
 */
static void entry_open(struct entry **out, bool *bad, const char *path,
                       const char *id, uint64_t size)
{
    uint8_t fixed[FIXED], *var = NULL;
    struct entry *e = NULL;
    struct stat sb;
    size_t etag_len, id_len;
    uint32_t crc;
    int fd;

    *out = NULL;
    *bad = false;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    *bad = true;
    if (fstat(fd, &sb) != 0 || pread(fd, fixed, FIXED, 0) != FIXED ||
        memcmp(fixed, MAGIC, 8) != 0 || load_u32le(fixed + 8) != FORMAT ||
        load_u32le(fixed + 12) != B)
        goto fail;
    etag_len = load_u16le(fixed + 48);
    id_len = load_u16le(fixed + 50);
    if (etag_len >= OBJSTORE_ETAG_MAX || id_len != strlen(id))
        goto fail;
    if ((e = entry_alloc()) == NULL ||
        (var = mem_alloc(etag_len + id_len + 1)) == NULL ||
        pread(fd, var, etag_len + id_len, FIXED) !=
            (ssize_t)(etag_len + id_len) ||
        memcmp(var + etag_len, id, id_len) != 0)
        goto fail;
    crc = load_u32le(fixed + 52);
    store_u32le(fixed + 52, 0);
    if (crc32c_extend(crc32c(fixed, FIXED), var, etag_len + id_len) != crc)
        goto fail;
    layout(e, load_u64le(fixed + 16), etag_len, id_len);
    if (load_u64le(fixed + 24) != e->n_blocks ||
        load_u64le(fixed + 32) != e->slots_off ||
        load_u64le(fixed + 40) != e->data_off ||
        (uint64_t)sb.st_size != e->data_off + e->size ||
        (size != OBJSTORE_SIZE_UNKNOWN && size != e->size))
        goto fail;
    memcpy(e->etag, var, etag_len);
    e->etag[etag_len] = '\0';
    e->persistent = true;
    if ((e->path = mem_strdup(path)) == NULL || map_entry(e, fd) != INFINO_OK)
        goto fail;
    e->fd = fd;
    mem_free(var);
    *bad = false;
    *out = e;
    return;
fail:
    err_clear();
    mem_free(var);
    entry_unref(e);
    close(fd);
}

/* A scratch file: unlinked from the start, gone when closed. */
static int scratch_fd(const char *dir)
{
    char path[4096], hex[17];
    uint64_t r = random_u64();
    int fd;

#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    hex_encode(hex, &r, sizeof r);
    if ((size_t)snprintf(path, sizeof path, "%s/.infino-scratch-%s", dir,
                         hex) >= sizeof path)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* Creates the entry of `id` (an object of `size` bytes at version
 * `etag`): persistent at `path` (a complete-sized file with its header,
 * linked into place; if a valid one got there first, that one), or a
 * scratch file in `scratch_dir` when `path` is NULL. */
static infino_status entry_create(struct entry **out, const char *path,
                                  const char *scratch_dir, const char *dir,
                                  const char *id, uint64_t size,
                                  const char *etag)
{
    struct entry *e = entry_alloc();
    uint8_t *head = NULL;
    size_t head_len = 0;
    char tmp[4200];
    int fd = -1;
    infino_status st;

    *out = NULL;
    tmp[0] = '\0';
    if (e == NULL)
        return err_nomem();
    if (strlen(etag) < OBJSTORE_ETAG_MAX)
        memcpy(e->etag, etag, strlen(etag) + 1);
    layout(e, size, strlen(e->etag), strlen(id));
    CHECK(make_header(&head, &head_len, e, id));
    if (path) {
        char hex[17];
        uint64_t r = random_u64();
        hex_encode(hex, &r, sizeof r);
        if ((size_t)snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%s", dir,
                             hex) >= sizeof tmp) {
            tmp[0] = '\0';
            st = err_set(INFINO_ERR_INVALID, "cache dir path too long");
            goto fail;
        }
        fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            tmp[0] = '\0';
    } else {
        fd = scratch_fd(scratch_dir);
    }
    if (fd < 0) {
        st = err_set(INFINO_ERR_IO, "%s: creating a cache file: %s",
                     path ? dir : scratch_dir, strerror(errno));
        goto fail;
    }
    CHECK(pwrite_all(fd, head, head_len, 0));
    if (ftruncate(fd, (off_t)(e->data_off + e->size)) != 0) {
        st = err_set(INFINO_ERR_IO, "cache file: truncate: %s",
                     strerror(errno));
        goto fail;
    }
    if (path) {
        /* The first complete-sized entry under the name wins. */
        if (link(tmp, path) != 0) {
            if (errno == EEXIST) {
                struct entry *other;
                bool bad;
                entry_open(&other, &bad, path, id, size);
                if (other) {
                    unlink(tmp);
                    close(fd);
                    entry_unref(e);
                    mem_free(head);
                    *out = other;
                    return INFINO_OK;
                }
            }
            /* invalid, or no hard links here: ours replaces it */
            if (rename(tmp, path) != 0) {
                st = err_set(INFINO_ERR_IO, "%s: %s", path, strerror(errno));
                goto fail;
            }
        } else {
            unlink(tmp);
        }
        tmp[0] = '\0';
        e->persistent = true;
        if ((e->path = mem_strdup(path)) == NULL) {
            st = err_nomem();
            goto fail;
        }
    }
    CHECK(map_entry(e, fd));
    e->fd = fd;
    mem_free(head);
    *out = e;
    return INFINO_OK;
fail:
    if (tmp[0])
        unlink(tmp);
    if (fd >= 0)
        close(fd);
    entry_unref(e);
    mem_free(head);
    return st;
}

/* ---- eviction ------------------------------------------------------------ */

struct victim {
    char name[64];
    int64_t mtime_ns;
    uint64_t bytes;
};

static int by_age(const void *a, const void *b)
{
    const struct victim *x = a, *y = b;

    return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* Brings the directory under its budget, oldest use first; removes
 * temporary files abandoned by crashed processes. One process at a time;
 * a busy lock means another is at it. */
static void trim(struct store_cache *c)
{
    char lock[4200];
    struct victim *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    int64_t now = clock_now_ns();
    struct dirent *de;
    DIR *d = NULL;
    int lfd;

    if (c->dir == NULL ||
        (size_t)snprintf(lock, sizeof lock, "%s/.lock", c->dir) >= sizeof lock)
        return;
    lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0)
        return;
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0 || (d = opendir(c->dir)) == NULL)
        goto done;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        struct stat sb;
        int64_t mtime;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
            if (now - mtime > TMP_MAX_AGE_NS)
                unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (len != 32 + strlen(ENTRY_SUFFIX) ||
            strcmp(de->d_name + 32, ENTRY_SUFFIX) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (MEM_RESERVE(v, cap, n + 1) != 0)
            goto done;
        memcpy(v[n].name, de->d_name, len + 1);
        v[n].mtime_ns = mtime;
        v[n].bytes = (uint64_t)sb.st_blocks * 512;
        total += v[n].bytes;
        n++;
    }
    if (total <= c->budget)
        goto done;
    qsort(v, n, sizeof *v, by_age);
    for (size_t i = 0; i < n && total > c->budget - c->budget / 8; i++) {
        if (unlinkat(dirfd(d), v[i].name, 0) == 0)
            atomic_fetch_add(&c->n.entries_evicted, 1);
        total -= v[i].bytes;
    }
done:
    err_clear(); /* a trim never fails anything */
    if (d)
        closedir(d);
    close(lfd); /* releases the lock */
    mem_free(v);
}

static void added(struct store_cache *c, uint64_t bytes)
{
    uint64_t was = atomic_fetch_add(&c->since_trim, bytes);

    if (c->dir && was + bytes >= c->budget / 16 &&
        atomic_exchange(&c->since_trim, 0) != 0)
        trim(c);
}

/* ---- background fills ---------------------------------------------------- */

static void job_free(struct fill_job *j)
{
    entry_unref(j->e);
    if (j->src)
        j->src->ops->close(j->src);
    mem_free(j);
}

/* Downloads the blocks entry `e` lacks. Whoever holds the entry's flock
 * fills it; others skip. Stops when the cache stops or the entry was
 * evicted. */
static void fill(struct store_cache *c, struct fill_job *j)
{
    struct entry *e = j->e;
    uint8_t *buf = NULL;
    struct stat sb;
    uint32_t crc;
    uint64_t i = 0;
    int fd;

    fd = open(e->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &sb) != 0 || sb.st_dev != e->dev || sb.st_ino != e->ino ||
        flock(fd, LOCK_EX | LOCK_NB) != 0 ||
        (buf = mem_alloc(FILL_PIECE)) == NULL)
        goto done;
    while (i < e->n_blocks && !atomic_load(&c->stop)) {
        uint64_t first, bytes = 0;
        if (slot_present(e, i, &crc)) {
            i++;
            continue;
        }
        first = i;
        while (i < e->n_blocks && bytes + block_len(e, i) <= FILL_PIECE &&
               !slot_present(e, i, &crc))
            bytes += block_len(e, i++);
        if (j->src->ops->read(j->src, first * B, (size_t)bytes, buf) !=
                INFINO_OK ||
            write_blocks(e, fd, first, i - first, buf) != INFINO_OK)
            break; /* readers fetch what they need themselves */
        atomic_fetch_add(&c->n.blocks_filled, i - first);
        atomic_fetch_add(&c->n.bytes_fetched, bytes);
        added(c, bytes);
        if (fstat(fd, &sb) != 0 || sb.st_nlink == 0)
            break; /* evicted meanwhile */
    }
done:
    err_clear();
    mem_free(buf);
    close(fd);
}

static void *worker(void *arg)
{
    struct store_cache *c = arg;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        struct fill_job *j;
        while (c->head == NULL && !atomic_load(&c->stop)) {
            c->busy = false;
            pthread_cond_broadcast(&c->idle);
            pthread_cond_wait(&c->cv, &c->mu);
        }
        if (atomic_load(&c->stop))
            break;
        j = c->head;
        c->head = j->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->busy = true;
        pthread_mutex_unlock(&c->mu);
        fill(c, j);
        job_free(j);
        pthread_mutex_lock(&c->mu);
    }
    while (c->head) {
        struct fill_job *j = c->head;
        c->head = j->next;
        job_free(j);
    }
    c->tail = NULL;
    c->worker = c->busy = false;
    pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
    cache_unref(c);
    return NULL;
}

/* Queues a fill of `e` (LAZY mode). Best effort: a fill that cannot be
 * queued leaves the reads to fetch what they need. */
static void enqueue(struct store_cache *c, struct objstore *s, const char *key,
                    struct entry *e)
{
    struct fill_job *j;
    pthread_attr_t attr;
    pthread_t t;

    if (c->pid != getpid() || atomic_load(&c->stop) || !e->persistent)
        return;
    j = mem_calloc(1, sizeof *j);
    if (j == NULL || s->open_ranges(s, key, e->etag, &j->src) != INFINO_OK) {
        err_clear();
        mem_free(j);
        return;
    }
    atomic_fetch_add(&e->refs, 1);
    j->e = e;
    pthread_mutex_lock(&c->mu);
    if (!c->worker) {
        atomic_fetch_add(&c->refs, 1); /* the thread's */
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker, c) == 0) {
            c->worker = true;
        } else {
            atomic_fetch_sub(&c->refs, 1); /* the store still holds one */
            pthread_attr_destroy(&attr);
            pthread_mutex_unlock(&c->mu);
            job_free(j);
            return;
        }
        pthread_attr_destroy(&attr);
    }
    if (c->tail)
        c->tail->next = j;
    else
        c->head = j;
    c->tail = j;
    c->busy = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- blobs over entries ------------------------------------------------- */

struct memchunk {
    uint64_t off;
    size_t len;
    uint8_t *data; /* owned */
};

struct cblob {
    struct store_cache *c;       /* holds a reference */
    struct entry *e;             /* holds a reference */
    struct objstore_ranges *src; /* owned */
    enum store_cache_mode mode;
    atomic_uchar *ok;  /* per block: checked (or written) by this blob */
    atomic_size_t n_ok;
    atomic_llong touched_ns;
    atomic_bool degraded; /* the file cannot be written: misses in memory */
    pthread_mutex_t mu;   /* chunks */
    struct memchunk *chunks;
    size_t n_chunks, chunks_cap;
    char *name; /* owned */
};

static void mark_ok(struct cblob *b, uint64_t i)
{
    if (!atomic_exchange(&b->ok[i], 1))
        atomic_fetch_add(&b->n_ok, 1);
}

/* Whether block `i` is in the file and matches its CRC. */
static bool check_block(struct cblob *b, uint64_t i)
{
    const struct entry *e = b->e;
    uint32_t crc;

    if (!slot_present(e, i, &crc))
        return false;
    if (crc32c(e->map + e->data_off + i * B, (size_t)block_len(e, i)) == crc)
        return true;
    atomic_fetch_add(&b->c->n.blocks_corrupt, 1);
    return false;
}

/* Fetches blocks [first, end) into the file, in pieces of at most
 * FILL_PIECE bytes. A failed write marks the blob degraded (the caller
 * then reads from memory); a failed fetch is the read's error. */
static infino_status fetch_blocks(struct cblob *b, uint64_t first,
                                  uint64_t end)
{
    struct entry *e = b->e;
    infino_status st = INFINO_OK;
    uint8_t *buf = NULL;

    while (first < end && st == INFINO_OK) {
        uint64_t i = first, bytes = 0;
        while (i < end && bytes + block_len(e, i) <= FILL_PIECE)
            bytes += block_len(e, i++);
        buf = mem_alloc((size_t)bytes);
        if (buf == NULL)
            return err_nomem();
        st = b->src->ops->read(b->src, first * B, (size_t)bytes, buf);
        if (st == INFINO_OK) {
            atomic_fetch_add(&b->c->n.blocks_fetched, i - first);
            atomic_fetch_add(&b->c->n.bytes_fetched, bytes);
            if (write_blocks(e, entry_fd(e), first, i - first, buf) ==
                INFINO_OK) {
                for (uint64_t k = first; k < i; k++)
                    mark_ok(b, k);
                if (e->persistent)
                    added(b->c, bytes);
            } else {
                err_clear();
                atomic_fetch_add(&b->c->n.write_errors, 1);
                atomic_store(&b->degraded, true);
            }
        }
        mem_free(buf);
        first = i;
    }
    return st;
}

/* Degraded blobs: the range from memory, fetched once and kept. */
static infino_status read_memory(struct cblob *b, uint64_t off, size_t len,
                                 const uint8_t **out)
{
    uint8_t *data;
    infino_status st;

    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->n_chunks; i++) {
        const struct memchunk *m = &b->chunks[i];
        if (off >= m->off && off - m->off <= m->len &&
            len <= m->len - (off - m->off)) {
            *out = m->data + (off - m->off);
            pthread_mutex_unlock(&b->mu);
            return INFINO_OK;
        }
    }
    pthread_mutex_unlock(&b->mu);
    data = mem_alloc(len);
    if (data == NULL)
        return err_nomem();
    st = b->src->ops->read(b->src, off, len, data);
    if (st == INFINO_OK) {
        atomic_fetch_add(&b->c->n.bytes_fetched, len);
        pthread_mutex_lock(&b->mu);
        if (MEM_RESERVE(b->chunks, b->chunks_cap, b->n_chunks + 1) != 0) {
            st = err_nomem();
        } else {
            b->chunks[b->n_chunks++] = (struct memchunk){off, len, data};
            *out = data;
            data = NULL;
        }
        pthread_mutex_unlock(&b->mu);
    }
    mem_free(data);
    return st;
}

/* The slow path of a read: blocks [first, last] are not all checked. */
static infino_status ensure(struct cblob *b, uint64_t first, uint64_t last)
{
    struct entry *e = b->e;
    uint64_t i = first;
    infino_status st;

    for (uint64_t k = first; k <= last; k++)
        if (!atomic_load(&b->ok[k]) && check_block(b, k))
            mark_ok(b, k);
    while (i <= last && !atomic_load(&b->degraded)) {
        uint64_t end;
        if (atomic_load(&b->ok[i])) {
            i++;
            continue;
        }
        end = i;
        while (end <= last && !atomic_load(&b->ok[end]))
            end++;
        if (b->mode == STORE_CACHE_HYBRID && end == last + 1) {
            /* prefetch: the missing blocks that follow */
            uint64_t extra = 0;
            uint32_t crc;
            while (end < e->n_blocks && extra < READAHEAD &&
                   !atomic_load(&b->ok[end]) && !slot_present(e, end, &crc))
                extra += block_len(e, end++);
        }
        st = fetch_blocks(b, i, end);
        if (st != INFINO_OK)
            return st;
        i = end;
    }
    return INFINO_OK;
}

static void touch(struct cblob *b)
{
    int64_t now = clock_mono_ns();
    struct entry *e = b->e;

    if (now - atomic_load(&b->touched_ns) < TOUCH_EVERY_NS)
        return;
    atomic_store(&b->touched_ns, now);
    if (!e->persistent)
        return;
    pthread_mutex_lock(&e->mu);
    if (e->fd >= 0)
        futimens(e->fd, NULL);
    else
        utimensat(AT_FDCWD, e->path, NULL, 0); /* perhaps a newer copy */
    pthread_mutex_unlock(&e->mu);
}

static infino_status cblob_read(void *payload, uint64_t off, size_t len,
                                const uint8_t **out)
{
    struct cblob *b = payload;
    struct entry *e = b->e;
    uint64_t first, last;
    infino_status st;

    if (len == 0) {
        *out = e->map + e->data_off + (off < e->size ? off : 0);
        return INFINO_OK;
    }
    first = off / B;
    last = (off + len - 1) / B;
    if (atomic_load_explicit(&b->n_ok, memory_order_acquire) < e->n_blocks) {
        for (uint64_t i = first; i <= last; i++)
            if (!atomic_load(&b->ok[i])) {
                st = ensure(b, i, last);
                if (st != INFINO_OK)
                    return err_context(st, "reading %s", b->name);
                break;
            }
        for (uint64_t i = first; i <= last; i++)
            if (!atomic_load(&b->ok[i])) /* the file could not take it */
                return read_memory(b, off, len, out);
    }
    touch(b);
    *out = e->map + e->data_off + off;
    return INFINO_OK;
}

static void cblob_release(void *payload, uint64_t off, uint64_t len)
{
    struct cblob *b = payload;
    const struct entry *e = b->e;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t a, z;

    /* A shared file mapping: dropped pages come back from the file. */
    if (page <= 0)
        return;
    a = round_up(e->data_off + off, (uint64_t)page);
    z = (e->data_off + off + len) / (uint64_t)page * (uint64_t)page;
    if (a < z)
        (void)madvise((void *)(uintptr_t)(e->map + a), (size_t)(z - a),
                      MADV_DONTNEED);
}

static void cblob_close(void *payload)
{
    struct cblob *b = payload;

    for (size_t i = 0; i < b->n_chunks; i++)
        mem_free(b->chunks[i].data);
    mem_free(b->chunks);
    pthread_mutex_destroy(&b->mu);
    entry_unref(b->e);
    if (b->src)
        b->src->ops->close(b->src);
    cache_unref(b->c);
    mem_free((void *)b->ok);
    mem_free(b->name);
    mem_free(b);
}

static const struct store_blob_hooks cblob_hooks = {cblob_read, cblob_release,
                                                    cblob_close};

/* Takes `e` and `src` (released on failure too). */
static infino_status cblob_open(struct store_blob **out, struct store_cache *c,
                                struct entry *e, struct objstore_ranges *src,
                                const char *name)
{
    struct cblob *b = mem_calloc(1, sizeof *b);

    *out = NULL;
    if (b == NULL ||
        (b->ok = mem_calloc(e->n_blocks ? e->n_blocks : 1, 1)) == NULL ||
        (b->name = mem_strdup(name)) == NULL) {
        if (b)
            mem_free((void *)b->ok);
        mem_free(b);
        entry_unref(e);
        src->ops->close(src);
        return err_nomem();
    }
    atomic_fetch_add(&c->refs, 1);
    b->c = c;
    b->e = e;
    b->src = src;
    b->mode = c->mode;
    pthread_mutex_init(&b->mu, NULL);
    atomic_init(&b->touched_ns, clock_mono_ns());
    return store_blob_open_hooks(out, name, e->size, &cblob_hooks, b);
}

/* ---- opening objects ----------------------------------------------------- */

static infino_status ranges_fetch(void *payload, uint64_t off, size_t len,
                                  uint8_t *dst)
{
    struct objstore_ranges *r = payload;

    return r->ops->read(r, off, len, dst);
}

static void ranges_release(void *payload)
{
    struct objstore_ranges *r = payload;

    r->ops->close(r);
}

static infino_status strcat3(char **out, const char *a, const char *sep,
                             const char *b)
{
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);

    *out = mem_alloc(na + ns + nb + 1);
    if (*out == NULL)
        return err_nomem();
    memcpy(*out, a, na);
    memcpy(*out + na, sep, ns);
    memcpy(*out + na + ns, b, nb + 1);
    return INFINO_OK;
}

static infino_status cache_open(struct store_cache *c, struct objstore *s,
                                const char *key, uint64_t size,
                                struct store_blob **out)
{
    char *id = NULL, *name = NULL, *path = NULL;
    char etag[OBJSTORE_ETAG_MAX];
    struct objstore_ranges *src = NULL;
    struct entry *e = NULL;
    uint8_t *tail = NULL;
    size_t n = 0;
    uint64_t osize;
    infino_status st;
    bool bad;

    *out = NULL;
    CHECK(strcat3(&id, objstore_cache_id(s), "\n", key));
    {
        const char *uri = objstore_uri(s);
        size_t ul = strlen(uri);
        bool slash = ul > 0 && uri[ul - 1] == '/';
        CHECK(strcat3(&name, uri, slash ? "" : "/", key));
    }
    if (strlen(id) > ID_MAX) {
        st = err_set(INFINO_ERR_INVALID, "%s: key too long to cache", name);
        goto fail;
    }
    if (c->dir) {
        char hex[33];
        uint64_t h[2] = {hash64_seed(id, strlen(id), 0x1ce5a17e),
                         hash64_seed(id, strlen(id), 0x5eedcace)};
        hex_encode(hex, h, sizeof h);
        path = mem_alloc(strlen(c->dir) + 40);
        if (path == NULL) {
            st = err_nomem();
            goto fail;
        }
        sprintf(path, "%s/%s" ENTRY_SUFFIX, c->dir, hex);
        entry_open(&e, &bad, path, id, size);
        if (bad)
            unlink(path); /* the next open makes a good one */
        if (e && c->mode == STORE_CACHE_RANGE && !entry_complete(e)) {
            entry_unref(e); /* range_only adds nothing to the cache */
            e = NULL;
        }
    }
    if (e) {
        bool complete = entry_complete(e);
        CHECK(s->open_ranges(s, key, e->etag, &src));
        atomic_fetch_add(&c->n.opens_warm, 1);
        futimens(e->fd, NULL); /* its last use */
        if (complete) {
            /* repairs reopen it by path: keep no descriptor */
            close(e->fd);
            e->fd = -1;
        } else if (c->mode == STORE_CACHE_LAZY) {
            enqueue(c, s, key, e);
        }
        st = cblob_open(out, c, e, src, name);
        e = NULL;
        src = NULL;
        goto done;
    }

    CHECK(s->open_ranges(s, key, NULL, &src));
    CHECK(src->ops->read_tail(src, (size_t)B, &tail, &n, &osize));
    atomic_fetch_add(&c->n.opens_cold, 1);
    atomic_fetch_add(&c->n.bytes_fetched, n);
    src->ops->etag(src, etag);
    st = INFINO_ERR_IO;
    if (path && c->mode != STORE_CACHE_RANGE && osize <= c->budget / 2)
        st = entry_create(&e, path, NULL, c->dir, id, osize, etag);
    if (st == INFINO_OK && strcmp(e->etag, etag) != 0) {
        /* another process cached another version (the object was
         * replaced meanwhile): never mix their blocks */
        entry_unref(e);
        e = NULL;
        st = INFINO_ERR_IO;
    }
    if (st != INFINO_OK)
        st = entry_create(&e, NULL, c->scratch_dir, NULL, id, osize, etag);
    if (st != INFINO_OK) {
        /* No file to put it in: the bytes stay in memory. */
        err_clear();
        atomic_fetch_add(&c->n.write_errors, 1);
        if (n == osize) {
            st = store_blob_take_memory(out, tail, n, name);
        } else {
            st = store_blob_open_remote(out, name, osize, tail, osize - n, n,
                                        ranges_fetch, ranges_release, src);
            src = NULL;
        }
        tail = NULL;
        goto done;
    }
    {
        /* keep the whole blocks the tail covers */
        uint64_t from = osize - n, first = (from + B - 1) / B;
        bool wrote = false;
        if (first < e->n_blocks) {
            wrote = write_blocks(e, entry_fd(e), first, e->n_blocks - first,
                                 tail + (first * B - from)) == INFINO_OK;
            if (!wrote) {
                err_clear();
                atomic_fetch_add(&c->n.write_errors, 1);
            } else if (e->persistent) {
                added(c, n + e->data_off);
            }
        }
        if (e->persistent && c->mode == STORE_CACHE_LAZY && !entry_complete(e))
            enqueue(c, s, key, e);
        st = cblob_open(out, c, e, src, name);
        e = NULL;
        src = NULL;
    }
fail:
done:
    entry_unref(e);
    if (src)
        src->ops->close(src);
    mem_free(tail);
    mem_free(id);
    mem_free(name);
    mem_free(path);
    return st;
}

/* Stores without a cache of their own: scratch files only. */
static struct store_cache *default_cache;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    struct store_cache_opts o = {0};

    o.mode = STORE_CACHE_RANGE;
    if (cache_new(&default_cache, &o) != INFINO_OK)
        err_clear();
}

infino_status objstore_get_immutable(struct objstore *s, const char *key,
                                     uint64_t size, struct store_blob **out)
{
    struct store_cache *c = s->cache;

    *out = NULL;
    if (!objstore_key_valid(key))
        return err_set(INFINO_ERR_INVALID, "invalid object key '%s'",
                       key ? key : "(null)");
    if (s->open_ranges == NULL)
        return s->ops->get(s, key, out);
    if (c == NULL) {
        pthread_once(&default_once, default_init);
        c = default_cache;
        if (c == NULL)
            return s->ops->get(s, key, out);
    }
    return cache_open(c, s, key, size, out);
}

/* ---- attaching ----------------------------------------------------------- */

static infino_status mkdirs(const char *path)
{
    char *p = mem_strdup(path);
    infino_status st = INFINO_OK;

    if (p == NULL)
        return err_nomem();
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char was = *q;
            *q = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                st = err_set(INFINO_ERR_IO, "cache_dir %s: %s", p,
                             strerror(errno));
                break;
            }
            *q = was;
            if (was == '\0')
                break;
        }
    }
    mem_free(p);
    if (st == INFINO_OK) {
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = err_set(INFINO_ERR_IO, "cache_dir %s is not a directory",
                         path);
    }
    return st;
}

infino_status store_cache_attach(struct objstore *s,
                                 const struct store_cache_opts *opts)
{
    struct store_cache *c;
    infino_status st;

    if (opts->dir && *opts->dir == '\0')
        return err_set(INFINO_ERR_INVALID, "cache_dir is empty");
    if (s->open_ranges == NULL)
        return INFINO_OK;
    if (opts->dir)
        CHECK(mkdirs(opts->dir));
    CHECK(cache_new(&c, opts));
    store_cache_detach(s);
    s->cache = c;
    trim(c);
    return INFINO_OK;
fail:
    return st;
}

void store_cache_detach(struct objstore *s)
{
    struct store_cache *c = s->cache;

    if (c == NULL)
        return;
    s->cache = NULL;
    atomic_store(&c->stop, true);
    if (c->pid == getpid()) {
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    cache_unref(c);
}

void store_cache_stats(const struct objstore *s, struct store_cache_stats *out)
{
    const struct store_cache *c = s->cache;

    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->opens_warm = atomic_load(&c->n.opens_warm);
    out->opens_cold = atomic_load(&c->n.opens_cold);
    out->blocks_fetched = atomic_load(&c->n.blocks_fetched);
    out->blocks_filled = atomic_load(&c->n.blocks_filled);
    out->blocks_corrupt = atomic_load(&c->n.blocks_corrupt);
    out->bytes_fetched = atomic_load(&c->n.bytes_fetched);
    out->entries_evicted = atomic_load(&c->n.entries_evicted);
    out->write_errors = atomic_load(&c->n.write_errors);
}

void store_cache_drain(struct objstore *s)
{
    struct store_cache *c = s->cache;

    if (c == NULL || c->pid != getpid())
        return;
    pthread_mutex_lock(&c->mu);
    while (c->head || c->busy)
        pthread_cond_wait(&c->idle, &c->mu);
    pthread_mutex_unlock(&c->mu);
}
