/*
 * doc.c - sealed binary documents (doc.h).
 */
#include "doc.h"

#include "crc32c.h"
#include "endian.h"
#include "err.h"

#include <string.h>

infino_status doc_begin(struct buf *b, const char magic[DOC_MAGIC_LEN],
                        uint32_t version)
{
    infino_status st = buf_append(b, magic, DOC_MAGIC_LEN);

    if (st == INFINO_OK)
        st = buf_put_u32le(b, version);
    return st;
}

infino_status doc_seal(struct buf *b)
{
    return buf_put_u32le(b, crc32c(b->data, b->len));
}

infino_status doc_open(struct rd *body, uint32_t *version_out, const void *p,
                       size_t n, const char magic[DOC_MAGIC_LEN],
                       const char *name)
{
    const uint8_t *d = p;
    uint32_t stored, computed;

    if (n < DOC_MAGIC_LEN + 8)
        return err_set(INFINO_ERR_CORRUPT, "%s: truncated (%zu bytes)", name,
                       n);
    if (memcmp(d, magic, DOC_MAGIC_LEN) != 0)
        return err_set(INFINO_ERR_CORRUPT, "%s: bad magic", name);
    stored = load_u32le(d + n - 4);
    computed = crc32c(d, n - 4);
    if (stored != computed)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: checksum mismatch (stored %08x, computed %08x)",
                       name, stored, computed);
    *version_out = load_u32le(d + DOC_MAGIC_LEN);
    *body = rd_make(d + DOC_MAGIC_LEN + 4, n - DOC_MAGIC_LEN - 8);
    return INFINO_OK;
}

infino_status doc_put_bytes(struct buf *b, const void *p, size_t n)
{
    infino_status st = buf_put_uvarint(b, n);

    if (st == INFINO_OK)
        st = buf_append(b, p, n);
    return st;
}

int doc_get_bytes(struct rd *r, const uint8_t **p_out, size_t *n_out)
{
    uint64_t n;
    struct rd save = *r;

    if (rd_uvarint(r, &n) != 0 || n > rd_left(r) ||
        rd_bytes(r, (size_t)n, p_out) != 0) {
        *r = save;
        return -1;
    }
    *n_out = (size_t)n;
    return 0;
}
