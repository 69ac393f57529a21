/*
 * arrow_int.h - private helpers shared by the files of the Arrow module.
 *
 * Field paths for error messages ("emb.item"), metadata key-value arrays,
 * and the limits every decoder of foreign schemas applies. Nothing here is
 * visible outside src/format/arrow/.
 */
#ifndef INFINO_FORMAT_ARROW_INT_H
#define INFINO_FORMAT_ARROW_INT_H

#include "arrow.h"

/* Deepest type nesting we accept from a foreign producer or a file. Real
 * schemas nest a handful of levels; the cap keeps recursion bounded. */
#define AR_MAX_DEPTH 64

/* Most children one C-interface schema node may claim. The children array
 * is allocated before it is read, so the claim has to be bounded. */
#define AR_MAX_CHILDREN (1 << 20)

/* A dotted field path ("a.b.item"), truncated to fit; always
 * NUL-terminated. Lives on the stack of a recursive walk. */
#define AR_PATH_CAP 256
struct ar_path {
    size_t len;
    char s[AR_PATH_CAP];
};

/* Appends ".name" (or "name" at the root; "[i]" for an unnamed field) and
 * returns the previous length, for ar_path_pop(). */
size_t ar_path_push(struct ar_path *p, const char *name, size_t i);
static inline void ar_path_pop(struct ar_path *p, size_t old_len)
{
    p->len = old_len;
    p->s[old_len] = '\0';
}

/* Frees `n` key-value pairs and the array itself. NULL is fine. */
void ar_kv_free(struct ar_kv *kv, size_t n);

/* Appends one pair to *kv (capacity *cap, count *n), copying key and
 * value; grows geometrically so the array never outgrows what was parsed.
 * The key must not contain a NUL byte (the caller checks). */
infino_status ar_kv_push(struct ar_kv **kv, size_t *n, size_t *cap,
                         const char *key, size_t key_len, const void *value,
                         size_t value_len);

/* Deep copy of `n` pairs into *out (owned; NULL when n == 0). */
infino_status ar_kv_copy(struct ar_kv **out, const struct ar_kv *kv,
                         size_t n);

/* Exact equality of two metadata arrays (same pairs, same order). */
bool ar_kv_equal(const struct ar_kv *a, size_t n_a, const struct ar_kv *b,
                 size_t n_b);

/* Number of children a type requires: -1 = any (struct), else exact. */
int ar_type_n_children(enum ar_type t);

/* Short lowercase type name ("int32", "fixed_size_list"). Static text. */
const char *ar_type_name(enum ar_type t);

#endif
