/*
 * json.h - a small, bounded JSON scanner for the bodies the GCS backend
 * and the OAuth token endpoints answer, and for service-account key files.
 *
 * RFC 8259 text: objects, arrays, strings (escapes and \u surrogate pairs
 * decoded to UTF-8), numbers (checked against the grammar, handed over as
 * text), true, false, null. The scanner walks the bytes once and reports
 * every value to a callback with the member name it belongs to; it keeps
 * two text buffers and recurses at most JSON_MAX_DEPTH levels. Malformed
 * input is INFINO_ERR_CORRUPT naming the byte offset, never an
 * out-of-bounds read (fuzz/fuzz_store_json.c).
 */
#ifndef INFINO_STORE_JSON_H
#define INFINO_STORE_JSON_H

#include "infino.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

enum json_type {
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL,
    JSON_OBJECT,
    JSON_ARRAY,
};

/* JSON_VALUE: a scalar; JSON_BEGIN / JSON_END: an object or array. */
enum json_ev { JSON_VALUE, JSON_BEGIN, JSON_END };

/* `depth`: containers around the value (the document's value is at 0).
 * `key`: the member name (decoded, NUL-terminated) when the value is in an
 * object, else NULL. `text` (JSON_VALUE only, NUL-terminated): a string's
 * decoded bytes or a number's text; "" for the literals. Both borrowed for
 * the call. */
typedef infino_status (*json_fn)(void *payload, enum json_ev ev,
                                 enum json_type type, int depth,
                                 const char *key, const char *text,
                                 size_t text_len);

/* Scans one document (white space around it allowed). `what` starts
 * error messages ("GCS response"). */
infino_status json_scan(const char *s, size_t len, const char *what,
                        json_fn fn, void *payload);

/* Helpers for callbacks. */
bool json_key_is(const char *key, const char *want); /* NULL key: false */
/* Replaces *out (owned) with a copy of `text`. */
infino_status json_dup(char **out, const char *text, size_t len);
/* A non-negative integer given as a number or a decimal string (GCS
 * writes 64-bit values as strings). */
infino_status json_parse_u64(uint64_t *out, const char *what,
                             const char *text, size_t len);

#endif
