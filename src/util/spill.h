/*
 * spill.h - anonymous scratch files for external sorting and merging.
 *
 * A writer that must stay under a memory budget appends sorted runs to a
 * spill file, then maps the whole file read-only to merge them. The file
 * has no name (O_TMPFILE, or unlinked right after creation), so nothing is
 * left behind when the process dies, and nothing else can open it. It is
 * scratch, not data: never fsynced, gone on spill_close().
 *
 * Not useful for: anything that must survive the process (use store.h).
 */
#ifndef INFINO_UTIL_SPILL_H
#define INFINO_UTIL_SPILL_H

#include "infino.h"

#include <stddef.h>
#include <stdint.h>

struct spill_file;

/* Creates an empty scratch file in directory `dir` (borrowed; NULL means
 * $TMPDIR or /tmp). On success *out is owned: release with spill_close(). */
infino_status spill_open(struct spill_file **out, const char *dir);

/* Appends `n` bytes (buffered). Fails after spill_map(). */
infino_status spill_write(struct spill_file *f, const void *p, size_t n);

/* Bytes appended so far (the offset the next write lands at). */
uint64_t spill_tell(const struct spill_file *f);

/* Flushes and maps everything written so far read-only. *data_out is
 * borrowed: valid until spill_close(); NULL when the file is empty. No
 * writes are accepted afterwards. Calling it again returns the same map. */
infino_status spill_map(struct spill_file *f, const uint8_t **data_out,
                        size_t *len_out);

/* Tells the kernel the mapped bytes [off, off + len) will not be read
 * again, so their pages leave the resident set (whole pages inside the
 * range only). A hint: nothing changes for the reader if they are. */
void spill_release(struct spill_file *f, uint64_t off, uint64_t len);

/* Unmaps, closes and thereby deletes the file. NULL is a no-op. */
void spill_close(struct spill_file *f);

#endif
