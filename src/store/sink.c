/*
 * sink.c - write-then-publish objects: local files and memory (store.h).
 *
 * A file sink writes into a hidden temporary beside its target. finish()
 * flushes, fsyncs the file, publishes it under its name with rename (or,
 * for create-if-absent, renameat2(RENAME_NOREPLACE) falling back to link),
 * and fsyncs the directory so the new name itself survives a power cut.
 * Large files start their writeback as they go (every SINK_WRITEBACK_BYTES,
 * where the system has sync_file_range), so that final fsync has little
 * left to wait for. store_mkdirs() fsyncs the parent of every directory it
 * creates, so a first object in a new folder is as durable as any other.
 * A hooks sink forwards to callbacks (backends that wrap another sink).
 */
#define _GNU_SOURCE
#include "store.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SINK_BUF_CAP (1u << 20)
/* The longest path component file systems take (POSIX NAME_MAX on
 * Linux's and most others). */
#define SINK_NAME_MAX 255
/* Written bytes handed to writeback at a time. */
#define SINK_WRITEBACK_BYTES ((uint64_t)32 << 20)

enum sink_kind { SINK_FILE, SINK_MEMORY, SINK_HOOKS };

struct store_sink {
    enum sink_kind kind;
    char *name;     /* owned: target path or memory name */
    char *tmp_path; /* owned: file sinks only */
    int fd;
    struct buf pending; /* file: unflushed bytes; memory: everything */
    uint64_t flushed;   /* bytes already written to fd */
    uint64_t handed;    /* of those, bytes handed to writeback */
    bool crc_on; /* store_sink_crc_begin() is active */
    uint32_t crc;
    uint32_t file_crc; /* CRC-32C of every byte written */
    store_publish_fn publish; /* memory sinks that publish on finish */
    void *publish_payload;
    const struct store_sink_hooks *hooks; /* hooks sinks: borrowed */
    void *hooks_payload; /* owned: released by hooks->finish or ->abort */
};

static atomic_uint tmp_counter;
static atomic_uint_least64_t dir_fsync_count;

static infino_status flush_pending(struct store_sink *s)
{
    size_t off = 0;

    while (off < s->pending.len) {
        ssize_t w = write(s->fd, s->pending.data + off, s->pending.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return err_set(INFINO_ERR_IO, "%s: write: %s", s->name,
                           strerror(errno));
        }
        off += (size_t)w;
    }
    s->flushed += s->pending.len;
    buf_reset(&s->pending);
#if defined(SYNC_FILE_RANGE_WRITE)
    /* A hint: errors surface at the fsync in store_sink_finish(). */
    if (s->flushed - s->handed >= SINK_WRITEBACK_BYTES) {
        (void)sync_file_range(s->fd, (off_t)s->handed,
                              (off_t)(s->flushed - s->handed),
                              SYNC_FILE_RANGE_WRITE);
        s->handed = s->flushed;
    }
#endif
    return INFINO_OK;
}

infino_status store_sink_open_file(struct store_sink **out, const char *path)
{
    struct store_sink *s;
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    struct buf tmp = {0};
    infino_status st;

    *out = NULL;
    s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return err_nomem();
    s->kind = SINK_FILE;
    s->fd = -1;
    st = buf_append(&tmp, path, dir_len);
    if (st == INFINO_OK) {
        /* ".<name>.tmp-<pid>-<n>", its <name> cut so that the temporary
         * fits one path component whenever the target does: a name of
         * up to SINK_NAME_MAX bytes must be publishable. The pid and
         * counter keep it unique. */
        char suffix[48];
        size_t leaf = strlen(path + dir_len);
        int n = snprintf(suffix, sizeof suffix, ".tmp-%ld-%u", (long)getpid(),
                         atomic_fetch_add(&tmp_counter, 1));

        if (leaf > SINK_NAME_MAX - 1 - (size_t)n)
            leaf = SINK_NAME_MAX - 1 - (size_t)n;
        st = buf_printf(&tmp, ".%.*s%s", (int)leaf, path + dir_len, suffix);
    }
    if (st == INFINO_OK)
        st = buf_put_u8(&tmp, 0);
    if (st != INFINO_OK || (s->name = mem_strdup(path)) == NULL) {
        buf_free(&tmp);
        mem_free(s);
        return err_nomem();
    }
    s->tmp_path = (char *)buf_detach(&tmp, NULL);
    s->fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        st = err_set(errno == ENOENT ? INFINO_ERR_NOTFOUND : INFINO_ERR_IO,
                     "%s: create: %s", s->tmp_path, strerror(errno));
        mem_free(s->tmp_path);
        mem_free(s->name);
        mem_free(s);
        return st;
    }
    *out = s;
    return INFINO_OK;
}

infino_status store_sink_open_memory(struct store_sink **out, const char *name)
{
    struct store_sink *s = mem_calloc(1, sizeof *s);

    *out = NULL;
    if (s == NULL || (s->name = mem_strdup(name ? name : "<memory>")) == NULL) {
        mem_free(s);
        return err_nomem();
    }
    s->kind = SINK_MEMORY;
    s->fd = -1;
    *out = s;
    return INFINO_OK;
}

infino_status store_sink_open_publish(struct store_sink **out, const char *name,
                                      store_publish_fn publish, void *payload)
{
    infino_status st = store_sink_open_memory(out, name);

    if (st == INFINO_OK) {
        (*out)->publish = publish;
        (*out)->publish_payload = payload;
    }
    return st;
}

infino_status store_sink_open_hooks(struct store_sink **out, const char *name,
                                    const struct store_sink_hooks *hooks,
                                    void *payload)
{
    infino_status st = store_sink_open_memory(out, name);

    if (st != INFINO_OK) {
        hooks->abort(payload);
        return st;
    }
    (*out)->kind = SINK_HOOKS;
    (*out)->hooks = hooks;
    (*out)->hooks_payload = payload;
    return INFINO_OK;
}

void store_sink_crc_begin(struct store_sink *s)
{
    s->crc_on = true;
    s->crc = 0;
}

uint32_t store_sink_file_crc(const struct store_sink *s)
{
    return s->file_crc;
}

uint32_t store_sink_crc_end(struct store_sink *s)
{
    s->crc_on = false;
    return s->crc;
}

infino_status store_sink_write(struct store_sink *s, const void *p, size_t n)
{
    infino_status st;

    if (s->crc_on)
        s->crc = crc32c_extend(s->crc, p, n);
    s->file_crc = crc32c_extend(s->file_crc, p, n);

    if (s->kind == SINK_MEMORY)
        return buf_append(&s->pending, p, n);
    if (s->kind == SINK_HOOKS) {
        st = s->hooks->write(s->hooks_payload, p, n);
        if (st == INFINO_OK)
            s->flushed += n;
        return st;
    }
    if (s->pending.len + n > SINK_BUF_CAP) {
        st = flush_pending(s);
        if (st != INFINO_OK)
            return st;
        if (n >= SINK_BUF_CAP) { /* large writes bypass the buffer */
            struct buf big = {(uint8_t *)p, n, n};
            struct buf saved = s->pending;
            s->pending = big;
            st = flush_pending(s);
            s->pending = saved;
            return st;
        }
    }
    return buf_append(&s->pending, p, n);
}

uint64_t store_sink_tell(const struct store_sink *s)
{
    return s->flushed + s->pending.len;
}

const char *store_sink_name(const struct store_sink *s)
{
    return s->name;
}

static void sink_free(struct store_sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    buf_free(&s->pending);
    mem_free(s->tmp_path);
    mem_free(s->name);
    mem_free(s);
}

/* Publishes tmp as path without replacing an existing file. */
static int rename_noreplace(const char *tmp, const char *path)
{
#ifdef SYS_renameat2
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, 1 /* NOREPLACE */)
        == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL)
        return -1;
#endif
    /* Filesystems without renameat2: link() fails with EEXIST atomically. */
    if (link(tmp, path) != 0)
        return -1;
    unlink(tmp);
    return 0;
}

/* Opens and fsyncs the directory `dir`. */
static infino_status sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e;

    if (fd < 0)
        return err_set(INFINO_ERR_IO, "%s: open directory: %s", dir,
                       strerror(errno));
    atomic_fetch_add_explicit(&dir_fsync_count, 1, memory_order_relaxed);
    if (fsync(fd) != 0 && errno != EINVAL) {
        e = errno;
        close(fd);
        return err_set(INFINO_ERR_IO, "%s: fsync directory: %s", dir,
                       strerror(e));
    }
    close(fd);
    return INFINO_OK;
}

uint64_t store_dir_fsyncs(void)
{
    return atomic_load_explicit(&dir_fsync_count, memory_order_relaxed);
}

infino_status store_fsync_dir(const char *path)
{
    char dir[4096];
    const char *slash;
    struct stat sb;

    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(dir, sizeof dir, "%s", path);
    } else {
        slash = strrchr(path, '/');
        if (slash == NULL)
            snprintf(dir, sizeof dir, ".");
        else if (slash == path)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    }
    return sync_dir(dir);
}

infino_status store_sink_finish(struct store_sink *s, enum store_publish mode)
{
    infino_status st;
    int rc;

    if (s->kind == SINK_HOOKS) {
        st = s->hooks->finish(s->hooks_payload, mode);
        sink_free(s);
        return st;
    }
    if (s->kind == SINK_MEMORY) {
        if (s->publish) {
            size_t len;
            uint8_t *data = buf_detach(&s->pending, &len);
            st = s->publish(s->publish_payload, s->name, data, len, mode);
        } else {
            st = INFINO_OK;
        }
        sink_free(s);
        return st;
    }
    st = flush_pending(s);
    if (st != INFINO_OK)
        goto fail;
    if (!(mode & STORE_NOSYNC) && fsync(s->fd) != 0) {
        st = err_set(INFINO_ERR_IO, "%s: fsync: %s", s->name, strerror(errno));
        goto fail;
    }
    close(s->fd);
    s->fd = -1;
    if (mode & STORE_NOREPLACE)
        rc = rename_noreplace(s->tmp_path, s->name);
    else
        rc = rename(s->tmp_path, s->name);
    if (rc != 0) {
        st = err_set(errno == EEXIST ? INFINO_ERR_EXISTS : INFINO_ERR_IO,
                     "%s: publish: %s", s->name, strerror(errno));
        goto fail;
    }
    st = (mode & STORE_NOSYNC) ? INFINO_OK : store_fsync_dir(s->name);
    sink_free(s);
    return st;
fail:
    unlink(s->tmp_path);
    sink_free(s);
    return st;
}

infino_status store_sink_take_memory(struct store_sink *s, uint8_t **data_out,
                                     size_t *len_out)
{
    if (s->kind != SINK_MEMORY) {
        store_sink_abort(s);
        return err_set(INFINO_ERR_INVALID, "not a memory sink");
    }
    *data_out = buf_detach(&s->pending, len_out);
    sink_free(s);
    return INFINO_OK;
}

void store_sink_abort(struct store_sink *s)
{
    if (s == NULL)
        return;
    if (s->kind == SINK_HOOKS)
        s->hooks->abort(s->hooks_payload);
    if (s->kind == SINK_FILE && s->tmp_path) {
        if (s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
        unlink(s->tmp_path);
    }
    sink_free(s);
}

/* fsyncs the parent of `dir`, a directory just created, so that its name
 * survives a power cut (POSIX: a new entry is durable once the directory
 * holding it is fsynced). `dir` is modified and restored. */
static infino_status sync_parent(char *dir)
{
    char *slash = strrchr(dir, '/');
    infino_status st;

    if (slash == NULL) {
        st = sync_dir(".");
    } else if (slash == dir) {
        st = sync_dir("/");
    } else {
        *slash = '\0';
        st = sync_dir(dir);
        *slash = '/';
    }
    return err_context(st, "creating %s", dir);
}

infino_status store_mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    struct stat sb;
    infino_status st;

    if (n == 0 || n >= sizeof tmp)
        return err_set(INFINO_ERR_INVALID, "bad directory path '%s'", path);
    /* Fast path: every put of a local store asks for its folder. */
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return INFINO_OK;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0777) == 0) {
                st = sync_parent(tmp);
                if (st != INFINO_OK)
                    return st;
            } else if (errno != EEXIST) {
                return err_set(INFINO_ERR_IO, "%s: mkdir: %s", tmp,
                               strerror(errno));
            } else if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                /* a file (or a dangling link) where a folder should be */
                return err_set(INFINO_ERR_IO, "%s: mkdir: %s", tmp,
                               strerror(ENOTDIR));
            }
            tmp[i] = c;
        }
    }
    return INFINO_OK;
}
