/*
 * store_azure_test.c - the Azure Blob backend: options, the Shared Key
 * string to sign (Microsoft's published example), retries,
 * create-if-absent outcomes, staged blocks, SAS and client-credentials
 * tokens against a scripted HTTP server in this process; and the
 * object-store contract against a real endpoint when one is given.
 *
 * The endpoint tests run when INFINO_TEST_AZURE_ENDPOINT (e.g.
 * http://127.0.0.1:10000/devstoreaccount1) and INFINO_TEST_AZURE_CONTAINER
 * name an existing container; tests/py/test_gcs_azure.py starts Azurite
 * and runs this program so (Azurite checks every Shared Key signature).
 * Without them they are skipped, the rest always runs.
 */
#define SECRET "client-s3cr3t-never-printed"
#define SCRIPTED_SECRET SECRET

#include "scripted_http.h"
#include "store_contract.h"

#include "store/az_sign.h"
#include "store/objstore.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define EMU_KEY                                                                \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPT" \
    "Otr/KBHBeksoGMGw=="

static struct objstore *open_at(struct server *sv)
{
    char ep[64];
    struct objstore *s;
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/devstoreaccount1", sv->port);
    const struct objstore_option o[] = {
        {"azure_storage_endpoint", ep},
        {"azure_allow_http", "true"},
        {"azure_storage_account_name", "devstoreaccount1"},
        {"azure_storage_account_key", EMU_KEY},
    };
    assert_ok(objstore_open_opts(&s, "az://ctr/db", o, 4));
    return s;
}

static void assert_no_secret(void)
{
    assert_null(strstr(err_last(), SECRET));
    assert_null(strstr(err_last(), "Eby8vdM02"));
    assert_null(strstr(err_last(), "sig="));
}

#define EXISTS_HDR "x-ms-error-code: BlobAlreadyExists\r\n"
#define EXISTS_BODY                                                            \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"                 \
    "BlobAlreadyExists</Code><Message>The specified blob already exists.\n"   \
    "RequestId:r-1\nTime:2024-01-01T00:00:00.0000000Z</Message></Error>"

/* ---- Shared Key ------------------------------------------------------- */

static void test_store_azure__string_to_sign(void **state)
{
    (void)state;
    /* "Authorize with Shared Key", the example of a Get Container
     * Metadata request and its string to sign. */
    const struct az_kv q[] = {
        {"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
    const struct az_kv h[] = {
        {"x-ms-version", "2015-02-21"},
        {"x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"}};
    struct az_sign_input in = {
        .method = "GET", .account = "myaccount", .path = "/mycontainer",
        .query = q, .n_query = 3, .headers = h, .n_headers = 2};
    struct buf out = {0};
    assert_ok(az_string_to_sign(&out, &in));
    buf_put_u8(&out, 0);
    assert_string_equal((const char *)out.data,
                        "GET\n\n\n\n\n\n\n\n\n\n\n\n"
                        "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
                        "x-ms-version:2015-02-21\n"
                        "/myaccount/mycontainer\ncomp:metadata\n"
                        "restype:container\ntimeout:20");
    /* its HMAC-SHA256 with the emulator's key (computed independently) */
    buf_reset(&out);
    assert_ok(az_shared_key(&out, &in, EMU_KEY));
    buf_put_u8(&out, 0);
    assert_string_equal((const char *)out.data,
                        "SharedKey myaccount:"
                        "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");

    /* Standard headers in their places, a length, folded x-ms- values,
     * upper-case names, repeated query names. */
    const struct az_kv q2[] = {{"comp", "list"}, {"Include", "b"},
                               {"include", "a"}};
    const struct az_kv h2[] = {
        {"X-MS-Meta-Note", "  two   words  "}, {"If-None-Match", "*"},
        {"Content-Type", "application/xml"}, {"x-ms-range", "bytes=0-9"},
        {"Range", "bytes=1-2"}};
    struct az_sign_input in2 = {
        .method = "PUT", .account = "acct", .path = "/c/a%20b",
        .query = q2, .n_query = 3, .headers = h2, .n_headers = 5,
        .content_length = 42};
    buf_reset(&out);
    assert_ok(az_string_to_sign(&out, &in2));
    buf_put_u8(&out, 0);
    assert_string_equal((const char *)out.data,
                        "PUT\n\n\n42\n\napplication/xml\n\n\n\n*\n\n"
                        "bytes=1-2\n"
                        "x-ms-meta-note:two words\nx-ms-range:bytes=0-9\n"
                        "/acct/c/a%20b\ncomp:list\ninclude:a,b");
    buf_reset(&out);
    assert_int_equal(az_shared_key(&out, &in2, "not*base64"),
                     INFINO_ERR_INVALID);
    buf_free(&out);
}

/* ---- options (no network) -------------------------------------------- */

static void test_store_azure__options(void **state)
{
    (void)state;
    struct objstore *s;
    const struct objstore_option unknown[] = {{"azure_storage_acount", "x"}};
    assert_int_equal(objstore_open_opts(&s, "az://c/p", unknown, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "'azure_storage_acount'"));
    assert_non_null(strstr(err_last(), "azure_storage_account_name"));
    const struct objstore_option cross[] = {{"google_service_account_key",
                                             SECRET}};
    assert_int_equal(objstore_open_opts(&s, "azure://c/p", cross, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "google_service_account_key"));
    assert_no_secret();
    /* Azure's names are unknown to S3 URIs, S3's to Azure's. */
    const struct objstore_option region[] = {{"aws_region", "x"}};
    assert_int_equal(objstore_open_opts(&s, "az://c/p", region, 1),
                     INFINO_ERR_INVALID);

    /* no account, no endpoint */
    assert_int_equal(objstore_open(&s, "az://c/p"), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "azure_storage_account_name"));
    const struct objstore_option badkey[] = {
        {"azure_storage_account_name", "acct"},
        {"azure_storage_account_key", SECRET "!"}};
    assert_int_equal(objstore_open_opts(&s, "az://c/p", badkey, 2),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "not base64"));
    assert_no_secret();
    const struct objstore_option half[] = {
        {"azure_storage_account_name", "acct"},
        {"azure_storage_client_id", "id"},
        {"azure_storage_client_secret", SECRET}};
    assert_int_equal(objstore_open_opts(&s, "az://c/p", half, 3),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "azure_storage_tenant_id"));
    assert_no_secret();
    const struct objstore_option http[] = {
        {"azure_storage_endpoint", "http://127.0.0.1:1/devstoreaccount1"}};
    assert_int_equal(objstore_open_opts(&s, "az://c/p", http, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "azure_allow_http"));
    const struct objstore_option badacct[] = {
        {"azure_storage_account_name", "Not_An_Account"}};
    assert_int_equal(objstore_open_opts(&s, "az://c/p", badacct, 1),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "az://"), INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "az://Upper/x"), INFINO_ERR_INVALID);

    /* Opening touches no network. */
    const struct objstore_option emu[] = {
        {"azure_storage_use_emulator", "true"}};
    assert_ok(objstore_open_opts(&s, "azure://c/some/prefix/", emu, 1));
    assert_true(objstore_is_durable(s));
    objstore_close(s);
    const struct objstore_option acct[] = {
        {"azure_storage_account_name", "acct"},
        {"azure_storage_sas_key", "?sv=2020-12-06&sig=" SECRET}};
    assert_ok(objstore_open_opts(&s, "az://c", acct, 2));
    objstore_close(s);
}

/* ---- retries and outcomes --------------------------------------------- */

static void test_store_azure__retry_then_ok(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 503, "x-ms-error-code: ServerBusy\r\n", NULL},
        {RESPOND, 500, NULL, NULL},
        {RESPOND, 201, "ETag: \"0x1\"\r\n", NULL},
    };
    struct server sv;
    server_start(&sv, script, 3);
    struct objstore *s = open_at(&sv);
    assert_ok(objstore_put(s, "a/b c", "xyz", 3, STORE_REPLACE));
    assert_int_equal(sv.served, 3);
    for (size_t i = 0; i < sv.served; i++) {
        assert_string_equal(sv.log[i], "PUT /devstoreaccount1/ctr/db/a/b%20c "
                                       "HTTP/1.1");
        assert_string_equal(server_header(&sv, i, "x-ms-blob-type"),
                            "BlockBlob");
        assert_string_equal(server_header(&sv, i, "x-ms-version"),
                            "2021-08-06");
        assert_non_null(server_header(&sv, i, "x-ms-date"));
        assert_memory_equal(server_header(&sv, i, "Authorization"),
                            "SharedKey devstoreaccount1:", 27);
    }
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_azure__conditional_outcomes(void **state)
{
    (void)state;
    struct objstore *s;
    struct server sv;

    static const struct reply exists[] = {
        {RESPOND, 409, EXISTS_HDR, EXISTS_BODY}};
    server_start(&sv, exists, 1);
    s = open_at(&sv);
    assert_int_equal(objstore_put(s, "v/1", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    assert_non_null(strstr(err_last(), "az://ctr/db/v/1"));
    assert_non_null(strstr(sv.log[0], "[if-none-match]"));
    objstore_close(s);
    server_stop(&sv);

    /* Lost answer, then "exists": unknown. */
    static const struct reply dropped[] = {
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 409, EXISTS_HDR, EXISTS_BODY},
    };
    server_start(&sv, dropped, 2);
    s = open_at(&sv);
    assert_int_equal(objstore_put(s, "v/2", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    objstore_close(s);
    server_stop(&sv);

    /* 500, then 412 (ConditionNotMet): unknown too. */
    static const struct reply failed[] = {
        {RESPOND, 500, NULL, NULL},
        {RESPOND, 412, "x-ms-error-code: ConditionNotMet\r\n", NULL},
    };
    server_start(&sv, failed, 2);
    s = open_at(&sv);
    assert_int_equal(objstore_put(s, "v/3", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    objstore_close(s);
    server_stop(&sv);

    /* Another 409 is not "exists": it names Azure's code and message. */
    static const struct reply lease[] = {
        {RESPOND, 409, "x-ms-error-code: LeaseIdMissing\r\n"
                       "x-ms-request-id: req-9\r\n",
         "<Error><Code>LeaseIdMissing</Code><Message>There is currently a "
         "lease on the blob.\nRequestId:req-9</Message></Error>"}};
    server_start(&sv, lease, 1);
    s = open_at(&sv);
    assert_int_equal(objstore_put(s, "v/4", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "az://ctr/db/v/4: PUT: HTTP 409 "
                                       "LeaseIdMissing: There is currently "
                                       "a lease on the blob. (1 attempt, "
                                       "request id req-9)"));
    assert_no_secret();
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_azure__blocks(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 201, NULL, NULL}, {RESPOND, 503, NULL, NULL},
        {RESPOND, 201, NULL, NULL}, {RESPOND, 201, NULL, NULL},
        {RESPOND, 201, NULL, NULL}};
    struct server sv;
    server_start(&sv, script, 5);
    setenv("INFINO_AZURE_BLOCK_SIZE", "65536", 1);
    struct objstore *s = open_at(&sv);
    unsetenv("INFINO_AZURE_BLOCK_SIZE");
    struct store_sink *sink;
    uint8_t *d = mem_alloc(150000);
    memset(d, 'q', 150000);
    assert_ok(objstore_put_sink(s, "sf/big", &sink));
    assert_ok(store_sink_write(sink, d, 150000));
    assert_ok(store_sink_finish(sink, STORE_NOREPLACE));
    mem_free(d);
    assert_int_equal(sv.served, 5);
    char ids[3][128];
    static const char put[] = "PUT /devstoreaccount1/ctr/db/sf/big?comp="
                              "block&blockid=";
    const size_t np = sizeof put - 1;
    for (size_t i = 0, k = 0; i < 4; i++) {
        const char *l = sv.log[i];
        assert_memory_equal(l, put, np);
        assert_null(strstr(l, "[if-none-match]"));
        if (i == 1)
            continue; /* the 503: the same block again */
        snprintf(ids[k++], sizeof ids[0], "%.*s",
                 (int)(strchr(l + np, ' ') - (l + np)), l + np);
    }
    assert_string_equal(sv.log[1], sv.log[2]);
    assert_string_equal(server_header(&sv, 3, "Content-Length"), "18928");
    assert_string_equal(sv.log[4], "PUT /devstoreaccount1/ctr/db/sf/big?comp="
                                   "blocklist HTTP/1.1 [if-none-match]");
    /* the block list names the blocks in order (ids URL-decoded) */
    const char *xml = server_body(&sv, 4);
    const char *at = xml;
    for (int k = 0; k < 3; k++) {
        char id[128];
        size_t n = 0;
        for (const char *p = ids[k]; *p; p++) {
            if (*p == '%') {
                unsigned v;
                sscanf(p + 1, "%2x", &v);
                id[n++] = (char)v;
                p += 2;
            } else {
                id[n++] = *p;
            }
        }
        id[n] = '\0';
        at = strstr(at, id);
        assert_non_null(at);
    }
    assert_non_null(strstr(xml, "<BlockList><Latest>"));
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_azure__reads_and_errors(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 404, "x-ms-error-code: BlobNotFound\r\n",
         "<Error><Code>BlobNotFound</Code><Message>The specified blob does "
         "not exist.</Message></Error>"},
        {RESPOND, 404, "x-ms-error-code: BlobNotFound\r\n", NULL},
        {RESPOND, 206,
         "Content-Range: bytes 0-262143/300000\r\nETag: \"0x8D1\"\r\n", NULL},
        {RESPOND, 206,
         "Content-Range: bytes 37856-299999/300000\r\nETag: \"0x8D1\"\r\n",
         NULL},
        {RESPOND, 412, "x-ms-error-code: ConditionNotMet\r\n", NULL},
        {RESPOND, 403, "x-ms-error-code: AuthenticationFailed\r\n",
         "<Error><Code>AuthenticationFailed</Code><Message>Server failed to "
         "authenticate the request.\nRequestId:x</Message></Error>"},
    };
    char *head = mem_alloc(262145), *tail = mem_alloc(262145);
    memset(head, 'h', 262144);
    head[262144] = '\0';
    memset(tail, 't', 262144);
    tail[262144] = '\0';
    struct reply s2[6];
    memcpy(s2, script, sizeof s2);
    s2[2].body = head;
    s2[3].body = tail;
    struct server sv;
    server_start(&sv, s2, 6);
    struct objstore *s = open_at(&sv);
    struct store_blob *b;
    struct objstore_entry e;
    const uint8_t *p;
    assert_int_equal(objstore_get(s, "nope", &b), INFINO_ERR_NOTFOUND);
    assert_non_null(strstr(err_last(), "az://ctr/db/nope"));
    assert_string_equal(server_header(&sv, 0, "x-ms-range"),
                        "bytes=0-262143");
    assert_int_equal(objstore_stat(s, "nope", &e), INFINO_ERR_NOTFOUND);
    assert_string_equal(sv.log[1], "HEAD /devstoreaccount1/ctr/db/nope "
                                   "HTTP/1.1");
    /* a large blob: its head tells the size, its tail comes pinned to the
     * head's ETag, later ranges too */
    assert_ok(objstore_get(s, "big", &b));
    assert_null(server_header(&sv, 2, "If-Match"));
    assert_string_equal(server_header(&sv, 3, "x-ms-range"),
                        "bytes=37856-299999");
    assert_string_equal(server_header(&sv, 3, "If-Match"), "\"0x8D1\"");
    assert_int_equal(store_blob_size(b), 300000);
    assert_ok(store_blob_read(b, 299990, 4, &p));
    assert_memory_equal(p, "tttt", 4);
    assert_int_equal(sv.served, 4); /* the tail is held */
    assert_int_equal(store_blob_read(b, 0, 4, &p), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "az://ctr/db/big"));
    assert_non_null(strstr(err_last(), "changed since it was opened"));
    assert_string_equal(server_header(&sv, 4, "If-Match"), "\"0x8D1\"");
    assert_non_null(strstr(server_header(&sv, 4, "x-ms-range"), "bytes=0-"));
    store_blob_close(b);
    assert_int_equal(objstore_delete(s, "x"), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "DELETE: HTTP 403 "
                                       "AuthenticationFailed: Server failed "
                                       "to authenticate the request. (1 "));
    assert_no_secret();
    objstore_close(s);
    server_stop(&sv);
    mem_free(head);
    mem_free(tail);
}

/* exists() sets no error and keeps the caller's: a failing write checks
 * the drop marker on its way out, and its message must survive. */
static void test_store_azure__exists_keeps_error(void **state)
{
    (void)state;
    static const struct reply script[] = {{RESPOND, 404, NULL, NULL}};
    struct server sv;
    server_start(&sv, script, 1);
    struct objstore *s = open_at(&sv);
    err_set(INFINO_ERR_IO, "the caller's message");
    assert_false(objstore_exists(s, "dropped"));
    assert_string_equal(err_last(), "the caller's message");
    objstore_close(s);
    server_stop(&sv);
}

/* The ranged reader of the read cache (objstore.open_ranges): pinned to
 * the ETag of its first answer (or the one it was opened with), a read of
 * another version fails naming the blob, whether the server refuses the
 * If-Match (412) or ignores it and answers another ETag; empty blobs and
 * absent ones. */
static void test_store_azure__ranges_pinned(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 206, "Content-Range: bytes 0-9/20\r\nETag: \"v1\"\r\n",
         "0123456789"},
        {RESPOND, 206, "Content-Range: bytes 10-19/20\r\nETag: \"v1\"\r\n",
         "abcdefghij"},
        {RESPOND, 206, "Content-Range: bytes 0-3/20\r\nETag: \"v1\"\r\n",
         "0123"},
        {RESPOND, 412, "x-ms-error-code: ConditionNotMet\r\n", NULL},
        {RESPOND, 206, "Content-Range: bytes 4-7/20\r\nETag: \"v2\"\r\n",
         "4567"},
        {RESPOND, 412, "x-ms-error-code: ConditionNotMet\r\n", NULL},
        {RESPOND, 416, "x-ms-error-code: InvalidRange\r\n", NULL},
        {RESPOND, 200, "ETag: \"e\"\r\n", ""},
        {RESPOND, 404, "x-ms-error-code: BlobNotFound\r\n", NULL},
    };
    struct server sv;
    server_start(&sv, script, 9);
    struct objstore *s = open_at(&sv);
    struct objstore_ranges *rg;
    char etag[OBJSTORE_ETAG_MAX];
    uint8_t *tail, dst[4];
    size_t n;
    uint64_t size;

    assert_non_null(s->open_ranges);
    assert_ok(s->open_ranges(s, "obj", NULL, &rg));
    rg->ops->etag(rg, etag);
    assert_string_equal(etag, "");
    assert_ok(rg->ops->read_tail(rg, 10, &tail, &n, &size));
    assert_int_equal(n, 10);
    assert_int_equal(size, 20);
    assert_memory_equal(tail, "abcdefghij", 10);
    mem_free(tail);
    /* no suffix ranges on Azure: the head, then the tail pinned to it */
    assert_string_equal(server_header(&sv, 0, "x-ms-range"), "bytes=0-9");
    assert_null(server_header(&sv, 0, "If-Match"));
    assert_string_equal(server_header(&sv, 1, "x-ms-range"), "bytes=10-19");
    assert_string_equal(server_header(&sv, 1, "If-Match"), "\"v1\"");
    rg->ops->etag(rg, etag);
    assert_string_equal(etag, "\"v1\"");
    assert_ok(rg->ops->read(rg, 0, 4, dst));
    assert_memory_equal(dst, "0123", 4);
    assert_string_equal(server_header(&sv, 2, "If-Match"), "\"v1\"");
    /* the blob was replaced: 412 */
    assert_int_equal(rg->ops->read(rg, 4, 4, dst), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "az://ctr/db/obj"));
    assert_non_null(strstr(err_last(), "changed since it was opened"));
    /* a server that ignores If-Match: the answer's ETag tells */
    assert_int_equal(rg->ops->read(rg, 4, 4, dst), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "az://ctr/db/obj: the object changed"));
    assert_non_null(strstr(err_last(), "\"v2\""));
    rg->ops->close(rg);

    /* opened pinned (a cached entry's ETag): the first read is pinned */
    assert_ok(s->open_ranges(s, "obj", "\"v0\"", &rg));
    assert_int_equal(rg->ops->read(rg, 0, 4, dst), INFINO_ERR_IO);
    assert_string_equal(server_header(&sv, 5, "If-Match"), "\"v0\"");
    assert_non_null(strstr(err_last(), "az://ctr/db/obj"));
    rg->ops->close(rg);

    /* an empty blob: its range is unsatisfiable, all of it is nothing */
    assert_ok(s->open_ranges(s, "empty", NULL, &rg));
    assert_ok(rg->ops->read_tail(rg, 10, &tail, &n, &size));
    assert_int_equal(n, 0);
    assert_int_equal(size, 0);
    assert_null(tail);
    assert_null(server_header(&sv, 7, "x-ms-range"));
    rg->ops->close(rg);
    assert_ok(s->open_ranges(s, "gone", NULL, &rg));
    assert_int_equal(rg->ops->read_tail(rg, 10, &tail, &n, &size),
                     INFINO_ERR_NOTFOUND);
    assert_non_null(strstr(err_last(), "az://ctr/db/gone"));
    rg->ops->close(rg);
    assert_int_equal(sv.served, 9);
    objstore_close(s);
    server_stop(&sv);
}

/* ---- SAS and OAuth ------------------------------------------------------ */

static void test_store_azure__sas(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 200, NULL,
         "<?xml version=\"1.0\"?><EnumerationResults ContainerName=\"ctr\">"
         "<Blobs><Blob><Name>db/a</Name><Properties><Last-Modified>Mon, 01 "
         "Jan 2024 00:00:00 GMT</Last-Modified><Content-Length>5"
         "</Content-Length></Properties></Blob></Blobs><NextMarker>m2"
         "</NextMarker></EnumerationResults>"},
        {RESPOND, 403, "x-ms-error-code: AuthorizationFailure\r\n", NULL},
    };
    struct server sv;
    char ep[64];
    server_start(&sv, script, 2);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/acct", sv.port);
    const struct objstore_option o[] = {
        {"azure_storage_endpoint", ep},
        {"azure_allow_http", "true"},
        {"azure_storage_sas_key", "?sv=2020-12-06&ss=b&sig=" SECRET},
    };
    struct objstore *s;
    struct seen seen = {0};
    assert_ok(objstore_open_opts(&s, "az://ctr/db", o, 3));
    assert_int_equal(objstore_list(s, "", count_cb, &seen), INFINO_ERR_IO);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.keys[0], "a");
    assert_string_equal(sv.log[0],
                        "GET /acct/ctr?restype=container&comp=list&prefix=db%"
                        "2F&sv=2020-12-06&ss=b&sig=" SECRET
                        " HTTP/1.1 [SECRET LEAKED]");
    assert_memory_equal(sv.log[1], "GET /acct/ctr?restype=container&comp="
                                   "list&prefix=db%2F&marker=m2&sv=", 61);
    assert_null(server_header(&sv, 0, "Authorization"));
    assert_non_null(strstr(err_last(), "HTTP 403 AuthorizationFailure"));
    assert_no_secret();
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_azure__client_credentials(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 200, NULL,
         "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
         "\"ext_expires_in\":3599,\"access_token\":\"eyJ0.tok-1\"}"},
        {RESPOND, 201, NULL, NULL},
        {RESPOND, 401, "x-ms-error-code: InvalidAuthenticationInfo\r\n",
         NULL},
        {RESPOND, 200, NULL, "{\"access_token\":\"eyJ0.tok-2\"}"},
        {RESPOND, 202, NULL, NULL},
        {RESPOND, 400, NULL,
         "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215"
         ": Invalid client secret provided.\"}"},
    };
    struct server sv;
    char host[64], ep[64];
    server_start(&sv, script, 6);
    snprintf(host, sizeof host, "http://127.0.0.1:%d", sv.port);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/acct", sv.port);
    const struct objstore_option o[] = {
        {"azure_storage_endpoint", ep},
        {"azure_allow_http", "true"},
        {"azure_storage_account_name", "acct"},
        {"azure_storage_client_id", "00000000-app"},
        {"azure_storage_client_secret", SECRET},
        {"azure_storage_tenant_id", "tenant-1"},
        {"azure_storage_authority_host", host},
    };
    struct objstore *s;
    assert_ok(objstore_open_opts(&s, "az://ctr/db", o, 7));
    assert_ok(objstore_put(s, "k", "v", 1, STORE_NOREPLACE));
    assert_ok(objstore_delete(s, "k")); /* 401: a new token, once */
    assert_string_equal(sv.log[0], "POST /tenant-1/oauth2/v2.0/token "
                                   "HTTP/1.1 [SECRET LEAKED]");
    assert_string_equal(server_body(&sv, 0),
                        "grant_type=client_credentials&client_id=00000000-app"
                        "&client_secret=" SECRET "&scope=https%3A%2F%2F"
                        "storage.azure.com%2F.default");
    assert_string_equal(server_header(&sv, 1, "Authorization"),
                        "Bearer eyJ0.tok-1");
    assert_string_equal(sv.log[3], "POST /tenant-1/oauth2/v2.0/token "
                                   "HTTP/1.1 [SECRET LEAKED]");
    assert_string_equal(server_header(&sv, 4, "Authorization"),
                        "Bearer eyJ0.tok-2");
    for (size_t i = 1; i < 5; i++)
        if (i != 3)
            assert_null(strstr(sv.log[i], "LEAKED"));
    objstore_close(s);

    /* A refused secret: the endpoint's code and description. */
    assert_ok(objstore_open_opts(&s, "az://ctr/db", o, 7));
    struct objstore_entry e;
    assert_int_equal(objstore_stat(s, "k", &e), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "/tenant-1/oauth2/v2.0/token: HTTP "
                                       "400 invalid_client: AADSTS7000215"));
    assert_no_secret();
    objstore_close(s);
    server_stop(&sv);
}

/* ---- a real endpoint (Azurite in make test) ---------------------------- */

static const char *endpoint(void)
{
    const char *ep = getenv("INFINO_TEST_AZURE_ENDPOINT");
    return ep && *ep && getenv("INFINO_TEST_AZURE_CONTAINER") ? ep : NULL;
}

static struct objstore *open_real(const char *prefix)
{
    char uri[512];
    struct objstore *s;
    const struct objstore_option o[] = {
        {"azure_storage_endpoint", endpoint()},
        {"azure_allow_http", "true"},
        {"azure_storage_account_name", "devstoreaccount1"},
        {"azure_storage_account_key", EMU_KEY},
    };
    snprintf(uri, sizeof uri, "az://%s/%s-%ld-%llu",
             getenv("INFINO_TEST_AZURE_CONTAINER"), prefix, (long)getpid(),
             (unsigned long long)test_rand() % 100000);
    assert_ok(objstore_open_opts(&s, uri, o, 4));
    return s;
}

static void test_store_azure__contract(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_basic(open_real("contract"));
}

static void test_store_azure__large_objects(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_large(open_real("large"));
}

static void test_store_azure__list_pages(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_list_pages(open_real, "INFINO_AZURE_LIST_PAGE");
}

int main(void)
{
    test_seed();
    setenv("INFINO_HTTP_MAX_ATTEMPTS", "4", 0);
    setenv("INFINO_HTTP_RETRY_BASE_MS", "1", 0);
    setenv("INFINO_HTTP_RETRY_CAP_MS", "5", 0);
    static const char *const env[] = {
        "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_ACCOUNT_KEY",  "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_KEY",      "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_CLIENT_ID",            "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",            "AZURE_STORAGE_USE_EMULATOR"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        unsetenv(env[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_azure__string_to_sign),
        cmocka_unit_test(test_store_azure__options),
        cmocka_unit_test(test_store_azure__retry_then_ok),
        cmocka_unit_test(test_store_azure__conditional_outcomes),
        cmocka_unit_test(test_store_azure__blocks),
        cmocka_unit_test(test_store_azure__reads_and_errors),
        cmocka_unit_test(test_store_azure__ranges_pinned),
        cmocka_unit_test(test_store_azure__exists_keeps_error),
        cmocka_unit_test(test_store_azure__sas),
        cmocka_unit_test(test_store_azure__client_credentials),
        cmocka_unit_test(test_store_azure__contract),
        cmocka_unit_test(test_store_azure__large_objects),
        cmocka_unit_test(test_store_azure__list_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
