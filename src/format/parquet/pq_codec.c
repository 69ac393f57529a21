/*
 * pq_codec.c - page compression dispatch (pq_codec.h).
 *
 * libzstd and zlib allocate through util/alloc.h (their custom-allocator
 * hooks), so allocation-failure tests reach them too. Their contexts are
 * cached per thread (a pthread key whose destructor frees them), because
 * creating a ZSTD_CCtx per page would cost more than compressing it.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_create*_advanced: custom allocator */
#include "pq_codec.h"

#include "util/alloc.h"
#include "util/err.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

struct codec_tls {
    ZSTD_CCtx *cctx; /* owned, created on first use */
    int cctx_level;  /* compression level set in cctx (0: none yet) */
    ZSTD_DCtx *dctx; /* owned, created on first use */
    z_stream inflater;
    int inflater_ready; /* inflateInit2 succeeded: inflateEnd owed */
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_key_ok;

static void *zstd_alloc(void *opaque, size_t n)
{
    (void)opaque;
    return mem_alloc(n);
}

static void zstd_free(void *opaque, void *p)
{
    (void)opaque;
    mem_free(p);
}

static const ZSTD_customMem zstd_mem = {zstd_alloc, zstd_free, NULL};

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    size_t n;

    (void)opaque;
    if (mem_mul(&n, items, size) != 0)
        return Z_NULL;
    return mem_alloc(n);
}

static void zlib_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    mem_free(p);
}

static bool codec_known(enum pq_codec c)
{
    return c == PQ_UNCOMPRESSED || c == PQ_SNAPPY || c == PQ_GZIP ||
           c == PQ_ZSTD;
}

static void tls_destroy(void *p)
{
    struct codec_tls *t = p;

    if (t == NULL)
        return;
    ZSTD_freeCCtx(t->cctx);
    ZSTD_freeDCtx(t->dctx);
    if (t->inflater_ready)
        inflateEnd(&t->inflater);
    mem_free(t);
}

static void tls_init_key(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_destroy) == 0;
}

/* The calling thread's contexts, allocated on first use. NULL only when
 * out of memory (or out of pthread keys). */
static struct codec_tls *tls_get(void)
{
    struct codec_tls *t;

    pthread_once(&tls_once, tls_init_key);
    if (!tls_key_ok)
        return NULL;
    t = pthread_getspecific(tls_key);
    if (t != NULL)
        return t;
    t = mem_calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    if (pthread_setspecific(tls_key, t) != 0) {
        mem_free(t);
        return NULL;
    }
    return t;
}

void pq_codec_thread_cleanup(void)
{
    pthread_once(&tls_once, tls_init_key);
    if (!tls_key_ok)
        return;
    tls_destroy(pthread_getspecific(tls_key));
    pthread_setspecific(tls_key, NULL);
}

/* ---- compression -------------------------------------------------------- */

/* zlib's bound for a stream whose parameters it cannot see (deflateBound
 * with no stream: a zlib wrapper of 6 bytes), plus the 12 more a gzip
 * wrapper without optional fields takes (RFC 1952: 10-byte header,
 * 8-byte trailer). */
static size_t gzip_bound(size_t n)
{
    return (size_t)deflateBound(Z_NULL, (uLong)n) + 12;
}

size_t pq_compress_bound(enum pq_codec codec, size_t n)
{
    switch (codec) {
    case PQ_UNCOMPRESSED:
        return n;
    case PQ_SNAPPY:
        return pq_snappy_max_compressed_len(n);
    case PQ_GZIP:
        return n > UINT_MAX / 2 ? 0 : gzip_bound(n);
    case PQ_ZSTD: {
        size_t b = ZSTD_compressBound(n);
        return ZSTD_isError(b) ? 0 : b;
    }
    }
    return 0;
}

static infino_status zstd_compress(int level, const uint8_t *src, size_t n,
                                   uint8_t *dst, size_t cap, size_t *len_out)
{
    struct codec_tls *t = tls_get();
    size_t r;

    if (t == NULL)
        return err_nomem();
    if (level <= 0)
        level = ZSTD_CLEVEL_DEFAULT;
    if (t->cctx == NULL) {
        if ((t->cctx = ZSTD_createCCtx_advanced(zstd_mem)) == NULL)
            return err_nomem();
        t->cctx_level = 0;
    }
    /* Parameters outlive frames (ZSTD_compress2 resets the session only),
     * so they are set when the level changes, not for every page. Frames
     * are zstd's defaults, as other Parquet writers make them: content
     * size in the header, no checksum (the page header has the sizes and
     * may carry a CRC). */
    if (t->cctx_level != level) {
        r = ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, level);
        if (ZSTD_isError(r))
            return err_set(INFINO_ERR_INVALID, "zstd level %d: %s", level,
                           ZSTD_getErrorName(r));
        t->cctx_level = level;
    }
    r = ZSTD_compress2(t->cctx, dst, cap, src, n);
    if (ZSTD_isError(r)) {
        /* The context may be mid-frame; drop it rather than reuse it. */
        ZSTD_freeCCtx(t->cctx);
        t->cctx = NULL;
        if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
            return err_nomem();
        return err_set(INFINO_ERR_INVALID, "zstd compression failed: %s",
                       ZSTD_getErrorName(r));
    }
    *len_out = r;
    return INFINO_OK;
}

static infino_status gzip_compress(int level, const uint8_t *src, size_t n,
                                   uint8_t *dst, size_t cap, size_t *len_out)
{
    z_stream zs;
    infino_status st = INFINO_OK;
    int rc;

    if (n > UINT_MAX / 2)
        return err_set(INFINO_ERR_INVALID, "gzip: page of %zu bytes too large",
                       n);
    memset(&zs, 0, sizeof zs);
    zs.zalloc = zlib_alloc;
    zs.zfree = zlib_free;
    /* windowBits 15 + 16: a gzip (RFC 1952) wrapper, as Parquet's GZIP
     * codec is defined. */
    rc = deflateInit2(&zs, level <= 0 ? 6 : level > 9 ? 9 : level, Z_DEFLATED,
                      15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? err_nomem()
                                 : err_set(INFINO_ERR_INVALID, "deflateInit2");
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)(cap > UINT_MAX ? UINT_MAX : cap);
    rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        st = rc == Z_MEM_ERROR ? err_nomem()
                               : err_set(INFINO_ERR_INVALID,
                                         "gzip compression failed (%d)", rc);
        goto done;
    }
    *len_out = zs.total_out;
done:
    deflateEnd(&zs);
    return st;
}

infino_status pq_compress_to(enum pq_codec codec, int level,
                             const uint8_t *src, size_t n, uint8_t *dst,
                             size_t dst_cap, size_t *len_out)
{
    size_t bound = pq_compress_bound(codec, n);

    if (bound == 0 && !(codec == PQ_UNCOMPRESSED && n == 0))
        return codec_known(codec)
                   ? err_set(INFINO_ERR_INVALID,
                             "page of %zu bytes too large to compress", n)
                   : err_set(INFINO_ERR_UNSUPPORTED, "compression codec %d",
                             (int)codec);
    assert(dst_cap >= bound);
    switch (codec) {
    case PQ_UNCOMPRESSED:
        if (n)
            memcpy(dst, src, n);
        *len_out = n;
        return INFINO_OK;
    case PQ_SNAPPY:
        *len_out = pq_snappy_compress(dst, src, n);
        return INFINO_OK;
    case PQ_GZIP:
        return gzip_compress(level, src, n, dst, dst_cap, len_out);
    case PQ_ZSTD:
        return zstd_compress(level, src, n, dst, dst_cap, len_out);
    }
    return err_set(INFINO_ERR_UNSUPPORTED, "compression codec %d",
                   (int)codec);
}

infino_status pq_compress(enum pq_codec codec, int level, const uint8_t *src,
                          size_t n, struct buf *out)
{
    size_t bound = pq_compress_bound(codec, n), len = 0;
    infino_status st;

    if (codec == PQ_UNCOMPRESSED)
        return buf_append(out, src, n);
    if (bound > 0 && (st = buf_reserve(out, bound)) != INFINO_OK)
        return st;
    st = pq_compress_to(codec, level, src, n, out->data + out->len, bound,
                        &len);
    if (st == INFINO_OK)
        out->len += len;
    return st;
}

/* ---- decompression ------------------------------------------------------ */

static infino_status zstd_decompress(const uint8_t *src, size_t src_len,
                                     uint8_t *dst, size_t dst_len)
{
    struct codec_tls *t = tls_get();
    uint8_t dummy;
    size_t r;

    /* Zero frames would decode to nothing; no writer produces that. */
    if (src_len == 0)
        return err_set(INFINO_ERR_CORRUPT, "zstd: empty page");
    if (t == NULL)
        return err_nomem();
    if (t->dctx == NULL && (t->dctx = ZSTD_createDCtx_advanced(zstd_mem)) ==
                               NULL)
        return err_nomem();
    /* One-shot decompression writes straight into dst and allocates no
     * window, whatever the frame header claims. Several frames in a row
     * are decoded back to back; anything else left over is an error. */
    r = ZSTD_decompressDCtx(t->dctx, dst_len ? dst : &dummy, dst_len, src,
                            src_len);
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
            return err_nomem();
        return err_set(INFINO_ERR_CORRUPT, "zstd: %s", ZSTD_getErrorName(r));
    }
    if (r != dst_len)
        return err_set(INFINO_ERR_CORRUPT,
                       "zstd: decoded %zu bytes, page header says %zu", r,
                       dst_len);
    return INFINO_OK;
}

static infino_status gzip_decompress(const uint8_t *src, size_t src_len,
                                     uint8_t *dst, size_t dst_len)
{
    struct codec_tls *t = tls_get();
    z_stream *zs;
    uint8_t dummy;
    int rc;

    if (t == NULL)
        return err_nomem();
    /* Page sizes are i32 in the page header, so this only rejects input
     * that is corrupt anyway, and keeps zlib's 32-bit counters exact. */
    if (src_len > INT32_MAX || dst_len > INT32_MAX)
        return err_set(INFINO_ERR_CORRUPT, "gzip: page larger than 2 GiB");
    zs = &t->inflater;
    if (!t->inflater_ready) {
        memset(zs, 0, sizeof *zs);
        zs->zalloc = zlib_alloc;
        zs->zfree = zlib_free;
        /* 15 + 32: accept a gzip or a zlib header (some old writers). */
        rc = inflateInit2(zs, 15 + 32);
        if (rc != Z_OK)
            return rc == Z_MEM_ERROR ? err_nomem()
                                     : err_set(INFINO_ERR_CORRUPT,
                                               "inflateInit2 failed");
        t->inflater_ready = 1;
    } else if (inflateReset(zs) != Z_OK) {
        return err_set(INFINO_ERR_CORRUPT, "inflateReset failed");
    }
    zs->next_in = (Bytef *)(uintptr_t)src;
    zs->avail_in = (uInt)src_len;
    zs->next_out = dst_len ? dst : &dummy;
    zs->avail_out = (uInt)dst_len;
    for (;;) {
        rc = inflate(zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            /* Concatenated members (RFC 1952 2.2): go on while input is
             * left; a member that is not a gzip header fails below. */
            if (zs->avail_in == 0)
                break;
            if (inflateReset(zs) != Z_OK)
                return err_set(INFINO_ERR_CORRUPT, "inflateReset failed");
            continue;
        }
        if (rc == Z_OK)
            continue;
        if (rc == Z_MEM_ERROR)
            return err_nomem();
        if (rc == Z_BUF_ERROR)
            return err_set(INFINO_ERR_CORRUPT,
                           zs->avail_out == 0
                               ? "gzip: data longer than the %zu bytes the "
                                 "page header says"
                               : "gzip: truncated stream (%zu bytes wanted)",
                           dst_len);
        return err_set(INFINO_ERR_CORRUPT, "gzip: %s",
                       zs->msg ? zs->msg : "bad stream");
    }
    if (zs->avail_out != 0)
        return err_set(INFINO_ERR_CORRUPT,
                       "gzip: decoded %zu bytes, page header says %zu",
                       dst_len - zs->avail_out, dst_len);
    return INFINO_OK;
}

infino_status pq_decompress(enum pq_codec codec, const uint8_t *src,
                            size_t src_len, uint8_t *dst, size_t dst_len)
{
    switch (codec) {
    case PQ_UNCOMPRESSED:
        if (src_len != dst_len)
            return err_set(INFINO_ERR_CORRUPT,
                           "uncompressed page: %zu bytes, header says %zu",
                           src_len, dst_len);
        if (dst_len)
            memcpy(dst, src, dst_len);
        return INFINO_OK;
    case PQ_SNAPPY:
        if (pq_snappy_decompress(dst, dst_len, src, src_len) != 0)
            return err_set(INFINO_ERR_CORRUPT,
                           "snappy: malformed block (%zu bytes, %zu expected "
                           "out)",
                           src_len, dst_len);
        return INFINO_OK;
    case PQ_GZIP:
        return gzip_decompress(src, src_len, dst, dst_len);
    case PQ_ZSTD:
        return zstd_decompress(src, src_len, dst, dst_len);
    }
    return err_set(INFINO_ERR_UNSUPPORTED, "compression codec %d",
                   (int)codec);
}
