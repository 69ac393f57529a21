/*
 * objstore_fault.h - a store that wraps another and fails on command.
 *
 * For tests that walk every failure point of a protocol built on objstore.h
 * (the table layer's commits, gc, drop): arm a plan naming which kinds of
 * operation may fail and which one ("the nth matching operation from now"),
 * run the scenario, then check what the store below holds. Every operation
 * is forwarded unchanged to the inner store unless the plan picks it.
 *
 * Injected failures are INFINO_ERR_IO with a message naming the key and the
 * injected errno ("t/a: get: injected EIO (Input/output error)"), except
 * exists(), which cannot report errors and answers false. The two publish
 * faults bracket the moment an object becomes visible: "before" fails like
 * an fsync of the file before the rename (the object is not created),
 * "after" fails like an fsync of the directory after the rename (the object
 * is there, complete, and the caller is told it failed: unknown outcome).
 *
 * Thread-safe: one mutex guards the plan and the counters; it is never held
 * while the inner store works. Not useful for: anything but tests (it adds
 * a lock per operation and no persistence of its own).
 */
#ifndef INFINO_STORE_OBJSTORE_FAULT_H
#define INFINO_STORE_OBJSTORE_FAULT_H

#include "objstore.h"

/* Kinds of operation, OR-ed into a plan's `ops`. */
enum objstore_fault_op {
    FAULT_GET = 1u << 0,      /* objstore_get: fails, no blob */
    FAULT_PUT_OPEN = 1u << 1, /* objstore_put_sink: fails, no sink */
    FAULT_WRITE = 1u << 2,    /* store_sink_write on a sink of this store */
    /* store_sink_finish, failing before the object is published: it is
     * not created (an existing one keeps its old bytes) */
    FAULT_PUBLISH_BEFORE = 1u << 3,
    /* store_sink_finish, failing after the inner store published the
     * object: it exists, complete, yet the caller gets an error */
    FAULT_PUBLISH_AFTER = 1u << 4,
    FAULT_STAT = 1u << 5,   /* objstore_stat: fails */
    FAULT_EXISTS = 1u << 6, /* objstore_exists: answers false */
    FAULT_LIST = 1u << 7,   /* objstore_list and objstore_list_all */
    /* objstore_delete and objstore_delete_prefix: fail, nothing removed */
    FAULT_DELETE = 1u << 8,
    FAULT_ALL = (1u << 9) - 1,
};

/* What to fail. Zero-initialise, then set what you need. */
struct objstore_fault_plan {
    unsigned ops; /* enum objstore_fault_op bits; 0: count, fail nothing */
    /* 1-based: the nth operation matching `ops` from arming fails. Both
     * publish bits count store_sink_finish calls (one count per finish);
     * with both set, "before" is the one injected. */
    long nth;
    int err;          /* EIO (also when 0) or ENOSPC: only the message */
    bool short_write; /* FAULT_WRITE: the first ceil(n/2) bytes of the
                         failing write reach the inner sink first */
    long list_entries; /* FAULT_LIST: entries delivered before the error */
    bool sticky; /* every matching operation from the nth on fails */
};

/* Wraps `inner` (takes: closed by objstore_close() of the wrapper, or right
 * away if this call fails). The wrapper starts disarmed and reports the
 * inner store's URI, durability and local root. *out is owned
 * (objstore_close). INFINO_ERR_INVALID when `inner` is NULL. */
infino_status objstore_fault_open(struct objstore **out,
                                  struct objstore *inner);

/* Borrowed: the wrapped store, valid until objstore_close() of `s`; lets a
 * test look behind the faults. */
struct objstore *objstore_fault_inner(struct objstore *s);

/* Arms `p` (copied) and resets the counters of objstore_fault_seen() and
 * objstore_fault_fired(). Sinks opened before arming are subject to it. */
void objstore_fault_arm(struct objstore *s, const struct objstore_fault_plan *p);

/* Stops injecting; the counters keep counting. A sink that already failed
 * a write stays failed. */
void objstore_fault_disarm(struct objstore *s);

/* Operations of the kinds in `ops` since arming (or opening), armed or not,
 * failed or not. Each finish counts once even when both publish bits are
 * asked. */
long objstore_fault_seen(const struct objstore *s, unsigned ops);

/* Whether a fault was injected since arming. A publish-after fault whose
 * inner finish failed by itself (e.g. INFINO_ERR_EXISTS, passed through
 * unchanged) injected nothing. */
bool objstore_fault_fired(const struct objstore *s);

#endif
