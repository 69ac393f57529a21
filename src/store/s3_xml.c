/*
 * s3_xml.c - the S3 bodies, on the scanner of xml.h.
 */
#include "s3_xml.h"

#include "xml.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <string.h>

#define WHAT "S3 response"

infino_status s3xml_parse_time(int64_t *out_ns, const char *s, size_t len)
{
    return xml_parse_iso8601(out_ns, WHAT, s, len);
}

/* ---- ListObjectsV2 --------------------------------------------------- */

struct list_state {
    struct s3_list_page *page;
    bool in_contents;
    struct s3_list_entry cur;
};

static infino_status list_event(void *payload, enum xml_ev ev, int depth,
                                const char *name, size_t name_len,
                                const char *text, size_t text_len)
{
    struct list_state *ls = payload;
    struct s3_list_page *p = ls->page;

    if (ev == XML_START && depth == 0 &&
        !xml_name_is(name, name_len, "ListBucketResult"))
        return err_set(INFINO_ERR_CORRUPT,
                       "S3 response: expected ListBucketResult, got <%.*s>",
                       (int)name_len, name);
    if (ev == XML_START && depth == 1 && xml_name_is(name, name_len, "Contents")) {
        ls->in_contents = true;
        memset(&ls->cur, 0, sizeof ls->cur);
        return INFINO_OK;
    }
    if (ev == XML_LEAF && depth == 1) {
        if (xml_name_is(name, name_len, "IsTruncated"))
            p->truncated = text_len == 4 && memcmp(text, "true", 4) == 0;
        else if (xml_name_is(name, name_len, "NextContinuationToken"))
            return xml_dup_text(&p->next_token, text, text_len);
        return INFINO_OK;
    }
    if (ev == XML_LEAF && depth == 2 && ls->in_contents) {
        if (xml_name_is(name, name_len, "Key"))
            return xml_dup_text(&ls->cur.key, text, text_len);
        if (xml_name_is(name, name_len, "Size"))
            return xml_parse_u64(&ls->cur.size, WHAT, text, text_len);
        if (xml_name_is(name, name_len, "LastModified"))
            return s3xml_parse_time(&ls->cur.mtime_ns, text, text_len);
        return INFINO_OK;
    }
    if (ev == XML_END && depth == 1 && ls->in_contents) {
        ls->in_contents = false;
        if (ls->cur.key == NULL)
            return err_set(INFINO_ERR_CORRUPT,
                           "S3 response: Contents without a Key");
        if (MEM_RESERVE(p->items, p->items_cap, p->n_items + 1) != 0)
            return err_nomem();
        p->items[p->n_items++] = ls->cur;
        memset(&ls->cur, 0, sizeof ls->cur);
    }
    return INFINO_OK;
}

void s3xml_list_free(struct s3_list_page *p)
{
    for (size_t i = 0; i < p->n_items; i++)
        mem_free(p->items[i].key);
    mem_free(p->items);
    mem_free(p->next_token);
    memset(p, 0, sizeof *p);
}

infino_status s3xml_parse_list(struct s3_list_page *out, const char *xml,
                               size_t len)
{
    struct list_state ls = {.page = out};
    infino_status st;

    memset(out, 0, sizeof *out);
    st = xml_scan(xml, len, WHAT, list_event, &ls);
    mem_free(ls.cur.key);
    if (st != INFINO_OK)
        s3xml_list_free(out);
    else if (out->truncated && out->next_token == NULL) {
        s3xml_list_free(out);
        st = err_set(INFINO_ERR_CORRUPT, "S3 response: a truncated listing "
                                         "without NextContinuationToken");
    }
    return st;
}

/* ---- Error and InitiateMultipartUpload -------------------------------- */

static infino_status error_event(void *payload, enum xml_ev ev, int depth,
                                 const char *name, size_t name_len,
                                 const char *text, size_t text_len)
{
    struct s3_error *e = payload;

    if (ev == XML_START && depth == 0 && !xml_name_is(name, name_len, "Error"))
        return err_set(INFINO_ERR_CORRUPT,
                       "S3 response: expected Error, got <%.*s>",
                       (int)name_len, name);
    if (ev != XML_LEAF || depth != 1)
        return INFINO_OK;
    if (xml_name_is(name, name_len, "Code"))
        return xml_dup_text(&e->code, text, text_len);
    if (xml_name_is(name, name_len, "Message"))
        return xml_dup_text(&e->message, text, text_len);
    if (xml_name_is(name, name_len, "RequestId"))
        return xml_dup_text(&e->request_id, text, text_len);
    return INFINO_OK;
}

void s3xml_error_free(struct s3_error *e)
{
    mem_free(e->code);
    mem_free(e->message);
    mem_free(e->request_id);
    memset(e, 0, sizeof *e);
}

infino_status s3xml_parse_error(struct s3_error *out, const char *xml,
                                size_t len)
{
    infino_status st;

    memset(out, 0, sizeof *out);
    st = xml_scan(xml, len, WHAT, error_event, out);
    if (st != INFINO_OK)
        s3xml_error_free(out);
    return st;
}

bool s3xml_is_error(const char *xml, size_t len)
{
    return xml_root_is(xml, len, "Error");
}

struct upload_state {
    char *id;
};

static infino_status upload_event(void *payload, enum xml_ev ev, int depth,
                                  const char *name, size_t name_len,
                                  const char *text, size_t text_len)
{
    struct upload_state *u = payload;

    if (ev == XML_START && depth == 0 &&
        !xml_name_is(name, name_len, "InitiateMultipartUploadResult"))
        return err_set(INFINO_ERR_CORRUPT,
                       "S3 response: expected InitiateMultipartUploadResult, "
                       "got <%.*s>",
                       (int)name_len, name);
    if (ev == XML_LEAF && depth == 1 && xml_name_is(name, name_len, "UploadId"))
        return xml_dup_text(&u->id, text, text_len);
    return INFINO_OK;
}

infino_status s3xml_parse_upload_id(char **out, const char *xml, size_t len)
{
    struct upload_state u = {0};
    infino_status st = xml_scan(xml, len, WHAT, upload_event, &u);

    *out = NULL;
    if (st == INFINO_OK && (u.id == NULL || *u.id == '\0'))
        st = err_set(INFINO_ERR_CORRUPT, "S3 response: no UploadId");
    if (st != INFINO_OK) {
        mem_free(u.id);
        return st;
    }
    *out = u.id;
    return INFINO_OK;
}
