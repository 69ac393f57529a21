/*
 * fuzz_parquet_snappy.c - libFuzzer target for the snappy block decoder.
 *
 * Input: an untrusted snappy block. It is decoded into exactly the size its
 * preamble claims (capped, so the fuzzer cannot ask for gigabytes); ASan
 * catches any read or write outside the buffers. The input is also
 * compressed and decompressed, which must give it back unchanged.
 */
#include "format/parquet/pq_codec.h"
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OUT (1u << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t want;
    uint8_t *out, *c;
    size_t clen;

    if (pq_snappy_uncompressed_len(&want, data, size) == 0 &&
        want <= MAX_OUT) {
        /* An exact-size heap buffer, so ASan sees a one-byte overrun. */
        out = mem_alloc((size_t)want);
        if (out != NULL) {
            int rc = pq_snappy_decompress(out, (size_t)want, data, size);
            /* the codec entry point must agree with the raw decoder */
            infino_status st =
                pq_decompress(PQ_SNAPPY, data, size, out, (size_t)want);
            if ((rc == 0) != (st == INFINO_OK))
                abort();
            mem_free(out);
        }
    }

    /* Round trip the input itself through our compressor. */
    c = mem_alloc(pq_snappy_max_compressed_len(size));
    out = mem_alloc(size);
    if (c != NULL && out != NULL) {
        clen = pq_snappy_compress(c, data, size);
        if (clen > pq_snappy_max_compressed_len(size) ||
            pq_snappy_decompress(out, size, c, clen) != 0 ||
            (size && memcmp(out, data, size) != 0))
            abort();
    }
    mem_free(c);
    mem_free(out);
    return 0;
}
