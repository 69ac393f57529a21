/*
 * xml.h - a small, bounded XML scanner for the response bodies of object
 * stores (S3 in s3_xml.c, Azure Blob in az_xml.c).
 *
 * Not a general XML parser: elements, attributes (skipped), text with the
 * five predefined entities and numeric references, CDATA, comments and
 * the prolog; no DOCTYPE (refused), so nothing expands. It walks the bytes
 * once and reports element starts, leaves (elements without child
 * elements, with their decoded text) and ends to a callback, keeping only
 * a stack of names (pointers into the input) and one text buffer. Every
 * read checks the remaining length first; malformed input is
 * INFINO_ERR_CORRUPT naming the byte offset.
 */
#ifndef INFINO_STORE_XML_H
#define INFINO_STORE_XML_H

#include "infino.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Elements nest at most this deep (the bodies we read use 4). */
#define XML_MAX_DEPTH 32

enum xml_ev { XML_START, XML_LEAF, XML_END };

/* `depth` counts ancestors: the root element is at depth 0. `name` points
 * into the input; `text` is NUL-terminated (XML_LEAF only). Returning
 * anything but INFINO_OK stops the scan with that status. */
typedef infino_status (*xml_fn)(void *payload, enum xml_ev ev, int depth,
                                const char *name, size_t name_len,
                                const char *text, size_t text_len);

/* Scans one document. `what` starts error messages ("S3 response"). */
infino_status xml_scan(const char *s, size_t len, const char *what,
                       xml_fn fn, void *payload);

/* true when the document's root element is <`name`> (after the prolog
 * and comments), without scanning the rest. */
bool xml_root_is(const char *s, size_t len, const char *name);

/* Helpers for callbacks. */
bool xml_name_is(const char *name, size_t len, const char *want);
/* Replaces *out (owned) with a copy of `text`. */
infino_status xml_dup_text(char **out, const char *text, size_t len);
/* A decimal size; INFINO_ERR_CORRUPT prefixed by `what` otherwise. */
infino_status xml_parse_u64(uint64_t *out, const char *what, const char *s,
                            size_t len);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t xml_days_from_civil(int64_t y, int64_t m, int64_t d);
/* ISO 8601 UTC, "2009-10-12T17:50:30.000Z" (fraction optional). */
infino_status xml_parse_iso8601(int64_t *out_ns, const char *what,
                                const char *s, size_t len);
/* RFC 1123 (HTTP-date), "Sun, 06 Nov 1994 08:49:37 GMT". */
infino_status xml_parse_rfc1123(int64_t *out_ns, const char *what,
                                const char *s, size_t len);

#endif
