/*
 * objstore.h - a bucket of named objects: local directory, memory, or a
 * bucket of S3 (objstore_s3.c), Google Cloud Storage (objstore_gcs.c) or
 * Azure Blob Storage (objstore_azure.c).
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
struct objstore_ranges;

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
 * a bare path (created if missing), "s3://BUCKET[/PREFIX]",
 * "gs://BUCKET[/PREFIX]" (also "gcs://") or "az://CONTAINER[/PREFIX]"
 * (also "azure://"). Other schemes are INFINO_ERR_INVALID naming the URI.
 * *out is owned (objstore_close). Opening touches no network. */
infino_status objstore_open(struct objstore **out, const char *uri);

/* objstore_open() with storage options (borrowed for the call; n may be
 * 0). Keys are upstream infino's (its object_store crate's names): S3
 * aws_access_key_id, aws_secret_access_key, aws_session_token,
 * aws_region, aws_endpoint, aws_allow_http; GCS google_service_account,
 * google_service_account_key, google_application_credentials,
 * google_skip_signature, google_base_url, google_allow_http; Azure
 * azure_storage_account_name, azure_storage_account_key,
 * azure_storage_sas_key, azure_storage_client_id,
 * azure_storage_client_secret, azure_storage_tenant_id,
 * azure_storage_authority_host, azure_storage_endpoint (azure_endpoint),
 * azure_storage_use_emulator, azure_allow_http; plus the aliases
 * object_store takes for these same settings ("region", "endpoint",
 * "account_key", ...; the table in objstore.c). A key no backend knows,
 * or one of another backend than the URI's, is INFINO_ERR_INVALID naming
 * the key; local and memory stores ignore known keys. */
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
/* Whether `key` names an object; sets no error and leaves the thread's
 * last message as it was (an invalid key does not exist). For hot paths;
 * objstore_stat() says why not. */
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
 * whose DELETE cannot tell: there deleting an absent object is OK (as on
 * GCS and Azure when an earlier attempt of the same call may have deleted
 * it). */
infino_status objstore_delete(struct objstore *s, const char *key);

/* Deletes every object under `prefix` (a '/'-ended folder), including
 * leftovers of unfinished writes. Missing prefix is fine. */
infino_status objstore_delete_prefix(struct objstore *s, const char *prefix);

/* After a create-if-absent publish of `key` failed with anything but
 * INFINO_ERR_EXISTS (an I/O error: perhaps an earlier attempt landed and
 * its answer was lost): whether `key` now holds our `len` bytes of CRC-32C
 * `crc`. 1: ours (the publish happened), 0: absent, -1: other bytes, -2:
 * cannot tell. Keeps the caller's error message. For names only one
 * writer uses (random ids): there, "ours" settles the outcome. */
int objstore_read_back(struct objstore *s, const char *key, uint64_t len,
                       uint32_t crc);

/* Opens object `key`, which the caller knows to be immutable: its name is
 * never reused for other bytes (superfiles and tombstones, named by random
 * ids and created once). `size` is its size when known (a snapshot says
 * so), else OBJSTORE_SIZE_UNKNOWN. Served through the store's read cache
 * (cache.h) when the backend reads by ranges: a cached object opens
 * without the network. Otherwise the same as objstore_get(). */
#define OBJSTORE_SIZE_UNKNOWN UINT64_MAX
infino_status objstore_get_immutable(struct objstore *s, const char *key,
                                     uint64_t size, struct store_blob **out);

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

struct store_cache;

struct objstore {
    const struct objstore_ops *ops;
    char *uri; /* owned */
    bool durable;
    char *local_root; /* owned; local backend only */
    /* Remote backends: names the bucket and prefix wherever it is served
     * from (endpoint included), so cache entries of two stores never mix.
     * Owned by the backend; NULL: the URI. */
    char *cache_id;
    /* Set by backends that read by ranges (NULL: objstore_get_immutable()
     * is objstore_get()): a reader of `key` by ranges for the read cache
     * (cache.h), pinned to the version `etag` names when it is non-NULL.
     * Touches no network. */
    infino_status (*open_ranges)(struct objstore *s, const char *key,
                                 const char *etag,
                                 struct objstore_ranges **out);
    struct store_cache *cache; /* the read cache, or NULL (cache.c) */
};

/* ---- ranged reads, for the read cache ---------------------------------- */

#define OBJSTORE_ETAG_MAX 128

/* Reads one object by ranges (objstore.open_ranges). It holds what it
 * needs, so it may outlive objstore_close() of its store; threads may
 * share it. Once it has learned a version (its first answer, or the ETag
 * it was opened with), every later read comes from that version or fails
 * naming the object. */
struct objstore_ranges {
    const struct objstore_ranges_ops *ops;
};

struct objstore_ranges_ops {
    /* Reads exactly `len` (> 0) bytes at `off` into `dst`. */
    infino_status (*read)(struct objstore_ranges *r, uint64_t off, size_t len,
                          uint8_t *dst);
    /* The last `len` bytes, or the whole object when it is shorter: *out
     * is owned (mem_free; NULL when *n_out is 0), *size_out the object's
     * size. INFINO_ERR_NOTFOUND when the object does not exist. */
    infino_status (*read_tail)(struct objstore_ranges *r, size_t len,
                               uint8_t **out, size_t *n_out,
                               uint64_t *size_out);
    /* The version read so far, quotes kept; "" until one is known. */
    void (*etag)(struct objstore_ranges *r, char out[OBJSTORE_ETAG_MAX]);
    void (*close)(struct objstore_ranges *r); /* NULL is never passed */
};

/* Borrowed: s->cache_id, else the URI. */
const char *objstore_cache_id(const struct objstore *s);

infino_status objstore_local_open(struct objstore **out, const char *uri,
                                  const char *root);
infino_status objstore_memory_open(struct objstore **out, const char *uri);
/* `opts` are already checked to be keys of the URI's backend. */
infino_status objstore_s3_open(struct objstore **out, const char *uri,
                               const struct objstore_option *opts,
                               size_t n_opts);
infino_status objstore_gcs_open(struct objstore **out, const char *uri,
                                const struct objstore_option *opts,
                                size_t n_opts);
infino_status objstore_azure_open(struct objstore **out, const char *uri,
                                  const struct objstore_option *opts,
                                  size_t n_opts);

/* true when `key` is a valid relative key (no empty, "." or ".."
 * segments, no leading '/', no NUL, no backslash). */
bool objstore_key_valid(const char *key);

#endif
