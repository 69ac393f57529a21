/*
 * cdata.h - Arrow data between JavaScript and the engine's C Data Interface.
 *
 * Rows cross the addon boundary as Arrow C Data Interface structures, never
 * as IPC bytes: JavaScript already holds each column as the buffers Arrow
 * defines (apache-arrow's Data, or the typed arrays lib/arrow.js fills from
 * row objects), and the engine takes and returns ArrowArrayStreams. So the
 * addon only moves buffers:
 *
 *  - in (append, update, createTable): cdata_import_* walks a description
 *    the JS layer built ({ format, name, flags, metadata, children } for a
 *    schema, { length, nullCount, offset, buffers, children, dictionary }
 *    per batch), checks that every buffer holds the bytes its type, length
 *    and offset imply, and copies them into C memory that the structures
 *    own. The copy makes async calls safe (JS may touch its arrays while a
 *    pool thread appends) and costs nothing next to a durable commit.
 *
 *  - out (searches, SQL, schemas): cdata_pack_stream drains a result stream
 *    into one block per batch: a layout of float64 words (per node, in
 *    pre-order: length, null count, offset, number of buffers, then byte
 *    offset and byte length of each buffer, then number of children)
 *    followed by the buffers, each 8-byte aligned. JavaScript views the
 *    block through typed arrays and wraps it with apache-arrow's makeData.
 *    The schema crosses as a small JSON text (cdata_schema_json), which the
 *    JS layer caches: repeated searches return the same text.
 *
 * Nothing here calls Node-API except the import functions, which read the
 * descriptions; packing runs on libuv's pool threads.
 */
#ifndef INFINO_NODE_CDATA_H
#define INFINO_NODE_CDATA_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "infino.h"

/* A result stream drained into memory the addon owns. */
struct packed_batch {
    uint8_t *bytes; /* owned: layout words, then the buffers */
    size_t len;
};

struct packed_result {
    char *schema_json; /* owned, NUL-terminated */
    size_t schema_len;
    struct packed_batch *batches; /* owned */
    size_t n_batches;
};

/* Drains `stream` (taken: released before returning, also on failure)
 * into *out. On failure returns -1 with a message in err (NUL-terminated,
 * at most errcap bytes); *out is then empty. No Node-API calls: safe on a
 * pool thread. */
int cdata_pack_stream(struct packed_result *out, struct ArrowArrayStream *s,
                      char *err, size_t errcap);

/* The JSON text describing `schema` (borrowed) in *out (owned, free()).
 * Returns -1 with a message in err on failure. */
int cdata_schema_json(char **out, size_t *len_out,
                      const struct ArrowSchema *schema, char *err,
                      size_t errcap);

/* Frees what a packed result owns; a zeroed result is a no-op. */
void cdata_packed_free(struct packed_result *r);

/* Builds *out (owned: call out->release) from a schema description. On
 * failure a JavaScript exception is pending and *out is released-marked. */
napi_status cdata_import_schema(napi_env env, napi_value desc,
                                struct ArrowSchema *out);

/* Builds a stream (owned: call out->release) of the batches described by
 * `batches` (a JS array of array descriptions) under `schema_desc`. On
 * failure a JavaScript exception is pending and *out is released-marked. */
napi_status cdata_import_stream(napi_env env, napi_value schema_desc,
                                napi_value batches,
                                struct ArrowArrayStream *out);

#endif /* INFINO_NODE_CDATA_H */
