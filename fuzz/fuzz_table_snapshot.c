/*
 * fuzz_table_snapshot.c - table snapshot decoding from arbitrary bytes.
 * A decoded checkpoint must re-encode and decode to the same thing;
 * deltas are decoded and applied.
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
    struct snap_doc d;
    struct buf b = {0};

    /* Any document: a delta is applied to an empty parent of the right
     * version (usually refused, never a crash). */
    if (snap_doc_decode(&d, data, size, "fuzz") == INFINO_OK) {
        struct snapshot base = {0}, out;
        base.version = d.parent;
        base.n_fts = d.n_fts;
        base.chain = d.chain ? d.chain - 1 : 0;
        if (snapshot_apply_doc(&out, &base, &d, "fuzz") == INFINO_OK)
            snapshot_free(&out);
        snap_doc_free(&d);
    }
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
