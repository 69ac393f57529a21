/*
 * objstore_local.c - objects as files under a root directory.
 *
 * Publishing goes through store sinks (temp file, fsync, rename or
 * renameat2(RENAME_NOREPLACE), directory fsync), so an object either exists
 * whole or not at all. Temporary files are named ".<name>.tmp-*" (the name
 * cut where the whole would not fit one path component) and are
 * invisible to listings.
 */
#define _GNU_SOURCE
#include "objstore.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
    struct objstore base;
    /* the root directory (O_PATH), so that existence checks look up the
     * key's few components, not the root's whole path again; -1: none */
    int root_fd;
};

/* Builds "<root>/<key>" into `out` (NUL-terminated). */
static infino_status full_path(struct buf *out, const struct objstore *s,
                               const char *key)
{
    infino_status st;

    buf_reset(out);
    st = buf_append_str(out, s->local_root);
    if (st == INFINO_OK && *key)
        st = buf_put_u8(out, '/');
    if (st == INFINO_OK)
        st = buf_append_str(out, key);
    if (st == INFINO_OK)
        st = buf_put_u8(out, 0);
    return st;
}

static infino_status local_get(struct objstore *s, const char *key,
                               struct store_blob **out)
{
    struct buf p = {0};
    infino_status st = full_path(&p, s, key);

    if (st == INFINO_OK)
        st = store_blob_open_file(out, (char *)p.data);
    buf_free(&p);
    return st;
}

static infino_status local_put_sink(struct objstore *s, const char *key,
                                    struct store_sink **out)
{
    struct buf p = {0};
    infino_status st = full_path(&p, s, key);
    char *slash;

    if (st != INFINO_OK)
        goto done;
    slash = strrchr((char *)p.data, '/');
    if (slash && slash != (char *)p.data) {
        *slash = '\0';
        st = store_mkdirs((char *)p.data);
        *slash = '/';
        if (st != INFINO_OK)
            goto done;
    }
    st = store_sink_open_file(out, (char *)p.data);
done:
    buf_free(&p);
    return st;
}

static void fill_entry(struct objstore_entry *e, const struct stat *sb)
{
    e->size = (uint64_t)sb->st_size;
    e->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 +
                  (int64_t)sb->st_mtim.tv_nsec;
}

static infino_status local_stat(struct objstore *s, const char *key,
                                struct objstore_entry *out)
{
    const struct local *l = (const struct local *)s;
    struct buf p = {0};
    struct stat sb;
    infino_status st = INFINO_OK;
    int rc, err;

    /* Relative to the open root when there is one: every read checks for
     * a newer snapshot with one stat (table.c), which then walks only the
     * key's components; the full path is built for a message only. */
    if (l->root_fd >= 0 && *key) {
        rc = fstatat(l->root_fd, key, &sb, 0);
    } else {
        st = full_path(&p, s, key);
        if (st != INFINO_OK)
            goto done;
        rc = stat((char *)p.data, &sb);
    }
    err = rc != 0 ? errno : 0;
    if (rc == 0 && S_ISREG(sb.st_mode)) {
        out->key = key;
        fill_entry(out, &sb);
        goto done;
    }
    if (p.len == 0 && (st = full_path(&p, s, key)) != INFINO_OK)
        goto done;
    st = err == ENOENT || err == ENOTDIR || err == 0
             ? err_set(INFINO_ERR_NOTFOUND, "%s: no such object",
                       (char *)p.data)
             : err_set(INFINO_ERR_IO, "%s: stat: %s", (char *)p.data,
                       strerror(err));
done:
    buf_free(&p);
    return st;
}

static bool local_exists(struct objstore *s, const char *key)
{
    const struct local *l = (const struct local *)s;
    struct stat sb;
    struct buf p = {0};
    bool found;

    if (l->root_fd >= 0)
        return fstatat(l->root_fd, key, &sb, 0) == 0 && S_ISREG(sb.st_mode);
    found = full_path(&p, s, key) == INFINO_OK &&
            stat((char *)p.data, &sb) == 0 && S_ISREG(sb.st_mode);
    buf_free(&p);
    return found;
}

static bool is_temp_name(const char *name)
{
    return name[0] == '.' && strstr(name, ".tmp-") != NULL;
}

/* Walks dir `path` (whose key prefix is `key`, both in bufs that we extend
 * and restore). */
static infino_status walk(struct buf *path, struct buf *key, bool list_temps,
                          objstore_list_fn fn, void *payload)
{
    DIR *d;
    struct dirent *e;
    infino_status st = INFINO_OK;
    size_t path_len = path->len, key_len = key->len;

    d = opendir((char *)path->data);
    if (d == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return INFINO_OK;
        return err_set(INFINO_ERR_IO, "%s: opendir: %s", (char *)path->data,
                       strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!list_temps && is_temp_name(e->d_name))
            continue;
        path->len = path_len - 1; /* drop the NUL */
        key->len = key_len ? key_len - 1 : 0;
        if ((st = buf_put_u8(path, '/')) != INFINO_OK ||
            (st = buf_append_str(path, e->d_name)) != INFINO_OK ||
            (st = buf_put_u8(path, 0)) != INFINO_OK)
            break;
        if ((key->len > 0 && (st = buf_put_u8(key, '/')) != INFINO_OK) ||
            (st = buf_append_str(key, e->d_name)) != INFINO_OK ||
            (st = buf_put_u8(key, 0)) != INFINO_OK)
            break;
        if (lstat((char *)path->data, &sb) != 0)
            continue; /* raced with a delete */
        if (S_ISDIR(sb.st_mode)) {
            st = walk(path, key, list_temps, fn, payload);
        } else if (S_ISREG(sb.st_mode)) {
            struct objstore_entry ent;
            ent.key = (char *)key->data;
            fill_entry(&ent, &sb);
            st = fn(&ent, payload);
        }
        if (st != INFINO_OK)
            break;
    }
    closedir(d);
    path->len = path_len;
    key->len = key_len;
    if (path->len)
        path->data[path->len - 1] = 0;
    if (key->len)
        key->data[key->len - 1] = 0;
    return st;
}

/* Lists under a '/'-ended prefix folder (or the whole store for ""). */
static infino_status list_impl(struct objstore *s, const char *prefix,
                               bool list_temps, objstore_list_fn fn,
                               void *payload)
{
    struct buf path = {0}, key = {0};
    size_t n = strlen(prefix);
    infino_status st;

    while (n > 0 && prefix[n - 1] == '/')
        n--;
    if (n > 0) {
        char tmp[4096];
        if (n >= sizeof tmp)
            return err_set(INFINO_ERR_INVALID, "prefix too long");
        memcpy(tmp, prefix, n);
        tmp[n] = '\0';
        if (!objstore_key_valid(tmp))
            return err_set(INFINO_ERR_INVALID, "invalid prefix '%s'", prefix);
        st = full_path(&path, s, tmp);
        if (st == INFINO_OK)
            st = buf_append(&key, prefix, n);
        if (st == INFINO_OK)
            st = buf_put_u8(&key, 0);
    } else {
        st = full_path(&path, s, "");
    }
    if (st == INFINO_OK)
        st = walk(&path, &key, list_temps, fn, payload);
    buf_free(&path);
    buf_free(&key);
    return st;
}

static infino_status local_list(struct objstore *s, const char *prefix,
                                bool include_temps, objstore_list_fn fn,
                                void *payload)
{
    return list_impl(s, prefix, include_temps, fn, payload);
}

static infino_status local_remove(struct objstore *s, const char *key)
{
    struct buf p = {0};
    infino_status st = full_path(&p, s, key);

    if (st == INFINO_OK && unlink((char *)p.data) != 0)
        st = errno == ENOENT
                 ? err_set(INFINO_ERR_NOTFOUND, "%s: no such object",
                           (char *)p.data)
                 : err_set(INFINO_ERR_IO, "%s: unlink: %s", (char *)p.data,
                           strerror(errno));
    buf_free(&p);
    return st;
}

struct rm_ctx {
    struct objstore *s;
};

static infino_status rm_one(const struct objstore_entry *e, void *payload)
{
    struct rm_ctx *c = payload;
    infino_status st = local_remove(c->s, e->key);

    return st == INFINO_ERR_NOTFOUND ? INFINO_OK : st;
}

/* Removes now-empty directories below and including `dir`. */
static void prune_dirs(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char sub[4096];

    while (d && (e = readdir(d)) != NULL) {
        struct stat sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            prune_dirs(sub);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static infino_status local_remove_prefix(struct objstore *s,
                                         const char *prefix)
{
    struct rm_ctx c = {s};
    struct buf p = {0};
    size_t n = strlen(prefix);
    infino_status st = list_impl(s, prefix, true, rm_one, &c);

    while (n > 0 && prefix[n - 1] == '/')
        n--;
    if (st == INFINO_OK && n > 0) {
        char tmp[4096];
        if (n < sizeof tmp) {
            memcpy(tmp, prefix, n);
            tmp[n] = '\0';
            if (full_path(&p, s, tmp) == INFINO_OK)
                prune_dirs((char *)p.data);
        }
    }
    buf_free(&p);
    return st;
}

static void local_close(struct objstore *s)
{
    struct local *l = (struct local *)s;

    if (l->root_fd >= 0)
        close(l->root_fd);
    mem_free(s->uri);
    mem_free(s->local_root);
    mem_free(s);
}

static const struct objstore_ops local_ops = {
    local_get,  local_put_sink,      local_stat,  local_list,
    local_remove, local_remove_prefix, local_close, local_exists,
};

infino_status objstore_local_open(struct objstore **out, const char *uri,
                                  const char *root)
{
    struct local *l;
    size_t n = strlen(root);
    infino_status st;
    struct stat sb;

    *out = NULL;
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (stat(root, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return err_set(INFINO_ERR_INVALID, "'%s' is not a directory", uri);
    st = store_mkdirs(root);
    if (st != INFINO_OK)
        return err_context(st, "opening database '%s'", uri);
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return err_set(INFINO_ERR_INVALID, "'%s' is not a directory", uri);
    l = mem_calloc(1, sizeof *l);
    if (l == NULL)
        return err_nomem();
    l->base.ops = &local_ops;
    l->base.durable = true;
    l->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    l->base.uri = mem_strdup(uri);
    l->base.local_root = mem_strndup(root, n);
    if (l->base.uri == NULL || l->base.local_root == NULL) {
        local_close(&l->base);
        return err_nomem();
    }
    *out = &l->base;
    return INFINO_OK;
}
