/*
 * fuzz_store_json.c - the JSON scanner and the bodies built on it (GCS
 * object resources, listings, errors, Google credential files) from
 * arbitrary bytes: refused or parsed, never a crash or a leak.
 */
#include "store/gcs_json.h"
#include "store/json.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static infino_status count(void *payload, enum json_ev ev,
                           enum json_type type, int depth, const char *key,
                           const char *text, size_t len)
{
    size_t *n = payload;

    (void)ev;
    (void)type;
    (void)key;
    if (depth < 0 || depth >= JSON_MAX_DEPTH || text[len] != '\0')
        __builtin_trap();
    (*n)++;
    return INFINO_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    struct gcs_object o;
    struct gcs_list_page page;
    struct gcs_error e;
    struct gcs_credentials c;
    size_t n = 0;
    uint64_t v;

    (void)json_scan(json, size, "fuzz", count, &n);
    if (gcsjson_parse_object(&o, json, size) == INFINO_OK) {
        if (o.name == NULL)
            __builtin_trap();
        gcsjson_object_free(&o);
    }
    if (gcsjson_parse_list(&page, json, size) == INFINO_OK) {
        for (size_t i = 0; i < page.n_items; i++)
            if (page.items[i].name == NULL)
                __builtin_trap();
        gcsjson_list_free(&page);
    }
    if (gcsjson_parse_error(&e, json, size) == INFINO_OK)
        gcsjson_error_free(&e);
    if (gcsjson_parse_credentials(&c, json, size) == INFINO_OK) {
        if (c.token_uri == NULL)
            __builtin_trap();
        gcsjson_credentials_free(&c);
    }
    (void)json_parse_u64(&v, "fuzz", json, size);
    err_clear();
    return 0;
}
