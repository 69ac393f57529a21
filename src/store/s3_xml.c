/*
 * s3_xml.c - a bounded XML scanner and the S3 bodies built on it.
 *
 * The scanner walks the bytes once and reports element starts, leaves
 * (elements without child elements, with their decoded text) and ends to a
 * callback, keeping only a stack of names (pointers into the input) and one
 * text buffer. Every read checks the remaining length first.
 */
#include "s3_xml.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <string.h>

enum xev { XEV_START, XEV_LEAF, XEV_END };

/* `depth` counts ancestors: the root element is at depth 0. `text` is
 * NUL-terminated (XEV_LEAF only). */
typedef infino_status (*xml_fn)(void *payload, enum xev ev, int depth,
                                const char *name, size_t name_len,
                                const char *text, size_t text_len);

struct frame {
    const char *name;
    size_t name_len;
    bool has_child;
};

struct scan {
    const char *s;
    size_t len, pos;
    struct frame stack[S3XML_MAX_DEPTH];
    int depth;
    bool root_done;
    struct buf text;
};

static infino_status bad(const struct scan *x, const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "S3 response: %s at byte %zu", what,
                   x->pos);
}

static bool at(const struct scan *x, const char *lit)
{
    size_t n = strlen(lit);

    return x->len - x->pos >= n && memcmp(x->s + x->pos, lit, n) == 0;
}

/* Moves past the next `lit` after the current position. */
static bool skip_past(struct scan *x, const char *lit)
{
    size_t n = strlen(lit);

    for (size_t i = x->pos; x->len - i >= n; i++) {
        if (memcmp(x->s + i, lit, n) == 0) {
            x->pos = i + n;
            return true;
        }
    }
    return false;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
           c == '.';
}

static void skip_space(struct scan *x)
{
    while (x->pos < x->len && is_space(x->s[x->pos]))
        x->pos++;
}

static size_t scan_name(struct scan *x)
{
    size_t start = x->pos;

    while (x->pos < x->len && is_name_char(x->s[x->pos]))
        x->pos++;
    return x->pos - start;
}

static infino_status put_utf8(struct buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(b, u, n);
}

/* Decodes the reference at x->pos ('&') into x->text. */
static infino_status entity(struct scan *x)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'},
                 {"apos", '\''}};
    const char *p = x->s + x->pos + 1;
    size_t avail = x->len - x->pos - 1, n = 0;
    uint32_t cp = 0;

    while (n < avail && n < 12 && p[n] != ';')
        n++;
    if (n == avail || p[n] != ';' || n == 0)
        return bad(x, "unterminated entity");
    x->pos += n + 2;
    if (p[0] != '#') {
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (strlen(named[i].name) == n &&
                memcmp(named[i].name, p, n) == 0)
                return buf_put_u8(&x->text, (uint8_t)named[i].c);
        return bad(x, "unknown entity");
    }
    if (n < 2)
        return bad(x, "empty character reference");
    bool hex = p[1] == 'x';
    size_t i = hex ? 2 : 1;
    if (i == n)
        return bad(x, "empty character reference");
    for (; i < n; i++) {
        char c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return bad(x, "bad character reference");
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10ffff)
            return bad(x, "character reference out of range");
    }
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
        return bad(x, "character reference out of range");
    return put_utf8(&x->text, cp);
}

/* Character data up to the next '<'. */
static infino_status text(struct scan *x)
{
    infino_status st = INFINO_OK;

    while (st == INFINO_OK && x->pos < x->len && x->s[x->pos] != '<') {
        char c = x->s[x->pos];
        if (x->depth == 0) {
            /* outside the root element only white space may appear */
            if (!is_space(c))
                return bad(x, "text outside the root element");
            x->pos++;
        } else if (c == '&') {
            st = entity(x);
        } else {
            st = buf_put_u8(&x->text, (uint8_t)c);
            x->pos++;
        }
    }
    return st;
}

static infino_status open_tag(struct scan *x, xml_fn fn, void *payload)
{
    const char *name;
    size_t name_len;
    bool empty = false;
    infino_status st;

    x->pos++; /* '<' */
    name = x->s + x->pos;
    name_len = scan_name(x);
    if (name_len == 0)
        return bad(x, "bad element name");
    for (;;) { /* attributes, skipped */
        skip_space(x);
        if (x->pos >= x->len)
            return bad(x, "unterminated tag");
        if (x->s[x->pos] == '>') {
            x->pos++;
            break;
        }
        if (at(x, "/>")) {
            x->pos += 2;
            empty = true;
            break;
        }
        if (scan_name(x) == 0)
            return bad(x, "bad attribute");
        skip_space(x);
        if (x->pos >= x->len || x->s[x->pos] != '=')
            return bad(x, "attribute without value");
        x->pos++;
        skip_space(x);
        if (x->pos >= x->len || (x->s[x->pos] != '"' && x->s[x->pos] != '\''))
            return bad(x, "unquoted attribute value");
        char q = x->s[x->pos++];
        const char *end = memchr(x->s + x->pos, q, x->len - x->pos);
        if (end == NULL)
            return bad(x, "unterminated attribute value");
        x->pos = (size_t)(end - x->s) + 1;
    }
    if (x->depth == 0 && x->root_done)
        return bad(x, "second root element");
    if (x->depth == S3XML_MAX_DEPTH)
        return bad(x, "elements nested too deep");
    if (x->depth > 0)
        x->stack[x->depth - 1].has_child = true;
    x->stack[x->depth].name = name;
    x->stack[x->depth].name_len = name_len;
    x->stack[x->depth].has_child = false;
    buf_reset(&x->text);
    st = fn(payload, XEV_START, x->depth, name, name_len, NULL, 0);
    if (st != INFINO_OK)
        return st;
    x->depth++;
    if (!empty)
        return INFINO_OK;
    x->depth--;
    st = fn(payload, XEV_LEAF, x->depth, name, name_len, "", 0);
    if (st == INFINO_OK)
        st = fn(payload, XEV_END, x->depth, name, name_len, NULL, 0);
    if (x->depth == 0)
        x->root_done = true;
    return st;
}

static infino_status close_tag(struct scan *x, xml_fn fn, void *payload)
{
    const char *name;
    size_t name_len;
    struct frame *f;
    infino_status st = INFINO_OK;

    x->pos += 2; /* "</" */
    name = x->s + x->pos;
    name_len = scan_name(x);
    skip_space(x);
    if (x->pos >= x->len || x->s[x->pos] != '>')
        return bad(x, "bad end tag");
    x->pos++;
    if (x->depth == 0)
        return bad(x, "end tag without start");
    f = &x->stack[x->depth - 1];
    if (f->name_len != name_len || memcmp(f->name, name, name_len) != 0)
        return bad(x, "mismatched end tag");
    x->depth--;
    if (!f->has_child) {
        st = buf_put_u8(&x->text, 0);
        if (st == INFINO_OK)
            st = fn(payload, XEV_LEAF, x->depth, name, name_len,
                    (const char *)x->text.data, x->text.len - 1);
    }
    if (st == INFINO_OK)
        st = fn(payload, XEV_END, x->depth, name, name_len, NULL, 0);
    buf_reset(&x->text);
    if (x->depth == 0)
        x->root_done = true;
    return st;
}

static infino_status scan_xml(const char *s, size_t len, xml_fn fn,
                              void *payload)
{
    struct scan x = {.s = s, .len = len};
    infino_status st = INFINO_OK;

    if (s == NULL)
        x.len = 0;
    while (st == INFINO_OK && x.pos < x.len) {
        if (x.s[x.pos] != '<') {
            st = text(&x);
        } else if (at(&x, "<?")) {
            if (!skip_past(&x, "?>"))
                st = bad(&x, "unterminated processing instruction");
        } else if (at(&x, "<!--")) {
            if (!skip_past(&x, "-->"))
                st = bad(&x, "unterminated comment");
        } else if (at(&x, "<![CDATA[")) {
            size_t from = x.pos + 9;
            if (x.depth == 0)
                st = bad(&x, "CDATA outside the root element");
            else if (!skip_past(&x, "]]>"))
                st = bad(&x, "unterminated CDATA");
            else
                st = buf_append(&x.text, x.s + from, x.pos - 3 - from);
        } else if (at(&x, "<!")) {
            st = bad(&x, "declarations are not supported");
        } else if (at(&x, "</")) {
            st = close_tag(&x, fn, payload);
        } else {
            st = open_tag(&x, fn, payload);
        }
    }
    if (st == INFINO_OK && (x.depth != 0 || !x.root_done))
        st = bad(&x, "truncated document");
    buf_free(&x.text);
    return st;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

static infino_status dup_text(char **out, const char *text, size_t len)
{
    char *s = mem_strndup(text, len);

    if (s == NULL)
        return err_nomem();
    mem_free(*out);
    *out = s;
    return INFINO_OK;
}

static infino_status parse_u64(uint64_t *out, const char *s, size_t len)
{
    uint64_t v = 0;

    if (len == 0 || len > 20)
        return err_set(INFINO_ERR_CORRUPT, "S3 response: bad size '%.*s'",
                       (int)(len > 32 ? 32 : len), s);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return err_set(INFINO_ERR_CORRUPT, "S3 response: bad size '%.*s'",
                           (int)len, s);
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return INFINO_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

infino_status s3xml_parse_time(int64_t *out_ns, const char *s, size_t len)
{
    int64_t y, mo, d, h, mi, sec, frac = 0, secs;
    size_t i = 19;

    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) ||
        !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || sec > 60)
        goto bad_time;
    if (s[i] == '.') {
        int64_t scale = 100000000;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i + 1 != len || s[i] != 'Z')
        goto bad_time;
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    /* nanoseconds since the epoch hold years 1678 to 2261 */
    if (secs >= INT64_MAX / 1000000000 || secs <= INT64_MIN / 1000000000)
        goto bad_time;
    *out_ns = secs * 1000000000 + frac;
    return INFINO_OK;
bad_time:
    return err_set(INFINO_ERR_CORRUPT, "S3 response: bad time '%.*s'",
                   (int)(len > 40 ? 40 : len), s);
}

/* ---- ListObjectsV2 --------------------------------------------------- */

struct list_state {
    struct s3_list_page *page;
    bool in_contents;
    struct s3_list_entry cur;
};

static infino_status list_event(void *payload, enum xev ev, int depth,
                                const char *name, size_t name_len,
                                const char *text, size_t text_len)
{
    struct list_state *ls = payload;
    struct s3_list_page *p = ls->page;

    if (ev == XEV_START && depth == 0 &&
        !name_is(name, name_len, "ListBucketResult"))
        return err_set(INFINO_ERR_CORRUPT,
                       "S3 response: expected ListBucketResult, got <%.*s>",
                       (int)name_len, name);
    if (ev == XEV_START && depth == 1 && name_is(name, name_len, "Contents")) {
        ls->in_contents = true;
        memset(&ls->cur, 0, sizeof ls->cur);
        return INFINO_OK;
    }
    if (ev == XEV_LEAF && depth == 1) {
        if (name_is(name, name_len, "IsTruncated"))
            p->truncated = text_len == 4 && memcmp(text, "true", 4) == 0;
        else if (name_is(name, name_len, "NextContinuationToken"))
            return dup_text(&p->next_token, text, text_len);
        return INFINO_OK;
    }
    if (ev == XEV_LEAF && depth == 2 && ls->in_contents) {
        if (name_is(name, name_len, "Key"))
            return dup_text(&ls->cur.key, text, text_len);
        if (name_is(name, name_len, "Size"))
            return parse_u64(&ls->cur.size, text, text_len);
        if (name_is(name, name_len, "LastModified"))
            return s3xml_parse_time(&ls->cur.mtime_ns, text, text_len);
        return INFINO_OK;
    }
    if (ev == XEV_END && depth == 1 && ls->in_contents) {
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
    st = scan_xml(xml, len, list_event, &ls);
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

static infino_status error_event(void *payload, enum xev ev, int depth,
                                 const char *name, size_t name_len,
                                 const char *text, size_t text_len)
{
    struct s3_error *e = payload;

    if (ev == XEV_START && depth == 0 && !name_is(name, name_len, "Error"))
        return err_set(INFINO_ERR_CORRUPT,
                       "S3 response: expected Error, got <%.*s>",
                       (int)name_len, name);
    if (ev != XEV_LEAF || depth != 1)
        return INFINO_OK;
    if (name_is(name, name_len, "Code"))
        return dup_text(&e->code, text, text_len);
    if (name_is(name, name_len, "Message"))
        return dup_text(&e->message, text, text_len);
    if (name_is(name, name_len, "RequestId"))
        return dup_text(&e->request_id, text, text_len);
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
    st = scan_xml(xml, len, error_event, out);
    if (st != INFINO_OK)
        s3xml_error_free(out);
    return st;
}

bool s3xml_is_error(const char *xml, size_t len)
{
    struct scan x = {.s = xml, .len = xml ? len : 0};

    for (;;) {
        skip_space(&x);
        if (at(&x, "<?")) {
            if (!skip_past(&x, "?>"))
                return false;
        } else if (at(&x, "<!--")) {
            if (!skip_past(&x, "-->"))
                return false;
        } else {
            break;
        }
    }
    if (!at(&x, "<Error"))
        return false;
    x.pos += 6;
    return x.pos < x.len && (x.s[x.pos] == '>' || x.s[x.pos] == '/' ||
                             is_space(x.s[x.pos]));
}

struct upload_state {
    char *id;
};

static infino_status upload_event(void *payload, enum xev ev, int depth,
                                  const char *name, size_t name_len,
                                  const char *text, size_t text_len)
{
    struct upload_state *u = payload;

    if (ev == XEV_START && depth == 0 &&
        !name_is(name, name_len, "InitiateMultipartUploadResult"))
        return err_set(INFINO_ERR_CORRUPT,
                       "S3 response: expected InitiateMultipartUploadResult, "
                       "got <%.*s>",
                       (int)name_len, name);
    if (ev == XEV_LEAF && depth == 1 && name_is(name, name_len, "UploadId"))
        return dup_text(&u->id, text, text_len);
    return INFINO_OK;
}

infino_status s3xml_parse_upload_id(char **out, const char *xml, size_t len)
{
    struct upload_state u = {0};
    infino_status st = scan_xml(xml, len, upload_event, &u);

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
