/*
 * az_xml.c - Azure Blob's XML bodies (see az_xml.h).
 *
 * Shapes: "List Blobs" response body (EnumerationResults / Blobs / Blob /
 * Name and Properties / Content-Length, Last-Modified as an RFC 1123
 * date; NextMarker) and the error body of "Status and error codes"
 * (Error / Code, Message), Azure Storage REST API reference.
 */
#include "az_xml.h"

#include "xml.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

#define WHAT "Azure response"

struct list_state {
    struct az_list_page *page;
    bool in_blobs, in_blob, in_props;
    struct az_list_entry cur;
};

static infino_status list_event(void *payload, enum xml_ev ev, int depth,
                                const char *name, size_t name_len,
                                const char *text, size_t text_len)
{
    struct list_state *ls = payload;
    struct az_list_page *p = ls->page;

    if (ev == XML_START && depth == 0 &&
        !xml_name_is(name, name_len, "EnumerationResults"))
        return err_set(INFINO_ERR_CORRUPT,
                       WHAT ": expected EnumerationResults, got <%.*s>",
                       (int)name_len, name);
    if (depth == 1) {
        if (xml_name_is(name, name_len, "Blobs"))
            ls->in_blobs = ev == XML_START;
        else if (ev == XML_LEAF && xml_name_is(name, name_len, "NextMarker") &&
                 text_len > 0)
            return xml_dup_text(&p->next_marker, text, text_len);
        return INFINO_OK;
    }
    if (!ls->in_blobs)
        return INFINO_OK;
    if (depth == 2 && xml_name_is(name, name_len, "Blob")) {
        if (ev == XML_START) {
            ls->in_blob = true;
            memset(&ls->cur, 0, sizeof ls->cur);
        } else if (ev == XML_END && ls->in_blob) {
            ls->in_blob = false;
            if (ls->cur.name == NULL)
                return err_set(INFINO_ERR_CORRUPT,
                               WHAT ": a Blob without a Name");
            if (MEM_RESERVE(p->items, p->items_cap, p->n_items + 1) != 0)
                return err_nomem();
            p->items[p->n_items++] = ls->cur;
            memset(&ls->cur, 0, sizeof ls->cur);
        }
        return INFINO_OK;
    }
    if (!ls->in_blob)
        return INFINO_OK;
    if (depth == 3) {
        if (xml_name_is(name, name_len, "Properties"))
            ls->in_props = ev == XML_START;
        else if (ev == XML_LEAF && xml_name_is(name, name_len, "Name"))
            return xml_dup_text(&ls->cur.name, text, text_len);
        return INFINO_OK;
    }
    if (depth == 4 && ls->in_props && ev == XML_LEAF) {
        if (xml_name_is(name, name_len, "Content-Length"))
            return xml_parse_u64(&ls->cur.size, WHAT, text, text_len);
        if (xml_name_is(name, name_len, "Last-Modified"))
            return xml_parse_rfc1123(&ls->cur.mtime_ns, WHAT, text, text_len);
    }
    return INFINO_OK;
}

void azxml_list_free(struct az_list_page *p)
{
    for (size_t i = 0; i < p->n_items; i++)
        mem_free(p->items[i].name);
    mem_free(p->items);
    mem_free(p->next_marker);
    memset(p, 0, sizeof *p);
}

infino_status azxml_parse_list(struct az_list_page *out, const char *xml,
                               size_t len)
{
    struct list_state ls = {.page = out};
    infino_status st;

    memset(out, 0, sizeof *out);
    st = xml_scan(xml, len, WHAT, list_event, &ls);
    mem_free(ls.cur.name);
    if (st != INFINO_OK)
        azxml_list_free(out);
    return st;
}

static infino_status error_event(void *payload, enum xml_ev ev, int depth,
                                 const char *name, size_t name_len,
                                 const char *text, size_t text_len)
{
    struct az_error *e = payload;

    if (ev == XML_START && depth == 0 && !xml_name_is(name, name_len, "Error"))
        return err_set(INFINO_ERR_CORRUPT,
                       WHAT ": expected Error, got <%.*s>", (int)name_len,
                       name);
    if (ev != XML_LEAF || depth != 1)
        return INFINO_OK;
    if (xml_name_is(name, name_len, "Code"))
        return xml_dup_text(&e->code, text, text_len);
    if (xml_name_is(name, name_len, "Message")) {
        /* "text\nRequestId:...\nTime:...": the request id comes from the
         * header, the rest is noise */
        const char *nl = memchr(text, '\n', text_len);
        return xml_dup_text(&e->message, text,
                            nl ? (size_t)(nl - text) : text_len);
    }
    return INFINO_OK;
}

void azxml_error_free(struct az_error *e)
{
    mem_free(e->code);
    mem_free(e->message);
    memset(e, 0, sizeof *e);
}

infino_status azxml_parse_error(struct az_error *out, const char *xml,
                                size_t len)
{
    infino_status st;

    memset(out, 0, sizeof *out);
    st = xml_scan(xml, len, WHAT, error_event, out);
    if (st != INFINO_OK)
        azxml_error_free(out);
    return st;
}
