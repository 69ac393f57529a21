/*
 * objstore_fault.c - fault injection over any store (objstore_fault.h).
 *
 * Every operation asks decide() whether it is the one to fail; only then
 * does it differ from the inner store. Sinks are wrapped with a hooks sink
 * over the inner store's own sink, so bytes stream through unchanged (no
 * copy), a file-backed inner store keeps its temporary file until publish,
 * and aborting the wrapper aborts the inner sink.
 */
#include "objstore_fault.h"

#include "util/alloc.h"
#include "util/err.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

/* Both publish bits count one kind of operation: sink finishes. */
#define FAULT_FINISH (FAULT_PUBLISH_BEFORE | FAULT_PUBLISH_AFTER)
#define N_FAULT_BITS 9

struct fault {
    struct objstore base; /* uri, local_root: borrowed from inner */
    struct objstore *inner; /* owned */
    pthread_mutex_t mu;     /* guards everything below */
    struct objstore_fault_plan plan;
    bool armed;
    bool fired;
    long matched;             /* operations matching plan.ops since arming */
    long seen[N_FAULT_BITS]; /* per kind; finishes count under bit 3 */
};

/* A sink of the fault store, wrapping one of the inner store. */
struct fault_sink {
    struct fault *f;          /* borrowed: outlives its sinks */
    struct store_sink *inner; /* owned */
    char *key;                /* owned */
    bool failed; /* a write failure was injected: never publish */
};

static const struct objstore_ops fault_ops;

static struct fault *as_fault(const struct objstore *s)
{
    assert(s != NULL && s->ops == &fault_ops);
    return (struct fault *)s;
}

static int bit_index(unsigned op)
{
    int i = 0;

    while (op > 1u) {
        op >>= 1;
        i++;
    }
    return i;
}

/* Counts one operation of kind `op` (a single bit, or FAULT_FINISH) and
 * says whether it must fail; then *plan_out is the armed plan. */
static bool decide(struct fault *f, unsigned op,
                   struct objstore_fault_plan *plan_out)
{
    bool fail = false;

    pthread_mutex_lock(&f->mu);
    f->seen[bit_index(op == FAULT_FINISH ? FAULT_PUBLISH_BEFORE : op)]++;
    if (f->armed && (f->plan.ops & op)) {
        f->matched++;
        fail = f->matched == f->plan.nth ||
               (f->plan.sticky && f->matched > f->plan.nth);
        *plan_out = f->plan;
    }
    pthread_mutex_unlock(&f->mu);
    return fail;
}

/* Records an injection and returns its error: "<key>: <what>: injected
 * EIO (Input/output error)". */
static infino_status inject(struct fault *f, const struct objstore_fault_plan *p,
                            const char *key, const char *what)
{
    int e = p->err == ENOSPC ? ENOSPC : EIO;

    pthread_mutex_lock(&f->mu);
    f->fired = true;
    pthread_mutex_unlock(&f->mu);
    return err_set(INFINO_ERR_IO, "%s: %s: injected %s (%s)",
                   *key ? key : "(all)", what, e == ENOSPC ? "ENOSPC" : "EIO",
                   strerror(e));
}

/* ---- sinks ------------------------------------------------------------ */

static void fault_sink_free(struct fault_sink *fs)
{
    mem_free(fs->key);
    mem_free(fs);
}

static infino_status fault_sink_write(void *payload, const void *p, size_t n)
{
    struct fault_sink *fs = payload;
    struct objstore_fault_plan plan;
    infino_status st;

    /* Not counted: the failed write already was. */
    if (fs->failed)
        return err_set(INFINO_ERR_IO, "%s: write: an earlier write failed",
                       fs->key);
    if (!decide(fs->f, FAULT_WRITE, &plan))
        return store_sink_write(fs->inner, p, n);
    fs->failed = true;
    if (plan.short_write) {
        /* a real error of the partial write wins: nothing was injected */
        st = store_sink_write(fs->inner, p, n - n / 2);
        if (st != INFINO_OK)
            return st;
        return inject(fs->f, &plan, fs->key, "short write");
    }
    return inject(fs->f, &plan, fs->key, "write");
}

static infino_status fault_sink_finish(void *payload, enum store_publish mode)
{
    struct fault_sink *fs = payload;
    struct objstore_fault_plan plan;
    infino_status st;

    if (fs->failed) {
        store_sink_abort(fs->inner);
        st = err_set(INFINO_ERR_IO, "%s: publish: an earlier write failed",
                     fs->key);
    } else if (!decide(fs->f, FAULT_FINISH, &plan)) {
        st = store_sink_finish(fs->inner, mode);
    } else if (plan.ops & FAULT_PUBLISH_BEFORE) {
        store_sink_abort(fs->inner);
        st = inject(fs->f, &plan, fs->key, "publish");
    } else {
        st = store_sink_finish(fs->inner, mode);
        if (st == INFINO_OK)
            st = inject(fs->f, &plan, fs->key, "after publish");
    }
    fault_sink_free(fs);
    return st;
}

static void fault_sink_abort(void *payload)
{
    struct fault_sink *fs = payload;

    store_sink_abort(fs->inner);
    fault_sink_free(fs);
}

static const struct store_sink_hooks fault_sink_hooks = {
    fault_sink_write,
    fault_sink_finish,
    fault_sink_abort,
};

/* ---- store operations ------------------------------------------------- */

static infino_status fault_get(struct objstore *s, const char *key,
                               struct store_blob **out)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;

    if (decide(f, FAULT_GET, &plan))
        return inject(f, &plan, key, "get");
    return objstore_get(f->inner, key, out);
}

static infino_status fault_put_sink(struct objstore *s, const char *key,
                                    struct store_sink **out)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;
    struct fault_sink *fs = NULL;
    struct store_sink *inner = NULL;
    infino_status st;

    if (decide(f, FAULT_PUT_OPEN, &plan))
        return inject(f, &plan, key, "open for writing");
    CHECK(objstore_put_sink(f->inner, key, &inner));
    fs = mem_calloc(1, sizeof *fs);
    if (fs == NULL || (fs->key = mem_strdup(key)) == NULL) {
        st = err_nomem();
        goto fail;
    }
    fs->f = f;
    fs->inner = inner;
    /* takes fs (and inner with it), also on failure */
    return store_sink_open_hooks(out, store_sink_name(inner),
                                 &fault_sink_hooks, fs);
fail:
    if (fs != NULL)
        fault_sink_free(fs);
    store_sink_abort(inner);
    return st;
}

static infino_status fault_stat(struct objstore *s, const char *key,
                                struct objstore_entry *out)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;

    if (decide(f, FAULT_STAT, &plan))
        return inject(f, &plan, key, "stat");
    return objstore_stat(f->inner, key, out);
}

static bool fault_exists(struct objstore *s, const char *key)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;

    if (decide(f, FAULT_EXISTS, &plan)) {
        pthread_mutex_lock(&f->mu);
        f->fired = true;
        pthread_mutex_unlock(&f->mu);
        return false; /* exists() reports no errors: failure looks absent */
    }
    return objstore_exists(f->inner, key);
}

/* Passes the first `left` entries to the caller's callback, then stops the
 * inner listing. */
struct cut_list {
    objstore_list_fn fn;
    void *payload;
    long left;
    bool cut;
};

static infino_status cut_list_cb(const struct objstore_entry *e,
                                 void *payload)
{
    struct cut_list *c = payload;

    if (c->left <= 0) {
        c->cut = true;
        return INFINO_ERR_IO; /* replaced by the injected error below */
    }
    c->left--;
    return c->fn(e, c->payload);
}

static infino_status fault_list(struct objstore *s, const char *prefix,
                                bool include_temps, objstore_list_fn fn,
                                void *payload)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;
    struct cut_list c = {fn, payload, 0, false};
    infino_status st;

    if (!decide(f, FAULT_LIST, &plan))
        return include_temps ? objstore_list_all(f->inner, prefix, fn, payload)
                             : objstore_list(f->inner, prefix, fn, payload);
    if (plan.list_entries <= 0)
        return inject(f, &plan, prefix, "list");
    c.left = plan.list_entries;
    st = include_temps ? objstore_list_all(f->inner, prefix, cut_list_cb, &c)
                       : objstore_list(f->inner, prefix, cut_list_cb, &c);
    /* A listing shorter than list_entries fails at its end; the caller's
     * own stop, or a real error, passes through. */
    if (c.cut || st == INFINO_OK)
        return inject(f, &plan, prefix, "list (partial)");
    return st;
}

static infino_status fault_remove(struct objstore *s, const char *key)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;

    if (decide(f, FAULT_DELETE, &plan))
        return inject(f, &plan, key, "delete");
    return objstore_delete(f->inner, key);
}

static infino_status fault_remove_prefix(struct objstore *s,
                                         const char *prefix)
{
    struct fault *f = as_fault(s);
    struct objstore_fault_plan plan;

    if (decide(f, FAULT_DELETE, &plan))
        return inject(f, &plan, prefix, "delete prefix");
    return objstore_delete_prefix(f->inner, prefix);
}

static void fault_close(struct objstore *s)
{
    struct fault *f = as_fault(s);

    objstore_close(f->inner);
    pthread_mutex_destroy(&f->mu);
    mem_free(f);
}

static const struct objstore_ops fault_ops = {
    fault_get,    fault_put_sink,      fault_stat,  fault_list,
    fault_remove, fault_remove_prefix, fault_close, fault_exists,
};

/* ---- control ---------------------------------------------------------- */

infino_status objstore_fault_open(struct objstore **out,
                                  struct objstore *inner)
{
    struct fault *f;

    *out = NULL;
    if (inner == NULL)
        return err_set(INFINO_ERR_INVALID, "fault store: no inner store");
    f = mem_calloc(1, sizeof *f);
    if (f == NULL) {
        objstore_close(inner);
        return err_nomem();
    }
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        mem_free(f);
        objstore_close(inner);
        return err_set(INFINO_ERR_NOMEM, "fault store: mutex");
    }
    f->base.ops = &fault_ops;
    f->base.uri = inner->uri;
    f->base.durable = inner->durable;
    f->base.local_root = inner->local_root;
    f->inner = inner;
    *out = &f->base;
    return INFINO_OK;
}

struct objstore *objstore_fault_inner(struct objstore *s)
{
    return as_fault(s)->inner;
}

void objstore_fault_arm(struct objstore *s, const struct objstore_fault_plan *p)
{
    struct fault *f = as_fault(s);

    pthread_mutex_lock(&f->mu);
    f->plan = *p;
    if (f->plan.nth < 1)
        f->plan.nth = 1;
    f->armed = true;
    f->fired = false;
    f->matched = 0;
    memset(f->seen, 0, sizeof f->seen);
    pthread_mutex_unlock(&f->mu);
}

void objstore_fault_disarm(struct objstore *s)
{
    struct fault *f = as_fault(s);

    pthread_mutex_lock(&f->mu);
    f->armed = false;
    pthread_mutex_unlock(&f->mu);
}

long objstore_fault_seen(const struct objstore *s, unsigned ops)
{
    struct fault *f = as_fault(s);
    long n = 0;

    if (ops & FAULT_PUBLISH_AFTER)
        ops = (ops & ~(unsigned)FAULT_PUBLISH_AFTER) | FAULT_PUBLISH_BEFORE;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < N_FAULT_BITS; i++)
        if (ops & (1u << i))
            n += f->seen[i];
    pthread_mutex_unlock(&f->mu);
    return n;
}

bool objstore_fault_fired(const struct objstore *s)
{
    struct fault *f = as_fault(s);
    bool fired;

    pthread_mutex_lock(&f->mu);
    fired = f->fired;
    pthread_mutex_unlock(&f->mu);
    return fired;
}
