/*
 * objstore.h - a bucket of named objects: local directory, memory, or an
 * S3 bucket (objstore_s3.c).
 *
 * Tables are stored as immutable objects under keys like
 * "tables/docs-1a2b/superfiles/00ab.sf.parquet". The only primitives the
 * table layer needs are: read an object, create one atomically (optionally
 * only if absent, which is how commits serialize), list a prefix, stat,
 * and delete. Every backend implements them with the same semantics, so the
 * commit protocol above is written once.
 *
 * Keys are relative, '/'-separated, without "." or ".." segments.
 * Not useful for: partial overwrites or appends to existing objects.
 */
#ifndef INFINO_STORE_OBJSTORE_H
#define INFINO_STORE_OBJSTORE_H

#include "store.h"

struct objstore;

/* One listed object. */
struct objstore_entry {
    const char *key; /* borrowed: valid during the callback */
    uint64_t size;
    int64_t mtime_ns; /* last modification, ns since the epoch */
};

/* Return anything but INFINO_OK to stop the listing with that status. */
typedef infino_status (*objstore_list_fn)(const struct objstore_entry *e,
                                          void *payload);

/* One storage option, as connect(storage_options=...) passes them. */
struct objstore_option {
    const char *key;   /* e.g. "aws_region" (any case) */
    const char *value; /* never appears in a message: it may be a secret */
};

/* Opens the store named by `uri`: "memory://" (also "memory:" and
 * "memory"; a new, empty, process-local store each time), "file://PATH",
 * a bare path (created if missing), or "s3://BUCKET[/PREFIX]". Other
 * schemes are INFINO_ERR_INVALID naming the URI. *out is owned
 * (objstore_close). Opening touches no network. */
infino_status objstore_open(struct objstore **out, const char *uri);

/* objstore_open() with storage options (borrowed for the call; n may be
 * 0). Keys are upstream infino's: S3 aws_access_key_id,
 * aws_secret_access_key, aws_session_token, aws_region, aws_endpoint,
 * aws_allow_http; the GCS (google_*) and Azure (azure_storage_*) names
 * are known but not served yet. A key no backend knows, or one of another
 * backend than the URI's, is INFINO_ERR_INVALID naming the key; local and
 * memory stores ignore known keys. */
infino_status objstore_open_opts(struct objstore **out, const char *uri,
                                 const struct objstore_option *opts,
                                 size_t n_opts);
void objstore_close(struct objstore *s); /* NULL is a no-op */

/* Borrowed: valid until objstore_close(). */
const char *objstore_uri(const struct objstore *s);
/* false for memory stores: nothing survives the process. */
bool objstore_is_durable(const struct objstore *s);
/* Local stores: the directory holding the objects, else NULL. Borrowed. */
const char *objstore_local_root(const struct objstore *s);

/* Opens object `key` for reading. INFINO_ERR_NOTFOUND when absent. The
 * blob stays readable after the object is deleted. */
infino_status objstore_get(struct objstore *s, const char *key,
                           struct store_blob **out);

/* Starts writing object `key`; store_sink_finish(sink, mode) makes it
 * visible atomically and durably (STORE_NOREPLACE: create-if-absent,
 * INFINO_ERR_EXISTS when it exists). */
infino_status objstore_put_sink(struct objstore *s, const char *key,
                                struct store_sink **out);

/* Writes a whole object in one call (same semantics as a sink). */
infino_status objstore_put(struct objstore *s, const char *key,
                           const void *data, size_t len,
                           enum store_publish mode);

/* INFINO_ERR_NOTFOUND when absent. */
infino_status objstore_stat(struct objstore *s, const char *key,
                            struct objstore_entry *out);
/* Whether `key` names an object; sets no error (an invalid key does not
 * exist). For hot paths; objstore_stat() says why not. */
bool objstore_exists(struct objstore *s, const char *key);

/* Calls `fn` for every object whose key starts with `prefix` (a '/'-ended
 * folder, or "" for all), in no particular order. Temporary files of
 * unfinished writes are not listed. */
infino_status objstore_list(struct objstore *s, const char *prefix,
                            objstore_list_fn fn, void *payload);

/* Like objstore_list, but also lists temporary files of unfinished or
 * abandoned writes (so garbage collection can reap them). */
infino_status objstore_list_all(struct objstore *s, const char *prefix,
                                objstore_list_fn fn, void *payload);

/* Deletes one object. INFINO_ERR_NOTFOUND when absent, except on S3,
 * whose DELETE cannot tell: there deleting an absent object is OK. */
infino_status objstore_delete(struct objstore *s, const char *key);

/* Deletes every object under `prefix` (a '/'-ended folder), including
 * leftovers of unfinished writes. Missing prefix is fine. */
infino_status objstore_delete_prefix(struct objstore *s, const char *prefix);

/* ---- backend interface ---------------------------------------------- */

struct objstore_ops {
    infino_status (*get)(struct objstore *s, const char *key,
                         struct store_blob **out);
    infino_status (*put_sink)(struct objstore *s, const char *key,
                              struct store_sink **out);
    infino_status (*stat)(struct objstore *s, const char *key,
                          struct objstore_entry *out);
    infino_status (*list)(struct objstore *s, const char *prefix,
                          bool include_temps, objstore_list_fn fn,
                          void *payload);
    infino_status (*remove)(struct objstore *s, const char *key);
    infino_status (*remove_prefix)(struct objstore *s, const char *prefix);
    void (*close)(struct objstore *s);
    /* stat() without an error message: asked once per query (is there a
     * newer snapshot?), where formatting "not found" would cost more than
     * the lookup */
    bool (*exists)(struct objstore *s, const char *key);
};

struct objstore {
    const struct objstore_ops *ops;
    char *uri; /* owned */
    bool durable;
    char *local_root; /* owned; local backend only */
};

infino_status objstore_local_open(struct objstore **out, const char *uri,
                                  const char *root);
infino_status objstore_memory_open(struct objstore **out, const char *uri);
/* `opts` are already checked to be S3 or known keys of no backend. */
infino_status objstore_s3_open(struct objstore **out, const char *uri,
                               const struct objstore_option *opts,
                               size_t n_opts);

/* true when `key` is a valid relative key (no empty, "." or ".."
 * segments, no leading '/', no NUL, no backslash). */
bool objstore_key_valid(const char *key);

#endif
