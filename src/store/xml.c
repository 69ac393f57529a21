/*
 * xml.c - the bounded XML scanner of xml.h and its small helpers.
 */
#include "xml.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"

#include <string.h>

/* Times are int64 nanoseconds since 1970: years outside these overflow or
 * are nonsense from a store. */

struct frame {
    const char *name;
    size_t name_len;
    bool has_child;
};

struct scan {
    const char *s;
    size_t len, pos;
    struct frame stack[XML_MAX_DEPTH];
    int depth;
    bool root_done;
    struct buf text;
    const char *what; /* "S3 response", ... */
};

static infino_status bad(const struct scan *x, const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "%s: %s at byte %zu", x->what, what,
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

    return buf_append(b, u, utf8_encode(u, cp));
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
    if (x->depth == XML_MAX_DEPTH)
        return bad(x, "elements nested too deep");
    if (x->depth > 0)
        x->stack[x->depth - 1].has_child = true;
    x->stack[x->depth].name = name;
    x->stack[x->depth].name_len = name_len;
    x->stack[x->depth].has_child = false;
    buf_reset(&x->text);
    st = fn(payload, XML_START, x->depth, name, name_len, NULL, 0);
    if (st != INFINO_OK)
        return st;
    x->depth++;
    if (!empty)
        return INFINO_OK;
    x->depth--;
    st = fn(payload, XML_LEAF, x->depth, name, name_len, "", 0);
    if (st == INFINO_OK)
        st = fn(payload, XML_END, x->depth, name, name_len, NULL, 0);
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
            st = fn(payload, XML_LEAF, x->depth, name, name_len,
                    (const char *)x->text.data, x->text.len - 1);
    }
    if (st == INFINO_OK)
        st = fn(payload, XML_END, x->depth, name, name_len, NULL, 0);
    buf_reset(&x->text);
    if (x->depth == 0)
        x->root_done = true;
    return st;
}

infino_status xml_scan(const char *s, size_t len, const char *what,
                       xml_fn fn, void *payload)
{
    struct scan x = {.s = s, .len = len, .what = what};
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

bool xml_name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

infino_status xml_dup_text(char **out, const char *text, size_t len)
{
    char *s = mem_strndup(text, len);

    if (s == NULL)
        return err_nomem();
    mem_free(*out);
    *out = s;
    return INFINO_OK;
}

infino_status xml_parse_u64(uint64_t *out, const char *what, const char *s,
                            size_t len)
{
    uint64_t v = 0;

    if (len == 0 || len > 20)
        return err_set(INFINO_ERR_CORRUPT, "%s: bad size '%.*s'", what,
                       (int)(len > 32 ? 32 : len), s);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return err_set(INFINO_ERR_CORRUPT, "%s: bad size '%.*s'",
                           what, (int)len, s);
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return INFINO_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
int64_t xml_days_from_civil(int64_t y, int64_t m, int64_t d)
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

/* Seconds since the epoch as nanoseconds; false beyond what int64 holds
 * (years 1678 to 2261). Four-digit years keep the seconds themselves small. */
static bool civil_ns(int64_t *out_ns, int64_t y, int64_t mo, int64_t d,
                     int64_t h, int64_t mi, int64_t sec, int64_t frac)
{
    int64_t secs = xml_days_from_civil(y, mo, d) * 86400 + h * 3600 +
                   mi * 60 + sec;

    if (secs >= INT64_MAX / 1000000000 || secs <= INT64_MIN / 1000000000)
        return false;
    *out_ns = secs * 1000000000 + frac;
    return true;
}

infino_status xml_parse_iso8601(int64_t *out_ns, const char *what,
                                const char *s, size_t len)
{
    int64_t y, mo, d, h, mi, sec, frac = 0;
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
    if (i + 1 != len || s[i] != 'Z' ||
        !civil_ns(out_ns, y, mo, d, h, mi, sec, frac))
        goto bad_time;
    return INFINO_OK;
bad_time:
    return err_set(INFINO_ERR_CORRUPT, "%s: bad time '%.*s'", what,
                   (int)(len > 40 ? 40 : len), s);
}

bool xml_root_is(const char *xml, size_t len, const char *name)
{
    struct scan x = {.s = xml, .len = xml ? len : 0};
    size_t n = strlen(name);

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
    if (!at(&x, "<") || x.len - x.pos - 1 < n ||
        memcmp(x.s + x.pos + 1, name, n) != 0)
        return false;
    x.pos += 1 + n;
    return x.pos < x.len && (x.s[x.pos] == '>' || x.s[x.pos] == '/' ||
                             is_space(x.s[x.pos]));
}

/* RFC 7231 7.1.1.1: IMF-fixdate, the only form the stores send. */
infino_status xml_parse_rfc1123(int64_t *out_ns, const char *what,
                                const char *s, size_t len)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t d, y, h, mi, sec, mo = 0;

    if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
        s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
        memcmp(s + 25, " GMT", 4) != 0 || !digits(s + 5, 2, &d) ||
        !digits(s + 12, 4, &y) || !digits(s + 17, 2, &h) ||
        !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &sec))
        goto bad_time;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months + 3 * i, 3) == 0)
            mo = i + 1;
    if (mo == 0 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        !civil_ns(out_ns, y, mo, d, h, mi, sec, 0))
        goto bad_time;
    return INFINO_OK;
bad_time:
    return err_set(INFINO_ERR_CORRUPT, "%s: bad time '%.*s'", what,
                   (int)(len > 40 ? 40 : len), s);
}
