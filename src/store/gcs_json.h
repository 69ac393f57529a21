/*
 * gcs_json.h - the JSON bodies the GCS backend reads: object resources
 * (objects.get, uploads), objects.list pages, error bodies, and Google
 * credential files (service-account keys, gcloud's authorized-user files).
 *
 * Read with the bounded scanner of json.h; malformed input is
 * INFINO_ERR_CORRUPT, never an out-of-bounds read (fuzz/fuzz_store_json.c).
 * Credential files are secrets: no message quotes their content.
 */
#ifndef INFINO_STORE_GCS_JSON_H
#define INFINO_STORE_GCS_JSON_H

#include "infino.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One object resource (JSON API "Objects" resource). */
struct gcs_object {
    char *name;        /* owned */
    uint64_t size;
    int64_t mtime_ns;  /* "updated" */
    uint64_t generation;
};

/* Parses an object resource. *out owns its name (gcsjson_object_free). */
infino_status gcsjson_parse_object(struct gcs_object *out, const char *json,
                                   size_t len);
void gcsjson_object_free(struct gcs_object *o); /* zeroed is fine */

/* One objects.list page. A zeroed struct is empty. */
struct gcs_list_page {
    struct gcs_object *items; /* owned */
    size_t n_items, items_cap;
    char *next_token; /* owned: nextPageToken, or NULL on the last page */
};
infino_status gcsjson_parse_list(struct gcs_list_page *out, const char *json,
                                 size_t len);
void gcsjson_list_free(struct gcs_list_page *p); /* zeroed is fine */

/* {"error": {"code": 412, "message": "...", "errors": [{"reason": ...}]}}
 * Fields absent stay NULL. */
struct gcs_error {
    char *message; /* owned or NULL */
    char *reason;  /* owned or NULL: the first errors[].reason */
};
infino_status gcsjson_parse_error(struct gcs_error *out, const char *json,
                                  size_t len);
void gcsjson_error_free(struct gcs_error *e); /* zeroed is fine */

/* A credentials file: "service_account" (client_email, private_key,
 * private_key_id, token_uri) or "authorized_user" (client_id,
 * client_secret, refresh_token). Every field owned or NULL. */
struct gcs_credentials {
    bool service_account; /* else authorized_user */
    char *client_email;
    char *private_key; /* PEM */
    char *private_key_id;
    char *token_uri;
    char *client_id;
    char *client_secret;
    char *refresh_token;
};
/* Checks that the fields the type needs are there; messages name fields,
 * never values. */
infino_status gcsjson_parse_credentials(struct gcs_credentials *out,
                                        const char *json, size_t len);
void gcsjson_credentials_free(struct gcs_credentials *c); /* wipes */

#endif
