/*
 * gcs_json.c - GCS's JSON bodies and Google credential files (see
 * gcs_json.h), on the scanner of json.h.
 *
 * Field names and formats: Cloud Storage JSON API v1, "Objects" resource
 * (size and generation are decimal strings, updated is RFC 3339) and the
 * "objects: list" response (items[], nextPageToken); errors follow
 * Google's JSON error format ({"error": {"code", "message", "errors"}}).
 */
#include "gcs_json.h"

#include "json.h"
#include "remote.h"
#include "xml.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

#define WHAT "GCS response"

/* A field of an object resource at `depth` of the resource itself. */
static infino_status object_field(struct gcs_object *o, const char *key,
                                  enum json_type type, const char *text,
                                  size_t len)
{
    if (json_key_is(key, "name") && type == JSON_STRING)
        return json_dup(&o->name, text, len);
    if (json_key_is(key, "size") &&
        (type == JSON_STRING || type == JSON_NUMBER))
        return json_parse_u64(&o->size, WHAT, text, len);
    if (json_key_is(key, "generation") &&
        (type == JSON_STRING || type == JSON_NUMBER))
        return json_parse_u64(&o->generation, WHAT, text, len);
    /* RFC 3339 UTC, the form xml_parse_iso8601 reads */
    if (json_key_is(key, "updated") && type == JSON_STRING)
        return xml_parse_iso8601(&o->mtime_ns, WHAT, text, len);
    return INFINO_OK;
}

static infino_status object_event(void *payload, enum json_ev ev,
                                  enum json_type type, int depth,
                                  const char *key, const char *text,
                                  size_t len)
{
    if (depth == 0 && ev == JSON_BEGIN && type != JSON_OBJECT)
        return err_set(INFINO_ERR_CORRUPT, WHAT ": expected an object");
    if (depth == 1 && ev == JSON_VALUE)
        return object_field(payload, key, type, text, len);
    return INFINO_OK;
}

void gcsjson_object_free(struct gcs_object *o)
{
    mem_free(o->name);
    memset(o, 0, sizeof *o);
}

infino_status gcsjson_parse_object(struct gcs_object *out, const char *json,
                                   size_t len)
{
    infino_status st;

    memset(out, 0, sizeof *out);
    st = json_scan(json, len, WHAT, object_event, out);
    if (st == INFINO_OK && out->name == NULL)
        st = err_set(INFINO_ERR_CORRUPT, WHAT ": an object without a name");
    if (st != INFINO_OK)
        gcsjson_object_free(out);
    return st;
}

/* ---- objects.list ---------------------------------------------------- */

struct list_state {
    struct gcs_list_page *page;
    bool in_items, in_item;
    struct gcs_object cur;
};

static infino_status list_event(void *payload, enum json_ev ev,
                                enum json_type type, int depth,
                                const char *key, const char *text,
                                size_t len)
{
    struct list_state *ls = payload;
    struct gcs_list_page *p = ls->page;

    if (depth == 0 && ev == JSON_BEGIN && type != JSON_OBJECT)
        return err_set(INFINO_ERR_CORRUPT, WHAT ": expected an object");
    if (depth == 1) {
        if (ev == JSON_BEGIN && json_key_is(key, "items") &&
            type == JSON_ARRAY)
            ls->in_items = true;
        else if (ev == JSON_END)
            ls->in_items = false;
        else if (ev == JSON_VALUE && json_key_is(key, "nextPageToken") &&
                 type == JSON_STRING && len > 0)
            return json_dup(&p->next_token, text, len);
        return INFINO_OK;
    }
    if (!ls->in_items)
        return INFINO_OK;
    if (depth == 2 && ev == JSON_BEGIN) {
        if (type != JSON_OBJECT)
            return err_set(INFINO_ERR_CORRUPT, WHAT ": an item that is not "
                                                    "an object");
        ls->in_item = true;
        memset(&ls->cur, 0, sizeof ls->cur);
    } else if (depth == 3 && ev == JSON_VALUE && ls->in_item) {
        return object_field(&ls->cur, key, type, text, len);
    } else if (depth == 2 && ev == JSON_END && ls->in_item) {
        ls->in_item = false;
        if (ls->cur.name == NULL)
            return err_set(INFINO_ERR_CORRUPT,
                           WHAT ": a listed object without a name");
        if (MEM_RESERVE(p->items, p->items_cap, p->n_items + 1) != 0)
            return err_nomem();
        p->items[p->n_items++] = ls->cur;
        memset(&ls->cur, 0, sizeof ls->cur);
    }
    return INFINO_OK;
}

void gcsjson_list_free(struct gcs_list_page *p)
{
    for (size_t i = 0; i < p->n_items; i++)
        gcsjson_object_free(&p->items[i]);
    mem_free(p->items);
    mem_free(p->next_token);
    memset(p, 0, sizeof *p);
}

infino_status gcsjson_parse_list(struct gcs_list_page *out, const char *json,
                                 size_t len)
{
    struct list_state ls = {.page = out};
    infino_status st;

    memset(out, 0, sizeof *out);
    st = json_scan(json, len, WHAT, list_event, &ls);
    gcsjson_object_free(&ls.cur);
    if (st != INFINO_OK)
        gcsjson_list_free(out);
    return st;
}

/* ---- errors ---------------------------------------------------------- */

struct error_state {
    struct gcs_error *e;
    bool in_error, in_errors;
};

static infino_status error_event(void *payload, enum json_ev ev,
                                 enum json_type type, int depth,
                                 const char *key, const char *text,
                                 size_t len)
{
    struct error_state *es = payload;

    if (depth == 0 && ev == JSON_BEGIN && type != JSON_OBJECT)
        return err_set(INFINO_ERR_CORRUPT, WHAT ": expected an object");
    if (depth == 1 && type == JSON_OBJECT)
        es->in_error = ev == JSON_BEGIN && json_key_is(key, "error");
    else if (depth == 2 && es->in_error && type == JSON_ARRAY)
        es->in_errors = ev == JSON_BEGIN && json_key_is(key, "errors");
    else if (depth == 2 && es->in_error && ev == JSON_VALUE &&
             type == JSON_STRING && json_key_is(key, "message"))
        return json_dup(&es->e->message, text, len);
    else if (depth == 4 && es->in_errors && ev == JSON_VALUE &&
             type == JSON_STRING && json_key_is(key, "reason") &&
             es->e->reason == NULL)
        return json_dup(&es->e->reason, text, len);
    return INFINO_OK;
}

void gcsjson_error_free(struct gcs_error *e)
{
    mem_free(e->message);
    mem_free(e->reason);
    memset(e, 0, sizeof *e);
}

infino_status gcsjson_parse_error(struct gcs_error *out, const char *json,
                                  size_t len)
{
    struct error_state es = {.e = out};
    infino_status st;

    memset(out, 0, sizeof *out);
    st = json_scan(json, len, WHAT, error_event, &es);
    if (st != INFINO_OK)
        gcsjson_error_free(out);
    return st;
}

/* ---- credential files ------------------------------------------------ */

struct cred_state {
    struct gcs_credentials *c;
    char *type;
};

static infino_status cred_event(void *payload, enum json_ev ev,
                                enum json_type type, int depth,
                                const char *key, const char *text, size_t len)
{
    struct cred_state *cs = payload;
    struct gcs_credentials *c = cs->c;
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"client_email", offsetof(struct gcs_credentials, client_email)},
        {"private_key", offsetof(struct gcs_credentials, private_key)},
        {"private_key_id", offsetof(struct gcs_credentials, private_key_id)},
        {"token_uri", offsetof(struct gcs_credentials, token_uri)},
        {"client_id", offsetof(struct gcs_credentials, client_id)},
        {"client_secret", offsetof(struct gcs_credentials, client_secret)},
        {"refresh_token", offsetof(struct gcs_credentials, refresh_token)},
    };

    if (depth == 0 && ev == JSON_BEGIN && type != JSON_OBJECT)
        return err_set(INFINO_ERR_INVALID,
                       "Google credentials: not a JSON object");
    if (depth != 1 || ev != JSON_VALUE || type != JSON_STRING)
        return INFINO_OK;
    if (json_key_is(key, "type"))
        return json_dup(&cs->type, text, len);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_key_is(key, fields[i].name)) {
            char **dst = (char **)((char *)c + fields[i].off);
            remote_free_secret(*dst);
            *dst = NULL;
            return json_dup(dst, text, len);
        }
    return INFINO_OK;
}

void gcsjson_credentials_free(struct gcs_credentials *c)
{
    remote_free_secret(c->client_email);
    remote_free_secret(c->private_key);
    remote_free_secret(c->private_key_id);
    remote_free_secret(c->token_uri);
    remote_free_secret(c->client_id);
    remote_free_secret(c->client_secret);
    remote_free_secret(c->refresh_token);
    memset(c, 0, sizeof *c);
}

infino_status gcsjson_parse_credentials(struct gcs_credentials *out,
                                        const char *json, size_t len)
{
    struct cred_state cs = {.c = out};
    const char *missing = NULL;
    infino_status st;

    memset(out, 0, sizeof *out);
    st = json_scan(json, len, "Google credentials", cred_event, &cs);
    if (st != INFINO_OK) {
        /* the scanner's message quotes no bytes, only an offset */
        goto done;
    }
    if (cs.type && strcmp(cs.type, "service_account") == 0) {
        out->service_account = true;
        if (out->client_email == NULL)
            missing = "client_email";
        else if (out->private_key == NULL)
            missing = "private_key";
        if (out->token_uri == NULL &&
            remote_dup(&out->token_uri,
                       "https://oauth2.googleapis.com/token") != INFINO_OK) {
            st = err_nomem();
            goto done;
        }
    } else if (cs.type && strcmp(cs.type, "authorized_user") == 0) {
        if (out->client_id == NULL)
            missing = "client_id";
        else if (out->client_secret == NULL)
            missing = "client_secret";
        else if (out->refresh_token == NULL)
            missing = "refresh_token";
        if (out->token_uri == NULL &&
            remote_dup(&out->token_uri,
                       "https://oauth2.googleapis.com/token") != INFINO_OK) {
            st = err_nomem();
            goto done;
        }
    } else {
        st = err_set(INFINO_ERR_INVALID,
                     "Google credentials: \"type\" must be service_account "
                     "or authorized_user");
        goto done;
    }
    if (missing)
        st = err_set(INFINO_ERR_INVALID,
                     "Google credentials of type %s: no \"%s\"", cs.type,
                     missing);
done:
    mem_free(cs.type);
    if (st != INFINO_OK)
        gcsjson_credentials_free(out);
    return st;
}
