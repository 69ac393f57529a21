/*
 * pq_codec.h - page compression for Parquet: UNCOMPRESSED, SNAPPY, GZIP,
 * ZSTD (parquet.thrift CompressionCodec).
 *
 * Snappy is ours (pq_snappy.c, written from google/snappy's
 * format_description.txt); GZIP uses zlib and ZSTD libzstd. Decompression
 * always knows the exact output size from the page header
 * (uncompressed_page_size), so any other outcome is INFINO_ERR_CORRUPT.
 * ZSTD and zlib contexts are kept per thread and reused across pages.
 */
#ifndef INFINO_FORMAT_PARQUET_PQ_CODEC_H
#define INFINO_FORMAT_PARQUET_PQ_CODEC_H

#include "parquet.h"
#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* The most bytes pq_compress_to() can produce from `n` input bytes, or 0
 * when `n` is more than the codec can take in one call (or the codec is
 * unknown). */
size_t pq_compress_bound(enum pq_codec codec, size_t n);

/* Compresses the `n` bytes at `src` into `dst`, which has room for
 * `dst_cap` >= pq_compress_bound(codec, n) bytes, and sets *len_out to the
 * compressed length. `level` as for pq_compress(). Lets the writer
 * compress a page straight into the place it will be written from. */
infino_status pq_compress_to(enum pq_codec codec, int level,
                             const uint8_t *src, size_t n, uint8_t *dst,
                             size_t dst_cap, size_t *len_out);

/* Appends the compressed form of the `n` bytes at `src` to `out`. `level`
 * is used by ZSTD (<= 0 means libzstd's default) and GZIP (clamped to
 * 1..9, <= 0 means 6); the others ignore it. UNCOMPRESSED appends `src`
 * unchanged. An unknown codec is INFINO_ERR_UNSUPPORTED. On failure `out`
 * keeps its previous length (its capacity may have grown). */
infino_status pq_compress(enum pq_codec codec, int level, const uint8_t *src,
                          size_t n, struct buf *out);

/* Decompresses `src_len` untrusted bytes into exactly `dst_len` bytes at
 * `dst` (caller-owned, at least dst_len bytes). Input that is malformed,
 * that decodes to more or fewer than dst_len bytes, or that has trailing
 * garbage is INFINO_ERR_CORRUPT; nothing is read outside `src` or written
 * outside `dst`. GZIP accepts several concatenated members. */
infino_status pq_decompress(enum pq_codec codec, const uint8_t *src,
                            size_t src_len, uint8_t *dst, size_t dst_len);

/* Frees the calling thread's cached compression contexts now (they are
 * otherwise freed when the thread exits). Harmless to call at any time. */
void pq_codec_thread_cleanup(void);

/* ---- snappy (pq_snappy.c) ----------------------------------------------
 * Raw snappy blocks, as Parquet stores them (no framing format). */

/* Largest output pq_snappy_compress() can produce for `n` input bytes, or
 * 0 when `n` is too large for one snappy block (> 2^32 - 1). */
size_t pq_snappy_max_compressed_len(size_t n);

/* Compresses `n` bytes (n <= UINT32_MAX) into `dst`, which must hold
 * pq_snappy_max_compressed_len(n) bytes. Returns the compressed length. */
size_t pq_snappy_compress(uint8_t *dst, const uint8_t *src, size_t n);

/* Reads the uncompressed length from the block's preamble. Returns 0 on
 * success, -1 when the preamble is malformed. */
int pq_snappy_uncompressed_len(uint64_t *out, const uint8_t *src, size_t n);

/* Decodes the block at `src` into exactly `dst_len` bytes at `dst`.
 * Returns 0 on success, -1 when the block is malformed, refers outside
 * the bytes produced so far, or does not decode to exactly dst_len bytes. */
int pq_snappy_decompress(uint8_t *dst, size_t dst_len, const uint8_t *src,
                         size_t src_len);

#endif
