/*
 * tomb.c - tombstone file encoding (tomb.h).
 */
#include "tomb.h"

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/doc.h"
#include "util/err.h"

#include <string.h>

#define TOMB_MAGIC "INFTOMB1"
#define TOMB_FORMAT 1

infino_status tomb_decode(roaring_bitmap_t **out, const uint8_t *p, size_t n,
                          const char *name, const uint8_t sf_id[SNAP_SF_ID_LEN],
                          uint64_t n_rows)
{
    struct rd body;
    uint32_t format;
    const uint8_t *id, *bits;
    size_t bits_len;
    uint64_t count;
    roaring_bitmap_t *bm;
    infino_status st;

    *out = NULL;
    st = doc_open(&body, &format, p, n, TOMB_MAGIC, name);
    if (st != INFINO_OK)
        return st;
    if (format != TOMB_FORMAT)
        return err_set(INFINO_ERR_UNSUPPORTED, "%s: tombstone format %u",
                       name, format);
    if (rd_bytes(&body, SNAP_SF_ID_LEN, &id) != 0 ||
        rd_uvarint(&body, &count) != 0 ||
        doc_get_bytes(&body, &bits, &bits_len) != 0)
        return err_set(INFINO_ERR_CORRUPT, "%s: truncated", name);
    if (memcmp(id, sf_id, SNAP_SF_ID_LEN) != 0)
        return err_set(INFINO_ERR_CORRUPT, "%s: belongs to another superfile",
                       name);
    if (roaring_bitmap_portable_deserialize_size((const char *)bits,
                                                 bits_len) != bits_len)
        return err_set(INFINO_ERR_CORRUPT, "%s: bad bitmap", name);
    bm = roaring_bitmap_portable_deserialize_safe((const char *)bits, bits_len);
    if (bm == NULL)
        return err_set(INFINO_ERR_CORRUPT, "%s: bad bitmap", name);
    if (roaring_bitmap_get_cardinality(bm) != count ||
        (count > 0 && roaring_bitmap_maximum(bm) >= n_rows)) {
        roaring_bitmap_free(bm);
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: bitmap disagrees with its superfile", name);
    }
    *out = bm;
    return INFINO_OK;
}

infino_status tomb_load(roaring_bitmap_t **out, struct objstore *s,
                        const char *key, const uint8_t sf_id[SNAP_SF_ID_LEN],
                        uint64_t n_rows)
{
    struct store_blob *b = NULL;
    const uint8_t *p;
    infino_status st;

    *out = NULL;
    /* tombstones are immutable (random ids, created once): cacheable */
    st = objstore_get_immutable(s, key, OBJSTORE_SIZE_UNKNOWN, &b);
    if (st == INFINO_OK)
        st = store_blob_read(b, 0, (size_t)store_blob_size(b), &p);
    if (st == INFINO_OK)
        st = tomb_decode(out, p, (size_t)store_blob_size(b), key, sf_id,
                         n_rows);
    store_blob_close(b);
    return st;
}

infino_status tomb_store(struct objstore *s, const char *key,
                         const uint8_t sf_id[SNAP_SF_ID_LEN],
                         const roaring_bitmap_t *bm)
{
    struct buf doc = {0};
    size_t n = roaring_bitmap_portable_size_in_bytes(bm);
    char *bits = mem_alloc(n);
    infino_status st;

    if (bits == NULL)
        return err_nomem();
    roaring_bitmap_portable_serialize(bm, bits);
    CHECK(doc_begin(&doc, TOMB_MAGIC, TOMB_FORMAT));
    CHECK(buf_append(&doc, sf_id, SNAP_SF_ID_LEN));
    CHECK(buf_put_uvarint(&doc, roaring_bitmap_get_cardinality(bm)));
    CHECK(doc_put_bytes(&doc, bits, n));
    CHECK(doc_seal(&doc));
    st = objstore_put(s, key, doc.data, doc.len, STORE_NOREPLACE);
    /* an unknown outcome: our bytes under our fresh name mean it landed */
    if (st != INFINO_OK && st != INFINO_ERR_EXISTS && st != INFINO_ERR_NOMEM &&
        objstore_read_back(s, key, doc.len, crc32c(doc.data, doc.len)) == 1)
        st = INFINO_OK;
fail:
    mem_free(bits);
    buf_free(&doc);
    return st;
}
