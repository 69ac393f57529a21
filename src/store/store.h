/*
 * store.h - where bytes live: readable blobs and append-only sinks.
 *
 * A blob is an immutable sequence of bytes (a file, an in-memory buffer, or
 * later an object in a bucket) read by offset. A sink writes a new object
 * front to back and publishes it atomically on finish: until then nobody
 * can observe it, and on abort (or a crash) it never appears under its name.
 *
 * Blobs hand out borrowed pointers (mmap or memory), so decoders read in
 * place without copying. Everything in format/ and above reads through a
 * blob and writes through a sink, never through stdio.
 */
#ifndef INFINO_STORE_H
#define INFINO_STORE_H

#include "infino.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_blob;
struct store_sink;

/* ---- blobs ---------------------------------------------------------- */

/* Maps the file at `path` read-only. On success *out is owned (release with
 * store_blob_close()). INFINO_ERR_NOTFOUND when the file does not exist. */
infino_status store_blob_open_file(struct store_blob **out, const char *path);

/* Wraps `len` bytes at `data`. With `copy` the blob keeps its own copy;
 * otherwise `data` is borrowed and must outlive the blob. `name` appears in
 * error messages (copied). */
infino_status store_blob_from_memory(struct store_blob **out, const void *data,
                                     size_t len, const char *name, bool copy);

/* Takes: the blob frees `data` with mem_free() when closed. */
infino_status store_blob_take_memory(struct store_blob **out, void *data,
                                     size_t len, const char *name);

uint64_t store_blob_size(const struct store_blob *b);
/* Borrowed: valid until store_blob_close(). */
const char *store_blob_name(const struct store_blob *b);

/* Sets *out to `len` bytes starting at `off`. The pointer is borrowed and
 * valid until store_blob_close(). A range past the end is reported as
 * INFINO_ERR_CORRUPT naming the blob (offsets come from file contents). */
infino_status store_blob_read(struct store_blob *b, uint64_t off, size_t len,
                              const uint8_t **out);

/* Says that bytes [off, off + len) will not be read again soon. A mapped
 * file drops the whole pages inside the range from this process's resident
 * set: they stay in the page cache and fault back in if read again, so
 * pointers from store_blob_read() stay valid and keep their contents.
 * Memory blobs ignore it, as does a range outside the blob. A hint: it
 * cannot fail. */
void store_blob_release(struct store_blob *b, uint64_t off, uint64_t len);

/* NULL is a no-op. */
void store_blob_close(struct store_blob *b);

/* Wraps `len` bytes owned by someone else; `release(payload)` runs when the
 * blob closes (also if this call fails). Lets a backend share refcounted
 * bytes with readers. */
infino_status store_blob_wrap(struct store_blob **out, const void *data,
                              size_t len, const char *name,
                              void (*release)(void *payload), void *payload);

/* Reads exactly `len` bytes at `off` of a remote object into `dst`. */
typedef infino_status (*store_fetch_fn)(void *payload, uint64_t off,
                                        size_t len, uint8_t *dst);

/* A blob of `size` bytes read on demand by ranges (objects in a bucket). A
 * read not covered by bytes already held fetches its range widened to
 * STORE_REMOTE_BLOCK boundaries; fetched bytes stay until close, so
 * pointers from store_blob_read() stay valid (memory grows with what was
 * read, at most `size`). Threads may read concurrently; two threads
 * missing the same range may both fetch it. `head` (takes; may be NULL)
 * holds `head_len` bytes at `head_off` already fetched. `release(payload)`
 * runs at close, also if this call fails. `name` is copied. */
#define STORE_REMOTE_BLOCK ((uint64_t)256 << 10)
infino_status store_blob_open_remote(struct store_blob **out, const char *name,
                                     uint64_t size, uint8_t *head,
                                     uint64_t head_off, size_t head_len,
                                     store_fetch_fn fetch,
                                     void (*release)(void *payload),
                                     void *payload);

/* Callbacks of a blob opened with store_blob_open_hooks(). */
struct store_blob_hooks {
    /* Sets *out to `len` bytes at `off` (a range store_blob_read() has
     * checked to be inside the blob; `len` may be 0), valid until close. */
    infino_status (*read)(void *payload, uint64_t off, size_t len,
                          const uint8_t **out);
    /* store_blob_release() of the range; NULL: ignored */
    void (*release)(void *payload, uint64_t off, uint64_t len);
    void (*close)(void *payload); /* releases `payload` */
};

/* A blob of `size` bytes whose reads go to `hooks` (borrowed: static
 * storage). Lets a layer keep the bytes where it likes (the read cache
 * maps a cache file). `payload` is taken: hooks->close(payload) runs at
 * store_blob_close(), or before this call returns if it fails. `name` is
 * copied. */
infino_status store_blob_open_hooks(struct store_blob **out, const char *name,
                                    uint64_t size,
                                    const struct store_blob_hooks *hooks,
                                    void *payload);

/* ---- sinks ---------------------------------------------------------- */

enum store_publish {
    STORE_REPLACE = 0,   /* publishing replaces an existing object */
    STORE_NOREPLACE = 1, /* publishing fails with INFINO_ERR_EXISTS if the
                            name exists (create-if-absent) */
    STORE_NOSYNC = 2,    /* OR-ed in: skip fsyncs. For objects that only
                            matter while their writer lives (hints,
                            leases): visible atomically, maybe not durable */
};

/* Starts writing the file `path`: bytes go to a temporary file beside it,
 * which store_sink_finish() fsyncs and publishes under `path` (and fsyncs
 * the directory), so a crash never leaves a partial file under `path`. */
infino_status store_sink_open_file(struct store_sink **out, const char *path);

/* Starts an in-memory sink; take the bytes with store_sink_take_memory(). */
infino_status store_sink_open_memory(struct store_sink **out, const char *name);

/* Called by store_sink_finish() on a memory sink opened with
 * store_sink_open_publish(): `data` is moved to the callee (also on
 * failure, when it must free it with mem_free()). */
typedef infino_status (*store_publish_fn)(void *payload, const char *name,
                                          uint8_t *data, size_t len,
                                          enum store_publish mode);

/* An in-memory sink whose finish() hands the bytes to `publish`. Used by
 * backends that keep objects in memory or upload them on finish. */
infino_status store_sink_open_publish(struct store_sink **out, const char *name,
                                      store_publish_fn publish, void *payload);

/* Callbacks of a sink opened with store_sink_open_hooks(). The sink owns
 * `payload` and releases it through exactly one of finish() and abort(). */
struct store_sink_hooks {
    infino_status (*write)(void *payload, const void *p, size_t n);
    /* publishes and releases `payload`, also on failure */
    infino_status (*finish)(void *payload, enum store_publish mode);
    void (*abort)(void *payload); /* discards and releases `payload` */
};

/* A sink whose writes, finish and abort go to `hooks` (borrowed: static
 * storage). Lets a backend wrap another sink, e.g. to inject faults in
 * tests. `payload` is taken: if this call fails, hooks->abort(payload) has
 * run. store_sink_tell() counts the bytes of successful writes. */
infino_status store_sink_open_hooks(struct store_sink **out, const char *name,
                                    const struct store_sink_hooks *hooks,
                                    void *payload);

infino_status store_sink_write(struct store_sink *s, const void *p, size_t n);
/* Starts a running CRC-32C over every byte written from now on; returns
 * (and stops) it with store_sink_crc_end(). Lets a container checksum a
 * region that another module streams into the sink. Not nestable. */
void store_sink_crc_begin(struct store_sink *s);
uint32_t store_sink_crc_end(struct store_sink *s);
/* CRC-32C of every byte written so far (always kept: whole-file checks). */
uint32_t store_sink_file_crc(const struct store_sink *s);

/* Bytes written so far (the offset of the next write). */
uint64_t store_sink_tell(const struct store_sink *s);
/* Borrowed: valid until finish/abort. */
const char *store_sink_name(const struct store_sink *s);

/* Makes the object durable and visible, then frees the sink (also on
 * failure, after removing the temporary file). */
infino_status store_sink_finish(struct store_sink *s, enum store_publish mode);

/* Memory sinks only: frees the sink and moves its bytes to the caller
 * (*data_out is owned; release with mem_free()). */
infino_status store_sink_take_memory(struct store_sink *s, uint8_t **data_out,
                                     size_t *len_out);

/* Discards everything written and frees the sink. NULL is a no-op. */
void store_sink_abort(struct store_sink *s);

/* ---- local file helpers -------------------------------------------- */

/* fsyncs the directory containing `path` (or `path` itself if a dir). */
infino_status store_fsync_dir(const char *dir);

/* Creates `path` and missing parents (mode 0777 & ~umask). Each directory
 * it creates is made durable: its parent is fsynced. INFINO_ERR_IO naming
 * the directory when a component exists but is not a directory. */
infino_status store_mkdirs(const char *path);

/* Directory fsyncs done by this process so far (store_fsync_dir() and
 * store_mkdirs()). For tests: durability of a name is otherwise
 * unobservable. */
uint64_t store_dir_fsyncs(void);

#endif
