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
 * Threads
 * -------
 * Database and table handles may be shared between threads: readers pin
 * an immutable snapshot per call and never block; writers on one table
 * handle are serialized by a mutex, and writers in other handles or
 * processes serialize through the commit (the loser retries on top of the
 * winner). Close a table before its database, and a handle only when no
 * other thread is using it. Interrupt flags (infino_interrupt_watch) are
 * per thread: a flag stops only the calls of the thread that watches it.
 *
 * Caveats
 * -------
 * - memory:// databases are private to their handle and vanish with it;
 *   update and delete need durable storage. gc works there too, and
 *   compaction and optimize on memory:// collect what they merged away
 *   themselves (the bytes stay while any view or scan still names them).
 * - Appends are durable when they return: each commit fsyncs its files and
 *   their directories (about 4 fsyncs), so many tiny appends are slow;
 *   batch rows.
 * - Index building (full-text, vectors) spills to the directory named by
 *   infino_connect_opts.tmp_dir, else $TMPDIR, else /tmp.
 * - Interrupts (infino_interrupt_watch) are polled between batches, so a
 *   call stops within about one batch, row group or index region of work,
 *   plus the removal of what it wrote. INFINO_ERR_INTERRUPTED means
 *   nothing was committed; a call whose commit landed returns INFINO_OK
 *   (the flag stays set for the caller). optimize commits one merged
 *   group at a time: interrupted after some groups, it returns INFINO_OK
 *   with those merged. gc is not interruptible.
 * - A handle maps at most INFINO_MAX_OPEN_SUPERFILES (environment,
 *   default 1024) superfiles beyond those a running call uses, closing
 *   the least recently used; tables of any number of superfiles open.
 */
#ifndef INFINO_H
#define INFINO_H

#include <signal.h> /* sig_atomic_t */
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
                             /* the watched interrupt flag was set (see
                                infino_interrupt_watch); nothing was
                                committed */
                             INFINO_ERR_INTERRUPTED = -10,
                             /* another maintenance run (optimize,
                                reindex) holds the table in this
                                process; nothing was changed */
                             INFINO_ERR_BUSY = -11,
} infino_status;

/* Detail for the last non-OK status returned on *this thread*, e.g.
 * "reading footer of a.parquet: missing PAR1 magic".
 * Borrowed: valid until the next infino_* call on this thread. Never NULL. */
INFINO_API const char *infino_last_error(void);

/* Static text naming a status ("corrupt data", ...). Never NULL. */
INFINO_API const char *infino_status_str(infino_status st);

/* ---- Interrupts ----------------------------------------------------------
 * Makes the calling thread's long calls watch `flag`: append, update,
 * delete, optimize, query_sql and scans poll it between input batches,
 * row groups, superfiles and index regions, and stop with
 * INFINO_ERR_INTERRUPTED when it is non-zero. An interrupted call has
 * committed nothing (optimize: see Caveats); a call that returns
 * INFINO_OK committed in full, even if the flag was set after its last
 * poll (no poll follows a publish). Typical use: a SIGINT handler sets
 * the flag.
 *
 * `flag` is borrowed: it must stay valid until this thread calls
 * infino_interrupt_watch again (NULL stops watching; the initial state).
 * The library only reads it; the caller sets it (a plain store from a
 * signal handler, or an atomic store from another thread) and clears it.
 * Per thread: calls made by other threads are not affected. Work the
 * library spreads over its worker threads finishes its current piece
 * before the calling thread's next poll sees the flag. gc and the commit
 * itself (a few fsyncs) are not interruptible. */
INFINO_API void infino_interrupt_watch(const volatile sig_atomic_t *flag);

/* ---- Parquet files -----------------------------------------------------
 * Plain Parquet files from Arrow streams and back, outside any database:
 * for tests, the command-line tool and conversions. Files written here
 * carry the Arrow schema ("ARROW:schema"), so Arrow readers restore
 * large_utf8, fixed_size_list, time zones and unsigned types exactly. */

typedef struct infino_parquet_opts {
    uint32_t version;          /* set by INFINO_PARQUET_OPTS_INIT (1) */
    int codec;                 /* Parquet CompressionCodec: 0 none, 1 SNAPPY,
                                  2 GZIP, 6 ZSTD (default) */
    int zstd_level;            /* ZSTD level, default 1 (GZIP: 1-9) */
    uint64_t row_group_bytes;  /* close a row group at about this many
                                  encoded bytes (default 128 MiB) */
    int64_t row_group_rows;    /* ... or at this many rows (default 2^20) */
    uint32_t page_bytes;       /* target data page size (default 1 MiB) */
    int data_page_version;     /* 1 (default) or 2 */
    int dictionary;            /* 1: dictionary-encode strings and binary,
                                  falling back to PLAIN per column chunk
                                  past dictionary_bytes (default 1) */
    uint32_t dictionary_bytes; /* default 1 MiB */
    int statistics;            /* 1: write min/max/null_count (default) */
} infino_parquet_opts;
#define INFINO_PARQUET_OPTS_INIT                                               \
    { 1, 6, 1, 128u << 20, 1 << 20, 1u << 20, 1, 1, 1u << 20, 1 }

/* Writes every batch of `stream` to a new Parquet file at `path`. Takes
 * `stream`: it is released before returning, also on failure. Each batch
 * is validated against the stream's schema first; a bad batch is
 * INFINO_ERR_INVALID naming the column. The file appears atomically under
 * `path` (replacing an existing file) only when everything succeeded.
 * `opts` may be NULL for the defaults. */
INFINO_API infino_status infino_parquet_write(const char *path,
                                              struct ArrowArrayStream *stream,
                                              const infino_parquet_opts *opts);

/* Opens the Parquet file at `path` as a stream of batches, one per row
 * group. `columns` names the columns to read, in that order (NULL with
 * n_columns == 0: all); an unknown name is INFINO_ERR_INVALID naming it.
 * On success *out is owned by the caller, who calls out->release; the
 * file stays open until then. On failure *out is left released-marked
 * (out->release == NULL). */
INFINO_API infino_status infino_parquet_read(struct ArrowArrayStream *out,
                                             const char *path,
                                             const char *const *columns,
                                             size_t n_columns);

/* ---- Databases ----------------------------------------------------------
 * A database is a folder (a path or file:// URI), a prefix of a bucket
 * (s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX), or
 * memory:// (per call of infino_connect, gone when closed). It holds
 * named tables. */

typedef struct infino_db infino_db;       /* opaque: one open database */
typedef struct infino_table infino_table; /* opaque: closed before its db */
typedef struct infino_index_spec infino_index_spec; /* opaque builder */

/* One storage option: key and value, both borrowed for the call. */
typedef struct infino_storage_option {
    const char *key;
    const char *value;
} infino_storage_option;

typedef struct infino_connect_opts {
    uint32_t version;            /* set by INFINO_CONNECT_OPTS_INIT */
    const char *tmp_dir;         /* index build spills; NULL: $TMPDIR */
    uint64_t build_memory_bytes; /* per append, before spilling; 0: 256 MiB */
    /* version >= 2: options of the storage, as upstream names them (S3:
     * aws_access_key_id, aws_secret_access_key, aws_session_token,
     * aws_region, aws_endpoint, aws_allow_http; GCS:
     * google_service_account, google_service_account_key,
     * google_application_credentials, google_skip_signature,
     * google_base_url, google_allow_http; Azure:
     * azure_storage_account_name, azure_storage_account_key,
     * azure_storage_sas_key, azure_storage_client_id,
     * azure_storage_client_secret, azure_storage_tenant_id,
     * azure_storage_authority_host, azure_storage_endpoint (or
     * azure_endpoint), azure_storage_use_emulator, azure_allow_http).
     * Values may be secrets: they never appear in a message. Omitted
     * settings come from the environment (docs/object-storage.md: AWS_*,
     * GOOGLE_APPLICATION_CREDENTIALS, STORAGE_EMULATOR_HOST, AZURE_*);
     * the S3 region defaults to us-east-1. */
    const infino_storage_option *storage_options;
    size_t n_storage_options;
    /* version >= 3: the local read cache of object stores (ignored by
     * local folders and memory://). Superfiles and tombstones, which never
     * change once written, are kept under cache_dir (created if missing;
     * several processes may share it) up to cache_budget_bytes of disk
     * (0: 10 GiB), least recently used first out; a cached object is read
     * without the network. Snapshots, hints, leases and the catalog are
     * never cached: every call still asks the store whether a newer
     * snapshot exists. NULL cache_dir: no cache; ranges are read into
     * scratch files in tmp_dir, dropped when closed. cold_fetch_mode
     * (case-insensitive; NULL: the first): how an object not yet cached is
     * read: "lazy_foreground_with_background_fill" ("lazy": the ranges a
     * read needs now, the rest downloaded in the background),
     * "hybrid_with_prefetch" ("hybrid": the ranges a read needs and up to
     * 1 MiB after them, all kept) or "range_only" ("range": only the
     * ranges read, nothing kept). Another value is INFINO_ERR_INVALID. */
    const char *cache_dir;
    uint64_t cache_budget_bytes;
    const char *cold_fetch_mode;
    /* version >= 4: bounded staleness, an extension (upstream has no such
     * setting). 0 (the default): every read of a table handle asks the
     * store whether a newer snapshot exists, so it sees every commit
     * acknowledged before the call began, by any process or host. N > 0:
     * a read (search, count, scan, count_rows) answers from the handle's
     * snapshot without asking when the handle last asked less than N ms
     * ago (monotonic clock), so a warm read sends no request; it may then
     * miss commits of other databases (processes, hosts) acknowledged
     * within the last N ms. Commits through any table of this database
     * are seen at once, writes (append, update, delete, optimize) always
     * ask, and a handle still asks once per 20 s (when it renews its
     * reader lease). query_sql opens its tables afresh per call, so it
     * always asks. */
    uint64_t max_staleness_ms;
    /* version >= 5: automatic compaction, an extension (upstream has no
     * such setting). After each append or update commits, the table's
     * superfiles are tiered by live rows in powers of the fanout F (tier
     * k: F^k .. F^(k+1) - 1 rows); while the lowest tier holds F or more
     * whose files total at most auto_compact_max_bytes, they are merged
     * into one, rows keeping their _ids, in one atomic commit (as
     * infino_table_optimize merges, within build_memory_bytes). The call
     * pays for it before it returns, bounded by that cap; a row is
     * rewritten about log_F(rows) times over its life and a table keeps
     * about F superfiles per tier below the cap. The append or update is
     * committed first and returns INFINO_OK whatever the merge meets (a
     * merge that fails, or that another writer's merge overtakes, is
     * simply not done). Larger merges are left to infino_table_optimize;
     * merged-away files stay on storage until infino_table_gc (on
     * memory:// the merge collects them at once: nothing else would).
     * auto_compact_fanout: 0: the default (INFINO_AUTO_COMPACT_DEFAULT),
     * INFINO_AUTO_COMPACT_OFF: never, 2.. : F. auto_compact_max_bytes: 0:
     * 64 MiB. */
    uint32_t auto_compact_fanout;
    uint64_t auto_compact_max_bytes;
} infino_connect_opts;
#define INFINO_AUTO_COMPACT_OFF 1u
#define INFINO_AUTO_COMPACT_DEFAULT 8u
#define INFINO_CONNECT_OPTS_INIT { 5, NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0 }

/* Opens (creating if needed) the database at `uri`: a path, file://PATH,
 * s3://BUCKET[/PREFIX], gs:// or gcs://BUCKET[/PREFIX], az:// or
 * azure://CONTAINER[/PREFIX], or memory:// (also memory: and memory). Any
 * other
 * scheme is INFINO_ERR_INVALID naming the URI, and so is a storage option
 * no backend knows or one of another backend (local folders and memory://
 * ignore the known ones). Connecting touches no network: an unreachable
 * endpoint or bad credentials surface at the first call that reads or
 * writes. With a custom aws_endpoint, S3 requests are path-style
 * (http://host/BUCKET/KEY); plain http:// needs aws_allow_http=true
 * (google_allow_http, azure_allow_http likewise). On
 * success *out is owned (infino_db_close). `opts` may be NULL. */
INFINO_API infino_status infino_connect(infino_db **out, const char *uri,
                                        const infino_connect_opts *opts);
/* NULL is a no-op. Close every table of the db first. */
INFINO_API void infino_db_close(infino_db *db);
/* 0 for memory:// databases. */
INFINO_API int infino_db_is_durable(const infino_db *db);

/* The longest table name, in bytes. A table's storage folder is
 * "tables/<name>-<16 hex>-<16 hex>", one path component, and file systems
 * cap a component at 255 bytes: 255 - 34 = 221. */
#define INFINO_TABLE_NAME_MAX 221
/* The most columns a table can have, its "_id" included. query_sql's
 * engine (SQLite: 2000 columns per table unless built otherwise) adds
 * up to 7 columns of its own to a table (a search's score and its
 * arguments); the rest is a margin. */
#define INFINO_TABLE_COLUMNS_MAX 1600

/* 1 when `name` is a valid table name: 1-INFINO_TABLE_NAME_MAX of
 * [A-Za-z0-9_-], not starting with '_'. */
INFINO_API int infino_table_name_valid(const char *name);

/* Index specs: which columns are full-text and vector indexed. */
INFINO_API infino_status infino_index_spec_new(infino_index_spec **out);
INFINO_API void infino_index_spec_free(infino_index_spec *s);
/* Adds a full-text column (utf8 or large_utf8; checked at create) with
 * the default options (INFINO_FTS_OPTS_INIT). */
INFINO_API infino_status infino_index_spec_fts(infino_index_spec *s,
                                               const char *column);

/* How a full-text column turns text into terms, at index and at query
 * time, and its BM25 parameters. Fixed when the table is created (a
 * different analysis needs the rows indexed again). */
typedef struct infino_fts_opts {
    uint32_t version;     /* set by INFINO_FTS_OPTS_INIT */
    /* "standard" (NULL): NFKC with case folding, then words per UAX #29
     * (Unicode 15) that hold a letter or digit: "don't", "3.14" and
     * "user_name" are one token, each CJK ideograph is one. "alnum": runs
     * of letters and digits after the same normalization (tables made
     * before analyzers existed use it). */
    const char *analyzer;
    /* A Snowball language (libstemmer's names, e.g. "english", "german",
     * "porter"), or NULL: no stemming. */
    const char *stemmer;
    /* A language with a built-in stop word list (english, french,
     * german, spanish, italian, portuguese, dutch), or NULL. English is
     * Lucene's 33 words, as upstream infino's. */
    const char *stopwords;
    /* Or the caller's own stop words (borrowed for the call; each must
     * be one token under the analyzer), instead of `stopwords`. */
    const char *const *stopword_list;
    size_t n_stopword_list;
    /* BM25 parameters of the column, both 0 for the defaults (1.2 and
     * 0.75); else k1 finite and > 0, b in [0, 1]. */
    double k1, b;
    /* Version 2 on. Non-zero: quoted phrases ("new york") may be searched
     * in this column (otherwise a phrase query is INFINO_ERR_INVALID). */
    int positions;
    /* Zero: the column is indexed but hidden from results, projections
     * and SQL (upstream's stored=False; the text stays in the superfile
     * so that optimize and reindex can rebuild the index). */
    int stored;
} infino_fts_opts;
#define INFINO_FTS_OPTS_INIT {2, NULL, NULL, NULL, NULL, 0, 0.0, 0.0, 0, 1}

/* infino_index_spec_fts with options (NULL: INFINO_FTS_OPTS_INIT).
 * INFINO_ERR_INVALID naming the column for an unknown analyzer, stemmer
 * or stop word language, a stop word that is not one token, or k1/b out
 * of range. */
INFINO_API infino_status infino_index_spec_fts_ex(infino_index_spec *s,
                                                  const char *column,
                                                  const infino_fts_opts *o);
/* Adds a vector column: fixed_size_list<float32, dim>, `n_centroids` IVF
 * lists, `metric` one of cosine, l2sq (l2), negdot (dot), any case. */
INFINO_API infino_status infino_index_spec_vector(infino_index_spec *s,
                                                  const char *column,
                                                  uint32_t dim,
                                                  uint32_t n_centroids,
                                                  const char *metric);

/* Creates table `name` with `schema` (borrowed: a struct schema whose
 * fields are the columns) and `spec` (borrowed; NULL = no indexes).
 * INFINO_ERR_EXISTS when the name is taken. INFINO_ERR_INVALID, naming
 * the table or column, for a schema no table can serve: a column type
 * other than bool, integers, floats, utf8, large_utf8, binary,
 * large_binary, date32, timestamp, decimal128 with 0 <= scale <=
 * precision, and list, large_list or fixed_size_list of one of these; no
 * columns or more than INFINO_TABLE_COLUMNS_MAX - 1; an empty column
 * name; two names equal but for ASCII case (SQL cannot tell them apart);
 * a reserved name ("_id" and names starting "__infino", in any case).
 * On success *out is an open handle (owned: infino_table_close). */
INFINO_API infino_status infino_create_table(infino_table **out,
                                             infino_db *db, const char *name,
                                             const struct ArrowSchema *schema,
                                             const infino_index_spec *spec);
/* INFINO_ERR_NOTFOUND when there is no such table. */
INFINO_API infino_status infino_open_table(infino_table **out, infino_db *db,
                                           const char *name);
/* Removes the table from the catalog; with `purge`, also deletes its
 * storage. INFINO_ERR_NOTFOUND when absent. */
INFINO_API infino_status infino_drop_table(infino_db *db, const char *name,
                                           int purge);
/* Sorted table names. *names_out is owned: infino_free_names(). */
INFINO_API infino_status infino_list_tables(infino_db *db, char ***names_out,
                                            size_t *n_out);
INFINO_API void infino_free_names(char **names, size_t n);

/* ---- Tables ---------------------------------------------------------- */

INFINO_API void infino_table_close(infino_table *t); /* NULL is a no-op */
/* Borrowed, valid until infino_table_close. */
INFINO_API const char *infino_table_name(const infino_table *t);
/* The user's schema (without _id): what appended rows follow, so full-text
 * columns indexed with stored == 0 are in it, though no scan, search
 * result or SQL statement returns them. *out is owned (call
 * out->release). */
INFINO_API infino_status infino_table_schema(const infino_table *t,
                                             struct ArrowSchema *out);
/* Schema evolution. A table's schema grows by columns; existing columns
 * never change. The schema id is 1 as created and one more after every
 * change; infino_table_schema and infino_table_schema_id ask storage for
 * a newer snapshot first, so they see changes made through other handles
 * and processes. */
INFINO_API infino_status infino_table_schema_id(infino_table *t,
                                                uint64_t *out);
/* Adds the fields of `columns` (borrowed: a struct schema) to the table's
 * schema as one atomic commit. A field whose name is a column already
 * must equal it in type and nullability and changes nothing; another type
 * or nullability is INFINO_ERR_INVALID naming the column. New columns
 * come last, in order, under the rules of infino_create_table; a
 * non-nullable one only while the table has no live rows
 * (INFINO_ERR_INVALID). Existing files are not rewritten: rows written
 * before a column existed read it as null, and appends may omit nullable
 * columns. `expected_schema_id` (0: no check) must be the schema id the
 * change applies to, else INFINO_ERR_CONFLICT and nothing changes. A
 * change adding nothing commits nothing. *schema_id_out (may be NULL)
 * gets the schema id afterwards. */
INFINO_API infino_status infino_table_add_columns(
    infino_table *t, const struct ArrowSchema *columns,
    uint64_t expected_schema_id, uint64_t *schema_id_out);
/* The i-th index of the table (full-text ones first, then vector ones):
 * *kind_out "fts" or "vector", *column_out its column (borrowed, valid
 * until infino_table_close); for a vector index *dim_out, *n_centroids_out
 * (0: chosen per file) and *metric_out ("cosine", "l2sq", "negdot"),
 * else 0, 0 and NULL. INFINO_ERR_NOTFOUND past the last index. Out
 * pointers may be NULL. */
INFINO_API infino_status infino_table_index_at(const infino_table *t,
                                               size_t i,
                                               const char **kind_out,
                                               const char **column_out,
                                               uint32_t *dim_out,
                                               uint32_t *n_centroids_out,
                                               const char **metric_out);
/* The options of index `i` (as infino_table_index_at counts) when it is
 * a full-text index: the analyzer's name, the stemmer's and the stop word
 * language's (NULL: none), the user's stop word list (NULL and 0: none;
 * normalized, sorted), k1/b (0, 0: the defaults) and, from version 2,
 * positions and stored. Set out->version first (INFINO_FTS_OPTS_INIT):
 * fields a version lacks are not written, so a caller built against an
 * older header keeps working; another version is INFINO_ERR_INVALID. The
 * strings are borrowed from the handle. INFINO_ERR_NOTFOUND past the last
 * index, INFINO_ERR_INVALID for a vector index. */
INFINO_API infino_status infino_table_fts_opts_at(const infino_table *t,
                                                  size_t i,
                                                  infino_fts_opts *out);
/* Live rows of the current snapshot. */
INFINO_API infino_status infino_table_count_rows(infino_table *t,
                                                 uint64_t *out);

/* Appends every batch of `rows` as one atomic commit, durable on return.
 * Takes `rows` (released before returning). Columns are matched to the
 * schema by name; utf8/large_utf8, list/fixed_size_list and integer
 * widths are converted where lossless. Any invalid value fails the whole
 * append with INFINO_ERR_INVALID naming the column and row. Empty input
 * commits nothing. *n_rows_out may be NULL. */
INFINO_API infino_status infino_table_append(infino_table *t,
                                             struct ArrowArrayStream *rows,
                                             uint64_t *n_rows_out);

typedef struct infino_mutation_stats {
    uint64_t matched;      /* rows the predicate selected */
    uint64_t n_tombstoned; /* rows this call removed */
    uint64_t n_not_found;  /* selected rows that were already gone */
} infino_mutation_stats;

/* Deletes the rows for which the SQL boolean expression `predicate` is
 * true (e.g. "doc_id = '1'"). Anything but one expression over the
 * table's readable columns (not those indexed with stored == 0) is
 * INFINO_ERR_INVALID. Durable storage only (INFINO_ERR_UNSUPPORTED on
 * memory://). */
INFINO_API infino_status infino_table_delete(infino_table *t,
                                             const char *predicate,
                                             infino_mutation_stats *out);
/* Replaces the rows `predicate` selects by `rows` (taken), 1:1 and
 * atomically; INFINO_ERR_CARDINALITY, changing nothing, when the counts
 * differ. Replacement rows get new _ids. Durable storage only. */
INFINO_API infino_status infino_table_update(infino_table *t,
                                             const char *predicate,
                                             struct ArrowArrayStream *rows,
                                             infino_mutation_stats *out);

typedef struct infino_optimize_opts {
    uint32_t version;             /* set by INFINO_OPTIMIZE_OPTS_INIT */
    uint64_t max_memory_mb;       /* 0: default (1024) */
    int32_t min_fill_percent;     /* 0..100; -1: default (80) */
    uint64_t target_superfile_mb; /* 0: default (1024) */
    /* version >= 2, upstream 0.11's options, validated and otherwise
     * without effect (docs/differences.md): `recalibrate` NULL or "auto",
     * "force", "skip" (any case; else INFINO_ERR_INVALID), since every
     * superfile optimize writes trains its vector index afresh on its own
     * rows; `stale_seal_timeout_ms` any value, since no run here leaves a
     * seal to time out. */
    const char *recalibrate;
    uint64_t stale_seal_timeout_ms;
} infino_optimize_opts;
#define INFINO_OPTIMIZE_OPTS_INIT { 2, 0, -1, 0, NULL, 0 }

/* Merges small or underfilled superfiles and drops deleted rows, in one
 * atomic commit per merged group. `opts` may be NULL. Waits while a
 * reindex of the table runs in this process (see infino_table_reindex). */
INFINO_API infino_status infino_table_optimize(infino_table *t,
                                               const infino_optimize_opts *o);

/* ---- Reindex ---------------------------------------------------------
 * A superfile's indexes are stale when this engine would write them
 * differently today: an index region of an older format version (e.g. a
 * full-text region of format 1, which cut terms at 255 bytes), or terms
 * analyzed otherwise than the column's analyzer now says. A repair
 * rebuilds the superfile from its stored rows into a new file that takes
 * the old one's place: rows, their order, their _ids, deleted rows and
 * their tombstones are unchanged, so searches answer as before. Each
 * superfile is one atomic commit; concurrent appends, deletes and updates
 * are kept. Durable storage only: INFINO_ERR_INVALID on memory://. */

typedef struct infino_reindex_opts {
    uint32_t version; /* set by INFINO_REINDEX_OPTS_INIT */
    /* "auto" (NULL): each stale superfile gets the repair it needs;
     * "rewrite": format-stale ones only, term-stale ones are left and
     * counted as awaiting_reanalysis; "reanalyze": every stale one. Any
     * case; another value is INFINO_ERR_INVALID. */
    const char *mode;
    /* Upstream's timeout for seals of crashed runs; accepted, unused: no
     * run here leaves a seal (docs/differences.md). */
    uint64_t stale_seal_timeout_ms;
} infino_reindex_opts;
#define INFINO_REINDEX_OPTS_INIT { 1, NULL, 0 }

/* A superfile's id: 32 lowercase hex digits, as in its file name. */
#define INFINO_SUPERFILE_ID_LEN 32

typedef struct infino_planned_repair {
    char superfile_id[INFINO_SUPERFILE_ID_LEN + 1];
    const char *mode;    /* "rewrite" or "reanalyze" (static text) */
    uint64_t live_bytes; /* file size x fraction of rows not deleted */
} infino_planned_repair;

typedef struct infino_reindex_report {
    uint64_t superfiles;          /* in the snapshot examined */
    uint64_t already_current;     /* nothing to repair */
    uint64_t needing_rewrite;     /* stale ones the mode repairs */
    uint64_t awaiting_reanalysis; /* term-stale ones "rewrite" leaves */
    uint64_t bytes_to_rewrite;    /* file bytes of those to repair */
    uint64_t rewritten;           /* repaired by this call (reindex) */
    /* stale ones another writer (another process's optimize or reindex)
     * replaced first; left to it */
    uint64_t held_by_another_run;
    infino_planned_repair *plan;  /* needing_rewrite entries, in order */
    /* superfiles whose footer lacks an index region the table needs, or
     * names a format newer than this engine reads: not repaired */
    char (*inconsistent_footers)[INFINO_SUPERFILE_ID_LEN + 1];
    size_t n_inconsistent_footers;
} infino_reindex_report;

/* Repairs every stale superfile of the table's newest snapshot, one
 * commit each. INFINO_ERR_BUSY, changing nothing, while an optimize or
 * another reindex of the same table runs in this process (any handle);
 * runs in other processes are not seen, and are safe: the one that
 * commits second on a superfile leaves it (held_by_another_run). `o` may
 * be NULL. On success *out is owned: infino_reindex_report_free(). */
INFINO_API infino_status infino_table_reindex(infino_table *t,
                                              const infino_reindex_opts *o,
                                              infino_reindex_report *out);
/* What infino_table_reindex would repair now (rewritten and
 * held_by_another_run are 0), changing nothing. *out is owned. */
INFINO_API infino_status infino_table_reindex_plan(infino_table *t,
                                                   const infino_reindex_opts *o,
                                                   infino_reindex_report *out);
/* Frees what a report owns and zeroes it; NULL is a no-op. */
INFINO_API void infino_reindex_report_free(infino_reindex_report *r);

typedef struct infino_gc_report {
    uint64_t bytes_freed;
    uint64_t objects_deleted;
    uint64_t objects_skipped_live;
    uint64_t objects_skipped_too_new;
    uint64_t delete_errors;
} infino_gc_report;

/* Deletes files no retained snapshot needs and older than `grace_secs`
 * (negative = 0). Also on memory://, where what it deletes leaves memory
 * once no view or scan of the process names it (and merges collect
 * after themselves, so there is usually little left). */
INFINO_API infino_status infino_table_gc(infino_table *t, double grace_secs,
                                         infino_gc_report *out);

typedef struct infino_check_report {
    uint64_t version;        /* the snapshot checked */
    uint64_t n_superfiles;   /* superfiles it names */
    uint64_t n_rows;         /* live rows */
    uint64_t n_deleted;      /* tombstoned rows */
    uint64_t bytes_verified; /* superfile bytes read and verified */
} infino_check_report;

/* Verifies the table's newest snapshot against storage: every file it
 * names is present with its recorded size, every checksum holds, every
 * row group decodes, and row counts, _id ranges and deletion counts agree
 * with the snapshot. Reads the whole table. The first disagreement is
 * INFINO_ERR_CORRUPT (or INFINO_ERR_NOTFOUND for a missing file) naming
 * the file. */
INFINO_API infino_status infino_table_check(infino_table *t,
                                            infino_check_report *out);

/* Streams the live rows of the current snapshot: `columns` (NULL = all
 * but those indexed with stored == 0, "_id" first; naming one of those is
 * INFINO_ERR_INVALID; non-NULL with n_columns == 0 = no columns, batches
 * that only count rows) and, when `predicate` is not NULL, only rows for
 * which it is true. *out is owned (call out->release). */
INFINO_API infino_status infino_table_scan(infino_table *t,
                                           const char *const *columns,
                                           size_t n_columns,
                                           const char *predicate,
                                           struct ArrowArrayStream *out);

/* ---- Search --------------------------------------------------------------
 * Results are streams holding one batch: the `projection` columns in that
 * order ("_id", "score", or any column of the table but those indexed
 * with stored == 0, which are searchable, not readable), or "_id"
 * (decimal128(38, 0)) and "score" (float32) by default. BM25 and hybrid
 * scores: higher is better, sorted descending. Vector scores are distances
 * (smaller is nearer: cosine 1 - cos, l2sq squared L2, negdot -dot),
 * sorted ascending. token_match / exact_match: score 0, any order.
 *
 * Query text and exact-match values come with their length in bytes
 * (`query`, `query_len`): any bytes, NUL included, no terminator needed;
 * `query` may be NULL when the length is 0. Borrowed for the call. Tokens
 * are runs of letters and digits compared whole, however long; every
 * other byte (NUL too) separates them. A query holds at most 4096
 * distinct terms (and as many negated ones): more is INFINO_ERR_INVALID
 * giving the count. */

typedef struct infino_search_opts {
    uint32_t version;              /* set by INFINO_SEARCH_OPTS_INIT */
    const char *mode;              /* "or" (NULL) or "and", any case */
    const char *const *projection; /* NULL: _id and score */
    size_t n_projection;
    uint32_t nprobe;               /* vector lists to probe; 0: default */
    const char *filter_column;     /* vector: a full-text pre-filter ... */
    const char *filter_query;      /* ... both or neither (NUL-ended) */
    const char *filter_mode;       /* "or" (NULL) or "and" */
    /* version >= 2: BM25's k1 and b for this search only (bm25_search,
     * bm25_search_prefix, hybrid_search), when bm25_params is 1; 0: the
     * column's (IndexSpec.fts; default 1.2 and 0.75). k1 finite and > 0,
     * b in [0, 1], else INFINO_ERR_INVALID. Results stay exact. */
    int bm25_params;
    double k1, b;
} infino_search_opts;
#define INFINO_SEARCH_OPTS_INIT { 2, NULL, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0 }

/* Top `k` rows by BM25 over the full-text column `column`. The query is
 * whitespace-separated terms; "-term" excludes rows holding term; a term
 * named twice weighs twice. An empty query returns no rows; a query of
 * only negated terms is INFINO_ERR_INVALID. `o` may be NULL. *out is
 * owned. Scores are on upstream infino's scale: BM25 without the constant
 * (k1 + 1) factor, as Lucene 8 and later. */
INFINO_API infino_status infino_table_bm25_search(infino_table *t,
                                                  const char *column,
                                                  const char *query,
                                                  size_t query_len, size_t k,
                                                  const infino_search_opts *o,
                                                  struct ArrowArrayStream *out);
/* Top `k` rows by BM25 over the OR of every term of `column` that starts
 * with the `prefix_len` bytes at `prefix` (case folded and normalized as
 * tokens are), each term weighing once; table-global statistics as
 * bm25_search. The empty prefix names every term; a prefix holding a
 * separator (space, punctuation) matches nothing. o->mode is ignored. */
INFINO_API infino_status infino_table_bm25_search_prefix(
    infino_table *t, const char *column, const char *prefix,
    size_t prefix_len, size_t k, const infino_search_opts *o,
    struct ArrowArrayStream *out);
/* The `k` nearest rows of vector column `column` to `query` (`dim`
 * floats, which must match the column; NaN/infinity refused). */
INFINO_API infino_status infino_table_vector_search(
    infino_table *t, const char *column, const float *query, size_t dim,
    size_t k, const infino_search_opts *o, struct ArrowArrayStream *out);
/* Reciprocal rank fusion (k = 60) of a BM25 and a vector search. */
INFINO_API infino_status infino_table_hybrid_search(
    infino_table *t, const char *text_column, const char *text_query,
    size_t text_query_len, const char *vector_column,
    const float *vector_query, size_t dim, size_t k,
    const infino_search_opts *o, struct ArrowArrayStream *out);
/* Every row matching the terms of `query` (unranked). */
INFINO_API infino_status infino_table_token_match(infino_table *t,
                                                  const char *column,
                                                  const char *query,
                                                  size_t query_len,
                                                  const infino_search_opts *o,
                                                  struct ArrowArrayStream *out);
/* Every row whose whole value of `column` is exactly the `value_len`
 * bytes at `value`: any value (any number of words, repeated words,
 * empty, white space only, NUL bytes). Null rows never match. */
INFINO_API infino_status infino_table_exact_match(infino_table *t,
                                                  const char *column,
                                                  const char *value,
                                                  size_t value_len,
                                                  const infino_search_opts *o,
                                                  struct ArrowArrayStream *out);
/* How many rows match `query` (mode as above), without fetching them. */
INFINO_API infino_status infino_table_count(infino_table *t,
                                            const char *column,
                                            const char *query,
                                            size_t query_len,
                                            const char *mode, uint64_t *out);

/* ---- SQL ---------------------------------------------------------------
 * One read-only statement in SQLite's dialect over every table of the
 * database (by name; vector columns and full-text columns indexed with
 * stored == 0 are not visible, _id is) and the search table functions,
 * usable in FROM and joinable with anything:
 *   bm25_search('table', 'column', 'query', k [, 'or'|'and'])
 *   bm25_search_prefix('table', 'column', 'prefix', k)
 *   vector_search('table', 'column', '0.1,0.2,...', k)
 *   hybrid_search('table', 'text_col', 'query', 'vec_col', '0.1,...', k)
 *   token_match('table', 'column', 'query' [, mode])
 *   exact_match('table', 'column', 'value')
 * each yielding the table's visible columns plus `score`. Columns read
 * straight from a table keep their Arrow types. *out is owned. Errors are
 * INFINO_ERR_INVALID with the SQL engine's message. */
INFINO_API infino_status infino_query_sql(infino_db *db, const char *sql,
                                          struct ArrowArrayStream *out);

/* ---- Superfiles --------------------------------------------------------
 * A superfile is a Parquet file with index regions between its row groups
 * and its footer (see src/superfile/superfile.h for the layout). */

typedef struct infino_region_info {
    char name[129];    /* e.g. "fts.0", "ivf.0" */
    uint64_t offset;   /* absolute file offset */
    uint64_t length;   /* bytes */
    uint32_t crc32c;   /* stored checksum */
    int intact;        /* 1: the bytes match the checksum; 0: corrupt */
} infino_region_info;

/* Lists the regions of the superfile at `path` and verifies each one's
 * checksum. A plain Parquet file has none (*n_out = 0). *out is owned:
 * release with infino_free(). */
INFINO_API infino_status infino_superfile_regions(const char *path,
                                                  infino_region_info **out,
                                                  size_t *n_out);

/* Releases memory the library handed out where a function says so. */
INFINO_API void infino_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* INFINO_H */
