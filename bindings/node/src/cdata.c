/*
 * cdata.c - Arrow C Data Interface structures from JavaScript descriptions,
 * and result streams packed for JavaScript (see cdata.h for the design).
 *
 * Spec: "The Arrow C data interface" (format strings, buffer order, release
 * and move semantics) and "Arrow Columnar Format" (buffer sizes per type).
 * The C interface carries no buffer sizes; both directions derive them from
 * the format, the length and the offset, and the import checks that every
 * JavaScript buffer holds at least that many bytes before copying.
 */
#include "cdata.h"

#include "args.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- layouts ----------------------------------------------------------- */

enum node_kind {
    K_NULL,   /* "n": no buffers */
    K_BITS,   /* "b": validity, bit-packed values */
    K_FIXED,  /* validity, `width` bytes per value */
    K_VAR32,  /* validity, int32 offsets, bytes */
    K_VAR64,  /* validity, int64 offsets, bytes */
    K_LIST32, /* validity, int32 offsets; one child */
    K_LIST64, /* validity, int64 offsets; one child */
    K_FSL,    /* validity; one child of `width` values per slot */
    K_STRUCT, /* validity; any children */
};

struct layout {
    enum node_kind kind;
    int n_buffers;
    int64_t width;
};

/* Parses the decimal digits at *p (no sign); -1 when none or too large. */
static int64_t parse_count(const char **p)
{
    int64_t v = 0;

    if (**p < '0' || **p > '9')
        return -1;
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (*(*p)++ - '0');
        if (v > INT32_MAX)
            return -1;
    }
    return v;
}

/* The layout of format `fmt`, or -1 for a format this module does not
 * know (the engine names the type in its own error for formats it knows
 * but refuses). */
static int layout_of(const char *fmt, struct layout *out)
{
    static const struct {
        const char *fmt;
        int64_t width;
    } fixed[] = {
        {"c", 1},   {"C", 1},   {"s", 2},   {"S", 2},   {"e", 2},
        {"i", 4},   {"I", 4},   {"f", 4},   {"l", 8},   {"L", 8},
        {"g", 8},   {"tdD", 4}, {"tdm", 8}, {"tts", 4}, {"ttm", 4},
        {"ttu", 8}, {"ttn", 8}, {"tDs", 8}, {"tDm", 8}, {"tDu", 8},
        {"tDn", 8}, {"tiM", 4}, {"tiD", 8}, {"tin", 16},
    };
    const char *p;

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(fmt, fixed[i].fmt) == 0) {
            *out = (struct layout){K_FIXED, 2, fixed[i].width};
            return 0;
        }
    }
    if (strcmp(fmt, "n") == 0) {
        *out = (struct layout){K_NULL, 0, 0};
    } else if (strcmp(fmt, "b") == 0) {
        *out = (struct layout){K_BITS, 2, 0};
    } else if (strcmp(fmt, "u") == 0 || strcmp(fmt, "z") == 0) {
        *out = (struct layout){K_VAR32, 3, 0};
    } else if (strcmp(fmt, "U") == 0 || strcmp(fmt, "Z") == 0) {
        *out = (struct layout){K_VAR64, 3, 0};
    } else if (strcmp(fmt, "+l") == 0) {
        *out = (struct layout){K_LIST32, 2, 0};
    } else if (strcmp(fmt, "+L") == 0) {
        *out = (struct layout){K_LIST64, 2, 0};
    } else if (strcmp(fmt, "+s") == 0) {
        *out = (struct layout){K_STRUCT, 1, 0};
    } else if (strncmp(fmt, "ts", 2) == 0 && fmt[2] != '\0' &&
               strchr("smun", fmt[2]) != NULL && fmt[3] == ':') {
        *out = (struct layout){K_FIXED, 2, 8};
    } else if (strncmp(fmt, "+w:", 3) == 0) {
        int64_t n;
        p = fmt + 3;
        if ((n = parse_count(&p)) < 0 || *p != '\0')
            return -1;
        *out = (struct layout){K_FSL, 1, n};
    } else if (strncmp(fmt, "w:", 2) == 0) {
        int64_t n;
        p = fmt + 2;
        if ((n = parse_count(&p)) < 0 || *p != '\0')
            return -1;
        *out = (struct layout){K_FIXED, 2, n};
    } else if (strncmp(fmt, "d:", 2) == 0) {
        /* "d:P,S" or "d:P,S,W", W in bits (128 by default) */
        int64_t bits = 128;
        p = fmt + 2;
        if (parse_count(&p) < 0 || *p++ != ',')
            return -1;
        if (*p == '-')
            p++;
        if (parse_count(&p) < 0)
            return -1;
        if (*p == ',') {
            p++;
            if ((bits = parse_count(&p)) < 0 || bits % 8 != 0)
                return -1;
        }
        if (*p != '\0')
            return -1;
        *out = (struct layout){K_FIXED, 2, bits / 8};
    } else {
        return -1;
    }
    return 0;
}

/* Bytes of validity or bool bits for `end` slots. */
static int64_t bits_len(int64_t end)
{
    return end / 8 + (end % 8 != 0);
}

static int64_t load_offset(const void *buf, bool wide, int64_t i)
{
    if (wide) {
        int64_t v;
        memcpy(&v, (const uint8_t *)buf + i * 8, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, (const uint8_t *)buf + i * 4, 4);
    return v;
}

/* Byte sizes of the buffers of a node of layout `L` covering slots
 * [0, end), given the offsets buffer `offsets` (when the layout has one;
 * its size is checked by the caller first). Returns -1 on overflow or on a
 * negative last offset. size[1] must be known before size[2] is asked:
 * call with i in order. */
static int64_t buffer_len(const struct layout *L, int i, int64_t end,
                          const void *offsets, bool present)
{
    if (!present)
        return 0;
    if (i == 0)
        return bits_len(end);
    switch (L->kind) {
    case K_BITS:
        return bits_len(end);
    case K_FIXED:
        if (L->width != 0 && end > INT64_MAX / L->width)
            return -1;
        return end * L->width;
    case K_VAR32:
    case K_LIST32:
        if (i == 1)
            return (end + 1) * 4;
        return offsets == NULL ? 0 : load_offset(offsets, false, end);
    case K_VAR64:
    case K_LIST64:
        if (i == 1)
            return (end + 1) * 8;
        return offsets == NULL ? 0 : load_offset(offsets, true, end);
    default:
        return 0;
    }
}

/* ---- a growable byte buffer ------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_reserve(struct sbuf *b, size_t extra)
{
    size_t cap;
    char *np;

    if (b->oom || b->len + extra + 1 <= b->cap)
        return;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = true;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* A JSON string literal of the n bytes at s. Bytes >= 0x80 pass through
 * (UTF-8; invalid sequences become U+FFFD when JavaScript decodes). */
static void sb_json_str(struct sbuf *b, const char *s, size_t n)
{
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* ---- schemas to JSON ---------------------------------------------------- */

/* {"n": name, "f": format, "fl": flags, "m": [[k, v], ...], "c": [...],
 *  "d": dictionary}; "m", "c" and "d" only when present. */
static int schema_json(struct sbuf *b, const struct ArrowSchema *s, int depth,
                       char *err, size_t cap)
{
    char num[32];

    if (depth > 64) {
        set_err(err, cap, "schema nested too deeply");
        return -1;
    }
    if (s->format == NULL) {
        set_err(err, cap, "schema without a format");
        return -1;
    }
    sb_puts(b, "{\"n\":");
    sb_json_str(b, s->name ? s->name : "", s->name ? strlen(s->name) : 0);
    sb_puts(b, ",\"f\":");
    sb_json_str(b, s->format, strlen(s->format));
    snprintf(num, sizeof num, ",\"fl\":%lld", (long long)s->flags);
    sb_puts(b, num);
    if (s->metadata != NULL) {
        /* int32 count, then (int32 length, bytes) for each key and value */
        const char *p = s->metadata;
        int32_t n, len;
        memcpy(&n, p, 4);
        p += 4;
        sb_puts(b, ",\"m\":[");
        for (int32_t i = 0; i < n; i++) {
            sb_puts(b, i ? ",[" : "[");
            memcpy(&len, p, 4);
            p += 4;
            if (len < 0)
                len = 0;
            sb_json_str(b, p, (size_t)len);
            p += len;
            sb_puts(b, ",");
            memcpy(&len, p, 4);
            p += 4;
            if (len < 0)
                len = 0;
            sb_json_str(b, p, (size_t)len);
            p += len;
            sb_puts(b, "]");
        }
        sb_puts(b, "]");
    }
    if (s->n_children > 0) {
        sb_puts(b, ",\"c\":[");
        for (int64_t i = 0; i < s->n_children; i++) {
            if (i)
                sb_puts(b, ",");
            if (schema_json(b, s->children[i], depth + 1, err, cap) != 0)
                return -1;
        }
        sb_puts(b, "]");
    }
    if (s->dictionary != NULL) {
        sb_puts(b, ",\"d\":");
        if (schema_json(b, s->dictionary, depth + 1, err, cap) != 0)
            return -1;
    }
    sb_puts(b, "}");
    return 0;
}

int cdata_schema_json(char **out, size_t *len_out,
                      const struct ArrowSchema *schema, char *err,
                      size_t errcap)
{
    struct sbuf b = {0};

    if (schema_json(&b, schema, 0, err, errcap) != 0 || b.oom) {
        if (b.oom)
            set_err(err, errcap, "out of memory");
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len_out = b.len;
    return 0;
}

/* ---- packing result batches -------------------------------------------- */

/* Walks array `a` of schema `s` twice: once counting layout words and
 * data bytes (out == NULL), once writing them. */
struct pack {
    double *words;  /* layout, or NULL while measuring */
    uint8_t *data;  /* block base, or NULL while measuring */
    size_t n_words; /* words so far */
    size_t n_bytes; /* data bytes so far, from the start of the data part */
    size_t data_start;
};

static int pack_node(struct pack *pk, const struct ArrowSchema *s,
                     const struct ArrowArray *a, int depth, char *err,
                     size_t cap)
{
    struct layout L;
    int64_t end;
    const void *offsets = NULL;

    if (depth > 64) {
        set_err(err, cap, "result nested too deeply");
        return -1;
    }
    if (layout_of(s->format, &L) != 0) {
        set_err(err, cap, "column '%s': unsupported result type '%s'",
                s->name ? s->name : "", s->format);
        return -1;
    }
    if (s->dictionary != NULL || a->dictionary != NULL ||
        a->n_buffers != L.n_buffers || a->n_children != s->n_children ||
        a->length < 0 || a->offset < 0 || a->length > INT64_MAX - a->offset) {
        set_err(err, cap, "column '%s': malformed result array",
                s->name ? s->name : "");
        return -1;
    }
    end = a->offset + a->length;
    if (pk->words != NULL) {
        pk->words[pk->n_words + 0] = (double)a->length;
        pk->words[pk->n_words + 1] = (double)a->null_count;
        pk->words[pk->n_words + 2] = (double)a->offset;
        pk->words[pk->n_words + 3] = (double)L.n_buffers;
    }
    pk->n_words += 4;
    for (int i = 0; i < L.n_buffers; i++) {
        const void *src = a->buffers[i];
        int64_t len = buffer_len(&L, i, end, offsets, src != NULL);
        if (len < 0) {
            set_err(err, cap, "column '%s': malformed result array",
                    s->name ? s->name : "");
            return -1;
        }
        if (i == 1 && (L.kind == K_VAR32 || L.kind == K_VAR64 ||
                       L.kind == K_LIST32 || L.kind == K_LIST64))
            offsets = src;
        if (pk->words != NULL) {
            pk->words[pk->n_words] =
                src ? (double)(pk->data_start + pk->n_bytes) : -1.0;
            pk->words[pk->n_words + 1] = (double)len;
            if (len > 0)
                memcpy(pk->data + pk->data_start + pk->n_bytes, src,
                       (size_t)len);
        }
        pk->n_words += 2;
        if (src != NULL)
            pk->n_bytes += ((size_t)len + 7) & ~(size_t)7;
    }
    if (pk->words != NULL)
        pk->words[pk->n_words] = (double)a->n_children;
    pk->n_words += 1;
    for (int64_t i = 0; i < a->n_children; i++) {
        if (pack_node(pk, s->children[i], a->children[i], depth + 1, err,
                      cap) != 0)
            return -1;
    }
    return 0;
}

/* One block: word 0 holds the number of layout words that follow; the
 * data part starts at the next multiple of 8 bytes (it always does:
 * words are 8 bytes). */
static int pack_batch(struct packed_batch *out, const struct ArrowSchema *s,
                      const struct ArrowArray *a, char *err, size_t cap)
{
    struct pack pk = {0};
    size_t n_words, total;

    pk.n_words = 1;
    if (pack_node(&pk, s, a, 0, err, cap) != 0)
        return -1;
    n_words = pk.n_words;
    total = n_words * 8 + pk.n_bytes;
    out->bytes = malloc(total ? total : 1);
    if (out->bytes == NULL) {
        set_err(err, cap, "out of memory");
        return -1;
    }
    out->len = total;
    pk = (struct pack){0};
    pk.words = (double *)out->bytes;
    pk.data = out->bytes;
    pk.data_start = n_words * 8;
    pk.words[0] = (double)(n_words - 1);
    pk.n_words = 1;
    if (pack_node(&pk, s, a, 0, err, cap) != 0) {
        free(out->bytes);
        out->bytes = NULL;
        return -1;
    }
    return 0;
}

void cdata_packed_free(struct packed_result *r)
{
    if (r == NULL)
        return;
    free(r->schema_json);
    for (size_t i = 0; i < r->n_batches; i++)
        free(r->batches[i].bytes);
    free(r->batches);
    memset(r, 0, sizeof *r);
}

int cdata_pack_stream(struct packed_result *out, struct ArrowArrayStream *s,
                      char *err, size_t errcap)
{
    struct ArrowSchema schema = {0};
    struct ArrowArray batch = {0};
    struct packed_result r = {0};
    size_t cap = 0;

    if (s->get_schema(s, &schema) != 0) {
        const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
        set_err(err, errcap, "%s", m ? m : "reading the result's schema");
        goto fail;
    }
    if (cdata_schema_json(&r.schema_json, &r.schema_len, &schema, err,
                          errcap) != 0)
        goto fail;
    for (;;) {
        if (s->get_next(s, &batch) != 0) {
            const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
            set_err(err, errcap, "%s", m ? m : "reading a result batch");
            goto fail;
        }
        if (batch.release == NULL)
            break;
        if (r.n_batches == cap) {
            size_t ncap = cap ? cap * 2 : 1;
            struct packed_batch *nb =
                realloc(r.batches, ncap * sizeof *nb);
            if (nb == NULL) {
                set_err(err, errcap, "out of memory");
                goto fail;
            }
            r.batches = nb;
            cap = ncap;
        }
        if (pack_batch(&r.batches[r.n_batches], &schema, &batch, err,
                       errcap) != 0)
            goto fail;
        r.n_batches++;
        batch.release(&batch);
    }
    schema.release(&schema);
    s->release(s);
    *out = r;
    return 0;
fail:
    if (batch.release != NULL)
        batch.release(&batch);
    if (schema.release != NULL)
        schema.release(&schema);
    if (s->release != NULL)
        s->release(s);
    cdata_packed_free(&r);
    return -1;
}

/* ---- imports: schemas -------------------------------------------------- */

struct schema_priv {
    char *format, *name, *metadata;
    struct ArrowSchema **children; /* each malloc'ed */
    struct ArrowSchema *dictionary;
};

static void release_schema(struct ArrowSchema *s)
{
    struct schema_priv *p = s->private_data;

    if (s->release == NULL)
        return;
    for (int64_t i = 0; p && i < s->n_children; i++) {
        if (p->children[i] != NULL) {
            if (p->children[i]->release != NULL)
                p->children[i]->release(p->children[i]);
            free(p->children[i]);
        }
    }
    if (p && p->dictionary != NULL) {
        if (p->dictionary->release != NULL)
            p->dictionary->release(p->dictionary);
        free(p->dictionary);
    }
    if (p) {
        free(p->children);
        free(p->format);
        free(p->name);
        free(p->metadata);
        free(p);
    }
    s->release = NULL;
}

/* An empty schema node that release_schema frees; NULL on OOM. */
static struct schema_priv *schema_start(struct ArrowSchema *out)
{
    struct schema_priv *p = calloc(1, sizeof *p);

    memset(out, 0, sizeof *out);
    if (p == NULL)
        return NULL;
    out->private_data = p;
    out->release = release_schema;
    return p;
}

/* Encodes [[key, value], ...] as the C interface's metadata bytes. */
static napi_status import_metadata(napi_env env, napi_value v, char **out)
{
    int64_t n = arg_array_len(env, v, "metadata");
    size_t cap = 4, len = 4;
    char *buf;

    *out = NULL;
    if (n < 0)
        return napi_pending_exception;
    if (n == 0)
        return napi_ok;
    buf = malloc(cap);
    if (buf == NULL)
        return arg_throw(env, false, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        napi_value pair, kv;
        int64_t n_pair;
        napi_get_element(env, v, (uint32_t)i, &pair);
        n_pair = arg_array_len(env, pair, "a metadata entry");
        if (n_pair != 2) {
            free(buf);
            if (n_pair >= 0)
                return arg_throw(env, true,
                                 "a metadata entry must be [key, value]");
            return napi_pending_exception;
        }
        for (uint32_t j = 0; j < 2; j++) {
            char *s;
            size_t sl;
            int32_t l32;
            napi_get_element(env, pair, j, &kv);
            if (arg_str(env, kv, "metadata keys and values", false, &s) !=
                napi_ok) {
                free(buf);
                return napi_pending_exception;
            }
            sl = strlen(s);
            if (len + 4 + sl > cap) {
                char *nb;
                while (len + 4 + sl > cap)
                    cap *= 2;
                nb = realloc(buf, cap);
                if (nb == NULL) {
                    free(s);
                    free(buf);
                    return arg_throw(env, false, "out of memory");
                }
                buf = nb;
            }
            l32 = (int32_t)sl;
            memcpy(buf + len, &l32, 4);
            memcpy(buf + len + 4, s, sl);
            len += 4 + sl;
            free(s);
        }
    }
    int32_t n32 = (int32_t)n;
    memcpy(buf, &n32, 4);
    *out = buf;
    return napi_ok;
}

static napi_status import_schema_node(napi_env env, napi_value desc,
                                      struct ArrowSchema *out, int depth)
{
    struct schema_priv *p = schema_start(out);
    napi_value children, md, dict;
    int64_t flags, n = 0;

    if (p == NULL)
        return arg_throw(env, false, "out of memory");
    if (depth > 64) {
        arg_throw(env, false, "schema nested too deeply");
        goto fail;
    }
    if (arg_nullish(env, desc)) {
        arg_throw(env, true, "schema description must be an object");
        goto fail;
    }
    if (arg_str(env, arg_prop(env, desc, "format"), "format", false, &p->format) !=
            napi_ok ||
        arg_str(env, arg_prop(env, desc, "name"), "name", true, &p->name) !=
            napi_ok ||
        arg_int(env, arg_prop(env, desc, "flags"), "flags", 0, 0, &flags) !=
            napi_ok)
        goto fail;
    out->format = p->format;
    out->name = p->name;
    out->flags = flags;
    md = arg_prop(env, desc, "metadata");
    if (md == NULL)
        goto fail;
    if (!arg_nullish(env, md)) {
        if (import_metadata(env, md, &p->metadata) != napi_ok)
            goto fail;
        out->metadata = p->metadata;
    }
    children = arg_prop(env, desc, "children");
    if (children == NULL)
        goto fail;
    if (!arg_nullish(env, children) &&
        (n = arg_array_len(env, children, "children")) < 0)
        goto fail;
    if (n > 0) {
        p->children = calloc((size_t)n, sizeof *p->children);
        if (p->children == NULL) {
            arg_throw(env, false, "out of memory");
            goto fail;
        }
        out->n_children = n;
        out->children = p->children;
        for (int64_t i = 0; i < n; i++) {
            napi_value c;
            p->children[i] = calloc(1, sizeof **p->children);
            if (p->children[i] == NULL) {
                arg_throw(env, false, "out of memory");
                goto fail;
            }
            napi_get_element(env, children, (uint32_t)i, &c);
            if (import_schema_node(env, c, p->children[i], depth + 1) !=
                napi_ok)
                goto fail;
        }
    }
    dict = arg_prop(env, desc, "dictionary");
    if (dict == NULL)
        goto fail;
    if (!arg_nullish(env, dict)) {
        p->dictionary = calloc(1, sizeof *p->dictionary);
        if (p->dictionary == NULL) {
            arg_throw(env, false, "out of memory");
            goto fail;
        }
        out->dictionary = p->dictionary;
        if (import_schema_node(env, dict, p->dictionary, depth + 1) !=
            napi_ok)
            goto fail;
    }
    return napi_ok;
fail:
    release_schema(out);
    return napi_pending_exception;
}

napi_status cdata_import_schema(napi_env env, napi_value desc,
                                struct ArrowSchema *out)
{
    return import_schema_node(env, desc, out, 0);
}

/* A deep copy of a schema this module built (for get_schema, which hands
 * the consumer a schema of its own). */
static int copy_schema(struct ArrowSchema *out, const struct ArrowSchema *in)
{
    struct schema_priv *p = schema_start(out);

    if (p == NULL)
        return -1;
    p->format = strdup(in->format);
    p->name = in->name ? strdup(in->name) : NULL;
    if (p->format == NULL || (in->name && p->name == NULL))
        goto fail;
    out->format = p->format;
    out->name = p->name;
    out->flags = in->flags;
    if (in->metadata != NULL) {
        const char *q = in->metadata;
        int32_t n, l;
        size_t len = 4;
        memcpy(&n, q, 4);
        for (int32_t i = 0; i < 2 * n; i++) {
            memcpy(&l, q + len, 4);
            len += 4 + (size_t)l;
        }
        p->metadata = malloc(len);
        if (p->metadata == NULL)
            goto fail;
        memcpy(p->metadata, in->metadata, len);
        out->metadata = p->metadata;
    }
    if (in->n_children > 0) {
        p->children = calloc((size_t)in->n_children, sizeof *p->children);
        if (p->children == NULL)
            goto fail;
        out->n_children = in->n_children;
        out->children = p->children;
        for (int64_t i = 0; i < in->n_children; i++) {
            p->children[i] = calloc(1, sizeof **p->children);
            if (p->children[i] == NULL ||
                copy_schema(p->children[i], in->children[i]) != 0)
                goto fail;
        }
    }
    if (in->dictionary != NULL) {
        p->dictionary = calloc(1, sizeof *p->dictionary);
        if (p->dictionary == NULL ||
            copy_schema(p->dictionary, in->dictionary) != 0)
            goto fail;
        out->dictionary = p->dictionary;
    }
    return 0;
fail:
    release_schema(out);
    return -1;
}

/* ---- imports: arrays --------------------------------------------------- */

struct array_priv {
    void **buffers; /* each malloc'ed (NULL for absent) */
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
};

static void release_array(struct ArrowArray *a)
{
    struct array_priv *p = a->private_data;

    if (a->release == NULL)
        return;
    for (int64_t i = 0; p && i < a->n_children; i++) {
        if (p->children[i] != NULL) {
            if (p->children[i]->release != NULL)
                p->children[i]->release(p->children[i]);
            free(p->children[i]);
        }
    }
    if (p && p->dictionary != NULL) {
        if (p->dictionary->release != NULL)
            p->dictionary->release(p->dictionary);
        free(p->dictionary);
    }
    for (int64_t i = 0; p && p->buffers && i < a->n_buffers; i++)
        free(p->buffers[i]);
    if (p) {
        free(p->buffers);
        free(p->children);
        free(p);
    }
    a->release = NULL;
}

/* The column a node belongs to, for messages: the top-level field. */
static const char *col_name(const char *column)
{
    return column ? column : "";
}

static napi_status import_array_node(napi_env env, napi_value desc,
                                     const struct ArrowSchema *s,
                                     struct ArrowArray *out,
                                     const char *column, int depth)
{
    struct array_priv *p = calloc(1, sizeof *p);
    struct layout L;
    napi_value bufs, children, dict;
    int64_t length, null_count, offset, end, n;
    const void *offsets = NULL;

    memset(out, 0, sizeof *out);
    if (p == NULL)
        return arg_throw(env, false, "out of memory");
    out->private_data = p;
    out->release = release_array;
    if (depth > 64 || arg_nullish(env, desc)) {
        arg_throw(env, true, "column '%s': bad array description",
                      col_name(column));
        goto fail;
    }
    if (layout_of(s->format, &L) != 0) {
        arg_throw(env, false, "column '%s': unsupported Arrow format '%s'",
                      col_name(column), s->format);
        goto fail;
    }
    if (arg_int(env, arg_prop(env, desc, "length"), "length", 0, 0, &length) !=
            napi_ok ||
        arg_int(env, arg_prop(env, desc, "nullCount"), "nullCount", -1, -1,
                &null_count) != napi_ok ||
        arg_int(env, arg_prop(env, desc, "offset"), "offset", 0, 0, &offset) !=
            napi_ok)
        goto fail;
    end = offset + length; /* both <= 2^53 */
    out->length = length;
    out->null_count = null_count;
    out->offset = offset;

    bufs = arg_prop(env, desc, "buffers");
    if (bufs == NULL || (n = arg_array_len(env, bufs, "buffers")) < 0)
        goto fail;
    if (n != L.n_buffers) {
        arg_throw(env, false,
                      "column '%s': %lld buffers given, type '%s' has %d",
                      col_name(column), (long long)n, s->format, L.n_buffers);
        goto fail;
    }
    if (n > 0) {
        p->buffers = calloc((size_t)n, sizeof *p->buffers);
        if (p->buffers == NULL) {
            arg_throw(env, false, "out of memory");
            goto fail;
        }
    }
    out->n_buffers = n;
    out->buffers = (const void **)p->buffers;
    for (int64_t i = 0; i < n; i++) {
        napi_value b;
        const uint8_t *data = NULL;
        size_t have = 0;
        int64_t need;
        napi_get_element(env, bufs, (uint32_t)i, &b);
        if (!arg_nullish(env, b) &&
            arg_bytes(env, b, "a buffer", &data, &have) != napi_ok)
            goto fail;
        if (data == NULL && have == 0 && !arg_nullish(env, b))
            data = (const uint8_t *)""; /* an empty view is present */
        need = buffer_len(&L, (int)i, end, offsets, data != NULL);
        if (need < 0 || (uint64_t)need > have) {
            arg_throw(env, false,
                          "column '%s': buffer %lld holds %zu bytes, %lld "
                          "needed for %lld values",
                          col_name(column), (long long)i, have,
                          (long long)need, (long long)length);
            goto fail;
        }
        if (data == NULL) {
            if (i > 0 && end > 0 &&
                !(i == 2 && (L.kind == K_VAR32 || L.kind == K_VAR64))) {
                arg_throw(env, false, "column '%s': buffer %lld missing",
                              col_name(column), (long long)i);
                goto fail;
            }
            continue;
        }
        p->buffers[i] = malloc(need > 0 ? (size_t)need : 1);
        if (p->buffers[i] == NULL) {
            arg_throw(env, false, "out of memory");
            goto fail;
        }
        memcpy(p->buffers[i], data, (size_t)need);
        if (i == 1 && (L.kind == K_VAR32 || L.kind == K_VAR64 ||
                       L.kind == K_LIST32 || L.kind == K_LIST64))
            offsets = p->buffers[i];
    }
    if ((L.kind == K_VAR32 || L.kind == K_VAR64) && end > 0 &&
        offsets == NULL) {
        arg_throw(env, false, "column '%s': offsets missing",
                      col_name(column));
        goto fail;
    }
    if ((L.kind == K_VAR32 || L.kind == K_VAR64) && end > 0 &&
        p->buffers[2] == NULL &&
        load_offset(offsets, L.kind == K_VAR64, end) > 0) {
        arg_throw(env, false, "column '%s': data buffer missing",
                      col_name(column));
        goto fail;
    }

    children = arg_prop(env, desc, "children");
    if (children == NULL)
        goto fail;
    n = 0;
    if (!arg_nullish(env, children) &&
        (n = arg_array_len(env, children, "children")) < 0)
        goto fail;
    if (n != s->n_children) {
        arg_throw(env, false,
                      "column '%s': %lld child arrays given, the type has %lld",
                      col_name(column), (long long)n,
                      (long long)s->n_children);
        goto fail;
    }
    if (n > 0) {
        p->children = calloc((size_t)n, sizeof *p->children);
        if (p->children == NULL) {
            arg_throw(env, false, "out of memory");
            goto fail;
        }
        out->n_children = n;
        out->children = p->children;
        for (int64_t i = 0; i < n; i++) {
            napi_value c;
            p->children[i] = calloc(1, sizeof **p->children);
            if (p->children[i] == NULL) {
                arg_throw(env, false, "out of memory");
                goto fail;
            }
            napi_get_element(env, children, (uint32_t)i, &c);
            if (import_array_node(env, c, s->children[i], p->children[i],
                                  depth == 0 ? s->children[i]->name : column,
                                  depth + 1) != napi_ok)
                goto fail;
        }
    }
    dict = arg_prop(env, desc, "dictionary");
    if (dict == NULL)
        goto fail;
    if ((s->dictionary != NULL) != !arg_nullish(env, dict)) {
        arg_throw(env, false,
                      "column '%s': dictionary given for a type without one, "
                      "or missing",
                      col_name(column));
        goto fail;
    }
    if (s->dictionary != NULL) {
        p->dictionary = calloc(1, sizeof *p->dictionary);
        if (p->dictionary == NULL) {
            arg_throw(env, false, "out of memory");
            goto fail;
        }
        out->dictionary = p->dictionary;
        if (import_array_node(env, dict, s->dictionary, p->dictionary, column,
                              depth + 1) != napi_ok)
            goto fail;
    }
    return napi_ok;
fail:
    release_array(out);
    return napi_pending_exception;
}

/* ---- imports: streams -------------------------------------------------- */

struct stream_priv {
    struct ArrowSchema schema;
    struct ArrowArray *arrays;
    size_t n_arrays, next;
};

static int stream_get_schema(struct ArrowArrayStream *s,
                             struct ArrowSchema *out)
{
    struct stream_priv *p = s->private_data;

    return copy_schema(out, &p->schema) == 0 ? 0 : 12 /* ENOMEM */;
}

static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    struct stream_priv *p = s->private_data;

    if (p->next == p->n_arrays) {
        memset(out, 0, sizeof *out); /* end of stream: release == NULL */
        return 0;
    }
    *out = p->arrays[p->next];         /* moves */
    p->arrays[p->next].release = NULL; /* ours is now released-marked */
    p->next++;
    return 0;
}

static const char *stream_last_error(struct ArrowArrayStream *s)
{
    (void)s;
    return "out of memory";
}

static void stream_release(struct ArrowArrayStream *s)
{
    struct stream_priv *p = s->private_data;

    if (s->release == NULL)
        return;
    for (size_t i = 0; i < p->n_arrays; i++)
        if (p->arrays[i].release != NULL)
            p->arrays[i].release(&p->arrays[i]);
    if (p->schema.release != NULL)
        p->schema.release(&p->schema);
    free(p->arrays);
    free(p);
    s->release = NULL;
}

napi_status cdata_import_stream(napi_env env, napi_value schema_desc,
                                napi_value batches,
                                struct ArrowArrayStream *out)
{
    struct stream_priv *p = calloc(1, sizeof *p);
    int64_t n;

    memset(out, 0, sizeof *out);
    if (p == NULL)
        return arg_throw(env, false, "out of memory");
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_last_error;
    out->release = stream_release;
    out->private_data = p;
    if (cdata_import_schema(env, schema_desc, &p->schema) != napi_ok)
        goto fail;
    if (strcmp(p->schema.format, "+s") != 0) {
        arg_throw(env, false, "a batch schema must be a struct ('+s')");
        goto fail;
    }
    if ((n = arg_array_len(env, batches, "batches")) < 0)
        goto fail;
    p->arrays = calloc(n ? (size_t)n : 1, sizeof *p->arrays);
    if (p->arrays == NULL) {
        arg_throw(env, false, "out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        napi_value b;
        napi_get_element(env, batches, (uint32_t)i, &b);
        if (import_array_node(env, b, &p->schema, &p->arrays[i], NULL, 0) !=
            napi_ok)
            goto fail;
        p->n_arrays++;
    }
    return napi_ok;
fail:
    stream_release(out);
    return napi_pending_exception;
}
