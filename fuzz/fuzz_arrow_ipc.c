/*
 * fuzz_arrow_ipc.c - ar_schema_from_ipc on raw bytes. Whatever decodes
 * must re-encode, decode to an identical schema (metadata included),
 * re-encode to the same bytes, and survive a C Data Interface round trip.
 */
#include "format/arrow/arrow.h"
#include "format/arrow/arrow_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool meta_equal(const struct ar_field *a, const struct ar_field *b)
{
    if (!ar_kv_equal(a->meta, a->n_meta, b->meta, b->n_meta))
        return false;
    for (size_t i = 0; i < a->n_children; i++) {
        if (!meta_equal(&a->children[i], &b->children[i]))
            return false;
    }
    return true;
}

static bool identical(const struct ar_schema *a, const struct ar_schema *b)
{
    if (!ar_schema_equal(a, b) ||
        !ar_kv_equal(a->meta, a->n_meta, b->meta, b->n_meta))
        return false;
    for (size_t i = 0; i < a->n_fields; i++) {
        if (!meta_equal(&a->fields[i], &b->fields[i]))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ar_schema s, back, imported;
    struct buf a = {0}, b = {0}, d = {0};
    struct ArrowSchema c;

    if (ar_schema_from_ipc(&s, data, size) != INFINO_OK)
        return 0;
    if (ar_schema_to_ipc(&a, &s) != INFINO_OK)
        __builtin_trap();
    if (ar_schema_from_ipc(&back, a.data, a.len) != INFINO_OK)
        __builtin_trap();
    if (!identical(&s, &back))
        __builtin_trap();
    if (ar_schema_to_ipc(&b, &back) != INFINO_OK || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0)
        __builtin_trap();
    for (size_t i = 0; i < s.n_fields; i++) {
        buf_reset(&d);
        if (ar_type_describe(&d, &s.fields[i]) != INFINO_OK ||
            strlen((const char *)d.data) != d.len)
            __builtin_trap();
    }
    /* anything decoded is exportable and imports back identically */
    if (ar_schema_export(&c, &s) != INFINO_OK)
        __builtin_trap();
    if (ar_schema_import(&imported, &c) != INFINO_OK ||
        !identical(&s, &imported))
        __builtin_trap();
    c.release(&c);
    ar_schema_free(&imported);
    ar_schema_free(&s);
    ar_schema_free(&back);
    buf_free(&a);
    buf_free(&b);
    buf_free(&d);
    return 0;
}
