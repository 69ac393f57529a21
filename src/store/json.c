/*
 * json.c - the bounded JSON scanner of json.h (grammar: RFC 8259).
 */
#include "json.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"

#include <string.h>

struct scan {
    const char *s;
    size_t len, pos;
    const char *what;
    json_fn fn;
    void *payload;
    struct buf key;  /* the member name of the value being read */
    struct buf text; /* a string value */
};

static infino_status bad(const struct scan *x, const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "%s: %s at byte %zu", x->what, what,
                   x->pos);
}

static void skip_space(struct scan *x)
{
    while (x->pos < x->len &&
           (x->s[x->pos] == ' ' || x->s[x->pos] == '\t' ||
            x->s[x->pos] == '\r' || x->s[x->pos] == '\n'))
        x->pos++;
}

static bool lit(struct scan *x, const char *word)
{
    size_t n = strlen(word);

    if (x->len - x->pos < n || memcmp(x->s + x->pos, word, n) != 0)
        return false;
    x->pos += n;
    return true;
}

static infino_status put_utf8(struct buf *b, uint32_t cp)
{
    uint8_t u[4];

    return buf_append(b, u, utf8_encode(u, cp));
}

static bool hex4(struct scan *x, uint32_t *out)
{
    uint32_t v = 0;

    if (x->len - x->pos < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        char c = x->s[x->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return false;
    }
    x->pos += 4;
    *out = v;
    return true;
}

/* RFC 8259 section 7: a string at x->pos ('"') decoded into `out`,
 * NUL-terminated (the NUL not counted in out->len). */
static infino_status string(struct scan *x, struct buf *out)
{
    infino_status st = INFINO_OK;

    buf_reset(out);
    x->pos++;
    while (st == INFINO_OK) {
        if (x->pos >= x->len)
            return bad(x, "unterminated string");
        unsigned char c = (unsigned char)x->s[x->pos];
        if (c == '"') {
            x->pos++;
            break;
        }
        if (c < 0x20)
            return bad(x, "control character in a string");
        if (c != '\\') {
            /* copy the run up to the next quote, escape or control */
            size_t from = x->pos;
            while (x->pos < x->len && x->s[x->pos] != '"' &&
                   x->s[x->pos] != '\\' &&
                   (unsigned char)x->s[x->pos] >= 0x20)
                x->pos++;
            st = buf_append(out, x->s + from, x->pos - from);
            continue;
        }
        if (x->len - x->pos < 2)
            return bad(x, "unterminated escape");
        char e = x->s[x->pos + 1];
        x->pos += 2;
        switch (e) {
        case '"': st = buf_put_u8(out, '"'); break;
        case '\\': st = buf_put_u8(out, '\\'); break;
        case '/': st = buf_put_u8(out, '/'); break;
        case 'b': st = buf_put_u8(out, '\b'); break;
        case 'f': st = buf_put_u8(out, '\f'); break;
        case 'n': st = buf_put_u8(out, '\n'); break;
        case 'r': st = buf_put_u8(out, '\r'); break;
        case 't': st = buf_put_u8(out, '\t'); break;
        case 'u': {
            uint32_t cp, lo;
            if (!hex4(x, &cp))
                return bad(x, "bad \\u escape");
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return bad(x, "lone low surrogate");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (!lit(x, "\\u") || !hex4(x, &lo) || lo < 0xdc00 ||
                    lo > 0xdfff)
                    return bad(x, "unpaired surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            st = put_utf8(out, cp);
            break;
        }
        default:
            return bad(x, "bad escape");
        }
    }
    if (st == INFINO_OK)
        st = buf_put_u8(out, 0);
    if (st == INFINO_OK)
        out->len--;
    return st;
}

static bool digit(const struct scan *x)
{
    return x->pos < x->len && x->s[x->pos] >= '0' && x->s[x->pos] <= '9';
}

/* RFC 8259 section 6. */
static infino_status number(struct scan *x, size_t *from)
{
    *from = x->pos;
    if (x->pos < x->len && x->s[x->pos] == '-')
        x->pos++;
    if (!digit(x))
        return bad(x, "bad number");
    if (x->s[x->pos] == '0')
        x->pos++;
    else
        while (digit(x))
            x->pos++;
    if (x->pos < x->len && x->s[x->pos] == '.') {
        x->pos++;
        if (!digit(x))
            return bad(x, "bad number");
        while (digit(x))
            x->pos++;
    }
    if (x->pos < x->len && (x->s[x->pos] == 'e' || x->s[x->pos] == 'E')) {
        x->pos++;
        if (x->pos < x->len && (x->s[x->pos] == '+' || x->s[x->pos] == '-'))
            x->pos++;
        if (!digit(x))
            return bad(x, "bad number");
        while (digit(x))
            x->pos++;
    }
    return INFINO_OK;
}

/* The key of the value about to be read: NULL inside arrays. */
static const char *key_of(const struct scan *x, bool in_object)
{
    return in_object ? (const char *)x->key.data : NULL;
}

static infino_status value(struct scan *x, int depth, bool in_object);

static infino_status container(struct scan *x, int depth, bool in_object,
                               bool is_object)
{
    enum json_type t = is_object ? JSON_OBJECT : JSON_ARRAY;
    char close = is_object ? '}' : ']';
    infino_status st;
    bool first = true;

    if (depth + 1 >= JSON_MAX_DEPTH)
        return bad(x, "nested too deep");
    st = x->fn(x->payload, JSON_BEGIN, t, depth, key_of(x, in_object), "", 0);
    if (st != INFINO_OK)
        return st;
    x->pos++;
    for (;;) {
        skip_space(x);
        if (x->pos >= x->len)
            return bad(x, "truncated document");
        if (x->s[x->pos] == close) {
            x->pos++;
            break;
        }
        if (!first) {
            if (x->s[x->pos] != ',')
                return bad(x, "expected ','");
            x->pos++;
            skip_space(x);
        }
        first = false;
        if (is_object) {
            if (x->pos >= x->len || x->s[x->pos] != '"')
                return bad(x, "expected a member name");
            st = string(x, &x->key);
            if (st != INFINO_OK)
                return st;
            skip_space(x);
            if (x->pos >= x->len || x->s[x->pos] != ':')
                return bad(x, "expected ':'");
            x->pos++;
        }
        st = value(x, depth + 1, is_object);
        if (st != INFINO_OK)
            return st;
    }
    /* the member name of this container was overwritten by its members:
     * END events carry no key */
    return x->fn(x->payload, JSON_END, t, depth, NULL, "", 0);
}

static infino_status value(struct scan *x, int depth, bool in_object)
{
    const char *key = key_of(x, in_object);
    enum json_type t;
    size_t from;
    infino_status st;

    skip_space(x);
    if (x->pos >= x->len)
        return bad(x, "truncated document");
    switch (x->s[x->pos]) {
    case '{':
        return container(x, depth, in_object, true);
    case '[':
        return container(x, depth, in_object, false);
    case '"':
        st = string(x, &x->text);
        if (st != INFINO_OK)
            return st;
        /* the key buffer is not touched by reading a string value */
        return x->fn(x->payload, JSON_VALUE, JSON_STRING, depth, key,
                     (const char *)x->text.data, x->text.len);
    case 't':
        t = JSON_TRUE;
        if (!lit(x, "true"))
            return bad(x, "bad literal");
        break;
    case 'f':
        t = JSON_FALSE;
        if (!lit(x, "false"))
            return bad(x, "bad literal");
        break;
    case 'n':
        t = JSON_NULL;
        if (!lit(x, "null"))
            return bad(x, "bad literal");
        break;
    default:
        st = number(x, &from);
        if (st != INFINO_OK)
            return st;
        buf_reset(&x->text);
        st = buf_append(&x->text, x->s + from, x->pos - from);
        if (st == INFINO_OK)
            st = buf_put_u8(&x->text, 0);
        if (st != INFINO_OK)
            return st;
        return x->fn(x->payload, JSON_VALUE, JSON_NUMBER, depth, key,
                     (const char *)x->text.data, x->text.len - 1);
    }
    return x->fn(x->payload, JSON_VALUE, t, depth, key, "", 0);
}

infino_status json_scan(const char *s, size_t len, const char *what,
                        json_fn fn, void *payload)
{
    struct scan x = {.s = s, .len = s ? len : 0, .what = what, .fn = fn,
                     .payload = payload};
    infino_status st;

    st = buf_put_u8(&x.key, 0); /* never NULL inside objects */
    if (st == INFINO_OK)
        st = value(&x, 0, false);
    if (st == INFINO_OK) {
        skip_space(&x);
        if (x.pos != x.len)
            st = bad(&x, "text after the document");
    }
    buf_free(&x.key);
    buf_free(&x.text);
    return st;
}

bool json_key_is(const char *key, const char *want)
{
    return key != NULL && strcmp(key, want) == 0;
}

infino_status json_dup(char **out, const char *text, size_t len)
{
    char *s = mem_strndup(text, len);

    if (s == NULL)
        return err_nomem();
    mem_free(*out);
    *out = s;
    return INFINO_OK;
}

infino_status json_parse_u64(uint64_t *out, const char *what,
                             const char *text, size_t len)
{
    uint64_t v = 0;

    if (len == 0 || len > 20)
        goto bad_number;
    for (size_t i = 0; i < len; i++) {
        uint64_t d = (uint64_t)(text[i] - '0');
        if (text[i] < '0' || text[i] > '9' || v > (UINT64_MAX - d) / 10)
            goto bad_number;
        v = v * 10 + d;
    }
    *out = v;
    return INFINO_OK;
bad_number:
    return err_set(INFINO_ERR_CORRUPT, "%s: bad number '%.*s'", what,
                   (int)(len > 32 ? 32 : len), text);
}
