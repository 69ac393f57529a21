/*
 * az_xml.h - the Azure Blob XML bodies the Azure backend reads: List
 * Blobs pages (names, sizes, modification times, NextMarker) and Error
 * documents (Code, Message), on the bounded scanner of xml.h. Malformed
 * input is INFINO_ERR_CORRUPT naming the byte offset; it never reads out
 * of bounds (fuzz/fuzz_store_azxml.c).
 */
#ifndef INFINO_STORE_AZ_XML_H
#define INFINO_STORE_AZ_XML_H

#include "infino.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One blob of a listing. */
struct az_list_entry {
    char *name; /* owned, entity-decoded */
    uint64_t size;
    int64_t mtime_ns; /* Last-Modified, ns since the epoch */
};

/* One List Blobs page. A zeroed struct is empty. */
struct az_list_page {
    struct az_list_entry *items; /* owned */
    size_t n_items, items_cap;
    char *next_marker; /* owned: NextMarker, or NULL on the last page */
};

/* Parses an EnumerationResults document. On success *out owns its
 * strings (azxml_list_free); on failure *out is empty. */
infino_status azxml_parse_list(struct az_list_page *out, const char *xml,
                               size_t len);
void azxml_list_free(struct az_list_page *p); /* zeroed is fine */

/* An Error document; fields absent from it stay NULL. */
struct az_error {
    char *code;    /* owned or NULL: "BlobNotFound", ... */
    char *message; /* owned or NULL: its first line */
};
infino_status azxml_parse_error(struct az_error *out, const char *xml,
                                size_t len);
void azxml_error_free(struct az_error *e); /* zeroed is fine */

#endif
