/*
 * fuzz_table_snapshot.c - table snapshot decoding from arbitrary bytes.
 * A decoded snapshot must re-encode and decode to the same thing.
 */
#include "table/snapshot.h"
#include "util/doc.h"
#include "util/err.h"

#include "fuzz_crcfix.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size)
{
    struct snapshot s, again;
    struct buf b = {0};

    if (snapshot_decode(&s, data, size, "fuzz") == INFINO_OK) {
        if (snapshot_encode(&b, &s) == INFINO_OK &&
            snapshot_decode(&again, b.data, b.len, "again") == INFINO_OK) {
            if (again.n_sf != s.n_sf || again.version != s.version)
                __builtin_trap();
            snapshot_free(&again);
        }
        snapshot_free(&s);
    }
    buf_free(&b);
    err_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed = fuzz_fix_crc(data, size);

    one(data, size);
    if (fixed) {
        one(fixed, size);
        mem_free(fixed);
    }
    return 0;
}
