/*
 * cache.h - the local read cache of remote object stores.
 *
 * What it caches: only objects the layers above open with
 * objstore_get_immutable(), whose names are never reused for other bytes
 * (superfiles and tombstones). Snapshot versions, hints, leases and the
 * catalog always come from the store: a cached copy of them could be
 * stale. An entry is keyed by the store's identity (endpoint, bucket,
 * prefix) and the object's key, and records the object's size and ETag;
 * later ranged reads are pinned to that ETag.
 *
 * Where the bytes are: one file per object, `<dir>/<32 hex>.ice`:
 *   [header: magic "INFCACH1", format, block size, object size, block
 *    count, offsets, ETag, store id and key, CRC-32C of the header]
 *   [slots: 8 bytes per 256 KiB block: CRC-32C of the block, and a tag
 *    derived from the block's index and CRC, zero until the block is in]
 *   [the object's bytes at a page-aligned offset: a sparse file, so a
 *    partial entry occupies only the blocks it holds]
 * A blob maps the whole file and hands out pointers into it; a block is
 * used only after its slot's tag is right and its bytes match the CRC
 * (checked once per open blob), so a torn or corrupt block is fetched
 * again and rewritten, never served. Pages belong to the page cache, not
 * to the process: a full scan of an object larger than memory stays
 * bounded (store_blob_release() drops them from the resident set).
 *
 * Several processes share a directory: an entry appears under its name
 * only complete-sized with its header (written to a temporary file, then
 * linked into place, the first one winning); blocks are written with
 * pwrite() before their slot, and identical bytes are all anyone ever
 * writes to a block; a background fill takes flock() on the entry so two
 * processes do not download the same object twice. Eviction unlinks
 * entries: a process that has one mapped keeps reading it.
 *
 * Budget: the bytes the entries occupy on disk (allocated blocks) stay
 * under the budget: least recently used first (an entry's mtime is its
 * last use; opening and reading touch it), trimmed by whichever process
 * adds bytes, one at a time (flock on `<dir>/.lock`), down to 7/8 of the
 * budget. Entries being filled can push it over by what they add before
 * the next trim (budget/16 per process). Objects larger than half the
 * budget are not kept.
 *
 * Cold fetch modes (upstream infino's names):
 *   lazy_foreground_with_background_fill (default): a read fetches the
 *     blocks it misses right away; a background thread then downloads the
 *     rest of the object into the entry.
 *   hybrid_with_prefetch: a read fetches the blocks it misses and up to
 *     1 MiB of missing blocks after them; everything fetched is kept; no
 *     background downloads.
 *   range_only: a read fetches the blocks it misses into a private
 *     scratch file, dropped at close; nothing is added to the cache
 *     (complete entries already there are used).
 * Without a cache directory every remote immutable object is read as in
 * range_only, with scratch files in the scratch directory.
 *
 * Not useful for: mutable objects; local or memory stores (they are read
 * in place).
 */
#ifndef INFINO_STORE_CACHE_H
#define INFINO_STORE_CACHE_H

#include "objstore.h"

enum store_cache_mode {
    STORE_CACHE_LAZY = 0,   /* lazy_foreground_with_background_fill */
    STORE_CACHE_HYBRID = 1, /* hybrid_with_prefetch */
    STORE_CACHE_RANGE = 2,  /* range_only */
};

#define STORE_CACHE_BLOCK ((uint64_t)256 << 10)
#define STORE_CACHE_DEFAULT_BUDGET ((uint64_t)10 << 30)

struct store_cache_opts {
    const char *dir;         /* NULL: no cache, scratch files only */
    /* scratch files without `dir` (with it: in `dir`); NULL: $TMPDIR,
     * else /tmp */
    const char *scratch_dir;
    uint64_t budget_bytes;   /* 0: STORE_CACHE_DEFAULT_BUDGET */
    enum store_cache_mode mode;
};

/* Parses a mode's name, case-insensitive: the three upstream names and
 * the aliases "lazy", "hybrid" and "range". INFINO_ERR_INVALID naming the
 * accepted values otherwise. */
infino_status store_cache_mode_parse(enum store_cache_mode *out,
                                     const char *name);
const char *store_cache_mode_name(enum store_cache_mode m); /* static */

/* Gives `s` a read cache (replacing one it had; call before any reads).
 * Creates `dir` if missing and trims it to the budget; touches no
 * network. Stores that do not read by ranges ignore it. `opts` and its
 * strings are copied. */
infino_status store_cache_attach(struct objstore *s,
                                 const struct store_cache_opts *opts);

/* Lets go of the store's cache: background fills stop after the piece
 * they are fetching (they hold what they need); open blobs keep working.
 * objstore_close() calls it. */
void store_cache_detach(struct objstore *s);

/* Counters of one store's cache since it was attached. */
struct store_cache_stats {
    uint64_t opens_warm;     /* opened from the cache, without the network */
    uint64_t opens_cold;     /* opened with a request */
    uint64_t blocks_fetched; /* fetched by reads */
    uint64_t blocks_filled;  /* fetched by background fills */
    uint64_t blocks_corrupt; /* failed their CRC, fetched again */
    uint64_t bytes_fetched;  /* by reads and fills */
    uint64_t entries_evicted;
    uint64_t write_errors; /* cache files that could not be written: those
                              reads kept their bytes in memory */
};
void store_cache_stats(const struct objstore *s, struct store_cache_stats *out);

/* For tests: waits until the background fills queued so far are done. */
void store_cache_drain(struct objstore *s);

#endif
