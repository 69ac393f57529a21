/*
 * objstore.c - URI dispatch and the backend-independent entry points.
 */
#include "objstore.h"

#include "util/alloc.h"
#include "util/err.h"

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

/* Storage option names as upstream infino spells them, by backend. */
enum backend { BACKEND_S3, BACKEND_GCS, BACKEND_AZURE };

static const struct {
    const char *key;
    enum backend backend;
} known_options[] = {
    {"aws_access_key_id", BACKEND_S3},
    {"aws_secret_access_key", BACKEND_S3},
    {"aws_session_token", BACKEND_S3},
    {"aws_region", BACKEND_S3},
    {"aws_endpoint", BACKEND_S3},
    {"aws_allow_http", BACKEND_S3},
    {"google_service_account", BACKEND_GCS},
    {"google_service_account_key", BACKEND_GCS},
    {"google_application_credentials", BACKEND_GCS},
    {"google_skip_signature", BACKEND_GCS},
    {"azure_storage_account_name", BACKEND_AZURE},
    {"azure_storage_account_key", BACKEND_AZURE},
    {"azure_storage_sas_key", BACKEND_AZURE},
    {"azure_storage_client_id", BACKEND_AZURE},
    {"azure_storage_client_secret", BACKEND_AZURE},
    {"azure_storage_tenant_id", BACKEND_AZURE},
};

static const char *const backend_names[] = {"s3://", "gs://", "az://"};

/* Every key known; with `want` >= 0, every key of that backend. */
static infino_status check_options(const struct objstore_option *opts,
                                   size_t n, int want, const char *uri)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = opts[i].key;
        size_t k = 0, n_known = sizeof known_options / sizeof known_options[0];

        if (key == NULL || opts[i].value == NULL)
            return err_set(INFINO_ERR_INVALID, "storage option %zu: NULL %s",
                           i, key == NULL ? "key" : "value");
        while (k < n_known && strcasecmp(known_options[k].key, key) != 0)
            k++;
        if (k == n_known)
            return err_set(INFINO_ERR_INVALID,
                           "unknown storage option '%s' (S3 takes "
                           "aws_access_key_id, aws_secret_access_key, "
                           "aws_session_token, aws_region, aws_endpoint, "
                           "aws_allow_http)",
                           key);
        if (want >= 0 && (int)known_options[k].backend != want)
            return err_set(INFINO_ERR_INVALID,
                           "storage option '%s' is for %s URIs, not for '%s'",
                           key, backend_names[known_options[k].backend], uri);
    }
    return INFINO_OK;
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
    if (strncmp(uri, "s3://", 5) == 0) {
        st = check_options(opts, n_opts, BACKEND_S3, uri);
        return st != INFINO_OK ? st : objstore_s3_open(out, uri, opts, n_opts);
    }
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
                       "file://, memory://, or s3://)",
                       (int)(sep - uri), uri, uri);
    }
    return objstore_local_open(out, uri, uri);
}

void objstore_close(struct objstore *s)
{
    if (s == NULL)
        return;
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
    return objstore_key_valid(key) && s->ops->exists(s, key);
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
