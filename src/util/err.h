/*
 * err.h - the one error idiom: status codes plus a thread-local message.
 *
 * err_set() records a message for the calling thread and returns the status,
 * so a failure site reads `return err_set(INFINO_ERR_CORRUPT, "...")`.
 * err_context() prefixes a clause on the way out, so the final message reads
 * outermost first: "opening table docs: reading a.sf.parquet: bad magic".
 */
#ifndef INFINO_UTIL_ERR_H
#define INFINO_UTIL_ERR_H

#include "infino.h"

#include <stdarg.h>

#if defined(__GNUC__)
#define ERR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ERR_PRINTF(a, b)
#endif

/* Sets this thread's message to the formatted text and returns `st`. */
infino_status err_set(infino_status st, const char *fmt, ...) ERR_PRINTF(2, 3);
infino_status err_setv(infino_status st, const char *fmt, va_list ap);

/* When st != INFINO_OK, prefixes "<formatted>: " to this thread's message.
 * Returns `st` unchanged either way, so it can wrap any return. */
infino_status err_context(infino_status st, const char *fmt, ...)
    ERR_PRINTF(2, 3);

/* Shorthand for running out of memory. */
infino_status err_nomem(void);

/* Borrowed: valid until the next err_* call on this thread. Never NULL. */
const char *err_last(void);
void err_clear(void);

/* A status and its message, carried from the thread that failed to the
 * one that reports it (worker-pool pieces): err_save on the worker,
 * err_restore on the caller. */
struct err_saved {
    infino_status st;
    char msg[256];
};
/* Records `st` and, when it is not INFINO_OK, this thread's message. */
void err_save(struct err_saved *s, infino_status st);
/* Sets this thread's message to the saved one and returns its status
 * (INFINO_OK, touching nothing, when none was saved). */
infino_status err_restore(const struct err_saved *s);

/* The only control-flow macro: runs `expr`, stores it in the local `st`,
 * jumps to the local `fail` label when it is not INFINO_OK. */
#define CHECK(expr)                                                            \
    do {                                                                       \
        st = (expr);                                                           \
        if (st != INFINO_OK)                                                   \
            goto fail;                                                         \
    } while (0)

#endif
