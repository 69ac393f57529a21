/*
 * arrow_stream.c - ArrowArrayStream export (over a batch source) and import.
 *
 * Spec: "The Arrow C stream interface". Callbacks return 0 or an errno
 * value; get_last_error() explains the last failure and stays valid until
 * the next call or release. Once get_next() fails the stream stays failed,
 * as the spec allows, so a consumer cannot read past an error.
 */
#include "arrow_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STREAM_ERR_CAP 1024

/* private_data of an exported stream. */
struct exported_stream {
    struct ar_schema schema;     /* owned copy */
    struct ar_stream_source src; /* taken: closed on release */
    int failed;                  /* errno of a failed get_next, sticky */
    char error[STREAM_ERR_CAP];  /* "" when there is no error */
};

static int to_errno(infino_status st)
{
    switch (st) {
    case INFINO_ERR_NOMEM:
        return ENOMEM;
    case INFINO_ERR_INVALID:
        return EINVAL;
    default:
        return EIO;
    }
}

static void keep_error(struct exported_stream *x)
{
    snprintf(x->error, sizeof x->error, "%s", err_last());
}

static int stream_get_schema(struct ArrowArrayStream *s,
                             struct ArrowSchema *out)
{
    struct exported_stream *x = s->private_data;
    infino_status st = ar_schema_export(out, &x->schema);

    if (st != INFINO_OK) {
        keep_error(x);
        return to_errno(st);
    }
    x->error[0] = '\0';
    return 0;
}

static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    struct exported_stream *x = s->private_data;
    infino_status st;

    memset(out, 0, sizeof *out); /* released-marked: the end, by default */
    if (x->failed)
        return x->failed;
    st = x->src.next(x->src.payload, out);
    if (st != INFINO_OK) {
        /* A failing source may have filled *out before failing. */
        ar_array_release(out);
        keep_error(x);
        x->failed = EIO;
        return EIO;
    }
    x->error[0] = '\0';
    return 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *s)
{
    struct exported_stream *x = s->private_data;
    return x->error[0] ? x->error : NULL;
}

static void stream_release(struct ArrowArrayStream *s)
{
    struct exported_stream *x;

    if (s == NULL || s->release == NULL)
        return;
    x = s->private_data;
    if (x->src.close != NULL)
        x->src.close(x->src.payload);
    ar_schema_free(&x->schema);
    mem_free(x);
    s->private_data = NULL;
    s->release = NULL;
}

infino_status ar_stream_export(struct ArrowArrayStream *out,
                               const struct ar_schema *s,
                               struct ar_stream_source src)
{
    struct exported_stream *x = NULL;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (src.next == NULL) {
        st = err_set(INFINO_ERR_INVALID, "stream source without next()");
        goto fail;
    }
    x = mem_calloc(1, sizeof *x);
    if (x == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(ar_schema_copy(&x->schema, s));
    x->src = src;
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_get_last_error;
    out->release = stream_release;
    out->private_data = x;
    return INFINO_OK;
fail:
    mem_free(x);
    if (src.close != NULL)
        src.close(src.payload); /* the stream takes `src` even on failure */
    return err_context(st, "exporting Arrow stream");
}

/* ---- a source over batches held in memory ----------------------------- */

struct batch_list {
    struct ArrowArray *batches; /* owned; consumed ones are released-marked */
    size_t n_batches;
    size_t next;
};

static infino_status batches_next(void *payload, struct ArrowArray *out)
{
    struct batch_list *l = payload;

    if (l->next < l->n_batches) {
        *out = l->batches[l->next]; /* move to the consumer */
        l->batches[l->next].release = NULL;
        l->next++;
    }
    return INFINO_OK;
}

static void batches_close(void *payload)
{
    struct batch_list *l = payload;

    for (size_t i = 0; i < l->n_batches; i++)
        ar_array_release(&l->batches[i]);
    mem_free(l->batches);
    mem_free(l);
}

infino_status ar_stream_from_batches(struct ArrowArrayStream *out,
                                     const struct ar_schema *s,
                                     struct ArrowArray *batches,
                                     size_t n_batches)
{
    struct batch_list *l = NULL;
    struct ar_stream_source src = {0};

    memset(out, 0, sizeof *out);
    l = mem_calloc(1, sizeof *l);
    if (l == NULL ||
        (n_batches > 0 &&
         (l->batches = mem_calloc(n_batches, sizeof *l->batches)) == NULL)) {
        mem_free(l);
        for (size_t i = 0; i < n_batches; i++)
            ar_array_release(&batches[i]);
        return err_context(err_nomem(), "exporting Arrow stream");
    }
    for (size_t i = 0; i < n_batches; i++) {
        l->batches[i] = batches[i]; /* move */
        batches[i].release = NULL;
    }
    l->n_batches = n_batches;
    src.payload = l;
    src.next = batches_next;
    src.close = batches_close;
    return ar_stream_export(out, s, src);
}

/* ---- import ----------------------------------------------------------- */

/* INFINO_ERR_IO carrying the producer's own explanation. */
static infino_status stream_error(struct ArrowArrayStream *in, int rc,
                                  const char *what)
{
    const char *msg = in->get_last_error ? in->get_last_error(in) : NULL;

    return err_set(INFINO_ERR_IO, "Arrow stream %s failed (%s): %s", what,
                   strerror(rc), msg ? msg : "no message");
}

infino_status ar_stream_import_schema(struct ar_schema *out,
                                      struct ArrowArrayStream *in)
{
    return ar_stream_import_schema_flags(out, in, 0);
}

infino_status ar_stream_import_schema_flags(struct ar_schema *out,
                                            struct ArrowArrayStream *in,
                                            unsigned flags)
{
    struct ArrowSchema raw;
    infino_status st;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&raw, 0, sizeof raw);
    if (in == NULL || in->release == NULL || in->get_schema == NULL)
        return err_set(INFINO_ERR_INVALID, "Arrow stream is released");
    rc = in->get_schema(in, &raw);
    if (rc != 0)
        return stream_error(in, rc, "get_schema");
    st = ar_schema_import_flags(out, &raw, flags);
    if (raw.release != NULL)
        raw.release(&raw);
    return st;
}

infino_status ar_stream_next(struct ArrowArrayStream *in,
                             const struct ar_schema *s, struct ArrowArray *out,
                             bool *eof)
{
    infino_status st;
    int rc;

    memset(out, 0, sizeof *out);
    *eof = false;
    if (in == NULL || in->release == NULL || in->get_next == NULL)
        return err_set(INFINO_ERR_INVALID, "Arrow stream is released");
    rc = in->get_next(in, out);
    if (rc != 0) {
        st = stream_error(in, rc, "get_next");
        /* The spec leaves *out unspecified on error; never trust it. */
        memset(out, 0, sizeof *out);
        return st;
    }
    if (out->release == NULL) {
        *eof = true;
        return INFINO_OK;
    }
    st = ar_batch_validate(s, out);
    if (st != INFINO_OK)
        ar_array_release(out);
    return st;
}
