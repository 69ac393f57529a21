/*
 * arrow_ipc_tool.c - decode an Arrow IPC schema message and re-encode it,
 * for tests/py/test_arrow_ipc.py (pyarrow is the oracle on both sides).
 *
 * Usage: arrow_ipc_tool IN [OUT]
 * Decodes IN with ar_schema_from_ipc, prints one line per top-level field
 * ("name<TAB>type<TAB>nullability of the field and its descendants, in
 * depth-first order"; backslash, tab, CR and newline in names are printed
 * as \\, \t, \r and \n), writes ar_schema_to_ipc's bytes to OUT, and checks
 * that decoding OUT gives the same schema and metadata back.
 * Exit status: 0 ok, 2 usage or I/O error, 10 - status on a decode error
 * (13 = INFINO_ERR_CORRUPT, 17 = INFINO_ERR_UNSUPPORTED), 1 on a mismatch.
 */
#include "format/arrow/arrow.h"
#include "format/arrow/arrow_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>

static int read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[4096];
    size_t n;

    if (f == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(out, chunk, n) != INFINO_OK) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static void print_escaped(const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            fputs("\\\\", stdout);
            break;
        case '\t':
            fputs("\\t", stdout);
            break;
        case '\n':
            fputs("\\n", stdout);
            break;
        case '\r':
            fputs("\\r", stdout);
            break;
        default:
            putchar(*s);
        }
    }
}

static void print_nullability(const struct ar_field *f)
{
    putchar(f->nullable ? '1' : '0');
    for (size_t i = 0; i < f->n_children; i++)
        print_nullability(&f->children[i]);
}

static bool fields_meta_equal(const struct ar_field *a,
                              const struct ar_field *b)
{
    if (!ar_kv_equal(a->meta, a->n_meta, b->meta, b->n_meta))
        return false;
    for (size_t i = 0; i < a->n_children; i++) {
        if (!fields_meta_equal(&a->children[i], &b->children[i]))
            return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct buf in = {0}, enc = {0}, desc = {0};
    struct ar_schema s = {0}, back = {0};
    infino_status st;
    int rc = 0;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s IN [OUT]\n", argv[0]);
        return 2;
    }
    if (read_file(argv[1], &in) != 0) {
        perror(argv[1]);
        return 2;
    }
    st = ar_schema_from_ipc(&s, in.data, in.len);
    if (st != INFINO_OK) {
        fprintf(stderr, "%s\n", err_last());
        buf_free(&in);
        return 10 - (int)st;
    }
    for (size_t i = 0; i < s.n_fields; i++) {
        buf_reset(&desc);
        if (ar_type_describe(&desc, &s.fields[i]) != INFINO_OK) {
            rc = 2;
            goto done;
        }
        print_escaped(s.fields[i].name);
        putchar('\t');
        print_escaped((const char *)desc.data);
        putchar('\t');
        print_nullability(&s.fields[i]);
        putchar('\n');
    }
    if (ar_schema_to_ipc(&enc, &s) != INFINO_OK ||
        ar_schema_from_ipc(&back, enc.data, enc.len) != INFINO_OK) {
        fprintf(stderr, "re-encoding: %s\n", err_last());
        rc = 1;
        goto done;
    }
    if (!ar_schema_equal(&s, &back) ||
        !ar_kv_equal(s.meta, s.n_meta, back.meta, back.n_meta)) {
        fprintf(stderr, "our own round trip changed the schema\n");
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < s.n_fields; i++) {
        if (!fields_meta_equal(&s.fields[i], &back.fields[i])) {
            fprintf(stderr, "our own round trip changed field metadata\n");
            rc = 1;
            goto done;
        }
    }
    if (argc == 3) {
        FILE *f = fopen(argv[2], "wb");
        if (f == NULL || fwrite(enc.data, 1, enc.len, f) != enc.len) {
            perror(argv[2]);
            rc = 2;
        }
        if (f != NULL && fclose(f) != 0)
            rc = 2;
    }
done:
    ar_schema_free(&s);
    ar_schema_free(&back);
    buf_free(&in);
    buf_free(&enc);
    buf_free(&desc);
    return rc;
}
