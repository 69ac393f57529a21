/*
 * s3_xml.h - the few S3 XML response bodies the S3 backend reads.
 *
 * ListObjectsV2 pages (keys, sizes, modification times, continuation),
 * Error documents (Code, Message, RequestId) and the UploadId of
 * InitiateMultipartUpload, read with the bounded scanner of xml.h.
 * Malformed input is INFINO_ERR_CORRUPT naming the byte offset; it never
 * reads out of bounds (fuzz/fuzz_store_s3xml.c).
 */
#ifndef INFINO_STORE_S3_XML_H
#define INFINO_STORE_S3_XML_H

#include "infino.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One object of a listing. */
struct s3_list_entry {
    char *key; /* owned, entity-decoded */
    uint64_t size;
    int64_t mtime_ns; /* LastModified, ns since the epoch */
};

/* One ListObjectsV2 page. A zeroed struct is empty. */
struct s3_list_page {
    struct s3_list_entry *items; /* owned */
    size_t n_items;
    size_t items_cap;
    bool truncated;   /* IsTruncated: more pages follow */
    char *next_token; /* owned: NextContinuationToken, or NULL */
};

/* Parses a ListBucketResult. On success *out owns its strings
 * (s3xml_list_free); on failure *out is empty. */
infino_status s3xml_parse_list(struct s3_list_page *out, const char *xml,
                               size_t len);
void s3xml_list_free(struct s3_list_page *p); /* zeroed is fine */

/* An S3 Error document. A zeroed struct is empty. */
struct s3_error {
    char *code;       /* owned or NULL: "NoSuchKey", "SlowDown", ... */
    char *message;    /* owned or NULL */
    char *request_id; /* owned or NULL */
};

/* true when the body's root element is <Error> (S3 can answer 200 to
 * CompleteMultipartUpload and still fail in the body). */
bool s3xml_is_error(const char *xml, size_t len);

/* Parses an Error document; fields absent from it stay NULL. */
infino_status s3xml_parse_error(struct s3_error *out, const char *xml,
                                size_t len);
void s3xml_error_free(struct s3_error *e); /* zeroed is fine */

/* The UploadId of an InitiateMultipartUploadResult. *out is owned. */
infino_status s3xml_parse_upload_id(char **out, const char *xml, size_t len);

/* Parses an ISO 8601 UTC time as S3 writes them,
 * "2009-10-12T17:50:30.000Z" (fraction optional). */
infino_status s3xml_parse_time(int64_t *out_ns, const char *s, size_t len);

#endif
