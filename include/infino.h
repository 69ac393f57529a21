/*
 * infino.h - the public C API of infino, an embedded search-on-Parquet database.
 *
 * Design
 * ------
 * A database is a folder (or `memory://`). It holds tables. A table has a
 * fixed Arrow schema and an index spec naming full-text and vector columns.
 * Rows are appended in batches; one append is one atomic, durable commit.
 * Data lives in "superfiles": valid Parquet files that also carry a BM25
 * inverted index and an IVF vector index in regions placed after the row
 * groups and before the Parquet footer, so any Parquet reader opens them.
 *
 * Data crosses this API as Arrow C Data Interface structures
 * (ArrowSchema / ArrowArray / ArrowArrayStream), which pyarrow, Node and
 * most Arrow libraries exchange without copying.
 *
 * Errors
 * ------
 * Every fallible function returns an infino_status. On failure the calling
 * thread's last-error message (infino_last_error()) says what went wrong,
 * outermost context first, naming the table, column or file involved.
 *
 * Ownership
 * ---------
 * "owned": the caller releases it. "borrowed": valid until the stated
 * event; never release it. Arrow structures follow the C Data Interface
 * rules: whoever holds a non-released structure calls its `release`.
 *
 * Caveats
 * -------
 * - Handles are not synchronised: use one handle from one thread at a time,
 *   or add your own locking. Separate handles may be used concurrently.
 */
#ifndef INFINO_H
#define INFINO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(INFINO_BUILDING) && defined(__GNUC__)
#define INFINO_API __attribute__((visibility("default")))
#else
#define INFINO_API
#endif

#define INFINO_VERSION_MAJOR 0
#define INFINO_VERSION_MINOR 1
#define INFINO_VERSION_PATCH 0
#define INFINO_VERSION_NUMBER                                                  \
    (INFINO_VERSION_MAJOR * 10000 + INFINO_VERSION_MINOR * 100 +               \
     INFINO_VERSION_PATCH)
#define INFINO_VERSION_STRING "0.1.0"

/* ---- Arrow C Data Interface --------------------------------------------
 * The ABI structs exactly as the Arrow specification defines them ("The
 * Arrow C data interface" and "The Arrow C stream interface"); the guard
 * macros let them coexist with other headers that declare them. */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* Runtime version, to compare with INFINO_VERSION_NUMBER of the header. */
INFINO_API unsigned infino_version_number(void);

typedef enum infino_status { /* values are ABI: append only, never renumber */
                             INFINO_OK = 0,
                             INFINO_ERR_NOMEM = -1,
                             INFINO_ERR_IO = -2,
                             /* on-disk bytes violate the format */
                             INFINO_ERR_CORRUPT = -3,
                             /* caller broke a documented precondition */
                             INFINO_ERR_INVALID = -4,
                             INFINO_ERR_NOTFOUND = -5,
                             /* commit lost an optimistic race: retry */
                             INFINO_ERR_CONFLICT = -6,
                             INFINO_ERR_UNSUPPORTED = -7,
                             INFINO_ERR_EXISTS = -8,
                             /* update matched a different number of rows */
                             INFINO_ERR_CARDINALITY = -9,
} infino_status;

/* Detail for the last non-OK status returned on *this thread*, e.g.
 * "reading footer of a.parquet: missing PAR1 magic".
 * Borrowed: valid until the next infino_* call on this thread. Never NULL. */
INFINO_API const char *infino_last_error(void);

/* Static text naming a status ("corrupt data", ...). Never NULL. */
INFINO_API const char *infino_status_str(infino_status st);

#ifdef __cplusplus
}
#endif
#endif /* INFINO_H */
