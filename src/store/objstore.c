/*
 * objstore.c - URI dispatch and the backend-independent entry points.
 */
#include "objstore.h"

#include "cache.h"
#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool objstore_key_valid(const char *key)
{
    const char *seg = key;

    if (key == NULL || *key == '\0' || *key == '/')
        return false;
    for (const char *p = key;; p++) {
        if (*p == '\\')
            return false;
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            if (n == 0 && *p == '/')
                return false;
            if ((n == 1 && seg[0] == '.') ||
                (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return false;
            if (*p == '\0')
                return true;
            seg = p + 1;
        }
    }
}

static bool is_memory_uri(const char *uri)
{
    return strcmp(uri, "memory://") == 0 || strcmp(uri, "memory:") == 0 ||
           strcmp(uri, "memory") == 0;
}

/* Storage option names as upstream infino spells them, by backend. Its
 * object_store crate also takes shorter aliases ("region", "endpoint",
 * "account_key", ...); those name their canonical key here, and
 * objstore_open_opts() hands the backends canonical names only. A name
 * may appear once per backend ("endpoint", "allow_http"). Names upstream
 * accepts for settings we do not implement are left out on purpose: they
 * fail connect rather than being ignored. */
enum backend { BACKEND_S3, BACKEND_GCS, BACKEND_AZURE };

static const struct {
    const char *key;
    enum backend backend;
    const char *canonical; /* NULL: `key` itself */
} known_options[] = {
    {"aws_access_key_id", BACKEND_S3, NULL},
    {"aws_secret_access_key", BACKEND_S3, NULL},
    {"aws_session_token", BACKEND_S3, NULL},
    {"aws_region", BACKEND_S3, NULL},
    {"aws_endpoint", BACKEND_S3, NULL},
    {"aws_allow_http", BACKEND_S3, NULL},
    {"access_key_id", BACKEND_S3, "aws_access_key_id"},
    {"secret_access_key", BACKEND_S3, "aws_secret_access_key"},
    {"aws_token", BACKEND_S3, "aws_session_token"},
    {"session_token", BACKEND_S3, "aws_session_token"},
    {"token", BACKEND_S3, "aws_session_token"},
    {"region", BACKEND_S3, "aws_region"},
    {"aws_endpoint_url", BACKEND_S3, "aws_endpoint"},
    {"endpoint_url", BACKEND_S3, "aws_endpoint"},
    {"endpoint", BACKEND_S3, "aws_endpoint"},
    {"allow_http", BACKEND_S3, "aws_allow_http"},
    {"google_service_account", BACKEND_GCS, NULL},
    {"google_service_account_key", BACKEND_GCS, NULL},
    {"google_application_credentials", BACKEND_GCS, NULL},
    {"google_skip_signature", BACKEND_GCS, NULL},
    {"google_base_url", BACKEND_GCS, NULL},
    {"google_allow_http", BACKEND_GCS, NULL},
    {"service_account", BACKEND_GCS, "google_service_account"},
    {"google_service_account_path", BACKEND_GCS, "google_service_account"},
    {"service_account_path", BACKEND_GCS, "google_service_account"},
    {"service_account_key", BACKEND_GCS, "google_service_account_key"},
    {"application_credentials", BACKEND_GCS,
     "google_application_credentials"},
    {"skip_signature", BACKEND_GCS, "google_skip_signature"},
    {"allow_http", BACKEND_GCS, "google_allow_http"},
    {"azure_storage_account_name", BACKEND_AZURE, NULL},
    {"azure_storage_account_key", BACKEND_AZURE, NULL},
    {"azure_storage_sas_key", BACKEND_AZURE, NULL},
    {"azure_storage_client_id", BACKEND_AZURE, NULL},
    {"azure_storage_client_secret", BACKEND_AZURE, NULL},
    {"azure_storage_tenant_id", BACKEND_AZURE, NULL},
    {"azure_storage_authority_host", BACKEND_AZURE, NULL},
    {"azure_storage_endpoint", BACKEND_AZURE, NULL},
    {"azure_endpoint", BACKEND_AZURE, NULL},
    {"azure_storage_use_emulator", BACKEND_AZURE, NULL},
    {"azure_allow_http", BACKEND_AZURE, NULL},
    {"account_name", BACKEND_AZURE, "azure_storage_account_name"},
    {"azure_storage_access_key", BACKEND_AZURE, "azure_storage_account_key"},
    {"azure_storage_master_key", BACKEND_AZURE, "azure_storage_account_key"},
    {"account_key", BACKEND_AZURE, "azure_storage_account_key"},
    {"access_key", BACKEND_AZURE, "azure_storage_account_key"},
    {"master_key", BACKEND_AZURE, "azure_storage_account_key"},
    {"azure_storage_sas_token", BACKEND_AZURE, "azure_storage_sas_key"},
    {"sas_key", BACKEND_AZURE, "azure_storage_sas_key"},
    {"sas_token", BACKEND_AZURE, "azure_storage_sas_key"},
    {"azure_client_id", BACKEND_AZURE, "azure_storage_client_id"},
    {"client_id", BACKEND_AZURE, "azure_storage_client_id"},
    {"azure_client_secret", BACKEND_AZURE, "azure_storage_client_secret"},
    {"client_secret", BACKEND_AZURE, "azure_storage_client_secret"},
    {"azure_tenant_id", BACKEND_AZURE, "azure_storage_tenant_id"},
    {"azure_storage_authority_id", BACKEND_AZURE, "azure_storage_tenant_id"},
    {"azure_authority_id", BACKEND_AZURE, "azure_storage_tenant_id"},
    {"tenant_id", BACKEND_AZURE, "azure_storage_tenant_id"},
    {"authority_id", BACKEND_AZURE, "azure_storage_tenant_id"},
    {"azure_authority_host", BACKEND_AZURE, "azure_storage_authority_host"},
    {"authority_host", BACKEND_AZURE, "azure_storage_authority_host"},
    {"endpoint", BACKEND_AZURE, "azure_storage_endpoint"},
    {"use_emulator", BACKEND_AZURE, "azure_storage_use_emulator"},
    {"allow_http", BACKEND_AZURE, "azure_allow_http"},
};

#define N_KNOWN (sizeof known_options / sizeof known_options[0])

/* Settings upstream's object_store takes that we do not implement: named
 * as such in the error, so a port from upstream learns why it fails. */
static const char *const unsupported_options[] = {
    "aws_default_region", "default_region", "aws_bucket", "aws_bucket_name",
    "bucket", "bucket_name", "aws_virtual_hosted_style_request",
    "virtual_hosted_style_request", "aws_s3_express", "s3_express",
    "aws_imdsv1_fallback", "imdsv1_fallback", "aws_metadata_endpoint",
    "metadata_endpoint", "aws_unsigned_payload", "unsigned_payload",
    "aws_checksum_algorithm", "checksum_algorithm",
    "aws_container_credentials_relative_uri", "aws_skip_signature",
    "aws_copy_if_not_exists", "copy_if_not_exists", "aws_conditional_put",
    "conditional_put", "aws_disable_tagging", "disable_tagging",
    "aws_request_payer", "request_payer", "aws_server_side_encryption",
    "aws_sse_kms_key_id", "aws_sse_bucket_key_enabled",
    "aws_sse_customer_key_base64", "google_bucket", "google_bucket_name",
    "azure_storage_token", "bearer_token", "azure_msi_endpoint",
    "azure_identity_endpoint", "azure_object_id", "azure_msi_resource_id",
    "azure_federated_token_file", "azure_use_fabric_endpoint",
    "azure_use_azure_cli", "azure_skip_signature", "azure_container_name",
    "container_name", "azure_disable_tagging", "timeout", "connect_timeout",
    "pool_idle_timeout", "pool_max_idle_per_host", "proxy_url",
    "proxy_ca_certificate", "proxy_excludes", "user_agent",
    "allow_invalid_certificates", "aws_allow_invalid_certificates",
    "default_content_type", "http1_only", "http2_only",
    "randomize_addresses",
};

static bool is_unsupported(const char *key)
{
    size_t n = sizeof unsupported_options / sizeof unsupported_options[0];

    for (size_t i = 0; i < n; i++)
        if (strcasecmp(unsupported_options[i], key) == 0)
            return true;
    return false;
}

static const char *const backend_names[] = {"s3://", "gs://", "az://"};

/* "aws_access_key_id, aws_..." for one backend (canonical names only),
 * into `out`. */
static void backend_keys(char *out, size_t cap, enum backend b)
{
    size_t at = 0;

    out[0] = '\0';
    for (size_t k = 0; k < N_KNOWN; k++) {
        if (known_options[k].backend != b || known_options[k].canonical)
            continue;
        int w = snprintf(out + at, cap - at, "%s%s", at ? ", " : "",
                         known_options[k].key);
        if (w < 0 || (size_t)w >= cap - at)
            return;
        at += (size_t)w;
    }
}

/* Index in known_options of `key` for backend `want` (any backend when
 * `want` < 0), or N_KNOWN. */
static size_t find_option(const char *key, int want)
{
    for (size_t k = 0; k < N_KNOWN; k++)
        if ((want < 0 || (int)known_options[k].backend == want) &&
            strcasecmp(known_options[k].key, key) == 0)
            return k;
    return N_KNOWN;
}

/* Every key known; with `want` >= 0, every key of that backend. */
static infino_status check_options(const struct objstore_option *opts,
                                   size_t n, int want, const char *uri)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = opts[i].key;
        size_t k;

        if (key == NULL || opts[i].value == NULL)
            return err_set(INFINO_ERR_INVALID, "storage option %zu: NULL %s",
                           i, key == NULL ? "key" : "value");
        if (find_option(key, want) != N_KNOWN)
            continue;
        k = find_option(key, -1);
        if (k == N_KNOWN && is_unsupported(key))
            return err_set(INFINO_ERR_INVALID,
                           "storage option '%s' is not supported (upstream's "
                           "object_store takes it; this implementation does "
                           "not: see docs/object-storage.md)",
                           key);
        if (k == N_KNOWN) {
            char keys[512];
            backend_keys(keys, sizeof keys, want >= 0 ? (enum backend)want
                                                      : BACKEND_S3);
            if (want >= 0)
                return err_set(INFINO_ERR_INVALID,
                               "unknown storage option '%s' (%s URIs take "
                               "%s)",
                               key, backend_names[want], keys);
            return err_set(INFINO_ERR_INVALID,
                           "unknown storage option '%s' (options start "
                           "with aws_, google_ or azure_)",
                           key);
        }
        return err_set(INFINO_ERR_INVALID,
                       "storage option '%s' is for %s URIs, not for '%s'",
                       key, backend_names[known_options[k].backend], uri);
    }
    return INFINO_OK;
}

/* Checks `opts` for backend `b`, then opens the store with every alias
 * replaced by its canonical key (a copy; the values stay borrowed). */
static infino_status open_remote(struct objstore **out, const char *uri,
                                 enum backend b,
                                 const struct objstore_option *opts,
                                 size_t n)
{
    struct objstore_option *canon = NULL; /* owned, freed below */
    infino_status st;

    st = check_options(opts, n, (int)b, uri);
    if (st != INFINO_OK)
        return st;
    if (n > 0) {
        canon = mem_calloc(n, sizeof *canon);
        if (canon == NULL)
            return err_nomem();
        for (size_t i = 0; i < n; i++) {
            size_t k = find_option(opts[i].key, (int)b);
            canon[i].key = known_options[k].canonical
                               ? known_options[k].canonical
                               : opts[i].key;
            canon[i].value = opts[i].value;
        }
    }
    switch (b) {
    case BACKEND_S3:
        st = objstore_s3_open(out, uri, canon, n);
        break;
    case BACKEND_GCS:
        st = objstore_gcs_open(out, uri, canon, n);
        break;
    case BACKEND_AZURE:
    default:
        st = objstore_azure_open(out, uri, canon, n);
        break;
    }
    mem_free(canon);
    return st;
}

infino_status objstore_open(struct objstore **out, const char *uri)
{
    return objstore_open_opts(out, uri, NULL, 0);
}

infino_status objstore_open_opts(struct objstore **out, const char *uri,
                                 const struct objstore_option *opts,
                                 size_t n_opts)
{
    const char *sep;
    infino_status st;

    *out = NULL;
    if (uri == NULL || *uri == '\0')
        return err_set(INFINO_ERR_INVALID, "empty database URI");
    if (strncmp(uri, "s3://", 5) == 0)
        return open_remote(out, uri, BACKEND_S3, opts, n_opts);
    if (strncmp(uri, "gs://", 5) == 0 || strncmp(uri, "gcs://", 6) == 0)
        return open_remote(out, uri, BACKEND_GCS, opts, n_opts);
    if (strncmp(uri, "az://", 5) == 0 || strncmp(uri, "azure://", 8) == 0)
        return open_remote(out, uri, BACKEND_AZURE, opts, n_opts);
    st = check_options(opts, n_opts, -1, uri);
    if (st != INFINO_OK)
        return st;
    if (is_memory_uri(uri))
        return objstore_memory_open(out, uri);
    if (strncmp(uri, "file://", 7) == 0) {
        if (uri[7] == '\0')
            return err_set(INFINO_ERR_INVALID, "URI '%s' names no path", uri);
        return objstore_local_open(out, uri, uri + 7);
    }
    sep = strstr(uri, "://");
    if (sep != NULL) {
        /* Anything shaped like "scheme://" that we do not serve. */
        return err_set(INFINO_ERR_INVALID,
                       "unsupported URI scheme '%.*s' in '%s' (use a path, "
                       "file://, memory://, s3://, gs:// or az://)",
                       (int)(sep - uri), uri, uri);
    }
    return objstore_local_open(out, uri, uri);
}

void objstore_close(struct objstore *s)
{
    if (s == NULL)
        return;
    store_cache_detach(s); /* stops background fills before the backend */
    s->ops->close(s);
}

const char *objstore_uri(const struct objstore *s)
{
    return s->uri;
}

bool objstore_is_durable(const struct objstore *s)
{
    return s->durable;
}

const char *objstore_local_root(const struct objstore *s)
{
    return s->local_root;
}

const char *objstore_cache_id(const struct objstore *s)
{
    return s->cache_id ? s->cache_id : s->uri;
}

static infino_status check_key(const char *key)
{
    if (!objstore_key_valid(key))
        return err_set(INFINO_ERR_INVALID, "invalid object key '%s'",
                       key ? key : "(null)");
    return INFINO_OK;
}

infino_status objstore_get(struct objstore *s, const char *key,
                           struct store_blob **out)
{
    infino_status st = check_key(key);

    *out = NULL;
    return st != INFINO_OK ? st : s->ops->get(s, key, out);
}

infino_status objstore_put_sink(struct objstore *s, const char *key,
                                struct store_sink **out)
{
    infino_status st = check_key(key);

    *out = NULL;
    return st != INFINO_OK ? st : s->ops->put_sink(s, key, out);
}

infino_status objstore_put(struct objstore *s, const char *key,
                           const void *data, size_t len,
                           enum store_publish mode)
{
    struct store_sink *sink;
    infino_status st = objstore_put_sink(s, key, &sink);

    if (st != INFINO_OK)
        return st;
    st = store_sink_write(sink, data, len);
    if (st != INFINO_OK) {
        store_sink_abort(sink);
        return st;
    }
    return store_sink_finish(sink, mode);
}

infino_status objstore_stat(struct objstore *s, const char *key,
                            struct objstore_entry *out)
{
    infino_status st = check_key(key);

    return st != INFINO_OK ? st : s->ops->stat(s, key, out);
}

bool objstore_exists(struct objstore *s, const char *key)
{
    char saved[1024];
    bool yes;

    if (!objstore_key_valid(key))
        return false;
    /* Backends may note and then clear an error while they ask (GCS and
     * Azure did); the caller's message must survive: a failing write
     * checks the drop marker on its way out, before it adds context. */
    snprintf(saved, sizeof saved, "%s", err_last());
    yes = s->ops->exists(s, key);
    if (strcmp(err_last(), saved) != 0)
        err_set(INFINO_OK, "%s", saved);
    return yes;
}

infino_status objstore_list(struct objstore *s, const char *prefix,
                            objstore_list_fn fn, void *payload)
{
    return s->ops->list(s, prefix ? prefix : "", false, fn, payload);
}

infino_status objstore_list_all(struct objstore *s, const char *prefix,
                                objstore_list_fn fn, void *payload)
{
    return s->ops->list(s, prefix ? prefix : "", true, fn, payload);
}

infino_status objstore_delete(struct objstore *s, const char *key)
{
    infino_status st = check_key(key);

    return st != INFINO_OK ? st : s->ops->remove(s, key);
}

infino_status objstore_delete_prefix(struct objstore *s, const char *prefix)
{
    if (prefix == NULL || *prefix == '\0')
        return err_set(INFINO_ERR_INVALID, "refusing to delete everything");
    return s->ops->remove_prefix(s, prefix);
}

int objstore_read_back(struct objstore *s, const char *key, uint64_t len,
                       uint32_t crc)
{
    char saved[1024];
    struct store_blob *b = NULL;
    uint32_t got = 0;
    infino_status st;
    int r = 1;

    snprintf(saved, sizeof saved, "%s", err_last());
    /* a fresh name is immutable: read through the cache, in pieces, so a
     * large object costs no memory (and lands in the cache) */
    st = objstore_get_immutable(s, key, len, &b);
    if (st == INFINO_ERR_NOTFOUND)
        r = 0;
    else if (st != INFINO_OK)
        r = -2;
    else if (store_blob_size(b) != len)
        r = -1;
    for (uint64_t off = 0; r == 1 && off < len;) {
        size_t n = len - off < (8u << 20) ? (size_t)(len - off) : 8u << 20;
        const uint8_t *p;
        if (store_blob_read(b, off, n, &p) != INFINO_OK) {
            r = -2;
            break;
        }
        got = crc32c_extend(got, p, n);
        store_blob_release(b, off, n);
        off += n;
    }
    if (r == 1 && got != crc)
        r = -1;
    store_blob_close(b);
    err_set(INFINO_OK, "%s", saved);
    return r;
}
